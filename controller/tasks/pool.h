#pragma once
// The pool: the configured VMs working through the task queue (tasks/task_store.h), one task
// per VM at a time. Each VM has a worker thread that claims a task, runs its VM half
// (run_on_machine) and hands the rest (finish_task: the analysis in its child process, the
// signatures, the report) to a thread of its own, so that the analysis of one task overlaps the
// run of the next on the same VM. A worker keeps at most one analysis in flight.
//
// A machine that fails a task before its sample ran is counted towards its quarantine and the
// task goes back to the queue for another machine (once: Config::max_attempts). A quarantined
// machine's worker stops; with no worker left, the tasks still waiting fail with the reason.
//
// Recovery, when the pool starts and every 30 s: tasks held by a controller that died are
// taken over. Those it was analysing are analysed again from their folder; those it was
// running on a VM are queued again (up to max_attempts), their folder set aside (an interrupted
// capture is never mixed into the next attempt) and their VM powered off.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tasks/config.h"
#include "tasks/task_runner.h"
#include "tasks/task_store.h"

namespace botscope::tasks {

/// What the pool is doing, for a progress display.
struct PoolView {
    struct Slot {
        std::string machine;
        std::int64_t task = 0;  ///< 0: idle
        std::string stage;
        double elapsed = 0, total = 0;  ///< during the run stage
        bool stopped = false;           ///< quarantined, or no longer usable
        std::string why;
    };
    std::vector<Slot> slots;
    std::size_t analysing = 0;
};

struct PoolOptions {
    /// Machine names; empty: every configured machine.
    std::vector<std::string> machines;
    /// Asked once a second: false ends the pool once its running tasks are done (a batch whose
    /// tasks are all final; serve after a signal).
    std::function<bool()> keep_going;
    /// 1: take no new task (the first SIGINT/SIGTERM); 2: abort the running ones (the second).
    const std::atomic<int>* stop = nullptr;
    /// Called once a second on the calling thread (progress display, a watched folder).
    std::function<void(const PoolView&)> tick;
    /// Lines for people (a machine quarantined, a task re-queued, a recovery).
    std::function<void(const std::string&)> note;
    /// Tasks this pool may fail when no machine is left to run them: a batch's.
    std::function<std::vector<std::int64_t>()> own_pending;
    Backends backends = real_backends();
};

struct PoolResult {
    bool no_machine = false;  ///< every machine was unusable (the reasons went to note)
    std::string why;
};

/// Runs the pool on the calling thread until keep_going says no or a stop. Error: the store
/// cannot be opened, or no configured machine matches `machines`.
util::Result<PoolResult> run_pool(const Config& config, const PoolOptions& options);

/// Recovery alone (status and tests): what run_pool does when it starts. Returns the number of
/// tasks taken over. Analyses of tasks a dead controller held are run here, on this thread.
util::Result<std::size_t> recover_orphans(const Config& config, TaskStore& store,
                                          const std::string& owner,
                                          const std::function<void(const std::string&)>& note,
                                          const Backends& backends, std::chrono::seconds stale);

}  // namespace botscope::tasks
