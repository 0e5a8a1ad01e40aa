#include "fakenet/operator_script.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include "analysis/proto/irc/irc_parser.h"
#include "util/text.h"

namespace botscope::fakenet {

namespace {

namespace irc = analysis::irc;
namespace detect = analysis::detect;
using Kind = OperatorStep::Kind;

// --- characters and variables -----------------------------------------------------------------

bool is_format_code(unsigned char c) {
    return c == 0x02 || c == 0x03 || c == 0x0F || c == 0x16 || c == 0x1D || c == 0x1F;
}

bool is_forbidden(unsigned char c) {
    return (c < 0x20 && c != '\t' && !is_format_code(c)) || c == 0x7F;
}

/// The first byte a script may not hold, or npos.
std::size_t forbidden_at(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i)
        if (is_forbidden(static_cast<unsigned char>(s[i])))
            return i;
    return std::string_view::npos;
}

bool var_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool var_char(char c) {
    return var_start(c) || (c >= '0' && c <= '9');
}

/// Splits `s` into literal text and $NAME or ${NAME} references: on_text() gets the literal
/// pieces ("$$" as "$"), on_var() each NAME, and an empty NAME for a '$' that starts none (a
/// lone '$', or a brace that is not closed around a name).
template <class OnText, class OnVar>
void walk_variables(std::string_view s, OnText on_text, OnVar on_var) {
    std::size_t i = 0, lit = 0;
    while (i < s.size()) {
        if (s[i] != '$') {
            ++i;
            continue;
        }
        on_text(s.substr(lit, i - lit));
        if (i + 1 < s.size() && s[i + 1] == '$') {
            on_text("$");
            i += 2;
        } else if (i + 1 < s.size() && s[i + 1] == '{') {
            // ${NAME}: a name followed by what could continue it ("${TARGET}_x").
            std::size_t j = i + 2;
            if (j < s.size() && var_start(s[j]))
                while (j < s.size() && var_char(s[j]))
                    ++j;
            bool closed = j > i + 2 && j < s.size() && s[j] == '}';
            on_var(closed ? s.substr(i + 2, j - i - 2) : std::string_view());
            i = closed ? j + 1 : i + 1;
        } else {
            std::size_t j = i + 1;
            if (j < s.size() && var_start(s[j]))
                while (j < s.size() && var_char(s[j]))
                    ++j;
            on_var(s.substr(i + 1, j - i - 1));
            i = j;
        }
        lit = i;
    }
    on_text(s.substr(lit));
}

std::optional<std::string> variable_value(std::string_view name, const Sandbox& sb,
                                          const OperatorVars& v) {
    if (name == "TARGET")
        return format_ipv4(sb.target);
    if (name == "SINKHOLE")
        return format_ipv4(sb.host);
    if (name == "SUBNET")
        return sb.range_pattern();
    if (name == "NETWORK")
        return sb.subnet.to_string();
    if (name == "GUEST")
        return format_ipv4(v.guest);
    if (name == "NICK")
        return v.nick;
    if (name == "CHANNEL")
        return v.channel;
    return std::nullopt;
}

/// The text with its variables left out ($$ still becomes $).
std::string without_variables(std::string_view s) {
    std::string out;
    walk_variables(
        s, [&](std::string_view t) { out += t; }, [](std::string_view) {});
    return out;
}

/// Values a running server could expand to, for the checks: one set that looks like a bot's
/// (the address check), one as long as the server allows (the length check).
OperatorVars example_vars(const Sandbox& sb) {
    OperatorVars v;
    v.nick = "[USA|XP|SP2]-48213";
    v.channel = "#botnet";
    auto decoys = sb.decoys();
    v.guest = !sb.guests.empty() ? sb.guests.front() : !decoys.empty() ? decoys.front() : sb.host;
    return v;
}

OperatorVars longest_vars(const Sandbox& sb) {
    OperatorVars v;
    v.nick.assign(kMaxOperatorNick, 'W');
    v.channel = "#" + std::string(kMaxChannelName - 1, 'c');
    v.guest = sb.subnet.last();  // the most digits in every octet the subnet lets vary
    return v;
}

bool is_range(std::string_view token) {
    if (Subnet::parse(token))
        return true;
    for (auto part : util::split(token, '.', false))
        if (part == "x" || part == "X" || part == "*")
            return true;
    return false;
}

// --- parsing ----------------------------------------------------------------------------------

util::Error script_error(std::string code, std::string_view name, int line, std::string msg) {
    return util::Error{std::move(code),
                       std::string(name) + ":" + std::to_string(line) + ": " + std::move(msg)};
}

/// "5", "0.25", "1.5": seconds with at most millisecond precision, as milliseconds.
std::optional<Millis> parse_seconds(std::string_view s) {
    auto dot = s.find('.');
    std::string_view whole = s.substr(0, dot);
    std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
    if (whole.empty() || whole.size() > 7 || frac.size() > 3 ||
        (dot != std::string_view::npos && frac.empty()))
        return std::nullopt;
    auto w = util::parse_u64(whole);
    if (!w)
        return std::nullopt;
    Millis ms = static_cast<Millis>(*w) * 1000;
    if (!frac.empty()) {
        auto f = util::parse_u64(frac);
        if (!f)
            return std::nullopt;
        Millis scale = frac.size() == 1 ? 100 : frac.size() == 2 ? 10 : 1;
        ms += static_cast<Millis>(*f) * scale;
    }
    return ms;
}

class ScriptParser {
public:
    ScriptParser(std::string_view name, const Sandbox& sb) : name_(name), sb_(sb) {
        std::string_view stem = name;
        if (stem.size() > 4 && stem.substr(stem.size() - 4) == ".txt")
            stem.remove_suffix(4);
        script_.name = std::string(stem);
    }

    std::optional<util::Error> line(std::string_view text, int number);
    std::optional<util::Error> finish(int last_line);
    OperatorScript take() { return std::move(script_); }

private:
    std::optional<util::Error> directive(std::string_view word, std::string_view rest, int n);
    std::optional<util::Error> check_text(std::string_view text, int n) const;
    std::optional<util::Error> add(OperatorStep step);

    std::string_view name_;
    const Sandbox& sb_;
    OperatorScript script_;
    Millis total_ = 0;
    bool named_ = false;
};

std::optional<util::Error> ScriptParser::line(std::string_view text, int n) {
    if (auto at = forbidden_at(text); at != std::string_view::npos) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X",
                      static_cast<unsigned>(static_cast<unsigned char>(text[at])));
        return script_error(
            "operator_syntax", name_, n,
            std::string("control character ") + hex + " at column " + std::to_string(at + 1));
    }
    text = util::trim(text);
    if (text.empty() || text[0] == '#')
        return std::nullopt;
    std::size_t sp = text.find_first_of(" \t");
    std::string_view word = text.substr(0, sp);
    std::string_view rest = sp == std::string_view::npos ? "" : util::trim(text.substr(sp));
    return directive(word, rest, n);
}

std::optional<util::Error> ScriptParser::directive(std::string_view word, std::string_view rest,
                                                   int n) {
    static constexpr std::pair<std::string_view, Kind> kTexts[] = {{"topic", Kind::kTopic},
                                                                   {"say", Kind::kSay},
                                                                   {"msg", Kind::kMsg},
                                                                   {"notice", Kind::kNotice}};
    if (word == "operator") {
        if (named_)
            return script_error("operator_syntax", name_, n, "a second 'operator' line");
        if (!script_.steps.empty())
            return script_error("operator_syntax", name_, n,
                                "'operator' must come before the first step");
        if (!is_acceptable_nick(rest))
            return script_error("operator_syntax", name_, n,
                                "'" + std::string(rest) + "' is not a valid IRC nick");
        named_ = true;
        script_.nick = std::string(rest);
        return std::nullopt;
    }
    for (const auto& [w, kind] : kTexts) {
        if (word != w)
            continue;
        if (rest.empty())
            return script_error("operator_syntax", name_, n, std::string(w) + " needs a text");
        if (auto e = check_text(rest, n))
            return e;
        return add({kind, std::string(rest), 0, n});
    }
    if (word == "wait") {
        auto ms = parse_seconds(rest);
        if (!ms || *ms <= 0 || *ms > kMaxStepMillis)
            return script_error("operator_syntax", name_, n,
                                "wait needs seconds, more than 0 and at most 600 (not '" +
                                    std::string(rest) + "')");
        return add({Kind::kWait, "", *ms, n});
    }
    if (word == "expect") {
        std::string_view text = rest;
        Millis ms = kDefaultExpectMillis;
        if (auto sp = rest.find_last_of(" \t"); sp != std::string_view::npos) {
            if (auto s = parse_seconds(rest.substr(sp + 1))) {
                if (*s <= 0 || *s > kMaxStepMillis)
                    return script_error("operator_syntax", name_, n,
                                        "an expect timeout is more than 0 and at most 600 s");
                ms = *s;
                text = util::trim(rest.substr(0, sp));
            }
        }
        if (text.empty())
            return script_error("operator_syntax", name_, n, "expect needs a text");
        if (auto e = check_text(text, n))
            return e;
        return add({Kind::kExpect, std::string(text), ms, n});
    }
    return script_error("operator_syntax", name_, n,
                        "unknown directive '" + std::string(word) +
                            "' (operator, topic, say, msg, notice, wait, expect)");
}

std::optional<util::Error> ScriptParser::check_text(std::string_view text, int n) const {
    std::optional<util::Error> err;
    walk_variables(
        text, [](std::string_view) {},
        [&](std::string_view var) {
            if (err)
                return;
            if (var.empty())
                err = script_error("operator_variable", name_, n,
                                   "a lone '$' (write $$ for a dollar sign)");
            else if (!variable_value(var, sb_, {}))
                err =
                    script_error("operator_variable", name_, n,
                                 "unknown variable $" + std::string(var) +
                                     " (TARGET, SINKHOLE, SUBNET, NETWORK, GUEST, NICK, CHANNEL)");
        });
    if (err)
        return err;
    for (const std::string& form :
         {without_variables(text), expand_operator_text(text, sb_, example_vars(sb_))}) {
        auto foreign = foreign_addresses(form, sb_);
        if (!foreign.empty())
            return script_error("operator_foreign_address", name_, n,
                                foreign.front() + " is outside the sandbox " +
                                    sb_.subnet.to_string() + "; use " +
                                    (is_range(foreign.front()) ? "$SUBNET" : "$TARGET"));
    }
    std::size_t len = expand_operator_text(text, sb_, longest_vars(sb_)).size();
    if (len > kMaxStepText)
        return script_error("operator_limit", name_, n,
                            "the text can expand to " + std::to_string(len) +
                                " bytes, over the limit of " + std::to_string(kMaxStepText));
    return std::nullopt;
}

std::optional<util::Error> ScriptParser::add(OperatorStep step) {
    if (script_.steps.size() >= kMaxScriptSteps)
        return script_error("operator_limit", name_, step.line,
                            "more than " + std::to_string(kMaxScriptSteps) + " steps");
    total_ += step.millis;
    if (total_ > kMaxScriptMillis)
        return script_error("operator_limit", name_, step.line,
                            "waits and expect timeouts add up to more than 3600 s");
    script_.steps.push_back(std::move(step));
    return std::nullopt;
}

std::optional<util::Error> ScriptParser::finish(int last_line) {
    if (script_.steps.empty())
        return script_error("operator_syntax", name_, last_line, "the script has no steps");
    return std::nullopt;
}

// --- from a capture ---------------------------------------------------------------------------

bool token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '*' || c == '/';
}

/// Rewrites the addresses a command names to sandbox ones, cutting the text into the same
/// tokens and pieces foreign_addresses() looks at, so that what it would flag is what is
/// replaced.
class AddressRewriter {
public:
    explicit AddressRewriter(const Sandbox& sb) : sb_(sb) {}

    /// Notes the sandbox addresses a command names as written: no foreign address may become
    /// one of them.
    void note_literals(std::string_view text) {
        for_each_piece(text, [this](std::string_view p, bool) {
            if (auto ip = parse_ipv4(p); ip && sb_.contains(*ip))
                literals_.insert(*ip);
            return std::string(p);
        });
    }

    /// The command with its foreign addresses replaced and '$' doubled, ready for a script.
    std::string rewrite(std::string_view text) {
        if (pool_.empty() && !pool_built_)
            build_pool();
        return for_each_piece(
            text, [this](std::string_view p, bool url_host) { return replace(p, url_host); });
    }

    const std::vector<std::pair<std::string, std::string>>& rewrites() const { return order_; }
    bool wrapped() const { return wrapped_; }

private:
    template <class Fn>
    std::string for_each_piece(std::string_view text, Fn fn) {
        std::string out;
        std::size_t i = 0;
        while (i < text.size()) {
            if (!token_char(text[i])) {
                out += text[i] == '$' ? "$$" : std::string(1, text[i]);
                ++i;
                continue;
            }
            std::size_t start = i;
            while (i < text.size() && token_char(text[i]))
                ++i;
            std::string rewritten = token(text.substr(start, i - start), fn);
            // A variable the text goes on after as if it were longer ("$SINKHOLE_x") is
            // written ${SINKHOLE}.
            std::size_t dollar = rewritten.rfind('$');
            if (i < text.size() && var_char(text[i]) && dollar != std::string::npos &&
                (dollar == 0 || rewritten[dollar - 1] != '$') &&
                std::all_of(rewritten.begin() + static_cast<std::ptrdiff_t>(dollar) + 1,
                            rewritten.end(), var_char) &&
                dollar + 1 < rewritten.size())
                rewritten = rewritten.substr(0, dollar) + "${" + rewritten.substr(dollar + 1) + "}";
            out += rewritten;
        }
        return out;
    }

    template <class Fn>
    std::string token(std::string_view tok, Fn& fn) {
        std::string_view core = tok;
        while (!core.empty() && core.back() == '.')
            core.remove_suffix(1);
        std::string_view dots = tok.substr(core.size());
        if (core.find('/') == std::string_view::npos || Subnet::parse(core))
            return fn(core, false) + std::string(dots);
        // A URL or a path: each piece between slashes; the one after "//" is a URL's host.
        std::string out;
        auto pieces = util::split(core, '/', false);
        for (std::size_t k = 0; k < pieces.size(); ++k) {
            if (k > 0)
                out += '/';
            std::string_view piece = pieces[k];
            std::string_view piece_core = piece;
            while (!piece_core.empty() && piece_core.back() == '.')
                piece_core.remove_suffix(1);
            bool host = k >= 2 && pieces[k - 1].empty();
            out += fn(piece_core, host) + std::string(piece.substr(piece_core.size()));
        }
        return out + std::string(dots);
    }

    std::string replace(std::string_view p, bool url_host) {
        if (p.empty() || foreign_addresses(p, sb_).empty())
            return std::string(p);
        std::string key(p);
        if (auto it = map_.find(key); it != map_.end())
            return it->second;
        std::string by = is_range(p) ? "$SUBNET" : url_host ? "$SINKHOLE" : next_decoy();
        map_[key] = by;
        order_.emplace_back(key, by);
        return by;
    }

    void build_pool() {
        pool_built_ = true;
        auto decoys = sb_.decoys();
        auto at = std::find(decoys.begin(), decoys.end(), sb_.target);
        std::rotate(decoys.begin(), at == decoys.end() ? decoys.begin() : at, decoys.end());
        for (Ipv4 ip : decoys)
            if (!literals_.count(ip))
                pool_.push_back(ip);
    }

    std::string next_decoy() {
        if (pool_.empty())
            return "$TARGET";
        if (next_ >= pool_.size())
            wrapped_ = true;
        Ipv4 ip = pool_[next_++ % pool_.size()];
        return ip == sb_.target ? "$TARGET" : format_ipv4(ip);
    }

    const Sandbox& sb_;
    std::set<Ipv4> literals_;
    std::vector<Ipv4> pool_;
    bool pool_built_ = false;
    std::size_t next_ = 0;
    bool wrapped_ = false;
    std::map<std::string, std::string> map_;
    std::vector<std::pair<std::string, std::string>> order_;
};

/// Text from a capture made safe for a comment line.
std::string comment_safe(std::string_view s, std::size_t max = 200) {
    std::string out;
    for (char c : s.substr(0, max))
        out += is_forbidden(static_cast<unsigned char>(c)) ? '?' : c;
    if (s.size() > max)
        out += "...";
    return out;
}

std::string seconds_text(Millis ms) {
    std::string s = std::to_string(ms / 1000);
    if (Millis frac = ms % 1000; frac != 0) {
        char buf[8];
        std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(frac));
        std::string f = buf;
        while (f.back() == '0')
            f.pop_back();
        s += f;
    }
    return s;
}

/// The commands of one bot: `host`'s, or those of the client of the first IRC session that
/// received one. Also the IRC session they came over.
struct Selection {
    std::vector<const detect::BotCommand*> commands;
    const detect::IrcCnc* session = nullptr;
    std::set<std::string> other_clients;
};

Selection select_commands(const detect::BehaviorResult& b,
                          const std::optional<analysis::IpAddress>& host) {
    auto session_of = [&b](analysis::FlowId flow) -> const detect::IrcCnc* {
        for (const auto& s : b.irc)
            if (s.flow == flow)
                return &s;
        return nullptr;
    };
    // Whose commands: `host`'s, else the client of the first command's session (or, when the
    // analysis kept no session for it, that command's flow alone).
    std::optional<analysis::IpAddress> client = host;
    std::optional<analysis::FlowId> only_flow;
    if (!client) {
        for (const auto& c : b.commands) {
            if (c.via != "irc")
                continue;
            if (const auto* s = session_of(c.flow))
                client = s->client.addr;
            else
                only_flow = c.flow;
            break;
        }
    }
    Selection sel;
    for (const auto& c : b.commands) {
        if (c.via != "irc")
            continue;
        const detect::IrcCnc* s = session_of(c.flow);
        bool mine = only_flow ? c.flow == *only_flow : s && client && s->client.addr == *client;
        if (mine) {
            sel.commands.push_back(&c);
            if (!sel.session)
                sel.session = s;
        } else if (s && !(client && s->client.addr == *client)) {
            sel.other_clients.insert(s->client.addr.to_string());
        }
    }
    return sel;
}

/// The botmaster's nick, from the prefix of the first channel or private command.
std::string operator_nick(const Selection& sel) {
    for (const auto* c : sel.commands) {
        if (c->where == "topic")
            continue;
        std::string_view nick = irc::parse_prefix(c->from).nick;
        if (is_acceptable_nick(nick) && !(sel.session && irc::nick_equal(nick, sel.session->nick)))
            return std::string(nick);
        break;
    }
    return "";
}

struct ScriptBuilder {
    std::string body;
    std::size_t steps = 0;
    Millis total = 0;
    std::size_t replayed = 0;
    std::size_t skipped = 0;
    bool stopped = false;

    /// Adds a pause and a command if both fit the script's limits; false once they do not.
    bool add(Millis gap, Millis real_gap, std::string_view directive, const std::string& text) {
        std::size_t need = 1 + (gap > 0 ? 1 : 0);
        if (steps + need > kMaxScriptSteps || total + gap > kMaxScriptMillis) {
            stopped = true;
            return false;
        }
        if (gap > 0) {
            if (real_gap > gap)
                body += "# the capture waited " + seconds_text(real_gap) + " s here\n";
            body += "wait " + seconds_text(gap) + "\n";
            total += gap;
            ++steps;
        }
        body += std::string(directive) + " " + text + "\n";
        ++steps;
        ++replayed;
        return true;
    }
};

std::string header(const CaptureOrigin& origin, const Selection& sel, const AddressRewriter& rw,
                   const ScriptBuilder& sb) {
    std::string h =
        "# Operator script from the capture " + comment_safe(origin.capture, 400) + "\n";
    h += "# sha256 " + comment_safe(origin.sha256, 64) + "\n";
    if (const auto* s = sel.session) {
        std::string channels;
        for (const auto& c : s->channels)
            channels += (channels.empty() ? "" : ", ") + c;
        h += "# IRC server " + comment_safe(s->server_name.empty() ? "?" : s->server_name) + " (" +
             s->server.to_string() + "), channel " +
             comment_safe(channels.empty() ? "?" : channels) + ", nick " +
             comment_safe(s->nick.empty() ? "?" : s->nick) + ", bot " + s->client.addr.to_string() +
             "\n";
    }
    if (!sel.other_clients.empty()) {
        std::string others;
        for (const auto& o : sel.other_clients)
            others += (others.empty() ? "" : " ") + o;
        h += "# other bots in the capture (choose with --host): " + others + "\n";
    }
    h += "# " + std::to_string(sb.replayed) +
         " commands received over IRC, replayed with their timing; each pause is at most " +
         seconds_text(kMaxReplayGap) + " s.\n";
    if (sb.skipped > 0)
        h += "# " + std::to_string(sb.skipped) + " commands left out (see below).\n";
    if (!rw.rewrites().empty()) {
        h += "# Addresses rewritten to sandbox addresses:\n";
        for (const auto& [from, to] : rw.rewrites())
            h += "# " + from + " -> " + to + "\n";
        if (rw.wrapped())
            h += "# (more distinct addresses than decoys: some share one)\n";
    }
    return h;
}

}  // namespace

bool is_acceptable_nick(std::string_view nick) {
    return irc::is_valid_nick(nick) && nick.size() <= kMaxOperatorNick &&
           !(nick[0] >= '0' && nick[0] <= '9') && nick[0] != '-';
}

const char* step_kind_name(OperatorStep::Kind kind) {
    switch (kind) {
        case Kind::kTopic:
            return "topic";
        case Kind::kSay:
            return "say";
        case Kind::kMsg:
            return "msg";
        case Kind::kNotice:
            return "notice";
        case Kind::kWait:
            return "wait";
        case Kind::kExpect:
            return "expect";
    }
    return "?";
}

Millis OperatorScript::total_millis() const {
    Millis t = 0;
    for (const auto& s : steps)
        t += s.millis;
    return t;
}

util::Result<OperatorScript> parse_operator_script(std::string_view text, std::string_view name,
                                                   const Sandbox& sandbox) {
    if (text.size() > kMaxScriptBytes)
        return util::Error{"operator_too_large",
                           std::string(name) + ": " + std::to_string(text.size()) +
                               " bytes, over the limit of " + std::to_string(kMaxScriptBytes)};
    ScriptParser parser(name, sandbox);
    int n = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);  // CR LF files
        pos = end + 1;
        if (auto e = parser.line(line, ++n))
            return *e;
    }
    if (auto e = parser.finish(n))
        return *e;
    return parser.take();
}

std::string expand_operator_text(std::string_view text, const Sandbox& sandbox,
                                 const OperatorVars& vars) {
    std::string out;
    walk_variables(
        text, [&](std::string_view t) { out += t; },
        [&](std::string_view var) {
            if (auto v = variable_value(var, sandbox, vars))
                out += *v;
            else
                out += "$" + std::string(var);
        });
    return out;
}

util::Result<OperatorScript> load_operator_script(std::string_view name_or_path,
                                                  const std::filesystem::path& dir,
                                                  const Sandbox& sandbox) {
    namespace fs = std::filesystem;
    bool plain_name =
        !name_or_path.empty() && std::all_of(name_or_path.begin(), name_or_path.end(),
                                             [](char c) { return var_char(c) || c == '-'; });
    fs::path path = plain_name ? dir / (std::string(name_or_path) + ".txt")
                               : fs::path(std::string(name_or_path));
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (!fs::exists(st))
        return util::Error{
            "operator_not_found",
            plain_name ? "no operator script '" + std::string(name_or_path) + "' in " + dir.string()
                       : path.string() + ": no such file"};
    if (!fs::is_regular_file(st))
        return util::Error{"operator_unreadable", path.string() + ": not a regular file"};
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return util::Error{"operator_unreadable", path.string() + ": cannot be read"};
    std::string text(kMaxScriptBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad())
        return util::Error{"operator_unreadable", path.string() + ": read error"};
    return parse_operator_script(text, path.filename().string(), sandbox);
}

util::Result<CaptureScript> script_from_capture(const detect::BehaviorResult& behavior,
                                                const CaptureOrigin& origin,
                                                const Sandbox& sandbox) {
    Selection sel = select_commands(behavior, origin.host);
    if (sel.commands.empty())
        return util::Error{origin.host ? "operator_no_host" : "operator_no_commands",
                           origin.host ? origin.capture + ": " + origin.host->to_string() +
                                             " received no bot commands over IRC"
                                       : origin.capture + ": no bot commands received over IRC"};
    AddressRewriter rw(sandbox);
    for (const auto* c : sel.commands)
        rw.note_literals(c->text);

    ScriptBuilder sb;
    std::string nick = operator_nick(sel);
    if (!nick.empty())
        sb.body += "operator " + nick + "\n";
    analysis::Timestamp prev = sel.session ? sel.session->start : sel.commands.front()->ts;
    bool first = true;
    for (const auto* c : sel.commands) {
        std::string text = std::string(util::trim(rw.rewrite(c->text)));
        std::string why;
        if (text.empty())
            why = "empty";
        else if (forbidden_at(text) != std::string_view::npos)
            why = "control characters";
        else if (expand_operator_text(text, sandbox, longest_vars(sandbox)).size() > kMaxStepText)
            why = "longer than " + std::to_string(kMaxStepText) + " bytes";
        if (!why.empty()) {
            sb.body += "# left out (" + why + "): " + comment_safe(c->text) + "\n";
            ++sb.skipped;
            continue;
        }
        Millis real_gap = std::max<analysis::Timestamp>(0, c->ts - prev) / 1'000'000;
        Millis gap = std::min(real_gap, kMaxReplayGap);
        std::string_view directive = c->where == "topic"     ? "topic"
                                     : c->where == "private" ? "msg"
                                                             : "say";
        // The topic the bot found at join is the script's first line: no pause before it.
        if (first && c->where == "topic")
            gap = real_gap = 0;
        if (!sb.add(gap, real_gap, directive, text))
            break;
        prev = c->ts;
        first = false;
    }
    std::size_t left = sel.commands.size() - sb.replayed - sb.skipped;
    if (sb.stopped && left > 0) {
        sb.body += "# the script stops here: " + std::to_string(left) +
                   " more commands would pass its limits (1000 steps, 3600 s)\n";
        sb.skipped += left;
    }
    if (sb.replayed == 0)
        return util::Error{"operator_no_commands", origin.capture + ": none of the " +
                                                       std::to_string(sel.commands.size()) +
                                                       " bot commands can be replayed"};

    CaptureScript out;
    out.text = header(origin, sel, rw, sb) + sb.body;
    auto parsed = parse_operator_script(out.text, "from-pcap", sandbox);
    if (!parsed)
        return parsed.error();
    out.script = std::move(parsed.value());
    out.rewrites = rw.rewrites();
    out.commands = sb.replayed;
    out.skipped = sb.skipped;
    return out;
}

}  // namespace botscope::fakenet
