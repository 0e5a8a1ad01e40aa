#include "review/facts.h"

#include <algorithm>
#include <cctype>

#include "review/json_read.h"
#include "review/time_text.h"

namespace botscope::review {

namespace {

using json::at;
using json::list;
using json::str;

/// Appends `v` unless empty, already there, or the list is full.
void add(std::vector<std::string>& out, std::string v) {
    if (v.empty() || out.size() >= kMaxItems || std::find(out.begin(), out.end(), v) != out.end())
        return;
    out.push_back(std::move(v));
}

bool is_hex(const std::string& s, std::size_t len) {
    return s.size() == len &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string base_name(const std::string& path) {
    auto cut = path.find_last_of("/\\");
    return cut == std::string::npos ? path : path.substr(cut + 1);
}

void add_hash(Facts& f, const std::string& role, const std::string& name, std::string sha256,
              std::string md5) {
    sha256 = lower(std::move(sha256));
    md5 = lower(std::move(md5));
    if (!is_hex(sha256, 64) || f.hashes.size() >= kMaxItems)
        return;
    for (auto& h : f.hashes)
        if (h.sha256 == sha256) {
            if (h.md5.empty() && is_hex(md5, 32))
                h.md5 = md5;
            return;
        }
    f.hashes.push_back({role, name, sha256, is_hex(md5, 32) ? md5 : ""});
}

/// The name the sample resolved to `ip` last before `start`, when it connected there: in the
/// sandbox every name resolves to fakenet's address (report/assess_traits.cpp does the same
/// for the traits). A report that does not say when (start < 0) gets the first such name: a
/// bot looks its C&C up before anything else.
std::vector<std::string> names_for(const Json& dns, const std::string& ip, double start) {
    std::string name;
    for (const auto& t : list(dns, "transactions")) {
        if (start >= 0 && json::real(t, "ts") > start)
            break;
        for (const auto& a : list(t, "answers"))
            if ((str(a, "type") == "A" || str(a, "type") == "AAAA") && str(a, "rdata") == ip)
                name = lower(str(t, "query", kMaxText));
        if (start < 0 && !name.empty())
            break;
    }
    return name.empty() ? std::vector<std::string>{} : std::vector<std::string>{name};
}

void add_cnc(Facts& f, const std::string& protocol, const Json& server,
             std::vector<std::string> names) {
    CncEndpoint c;
    c.protocol = protocol;
    c.ip = str(server, "ip", 64);
    c.port = static_cast<std::uint16_t>(json::integer(server, "port", 0, 65535, 0));
    if (c.ip.empty() || f.cnc.size() >= kMaxItems)
        return;
    for (auto& e : f.cnc)
        if (e.protocol == c.protocol && e.ip == c.ip && e.port == c.port) {
            for (auto& n : names)
                add(e.names, std::move(n));
            return;
        }
    c.names = std::move(names);
    f.cnc.push_back(std::move(c));
}

void add_channel(Facts& f, const std::string& name, const std::string& key,
                 const std::string& server) {
    if (name.empty())
        return;
    for (auto& c : f.channels)
        if (c.name == name && (c.server == server || server.empty() || c.server.empty())) {
            if (c.key.empty())
                c.key = key;
            if (c.server.empty())
                c.server = server;
            return;
        }
    if (f.channels.size() < kMaxItems)
        f.channels.push_back({name, key, server});
}

}  // namespace

std::string CncEndpoint::endpoint() const {
    return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

std::string CncEndpoint::key() const {
    if (sandbox_address && !names.empty())
        return names.front() + ":" + std::to_string(port);
    return endpoint();
}

namespace {

void task_part(Facts& f, const Json& r) {
    const Json& task = at(r, "task");
    const Json& sample = at(task, "sample");
    f.id = str(task, "id", 32);
    f.status = str(task, "status", 32);
    f.finished = str(task, "finished", 64);
    f.machine = str(at(task, "machine"), "name", kMaxText);
    f.sample_name = json::cut(base_name(str(sample, "path", 4096)), kMaxText);
    f.sample_sha256 = lower(str(sample, "sha256", 64));
    f.sample_md5 = lower(str(sample, "md5", 32));
    if (!is_hex(f.sample_sha256, 64))
        f.sample_sha256.clear();
    if (!is_hex(f.sample_md5, 32))
        f.sample_md5.clear();
    add_hash(f, "sample", f.sample_name, f.sample_sha256, f.sample_md5);
    auto t = parse_time(f.finished);
    if (!t)
        t = parse_time(str(task, "started", 64));
    if (!t)
        t = json::real(at(at(r, "network"), "capture"), "first_ts");
    f.time = *t;
    if (f.kind != "task")
        f.sample_name = json::cut(base_name(str(at(r, "source"), "path", 4096)), kMaxText);
}

void verdict_part(Facts& f, const Json& r) {
    const Json& v = at(r, "verdict");
    if (!v.is_object())
        return;
    auto score = json::integer(v, "score", 0, 10, -1);
    if (score >= 0)
        f.score = static_cast<int>(score);
    f.level = str(v, "level", 32);
    f.family = lower(str(at(v, "family"), "name", kMaxText));
}

/// C&C from traits.cnc when the report has traits, else from the behaviour's IRC sessions and
/// HTTP beacons, named through the sample's own DNS answers.
void cnc_part(Facts& f, const Json& r) {
    const Json& traits = at(r, "traits");
    if (traits.is_object() && at(traits, "cnc").is_array()) {
        for (const auto& c : list(traits, "cnc")) {
            std::vector<std::string> names;
            for (const auto& n : list(c, "names"))
                add(names, lower(json::text(n, kMaxText)));
            add_cnc(f, str(c, "protocol", 16), c, std::move(names));
        }
    } else {
        const Json& dns = at(at(r, "network"), "dns");
        const Json& cnc = at(at(r, "behavior"), "cnc");
        for (const auto& s : list(cnc, "irc"))
            add_cnc(f, "irc", at(s, "server"),
                    names_for(dns, str(at(s, "server"), "ip", 64), json::real(s, "start", -1)));
        for (const auto& b : list(cnc, "http_beacons"))
            add_cnc(f, "http", at(b, "server"),
                    names_for(dns, str(at(b, "server"), "ip", 64), json::real(b, "start", -1)));
    }
    // In the sandbox every name resolves to fakenet: an address from DNS is fakenet's.
    for (auto& c : f.cnc)
        c.sandbox_address = f.kind == "task" && !c.names.empty();
}

std::string server_key(const Facts& f, const Json& server) {
    std::string ip = str(server, "ip", 64);
    auto port = json::integer(server, "port", 0, 65535, 0);
    for (const auto& c : f.cnc)
        if (c.ip == ip && c.port == port)
            return c.key();
    if (ip.empty())
        return {};
    CncEndpoint c;
    c.ip = ip;
    c.port = static_cast<std::uint16_t>(port);
    return c.key();
}

void irc_part(Facts& f, const Json& r) {
    for (const auto& s : list(at(at(r, "network"), "irc"), "sessions")) {
        std::string server = server_key(f, at(s, "server"));
        for (const auto& c : list(s, "channels"))
            add_channel(f, str(c, "name", kMaxText), str(c, "key", kMaxText), server);
        add(f.nicks, str(s, "nick", kMaxText));
        for (const auto& n : list(s, "nicks"))
            add(f.nicks, str(n, "nick", kMaxText));
    }
    for (const auto& s : list(at(at(r, "behavior"), "cnc"), "irc")) {
        std::string server = server_key(f, at(s, "server"));
        for (const auto& c : list(s, "channels"))
            add_channel(f, json::text(c, kMaxText), "", server);
        add(f.nicks, str(s, "nick", kMaxText));
    }
    // traits list channels without their server: theirs when the sample had one IRC server.
    const Json& irc = at(at(r, "traits"), "irc");
    std::string only;
    for (const auto& c : f.cnc)
        if (c.protocol == "irc")
            only = only.empty() ? c.key() : "?";
    for (const auto& c : list(irc, "channels"))
        add_channel(f, str(c, "name", kMaxText), str(c, "key", kMaxText), only == "?" ? "" : only);
    for (const auto& n : list(irc, "nicks"))
        add(f.nicks, json::text(n, kMaxText));
    f.nick_pattern = str(irc, "nick_pattern", kMaxText);
}

void names_and_urls(Facts& f, const Json& r) {
    const Json& traits = at(r, "traits");
    for (const auto& n : list(traits, "dns_names"))
        add(f.domains, lower(json::text(n, kMaxText)));
    for (const auto& t : list(at(at(r, "network"), "dns"), "transactions"))
        add(f.domains, lower(str(t, "query", kMaxText)));
    for (const auto& u : list(traits, "urls"))
        add(f.urls, json::text(u, kMaxText));
    for (const auto& d : list(at(r, "behavior"), "downloads"))
        add(f.urls, str(d, "url", kMaxText));
    for (const auto& t : list(at(at(r, "network"), "http"), "transactions")) {
        const Json& req = at(t, "request");
        std::string uri = str(req, "uri", kMaxText);
        if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) {
            add(f.urls, uri);
        } else if (!uri.empty()) {
            std::string host = str(req, "host", kMaxText);
            add(f.urls, "http://" + (host.empty() ? str(at(t, "server"), "ip", 64) : host) + uri);
        }
    }
}

void hashes_and_rules(Facts& f, const Json& r) {
    for (const auto& h : list(at(r, "traits"), "hashes"))
        add_hash(f, str(h, "role", 16), str(h, "name", kMaxText), str(h, "sha256", 64),
                 str(h, "md5", 32));
    for (const auto& d : list(at(r, "behavior"), "downloads"))
        add_hash(f, "download", str(d, "url", kMaxText), str(d, "sha256", 64), str(d, "md5", 32));
    for (const auto& d : list(at(at(r, "guest"), "dropped"), "files"))
        add_hash(f, "dropped", str(d, "path", kMaxText), str(d, "sha256", 64), "");
    for (const auto& s : list(at(r, "signatures"), "scans"))
        for (const auto& m : list(s, "matches"))
            add(f.yara, str(m, "rule", kMaxText));
    for (const auto& m : list(at(at(r, "network"), "signatures"), "matches"))
        add(f.yara, str(m, "rule", kMaxText));
}

}  // namespace

Facts extract_facts(const Json& r) {
    Facts f;
    f.kind = str(r, "kind", 16);
    task_part(f, r);
    verdict_part(f, r);
    cnc_part(f, r);
    irc_part(f, r);
    names_and_urls(f, r);
    hashes_and_rules(f, r);
    return f;
}

namespace {

Json strings(const std::vector<std::string>& v) {
    return Json(v);
}

std::vector<std::string> strings_of(const Json& j, std::string_view key) {
    std::vector<std::string> out;
    for (const auto& v : list(j, key))
        add(out, json::text(v, kMaxText));
    return out;
}

}  // namespace

Json facts_to_json(const Facts& f) {
    Json j = {
        {"id", f.id},
        {"kind", f.kind},
        {"status", f.status},
        {"finished", f.finished},
        {"time", f.time},
        {"sample", {{"name", f.sample_name}, {"sha256", f.sample_sha256}, {"md5", f.sample_md5}}},
        {"machine", f.machine},
        {"score", f.score ? Json(*f.score) : Json(nullptr)},
        {"level", f.level},
        {"family", f.family}};
    Json cnc = Json::array();
    for (const auto& c : f.cnc)
        cnc.push_back({{"protocol", c.protocol},
                       {"ip", c.ip},
                       {"port", c.port},
                       {"names", strings(c.names)},
                       {"sandbox_address", c.sandbox_address}});
    j["cnc"] = std::move(cnc);
    Json channels = Json::array();
    for (const auto& c : f.channels)
        channels.push_back({{"name", c.name}, {"key", c.key}, {"server", c.server}});
    j["channels"] = std::move(channels);
    j["nicks"] = strings(f.nicks);
    j["nick_pattern"] = f.nick_pattern;
    j["domains"] = strings(f.domains);
    j["urls"] = strings(f.urls);
    Json hashes = Json::array();
    for (const auto& h : f.hashes)
        hashes.push_back(
            {{"role", h.role}, {"name", h.name}, {"sha256", h.sha256}, {"md5", h.md5}});
    j["hashes"] = std::move(hashes);
    j["yara"] = strings(f.yara);
    return j;
}

std::optional<Facts> facts_from_json(const Json& j) {
    if (!j.is_object() || str(j, "id", 32).empty() || !at(j, "sample").is_object())
        return std::nullopt;
    Facts f;
    f.id = str(j, "id", 32);
    f.kind = str(j, "kind", 16);
    f.status = str(j, "status", 32);
    f.finished = str(j, "finished", 64);
    f.time = json::real(j, "time");
    f.sample_name = str(at(j, "sample"), "name", kMaxText);
    f.sample_sha256 = str(at(j, "sample"), "sha256", 64);
    f.sample_md5 = str(at(j, "sample"), "md5", 32);
    f.machine = str(j, "machine", kMaxText);
    if (auto s = json::integer(j, "score", 0, 10, -1); s >= 0)
        f.score = static_cast<int>(s);
    f.level = str(j, "level", 32);
    f.family = str(j, "family", kMaxText);
    for (const auto& c : list(j, "cnc")) {
        std::size_t before = f.cnc.size();
        add_cnc(f, str(c, "protocol", 16), c, strings_of(c, "names"));
        if (f.cnc.size() > before)
            f.cnc.back().sandbox_address = at(c, "sandbox_address") == Json(true);
    }
    for (const auto& c : list(j, "channels"))
        add_channel(f, str(c, "name", kMaxText), str(c, "key", kMaxText),
                    str(c, "server", kMaxText));
    f.nicks = strings_of(j, "nicks");
    f.nick_pattern = str(j, "nick_pattern", kMaxText);
    f.domains = strings_of(j, "domains");
    f.urls = strings_of(j, "urls");
    for (const auto& h : list(j, "hashes"))
        add_hash(f, str(h, "role", 16), str(h, "name", kMaxText), str(h, "sha256", 64),
                 str(h, "md5", 32));
    f.yara = strings_of(j, "yara");
    return f;
}

}  // namespace botscope::review
