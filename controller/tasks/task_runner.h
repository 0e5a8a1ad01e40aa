#pragma once
// One sample, one machine, one report: revert the VM, start the capture on its tap, hand the
// sample to the guest agent and run it, watch for the run time, collect what the agent saw,
// stop the capture, analyse it, write <data>/tasks/<id>/report.json atomically.
//
// Every step has a deadline (libvirt calls, the agent's connect and calls, the capture's stop),
// so a dead VM, a silent agent or a stopped daemon ends the task with a reason, never a hang.
// A failure of the machine before the sample runs (revert, the agent not answering, inject)
// counts towards its quarantine (machinery/quarantine.h). Nothing after that does: a sample can
// power the guest off, kill or replace the agent, and a batch of such samples must not empty
// the pool. A failure of the host (libvirtd not running, the secret unreadable) never counts.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "machinery/machinery.h"
#include "report/json_common.h"
#include "tasks/config.h"
#include "util/result.h"

namespace botscope::tasks {

/// What a task asks of the hypervisor, for one connection: machinery::Hypervisor in
/// production; a test gives its own to run the real pipeline without a VM.
class Machinery {
public:
    virtual ~Machinery() = default;
    virtual util::Result<util::Done> revert(const std::string& domain,
                                            const std::string& snapshot) = 0;
    virtual util::Result<machinery::LiveDevices> live_devices(const std::string& domain,
                                                              const std::string& channel) = 0;
    virtual util::Result<machinery::DomainState> state(const std::string& domain) = 0;
    virtual util::Result<util::Done> destroy(const std::string& domain) = 0;
    /// False once the connection died: the task connects again before its next call.
    virtual bool alive() const = 0;
};

/// The world a task runs in. `connect` opens a machinery connection; `isolate` makes sure the
/// analysis network's firewall is in place (tasks/fakenet_session.h).
struct Backends {
    std::function<util::Result<std::unique_ptr<Machinery>>(const Config&)> connect;
    std::function<util::Result<util::Done>(const Config&)> isolate;
    /// The botscope binary whose `analyze-pcap` analyses the capture in a child process: this
    /// one, unless a test runs the pipeline from another binary.
    std::filesystem::path analyzer = "/proc/self/exe";
};

/// libvirt and nftables.
Backends real_backends();

struct SubmitRequest {
    std::filesystem::path sample;
    std::optional<std::chrono::seconds> timeout;  ///< run time; default: the configured one
    std::optional<std::string> machine;           ///< default: the first free, healthy machine
    /// The IRC operator: a script name, a file, or "none"; default: the configured one.
    std::optional<std::string> operator_script;
    std::vector<std::string> dns;  ///< "name=10.66.0.5" or "name=nxdomain", for this task only
};

/// How a task ended. A task that got a folder always has a report there, failed or not.
struct TaskOutcome {
    std::string id;
    std::filesystem::path dir;  ///< <data>/tasks/<id>
    std::string machine;
    bool ok = false;
    std::string failed_stage;  ///< empty when ok
    util::Error error;         ///< why it failed
    bool quarantined = false;  ///< this failure put the machine in quarantine
    double wall_seconds = 0;   ///< from intake to the report on disk
    double run_seconds = 0;    ///< the configured run time
    report::Json report;
};

/// Progress for people: a stage starting (elapsed and total are 0), and once a second during
/// the run the seconds elapsed out of the run time.
using StageFn = std::function<void(std::string_view stage, double elapsed, double total)>;

/// What a pipeline tells the world as it goes.
struct TaskHooks {
    StageFn progress;
    /// Called before each stage starts (the task store records it there): a stage is on record
    /// before anything it does.
    std::function<void(std::string_view stage)> record;
    /// Set (by a second SIGINT/SIGTERM): the run stage ends now, the VM is powered off and the
    /// task is queued again instead of failing.
    const std::atomic<bool>* abort = nullptr;
};

/// The largest sample accepted: the agent protocol's largest body.
inline constexpr std::uint64_t kMaxSampleBytes = 64ull << 20;

struct SampleFile {
    std::string path;
    std::vector<std::uint8_t> bytes;
    std::string md5, sha256;
};

/// Reads a sample: a regular file (a FIFO or device fails at once, never hangs), not empty, at
/// most kMaxSampleBytes. Code "sample".
util::Result<SampleFile> read_sample_file(const std::filesystem::path& path);

/// Runs one task now, on this thread: the sample is stored and queued (always a new task, as a
/// user asking for one expects), claimed at once on a free machine and run to its report. An
/// Error means no task was started (sample unreadable, operator script or DNS answers refused,
/// no usable machine, data directory or task store unusable); codes: sample, operator, dns,
/// signatures, no_machine, unknown_machine, data_dir, store.
util::Result<TaskOutcome> run_task(const Config& config, const SubmitRequest& request,
                                   const StageFn& progress = {},
                                   const Backends& backends = real_backends());

// --- the two halves of a task, for the pool (tasks/pool.h) -----------------------------------

struct TaskRecord;

/// The checks a task's options get before any VM runs: the operator script, the DNS answers,
/// the YARA rules. Codes: operator, dns, signatures.
util::Result<util::Done> check_task_options(const Config& config, const SubmitRequest& request);

/// How the VM half of a task ended; what it produced is in <dir>/vm.json (with dump.pcap and
/// files/), which finish_task reads.
struct MachineRun {
    bool ok = false;
    std::string failed_stage;
    util::Error error;
    bool quarantined = false;
    bool sample_started = false;
    /// The machine failed the task before the sample ran (not the host, not the sample): a
    /// retry on another machine may succeed.
    bool machine_fault = false;
    bool aborted = false;  ///< TaskHooks::abort ended it
};

/// The VM half: fakenet, revert, capture, inject, run, collect, cleanup; the machine's health
/// recorded. The caller holds the machine's lock and has made `dir`.
MachineRun run_on_machine(const Config& config, const Machine& machine, const TaskRecord& task,
                          const std::filesystem::path& dir, const TaskHooks& hooks,
                          const Backends& backends = real_backends());

/// The rest, from what run_on_machine left in `dir`: analyse, signatures, report (written
/// atomically; a rerun after a crash writes it again, whole). Needs no VM.
TaskOutcome finish_task(const Config& config, const TaskRecord& task,
                        const std::filesystem::path& dir, const TaskHooks& hooks,
                        const Backends& backends = real_backends());

/// <data>/tasks/<id>, made empty: what an earlier attempt left there is set aside first.
util::Result<std::filesystem::path> make_task_dir(const std::filesystem::path& data_dir,
                                                  const std::string& id);
/// Moves <data>/tasks/<id> (an interrupted attempt) to <data>/interrupted/<id>.<n>.
util::Result<util::Done> set_aside_attempt(const std::filesystem::path& data_dir,
                                           const std::string& id);

/// The sample's name inside the guest: "sample" plus its extension when that is plain
/// (letters and digits, at most 8), ".exe" on Windows when it has none. Never the user's file
/// name, which the guest's file system might read differently.
std::string guest_sample_name(const std::filesystem::path& sample, const std::string& platform);

/// The capture's BPF filter for machine `m`: on the TCP transport the agent's connection
/// (its address and port) is left out, so that none of it is taken for the sample's traffic
/// (the sample's own connections to that port are lost with it); empty on virtio.
std::string agent_capture_filter(const Machine& m);

/// Why no machine of `names` (all configured ones when empty) can run a sample of `platform`
/// (sample_platform()); empty when one can, or when the sample needs no platform.
std::string platform_refusal(const Config& config, const std::vector<std::string>& names,
                             const std::string& platform);

}  // namespace botscope::tasks
