#include "analysis/detect/commands.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "util/text.h"

namespace botscope::analysis::detect {

namespace {

constexpr std::string_view kPrefixes = ".!@$%&~-";

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
            ++i;
        std::size_t start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t')
            ++i;
        if (i > start)
            out.push_back(s.substr(start, i - start));
    }
    return out;
}

// Verbs of Agobot/Phatbot, SDBot, Rbot and their kin, by what they make the bot do.
constexpr std::array kFloodWords = {
    "ddos",    "syn",       "synflood",      "udp",    "udpflood", "ping",
    "icmp",    "pingflood", "icmpflood",     "flood",  "tcpflood", "httpflood",
    "phatsyn", "phaticmp",  "phatwonk",      "targa3", "smurf",    "jolt",
    "land",    "bandwith",  "bandwithflood", "tcp",    "http"};
constexpr std::array kScanWords = {"scan",      "advscan", "asc",      "ntscan",   "scanall",
                                   "scanstats", "ipscan",  "portscan", "wormride", "lsass",
                                   "dcom",      "netapi",  "sweep"};
constexpr std::array kSpamWords = {"spam", "email", "mail", "mailer", "smtp", "harvest"};
constexpr std::array kDownloadWords = {"download",      "dl",  "update", "get", "wget", "fetch",
                                       "http.download", "upd", "tftp",   "ftp"};

template <std::size_t N>
bool any_of(const std::array<const char*, N>& list, std::string_view w) {
    for (const char* x : list)
        if (w == x)
            return true;
    return false;
}

}  // namespace

bool parse_command(std::string_view text, std::string& verb, std::vector<std::string>& args) {
    text = util::trim(text);
    if (text.size() < 2 || kPrefixes.find(text[0]) == std::string_view::npos || !is_alpha(text[1]))
        return false;
    if (text.size() > kMaxCommandText)
        text = text.substr(0, kMaxCommandText);
    auto w = words(text);
    verb = util::to_lower(w[0].substr(1));
    args.clear();
    for (std::size_t i = 1; i < w.size() && args.size() < kMaxCommandArgs; ++i)
        args.emplace_back(w[i]);
    return true;
}

const char* command_category(std::string_view verb) {
    // "ddos.syn", "scan.start", "http.download": any dotted part may carry the meaning; the
    // download words come first so that "http.download" is no HTTP flood.
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= verb.size(); ++i) {
        if (i == verb.size() || verb[i] == '.' || verb[i] == '_') {
            if (i > start)
                parts.push_back(verb.substr(start, i - start));
            start = i + 1;
        }
    }
    for (auto p : parts)
        if (any_of(kDownloadWords, p) || p.find("download") != std::string_view::npos)
            return "download";
    for (auto p : parts)
        if (any_of(kSpamWords, p) || p.find("spam") != std::string_view::npos)
            return "spam";
    for (auto p : parts)
        if (any_of(kScanWords, p) || p.find("scan") != std::string_view::npos)
            return "scan";
    for (auto p : parts)
        if (any_of(kFloodWords, p) || p.find("flood") != std::string_view::npos)
            return "flood";
    return "other";
}

CommandTargets command_targets(const BotCommand& c) {
    CommandTargets t;
    for (const auto& a : c.args) {
        std::string_view s = a;
        if (s.find("://") != std::string_view::npos) {
            t.urls.push_back(a);
            continue;
        }
        IpAddress ip;
        if (IpAddress::parse(s, ip)) {
            t.addresses.push_back(ip);
            continue;
        }
        // 10.66.0.x, 10.66.x.x, 10.66.0.* : a range scan.
        std::size_t wild = s.find_first_of("x*X");
        if (wild != std::string_view::npos && wild > 0 && s[wild - 1] == '.') {
            std::string base(s.substr(0, wild - 1));
            int octets = 1 + static_cast<int>(std::count(base.begin(), base.end(), '.'));
            while (std::count(base.begin(), base.end(), '.') < 3)
                base += ".0";
            if (octets >= 1 && octets <= 3 && IpAddress::parse(base, ip)) {
                t.prefixes.emplace_back(ip, octets);
                continue;
            }
        }
        std::uint32_t n = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec == std::errc() && end == s.data() + s.size()) {
            if (n > 0 && n <= 65535)
                t.ports.push_back(static_cast<std::uint16_t>(n));
            continue;
        }
        // An exploit module named after its port: dcom135, lsass445, mssql1433.
        std::size_t d = s.size();
        while (d > 0 && is_digit(s[d - 1]))
            --d;
        if (d > 0 && d < s.size() && is_alpha(s[0])) {
            auto [e2, ec2] = std::from_chars(s.data() + d, s.data() + s.size(), n);
            if (ec2 == std::errc() && e2 == s.data() + s.size() && n > 0 && n <= 65535)
                t.ports.push_back(static_cast<std::uint16_t>(n));
        }
    }
    return t;
}

namespace {

constexpr std::size_t kMaxCommandsPerReply = 8;

bool add(std::vector<BotCommand>& out, BotCommand&& c, std::uint64_t& dropped) {
    if (out.size() >= kMaxCommands) {
        ++dropped;
        return false;
    }
    c.category = command_category(c.verb);
    out.push_back(std::move(c));
    return true;
}

void irc_commands(const irc::IrcSession& s, std::vector<BotCommand>& out, std::uint64_t& dropped) {
    for (const auto& m : s.received) {
        const char* where = nullptr;
        if (m.command == "TOPIC" || m.command == "332") {
            where = "topic";
        } else if (m.command == "PRIVMSG" || m.command == "NOTICE") {
            where = m.is_private ? "private" : "channel";
        } else {
            continue;
        }
        BotCommand c;
        if (!parse_command(m.text, c.verb, c.args))
            continue;
        c.ts = m.ts;
        c.via = "irc";
        c.where = where;
        c.flow = s.flow;
        c.from = m.from;
        c.target = m.target;
        c.text = std::string(util::trim(m.text).substr(0, kMaxCommandText));
        add(out, std::move(c), dropped);
    }
}

/// Content that is a document for people, not a list of commands for a bot.
bool document_type(std::string_view content_type) {
    std::string type = util::to_lower(content_type);
    for (std::string_view t : {"text/html", "text/css", "javascript", "image/", "text/xml"})
        if (type.find(t) != std::string::npos)
            return true;
    return false;
}

void http_commands(const http::HttpTransaction& t, std::vector<BotCommand>& out,
                   std::uint64_t& dropped) {
    const std::string& body = t.response_body.small;
    if (!t.has_response || body.empty() || document_type(t.response_content_type))
        return;
    std::size_t taken = 0;
    std::size_t pos = 0;
    while (pos < body.size() && taken < kMaxCommandsPerReply) {
        std::size_t eol = body.find('\n', pos);
        std::string_view line = std::string_view(body).substr(
            pos, eol == std::string::npos ? std::string::npos : eol - pos);
        pos = eol == std::string::npos ? body.size() : eol + 1;
        BotCommand c;
        if (!parse_command(line, c.verb, c.args))
            continue;
        ++taken;
        c.ts = t.response_ts;
        c.via = "http";
        c.where = "response";
        c.flow = t.flow;
        c.from = t.server.to_string();
        c.target = t.uri;
        c.text = std::string(util::trim(line).substr(0, kMaxCommandText));
        add(out, std::move(c), dropped);
    }
}

}  // namespace

void CommandCollector::irc(const irc::IrcSession& s) {
    irc_commands(s, list, dropped);
}

void CommandCollector::http(const http::HttpTransaction& t) {
    http_commands(t, list, dropped);
}

std::vector<BotCommand> CommandCollector::take(std::uint64_t& total_dropped) {
    std::vector<BotCommand> out = std::move(list);
    std::stable_sort(out.begin(), out.end(),
                     [](const BotCommand& a, const BotCommand& b) { return a.ts < b.ts; });
    total_dropped += dropped;
    list.clear();
    dropped = 0;
    return out;
}

namespace {

bool in_prefix(const IpAddress& a, const IpAddress& base, int octets) {
    if (a.v6 || base.v6)
        return false;
    for (int i = 0; i < octets; ++i)
        if (a.bytes[static_cast<std::size_t>(i)] != base.bytes[static_cast<std::size_t>(i)])
            return false;
    return true;
}

/// Does the behaviour agree with what the command names? nullopt: the command names nothing
/// this kind of behaviour can be checked against.
std::optional<bool> flood_matches(const CommandTargets& t, const Flood& f) {
    if (t.addresses.empty() && t.prefixes.empty())
        return std::nullopt;
    for (const auto& a : t.addresses)
        if (a == f.target)
            return true;
    for (const auto& [base, n] : t.prefixes)
        if (in_prefix(f.target, base, n))
            return true;
    return false;
}

std::optional<bool> scan_matches(const CommandTargets& t, const Scan& s) {
    std::optional<bool> result;
    if (!t.ports.empty()) {
        bool hit = false;
        for (auto p : t.ports)
            for (const auto& [port, n] : s.ports)
                hit |= port == p;
        if (!hit)
            return false;
        result = true;
    }
    if (!t.prefixes.empty() || !t.addresses.empty()) {
        bool hit = false;
        for (const auto& r : s.ranges) {
            for (const auto& [base, n] : t.prefixes)
                hit |= in_prefix(r.first, base, n) || in_prefix(r.last, base, n);
            for (const auto& a : t.addresses)
                hit |= !(a < r.first) && !(r.last < a);
        }
        if (!hit)
            return false;
        result = true;
    }
    return result;
}

std::optional<bool> download_matches(const CommandTargets& t, const Download& d) {
    if (t.urls.empty())
        return std::nullopt;
    for (const auto& u : t.urls) {
        if (util::iequals(u, d.url))
            return true;
        // The URL as the bot wrote it may name the host differently (an address for a name):
        // the path must agree.
        auto scheme = u.find("://");
        auto path = u.find('/', scheme + 3);
        auto dpath = d.url.find('/', d.url.find("://") + 3);
        if (path != std::string::npos && dpath != std::string::npos &&
            u.substr(path) == d.url.substr(dpath))
            return true;
    }
    return false;
}

struct Candidate {
    std::size_t command;
    bool matched;
};

/// The command a behaviour starting at `start` belongs to: among those of `category` within
/// the window before it and not contradicted by their named target, a matching one first,
/// then the latest.
template <typename Match>
std::optional<Candidate> pick(const BehaviorResult& b, const std::vector<CommandTargets>& targets,
                              const char* category, Timestamp start, Match&& match) {
    std::optional<Candidate> best;
    for (std::size_t i = 0; i < b.commands.size(); ++i) {
        const BotCommand& c = b.commands[i];
        if (c.category != category || c.ts > start || start - c.ts > b.config.command.window)
            continue;
        std::optional<bool> m = match(targets[i]);
        if (m && !*m)
            continue;
        bool matched = m.value_or(false);
        if (!best || matched || !best->matched)
            best = Candidate{i, matched};
    }
    return best;
}

template <typename T, typename Start, typename Match>
void link(BehaviorResult& b, const std::vector<CommandTargets>& targets, std::vector<T>& findings,
          const char* section, const char* category, Start&& start_of, Match&& match) {
    for (std::size_t i = 0; i < findings.size(); ++i) {
        T& f = findings[i];
        Timestamp start = start_of(f);
        auto cand =
            pick(b, targets, category, start, [&](const CommandTargets& t) { return match(t, f); });
        if (!cand)
            continue;
        f.command = cand->command;
        BotCommand& c = b.commands[cand->command];
        c.followed_by.push_back({section, i, start - c.ts, cand->matched, 1, start - c.ts});
    }
}

}  // namespace

void match_commands(BehaviorResult& b) {
    std::vector<CommandTargets> targets;
    targets.reserve(b.commands.size());
    for (const auto& c : b.commands)
        targets.push_back(command_targets(c));
    link(
        b, targets, b.floods, "floods", "flood",
        [](const Flood& f) { return f.onset != 0 ? f.onset : f.volume.start; }, flood_matches);
    link(
        b, targets, b.scans, "scans", "scan", [](const Scan& s) { return s.volume.start; },
        scan_matches);
    link(
        b, targets, b.spam_runs, "spam_runs", "spam", [](const SpamRun& s) { return s.start; },
        [](const CommandTargets&, const SpamRun&) { return std::optional<bool>(); });
    link(
        b, targets, b.downloads, "downloads", "download", [](const Download& d) { return d.ts; },
        download_matches);
    for (auto& c : b.commands)
        std::stable_sort(
            c.followed_by.begin(), c.followed_by.end(),
            [](const BehaviorRef& x, const BehaviorRef& y) { return x.delay < y.delay; });
}

}  // namespace botscope::analysis::detect
