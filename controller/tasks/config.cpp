#include "tasks/config.h"

#include <arpa/inet.h>

#include <QSettings>
#include <QString>
#include <QStringList>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <system_error>
#include <tuple>

namespace botscope::tasks {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;
constexpr const char* kMainSection = "botscope";
constexpr const char* kFakenetSection = "fakenet";
constexpr const char* kStoreSection = "store";

bool reserved_section(const QString& g) {
    return g == kMainSection || g == kFakenetSection || g == kStoreSection;
}

util::Error config_error(const fs::path& file, const std::string& what) {
    return {"config", file.string() + ": " + what};
}

/// QSettings' INI reader turns "a, b" into a list; every key here is one string.
std::string text_value(const QSettings& s, const QString& key) {
    QVariant v = s.value(key);
    if (v.typeId() == QMetaType::QStringList)
        return v.toStringList().join(", ").trimmed().toStdString();
    return v.toString().trimmed().toStdString();
}

bool valid_name(const std::string& n) {
    if (n.empty() || n.size() > 64 || n[0] == '.')
        return false;
    for (char c : n)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            return false;
    return true;
}

bool valid_ip(const std::string& ip) {
    unsigned char buf[16];
    return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

std::optional<std::int64_t> parse_int(const std::string& v, std::int64_t lo, std::int64_t hi) {
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi)
        return std::nullopt;
    return n;
}

/// "tcp:ADDR:PORT" with a literal address (the guest's; no name lookups on the host).
bool valid_transport(const std::string& t) {
    if (t == "virtio")
        return true;
    if (t.rfind("tcp:", 0) != 0)
        return false;
    auto colon = t.rfind(':');
    if (colon <= 4)
        return false;
    return valid_ip(t.substr(4, colon - 4)) && parse_int(t.substr(colon + 1), 1, 65535);
}

bool parse_bool(const std::string& v, bool& out) {
    if (v != "true" && v != "false")
        return false;
    out = v == "true";
    return true;
}

std::optional<std::uint16_t> parse_port(const std::string& v) {
    auto n = parse_int(v, 1, 65535);
    if (!n)
        return std::nullopt;
    return static_cast<std::uint16_t>(*n);
}

/// [store]
util::Result<util::Done> read_store(QSettings& s, const fs::path& path, StoreConfig& st) {
    s.beginGroup(kStoreSection);
    for (const QString& qk : s.childKeys()) {
        std::string k = qk.toStdString(), v = text_value(s, qk);
        bool ok = true;
        if (k == "driver")
            ok = (st.driver = v) == "sqlite" || v == "postgres";
        else if (k == "path")
            ok = !(st.path = v).empty();
        else if (k == "host")
            ok = !(st.host = v).empty();
        else if (k == "port")
            ok = parse_port(v).has_value() && ((st.port = *parse_port(v)), true);
        else if (k == "database")
            ok = !(st.database = v).empty();
        else if (k == "user")
            ok = !(st.user = v).empty();
        else if (k == "password_file")
            ok = !(st.password_file = v).empty();
        else
            return config_error(path, "unknown key '" + k + "' in [store]");
        if (!ok)
            return config_error(path, "bad value '" + v + "' for " + k + " in [store]");
    }
    s.endGroup();
    if (st.driver == "postgres" && st.host.empty())
        return config_error(path,
                            "[store] driver = postgres needs host (a name or a socket's "
                            "directory)");
    return util::Done{};
}

/// [fakenet]: every key checked like the others.
util::Result<util::Done> read_fakenet(QSettings& s, const fs::path& path, FakenetConfig& f) {
    std::string subnet, address, target;
    s.beginGroup(kFakenetSection);
    for (const QString& qk : s.childKeys()) {
        std::string k = qk.toStdString(), v = text_value(s, qk);
        bool ok = true;
        if (k == "enabled")
            ok = parse_bool(v, f.enabled);
        else if (k == "bridge")
            ok = !(f.bridge = v).empty() && f.bridge.size() < 16;
        else if (k == "subnet")
            ok = !(subnet = v).empty();
        else if (k == "address")
            ok = !(address = v).empty();
        else if (k == "target")
            ok = !(target = v).empty();
        else if (k == "listen") {
            auto ip = fakenet::parse_ipv4(v);
            ok = ip.has_value();
            f.listen = ip.value_or(0);
        } else if (k == "tcp_port" || k == "udp_port") {
            auto p = parse_port(v);
            ok = p.has_value();
            (k == "tcp_port" ? f.tcp_port : f.udp_port) = p.value_or(0);
        } else if (k == "firewall")
            ok = parse_bool(v, f.firewall);
        else if (k == "control")
            ok = !(f.control = v).empty() && f.control.is_absolute();
        else if (k == "lock")
            ok = !(f.lock = v).empty() && f.lock.is_absolute();
        else if (k == "log_file")
            ok = !(f.log_file = v).empty() && f.log_file.is_absolute();
        else if (k == "operator")
            f.operator_script = v;
        else if (k == "mail_keep") {
            auto n = parse_int(v, 0, 10'000);
            ok = n.has_value();
            f.mail_keep = static_cast<std::size_t>(n.value_or(0));
        } else if (k == "dns") {
            if (auto r = parse_dns_overrides(v, f); !r) {
                s.endGroup();
                return config_error(path, r.error().message + " in [fakenet] dns");
            }
        } else {
            s.endGroup();
            return config_error(path, "unknown key '" + k + "' in [fakenet]");
        }
        if (!ok) {
            s.endGroup();
            return config_error(path, "bad value '" + v + "' for " + k + " in [fakenet]");
        }
    }
    s.endGroup();
    if (!subnet.empty()) {
        auto n = fakenet::Subnet::parse(subnet);
        if (!n || n->prefix < 16 || n->prefix > 30)
            return config_error(path, "bad value '" + subnet +
                                          "' for subnet in [fakenet] (a network /16 to /30, "
                                          "like 10.66.0.0/24)");
        f.sandbox.subnet = *n;
    }
    for (auto [key, text, field] : {std::tuple{"address", &address, &f.sandbox.host},
                                    std::tuple{"target", &target, &f.sandbox.target}}) {
        if (text->empty())
            continue;
        auto ip = fakenet::parse_ipv4(*text);
        if (!ip)
            return config_error(path, "bad value '" + *text + "' for " + key + " in [fakenet]");
        *field = *ip;
    }
    return util::Done{};
}

/// The sandbox's addresses must agree with each other and with the machines.
util::Result<util::Done> check_fakenet(const fs::path& where, Config& c) {
    auto& sb = c.fakenet.sandbox;
    const std::string net = sb.subnet.to_string();
    if (!sb.contains(sb.host))
        return config_error(
            where, "[fakenet] address " + fakenet::format_ipv4(sb.host) + " is not in " + net);
    if (!sb.contains(sb.target) || sb.target == sb.host)
        return config_error(where, "[fakenet] target " + fakenet::format_ipv4(sb.target) +
                                       " must be an address of " + net + " other than the host");
    sb.guests.clear();
    for (const auto& m : c.machines) {
        auto ip = fakenet::parse_ipv4(m.ip);
        if (!ip || !sb.contains(*ip)) {
            if (c.fakenet.enabled)
                return config_error(where, "machine " + m.name + "'s ip " + m.ip +
                                               " is not in fakenet's subnet " + net);
            continue;
        }
        if (*ip == sb.host || *ip == sb.target)
            return config_error(
                where, "machine " + m.name + "'s ip " + m.ip + " is fakenet's address or target");
        sb.guests.push_back(*ip);
    }
    return util::Done{};
}

}  // namespace

util::Result<util::Done> parse_dns_overrides(const std::string& value, FakenetConfig& out) {
    QString raw = QString::fromStdString(value);
    for (const QString& entry : raw.split(',', Qt::SkipEmptyParts)) {
        std::string e = entry.trimmed().toStdString();
        auto eq = e.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == e.size())
            return util::Error{"config", "bad entry '" + e + "' (NAME=ADDRESS or NAME=nxdomain)"};
        std::string name = e.substr(0, eq), answer = e.substr(eq + 1);
        for (char& ch : name)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        while (!name.empty() && name.back() == '.')
            name.pop_back();
        if (name.empty() || name.size() > 253)
            return util::Error{"config", "bad name in '" + e + "'"};
        if (answer == "nxdomain" || answer == "NXDOMAIN") {
            out.dns_nxdomain.insert(name);
            continue;
        }
        auto ip = fakenet::parse_ipv4(answer);
        if (!ip)
            return util::Error{"config", "bad address in '" + e + "'"};
        out.dns_names[name] = *ip;
    }
    return util::Done{};
}

std::vector<std::filesystem::path> Config::rule_trees() const {
    std::vector<std::filesystem::path> trees;
    for (const char* sub : {"static", "network"}) {
        std::error_code ec;
        if (std::filesystem::is_directory(signatures_dir / sub, ec))
            trees.push_back(signatures_dir / sub);
    }
    trees.insert(trees.end(), rules_dirs.begin(), rules_dirs.end());
    return trees;
}

const Machine* Config::machine(const std::string& name) const {
    for (const auto& m : machines)
        if (m.name == name)
            return &m;
    return nullptr;
}

Config default_config() {
    // The machines tools/setup builds: the two Linux test guests (the pool `batch` runs on out
    // of the box) and the Windows-platform test machine (vm-templates/wineguest), which takes
    // the PE samples.
    Config c;
    struct Builtin {
        const char* name;
        const char* platform;
        const char* ip;
        fakenet::Ipv4 address;
    };
    for (const Builtin& b : {Builtin{"testguest", "linux", "10.66.0.10", 0x0A42000Au},
                             Builtin{"testguest2", "linux", "10.66.0.11", 0x0A42000Bu},
                             Builtin{"wineguest", "windows", "10.66.0.20", 0x0A420014u}}) {
        Machine m;
        m.name = b.name;
        m.domain = "botscope-" + m.name;
        m.platform = b.platform;
        m.ip = b.ip;
        m.secret_file = "/var/lib/botscope/" + m.name + "/agent.secret";
        c.machines.push_back(m);
        c.fakenet.sandbox.guests.push_back(b.address);
    }
    return c;
}

util::Result<Config> read_config_file(const fs::path& path) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec)
        return config_error(path, "cannot read: " + ec.message());
    if (size > kMaxConfigBytes)
        return config_error(path, "larger than 1 MiB, not a configuration file");
    if (!std::ifstream(path))
        return config_error(path, "cannot read: permission denied");

    QSettings s(QString::fromStdString(path.string()), QSettings::IniFormat);
    if (s.status() != QSettings::NoError)
        return config_error(path, "not a valid INI file");

    Config c;
    c.source = path;
    c.machines.clear();
    const QStringList groups = s.childGroups();
    if (!s.childKeys().isEmpty())
        return config_error(path, "key '" + s.childKeys().first().toStdString() +
                                      "' outside a section (put it under [botscope])");

    std::vector<std::string> order;
    bool listed = false;
    if (groups.contains(kMainSection)) {
        s.beginGroup(kMainSection);
        for (const QString& qk : s.childKeys()) {
            std::string k = qk.toStdString(), v = text_value(s, qk);
            auto seconds = [&](std::chrono::seconds& out, std::int64_t hi) -> bool {
                auto n = parse_int(v, 1, hi);
                if (n)
                    out = std::chrono::seconds(*n);
                return n.has_value();
            };
            auto megabytes = [&](std::uint64_t& out) -> bool {
                auto n = parse_int(v, 1, 1 << 20);
                if (n)
                    out = static_cast<std::uint64_t>(*n) << 20;
                return n.has_value();
            };
            bool ok = true;
            if (k == "data_dir")
                ok = !(c.data_dir = v).empty();
            else if (k == "libvirt_uri")
                ok = !(c.libvirt_uri = v).empty();
            else if (k == "timeout")
                ok = seconds(c.timeout, 86'400);
            else if (k == "libvirt_timeout")
                ok = seconds(c.libvirt_timeout, 3'600);
            else if (k == "agent_timeout")
                ok = seconds(c.agent_timeout, 3'600);
            else if (k == "collect_timeout")
                ok = seconds(c.collect_timeout, 3'600);
            else if (k == "analysis_timeout")
                ok = seconds(c.analysis_timeout, 86'400);
            else if (k == "analysis_memory_mb")
                ok = megabytes(c.analysis_memory_bytes);
            else if (k == "capture_max_mb")
                ok = megabytes(c.capture_max_bytes);
            else if (k == "dropped_max_mb")
                ok = megabytes(c.dropped_max_bytes);
            else if (k == "signatures_dir")
                ok = !(c.signatures_dir = v).empty();
            else if (k == "rules_dir") {
                QString raw = QString::fromStdString(v);
                for (const QString& d : raw.split(',', Qt::SkipEmptyParts))
                    c.rules_dirs.emplace_back(d.trimmed().toStdString());
                ok = !c.rules_dirs.empty();
            } else if (k == "scan_timeout")
                ok = seconds(c.scan_timeout, 3'600);
            else if (k == "max_attempts") {
                auto n = parse_int(v, 1, 10);
                ok = n.has_value() && ((c.max_attempts = static_cast<int>(*n)), true);
            } else if (k == "destroy_after")
                ok = (v == "true" || v == "false") && ((c.destroy_after = v == "true"), true);
            else if (k == "machines") {
                listed = true;
                QString raw = QString::fromStdString(v);
                for (const QString& m : raw.split(',', Qt::SkipEmptyParts))
                    order.push_back(m.trimmed().toStdString());
            } else
                return config_error(path, "unknown key '" + k + "' in [botscope]");
            if (!ok)
                return config_error(path, "bad value '" + v + "' for " + k + " in [botscope]");
        }
        s.endGroup();
    }
    if (groups.contains(kFakenetSection)) {
        if (auto r = read_fakenet(s, path, c.fakenet); !r)
            return r.error();
    }
    if (groups.contains(kStoreSection)) {
        if (auto r = read_store(s, path, c.store); !r)
            return r.error();
    }
    if (!listed)
        for (const QString& g : groups)
            if (!reserved_section(g))
                order.push_back(g.toStdString());

    std::set<std::string> seen;
    for (const auto& name : order) {
        if (!valid_name(name))
            return config_error(path, "bad machine name '" + name +
                                          "' (letters, digits, '.', '_', '-'; at most 64)");
        if (!seen.insert(name).second)
            return config_error(path, "machine '" + name + "' listed twice");
        if (!groups.contains(QString::fromStdString(name)))
            return config_error(path, "machine '" + name + "' has no [" + name + "] section");
        Machine m;
        m.name = name;
        m.domain = name;
        s.beginGroup(QString::fromStdString(name));
        for (const QString& qk : s.childKeys()) {
            std::string k = qk.toStdString(), v = text_value(s, qk);
            bool ok = true;
            if (k == "domain")
                ok = !(m.domain = v).empty();
            else if (k == "snapshot")
                ok = !(m.snapshot = v).empty();
            else if (k == "platform")
                ok = (m.platform = v) == "linux" || v == "windows";
            else if (k == "ip")
                ok = valid_ip(m.ip = v);
            else if (k == "secret_file")
                ok = !(m.secret_file = v).empty();
            else if (k == "transport")
                ok = valid_transport(m.transport = v);
            else if (k == "channel")
                ok = !(m.channel = v).empty();
            else if (k == "interface")
                m.interface = v;
            else
                return config_error(path, "unknown key '" + k + "' in [" + name + "]");
            if (!ok)
                return config_error(path, "bad value '" + v + "' for " + k + " in [" + name + "]");
        }
        s.endGroup();
        if (m.ip.empty())
            return config_error(path, "[" + name + "] needs ip (the guest's address)");
        if (m.secret_file.empty())
            return config_error(path, "[" + name + "] needs secret_file (the agent's secret)");
        c.machines.push_back(std::move(m));
    }
    for (const QString& g : groups)
        if (!reserved_section(g) && !seen.count(g.toStdString()))
            return config_error(path, "section [" + g.toStdString() +
                                          "] is not in machines = (list it, or remove it)");
    if (c.machines.empty() && listed)
        return config_error(path, "machines = lists no machine");
    if (c.machines.empty())
        c.machines = default_config().machines;
    if (auto r = check_fakenet(path, c); !r)
        return r.error();
    return c;
}

util::Result<Config> load_config(const ConfigSources& sources) {
    std::optional<fs::path> file = sources.config_file;
    if (!file) {
        if (const char* env = std::getenv("BOTSCOPE_CONFIG"); env && *env)
            file = env;
    }
    if (!file) {
        const char* home = std::getenv("HOME");
        if (home && *home) {
            fs::path user = fs::path(home) / ".config/botscope/botscope.ini";
            std::error_code ec;
            if (fs::exists(user, ec))
                file = user;
        }
    }
    Config c = default_config();
    if (file) {
        auto r = read_config_file(*file);
        if (!r)
            return r.error();
        c = std::move(r.value());
    }
    if (sources.data_dir)
        c.data_dir = *sources.data_dir;
    else if (const char* env = std::getenv("BOTSCOPE_DATA"); env && *env)
        c.data_dir = env;
    return c;
}

std::string describe_source(const Config& config) {
    return config.source.empty() ? std::string("built-in defaults") : config.source.string();
}

}  // namespace botscope::tasks
