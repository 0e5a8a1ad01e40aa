#include "report/summary.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "util/terminal_text.h"

namespace botscope::report {

namespace {

/// Items listed per section before "... and N more".
constexpr std::size_t kMaxItems = 8;
/// Characters of wire text shown per line.
constexpr std::size_t kMaxText = 100;

/// j[key], or null when j is not an object or lacks the key: nlohmann's const operator[] on a
/// missing key is undefined behaviour, and a report may come from a file.
const Json& field(const Json& j, const char* key) {
    static const Json kNull;
    if (!j.is_object())
        return kNull;
    auto it = j.find(key);
    return it == j.end() ? kNull : *it;
}

/// A boolean field, false when absent or not a boolean.
bool flag(const Json& j, const char* key) {
    const Json& v = field(j, key);
    return v.is_boolean() && v.get<bool>();
}

std::string str(const Json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string())
        return {};
    return j[key].get<std::string>();
}

std::uint64_t num(const Json& j, const char* key) {
    const Json& v = field(j, key);
    if (v.is_number_unsigned())
        return v.get<std::uint64_t>();
    if (v.is_number_integer())
        return v.get<std::int64_t>() < 0 ? 0 : static_cast<std::uint64_t>(v.get<std::int64_t>());
    // A float or a negative number converted out of range is undefined behaviour.
    if (v.is_number_float() && v.get<double>() >= 0 && v.get<double>() < 1.8e19)
        return static_cast<std::uint64_t>(v.get<double>());
    return 0;
}

const Json& list(const Json& j, const char* key) {
    static const Json kEmpty = Json::array();
    if (!j.is_object() || !j.contains(key) || !j[key].is_array())
        return kEmpty;
    return j[key];
}

/// How many entries `key` has in all: the report lists a sample of long lists and counts the
/// rest in `<key>_omitted`.
std::size_t total(const Json& j, const char* key) {
    return list(j, key).size() + num(j, (std::string(key) + "_omitted").c_str());
}

// Every string that came from the guest or the wire goes through here on its way to the
// terminal: controls escaped (util::terminal_safe), cut to kMaxText.
std::string clean(std::string_view s) {
    return util::terminal_safe(s, kMaxText);
}

std::string ep(const Json& e) {
    if (!e.is_object())
        return "?";
    std::string ip = str(e, "ip");
    if (ip.find(':') != std::string::npos)
        ip = "[" + ip + "]";
    return ip + ":" + std::to_string(num(e, "port"));
}

std::string utc(const Json& ts) {
    // 0 to year 2106: what a capture's clock can say (and no float-to-integer overflow).
    if (!ts.is_number() || !(ts.get<double>() >= 0 && ts.get<double>() < 4.3e9))
        return "-";
    auto secs = static_cast<std::time_t>(ts.get<double>());
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string clock(const Json& ts) {
    std::string s = utc(ts);
    return s.size() > 11 ? s.substr(11) : s;
}

struct Out {
    std::string text;
    void line(const char* label, const std::string& s) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%-10s", label);
        text += buf;
        text += s;
        text += "\n";
    }
    void more(std::size_t shown, std::size_t total) {
        if (total > shown)
            line("", "... and " + std::to_string(total - shown) + " more");
    }
};

void capture(Out& o, const std::string& path, const Json& c) {
    o.line("capture",
           path + " (" + str(c, "format") + ", " + str(c, "link_name") + ", " +
               str(c, "byte_order") + ")" +
               (flag(c, "truncated") ? "  TRUNCATED: " + str(c, "truncation_reason") : ""));
    if (num(c, "packets") == 0) {
        o.line("", "no packets");
        return;
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, "%llu packets, %llu bytes, %s to %s UTC (%.1f s)",
                  static_cast<unsigned long long>(num(c, "packets")),
                  static_cast<unsigned long long>(num(c, "bytes")),
                  utc(field(c, "first_ts")).c_str(), utc(field(c, "last_ts")).c_str(),
                  field(c, "duration").is_number() ? field(c, "duration").get<double>() : 0.0);
    o.line("", buf);
}

void flows(Out& o, const Json& net) {
    std::map<std::string, std::uint64_t> by_service;
    const Json& flow_part = field(net, "flows");
    if (auto it = flow_part.find("by_service"); it != flow_part.end() && it->is_object())
        for (const auto& [svc, n] : it->items())
            if (n.is_number_unsigned())
                by_service[svc] = n.get<std::uint64_t>();
    std::string s = std::to_string(num(field(net, "hosts"), "count")) + " hosts, " +
                    std::to_string(num(field(net, "flows"), "count")) + " flows";
    if (!by_service.empty()) {
        s += " (";
        bool first = true;
        for (const auto& [svc, n] : by_service) {
            s += (first ? "" : ", ") + svc + " " + std::to_string(n);
            first = false;
        }
        s += ")";
    }
    o.line("traffic", s);
}

void dns(Out& o, const Json& d) {
    const Json& names = list(d, "names");
    std::size_t shown = 0;
    for (const auto& n : names) {
        if (shown == kMaxItems)
            break;
        std::string addrs;
        for (const auto& a : list(n, "addresses"))
            addrs += (addrs.empty() ? "" : " ") + clean(a.is_string() ? a.get<std::string>() : "");
        std::string s = clean(str(n, "name")) + " x" + std::to_string(num(n, "queries"));
        if (!addrs.empty())
            s += " -> " + addrs;
        if (num(n, "nxdomain") > 0)
            s += " (NXDOMAIN)";
        o.line(shown == 0 ? "dns" : "", s);
        ++shown;
    }
    o.more(shown, names.size());
}

void irc(Out& o, const Json& r) {
    const Json& sessions = list(r, "sessions");
    std::size_t shown_sessions = 0;
    for (const auto& s : sessions) {
        if (shown_sessions == kMaxItems)
            break;
        ++shown_sessions;
        std::string head = ep(field(s, "client")) + " -> " + ep(field(s, "server"));
        if (!str(s, "server_name").empty())
            head += " (" + clean(str(s, "server_name")) + ")";
        head += "  nick " + clean(str(s, "nick"));
        if (s.contains("password") && field(s, "password").is_string())
            head += "  pass " + clean(str(s, "password"));
        o.line("irc", head);
        const Json& channels = list(s, "channels");
        std::size_t shown = 0;
        for (const auto& c : channels) {
            if (shown == kMaxItems)
                break;
            std::string key = str(c, "key");
            o.line("", "  channel " + clean(str(c, "name")) +
                           (key.empty() ? "" : " key " + clean(key)) +
                           (flag(c, "joined") ? "" : " (not confirmed)"));
            ++shown;
        }
        o.more(shown, channels.size());
        shown = 0;
        std::size_t messages = 0;
        for (const auto& m : list(s, "received")) {
            std::string cmd = str(m, "command");
            if (cmd != "PRIVMSG" && cmd != "TOPIC" && cmd != "332" && cmd != "NOTICE")
                continue;
            if (cmd == "NOTICE" && str(m, "target") == "AUTH")
                continue;
            if (messages++ >= kMaxItems)
                continue;
            std::string from = str(m, "from");
            if (cmd == "332")
                from = str(m, "set_by").empty() ? from : str(m, "set_by");
            o.line("", "  " + clock(field(m, "ts")) + " " +
                           (cmd == "332" ? std::string("TOPIC") : cmd) + " " + clean(from) +
                           " -> " + clean(str(m, "target")) + ": " + clean(str(m, "text")));
            ++shown;
        }
        o.more(shown, messages);
        const Json& dcc = list(s, "dcc");
        shown = 0;
        for (const auto& d : dcc) {
            if (shown == kMaxItems)
                break;
            ++shown;
            o.line("", "  DCC " + clean(str(d, "type")) + " " + clean(str(d, "argument")) + " " +
                           clean(str(d, "ip")) + ":" + std::to_string(num(d, "port")));
        }
        o.more(shown, dcc.size());
    }
    o.more(shown_sessions, sessions.size());
}

void http(Out& o, const Json& h) {
    const Json& tx = list(h, "transactions");
    std::size_t shown = 0;
    for (const auto& t : tx) {
        if (shown == kMaxItems)
            break;
        const Json& req = t.contains("request") ? field(t, "request") : Json();
        const Json& resp = t.contains("response") ? field(t, "response") : Json();
        std::string host = str(req, "host");
        if (host.empty())
            host = ep(field(t, "server"));
        std::string s =
            clean(str(req, "method")) + " http://" + clean(host) + clean(str(req, "uri"));
        if (resp.is_object()) {
            s += " -> " + std::to_string(num(resp, "status"));
            const Json& body = resp.contains("body") ? field(resp, "body") : Json();
            if (body.is_object()) {
                s += " " + std::to_string(num(body, "length")) + " bytes";
                if (body.contains("executable") && field(body, "executable").is_object())
                    s += " [" + str(field(body, "executable"), "kind") + "] sha256 " +
                         str(body, "sha256");
            }
        }
        o.line(shown == 0 ? "http" : "", s);
        ++shown;
    }
    o.more(shown, tx.size());
}

void smtp(Out& o, const Json& r) {
    const Json& sessions = list(r, "sessions");
    if (sessions.empty())
        return;
    std::size_t messages = 0, rcpts = 0;
    std::map<std::string, std::size_t> subjects, servers;
    for (const auto& s : sessions) {
        ++servers[str(field(s, "resp"), "ip")];
        for (const auto& m : list(s, "messages")) {
            ++messages;
            rcpts += list(m, "rcpt_to").size();
            if (m.contains("headers") && field(m, "headers").is_object())
                ++subjects[str(field(m, "headers"), "subject")];
        }
    }
    o.line("smtp", std::to_string(sessions.size()) + " sessions to " +
                       std::to_string(servers.size()) + " servers, " + std::to_string(messages) +
                       " messages, " + std::to_string(rcpts) + " recipients");
    std::size_t shown = 0;
    for (const auto& [subj, n] : subjects) {
        if (shown == kMaxItems)
            break;
        o.line("", "  subject \"" + clean(subj) + "\" x" + std::to_string(n));
        ++shown;
    }
    o.more(shown, subjects.size());
}

void tftp(Out& o, const Json& r) {
    const Json& tx = list(r, "transfers");
    std::size_t shown = 0;
    for (const auto& t : tx) {
        if (shown == kMaxItems)
            break;
        std::string s = str(t, "operation") + " \"" + clean(str(t, "filename")) + "\" " +
                        (str(t, "operation") == "write" ? "to " : "from ") +
                        ep(field(t, "server")) + ": " + std::to_string(num(t, "bytes")) + " bytes" +
                        (flag(t, "completed") ? "" : " (incomplete)");
        if (t.contains("file_kind") && field(t, "file_kind").is_string())
            s += " [" + str(t, "file_kind") + "]";
        if (t.contains("sha256") && field(t, "sha256").is_string())
            s += " sha256 " + str(t, "sha256");
        o.line(shown == 0 ? "tftp" : "", s);
        ++shown;
    }
    o.more(shown, tx.size());
}

void ftp(Out& o, const Json& r) {
    const Json& sessions = list(r, "sessions");
    std::size_t shown_sessions = 0;
    for (const auto& s : sessions) {
        if (shown_sessions == kMaxItems)
            break;
        ++shown_sessions;
        std::string line = ep(field(s, "orig")) + " -> " + ep(field(s, "resp"));
        if (!str(s, "user").empty())
            line += "  user " + clean(str(s, "user"));
        o.line("ftp", line);
        std::size_t shown = 0;
        const Json& transfers = list(s, "transfers");
        for (const auto& t : transfers) {
            if (shown == kMaxItems)
                break;
            std::string tl = "  " + clean(str(t, "command")) + " " + clean(str(t, "name"));
            if (t.contains("reply"))
                tl += " -> " + std::to_string(num(t, "reply"));
            if (t.contains("size"))
                tl += " " + std::to_string(num(t, "size")) + " bytes";
            o.line("", tl);
            ++shown;
        }
        o.more(shown, transfers.size());
    }
    o.more(shown_sessions, sessions.size());
}

void anomalies(Out& o, const Json& a) {
    if (!a.is_array() || a.empty())
        return;
    std::string s;
    for (const auto& w : a)
        s += (s.empty() ? "" : ", ") + str(w, "name") + " x" + std::to_string(num(w, "count"));
    o.line("anomalies", s);
}

}  // namespace

double real(const Json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number())
        return 0;
    return j[key].get<double>();
}

/// " <- .ddos.syn 10.66.0.1 80 (+0.5 s)" when a command caused the finding.
std::string cause(const Json& b, const Json& finding) {
    if (!finding.contains("command") || !field(finding, "command").is_number_unsigned())
        return {};
    auto i = field(finding, "command").get<std::size_t>();
    const Json& cmds = list(b, "commands");
    if (i >= cmds.size())
        return {};
    const Json& c = cmds[i];
    char buf[64];
    double start = finding.contains("onset")   ? real(finding, "onset")
                   : finding.contains("start") ? real(finding, "start")
                                               : real(finding, "ts");
    std::snprintf(buf, sizeof buf, " (+%.1f s)", start - real(c, "ts"));
    return "  <- " + clean(str(c, "text")) + buf;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

void behavior(Out& o, const Json& b) {
    static const std::map<std::string, std::string> kFloodNames = {
        {"syn", "SYN flood"},   {"connect", "TCP connect flood"}, {"udp", "UDP flood"},
        {"icmp", "ICMP flood"}, {"http", "HTTP request flood"},   {"synack", "SYN-ACK flood"}};
    const Json& floods = list(b, "floods");
    std::size_t shown = 0;
    for (const auto& f : floods) {
        if (shown == kMaxItems)
            break;
        ++shown;
        auto it = kFloodNames.find(str(f, "kind"));
        std::string s =
            (it != kFloodNames.end() ? it->second : str(f, "kind")) + " on " + str(f, "target");
        std::string ports;
        for (const auto& p : list(f, "ports"))
            ports += (ports.empty() ? ":" : ",") + (p.is_number_integer() &&
                                                            p.get<std::int64_t>() >= 0 &&
                                                            p.get<std::int64_t>() <= 65535
                                                        ? std::to_string(p.get<std::int64_t>())
                                                        : "?");
        if (num(f, "ports_total") > list(f, "ports").size())
            ports += ",...";
        s += ports + ": " + std::to_string(num(f, "events")) + " " +
             (str(f, "kind") == "http"      ? "requests"
              : str(f, "kind") == "connect" ? "connections"
                                            : "packets") +
             " in " + fmt("%.1f s", real(f, "duration")) + ", peak " +
             fmt("%.0f/s", real(f, "peak_events_per_second")) + ", " +
             std::to_string(num(f, "sources")) + " source(s)";
        if (field(f, "reflection").is_object())
            s += ", reflected by " + std::to_string(num(field(f, "reflection"), "reflectors")) +
                 " servers from port " + std::to_string(num(field(f, "reflection"), "port"));
        else if (field(f, "spoofed_sources").is_number() && num(f, "spoofed_sources") > 0)
            s += " (" + std::to_string(num(f, "spoofed_sources")) + " spoofed)";
        o.line("flood", s + cause(b, f));
    }
    o.more(shown, total(b, "floods"));
    const Json& scans = list(b, "scans");
    shown = 0;
    for (const auto& sc : scans) {
        if (shown == kMaxItems)
            break;
        ++shown;
        std::string ports;
        for (const auto& p : list(sc, "ports")) {
            if (ports.size() > 40) {
                ports += ",...";
                break;
            }
            ports += (ports.empty() ? "" : ",") + std::to_string(num(p, "port"));
        }
        std::string ranges;
        for (const auto& r : list(sc, "target_ranges")) {
            if (ranges.size() > 40) {
                ranges += " ...";
                break;
            }
            ranges +=
                (ranges.empty() ? "" : " ") + (r.is_string() ? clean(r.get<std::string>()) : "?");
        }
        std::string s = str(sc, "kind") + " " + str(sc, "transport") + " scan by " +
                        str(sc, "scanner") + ": " + std::to_string(num(sc, "targets")) +
                        " target(s) " + ranges;
        if (!ports.empty())
            s += ", " + std::to_string(num(sc, "ports_total")) + " port(s) " + ports;
        s += ", " + std::to_string(num(sc, "probes")) + " probes, " +
             std::to_string(num(sc, "targets_answered")) + " answered, " +
             std::to_string(num(sc, "open_total")) + " open";
        o.line("scan", s + cause(b, sc));
    }
    o.more(shown, total(b, "scans"));
    const Json& runs = list(b, "spam_runs");
    shown = 0;
    for (const auto& r : runs) {
        if (shown == kMaxItems)
            break;
        ++shown;
        // Past the SMTP result's caps the distinct counts are estimates.
        const std::string about = flag(r, "estimated") ? "about " : "";
        std::string s = "from " + str(r, "client") + ": " + std::to_string(num(r, "messages")) +
                        " message(s) to " + about + std::to_string(num(r, "servers")) +
                        " server(s), " + about + std::to_string(num(r, "recipients")) +
                        " recipient(s) in " + about + std::to_string(num(r, "recipient_domains")) +
                        " domain(s)";
        const Json& subjects = list(r, "subjects");
        if (!subjects.empty())
            s += ", subject \"" + clean(str(subjects[0], "value")) + "\"";
        if (num(r, "unanswered_servers") > 0)
            s += ", " + std::to_string(num(r, "unanswered_servers")) + " server(s) never answered";
        if (flag(r, "attempted"))
            s += " (attempted: nothing accepted)";
        o.line("spam", s + cause(b, r));
    }
    o.more(shown, total(b, "spam_runs"));
    static const Json kNoCnc;
    const Json& beacons = list(b.contains("cnc") ? field(b, "cnc") : kNoCnc, "http_beacons");
    shown = 0;
    for (const auto& c : beacons) {
        if (shown == kMaxItems)
            break;
        ++shown;
        o.line("beacon", str(c, "client") + " -> " + ep(field(c, "server")) + " " +
                             clean(str(c, "host")) + clean(str(c, "uri_pattern")) + " every " +
                             fmt("%.1f s", real(c, "period")) + " x" +
                             std::to_string(num(c, "requests")));
    }
    o.more(shown, total(b.contains("cnc") ? field(b, "cnc") : kNoCnc, "http_beacons"));
    // A bot told to update fetches the same file again and again: one line per distinct
    // download (URL, kind, size, hash), with its count, in order of first appearance. The
    // report groups equal transfers already, but per client and server.
    struct Group {
        std::string text;
        std::string first_cause;
        std::size_t count = 0;
    };
    std::vector<Group> groups;
    std::map<std::string, std::size_t> group_of;
    for (const auto& d : list(b, "downloads")) {
        std::string s = clean(str(d, "url")) + " " + str(d, "kind") + " " +
                        std::to_string(num(d, "size")) + " bytes";
        if (!str(d, "sha256").empty())
            s += " sha256 " + str(d, "sha256");
        auto [it, fresh] = group_of.try_emplace(s, groups.size());
        if (fresh)
            groups.push_back({s, cause(b, d), 0});
        groups[it->second].count += std::max<std::uint64_t>(num(d, "count"), 1);
    }
    shown = 0;
    for (const auto& g : groups) {
        if (shown == kMaxItems)
            break;
        ++shown;
        o.line("download",
               g.text + (g.count > 1 ? " x" + std::to_string(g.count) : "") + g.first_cause);
    }
    o.more(shown, groups.size() + num(b, "downloads_omitted"));
    const Json& shells = list(b, "remote_shells");
    shown = 0;
    for (const auto& r : shells) {
        if (shown == kMaxItems)
            break;
        ++shown;
        std::string s = std::string(flag(r, "connect_back") ? "connect-back" : "bind") +
                        " shell on " + ep(field(r, "shell")) + " from " +
                        ep(field(r, "controller")) + ", " + std::to_string(num(r, "commands")) +
                        " command(s)";
        for (const auto& f : list(r, "fetches"))
            s += ", fetched " + clean(str(f, "file")) + " by " + str(f, "tool") +
                 (str(f, "host").empty() ? "" : " from " + clean(str(f, "host")));
        if (flag(r, "download_execute"))
            s += ", then started it";
        o.line("shell", s);
    }
    o.more(shown, total(b, "remote_shells"));
}

namespace {

/// The name the bot looked up for `server`: the last answer naming its address before the
/// session began (everything resolves to the sinkhole in the sandbox, so the latest wins).
std::string cnc_name(const Json& net, const Json& server, double start) {
    std::string name;
    if (!net.contains("dns"))
        return name;
    for (const auto& t : list(field(net, "dns"), "transactions")) {
        if (real(t, "ts") > start)
            break;
        for (const auto& a : list(t, "answers"))
            if (str(a, "type") == "A" && str(a, "rdata") == str(server, "ip"))
                name = str(t, "query");
    }
    return name;
}

/// Who commands the bot: per IRC C&C session its server (and the name the bot looked up),
/// password, nick, channels and keys, as an ISP needs them to find infected customers.
void cnc_card(Out& o, const Json& report) {
    const Json& net = field(report, "network");
    if (!report.contains("behavior") || !field(report, "behavior").is_object() ||
        !field(report, "behavior").contains("cnc"))
        return;
    std::size_t shown = 0;
    for (const auto& c : list(field(field(report, "behavior"), "cnc"), "irc")) {
        if (shown++ == 3)
            break;
        std::string name = cnc_name(net, field(c, "server"), real(c, "start"));
        std::string s = "irc " + (name.empty() ? "" : clean(name) + " ") + "(" +
                        ep(field(c, "server")) + ")  nick " + clean(str(c, "nick"));
        // The session's password and channel keys are in the network part.
        const Json* session = nullptr;
        if (net.contains("irc"))
            for (const auto& x : list(field(net, "irc"), "sessions"))
                if (num(x, "flow") == num(c, "flow"))
                    session = &x;
        if (session && (*session).contains("password") && field(*session, "password").is_string())
            s += "  pass " + clean(str(*session, "password"));
        o.line("cnc", s);
        if (session) {
            const Json& channels = list(*session, "channels");
            std::size_t shown_channels = 0;
            for (const auto& ch : channels) {
                if (shown_channels == kMaxItems)
                    break;
                ++shown_channels;
                std::string key = str(ch, "key");
                o.line("", "  channel " + clean(str(ch, "name")) +
                               (key.empty() ? "" : " key " + clean(key)));
            }
            o.more(shown_channels, channels.size());
        }
    }
}

/// What one finding is, in a few words, for the list of commands.
std::string finding_brief(const Json& b, const std::string& section, std::size_t index) {
    const Json& l = list(b, section.c_str());
    if (index >= l.size())
        return section + " #" + std::to_string(index) + " (in behavior.jsonl)";
    const Json& f = l[index];
    if (section == "floods")
        return str(f, "kind") + " flood on " + str(f, "target") + ", " +
               std::to_string(num(f, "events")) + " events";
    if (section == "scans")
        return str(f, "kind") + " scan, " + std::to_string(num(f, "targets")) + " targets, " +
               std::to_string(num(f, "targets_answered")) + " answered";
    if (section == "spam_runs")
        return "spam run, " + std::to_string(num(f, "messages")) + " messages";
    if (section == "downloads")
        return "download " + clean(str(f, "url"));
    return section;
}

/// Every command the bot received, in order, with what it set off.
void commands(Out& o, const Json& b) {
    const Json& cmds = list(b, "commands");
    std::size_t shown = 0, idle = 0;
    for (const auto& c : cmds) {
        idle += list(c, "followed_by").empty() ? 1 : 0;
        if (shown == 2 * kMaxItems)
            continue;
        std::string where = str(c, "where") == "channel"   ? clean(str(c, "target"))
                            : str(c, "where") == "private" ? std::string("private")
                                                           : str(c, "where");
        o.line(shown++ == 0 ? "commands" : "",
               clock(field(c, "ts")) + " " + where + ": " + clean(str(c, "text")));
        // A download repeated every second is one line with its count and the delays' span.
        struct Link {
            std::string brief;
            std::size_t count = 0;
            double first = 0, last = 0;
        };
        std::vector<Link> links;
        for (const auto& f : list(c, "followed_by")) {
            std::string brief = finding_brief(b, str(f, "section"), num(f, "index"));
            const double delay = real(f, "delay");
            const double last = f.contains("last_delay") ? real(f, "last_delay") : delay;
            const std::size_t count = std::max<std::uint64_t>(num(f, "count"), 1);
            auto same = std::find_if(links.begin(), links.end(),
                                     [&brief](const Link& l) { return l.brief == brief; });
            if (same == links.end()) {
                links.push_back({std::move(brief), count, delay, last});
            } else {
                same->count += count;
                same->last = std::max(same->last, last);
            }
        }
        for (const Link& l : links)
            o.line("",
                   "  -> " + l.brief +
                       (l.count == 1 ? fmt(" (+%.1f s)", l.first)
                                     : " x" + std::to_string(l.count) + fmt(" (+%.1f s", l.first) +
                                           fmt(" to +%.1f s)", l.last)));
        if (num(c, "followed_by_omitted") > 0)
            o.line("", "  -> " + std::to_string(num(c, "followed_by_omitted")) +
                           " more, in behavior.jsonl");
    }
    o.more(shown, total(b, "commands"));
    if (cmds.empty())
        return;
    if (total(b, "commands") == cmds.size())
        o.line("", std::to_string(cmds.size()) + " received, " + std::to_string(idle) +
                       " without a behaviour seen");
    else
        o.line("", std::to_string(total(b, "commands")) + " received; of the " +
                       std::to_string(cmds.size()) + " in the report, " + std::to_string(idle) +
                       " without a behaviour seen");
}

/// The conclusions first: score, family, how it spreads and what it does.
void verdict(Out& o, const Json& report) {
    const Json& v = field(report, "verdict");
    if (!v.is_object())
        return;
    std::string s = std::to_string(num(v, "score")) + "/10 " + clean(str(v, "level"));
    const Json& family = field(v, "family");
    if (family.is_object())
        s += "; family " + clean(str(family, "name")) + " (" + clean(str(family, "confidence")) +
             " confidence)";
    o.line("verdict", s);
    for (const char* part : {"spreading", "capabilities"}) {
        std::string kinds;
        for (const auto& c : list(field(v, "classification"), part))
            kinds += (kinds.empty() ? "" : ", ") + clean(str(c, "kind"));
        if (!kinds.empty())
            o.line("", std::string(part) + ": " + kinds);
    }
    const Json& irc = field(field(report, "traits"), "irc");
    if (irc.is_object() && field(irc, "nick_pattern").is_string())
        o.line("", "nick pattern " + clean(str(irc, "nick_pattern")));
}

}  // namespace

std::string text_summary(const std::string& path, const Json& report) {
    Out o;
    const Json& net = field(report, "network");
    capture(o, path, field(net, "capture"));
    flows(o, net);
    verdict(o, report);
    cnc_card(o, report);
    if (net.contains("dns"))
        dns(o, field(net, "dns"));
    if (net.contains("irc"))
        irc(o, field(net, "irc"));
    if (net.contains("http"))
        http(o, field(net, "http"));
    if (net.contains("smtp"))
        smtp(o, field(net, "smtp"));
    if (net.contains("ftp"))
        ftp(o, field(net, "ftp"));
    if (net.contains("tftp"))
        tftp(o, field(net, "tftp"));
    if (report.contains("behavior") && field(report, "behavior").is_object()) {
        behavior(o, field(report, "behavior"));
        commands(o, field(report, "behavior"));
    }
    if (net.contains("anomalies"))
        anomalies(o, field(net, "anomalies"));
    return o.text;
}

namespace {

/// A member of a stored report, or null: a report read back may lack any of them.
const Json& at(const Json& j, const char* key) {
    static const Json kNull;
    if (!j.is_object())
        return kNull;
    auto it = j.find(key);
    return it == j.end() ? kNull : *it;
}

std::string seconds_text(const Json& v) {
    if (!v.is_number())
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", v.get<double>());
    return buf;
}

void task_part(Out& o, const Json& task) {
    const Json& m = at(task, "machine");
    std::string head = str(task, "id") + " on " + str(m, "name") + " (" + str(m, "domain") +
                       ", snapshot " + str(m, "snapshot") + "): " + str(task, "status");
    o.line("task", head);
    if (at(task, "error").is_object())
        o.line("failed",
               str(at(task, "error"), "stage") + ": " + clean(str(at(task, "error"), "message")));
    const Json& smp = at(task, "sample");
    o.line("sample", clean(str(smp, "path")) + "  " + std::to_string(num(smp, "size")) +
                         " bytes  sha256 " + str(smp, "sha256"));
    std::string stages;
    if (at(task, "stages").is_object())
        for (const auto& [k, v] : at(task, "stages").items())
            stages += (stages.empty() ? "" : ", ") + k + " " + seconds_text(v);
    o.line("stages", stages);
}

void guest_part(Out& o, const Json& guest) {
    if (!guest.is_object())
        return;
    const Json& events = list(at(guest, "processes"), "events");
    std::size_t started = 0, shown = 0;
    for (const auto& e : events) {
        if (str(e, "type") != "start")
            continue;
        ++started;
        if (shown < kMaxItems) {
            o.line(shown == 0 ? "process" : "",
                   "pid " + std::to_string(num(e, "pid")) + " " +
                       clean(str(e, "cmdline").empty() ? str(e, "image") : str(e, "cmdline")));
            ++shown;
        }
    }
    o.more(shown, started);
    const Json& files = list(at(guest, "dropped"), "files");
    shown = 0;
    for (const auto& f : files) {
        if (shown == kMaxItems)
            break;
        o.line(shown++ == 0 ? "dropped" : "", clean(str(f, "path")) + " (" +
                                                  clean(str(f, "status")) + ", " +
                                                  std::to_string(num(f, "size")) + " bytes)");
    }
    o.more(shown, files.size());
    const Json& listening = list(guest, "listening");
    shown = 0;
    for (const auto& l : listening) {
        if (shown == kMaxItems)
            break;
        o.line(shown++ == 0 ? "listening" : "",
               clean(str(l, "proto")) + " " + clean(str(l, "address")) + ":" +
                   std::to_string(num(l, "port")) + " " + clean(str(l, "image")));
    }
    o.more(shown, listening.size());
    const Json& autostart = list(guest, "autostart");
    shown = 0;
    for (const auto& a : autostart) {
        if (shown == kMaxItems)
            break;
        o.line(
            shown++ == 0 ? "autostart" : "",
            clean(str(a, "kind")) + " " + clean(str(a, "location")) + " " + clean(str(a, "value")));
    }
    o.more(shown, autostart.size());
}

}  // namespace

/// What fakenet answered and kept for the task.
void fakenet_part(Out& o, const Json& f) {
    if (!f.is_object())
        return;
    std::string status = str(f, "status");
    if (status == "disabled") {
        o.line("fakenet", "off (the guest's traffic got no answers)");
        return;
    }
    if (status != "ok") {
        o.line("fakenet", "ERROR: " + clean(str(f, "error")));
        return;
    }
    const Json& op = at(f, "operator");
    o.line("fakenet", op.is_object() ? "operator " + clean(str(op, "name")) + " (" +
                                           std::to_string(num(op, "steps")) + " steps)"
                                     : std::string("no operator"));
    std::string counts;
    if (at(f, "counts").is_object())
        for (const auto& [k, v] : at(f, "counts").items())
            counts += (counts.empty() ? "" : ", ") + k + " " +
                      std::to_string(v.is_number() ? v.get<std::uint64_t>() : 0);
    std::size_t stored = list(at(f, "mail"), "stored").size();
    if (stored > 0)
        counts += "; " + std::to_string(stored) + " mails kept in mail/";
    o.line("", counts + (str(f, "log").empty() ? "" : "; log " + str(f, "log")));
}

/// YARA over the sample and the dropped files: what matched, and scans that did not finish.
void signatures_part(Out& o, const Json& s) {
    if (!s.is_object())
        return;
    if (str(s, "status") != "ok") {
        o.line("yara", "ERROR: " + clean(str(s, "error")));
        return;
    }
    std::size_t shown = 0, total = 0, clean_files = 0;
    auto show = [&](const std::string& text) {
        ++total;
        if (shown < kMaxItems)
            o.line(shown++ == 0 ? "yara" : "", text);
    };
    for (const auto& scan : list(s, "scans")) {
        const std::string file = clean(str(scan, "file"));
        const Json& matches = list(scan, "matches");
        if (str(scan, "status") != "ok")
            show(file + ": " + clean(str(scan, "status")) + " (" + clean(str(scan, "error")) + ")");
        else if (matches.empty())
            ++clean_files;
        for (const auto& m : matches)
            show(file + ": " + clean(str(m, "namespace")) + ":" + clean(str(m, "rule")));
    }
    o.more(shown, total);
    if (shown == 0)
        o.line("yara", std::to_string(num(at(s, "rules"), "rules")) + " rules, no match in " +
                           std::to_string(clean_files) + " files");
}

std::string task_summary(const std::string& report_path, const Json& report) {
    Out o;
    task_part(o, at(report, "task"));
    guest_part(o, at(report, "guest"));
    fakenet_part(o, at(report, "fakenet"));
    signatures_part(o, at(report, "signatures"));
    std::string text = o.text;
    const Json& net = at(report, "network");
    if (net.is_object() && net.contains("error"))
        text += "network   not analysed: " + clean(str(net, "error")) + "\n";
    else if (net.is_object())
        text +=
            text_summary(report_path.substr(0, report_path.rfind('/') + 1) + "dump.pcap", report);
    text += "report    " + report_path + "\n";
    return text;
}

}  // namespace botscope::report
