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

/// The largest sample accepted: the agent protocol's largest body.
inline constexpr std::uint64_t kMaxSampleBytes = 64ull << 20;

/// Runs one task. An Error means no task was started (sample unreadable, operator script or DNS
/// answers refused, no usable machine, data directory unwritable); codes: sample, operator,
/// dns, no_machine, unknown_machine, data_dir.
util::Result<TaskOutcome> run_task(const Config& config, const SubmitRequest& request,
                                   const StageFn& progress = {},
                                   const Backends& backends = real_backends());

/// The sample's name inside the guest: "sample" plus its extension when that is plain
/// (letters and digits, at most 8), ".exe" on Windows when it has none. Never the user's file
/// name, which the guest's file system might read differently.
std::string guest_sample_name(const std::filesystem::path& sample, const std::string& platform);

}  // namespace botscope::tasks
