#include "analysis/proto/shell/shell_parser.h"

#include <algorithm>

#include "util/text.h"

namespace botscope::analysis::shell {

namespace {

constexpr std::string_view kBanner = "Microsoft Windows";
/// The banner's first line is "Microsoft Windows [Version 6.1.7601]" or with the edition
/// between ("XP", "2000"): the version bracket comes within this many bytes.
constexpr std::size_t kMaxBannerLine = 80;
/// MAX_PATH: a prompt is a drive, a folder and '>'.
constexpr std::size_t kMaxPrompt = 260;

bool is_path_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && c != '<' && c != '>' && c != '|' && c != '"' && c != '*' && c != '?';
}

Opening classify_prompt(std::string_view t) {
    if (t.empty())
        return Opening::kPartial;
    if (!((t[0] >= 'A' && t[0] <= 'Z') || (t[0] >= 'a' && t[0] <= 'z')))
        return Opening::kOther;
    if (t.size() < 2)
        return Opening::kPartial;
    if (t[1] != ':')
        return Opening::kOther;
    if (t.size() < 3)
        return Opening::kPartial;
    if (t[2] != '\\')
        return Opening::kOther;
    for (std::size_t i = 3; i < t.size() && i <= kMaxPrompt; ++i) {
        if (t[i] == '>')
            return Opening::kShell;
        if (!is_path_char(t[i]))
            return Opening::kOther;
    }
    return t.size() <= kMaxPrompt ? Opening::kPartial : Opening::kOther;
}

Opening classify_banner(std::string_view t) {
    if (t.size() < kBanner.size())
        return kBanner.substr(0, t.size()) == t ? Opening::kPartial : Opening::kOther;
    if (t.substr(0, kBanner.size()) != kBanner)
        return Opening::kOther;
    std::string_view line = t.substr(0, std::min(t.find('\n'), kMaxBannerLine));
    if (line.find("[Version ") != std::string_view::npos)
        return Opening::kShell;
    bool line_ended = t.find('\n') != std::string_view::npos;
    return line_ended || t.size() >= kMaxBannerLine ? Opening::kOther : Opening::kPartial;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

/// Pieces of a line between `&`, `&&`, `|` and `||`, outside double quotes.
std::vector<std::string_view> commands_of(std::string_view line) {
    std::vector<std::string_view> out;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= line.size(); ++i) {
        if (i < line.size() && line[i] == '"')
            quoted = !quoted;
        if (i == line.size() || (!quoted && (line[i] == '&' || line[i] == '|'))) {
            std::string_view piece = trim(line.substr(start, i - start));
            if (!piece.empty())
                out.push_back(piece);
            start = i + 1;
        }
    }
    return out;
}

struct Word {
    std::string text;
    bool quoted = false;
};

/// Words split at spaces outside double quotes, quotes removed, each cut at kMaxWord.
std::vector<Word> words_of(std::string_view s) {
    std::vector<Word> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
            ++i;
        if (i == s.size())
            break;
        Word w;
        bool quoted = false;
        for (; i < s.size() && (quoted || (s[i] != ' ' && s[i] != '\t')); ++i) {
            if (s[i] == '"') {
                quoted = !quoted;
                w.quoted = true;
            } else if (w.text.size() < kMaxWord) {
                w.text.push_back(s[i]);
            }
        }
        out.push_back(std::move(w));
    }
    return out;
}

/// The command's name: its first word without folder and ".exe"/".com", lower-cased.
std::string command_name(std::string_view word) {
    std::string k = file_key(word);
    for (std::string_view ext : {".exe", ".com"})
        if (k.size() > ext.size() && k.compare(k.size() - ext.size(), ext.size(), ext) == 0)
            return k.substr(0, k.size() - ext.size());
    return k;
}

bool executable_name(std::string_view word) {
    std::string k = file_key(word);
    for (std::string_view ext : {".exe", ".com", ".bat", ".cmd", ".scr", ".pif"})
        if (k.size() > ext.size() && k.compare(k.size() - ext.size(), ext.size(), ext) == 0)
            return true;
    return false;
}

/// `echo open HOST [PORT] > SCRIPT`, `echo get FILE >> SCRIPT` (the redirection may touch
/// the text: `echo bye>>o`).
void parse_echo(std::string_view rest, std::vector<Action>& out) {
    std::size_t gt = rest.find('>');
    if (gt == std::string_view::npos)
        return;
    std::string_view text = trim(rest.substr(0, gt));
    std::string_view target = rest.substr(gt);
    while (!target.empty() && target.front() == '>')
        target.remove_prefix(1);
    auto target_words = words_of(target);
    auto text_words = words_of(text);
    if (target_words.empty() || text_words.size() < 2)
        return;
    Action a;
    a.kind = Action::Kind::kFtpScript;
    a.script = target_words[0].text;
    std::string verb = util::to_lower(text_words[0].text);
    if (verb == "open") {
        a.host = text_words[1].text;
    } else if (verb == "get" || verb == "recv" || verb == "mget") {
        a.file = text_words.size() >= 3 ? text_words[2].text : text_words[1].text;
    } else {
        return;
    }
    out.push_back(std::move(a));
}

void parse_command(std::string_view command, std::vector<Action>& out) {
    std::string_view lead = command;
    while (!lead.empty() && lead.front() == '@')  // @echo: echo without echoing itself
        lead.remove_prefix(1);
    auto words = words_of(lead);
    if (words.empty())
        return;
    std::string name = command_name(words[0].text);
    if (name == "echo") {
        std::size_t at = lead.find_first_of(" \t");
        if (at != std::string_view::npos)
            parse_echo(lead.substr(at), out);
        return;
    }
    if (name == "tftp") {
        // tftp [-i] host [GET | PUT] source [destination]
        std::size_t i = 1;
        while (i < words.size() && !words[i].text.empty() && words[i].text[0] == '-')
            ++i;
        if (i + 2 < words.size() && util::to_lower(words[i + 1].text) == "get") {
            Action a;
            a.kind = Action::Kind::kFetch;
            a.tool = "tftp";
            a.host = words[i].text;
            a.file = i + 3 < words.size() ? words[i + 3].text : words[i + 2].text;
            out.push_back(std::move(a));
        }
        return;
    }
    if (name == "ftp") {
        for (std::size_t i = 1; i < words.size(); ++i) {
            std::string low = util::to_lower(words[i].text);
            if (low.size() > 3 && (low.rfind("-s:", 0) == 0 || low.rfind("/s:", 0) == 0)) {
                Action a;
                a.kind = Action::Kind::kFetch;
                a.tool = "ftp";
                a.script = words[i].text.substr(3);
                out.push_back(std::move(a));
            }
        }
        return;
    }
    if (name == "start") {
        // start ["title"] [/options] program [arguments]
        std::size_t i = 1;
        if (i + 1 < words.size() && words[i].quoted)
            ++i;  // a quoted first word followed by more is the window title
        while (i < words.size() && !words[i].text.empty() && words[i].text[0] == '/')
            ++i;
        if (i < words.size()) {
            Action a;
            a.tool = "start";
            a.file = words[i].text;
            out.push_back(std::move(a));
        }
        return;
    }
    if (executable_name(words[0].text)) {
        Action a;
        a.tool = "run";
        a.file = words[0].text;
        out.push_back(std::move(a));
    }
}

}  // namespace

Opening classify_opening(std::span<const std::uint8_t> first) {
    std::string_view t(reinterpret_cast<const char*>(first.data()), first.size());
    // cmd.exe may begin with an empty line.
    while (!t.empty() && (t.front() == '\r' || t.front() == '\n'))
        t.remove_prefix(1);
    if (t.empty())
        return Opening::kPartial;
    Opening banner = classify_banner(t);
    if (banner != Opening::kOther)
        return banner;
    return classify_prompt(t);
}

std::vector<Action> parse_line(std::string_view line) {
    std::vector<Action> out;
    for (std::string_view command : commands_of(line))
        parse_command(command, out);
    return out;
}

std::string file_key(std::string_view path) {
    std::size_t slash = path.find_last_of("\\/");
    if (slash != std::string_view::npos)
        path.remove_prefix(slash + 1);
    return util::to_lower(path);
}

}  // namespace botscope::analysis::shell
