#include "tasks/pool.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "machinery/quarantine.h"
#include "report/atomic_file.h"
#include "report/network_json.h"
#include "tasks/machine_lock.h"
#include "util/text.h"

namespace botscope::tasks {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using report::Json;

namespace {

constexpr auto kIdlePoll = std::chrono::milliseconds(500);
constexpr auto kRecoveryEvery = std::chrono::seconds(30);
/// A controller of another host is dead once its heartbeat is this old.
constexpr auto kStale = std::chrono::seconds(60);

struct Shared {
    std::mutex mu;
    PoolView view;
    std::vector<bool> exited;
    std::vector<std::string> platforms;  ///< each slot's machine's
    std::atomic<bool> quit{false};       ///< take no new task
    std::atomic<bool> abort{false};      ///< end the running ones now
    std::function<void(const std::string&)> note;

    void say(const std::string& line) {
        if (note)
            note(line);
    }
    template <typename F>
    void slot(std::size_t i, F&& f) {
        std::lock_guard lock(mu);
        f(view.slots[i]);
    }
};

/// Analyses that run beside the workers: one per worker at most, and those of recovery.
class AnalysisThreads {
public:
    ~AnalysisThreads() { join_all(); }
    void start(std::function<void()> fn, Shared& sh) {
        std::lock_guard lock(mu_);
        {
            std::lock_guard v(sh.mu);
            ++sh.view.analysing;
        }
        threads_.emplace_back([fn = std::move(fn), &sh] {
            fn();
            std::lock_guard v(sh.mu);
            --sh.view.analysing;
        });
    }
    void join_all() {
        std::vector<std::thread> ts;
        {
            std::lock_guard lock(mu_);
            ts.swap(threads_);
        }
        for (auto& t : ts)
            t.join();
    }

private:
    std::mutex mu_;
    std::vector<std::thread> threads_;
};

/// finish_task on a connection of its own, then the task's end on record.
void analyse(const Config& config, TaskRecord task, const std::string& owner,
             const Backends& backends, Shared& sh) {
    auto store = TaskStore::open(config, "analysis");
    if (!store) {
        sh.say("task " + task.id_text() + ": " + store.error().message +
               " (it stays analysing: the next start finishes it)");
        return;
    }
    TaskHooks hooks;
    hooks.record = [&](std::string_view stage) {
        (void)store->set_stage(task.id, owner, std::string(stage));
    };
    fs::path dir = config.data_dir / "tasks" / task.id_text();
    TaskOutcome out = finish_task(config, task, dir, hooks, backends);
    if (auto r = store->finish(task.id, owner, out.ok, out.failed_stage, out.error.message,
                               out.report["task"]["stages"]);
        !r)
        sh.say("task " + task.id_text() + ": " + r.error().message);
}

/// A task that will not run again: a report that says why, and its end on record.
void fail_without_run(const Config& config, TaskStore& store, const TaskRecord& task,
                      const std::string& owner, const std::string& code, const std::string& why,
                      const Backends& backends) {
    auto dir = make_task_dir(config.data_dir, task.id_text());
    if (dir) {
        const Machine* m = config.machine(task.machine);
        Json vm = {{"started", util::utc_now_iso8601()},
                   {"guest_name",
                    guest_sample_name(task.sample_path, m ? m->platform : std::string("linux"))},
                   {"timeout", task.options.timeout.value_or(config.timeout).count()},
                   {"machine",
                    {{"name", task.machine},
                     {"domain", m ? m->domain : task.machine},
                     {"snapshot", m ? m->snapshot : std::string("clean")},
                     {"platform", m ? m->platform : std::string("linux")},
                     {"ip", m ? m->ip : std::string()},
                     {"interface", ""}}},
                   {"stages", Json::object()},
                   {"guest", Json::object()},
                   {"capture", nullptr},
                   {"no_capture", why},
                   {"fakenet", {{"status", "error"}, {"error", why}}},
                   {"warnings", Json::array()},
                   {"failed", {{"stage", "run"}, {"code", code}, {"message", why}}},
                   {"quarantined", false}};
        (void)report::write_file_atomic((dir.value() / "vm.json").string(), report::dump(vm));
        (void)finish_task(config, task, dir.value(), {}, backends);
    }
    (void)store.finish(task.id, owner, false, "run", why);
}

/// Powers off the VM a dead controller left running, unless another task holds it now.
void power_off(const Config& config, const std::string& machine, const Backends& backends,
               Shared& sh) {
    const Machine* m = config.machine(machine);
    if (!m)
        return;  // another host's machine: that host's recovery powers it off
    auto lock = MachineLock::try_lock(*m);
    if (!lock)
        return;
    auto hv = backends.connect(config);
    if (!hv)
        return sh.say("cannot power off " + m->name + ": " + hv.error().message);
    auto st = hv.value()->state(m->domain);
    if (st && st->state == "running")
        if (auto r = hv.value()->destroy(m->domain); !r)
            sh.say("cannot power off " + m->name + ": " + r.error().message);
}

/// Takes over what dead controllers held: analyses go to `analyses`, runs back to the queue.
std::size_t recover(const Config& config, TaskStore& store, const std::string& owner,
                    const Backends& backends, Shared& sh, AnalysisThreads& analyses,
                    std::chrono::seconds stale) {
    auto orphans = store.orphans(stale);
    if (!orphans) {
        sh.say("recovery: " + orphans.error().message);
        return 0;
    }
    std::size_t taken = 0;
    for (auto& t : orphans.value()) {
        auto got = store.take_over(t.id, t.owner, owner);
        if (!got || !got.value())
            continue;
        ++taken;
        if (t.state == TaskState::analysing) {
            sh.say("task " + t.id_text() +
                   ": its controller stopped during the analysis; "
                   "analysing it again");
            analyses.start(
                [&config, t, owner, &backends, &sh] { analyse(config, t, owner, backends, sh); },
                sh);
            continue;
        }
        power_off(config, t.machine, backends, sh);
        if (auto a = set_aside_attempt(config.data_dir, t.id_text()); !a)
            sh.say("task " + t.id_text() + ": " + a.error().message);
        const std::string why = "interrupted: the controller running it on " + t.machine +
                                " stopped (attempt " + std::to_string(t.attempts) + ")";
        if (t.attempts >= config.max_attempts) {
            sh.say("task " + t.id_text() + ": " + why + "; no attempt left");
            fail_without_run(config, store, t, owner, "interrupted", why, backends);
            continue;
        }
        if (auto r = store.requeue(t.id, owner, "", config.max_attempts, why); !r)
            sh.say("task " + t.id_text() + ": " + r.error().message);
        else
            sh.say("task " + t.id_text() + ": " + why + "; queued again");
    }
    return taken;
}

/// Another worker of this pool, of the same platform, still takes tasks: a task that failed on
/// `slot`'s machine is left to it.
bool other_machine_left(Shared& sh, std::size_t slot) {
    std::lock_guard l(sh.mu);
    for (std::size_t i = 0; i < sh.view.slots.size(); ++i)
        if (i != slot && !sh.exited[i] && !sh.view.slots[i].stopped &&
            sh.platforms[i] == sh.platforms[slot])
            return true;
    return false;
}

void worker(const Config& config, const Machine& m, std::size_t slot, const std::string& owner,
            const Backends& backends, Shared& sh, AnalysisThreads& analyses) {
    auto done = [&](std::string why) {
        sh.slot(slot, [&](PoolView::Slot& s) {
            s.stopped = !why.empty();
            s.why = std::move(why);
            s.task = 0;
        });
        std::lock_guard lock(sh.mu);
        sh.exited[slot] = true;
    };
    auto store = TaskStore::open(config, "worker-" + m.name);
    if (!store)
        return done(store.error().message);
    machinery::QuarantineStore health(config.data_dir / "machines");
    // This worker's analysis in flight; shared with its thread, which may outlive the worker.
    std::shared_ptr<std::atomic<bool>> analysing;
    while (!sh.quit) {
        auto h = health.get(m.name);
        if (!h)
            return done(h.error().message);
        if (h->quarantined)
            return done("quarantined since " + h->since + " (" + h->last_error + ")");
        auto lock = MachineLock::try_lock(m);
        if (!lock) {
            if (lock.error().code != "busy")
                return done(lock.error().message);
            std::this_thread::sleep_for(kIdlePoll);  // another controller's task
            continue;
        }
        // One analysis in flight per worker: the host has as many cores as it has.
        while (analysing && analysing->load() && !sh.quit)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto claimed = store->claim(owner, m.name, m.platform, {}, other_machine_left(sh, slot));
        if (!claimed) {
            sh.say(m.name + ": " + claimed.error().message);
            std::this_thread::sleep_for(std::chrono::seconds(2));
            continue;
        }
        if (!claimed->has_value()) {
            lock->release();
            std::this_thread::sleep_for(kIdlePoll);
            continue;
        }
        TaskRecord task = std::move(*claimed.value());
        sh.slot(slot, [&](PoolView::Slot& s) {
            s.task = task.id;
            s.stage = "claimed";
            s.elapsed = s.total = 0;
        });
        auto dir = make_task_dir(config.data_dir, task.id_text());
        if (!dir) {
            (void)store->finish(task.id, owner, false, "prepare", dir.error().message);
            sh.say("task " + task.id_text() + ": " + dir.error().message);
            continue;
        }
        TaskHooks hooks;
        hooks.record = [&](std::string_view stage) {
            (void)store->set_stage(task.id, owner, std::string(stage));
            sh.slot(slot, [&](PoolView::Slot& s) { s.stage = stage; });
        };
        hooks.progress = [&](std::string_view stage, double e, double t) {
            if (t > 0)
                sh.slot(slot, [&](PoolView::Slot& s) {
                    s.stage = stage;
                    s.elapsed = e;
                    s.total = t;
                });
        };
        hooks.abort = &sh.abort;
        MachineRun run = run_on_machine(config, m, task, dir.value(), hooks, backends);
        lock->release();

        const bool other_machine = other_machine_left(sh, slot);
        if (run.aborted ||
            (run.machine_fault && other_machine && task.attempts < config.max_attempts)) {
            // Nothing of this attempt goes into the next one.
            if (auto a = set_aside_attempt(config.data_dir, task.id_text()); !a)
                sh.say("task " + task.id_text() + ": " + a.error().message);
            std::string why = run.aborted ? "stopped by a signal on " + m.name
                                          : m.name + " failed it at " + run.failed_stage + ": " +
                                                run.error.message;
            auto r = store->requeue(task.id, owner, run.aborted ? "" : m.name, config.max_attempts,
                                    why, run.aborted);
            if (!r)
                sh.say("task " + task.id_text() + ": " + r.error().message);
            else
                sh.say("task " + task.id_text() + ": " + why + "; queued again");
            sh.slot(slot, [](PoolView::Slot& s) { s.task = 0; });
            continue;
        }
        if (run.quarantined)
            sh.say(m.name + " is now in quarantine: " + run.failed_stage + ": " +
                   run.error.message + " (botscope vm release " + m.name + ")");
        if (auto r = store->to_analysing(task.id, owner); !r)
            sh.say("task " + task.id_text() + ": " + r.error().message);
        analysing = std::make_shared<std::atomic<bool>>(true);
        analyses.start(
            [&config, task, owner, &backends, &sh, flag = analysing] {
                analyse(config, task, owner, backends, sh);
                flag->store(false);
            },
            sh);
        sh.slot(slot, [](PoolView::Slot& s) { s.task = 0; });
    }
    done("");
}

}  // namespace

util::Result<PoolResult> run_pool(const Config& config, const PoolOptions& options) {
    std::vector<const Machine*> machines;
    if (options.machines.empty()) {
        for (const auto& m : config.machines)
            machines.push_back(&m);
    } else {
        for (const auto& name : options.machines) {
            const Machine* m = config.machine(name);
            if (!m) {
                std::string names;
                for (const auto& c : config.machines)
                    names += (names.empty() ? "" : ", ") + c.name;
                return util::Error{"unknown_machine", "no machine named " + name + " in " +
                                                          describe_source(config) +
                                                          " (machines: " + names + ")"};
            }
            machines.push_back(m);
        }
    }
    auto store = TaskStore::open(config, "pool");
    if (!store)
        return store.error();
    const std::string owner = new_controller_id();
    auto presence = ControllerPresence::start(config, owner);
    if (!presence)
        return presence.error();

    Shared sh;
    sh.note = options.note;
    for (const Machine* m : machines) {
        sh.view.slots.emplace_back().machine = m->name;
        sh.platforms.push_back(m->platform);
    }
    sh.exited.assign(machines.size(), false);
    std::set<std::string> platforms_failed;
    AnalysisThreads analyses;
    // Before any worker: what a dead controller of this host left is ours to finish.
    recover(config, store.value(), owner, options.backends, sh, analyses, kStale);

    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < machines.size(); ++i)
        workers.emplace_back(worker, std::cref(config), std::cref(*machines[i]), i,
                             std::cref(owner), std::cref(options.backends), std::ref(sh),
                             std::ref(analyses));

    PoolResult result;
    auto last_recovery = Clock::now(), last_tick = Clock::now();
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        int stop = options.stop ? options.stop->load() : 0;
        if (stop >= 1)
            sh.quit = true;
        if (stop >= 2)
            sh.abort = true;
        const auto now = Clock::now();
        if (!sh.quit && now - last_recovery >= kRecoveryEvery) {
            recover(config, store.value(), owner, options.backends, sh, analyses, kStale);
            last_recovery = now;
        }
        bool all_exited = true, all_stopped = true;
        std::map<std::string, bool> platform_stopped;
        PoolView view;
        {
            std::lock_guard lock(sh.mu);
            for (std::size_t i = 0; i < sh.exited.size(); ++i) {
                bool stopped = sh.exited[i] && sh.view.slots[i].stopped;
                all_exited &= sh.exited[i];
                all_stopped &= stopped;
                auto [it, _] = platform_stopped.emplace(sh.platforms[i], true);
                it->second = it->second && stopped;
            }
            view = sh.view;
        }
        // Every machine of one platform stopped while others go on: its samples wait in vain.
        for (const auto& [platform, stopped] : platform_stopped) {
            if (!stopped || all_stopped || sh.quit || !options.own_pending ||
                platforms_failed.count(platform))
                continue;
            platforms_failed.insert(platform);
            std::string why;
            for (std::size_t i = 0; i < view.slots.size(); ++i)
                if (sh.platforms[i] == platform)
                    why += "\n  " + view.slots[i].machine + ": " + view.slots[i].why;
            auto n = store->fail_pending(options.own_pending(),
                                         "no " + platform + " machine can run it:" + why, platform);
            if (n && n.value() > 0)
                sh.say(std::to_string(n.value()) + " task(s) failed: no " + platform +
                       " machine can run them");
        }
        if (all_stopped && !sh.quit) {
            result.no_machine = true;
            for (const auto& s : view.slots)
                result.why += "\n  " + s.machine + ": " + s.why;
            if (options.own_pending) {
                auto n = store->fail_pending(options.own_pending(),
                                             "no machine can run it:" + result.why);
                if (n && n.value() > 0)
                    sh.say(std::to_string(n.value()) +
                           " task(s) failed: no machine can run "
                           "them");
            }
            sh.quit = true;
        }
        if (options.tick && now - last_tick >= std::chrono::seconds(1)) {
            options.tick(view);
            last_tick = now;
        }
        if (!sh.quit && options.keep_going && !options.keep_going())
            sh.quit = true;
        if (sh.quit && all_exited && view.analysing == 0)
            break;
    }
    for (auto& w : workers)
        w.join();
    analyses.join_all();
    return result;
}

util::Result<std::size_t> recover_orphans(const Config& config, TaskStore& store,
                                          const std::string& owner,
                                          const std::function<void(const std::string&)>& note,
                                          const Backends& backends, std::chrono::seconds stale) {
    Shared sh;
    sh.note = note;
    AnalysisThreads analyses;
    std::size_t n = recover(config, store, owner, backends, sh, analyses, stale);
    analyses.join_all();
    return n;
}

}  // namespace botscope::tasks
