// botscope vm list | check NAME | release NAME: the analysis machines as libvirt and the
// quarantine see them.

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/options.h"
#include "machinery/machinery.h"
#include "machinery/quarantine.h"
#include "report/json_common.h"
#include "tasks/agent_session.h"
#include "tasks/machine_lock.h"
#include "util/terminal_text.h"

namespace botscope::cli {

namespace {

using report::Json;
using Clock = std::chrono::steady_clock;

constexpr const char* kHelp =
    "usage: botscope vm list [--json]\n"
    "       botscope vm check NAME [--json]\n"
    "       botscope vm release NAME\n"
    "\n"
    "  list      the configured machines: libvirt state, snapshot, health (a machine that\n"
    "            failed twice in a row is quarantined and takes no task), busy or not\n"
    "  check     reverts NAME to its snapshot and waits for its agent: what a task does\n"
    "            before the sample runs, step by step with timings; changes no health record\n"
    "  release   takes NAME out of quarantine (after you fixed what the last error says)\n"
    "\n"
    "  --json    print JSON (list, check)\n" CONFIG_OPTIONS_HELP
    "\n"
    "exit codes: 0 ok, 2 usage, 3 configuration unreadable, 5 the check failed,\n"
    "            6 the machine is running a task\n";

// JSON for a terminal as much as for a program: every non-ASCII character as \uXXXX, so that
// the C1 controls a guest can put in its strings are not printed raw either.
std::string dump_ascii(const Json& j) {
    return j.dump(2, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace) + "\n";
}

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

Json health_json(const util::Result<machinery::MachineHealth>& h) {
    if (!h)
        return {{"error", h.error().message}};
    return {{"quarantined", h->quarantined},
            {"consecutive_failures", h->consecutive_failures},
            {"last_error", h->last_error.empty() ? Json(nullptr) : Json(h->last_error)},
            {"since", h->since.empty() ? Json(nullptr) : Json(h->since)}};
}

int list(const tasks::Config& config, bool json) {
    machinery::Options mo;
    mo.call_timeout = config.libvirt_timeout;
    auto hv = machinery::Hypervisor::connect(config.libvirt_uri, mo);
    machinery::QuarantineStore store(config.data_dir / "machines");
    Json out = Json::array();
    for (const auto& m : config.machines) {
        Json j = {{"name", m.name}, {"domain", m.domain}, {"snapshot", m.snapshot}};
        if (!hv) {
            j["state"] = nullptr;
            j["libvirt_error"] = hv.error().message;
        } else if (auto s = hv->state(m.domain); !s) {
            j["state"] = nullptr;
            j["libvirt_error"] = s.error().message;
        } else {
            j["state"] = s->state;
            j["reason"] = s->reason;
            auto snap = hv->snapshot(m.domain, m.snapshot);
            j["snapshot_present"] = snap.ok();
            j["snapshot_running_state"] = snap.ok() && snap->running_state;
        }
        j["health"] = health_json(store.get(m.name));
        auto lock = tasks::MachineLock::try_lock(m);
        j["busy"] = !lock && lock.error().code == "busy";
        if (!lock && !j["busy"].get<bool>())
            j["lock_error"] = lock.error().message;
        out.push_back(std::move(j));
    }
    if (json) {
        std::fputs(dump_ascii(out).c_str(), stdout);
        return kExitOk;
    }
    // The health record is a file anyone with the data directory can edit, and its last error
    // quotes the guest: every string from it, and from libvirt, is printed escaped.
    auto safe = [](const std::string& s) { return util::terminal_safe(s); };
    std::printf("%-14s %-22s %-10s %-18s %s\n", "NAME", "DOMAIN", "STATE", "SNAPSHOT", "HEALTH");
    for (const auto& j : out) {
        std::string state = j["state"].is_string() ? j["state"].get<std::string>() : "?";
        std::string snap = j["snapshot"].get<std::string>();
        if (j.contains("snapshot_present"))
            snap += !j["snapshot_present"].get<bool>()        ? " (missing)"
                    : j["snapshot_running_state"].get<bool>() ? ""
                                                              : " (shut off)";
        const Json& h = j["health"];
        std::string health = h.contains("error") ? "? " + safe(h["error"].get<std::string>())
                             : h["quarantined"].get<bool>()
                                 ? "QUARANTINED since " + safe(h["since"].get<std::string>()) +
                                       ": " + safe(h["last_error"].get<std::string>())
                             : h["consecutive_failures"].get<int>() > 0
                                 ? "ok (" + std::to_string(h["consecutive_failures"].get<int>()) +
                                       " failure: " + safe(h["last_error"].get<std::string>()) + ")"
                                 : "ok";
        if (j["busy"].get<bool>())
            health += ", busy";
        if (j.contains("lock_error"))
            health += ", lock: " + safe(j["lock_error"].get<std::string>());
        std::printf("%-14s %-22s %-10s %-18s %s\n", safe(j["name"].get<std::string>()).c_str(),
                    safe(j["domain"].get<std::string>()).c_str(), safe(state).c_str(),
                    safe(snap).c_str(), health.c_str());
    }
    if (!hv)
        std::fprintf(stderr, "botscope vm list: %s\n", safe(hv.error().message).c_str());
    return kExitOk;
}

int check(const tasks::Config& config, const tasks::Machine& m, bool json) {
    auto lock = tasks::MachineLock::try_lock(m);
    if (!lock) {
        std::fprintf(stderr, "botscope vm check: %s\n",
                     util::terminal_safe(lock.error().message).c_str());
        return lock.error().code == "busy" ? kExitUnavailable : kExitOutput;
    }
    Json steps = Json::array();
    bool ok = true;
    auto step = [&](const char* name, Clock::time_point t, const util::Error* e,
                    std::string detail) {
        steps.push_back({{"step", name},
                         {"ok", e == nullptr},
                         {"seconds", since(t)},
                         {"detail", e ? e->message : detail}});
        // The agent's hello (os, hostname, version) and its errors come from the guest.
        if (!json)
            std::printf("%-5s %-9s %5.2f s  %s\n", e ? "FAIL" : "ok", name, since(t),
                        util::terminal_safe(e ? e->message : detail).c_str());
        ok = ok && e == nullptr;
    };

    machinery::Options mo;
    mo.call_timeout = config.libvirt_timeout;
    auto t = Clock::now();
    auto hv = machinery::Hypervisor::connect(config.libvirt_uri, mo);
    step("libvirt", t, hv ? nullptr : &hv.error(), config.libvirt_uri);
    if (hv) {
        t = Clock::now();
        auto snap = hv->snapshot(m.domain, m.snapshot);
        step("snapshot", t, snap ? nullptr : &snap.error(),
             snap ? m.domain + " / " + m.snapshot +
                        (snap->running_state ? " (running state)" : " (shut off: boots)")
                  : "");
        if (snap) {
            t = Clock::now();
            auto r = hv->revert(m.domain, m.snapshot);
            step("revert", t, r ? nullptr : &r.error(), "running");
            if (r) {
                t = Clock::now();
                auto d = hv->live_devices(m.domain, m.channel);
                step("devices", t, d ? nullptr : &d.error(),
                     d ? "tap " + d->tap + ", agent socket " + d->agent_socket : "");
                if (d) {
                    t = Clock::now();
                    auto secret = tasks::read_secret(m);
                    auto c = secret ? tasks::connect_agent(m, d->agent_socket, secret.value(),
                                                           config.agent_timeout)
                                    : util::Result<agent::Client>(secret.error());
                    util::Result<agent::Hello> h = c ? c->hello() : c.error();
                    step("agent", t, h ? nullptr : &h.error(),
                         h ? h->os + " " + h->hostname + ", agent " + h->agent_version : "");
                }
            }
            if (config.destroy_after) {
                t = Clock::now();
                auto dr = hv->destroy(m.domain);
                step("poweroff", t, dr ? nullptr : &dr.error(), "destroy_after = true");
            }
        }
    }
    if (json)
        std::fputs(dump_ascii(Json{{"machine", m.name}, {"ok", ok}, {"steps", steps}}).c_str(),
                   stdout);
    return ok ? kExitOk : kExitTask;
}

int release(const tasks::Config& config, const tasks::Machine& m) {
    machinery::QuarantineStore store(config.data_dir / "machines");
    auto before = store.get(m.name);
    if (auto r = store.release(m.name); !r) {
        std::fprintf(stderr, "botscope vm release: %s\n",
                     util::terminal_safe(r.error().message).c_str());
        return kExitOutput;
    }
    if (before && before->quarantined)
        std::printf("%s released from quarantine (since %s: %s)\n", m.name.c_str(),
                    util::terminal_safe(before->since).c_str(),
                    util::terminal_safe(before->last_error).c_str());
    else
        std::printf("%s was not in quarantine; its failure count is reset\n", m.name.c_str());
    return kExitOk;
}

}  // namespace

int vm(int argc, char** argv) {
    tasks::ConfigSources sources;
    bool json = false;
    std::vector<std::string> words;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kHelp, stdout);
            return kExitOk;
        }
        if (a == "--json") {
            json = true;
        } else if (int used = parse_config_option(argc, argv, i, sources); used != 0) {
            if (used < 0)
                return kExitUsage;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "botscope vm: unknown option %s\n\n%s", argv[i], kHelp);
            return kExitUsage;
        } else {
            words.emplace_back(a);
        }
    }
    if (words.empty() || (words[0] == "list" && words.size() != 1) ||
        ((words[0] == "check" || words[0] == "release") && words.size() != 2)) {
        std::fputs(kHelp, stderr);
        return kExitUsage;
    }
    auto config = tasks::load_config(sources);
    if (!config) {
        std::fprintf(stderr, "botscope vm: %s\n",
                     util::terminal_safe_lines(config.error().message).c_str());
        return kExitInput;
    }
    if (words[0] == "list")
        return list(config.value(), json);
    if (words[0] != "check" && words[0] != "release") {
        std::fprintf(stderr, "botscope vm: unknown subcommand '%s'\n\n%s", words[0].c_str(), kHelp);
        return kExitUsage;
    }
    const tasks::Machine* m = config->machine(words[1]);
    if (!m) {
        std::fprintf(stderr, "botscope vm: no machine named %s in %s\n", words[1].c_str(),
                     tasks::describe_source(config.value()).c_str());
        return kExitUsage;
    }
    return words[0] == "check" ? check(config.value(), *m, json) : release(config.value(), *m);
}

}  // namespace botscope::cli
