// botscope batch, serve and status: the task queue worked through by the pool of VMs.

#include <fnmatch.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/fakenet_daemon.h"
#include "cli/options.h"
#include "cli/status_line.h"
#include "machinery/quarantine.h"
#include "report/network_json.h"
#include "tasks/machine_lock.h"
#include "tasks/pool.h"
#include "tasks/task_store.h"
#include "tasks/watch_folder.h"
#include "util/terminal_text.h"
#include "util/text.h"

namespace botscope::cli {

namespace {

namespace fs = std::filesystem;
using report::Json;
using tasks::TaskRecord;
using tasks::TaskState;

std::atomic<int> g_stop{0};

extern "C" void on_stop_signal(int) {
    g_stop.fetch_add(1);
}

/// First SIGINT/SIGTERM: take no new task, finish the running ones. Second: abort them (VMs
/// powered off, tasks queued again).
void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
}

std::string safe(const std::string& s) {
    return util::terminal_safe_lines(s);
}

std::vector<std::string> split_list(const std::string& v) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at <= v.size()) {
        auto comma = v.find(',', at);
        std::string item =
            v.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (!item.empty())
            out.push_back(item);
        if (comma == std::string::npos)
            break;
        at = comma + 1;
    }
    return out;
}

std::string duration_text(double s) {
    char buf[32];
    if (s < 90)
        std::snprintf(buf, sizeof buf, "%.0f s", s);
    else if (s < 5400)
        std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
    else
        std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
    return buf;
}

/// What a finished task's report says, for the summary table.
struct Verdict {
    std::string level = "-";
    int score = 0;
    std::string family;
};

Verdict read_verdict(const fs::path& data_dir, std::int64_t id) {
    Verdict v;
    std::ifstream in(data_dir / "tasks" / std::to_string(id) / "report.json");
    Json r = Json::parse(in, nullptr, false);
    if (!r.is_object() || !r.contains("verdict") || !r["verdict"].is_object())
        return v;
    const Json& vd = r["verdict"];
    v.level = vd.value("level", "-");
    if (vd.contains("score") && vd["score"].is_number())
        v.score = vd["score"].get<int>();
    if (vd.contains("family") && vd["family"].is_object())
        v.family = vd["family"].value("name", "");
    return v;
}

/// The progress line of a pool: done/total, what each VM does, failures, rate and ETA.
std::string progress_text(const tasks::PoolView& view, std::size_t done, std::size_t failed,
                          std::size_t total, double elapsed, std::size_t done_at_start) {
    std::string line = std::to_string(done) + "/" + std::to_string(total) + " done";
    if (failed)
        line += ", " + std::to_string(failed) + " failed";
    for (const auto& s : view.slots) {
        line += " | " + s.machine + ": ";
        if (s.stopped)
            line += "stopped";
        else if (s.task == 0)
            line += "idle";
        else if (s.total > 0 && s.stage == "run")
            line += "#" + std::to_string(s.task) + " run " +
                    std::to_string(static_cast<int>(s.elapsed)) + "/" +
                    std::to_string(static_cast<int>(s.total)) + " s";
        else
            line += "#" + std::to_string(s.task) + " " + s.stage;
    }
    if (view.analysing)
        line += " | analysing " + std::to_string(view.analysing);
    std::size_t here = done - std::min(done, done_at_start);
    if (here > 0 && elapsed > 0) {
        double per_hour = static_cast<double>(here) * 3600 / elapsed;
        char buf[48];
        std::snprintf(buf, sizeof buf, " | %.0f/h", per_hour);
        line += buf;
        if (done < total)
            line += ", ETA " + duration_text(static_cast<double>(total - done) * elapsed /
                                             static_cast<double>(here));
    }
    return line;
}

/// Starts fakenet when the configuration wants it, as submit does. Empty when fine.
std::string ensure_fakenet_for(const tasks::Config& config, bool quiet, const char* who) {
    if (!config.fakenet.enabled)
        return {};
    auto f = ensure_fakenet(config);
    if (!f)
        return f.error().message;
    if (f->started && !quiet)
        std::fprintf(stderr, "botscope %s: started fakenet (pid %lld)\n", who,
                     static_cast<long long>(f->status.value("pid", 0)));
    return {};
}

constexpr const char* kBatchHelp =
    "usage: botscope batch DIR [--recursive] [--pattern GLOB] [--timeout S]\n"
    "                      [--machines A,B] [--operator X] [--resume] [--force] [--json]\n"
    "                      [--quiet] [--config FILE] [--data-dir DIR]\n"
    "\n"
    "Queues every regular file in DIR (one task per distinct content: a sample queued or\n"
    "analysed before, under any name, is not run again) and runs the queue on the pool of\n"
    "analysis VMs, one task per VM at a time, until every task of DIR is reported or failed.\n"
    "Samples are copied into DATA/samples/<sha256> when queued. The queue is kept in\n"
    "DATA/tasks.db (or the [store] of the configuration): after a crash, running the same\n"
    "command again continues where it stopped; tasks a dead controller held are taken over.\n"
    "\n"
    "  --recursive       also the files in DIR's subfolders\n"
    "  --pattern GLOB    only the files whose name matches GLOB (fnmatch, e.g. '*.exe')\n"
    "  --timeout S       run time of each sample (default: the configuration's)\n"
    "  --machines A,B    use these machines (default: every configured machine)\n"
    "  --operator X      the IRC operator's script for these tasks\n"
    "  --resume          continue an interrupted batch (what a rerun does anyway)\n"
    "  --force           run samples again even when they were analysed before\n"
    "  --json            print the summary as JSON\n"
    "  --quiet           no progress display\n" CONFIG_OPTIONS_HELP
    "\n"
    "SIGINT/SIGTERM: no new task is started, running ones finish; a second signal stops them\n"
    "at once (their VMs powered off, the tasks queued again for the next run).\n"
    "\n"
    "exit codes: 0 every task reported, 2 usage, 3 DIR, configuration, operator script or\n"
    "            rules refused, 5 a task failed (the summary says which), 6 no machine can\n"
    "            run the tasks, 7 fakenet could not be started, 130 stopped by a signal\n";

struct Queued {
    std::map<std::int64_t, std::vector<std::string>> names;    ///< task -> the files it is
    std::vector<std::pair<std::string, std::string>> refused;  ///< file, why
    std::size_t existing = 0;
};

/// Regular files of `dir`, in name order; symbolic links are not followed (a link in a
/// honeypot folder could point anywhere on the host).
std::vector<fs::path> sample_files(const fs::path& dir, bool recursive, const std::string& pattern,
                                   std::string& error) {
    std::vector<fs::path> out;
    std::error_code ec;
    auto accept = [&](const fs::directory_entry& e) {
        if (!e.is_regular_file(ec) || e.is_symlink(ec))
            return;
        std::string name = e.path().filename().string();
        if (!pattern.empty() && ::fnmatch(pattern.c_str(), name.c_str(), 0) != 0)
            return;
        out.push_back(e.path());
    };
    if (recursive) {
        fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
        for (; !ec && it != end; it.increment(ec))
            accept(*it);
    } else {
        fs::directory_iterator it(dir, ec), end;
        for (; !ec && it != end; it.increment(ec))
            accept(*it);
    }
    if (ec)
        error = "cannot list " + dir.string() + ": " + ec.message();
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

int batch(int argc, char** argv) {
    tasks::ConfigSources sources;
    std::optional<std::string> dir;
    bool recursive = false, force = false, json = false, quiet = false;
    std::string pattern;
    std::vector<std::string> machines;
    tasks::TaskOptions options;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kBatchHelp, stdout);
            return kExitOk;
        }
        if (a == "--recursive") {
            recursive = true;
        } else if (a == "--resume") {
            // A rerun continues where the last one stopped: the flag says so, and does no more.
        } else if (a == "--force") {
            force = true;
        } else if (a == "--json") {
            json = true;
        } else if (a == "--quiet") {
            quiet = true;
        } else if (int used = parse_config_option(argc, argv, i, sources); used != 0) {
            if (used < 0)
                return kExitUsage;
        } else if (a == "--pattern" || a == "--timeout" || a == "--machines" || a == "--operator") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope batch: %s needs a value\n", argv[i]);
                return kExitUsage;
            }
            std::string v = argv[++i];
            if (a == "--pattern") {
                pattern = v;
            } else if (a == "--machines") {
                machines = split_list(v);
            } else if (a == "--operator") {
                options.operator_script = v;
            } else {
                auto s = parse_seconds(v);
                if (!s) {
                    std::fprintf(stderr, "botscope batch: --timeout: '%s' is not 1..86400 s\n",
                                 v.c_str());
                    return kExitUsage;
                }
                options.timeout = *s;
            }
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "botscope batch: unknown option %s\n\n%s", argv[i], kBatchHelp);
            return kExitUsage;
        } else if (dir) {
            std::fprintf(stderr, "botscope batch: one directory at a time\n");
            return kExitUsage;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        std::fprintf(stderr, "botscope batch: no directory given\n\n%s", kBatchHelp);
        return kExitUsage;
    }
    auto config = tasks::load_config(sources);
    if (!config) {
        std::fprintf(stderr, "botscope batch: %s\n", safe(config.error().message).c_str());
        return kExitInput;
    }
    tasks::SubmitRequest check;
    check.operator_script = options.operator_script;
    if (auto r = tasks::check_task_options(config.value(), check); !r) {
        std::fprintf(stderr, "botscope batch: %s\n", safe(r.error().message).c_str());
        return kExitInput;
    }
    struct stat st {};
    if (::stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        std::fprintf(stderr, "botscope batch: %s is not a directory\n", dir->c_str());
        return kExitInput;
    }
    std::string list_error;
    auto files = sample_files(*dir, recursive, pattern, list_error);
    if (!list_error.empty()) {
        std::fprintf(stderr, "botscope batch: %s\n", safe(list_error).c_str());
        return kExitInput;
    }
    auto store = tasks::TaskStore::open(config.value(), "batch");
    if (!store) {
        std::fprintf(stderr, "botscope batch: %s\n", safe(store.error().message).c_str());
        return kExitOutput;
    }

    Queued q;
    std::map<std::string, std::int64_t> queued_here;  // --force runs a sample again, once
    for (const auto& f : files) {
        auto s = tasks::store_sample(config->data_dir, f);
        if (!s) {
            q.refused.emplace_back(f.string(), s.error().message);
            continue;
        }
        if (auto same = queued_here.find(s->sha256); same != queued_here.end()) {
            q.names[same->second].push_back(f.string());
            continue;
        }
        if (auto why = tasks::platform_refusal(config.value(), machines, s->platform);
            !why.empty()) {
            q.refused.emplace_back(f.string(), why);
            continue;
        }
        tasks::TaskOptions file_options = options;
        if (!s->platform.empty())
            file_options.platform = s->platform;
        auto e = store->enqueue(s->sha256, fs::absolute(f).string(), file_options, 0, force);
        if (!e) {
            std::fprintf(stderr, "botscope batch: %s\n", safe(e.error().message).c_str());
            return kExitOutput;
        }
        q.existing += e->existing;
        q.names[e->id].push_back(f.string());
        queued_here[s->sha256] = e->id;
    }
    std::vector<std::int64_t> ids;
    for (const auto& [id, _] : q.names)
        ids.push_back(id);
    if (!quiet)
        std::fprintf(stderr,
                     "botscope batch: %zu file(s) in %s: %zu task(s), %zu of them queued "
                     "before%s\n",
                     files.size(), dir->c_str(), ids.size(), q.existing,
                     q.refused.empty()
                         ? ""
                         : (", " + std::to_string(q.refused.size()) + " refused").c_str());

    auto final_count = [&](std::size_t& failed) -> std::size_t {
        failed = 0;
        auto got = store->get_many(ids);
        if (!got)
            return 0;
        std::size_t done = 0;
        for (const auto& t : got.value()) {
            done += tasks::final_state(t.state);
            failed += t.state == TaskState::failed;
        }
        return done;
    };
    std::size_t failed = 0;
    const std::size_t done_at_start = final_count(failed);
    int code = kExitOk;
    if (done_at_start < ids.size()) {
        if (auto e = ensure_fakenet_for(config.value(), quiet, "batch"); !e.empty()) {
            std::fprintf(stderr, "botscope batch: %s\n", safe(e).c_str());
            return kExitFakenet;
        }
        install_stop_handlers();
        StatusLine status(!quiet);
        const auto start = std::chrono::steady_clock::now();
        std::set<std::int64_t> announced;
        tasks::PoolOptions po;
        po.machines = machines;
        po.stop = &g_stop;
        po.keep_going = [&] {
            std::size_t f = 0;
            return final_count(f) < ids.size();
        };
        po.own_pending = [&] { return ids; };
        po.note = [&](const std::string& line) {
            status.clear();
            std::fprintf(stderr, "botscope batch: %s\n", safe(line).c_str());
        };
        po.tick = [&](const tasks::PoolView& view) {
            std::size_t f = 0, done = final_count(f);
            double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (status.enabled()) {
                status.show(progress_text(view, done, f, ids.size(), elapsed, done_at_start));
            } else if (!quiet) {
                // Not a terminal: one line per task as it ends.
                auto got = store->get_many(ids);
                if (got)
                    for (const auto& t : got.value())
                        if (tasks::final_state(t.state) && announced.insert(t.id).second &&
                            t.finished_ms > 0)
                            std::fprintf(stderr, "botscope batch: task %lld %s (%zu/%zu)\n",
                                         static_cast<long long>(t.id), tasks::state_name(t.state),
                                         done, ids.size());
            }
        };
        auto r = tasks::run_pool(config.value(), po);
        status.clear();
        if (!r) {
            std::fprintf(stderr, "botscope batch: %s\n", safe(r.error().message).c_str());
            return r.error().code == "unknown_machine" ? kExitUnavailable : kExitOutput;
        }
        if (r->no_machine) {
            std::fprintf(stderr, "botscope batch: no machine can run the tasks:%s\n",
                         safe(r->why).c_str());
            code = kExitUnavailable;
        }
        if (g_stop.load() > 0 && code == kExitOk)
            code = 130;
    }

    // The summary: one row per task, with every file name it stands for.
    auto got = store->get_many(ids);
    if (!got) {
        std::fprintf(stderr, "botscope batch: %s\n", safe(got.error().message).c_str());
        return kExitOutput;
    }
    std::size_t reported = 0;
    failed = 0;
    Json rows = Json::array();
    for (const auto& t : got.value()) {
        // A failed task's verdict judges what little it saw: not worth a column.
        Verdict v =
            t.state == TaskState::reported ? read_verdict(config->data_dir, t.id) : Verdict{};
        reported += t.state == TaskState::reported;
        failed += t.state == TaskState::failed;
        rows.push_back(
            {{"id", t.id},
             {"state", tasks::state_name(t.state)},
             {"files", q.names[t.id]},
             {"sha256", t.sha256},
             {"machine", t.machine},
             {"attempts", t.attempts},
             {"verdict", v.level},
             {"score", v.score},
             {"family", v.family},
             {"stage", t.stage},
             {"error", t.error},
             {"timings", t.timings},
             {"report", t.state == TaskState::reported || t.state == TaskState::failed
                            ? (config->data_dir / "tasks" / t.id_text() / "report.json").string()
                            : std::string()}});
    }
    if (json) {
        Json refused = Json::array();
        for (const auto& [f, why] : q.refused)
            refused.push_back({{"file", f}, {"error", why}});
        std::fputs(report::dump(Json{{"tasks", rows},
                                     {"refused", refused},
                                     {"reported", reported},
                                     {"failed", failed}})
                       .c_str(),
                   stdout);
    } else {
        std::printf("%-7s %-9s %-11s %5s  %-10s %-12s %s\n", "task", "state", "verdict", "score",
                    "family", "machine", "file");
        for (const auto& r : rows) {
            std::string first = r["files"].empty() ? "" : r["files"][0].get<std::string>();
            std::string more = r["files"].size() > 1
                                   ? " (+" + std::to_string(r["files"].size() - 1) + " same)"
                                   : "";
            std::printf(
                "%-7lld %-9s %-11s %5d  %-10s %-12s %s%s\n",
                static_cast<long long>(r["id"].get<std::int64_t>()),
                r["state"].get<std::string>().c_str(), r["verdict"].get<std::string>().c_str(),
                r["score"].get<int>(), safe(r["family"].get<std::string>()).c_str(),
                safe(r["machine"].get<std::string>()).c_str(), safe(first).c_str(), more.c_str());
            if (r["state"] == "failed")
                std::printf("        failed at %s: %s\n", r["stage"].get<std::string>().c_str(),
                            safe(r["error"].get<std::string>()).c_str());
        }
        for (const auto& [f, why] : q.refused)
            std::printf("%-7s %-9s %s: %s\n", "-", "refused", safe(f).c_str(), safe(why).c_str());
        std::printf("%zu task(s): %zu reported, %zu failed, %zu not finished\n", rows.size(),
                    reported, failed, rows.size() - reported - failed);
    }
    if (code != kExitOk)
        return code;
    if (failed > 0)
        return kExitTask;
    if (reported < rows.size())
        return 130;
    return kExitOk;
}

namespace {

constexpr const char* kServeHelp =
    "usage: botscope serve [--watch DIR] [--pattern GLOB] [--settle S] [--machines A,B]\n"
    "                      [--quiet] [--config FILE] [--data-dir DIR]\n"
    "\n"
    "Works through the task queue (botscope submit --no-wait, batch, another host's queue)\n"
    "until SIGINT or SIGTERM. With --watch, each new file in DIR is queued once it is\n"
    "complete: no process holds it open for writing and its size has not changed for the\n"
    "settle time, as a honeypot stores what it catches.\n"
    "\n"
    "  --watch DIR       queue the files that appear in DIR\n"
    "  --pattern GLOB    only those whose name matches GLOB\n"
    "  --settle S        seconds a file must stay unchanged (default 2)\n"
    "  --machines A,B    use these machines (default: every configured machine)\n"
    "  --quiet           only errors\n" CONFIG_OPTIONS_HELP;

}  // namespace

int serve(int argc, char** argv) {
    tasks::ConfigSources sources;
    std::optional<std::string> watch;
    tasks::WatchOptions wo;
    std::vector<std::string> machines;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kServeHelp, stdout);
            return kExitOk;
        }
        if (a == "--quiet") {
            quiet = true;
        } else if (int used = parse_config_option(argc, argv, i, sources); used != 0) {
            if (used < 0)
                return kExitUsage;
        } else if (a == "--watch" || a == "--pattern" || a == "--settle" || a == "--machines") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope serve: %s needs a value\n", argv[i]);
                return kExitUsage;
            }
            std::string v = argv[++i];
            if (a == "--watch") {
                watch = v;
            } else if (a == "--pattern") {
                wo.pattern = v;
            } else if (a == "--machines") {
                machines = split_list(v);
            } else {
                auto s = parse_seconds(v);
                if (!s) {
                    std::fprintf(stderr, "botscope serve: --settle: '%s' is not 1..86400 s\n",
                                 v.c_str());
                    return kExitUsage;
                }
                wo.settle = *s;
            }
        } else {
            std::fprintf(stderr, "botscope serve: unknown argument %s\n\n%s", argv[i], kServeHelp);
            return kExitUsage;
        }
    }
    auto config = tasks::load_config(sources);
    if (!config) {
        std::fprintf(stderr, "botscope serve: %s\n", safe(config.error().message).c_str());
        return kExitInput;
    }
    if (auto r = tasks::check_task_options(config.value(), {}); !r) {
        std::fprintf(stderr, "botscope serve: %s\n", safe(r.error().message).c_str());
        return kExitInput;
    }
    if (watch) {
        struct stat st {};
        if (::stat(watch->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            std::fprintf(stderr, "botscope serve: --watch %s is not a directory\n", watch->c_str());
            return kExitInput;
        }
    }
    auto store = tasks::TaskStore::open(config.value(), "serve");
    if (!store) {
        std::fprintf(stderr, "botscope serve: %s\n", safe(store.error().message).c_str());
        return kExitOutput;
    }
    if (auto e = ensure_fakenet_for(config.value(), quiet, "serve"); !e.empty()) {
        std::fprintf(stderr, "botscope serve: %s\n", safe(e).c_str());
        return kExitFakenet;
    }
    install_stop_handlers();
    std::optional<tasks::FolderWatch> folder;
    if (watch)
        folder.emplace(*watch, wo);
    auto say = [&](const std::string& line) {
        if (!quiet)
            std::fprintf(stderr, "botscope serve: %s\n", safe(line).c_str());
    };
    say(std::string("working through ") + store->describe() +
        (watch ? ", watching " + *watch : std::string()));
    std::string last_watch_error;
    tasks::PoolOptions po;
    po.machines = machines;
    po.stop = &g_stop;
    po.keep_going = [] { return true; };
    po.note = say;
    po.tick = [&](const tasks::PoolView&) {
        if (!folder)
            return;
        for (const auto& f : folder->poll()) {
            auto s = tasks::store_sample(config->data_dir, f);
            if (!s) {
                say("not queued: " + s.error().message);
                continue;
            }
            if (auto why = tasks::platform_refusal(config.value(), machines, s->platform);
                !why.empty()) {
                say("not queued: " + f.string() + ": " + why);
                continue;
            }
            tasks::TaskOptions options;
            if (!s->platform.empty())
                options.platform = s->platform;
            auto e = store->enqueue(s->sha256, f.string(), options, 0, false);
            if (!e)
                say("not queued: " + f.string() + ": " + e.error().message);
            else if (e->existing)
                say(f.string() + " is task " + std::to_string(e->id) + ", queued before");
            else
                say("queued " + f.string() + " as task " + std::to_string(e->id));
        }
        if (folder->error() != last_watch_error) {
            last_watch_error = folder->error();
            if (!last_watch_error.empty())
                std::fprintf(stderr, "botscope serve: %s\n", safe(last_watch_error).c_str());
        }
    };
    auto r = tasks::run_pool(config.value(), po);
    if (!r) {
        std::fprintf(stderr, "botscope serve: %s\n", safe(r.error().message).c_str());
        return r.error().code == "unknown_machine" ? kExitUnavailable : kExitOutput;
    }
    if (r->no_machine) {
        std::fprintf(stderr, "botscope serve: no machine can run tasks:%s\n", safe(r->why).c_str());
        return kExitUnavailable;
    }
    say("stopped");
    return kExitOk;
}

namespace {

constexpr const char* kStatusHelp =
    "usage: botscope status [--json] [--config FILE] [--data-dir DIR]\n"
    "\n"
    "The task queue (how many tasks in each state, those running), the machines (free, busy\n"
    "or in quarantine) and the controllers working on the queue.\n";

std::string age_text(std::int64_t since_ms) {
    if (since_ms <= 0)
        return "-";
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return duration_text(static_cast<double>(now - since_ms) / 1000);
}

}  // namespace

int status(int argc, char** argv) {
    tasks::ConfigSources sources;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kStatusHelp, stdout);
            return kExitOk;
        }
        if (a == "--json") {
            json = true;
        } else if (int used = parse_config_option(argc, argv, i, sources); used != 0) {
            if (used < 0)
                return kExitUsage;
        } else {
            std::fprintf(stderr, "botscope status: unknown argument %s\n\n%s", argv[i],
                         kStatusHelp);
            return kExitUsage;
        }
    }
    auto config = tasks::load_config(sources);
    if (!config) {
        std::fprintf(stderr, "botscope status: %s\n", safe(config.error().message).c_str());
        return kExitInput;
    }
    auto store = tasks::TaskStore::open(config.value(), "status");
    if (!store) {
        std::fprintf(stderr, "botscope status: %s\n", safe(store.error().message).c_str());
        return kExitOutput;
    }
    auto counts = store->counts();
    auto active = store->list({TaskState::running, TaskState::analysing}, 1000);
    auto controllers = store->controllers();
    if (!counts || !active || !controllers) {
        std::string e = !counts   ? counts.error().message
                        : !active ? active.error().message
                                  : controllers.error().message;
        std::fprintf(stderr, "botscope status: %s\n", safe(e).c_str());
        return kExitOutput;
    }
    machinery::QuarantineStore health(config->data_dir / "machines");
    Json machines = Json::array();
    for (const auto& m : config->machines) {
        std::string state = "free", why;
        auto h = health.get(m.name);
        if (h && h->quarantined) {
            state = "quarantined";
            why = h->last_error;
        } else if (auto lock = tasks::MachineLock::try_lock(m); !lock) {
            state = lock.error().code == "busy" ? "busy" : "error";
            if (state == "error")
                why = lock.error().message;
        }
        machines.push_back(
            {{"name", m.name}, {"domain", m.domain}, {"state", state}, {"why", why}});
    }
    Json running = Json::array();
    for (const auto& t : active.value())
        running.push_back({{"id", t.id},
                           {"state", tasks::state_name(t.state)},
                           {"stage", t.stage},
                           {"machine", t.machine},
                           {"sample", t.sample_path},
                           {"attempts", t.attempts},
                           {"owner", t.owner},
                           {"started_ms", t.started_ms}});
    Json ctl = Json::array();
    for (const auto& c : controllers.value())
        ctl.push_back(
            {{"id", c.id}, {"host", c.host}, {"pid", c.pid}, {"heartbeat_ms", c.heartbeat_ms}});
    const auto& c = counts.value();
    if (json) {
        std::fputs(report::dump(Json{{"store", store->describe()},
                                     {"counts",
                                      {{"pending", c.pending},
                                       {"running", c.running},
                                       {"analysing", c.analysing},
                                       {"reported", c.reported},
                                       {"failed", c.failed}}},
                                     {"active", running},
                                     {"machines", machines},
                                     {"controllers", ctl}})
                       .c_str(),
                   stdout);
        return kExitOk;
    }
    std::printf(
        "queue (%s): %lld pending, %lld running, %lld analysing, %lld reported, %lld "
        "failed\n",
        store->describe().c_str(), static_cast<long long>(c.pending),
        static_cast<long long>(c.running), static_cast<long long>(c.analysing),
        static_cast<long long>(c.reported), static_cast<long long>(c.failed));
    for (const auto& t : active.value())
        std::printf("  task %lld  %-9s %-10s on %-12s for %s  %s\n", static_cast<long long>(t.id),
                    tasks::state_name(t.state), t.stage.c_str(), safe(t.machine).c_str(),
                    age_text(t.started_ms).c_str(), safe(t.sample_path).c_str());
    std::printf("machines:\n");
    for (const auto& m : machines)
        std::printf("  %-14s %-12s %s\n", safe(m["name"].get<std::string>()).c_str(),
                    m["state"].get<std::string>().c_str(),
                    safe(m["why"].get<std::string>()).c_str());
    std::printf("controllers: %zu\n", controllers->size());
    for (const auto& cr : controllers.value())
        std::printf("  %s (heartbeat %s ago)\n", safe(cr.id).c_str(),
                    age_text(cr.heartbeat_ms).c_str());
    return kExitOk;
}

}  // namespace botscope::cli
