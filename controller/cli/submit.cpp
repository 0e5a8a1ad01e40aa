// botscope submit: one sample through a VM, one report.

#include <cstdio>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/fakenet_daemon.h"
#include "cli/options.h"
#include "cli/status_line.h"
#include "report/network_json.h"
#include "report/summary.h"
#include "tasks/task_runner.h"
#include "tasks/task_store.h"
#include "util/terminal_text.h"

namespace botscope::cli {

namespace {

constexpr const char* kHelp =
    "usage: botscope submit SAMPLE [--timeout S] [--machine NAME] [--operator NAME|FILE|none]\n"
    "                       [--dns NAME=ADDR|NAME=nxdomain]... [--no-wait] [--json] [--quiet]\n"
    "                       [--config FILE] [--data-dir DIR]\n"
    "\n"
    "Runs SAMPLE in an analysis VM: reverts the VM to its clean snapshot, captures its\n"
    "traffic, has the guest agent run the sample for the run time, collects the processes,\n"
    "dropped files, listening sockets and autostart entries, analyses the capture, and writes\n"
    "DATA/tasks/<id>/report.json (with dump.pcap and files/ beside it). Meanwhile fakenet\n"
    "answers everything the sample sends (it is started when it is not running), and its IRC\n"
    "server plays the botmaster with an operator script (signatures/operator).\n"
    "\n"
    "  --timeout S       run time in seconds (default: timeout in the configuration, 30)\n"
    "  --machine NAME    use this machine (default: the first free one not in quarantine)\n"
    "  --operator X      the IRC operator's script: a name in signatures/operator, a file,\n"
    "                    or none (default: operator in [fakenet], `default`)\n"
    "  --dns NAME=ADDR   answer NAME with ADDR (a sandbox address) for this task; NAME=nxdomain\n"
    "                    plays a dead C&C; repeatable\n"
    "  --no-wait         only queue the task (DATA/tasks.db) for `botscope serve` and print\n"
    "                    its id\n"
    "  --json            print the report instead of the summary\n"
    "  --quiet           no progress display\n" CONFIG_OPTIONS_HELP
    "\n"
    "exit codes: 0 analysed, 2 usage, 3 sample, configuration, operator script or --dns\n"
    "            refused, 5 the task failed (the report says at which stage and why),\n"
    "            6 no machine can take the task (quarantined, busy or unknown),\n"
    "            7 fakenet is not running and could not be started\n";

/// --no-wait: checked as a task would be, stored, queued; `serve` runs it.
int queue_only(const tasks::Config& config, const tasks::SubmitRequest& request, bool json) {
    auto fail = [](const util::Error& e) {
        std::fprintf(stderr, "botscope submit: %s\n", util::terminal_safe_lines(e.message).c_str());
        if (e.code == "unknown_machine" || e.code == "no_machine")
            return kExitUnavailable;
        return e.code == "data_dir" || e.code == "store" ? kExitOutput : kExitInput;
    };
    if (request.machine && !config.machine(*request.machine))
        return fail({"unknown_machine", "no machine named " + *request.machine + " in " +
                                            tasks::describe_source(config)});
    if (auto r = tasks::check_task_options(config, request); !r)
        return fail(r.error());
    auto stored = tasks::store_sample(config.data_dir, request.sample);
    if (!stored)
        return fail(stored.error());
    auto store = tasks::TaskStore::open(config, "submit");
    if (!store)
        return fail(store.error());
    if (auto why = tasks::platform_refusal(
            config, request.machine ? std::vector{*request.machine} : std::vector<std::string>{},
            stored->platform);
        !why.empty())
        return fail(util::Error{"no_machine", why});
    tasks::TaskOptions options;
    options.timeout = request.timeout;
    options.machine = request.machine;
    options.operator_script = request.operator_script;
    options.dns = request.dns;
    if (!stored->platform.empty())
        options.platform = stored->platform;
    auto q = store->enqueue(stored->sha256, std::filesystem::absolute(request.sample).string(),
                            options, 0, true);
    if (!q)
        return fail(q.error());
    if (json)
        std::printf("{\"id\":%lld,\"state\":\"pending\",\"sha256\":\"%s\"}\n",
                    static_cast<long long>(q->id), stored->sha256.c_str());
    else
        std::printf("queued task %lld (%s); botscope serve runs it\n",
                    static_cast<long long>(q->id), stored->sha256.c_str());
    return kExitOk;
}

}  // namespace

int submit(int argc, char** argv) {
    tasks::SubmitRequest request;
    tasks::ConfigSources sources;
    bool json = false, quiet = false, no_wait = false;
    std::optional<std::string> sample;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kHelp, stdout);
            return kExitOk;
        }
        if (a == "--json") {
            json = true;
        } else if (a == "--no-wait") {
            no_wait = true;
        } else if (a == "--quiet") {
            quiet = true;
        } else if (int used = parse_config_option(argc, argv, i, sources); used != 0) {
            if (used < 0)
                return kExitUsage;
        } else if (a == "--timeout" || a == "--machine" || a == "--operator" || a == "--dns") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope submit: %s needs a value\n", argv[i]);
                return kExitUsage;
            }
            std::string v = argv[++i];
            if (a == "--machine") {
                request.machine = v;
            } else if (a == "--operator") {
                request.operator_script = v;
            } else if (a == "--dns") {
                request.dns.push_back(v);
            } else {
                auto s = parse_seconds(v);
                if (!s) {
                    std::fprintf(stderr,
                                 "botscope submit: --timeout: '%s' is not 1..86400 seconds\n",
                                 v.c_str());
                    return kExitUsage;
                }
                request.timeout = *s;
            }
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "botscope submit: unknown option %s\n\n%s", argv[i], kHelp);
            return kExitUsage;
        } else if (sample) {
            std::fprintf(stderr, "botscope submit: one sample at a time (got %s and %s)\n",
                         sample->c_str(), argv[i]);
            return kExitUsage;
        } else {
            sample = argv[i];
        }
    }
    if (!sample) {
        std::fprintf(stderr, "botscope submit: no sample given\n\n%s", kHelp);
        return kExitUsage;
    }
    request.sample = *sample;

    auto config = tasks::load_config(sources);
    if (!config) {
        std::fprintf(stderr, "botscope submit: %s\n",
                     util::terminal_safe_lines(config.error().message).c_str());
        return kExitInput;
    }
    if (no_wait)
        return queue_only(config.value(), request, json);
    if (config->fakenet.enabled) {
        auto f = ensure_fakenet(config.value());
        if (!f) {
            std::fprintf(stderr, "botscope submit: %s\n",
                         util::terminal_safe_lines(f.error().message).c_str());
            return kExitFakenet;
        }
        if (f->started && !quiet)
            std::fprintf(stderr,
                         "botscope submit: started fakenet (pid %lld; botscope fakenet "
                         "status)\n",
                         static_cast<long long>(f->status.value("pid", 0)));
    }
    // "revert...", "inject...", "run 12/30 s" on one terminal line.
    StatusLine status(!quiet && !json);
    auto outcome = tasks::run_task(
        config.value(), request, [&status](std::string_view stage, double e, double t) {
            char buf[64];
            if (t > 0)
                std::snprintf(buf, sizeof buf, "%.*s %.0f/%.0f s", static_cast<int>(stage.size()),
                              stage.data(), e, t);
            else
                std::snprintf(buf, sizeof buf, "%.*s...", static_cast<int>(stage.size()),
                              stage.data());
            status.show(buf);
        });
    status.clear();
    // Errors can quote the guest (its agent's answers, a stored quarantine reason): every
    // message goes out escaped.
    if (!outcome) {
        const auto& e = outcome.error();
        std::fprintf(stderr, "botscope submit: %s\n", util::terminal_safe_lines(e.message).c_str());
        if (e.code == "sample" || e.code == "operator" || e.code == "dns")
            return kExitInput;
        if (e.code == "no_machine" || e.code == "unknown_machine")
            return kExitUnavailable;
        return kExitOutput;  // data_dir
    }
    const auto& o = outcome.value();
    std::string report_path = (o.dir / "report.json").string();
    if (json)
        std::fputs(report::dump(o.report).c_str(), stdout);
    else
        std::fputs(report::task_summary(report_path, o.report).c_str(), stdout);
    if (!o.ok) {
        std::string q = o.quarantined ? "\nmachine " + o.machine +
                                            " is now in quarantine (botscope vm list; "
                                            "botscope vm release " +
                                            o.machine + ")"
                                      : "";
        std::fprintf(stderr, "botscope submit: task %s failed at %s: %s%s\n", o.id.c_str(),
                     o.failed_stage.c_str(), util::terminal_safe_lines(o.error.message).c_str(),
                     q.c_str());
        return kExitTask;
    }
    return kExitOk;
}

}  // namespace botscope::cli
