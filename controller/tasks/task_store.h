#pragma once
// The task queue: every task botscope runs, from the moment it is queued to its report, in a
// database through Qt Sql. SQLite (QSQLITE, WAL) in the data directory by default; PostgreSQL
// (QPSQL) when several hosts, each with its own VMs, share one queue and write their reports to
// one shared directory. The SQL is the subset both speak (ON CONFLICT, RETURNING); a claim is
// one UPDATE, which PostgreSQL makes skip rows another host holds (FOR UPDATE SKIP LOCKED) and
// SQLite serialises with its write lock.
//
// States: pending -> running -> analysing -> reported, or failed (with the stage and why).
// `running` covers everything on the VM; `analysing` starts once what the VM produced is on
// disk (vm.json and dump.pcap in the task's folder), so a controller that dies during the
// analysis leaves a task the next one can finish without the VM.
//
// Each controller registers itself (host, pid, heartbeat). Tasks it held when it died (a
// kill -9, a power cut) are found by the next controller of that host (the pid is gone) or by
// any controller once the heartbeat is stale.
//
// A TaskStore is one database connection: use it from one thread (Qt Sql's rule); open one per
// thread. Error code: store.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "report/json_common.h"
#include "tasks/config.h"
#include "util/result.h"

namespace botscope::tasks {

enum class TaskState { pending, running, analysing, reported, failed };

const char* state_name(TaskState s);
std::optional<TaskState> parse_state(std::string_view s);
inline bool final_state(TaskState s) {
    return s == TaskState::reported || s == TaskState::failed;
}

/// What a task asks for beyond its sample (SubmitRequest without the sample), as JSON in the
/// store: {"timeout":S,"machine":NAME,"operator":X,"dns":[...]}, every key optional.
struct TaskOptions {
    std::optional<std::chrono::seconds> timeout;
    std::optional<std::string> machine;
    std::optional<std::string> operator_script;
    std::vector<std::string> dns;
    /// The platform the sample needs ("windows" for a PE file, "linux" for ELF and scripts;
    /// unset: any), found when it is queued; only a machine of that platform claims it.
    std::optional<std::string> platform;

    report::Json to_json() const;
    static TaskOptions from_json(const report::Json& j);
};

struct TaskRecord {
    std::int64_t id = 0;
    std::string sha256;
    std::string sample_path;  ///< the path it was queued from (the bytes are in samples/)
    TaskOptions options;
    int priority = 0;
    TaskState state = TaskState::pending;
    int attempts = 0;      ///< runs started on a VM
    std::string machine;   ///< where it runs or ran
    std::string avoid;     ///< a machine that failed it: another one takes the retry
    std::string owner;     ///< the controller holding it
    std::string stage;     ///< the stage it is in, or failed at
    std::string error;     ///< why it failed
    report::Json timings;  ///< seconds per stage once it ended; null before
    std::int64_t queued_ms = 0, started_ms = 0, finished_ms = 0;  ///< Unix time, ms; 0 unset

    std::string id_text() const { return std::to_string(id); }
};

struct Enqueued {
    std::int64_t id = 0;
    bool existing = false;  ///< the sample was already queued or analysed: that task
    TaskState state = TaskState::pending;
};

struct QueueCounts {
    std::int64_t pending = 0, running = 0, analysing = 0, reported = 0, failed = 0;
};

/// A controller's row: who holds tasks.
struct ControllerRow {
    std::string id, host;
    std::int64_t pid = 0, started_ms = 0, heartbeat_ms = 0;
};

class TaskStore {
public:
    /// Opens the configured store ([store] in botscope.ini), creating its tables. `name` tells
    /// this connection apart from the others of the process (one per thread).
    static util::Result<TaskStore> open(const Config& config, const std::string& name);
    TaskStore(TaskStore&&) noexcept;
    TaskStore& operator=(TaskStore&&) = delete;
    TaskStore(const TaskStore&) = delete;
    ~TaskStore();

    /// "sqlite:/var/lib/botscope/tasks.db" or "postgres:botscope@/run/x:5432": for messages.
    const std::string& describe() const { return describe_; }

    /// Queues a sample already in the content store. Unless `force`, a sample queued before
    /// (in any state) is not queued again: its task is returned, `existing` set. Atomic across
    /// controllers: two hosts queuing one directory get one task per sample.
    util::Result<Enqueued> enqueue(const std::string& sha256, const std::string& sample_path,
                                   const TaskOptions& options, int priority, bool force);

    /// Claims the next pending task `machine` may run for controller `owner`: running, attempts
    /// incremented, machine set. Nothing pending for it: nullopt. `only` limits the claim to
    /// one task (submit runs the task it queued). Without `honour_avoid` a task that failed on
    /// `machine` is taken all the same (no other machine is left to try it). Only tasks for
    /// `platform` (the machine's) or for any platform are claimed.
    util::Result<std::optional<TaskRecord>> claim(const std::string& owner,
                                                  const std::string& machine,
                                                  const std::string& platform,
                                                  std::optional<std::int64_t> only = {},
                                                  bool honour_avoid = true);

    /// The task's current stage (recorded before the stage starts), with the seconds the
    /// previous ones took as a JSON object.
    util::Result<util::Done> set_stage(std::int64_t id, const std::string& owner,
                                       const std::string& stage);
    /// running -> analysing (what the VM produced is on disk).
    util::Result<util::Done> to_analysing(std::int64_t id, const std::string& owner);
    /// -> reported or failed; the owner is cleared. `timings`: the seconds of each stage (the
    /// report's task.stages), kept with the task.
    util::Result<util::Done> finish(std::int64_t id, const std::string& owner, bool ok,
                                    const std::string& stage, const std::string& error,
                                    const report::Json& timings = nullptr);
    /// running -> pending again (attempt lost: an interrupted run, a machine that failed),
    /// `avoid` naming a machine not to use for it; failed instead once `max_attempts` runs
    /// were made. `refund`: this run does not count (the user stopped it).
    util::Result<TaskState> requeue(std::int64_t id, const std::string& owner,
                                    const std::string& avoid, int max_attempts,
                                    const std::string& why, bool refund = false);
    /// Takes over a task a dead controller held (owner `from`), atomically: false when another
    /// controller got it first.
    util::Result<bool> take_over(std::int64_t id, const std::string& from, const std::string& to);
    /// Fails the pending tasks of `ids`: no machine can run them (the reason says why). With
    /// `platform`, only those that need it.
    util::Result<std::int64_t> fail_pending(const std::vector<std::int64_t>& ids,
                                            const std::string& why,
                                            const std::string& platform = {});

    util::Result<std::optional<TaskRecord>> get(std::int64_t id);
    /// The tasks of `ids` that exist.
    util::Result<std::vector<TaskRecord>> get_many(const std::vector<std::int64_t>& ids);
    /// Tasks in `states` (all when empty), newest first, at most `limit`.
    util::Result<std::vector<TaskRecord>> list(const std::vector<TaskState>& states,
                                               std::size_t limit);
    util::Result<QueueCounts> counts();

    /// Registers controller `id` of this host and process; heartbeat() keeps it alive.
    util::Result<util::Done> register_controller(const std::string& id);
    util::Result<util::Done> heartbeat(const std::string& id);
    util::Result<util::Done> unregister_controller(const std::string& id);
    util::Result<std::vector<ControllerRow>> controllers();
    /// Tasks in running or analysing whose owner is not a live controller: one of this host
    /// whose pid is gone, or any whose heartbeat is older than `stale`.
    util::Result<std::vector<TaskRecord>> orphans(std::chrono::seconds stale);

private:
    TaskStore() = default;
    struct Impl;
    Impl* impl_ = nullptr;
    std::string describe_;
};

/// A new controller id: host:pid:random.
std::string new_controller_id();

/// A controller on record for as long as it lives: registered, its heartbeat kept every 5 s
/// from a thread of its own (on a connection of its own, whatever the controller's threads are
/// busy with), unregistered when destroyed.
class ControllerPresence {
public:
    static util::Result<std::unique_ptr<ControllerPresence>> start(const Config& config,
                                                                   const std::string& id);
    ~ControllerPresence();
    ControllerPresence(const ControllerPresence&) = delete;
    ControllerPresence& operator=(const ControllerPresence&) = delete;

private:
    ControllerPresence() = default;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_;
};

/// Copies a sample into <data>/samples/<sha256> (content-addressed, written atomically, once),
/// so that a honeypot deleting its file does not break the task. The sample is checked as
/// submit checks it: a regular file, not empty, at most kMaxSampleBytes. Code "sample".
struct StoredSample {
    std::string sha256;
    std::filesystem::path path;  ///< in the content store
    std::uint64_t size = 0;
    std::string platform;  ///< sample_platform() of its bytes
};

/// The platform a sample needs, from its first bytes: "windows" for a PE file (MZ with a PE
/// header where e_lfanew points), "linux" for ELF and for "#!" scripts, "" for anything else
/// (a document, a script without interpreter line: any machine may try it).
std::string sample_platform(std::span<const std::uint8_t> head);
util::Result<StoredSample> store_sample(const std::filesystem::path& data_dir,
                                        const std::filesystem::path& sample);
std::filesystem::path stored_sample_path(const std::filesystem::path& data_dir,
                                         const std::string& sha256);

}  // namespace botscope::tasks
