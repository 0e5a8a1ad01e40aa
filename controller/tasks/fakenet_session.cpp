#include "tasks/fakenet_session.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

#include "fakenet/control.h"
#include "fakenet/operator_script.h"

namespace botscope::tasks {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::uintmax_t kMaxScriptBytes = 64 * 1024;
/// fakenet answers a begin or an end at once; this only bounds a stuck instance.
constexpr auto kControlDeadline = 15s;

bool plain_name(const std::string& s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

}  // namespace

fakenet::FirewallSpec firewall_spec(const Config& c) {
    fakenet::FirewallSpec f;
    f.bridge = c.fakenet.bridge;
    f.sandbox = c.fakenet.sandbox;
    f.tcp_port = c.fakenet.tcp_port;
    f.udp_port = c.fakenet.udp_port;
    return f;
}

util::Result<std::optional<OperatorChoice>> choose_operator(
    const Config& config, const std::optional<std::string>& requested) {
    std::string want = requested.value_or(config.fakenet.operator_script);
    if (want.empty() || want == "none")
        return std::optional<OperatorChoice>{};
    OperatorChoice op;
    op.name = want;
    op.file =
        plain_name(want) ? config.signatures_dir / "operator" / (want + ".txt") : fs::path(want);
    std::error_code ec;
    auto size = fs::file_size(op.file, ec);
    if (ec)
        return util::Error{"operator", "operator script " + op.file.string() + ": " + ec.message() +
                                           (plain_name(want) ? " (`botscope operator list` "
                                                               "shows the scripts)"
                                                             : "")};
    if (size > kMaxScriptBytes)
        return util::Error{"operator", op.file.string() + " is larger than 64 KiB"};
    std::ifstream in(op.file, std::ios::binary);
    op.text.assign(std::istreambuf_iterator<char>(in), {});
    auto script = fakenet::parse_operator_script(op.text, op.file.filename().string(),
                                                 config.fakenet.sandbox);
    if (!script)
        return util::Error{"operator", script.error().message};
    op.steps = script->steps.size();
    return std::optional<OperatorChoice>(std::move(op));
}

util::Result<fakenet::Json> dns_overrides(const Config& config,
                                          const std::vector<std::string>& entries) {
    FakenetConfig f = config.fakenet;
    for (const auto& e : entries)
        if (auto r = parse_dns_overrides(e, f); !r)
            return util::Error{"dns", "--dns: " + r.error().message};
    fakenet::Json names = fakenet::Json::object();
    for (const auto& [name, ip] : f.dns_names) {
        if (!f.sandbox.contains(ip))
            return util::Error{"dns", "the DNS answer for " + name + " (" +
                                          fakenet::format_ipv4(ip) + ") is not an address of " +
                                          f.sandbox.subnet.to_string()};
        names[name] = fakenet::format_ipv4(ip);
    }
    return fakenet::Json{{"names", names}, {"nxdomain", f.dns_nxdomain}};
}

util::Result<util::Done> ensure_isolation(const Config& config) {
    if (!config.fakenet.firewall)
        return util::Done{};
    auto spec = firewall_spec(config);
    if (!fakenet::firewall_present(spec.bridge)) {
        if (auto r = fakenet::apply_firewall(spec); !r)
            return util::Error{"firewall", r.error().message};
        if (auto d = fakenet::ensure_decoys(spec); !d)
            return util::Error{"firewall", d.error().message};
        return util::Done{};
    }
    // The table is there: whoever made it made the decoys, maybe from a configuration with
    // other guests, whose addresses must not become decoys while those guests run. Only this
    // configuration's guests are taken out of them.
    if (auto d = fakenet::release_guest_decoys(spec); !d)
        return util::Error{"firewall", d.error().message};
    return util::Done{};
}

util::Result<util::Done> begin_fakenet(const Config& config, const std::string& task,
                                       const Machine& machine, const fs::path& dir,
                                       const std::optional<OperatorChoice>& op,
                                       const fakenet::Json& dns) {
    fakenet::Json req = {{"op", "begin"},
                         {"task", task},
                         {"guest", machine.ip},
                         {"dir", fs::absolute(dir).string()},
                         {"operator", op ? fakenet::Json{{"name", op->name}, {"text", op->text}}
                                         : fakenet::Json(nullptr)},
                         {"dns", dns}};
    auto r = fakenet::control_call(config.fakenet.control, req, kControlDeadline);
    if (!r)
        return util::Error{"fakenet", r.error().message};
    if (!r->value("ok", false))
        return util::Error{"fakenet", "fakenet refused the task: " +
                                          r->value("error", std::string("no reason given"))};
    return util::Done{};
}

util::Result<fakenet::Json> end_fakenet(const Config& config, const std::string& task,
                                        const Machine& machine) {
    auto r = fakenet::control_call(config.fakenet.control,
                                   {{"op", "end"}, {"task", task}, {"guest", machine.ip}},
                                   kControlDeadline);
    if (!r)
        return util::Error{"fakenet", r.error().message};
    fakenet::Json& answer = r.value();
    if (!answer.value("ok", false) || !answer.contains("fakenet") || !answer["fakenet"].is_object())
        return util::Error{"fakenet",
                           answer.value("error", std::string("fakenet sent no records"))};
    return std::move(answer["fakenet"]);
}

}  // namespace botscope::tasks
