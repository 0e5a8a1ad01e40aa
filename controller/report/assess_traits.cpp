// The traits: what an ISP can look for in its own traffic (reports/README.md).

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "report/assess.h"
#include "report/assess_util.h"

namespace botscope::report {

using namespace assess_detail;

namespace {

// --- the nick pattern ---------------------------------------------------------------------

enum class Cls : char { kDigits = 'd', kLetters = 'a', kOther = 'p' };

struct Token {
    Cls cls;
    std::string text;
};

std::vector<Token> tokenize(const std::string& nick) {
    std::vector<Token> out;
    for (char c : nick) {
        bool digit = c >= '0' && c <= '9';
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        Cls cls = digit ? Cls::kDigits : letter ? Cls::kLetters : Cls::kOther;
        if (cls != Cls::kOther && !out.empty() && out.back().cls == cls)
            out.back().text += c;
        else
            out.push_back({cls, std::string(1, c)});
    }
    return out;
}

/// Nicks of one shape have the same token classes in the same order, and the same
/// punctuation.
std::string shape(const std::vector<Token>& tokens) {
    std::string key;
    for (const auto& t : tokens) {
        key += static_cast<char>(t.cls);
        if (t.cls == Cls::kOther)
            key += t.text;
    }
    return key;
}

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos)
            out += '\\';
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[static_cast<unsigned char>(c) >> 4];
            out += kHex[static_cast<unsigned char>(c) & 15];
            continue;
        }
        out += c;
    }
    return out;
}

std::string quantifier(std::size_t lo, std::size_t hi) {
    return lo == hi ? "{" + std::to_string(lo) + "}"
                    : "{" + std::to_string(lo) + "," + std::to_string(hi) + "}";
}

/// One position of a shape, over every nick of that shape.
std::string position_pattern(const std::vector<const Token*>& column) {
    const Token& first = *column.front();
    std::size_t lo = first.text.size(), hi = lo;
    bool same = true, upper = true, lower = true;
    for (const Token* t : column) {
        same = same && t->text == first.text;
        lo = std::min(lo, t->text.size());
        hi = std::max(hi, t->text.size());
        for (char c : t->text) {
            upper = upper && !(c >= 'a' && c <= 'z');
            lower = lower && !(c >= 'A' && c <= 'Z');
        }
    }
    // Three digits or more are a bot's random number, even in one nick.
    if (first.cls == Cls::kOther || (same && !(first.cls == Cls::kDigits && lo >= 3)))
        return escape(first.text);
    if (first.cls == Cls::kDigits)
        return "\\d" + quantifier(lo, hi);
    std::string cls = upper ? "[A-Z]" : lower ? "[a-z]" : "[A-Za-z]";
    return cls + quantifier(lo, hi);
}

}  // namespace

std::string nick_pattern(const std::vector<std::string>& nicks) {
    constexpr std::size_t kMaxShapes = 4;
    std::map<std::string, std::vector<std::vector<Token>>> groups;
    std::vector<std::string> order;  // shapes in order of first appearance
    for (const auto& nick : nicks) {
        if (nick.empty())
            continue;
        auto tokens = tokenize(nick);
        std::string key = shape(tokens);
        auto& g = groups[key];
        if (g.empty())
            order.push_back(key);
        g.push_back(std::move(tokens));
    }
    if (groups.empty() || groups.size() > kMaxShapes)
        return "";
    std::vector<std::string> alternatives;
    for (const auto& key : order) {
        const auto& g = groups[key];
        std::string p;
        for (std::size_t i = 0; i < g.front().size(); ++i) {
            std::vector<const Token*> column;
            for (const auto& tokens : g)
                column.push_back(&tokens[i]);
            p += position_pattern(column);
        }
        alternatives.push_back(std::move(p));
    }
    if (alternatives.size() == 1)
        return "^" + alternatives.front() + "$";
    std::string joined;
    for (const auto& a : alternatives)
        joined += (joined.empty() ? "" : "|") + a;
    return "^(?:" + joined + ")$";
}

namespace {

// --- the traits ----------------------------------------------------------------------------

/// The name the sample resolved to `ip` last before `start`, when it connected there. In the
/// sandbox fakenet answers every name with its own address, so "every name resolved to ip"
/// would make the spam run's mail exchanges and the download host C&C names too.
Json name_for(const Json& report, const std::string& ip, double start) {
    std::string name;
    for (const auto& t : list(get(get(report, "network", "dns"), "transactions"))) {
        if (number(get(t, "ts")) > start)
            break;
        for (const auto& a : list(get(t, "answers")))
            if (text(get(a, "type")) == "A" && text(get(a, "rdata")) == ip)
                name = text(get(t, "query"));
    }
    Json names = Json::array();
    if (!name.empty())
        names.push_back(name);
    return names;
}

Json cnc_traits(const Json& report) {
    const Json& behavior = get(report, "behavior");
    Json out = Json::array();
    for (const auto& c : list(get(behavior, "cnc", "irc"))) {
        std::string ip = text(get(c, "server", "ip"));
        std::uint64_t port = count(get(c, "server", "port"));
        add_unique(out, {{"protocol", "irc"},
                         {"ip", ip},
                         {"port", port},
                         {"names", name_for(report, ip, number(get(c, "start")))},
                         {"nonstandard_port", !standard_irc_port(port)}});
    }
    for (const auto& h : list(get(behavior, "cnc", "http_beacons"))) {
        std::string ip = text(get(h, "server", "ip"));
        std::uint64_t port = count(get(h, "server", "port"));
        // The Host header names the server the bot meant, whatever it resolved.
        Json names = Json::array();
        if (std::string host = text(get(h, "host")); !host.empty() && host != ip)
            names.push_back(host);
        else
            names = name_for(report, ip, number(get(h, "start")));
        add_unique(out, {{"protocol", "http"},
                         {"ip", ip},
                         {"port", port},
                         {"names", std::move(names)},
                         {"nonstandard_port", port != 80 && port != 443 && port != 8080}});
    }
    return out;
}

Json irc_traits(const Json& report) {
    const Json& sessions = list(get(get(report, "network", "irc"), "sessions"));
    if (sessions.empty())
        return nullptr;
    std::vector<std::string> seen;
    Json nicks = Json::array(), users = Json::array(), channels = Json::array(),
         passwords = Json::array();
    auto nick = [&](const Json& n) {
        if (n.is_string() && std::find(seen.begin(), seen.end(), n) == seen.end() &&
            seen.size() < 1000) {
            seen.push_back(n.get<std::string>());
            add_unique(nicks, n);
        }
    };
    for (const auto& s : sessions) {
        nick(get(s, "nick"));
        for (const auto& n : list(get(s, "nicks")))
            nick(get(n, "nick"));
        if (get(s, "user").is_string())
            add_unique(users, get(s, "user"));
        if (get(s, "password").is_string())
            add_unique(passwords, get(s, "password"));
        for (const auto& ch : list(get(s, "channels")))
            add_unique(channels, {{"name", text(get(ch, "name"))}, {"key", get(ch, "key")}});
    }
    std::string pattern = nick_pattern(seen);
    return {{"nicks", std::move(nicks)},
            {"nick_pattern", pattern.empty() ? Json(nullptr) : Json(pattern)},
            {"users", std::move(users)},
            {"channels", std::move(channels)},
            {"passwords", std::move(passwords)}};
}

void traffic_traits(const Json& behavior, Json& out) {
    Json scans = Json::array(), floods = Json::array();
    for (const auto& s : list(get(behavior, "scans")))
        for (const auto& p : list(get(s, "ports")))
            add_unique(scans, {{"transport", text(get(s, "transport"), "tcp")},
                               {"port", count(get(p, "port"))},
                               {"targets", count(get(p, "targets"))},
                               {"peak_probes_per_second", get(s, "peak_probes_per_second")}});
    for (const auto& f : list(get(behavior, "floods")))
        add_unique(floods, {{"kind", get(f, "kind")},
                            {"target", get(f, "target")},
                            {"ports", get(f, "ports")},
                            {"peak_pps", get(f, "peak_pps")}});
    out["scans"] = std::move(scans);
    out["floods"] = std::move(floods);
}

Json spam_traits(const Json& behavior) {
    const Json& runs = list(get(behavior, "spam_runs"));
    if (runs.empty())
        return nullptr;
    std::uint64_t mx = 0, servers = 0, after_mx = 0, messages = 0;
    Json subjects = Json::array(), senders = Json::array();
    for (const auto& r : runs) {
        mx += count(get(r, "mx_lookups"));
        servers += count(get(r, "servers"));
        after_mx += count(get(r, "servers_after_mx"));
        messages += count(get(r, "messages"));
        for (const auto& s : list(get(r, "subjects")))
            add_unique(subjects, get(s, "value"));
        for (const auto& s : list(get(r, "senders")))
            add_unique(senders, get(s, "value"));
    }
    return {{"mx_lookups", mx},
            {"servers", servers},
            {"servers_after_mx", after_mx},
            {"messages", messages},
            {"subjects", std::move(subjects)},
            {"senders", std::move(senders)}};
}

Json url_traits(const Json& report) {
    Json urls = Json::array();
    for (const auto& d : list(get(report, "behavior", "downloads")))
        if (get(d, "url").is_string())
            add_unique(urls, get(d, "url"));
    for (const auto& t : list(get(get(report, "network", "http"), "transactions"))) {
        const Json& req = get(t, "request");
        std::string host = text(get(req, "host"), text(get(t, "server", "ip")));
        if (get(req, "uri").is_string())
            add_unique(urls, "http://" + host + text(get(req, "uri")));
    }
    return urls;
}

Json hash_traits(const Json& report) {
    Json hashes = Json::array();
    const Json& sample = get(report, "task", "sample");
    if (get(sample, "sha256").is_string()) {
        std::string path = text(get(sample, "path"));
        add_unique(hashes, {{"role", "sample"},
                            {"name", path.substr(path.find_last_of('/') + 1)},
                            {"sha256", get(sample, "sha256")},
                            {"md5", get(sample, "md5")}});
    }
    for (const auto& d : list(get(report, "behavior", "downloads")))
        if (get(d, "sha256").is_string())
            add_unique(hashes, {{"role", "download"},
                                {"name", get(d, "name")},
                                {"sha256", get(d, "sha256")},
                                {"md5", get(d, "md5")}});
    for (const auto& f : list(get(get(report, "guest", "dropped"), "files")))
        if (get(f, "sha256").is_string())
            add_unique(hashes, {{"role", "dropped"},
                                {"name", get(f, "path")},
                                {"sha256", get(f, "sha256")},
                                {"md5", nullptr}});
    return hashes;
}

}  // namespace

Json traits(const Json& report) {
    const Json& behavior = get(report, "behavior");
    Json out;
    out["cnc"] = cnc_traits(report);
    out["irc"] = irc_traits(report);
    Json beacons = Json::array();
    for (const auto& h : list(get(behavior, "cnc", "http_beacons")))
        add_unique(beacons, {{"host", get(h, "host")},
                             {"ip", get(h, "server", "ip")},
                             {"port", get(h, "server", "port")},
                             {"uri_pattern", get(h, "uri_pattern")},
                             {"period", get(h, "period")}});
    out["http_beacons"] = std::move(beacons);
    Json names = Json::array();
    for (const auto& n : list(get(get(report, "network", "dns"), "names")))
        if (get(n, "name").is_string())
            add_unique(names, get(n, "name"));
    out["dns_names"] = std::move(names);
    traffic_traits(behavior, out);
    out["spam"] = spam_traits(behavior);
    out["urls"] = url_traits(report);
    out["hashes"] = hash_traits(report);
    return out;
}

}  // namespace botscope::report
