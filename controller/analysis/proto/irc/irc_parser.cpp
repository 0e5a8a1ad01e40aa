#include "analysis/proto/irc/irc_parser.h"

#include <array>

#include "util/text.h"

namespace botscope::analysis::irc {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t';
}
bool is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view skip_space(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size() && is_space(s[i]))
        ++i;
    return s.substr(i);
}

std::string_view rstrip_space(std::string_view s) {
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

/// Splits off the next whitespace-delimited token.
std::string_view next_token(std::string_view& s) {
    s = skip_space(s);
    std::size_t i = 0;
    while (i < s.size() && !is_space(s[i]))
        ++i;
    auto tok = s.substr(0, i);
    s.remove_prefix(i);
    return tok;
}

bool valid_command(std::string_view cmd) {
    if (cmd.empty())
        return false;
    if (cmd.size() == 3 && is_digit(cmd[0]) && is_digit(cmd[1]) && is_digit(cmd[2]))
        return true;
    if (cmd.size() > kMaxCommandLength)
        return false;
    for (char c : cmd)
        if (!is_alpha(c))
            return false;
    return true;
}

/// Control bytes other than tab: never part of a prefix or of a client's first line.
bool has_control(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f)
            return true;
    }
    return false;
}

/// Control bytes that are neither whitespace, CTCP nor mIRC formatting: binary data.
bool has_binary(std::string_view s) {
    static constexpr std::string_view kTextControls = "\t\x01\x02\x03\x04\x0F\x11\x16\x1D\x1E\x1F";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && kTextControls.find(c) == std::string_view::npos) || u == 0x7f)
            return true;
    }
    return false;
}

char rfc1459_lower(char c) {
    if (c >= 'A' && c <= 'Z')
        return static_cast<char>(c - 'A' + 'a');
    switch (c) {
        case '[':
            return '{';
        case ']':
            return '}';
        case '\\':
            return '|';
        case '~':
            return '^';
        default:
            return c;
    }
}

std::string unescape_tag_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] != '\\') {
            out.push_back(v[i]);
            continue;
        }
        if (i + 1 >= v.size())
            break;  // a lone trailing backslash is dropped (IRCv3)
        char n = v[++i];
        switch (n) {
            case ':':
                out.push_back(';');
                break;
            case 's':
                out.push_back(' ');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 'n':
                out.push_back('\n');
                break;
            default:
                out.push_back(n);  // "\\" gives "\", an unknown escape gives the character
                break;
        }
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lines

LineResult extract_line(std::string_view data, std::size_t max_line) {
    LineResult r;
    std::size_t nl = data.find('\n');
    if (nl != std::string_view::npos && nl <= max_line) {
        r.status = LineStatus::kOk;
        r.line = strip_cr(data.substr(0, nl));
        r.consumed = nl + 1;
        return r;
    }
    if (data.size() > max_line) {
        r.status = LineStatus::kTooLong;
        r.line = data.substr(0, max_line);
        r.consumed = max_line;
        return r;
    }
    r.status = LineStatus::kIncomplete;
    return r;
}

std::string_view strip_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    return line;
}

// ---------------------------------------------------------------------------------------------
// Messages

bool Prefix::looks_like_server() const {
    return user.empty() && host.empty() && !nick.empty() &&
           nick.find('.') != std::string_view::npos;
}

bool Message::is_numeric() const {
    return command.size() == 3 && is_digit(command[0]) && is_digit(command[1]) &&
           is_digit(command[2]);
}

std::uint16_t Message::numeric() const {
    if (!is_numeric())
        return 0;
    return static_cast<std::uint16_t>((command[0] - '0') * 100 + (command[1] - '0') * 10 +
                                      (command[2] - '0'));
}

Prefix parse_prefix(std::string_view raw) {
    Prefix p;
    p.raw = raw;
    std::size_t bang = raw.find('!');
    std::size_t at = raw.find('@');
    if (bang != std::string_view::npos && at != std::string_view::npos && at < bang)
        bang = std::string_view::npos;  // "nick@host!x": the '!' belongs to the host
    std::size_t nick_end = std::min(bang, at);
    p.nick = raw.substr(0, nick_end);
    if (bang != std::string_view::npos) {
        std::size_t user_end = at == std::string_view::npos ? raw.size() : at;
        p.user = raw.substr(bang + 1, user_end - bang - 1);
    }
    if (at != std::string_view::npos)
        p.host = raw.substr(at + 1);
    return p;
}

std::vector<Tag> parse_tags(std::string_view raw, bool* truncated) {
    std::vector<Tag> tags;
    for (auto item : util::split(raw, ';')) {
        if (tags.size() >= kMaxTags) {
            if (truncated)
                *truncated = true;
            break;
        }
        Tag t;
        std::size_t eq = item.find('=');
        t.key = std::string(item.substr(0, eq));
        if (eq != std::string_view::npos)
            t.value = unescape_tag_value(item.substr(eq + 1));
        if (!t.key.empty())
            tags.push_back(std::move(t));
    }
    return tags;
}

ParseResult parse_message(std::string_view line) {
    ParseResult r;
    if (line.find('\0') != std::string_view::npos) {
        r.error = "NUL byte in line";
        return r;
    }
    std::string_view s = rstrip_space(skip_space(strip_cr(line)));
    if (s.empty()) {
        r.status = ParseStatus::kEmpty;
        return r;
    }
    Message& m = r.msg;
    if (s.front() == '@') {
        auto tags = next_token(s);
        tags.remove_prefix(1);
        if (tags.empty() || skip_space(s).empty()) {
            r.error = "tags without a command";
            return r;
        }
        m.tags_raw = tags;
        m.tags = parse_tags(tags, &m.tags_truncated);
        s = skip_space(s);
    }
    if (s.front() == ':') {
        auto prefix = next_token(s);
        prefix.remove_prefix(1);
        if (prefix.empty()) {
            r.error = "empty prefix";
            return r;
        }
        if (has_control(prefix)) {
            r.error = "control character in prefix";
            return r;
        }
        m.prefix = parse_prefix(prefix);
        if (skip_space(s).empty()) {
            r.error = "prefix without a command";
            return r;
        }
    }
    m.command = next_token(s);
    if (!valid_command(m.command)) {
        r.error = "malformed command";
        return r;
    }
    while (true) {
        s = skip_space(s);
        if (s.empty())
            break;
        if (s.front() == ':') {
            m.params.push_back(s.substr(1));
            m.has_trailing = true;
            break;
        }
        if (m.params.size() + 1 == kMaxParams) {
            m.params.push_back(s);  // the rest, unsplit, as the last parameter
            m.params_truncated = s.find_first_of(" \t") != std::string_view::npos;
            break;
        }
        m.params.push_back(next_token(s));
    }
    r.status = ParseStatus::kOk;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Names

bool is_valid_nick(std::string_view nick) {
    if (nick.empty() || nick.size() > kMaxNickLength)
        return false;
    static constexpr std::string_view kSpecial = "-[]\\`^_{|}";
    for (char c : nick) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || is_alpha(c) || is_digit(c))
            continue;
        if (kSpecial.find(c) == std::string_view::npos)
            return false;
    }
    return true;
}

bool is_channel_name(std::string_view name) {
    if (name.size() < 2)
        return name == "#" || name == "&";  // a lone sigil is a legal channel
    if (std::string_view("#&+!").find(name.front()) == std::string_view::npos)
        return false;
    for (char c : name)
        if (c == ' ' || c == ',' || c == '\a' || c == '\0' || c == '\r' || c == '\n')
            return false;
    return true;
}

bool nick_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (rfc1459_lower(a[i]) != rfc1459_lower(b[i]))
            return false;
    return true;
}

// ---------------------------------------------------------------------------------------------
// Text

std::string strip_formatting(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    auto take_digits = [&](std::size_t max, bool hex) {
        std::size_t n = 0;
        while (n < max && i < text.size() && (hex ? is_hex(text[i]) : is_digit(text[i]))) {
            ++i;
            ++n;
        }
        return n;
    };
    auto take_colour = [&](std::size_t max, bool hex) {
        if (take_digits(max, hex) == 0)
            return;
        // ",bg" only when a digit follows the comma: "\x0304,hello" keeps its comma.
        if (i + 1 < text.size() && text[i] == ',' &&
            (hex ? is_hex(text[i + 1]) : is_digit(text[i + 1]))) {
            ++i;
            take_digits(max, hex);
        }
    };
    while (i < text.size()) {
        char c = text[i++];
        switch (c) {
            case '\x02':
            case '\x0F':
            case '\x16':
            case '\x1D':
            case '\x1F':
            case '\x11':
            case '\x1E':
                break;
            case '\x03':
                take_colour(2, false);
                break;
            case '\x04':
                take_colour(6, true);
                break;
            default:
                out.push_back(c);
                break;
        }
    }
    return out;
}

std::optional<Ctcp> parse_ctcp(std::string_view text) {
    if (text.empty() || text.front() != '\x01')
        return std::nullopt;
    std::string_view body = text.substr(1);
    std::size_t end = body.find('\x01');
    if (end != std::string_view::npos)
        body = body.substr(0, end);
    Ctcp c;
    c.body = body;
    std::size_t sp = body.find(' ');
    c.command = body.substr(0, sp);
    if (sp != std::string_view::npos)
        c.args = body.substr(sp + 1);
    if (c.command.empty())
        return std::nullopt;
    return c;
}

IpAddress dcc_ipv4(std::uint32_t value) {
    return IpAddress::v4(static_cast<std::uint8_t>(value >> 24),
                         static_cast<std::uint8_t>(value >> 16),
                         static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value));
}

namespace {

bool parse_dcc_address(std::string_view text, IpAddress& out) {
    if (auto v = util::parse_u64(text)) {
        if (*v > 0xFFFFFFFFull)
            return false;
        out = dcc_ipv4(static_cast<std::uint32_t>(*v));
        return true;
    }
    // Some clients send dotted-quad or IPv6 text instead of the integer.
    if (text.find_first_of(".:") != std::string_view::npos)
        return IpAddress::parse(text, out);
    return false;
}

struct DccTail {
    std::string_view addr, port, size;
};

/// Checks "addr port [size]" and fills the offer; an error text or empty on success.
std::string_view fill_offer(const DccTail& t, DccOffer& o) {
    if (!parse_dcc_address(t.addr, o.addr))
        return "bad address";
    auto port = util::parse_u64(t.port);
    if (!port || *port > 65535)
        return "bad port";
    o.port = static_cast<std::uint16_t>(*port);
    if (!t.size.empty()) {
        auto size = util::parse_u64(t.size);
        if (!size)
            return "bad size";
        o.size = size;
    }
    return {};
}

}  // namespace

DccResult parse_dcc(std::string_view args) {
    DccResult r;
    std::string_view rest = args;
    std::string_view type = next_token(rest);
    r.offer.type = type;
    bool is_send = util::iequals(type, "SEND") || util::iequals(type, "TSEND");
    bool is_chat = util::iequals(type, "CHAT");
    if (!is_send && !is_chat) {
        r.status = DccStatus::kNotOffer;
        return r;
    }
    rest = skip_space(rest);
    if (!rest.empty() && rest.front() == '"') {
        std::size_t close = rest.find('"', 1);
        if (close == std::string_view::npos) {
            r.error = "unterminated quoted file name";
            return r;
        }
        r.offer.argument = rest.substr(1, close - 1);
        rest.remove_prefix(close + 1);
        if (!rest.empty() && !is_space(rest.front())) {
            r.error = "text after quoted file name";
            return r;
        }
        DccTail t;
        t.addr = next_token(rest);
        t.port = next_token(rest);
        if (is_send)
            t.size = next_token(rest);
        r.error = fill_offer(t, r.offer);
        r.status = r.error.empty() ? DccStatus::kOk : DccStatus::kInvalid;
        return r;
    }
    std::vector<std::string_view> tok;
    for (std::string_view s = rest; !skip_space(s).empty();)
        tok.push_back(next_token(s));
    if (tok.size() < 3) {
        r.error = "too few fields";
        return r;
    }
    // The usual layout, one-word argument first ("SEND file ip port size [token]")...
    DccTail t{tok[1], tok[2], is_send && tok.size() > 3 ? tok[3] : std::string_view{}};
    DccOffer first = r.offer;
    first.argument = tok[0];
    std::string_view err = fill_offer(t, first);
    if (err.empty()) {
        r.offer = first;
        r.status = DccStatus::kOk;
        return r;
    }
    // ...else an unquoted file name with spaces: address, port and size are the last fields.
    if (is_send && tok.size() >= 4) {
        std::size_t n = tok.size();
        DccOffer tail = r.offer;
        DccTail tt{tok[n - 3], tok[n - 2], tok[n - 1]};
        const char* begin = tok[0].data();
        const char* end = tok[n - 4].data() + tok[n - 4].size();
        tail.argument = std::string_view(begin, static_cast<std::size_t>(end - begin));
        if (fill_offer(tt, tail).empty()) {
            r.offer = tail;
            r.status = DccStatus::kOk;
            return r;
        }
    }
    r.offer.argument = tok[0];
    r.error = err;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Probe

namespace {

// The last six are what a client sends mid-session: a capture that starts after the login
// begins with them.
constexpr std::array<std::string_view, 11> kClientFirst = {
    "NICK", "USER", "PASS", "CAP", "JOIN", "PRIVMSG", "NOTICE", "PING", "PONG", "MODE", "PART"};
constexpr std::array<std::string_view, 6> kServerPrefixed = {"NOTICE", "PRIVMSG", "CAP",
                                                             "PING",   "MODE",    "ERROR"};
constexpr std::array<std::string_view, 3> kServerBare = {"NOTICE", "PING", "ERROR"};
// What a server relays from other users, as a capture taken mid-session begins with it: taken
// as IRC only behind a user's prefix (nick!user@host), which no other protocol writes.
constexpr std::array<std::string_view, 7> kServerRelayed = {"JOIN", "PART",   "QUIT",  "NICK",
                                                            "TOPIC", "KICK", "INVITE"};

bool user_prefix(std::string_view prefix) {
    auto bang = prefix.find('!');
    return bang != std::string_view::npos && bang > 0 &&
           prefix.find('@', bang) != std::string_view::npos;
}

template <std::size_t N>
bool in_list(const std::array<std::string_view, N>& list, std::string_view cmd) {
    for (auto c : list)
        if (util::iequals(c, cmd))
            return true;
    return false;
}

/// True when `partial` (a command cut short by the end of the data) may still become `cmd`.
template <std::size_t N>
bool prefix_of_any(const std::array<std::string_view, N>& list, std::string_view partial) {
    for (auto c : list)
        if (util::istarts_with(c, partial))
            return true;
    return false;
}

struct ProbeLine {
    std::string_view line;
    bool complete = false;
};

/// The first line of `data`, or nothing when it can no longer be IRC (too long).
std::optional<ProbeLine> first_line(std::string_view data) {
    std::size_t nl = data.find('\n');
    if (nl != std::string_view::npos) {
        if (nl > kProbeMaxLine)
            return std::nullopt;
        return ProbeLine{strip_cr(data.substr(0, nl)), true};
    }
    if (data.size() > kProbeMaxLine)
        return std::nullopt;
    return ProbeLine{data, false};
}

/// Skips leading whitespace and an IRCv3 tag block. False when the tags are not complete yet.
bool skip_probe_tags(std::string_view& s) {
    s = skip_space(s);
    if (!s.empty() && s.front() == '@') {
        std::size_t sp = s.find_first_of(" \t");
        if (sp == std::string_view::npos)
            return false;
        s = skip_space(s.substr(sp));
    }
    return true;
}

/// Reads the command word at the start of `s`. nullopt: the data ends inside it.
std::optional<std::string_view> probe_command(std::string_view& s, bool complete) {
    std::size_t i = 0;
    while (i < s.size() && !is_space(s[i]))
        ++i;
    if (i == s.size() && !complete)
        return std::nullopt;
    auto cmd = s.substr(0, i);
    s.remove_prefix(i);
    return cmd;
}

bool client_line_ok(const Message& m) {
    auto cmd = m.command;
    if (util::iequals(cmd, "NICK"))
        return m.params.size() >= 1 && is_valid_nick(m.params[0]);
    if (util::iequals(cmd, "USER"))
        return m.params.size() >= 4 && !m.params[0].empty();
    if (util::iequals(cmd, "PASS"))
        return m.params.size() >= 1 && !m.params[0].empty();
    if (util::iequals(cmd, "CAP")) {
        auto sub = m.param(0);
        return util::iequals(sub, "LS") || util::iequals(sub, "REQ") || util::iequals(sub, "END") ||
               util::iequals(sub, "LIST");
    }
    if (util::iequals(cmd, "JOIN")) {
        auto first = m.param(0);
        return first == "0" || is_channel_name(first.substr(0, first.find(',')));
    }
    if (util::iequals(cmd, "PRIVMSG") || util::iequals(cmd, "NOTICE")) {
        auto target = m.param(0);
        return m.params.size() >= 2 && (is_channel_name(target) || is_valid_nick(target));
    }
    if (util::iequals(cmd, "PING") || util::iequals(cmd, "PONG"))
        return m.params.size() >= 1 && !m.params[0].empty();
    if (util::iequals(cmd, "MODE"))
        return m.params.size() >= 1 && (is_channel_name(m.param(0)) || is_valid_nick(m.param(0)));
    if (util::iequals(cmd, "PART"))
        return m.params.size() >= 1 && is_channel_name(m.param(0).substr(0, m.param(0).find(',')));
    return false;
}

bool server_line_ok(const Message& m) {
    if (m.prefix.raw.empty()) {
        if (!in_list(kServerBare, m.command))
            return false;
        if (util::iequals(m.command, "NOTICE"))
            return m.params.size() >= 2;
        return m.params.size() >= 1;
    }
    // A prefix is a server name or nick!user@host: no control bytes, no ':' inside.
    if (m.prefix.raw.find(':') != std::string_view::npos &&
        m.prefix.raw.find('@') == std::string_view::npos)
        return false;
    if (m.is_numeric())
        return m.params.size() >= 1;
    if (!in_list(kServerPrefixed, m.command) &&
        !(user_prefix(m.prefix.raw) && in_list(kServerRelayed, m.command)))
        return false;
    return m.params.size() >= 1 || util::iequals(m.command, "QUIT");
}

}  // namespace

ProbeResult probe_client_line(std::string_view data) {
    if (data.empty())
        return ProbeResult::kNeedMore;
    auto fl = first_line(data);
    if (!fl)
        return ProbeResult::kNoMatch;
    std::string_view s = fl->line;
    if (!skip_probe_tags(s))
        return fl->complete ? ProbeResult::kNoMatch : ProbeResult::kNeedMore;
    if (s.empty())
        return fl->complete ? ProbeResult::kNoMatch : ProbeResult::kNeedMore;
    if (s.front() == ':')
        return ProbeResult::kNoMatch;  // clients do not send a prefix
    std::string_view rest = s;
    auto cmd = probe_command(rest, fl->complete);
    if (!cmd)
        return prefix_of_any(kClientFirst, s) ? ProbeResult::kNeedMore : ProbeResult::kNoMatch;
    if (!in_list(kClientFirst, *cmd))
        return ProbeResult::kNoMatch;
    if (!fl->complete)
        return has_control(rest) ? ProbeResult::kNoMatch : ProbeResult::kNeedMore;
    auto pr = parse_message(fl->line);
    if (pr.status != ParseStatus::kOk || has_control(fl->line))
        return ProbeResult::kNoMatch;
    return client_line_ok(pr.msg) ? ProbeResult::kMatch : ProbeResult::kNoMatch;
}

ProbeResult probe_server_line(std::string_view data) {
    if (data.empty())
        return ProbeResult::kNeedMore;
    auto fl = first_line(data);
    if (!fl)
        return ProbeResult::kNoMatch;
    std::string_view s = fl->line;
    if (!skip_probe_tags(s))
        return fl->complete ? ProbeResult::kNoMatch : ProbeResult::kNeedMore;
    if (s.empty())
        return fl->complete ? ProbeResult::kNoMatch : ProbeResult::kNeedMore;
    std::string_view rest = s;
    bool prefixed = s.front() == ':';
    bool from_user = false;
    if (prefixed) {
        std::size_t sp = rest.find_first_of(" \t");
        from_user = sp != std::string_view::npos && user_prefix(rest.substr(1, sp - 1));
        if (sp == std::string_view::npos)
            return fl->complete || has_control(rest) ? ProbeResult::kNoMatch
                                                     : ProbeResult::kNeedMore;
        rest = skip_space(rest.substr(sp));
    }
    std::string_view cmd_start = rest;
    auto cmd = probe_command(rest, fl->complete);
    if (!cmd) {
        if (prefixed) {
            bool digits = true;
            for (char c : cmd_start)
                digits = digits && is_digit(c);
            if (digits && cmd_start.size() <= 3)
                return ProbeResult::kNeedMore;
            return prefix_of_any(kServerPrefixed, cmd_start) ||
                           (from_user && prefix_of_any(kServerRelayed, cmd_start))
                       ? ProbeResult::kNeedMore
                       : ProbeResult::kNoMatch;
        }
        return prefix_of_any(kServerBare, cmd_start) ? ProbeResult::kNeedMore
                                                     : ProbeResult::kNoMatch;
    }
    bool numeric =
        cmd->size() == 3 && is_digit((*cmd)[0]) && is_digit((*cmd)[1]) && is_digit((*cmd)[2]);
    bool known = prefixed ? (numeric || in_list(kServerPrefixed, *cmd) ||
                             (from_user && in_list(kServerRelayed, *cmd)))
                          : in_list(kServerBare, *cmd);
    if (!known)
        return ProbeResult::kNoMatch;
    if (!fl->complete)
        return has_binary(rest) ? ProbeResult::kNoMatch : ProbeResult::kNeedMore;
    auto pr = parse_message(fl->line);
    if (pr.status != ParseStatus::kOk || has_binary(fl->line))
        return ProbeResult::kNoMatch;
    // Server text may carry formatting codes, so only the prefix and command were checked for
    // control bytes (parse_message refuses a prefix with them).
    return server_line_ok(pr.msg) ? ProbeResult::kMatch : ProbeResult::kNoMatch;
}

}  // namespace botscope::analysis::irc
