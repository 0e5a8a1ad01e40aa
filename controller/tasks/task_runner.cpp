#include "tasks/task_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <thread>

#include "agent/agent_client.h"
#include "analysis/pcap_source.h"
#include "capture/live_capture.h"
#include "machinery/machinery.h"
#include "machinery/quarantine.h"
#include "report/assess.h"
#include "report/atomic_file.h"
#include "report/behavior_json.h"
#include "report/network_json.h"
#include "review/index.h"
#include "tasks/agent_session.h"
#include "tasks/analysis_child.h"
#include "tasks/fakenet_session.h"
#include "tasks/machine_lock.h"
#include "tasks/signature_scan.h"
#include "tasks/task_json.h"
#include "tasks/task_store.h"
#include "util/fd.h"
#include "util/hash.h"
#include "util/text.h"

namespace botscope::tasks {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using report::Json;

namespace {

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Failures that say nothing about the machine's health.
bool host_side(const util::Error& e) {
    return e.code == "no_daemon" || e.code == "connect" || e.code == "secret" ||
           e.code == "capture" || e.code == "data_dir" || e.code == "fakenet" ||
           e.code == "firewall";
}

struct Chosen {
    const Machine* machine = nullptr;
    MachineLock lock;
};

util::Result<Chosen> choose_machine(const Config& config, const SubmitRequest& request,
                                    const std::string& platform,
                                    machinery::QuarantineStore& health) {
    if (auto why = platform_refusal(
            config, request.machine ? std::vector{*request.machine} : std::vector<std::string>{},
            platform);
        !why.empty() && (!request.machine || config.machine(*request.machine)))
        return util::Error{"no_machine", why};
    std::vector<const Machine*> candidates;
    if (request.machine) {
        const Machine* m = config.machine(*request.machine);
        if (!m) {
            std::string names;
            for (const auto& c : config.machines)
                names += (names.empty() ? "" : ", ") + c.name;
            return util::Error{"unknown_machine", "no machine named " + *request.machine + " in " +
                                                      describe_source(config) +
                                                      " (machines: " + names + ")"};
        }
        candidates.push_back(m);
    } else {
        for (const auto& m : config.machines)
            if (platform.empty() || m.platform == platform)
                candidates.push_back(&m);
    }
    std::string why;
    for (const Machine* m : candidates) {
        auto h = health.get(m->name);
        if (!h) {
            why += "\n  " + m->name + ": " + h.error().message;
            continue;
        }
        if (h->quarantined) {
            why += "\n  " + m->name + ": quarantined since " + h->since + " (" + h->last_error +
                   "); `botscope vm release " + m->name + "` once it is fixed";
            continue;
        }
        auto lock = MachineLock::try_lock(*m);
        if (!lock) {
            why += "\n  " + m->name + ": " + lock.error().message;
            continue;
        }
        // The task that held the lock may have just quarantined the machine.
        h = health.get(m->name);
        if (!h || h->quarantined) {
            why += "\n  " + m->name + ": " +
                   (h ? "quarantined by the task that held it" : h.error().message);
            continue;
        }
        return Chosen{m, std::move(lock.value())};
    }
    return util::Error{"no_machine", "no machine can take the task:" + why};
}

class LibvirtMachinery final : public Machinery {
public:
    explicit LibvirtMachinery(machinery::Hypervisor hv) : hv_(std::move(hv)) {}
    util::Result<util::Done> revert(const std::string& domain,
                                    const std::string& snapshot) override {
        return hv_.revert(domain, snapshot);
    }
    util::Result<machinery::LiveDevices> live_devices(const std::string& domain,
                                                      const std::string& channel) override {
        return hv_.live_devices(domain, channel);
    }
    util::Result<machinery::DomainState> state(const std::string& domain) override {
        return hv_.state(domain);
    }
    util::Result<util::Done> destroy(const std::string& domain) override {
        return hv_.destroy(domain);
    }
    bool alive() const override { return hv_.alive(); }

private:
    machinery::Hypervisor hv_;
};

}  // namespace

Backends real_backends() {
    Backends b;
    b.connect = [](const Config& config) -> util::Result<std::unique_ptr<Machinery>> {
        machinery::Options mo;
        mo.call_timeout = config.libvirt_timeout;
        auto h = machinery::Hypervisor::connect(config.libvirt_uri, mo);
        if (!h)
            return h.error();
        return std::unique_ptr<Machinery>(std::make_unique<LibvirtMachinery>(std::move(h.value())));
    };
    b.isolate = [](const Config& config) { return ensure_isolation(config); };
    return b;
}

std::string agent_capture_filter(const Machine& m) {
    if (m.transport.rfind("tcp:", 0) != 0)
        return {};
    auto colon = m.transport.rfind(':');
    return "not (host " + m.transport.substr(4, colon - 4) + " and tcp port " +
           m.transport.substr(colon + 1) + ")";
}

std::string platform_refusal(const Config& config, const std::vector<std::string>& names,
                             const std::string& platform) {
    if (platform.empty())
        return {};
    std::string have;
    for (const auto& m : config.machines) {
        if (!names.empty() && std::find(names.begin(), names.end(), m.name) == names.end())
            continue;
        if (m.platform == platform)
            return {};
        have += (have.empty() ? "" : ", ") + m.name + " (" + m.platform + ")";
    }
    return std::string(platform == "windows" ? "a Windows program (PE)" : "a Linux program") +
           ", and no " + platform + " machine to run it" +
           (have.empty() ? std::string() : " among " + have);
}

std::string guest_sample_name(const fs::path& sample, const std::string& platform) {
    std::string ext = sample.extension().string();
    bool plain =
        ext.size() >= 2 && ext.size() <= 9 && std::all_of(ext.begin() + 1, ext.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0;
        });
    if (!plain)
        ext = platform == "windows" ? ".exe" : "";
    return "sample" + ext;
}

util::Result<SampleFile> read_sample_file(const fs::path& path) {
    // Non-blocking, so that a FIFO or a device given as the sample fails the check below
    // instead of hanging the open; reads of a regular file ignore the flag.
    util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (fd.fd < 0)
        return util::Error{"sample", "cannot read " + path.string() + ": " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode))
        return util::Error{"sample", path.string() + " is not a regular file"};
    if (st.st_size == 0 || static_cast<std::uint64_t>(st.st_size) > kMaxSampleBytes)
        return util::Error{
            "sample", path.string() + (st.st_size == 0 ? " is empty" : " is larger than 64 MiB")};
    SampleFile s;
    s.path = path.string();
    s.bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < s.bytes.size()) {
        ssize_t n = ::read(fd.fd, s.bytes.data() + got, s.bytes.size() - got);
        if (n <= 0)
            return util::Error{"sample",
                               "cannot read " + path.string() + ": " +
                                   (n == 0 ? "it shrank while read" : std::strerror(errno))};
        got += static_cast<std::size_t>(n);
    }
    s.md5 = util::md5_hex(s.bytes);
    s.sha256 = util::sha256_hex(s.bytes);
    return s;
}

util::Result<util::Done> check_task_options(const Config& config, const SubmitRequest& request) {
    if (config.fakenet.enabled) {
        if (auto o = choose_operator(config, request.operator_script); !o)
            return o.error();
        if (auto d = dns_overrides(config, request.dns); !d)
            return d.error();
    }
    // A broken rule file is the user's to fix, before a VM runs for nothing.
    if (auto e = check_rules(config.rule_trees()); !e.empty())
        return util::Error{"signatures", "the YARA rules do not compile: " + e};
    return util::Done{};
}

namespace {

/// What the VM half leaves for the rest, beside dump.pcap and files/.
constexpr const char* kMachineFile = "vm.json";

/// The VM half of one task, stage by stage. Each stage is skipped once one has failed, except
/// cleanup, which always runs: an infected VM must not go on running.
class MachinePipeline {
public:
    MachinePipeline(const Config& config, const Machine& m, const TaskRecord& task, fs::path dir,
                    const TaskHooks& hooks, const Backends& backends)
        : config_(config),
          m_(m),
          task_(task),
          dir_(std::move(dir)),
          hooks_(hooks),
          backends_(backends) {}

    MachineRun run() {
        log_.open(dir_ / "task.log", std::ios::app);
        started_ = util::utc_now_iso8601();
        prepare();
        fakenet();
        revert();
        capture();
        inject();
        run_sample();
        collect();
        cleanup();
        record_health();
        save();
        out_.ok = !failed();
        out_.failed_stage = failed_stage_;
        out_.error = error_;
        out_.sample_started = sample_started_;
        return out_;
    }

private:
    bool failed() const { return !failed_stage_.empty(); }
    void fail(std::string stage, util::Error e) {
        if (failed())
            return;  // the first failure is the cause; later ones follow from it
        failed_stage_ = std::move(stage);
        error_ = std::move(e);
    }

    /// A stage begins: on record first, then in task.log (one line each, flushed at once, for
    /// an operator or a test watching the folder), then on the progress display.
    void begin(std::string_view stage) {
        if (hooks_.record)
            hooks_.record(stage);
        if (log_.is_open())
            log_ << util::utc_now_iso8601() << ' ' << stage << std::endl;
        if (hooks_.progress)
            hooks_.progress(stage, 0, 0);
        stage_start_ = Clock::now();
    }
    void end(const char* stage) { stages_[stage] = since(stage_start_); }

    void prepare() {
        guest_name_ = guest_sample_name(task_.sample_path, m_.platform);
        timeout_ = task_.options.timeout.value_or(config_.timeout);
        auto stored = read_sample_file(stored_sample_path(config_.data_dir, task_.sha256));
        if (!stored)
            return fail("prepare", stored.error());
        sample_ = std::move(stored->bytes);
        if (config_.fakenet.enabled) {
            auto o = choose_operator(config_, task_.options.operator_script);
            if (!o)
                return fail("prepare", o.error());
            op_ = std::move(o.value());
            auto d = dns_overrides(config_, task_.options.dns);
            if (!d)
                return fail("prepare", d.error());
            dns_ = std::move(d.value());
        }
    }

    // --- fakenet: the firewall in place (always), the task begun on the guest's address -----
    void fakenet() {
        if (failed())
            return;
        begin("fakenet");
        if (auto r = backends_.isolate(config_); !r) {
            fail("fakenet", r.error());
        } else if (config_.fakenet.enabled) {
            if (auto b = begin_fakenet(config_, task_.id_text(), m_, dir_, op_, dns_); !b)
                fail("fakenet", b.error());
            else
                fakenet_begun_ = true;
        }
        end("fakenet");
    }

    void revert() {
        if (failed())
            return;
        begin("revert");
        // A second attempt (on a fresh connection when the first one died) rides out a
        // transient failure; a missing domain or snapshot, or no daemon, will not go away.
        for (int attempt = 1;; ++attempt) {
            util::Error e;
            if (!hv_ || !hv_->alive()) {
                hv_.reset();
                if (auto h = backends_.connect(config_); !h)
                    e = h.error();
                else
                    hv_ = std::move(h.value());
            }
            if (hv_) {
                if (auto r = hv_->revert(m_.domain, m_.snapshot); !r)
                    e = r.error();
                else if (auto d = hv_->live_devices(m_.domain, m_.channel); !d)
                    e = d.error();
                else
                    devices_ = d.value();
            }
            if (e.code.empty())
                break;
            bool lasting =
                e.code == "no_daemon" || e.code == "no_domain" || e.code == "no_snapshot";
            if (attempt == 2 || lasting) {
                fail("revert", e);
                break;
            }
            warnings_.push_back("revert failed, retrying once: " + e.message);
        }
        end("revert");
    }

    void capture() {
        if (failed())
            return;
        begin("capture");
        interface_ = m_.interface.empty() ? devices_.tap : m_.interface;
        if (interface_.empty()) {
            fail("capture", {"no_interface", "domain " + m_.domain +
                                                 " has no tap device in its live XML; set "
                                                 "interface = in [" +
                                                 m_.name + "]"});
        } else {
            // A fresh tap sends one IPv6 router solicitation of the host's own: not the
            // sample's. An interface the configuration names is the operator's: left alone.
            if (m_.interface.empty())
                if (auto r = capture::disable_ipv6(interface_); !r)
                    warnings_.push_back(r.error().message);
            capture::Options co;
            co.max_bytes = config_.capture_max_bytes;
            co.filter = agent_capture_filter(m_);
            auto c = capture::LiveCapture::start(interface_, dir_ / "dump.pcap", co);
            if (!c)
                fail("capture", {"capture", c.error().message});
            else
                cap_.emplace(std::move(c.value()));
        }
        end("capture");
    }

    void inject() {
        if (failed())
            return;
        begin("inject");
        auto secret = read_secret(m_);
        if (!secret) {
            fail("inject", secret.error());
            return end("inject");
        }
        secret_ = secret.value();
        auto c = connect_agent(m_, devices_.agent_socket, secret_, config_.agent_timeout);
        if (!c) {
            fail("inject", c.error());
            return end("inject");
        }
        client_.emplace(std::move(c.value()));
        auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        // The snapshot's clock is the time it was taken: a sample must see today.
        if (auto r = client_->set_clock(now_ms); !r)
            fail("inject", r.error());
        else if (auto h = client_->hello(); !h)
            fail("inject", h.error());
        else
            guest_["hello"] = hello_json(h.value());
        if (!failed())
            if (auto w = client_->watch_start(); !w)
                fail("inject", w.error());
        if (!failed()) {
            if (auto p = client_->put(guest_name_, sample_); !p) {
                fail("inject", p.error());
            } else {
                // From the exec on, the sample may run even when exec's answer is lost.
                sample_started_ = true;
                if (auto pid = client_->exec(guest_name_); !pid)
                    fail("inject", pid.error());
                else
                    guest_["pid"] = pid.value();
            }
        }
        end("inject");
    }

    void run_sample() {
        if (failed())
            return;
        begin("run");
        const auto start = Clock::now();
        const auto deadline = start + timeout_;
        const double total = static_cast<double>(timeout_.count());
        double shown = -1;
        while (Clock::now() < deadline) {
            auto left = deadline - Clock::now();
            std::this_thread::sleep_for(
                std::min<Clock::duration>(left, std::chrono::milliseconds(500)));
            if (hooks_.abort && hooks_.abort->load()) {
                out_.aborted = true;
                fail("run", {"interrupted", "the controller was told to stop at once"});
                break;
            }
            // The VM can die under the sample (or an operator): fail at once, not at the end.
            auto s = hv_->state(m_.domain);
            if (!s) {
                fail("run", s.error());
                break;
            }
            if (s->state != "running") {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.1f", since(start));
                fail("run", {"vm_stopped", "domain " + m_.domain + " stopped " + buf +
                                               " s into the run (" + s->state +
                                               (s->reason.empty() ? "" : ": " + s->reason) + ")"});
                break;
            }
            double e = since(start);
            if (hooks_.progress && e - shown >= 1.0) {
                hooks_.progress("run", std::min(e, total), total);
                shown = e;
            }
        }
        end("run");
    }

    void collect() {
        if (failed())
            return;
        begin("collect");
        // A new connection and a new handshake: whatever took over the old stream while the
        // sample ran (a process that killed or replaced the agent) must prove the secret
        // again, and a run longer than the agent's idle deadline finds a fresh session.
        client_.reset();
        const auto deadline = Clock::now() + config_.collect_timeout;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (auto c =
                connect_agent(m_, devices_.agent_socket, secret_,
                              std::min<std::chrono::milliseconds>(config_.agent_timeout, left));
            !c) {
            fail("collect", c.error());
        } else {
            client_.emplace(std::move(c.value()));
            collect_guest(*client_, dir_ / "files", config_.dropped_max_bytes, deadline, guest_);
            if (guest_.contains("error"))
                fail("collect", {"agent", guest_["error"].get<std::string>()});
        }
        end("collect");
    }

    // --- cleanup: always, also after a failure, so an infected VM does not go on running ---
    void cleanup() {
        client_.reset();
        begin("cleanup");
        if (cap_) {
            if (auto s = cap_->stop(); !s) {
                no_capture_ = "the capture could not be finished: " + s.error().message;
                fail("cleanup", {"capture", no_capture_});
            } else {
                capture_ = capture_json(s.value(), interface_);
            }
            cap_.reset();
        }
        if (fakenet_begun_) {
            // After the capture: everything the guest sent while it was recorded was served.
            if (auto f = end_fakenet(config_, task_.id_text(), m_); !f) {
                fakenet_ = Json{{"status", "error"}, {"error", f.error().message}};
                warnings_.push_back("fakenet: " + f.error().message);
            } else {
                fakenet_ = Json{{"status", "ok"}};
                for (auto& [k, v] : f->items())
                    fakenet_[k] = std::move(v);
            }
        } else if (config_.fakenet.enabled) {
            fakenet_ = Json{{"status", "error"}, {"error", "the task did not reach fakenet"}};
        }
        // An aborted task is powered off whatever destroy_after says: it is queued again.
        if (hv_ && (config_.destroy_after || out_.aborted))
            if (auto r = hv_->destroy(m_.domain); !r)
                warnings_.push_back("after the task: " + r.error().message);
        end("cleanup");
    }

    void record_health() {
        machinery::QuarantineStore health(config_.data_dir / "machines");
        if (!failed()) {
            if (auto r = health.record_success(m_.name); !r)
                warnings_.push_back(r.error().message);
        } else if (out_.aborted) {
            // Nobody's fault.
        } else if (sample_started_) {
            // What happened after the sample started is the sample's doing, not the
            // machine's: the next task's revert and handshake show whether it is broken.
            warnings_.push_back(
                "not counted towards the machine's quarantine: the sample was "
                "running when the task failed");
        } else if (!host_side(error_) && failed_stage_ != "prepare") {
            out_.machine_fault = true;
            auto h = health.record_failure(m_.name, failed_stage_ + ": " + error_.message);
            if (!h)
                warnings_.push_back(h.error().message);
            else
                out_.quarantined = h->quarantined;
        }
    }

    void save() {
        Json doc = {{"started", started_},
                    {"guest_name", guest_name_},
                    {"timeout", timeout_.count()},
                    {"machine",
                     {{"name", m_.name},
                      {"domain", m_.domain},
                      {"snapshot", m_.snapshot},
                      {"platform", m_.platform},
                      {"ip", m_.ip},
                      {"interface", interface_}}},
                    {"stages", stages_},
                    {"guest", guest_},
                    {"capture", capture_},
                    {"no_capture", no_capture_},
                    {"fakenet", fakenet_},
                    {"warnings", warnings_},
                    {"failed", failed() ? Json{{"stage", failed_stage_},
                                               {"code", error_.code},
                                               {"message", error_.message}}
                                        : Json(nullptr)},
                    {"quarantined", out_.quarantined}};
        std::string err =
            report::write_file_atomic((dir_ / kMachineFile).string(), report::dump(doc));
        if (!err.empty())
            fail("cleanup", {"data_dir", "cannot keep what the VM produced: " + err});
    }

    const Config& config_;
    const Machine& m_;
    const TaskRecord& task_;
    const fs::path dir_;
    const TaskHooks& hooks_;
    const Backends& backends_;

    std::ofstream log_;
    Clock::time_point stage_start_;
    std::string started_, guest_name_, interface_;
    std::chrono::seconds timeout_{};
    std::vector<std::uint8_t> sample_, secret_;
    std::optional<OperatorChoice> op_;
    Json dns_ = nullptr;
    bool fakenet_begun_ = false, sample_started_ = false;
    std::unique_ptr<Machinery> hv_;
    machinery::LiveDevices devices_;
    std::optional<capture::LiveCapture> cap_;
    std::optional<agent::Client> client_;
    std::string no_capture_ = "the task ended before the capture started";

    Json stages_ = Json::object(), guest_ = Json::object(), capture_ = nullptr;
    Json fakenet_ = Json{{"status", "disabled"}};
    std::vector<std::string> warnings_;
    std::string failed_stage_;
    util::Error error_;
    MachineRun out_;
};

}  // namespace

MachineRun run_on_machine(const Config& config, const Machine& machine, const TaskRecord& task,
                          const fs::path& dir, const TaskHooks& hooks, const Backends& backends) {
    return MachinePipeline(config, machine, task, dir, hooks, backends).run();
}

TaskOutcome finish_task(const Config& config, const TaskRecord& task, const fs::path& dir,
                        const TaskHooks& hooks, const Backends& backends) {
    const auto wall_start = Clock::now();
    std::ofstream log(dir / "task.log", std::ios::app);
    auto begin = [&](std::string_view stage) {
        if (hooks.record)
            hooks.record(stage);
        if (log.is_open())
            log << util::utc_now_iso8601() << ' ' << stage << std::endl;
        if (hooks.progress)
            hooks.progress(stage, 0, 0);
    };
    std::string failed_stage;
    util::Error error;
    auto fail = [&](std::string stage, util::Error e) {
        if (failed_stage.empty()) {
            failed_stage = std::move(stage);
            error = std::move(e);
        }
    };

    Json vm;
    {
        std::ifstream in(dir / kMachineFile);
        vm = Json::parse(in, nullptr, false);
    }
    if (!vm.is_object()) {
        // Only a task whose VM half finished gets here; its record is gone or damaged.
        vm = Json{{"machine", {{"name", task.machine}}},
                  {"stages", Json::object()},
                  {"guest", Json::object()},
                  {"capture", nullptr},
                  {"no_capture", "what the VM produced was lost (" + std::string(kMachineFile) +
                                     " is missing or damaged)"},
                  {"fakenet", {{"status", "error"}, {"error", "lost"}}},
                  {"warnings", Json::array()},
                  {"failed", nullptr},
                  {"quarantined", false}};
        fail("analyse", {"data_dir", vm["no_capture"].get<std::string>()});
    }
    if (const Json& f = vm["failed"]; f.is_object())
        fail(f.value("stage", ""), {f.value("code", ""), f.value("message", "")});
    std::vector<std::string> warnings;
    for (const auto& w : vm.value("warnings", Json::array()))
        if (w.is_string())
            warnings.push_back(w.get<std::string>());
    Json stages = vm.value("stages", Json::object());
    const Json& machine = vm["machine"];
    const std::string ip = machine.value("ip", "");

    SampleFile sample;
    if (auto s = read_sample_file(stored_sample_path(config.data_dir, task.sha256)); s)
        sample = std::move(s.value());
    else
        warnings.push_back("the stored sample cannot be read: " + s.error().message);
    sample.path = task.sample_path;

    // --- analyse -------------------------------------------------------------------------------
    Json network = nullptr, behavior = nullptr, logs_part = Json::array();
    const fs::path pcap = dir / "dump.pcap";
    if (!vm["capture"].is_null()) {
        begin("analyse");
        auto st = Clock::now();
        analysis::IpAddress parsed;
        AnalysisLimits limits;
        limits.timeout = config.analysis_timeout;
        limits.memory_bytes = config.analysis_memory_bytes;
        AnalysisRun a =
            analyse_in_child(backends.analyzer, pcap, dir,
                             analysis::IpAddress::parse(ip, parsed) ? ip : std::string(), limits,
                             config.rule_trees());
        if (!a.ok) {
            network = Json{{"error", a.error}};
            fail("analyse", {"analyse", a.error});
        } else {
            network = std::move(a.network);
            behavior = std::move(a.behavior);
            logs_part = std::move(a.logs);
        }
        stages["analyse"] = since(st);
    } else {
        network = Json{{"error", "no capture: " + vm.value("no_capture", std::string())}};
    }

    // --- signatures: YARA over the sample and the files it dropped, in a child -------------
    begin("signatures");
    auto st = Clock::now();
    Json guest = vm.value("guest", Json::object());
    Json signatures;
    {
        std::vector<ScanTarget> targets;
        if (!sample.bytes.empty()) {
            std::string err = report::write_file_atomic(
                (dir / "sample").string(), std::string(sample.bytes.begin(), sample.bytes.end()));
            if (err.empty())
                targets.push_back({"sample", dir / "sample", "sample"});
            else
                warnings.push_back("the sample could not be kept for its scan: " + err);
        }
        for (auto& d : dropped_targets(dir, guest))
            targets.push_back(std::move(d));
        SignatureLimits limits;
        limits.per_file = config.scan_timeout;
        signatures = scan_in_child(backends.analyzer, config.rule_trees(), targets, limits);
        if (signatures.value("status", "") != "ok")
            warnings.push_back("signatures: " + signatures.value("error", std::string()));
    }
    stages["signatures"] = since(st);

    // --- report --------------------------------------------------------------------------------
    begin("report");
    st = Clock::now();
    const bool failed = !failed_stage.empty();
    const bool quarantined = vm.value("quarantined", false);
    Json task_part = {{"id", task.id_text()},
                      {"status", failed ? "failed" : "completed"},
                      {"error", failed ? Json{{"stage", failed_stage},
                                              {"code", error.code},
                                              {"message", error.message},
                                              {"machine_quarantined", quarantined}}
                                       : Json(nullptr)},
                      {"sample",
                       {{"path", sample.path},
                        {"size", sample.bytes.size()},
                        {"md5", sample.md5},
                        {"sha256", task.sha256},
                        {"guest_name", vm.value("guest_name", "")}}},
                      {"machine",
                       {{"name", machine.value("name", task.machine)},
                        {"domain", machine.value("domain", "")},
                        {"snapshot", machine.value("snapshot", "")},
                        {"platform", machine.value("platform", "")},
                        {"ip", ip},
                        {"interface", machine.value("interface", "")}}},
                      {"timeout", vm.value("timeout", 0)},
                      {"started", vm.value("started", "")},
                      {"finished", nullptr},
                      {"stages", stages},
                      {"capture", vm["capture"]},
                      {"warnings", warnings}};
    if (task.attempts > 1)
        task_part["attempts"] = task.attempts;
    Json doc;
    doc["schema"] = report::kSchema;
    doc["generator"] = {{"name", "botscope"}, {"version", BOTSCOPE_VERSION}};
    doc["kind"] = "task";
    doc["task"] = std::move(task_part);
    doc["guest"] = std::move(guest);
    doc["network"] = std::move(network);
    doc["behavior"] = std::move(behavior);
    doc["fakenet"] = vm.value("fakenet", Json{{"status", "disabled"}});
    doc["signatures"] = std::move(signatures);
    report::add_assessment(doc);
    doc["logs"] = std::move(logs_part);
    doc["task"]["finished"] = util::utc_now_iso8601();
    doc["task"]["stages"]["report"] = since(st);
    std::string err = report::write_file_atomic((dir / "report.json").string(), report::dump(doc));
    if (!err.empty()) {
        fail("report", {"report", err});
        doc["task"]["status"] = "failed";
    } else {
        // A line that is not written here is made from the folder when the index is next read.
        (void)review::update_index(config.data_dir, task.id_text());
    }

    TaskOutcome out;
    out.id = task.id_text();
    out.dir = dir;
    out.machine = machine.value("name", task.machine);
    out.ok = failed_stage.empty();
    out.failed_stage = failed_stage;
    out.error = error;
    out.quarantined = quarantined;
    out.run_seconds = static_cast<double>(vm.value("timeout", 0));
    out.wall_seconds = since(wall_start);
    out.report = std::move(doc);
    return out;
}

util::Result<TaskOutcome> run_task(const Config& config, const SubmitRequest& request,
                                   const StageFn& progress, const Backends& backends) {
    const auto wall_start = Clock::now();
    if (auto s = read_sample_file(request.sample); !s)
        return s.error();
    if (auto r = check_task_options(config, request); !r)
        return r.error();
    auto stored = store_sample(config.data_dir, request.sample);
    if (!stored)
        return stored.error();
    machinery::QuarantineStore health(config.data_dir / "machines");
    auto chosen = choose_machine(config, request, stored->platform, health);
    if (!chosen)
        return chosen.error();
    const Machine& m = *chosen->machine;

    auto store = TaskStore::open(config, "submit");
    if (!store)
        return store.error();
    TaskOptions options;
    if (!stored->platform.empty())
        options.platform = stored->platform;
    options.timeout = request.timeout;
    options.machine = request.machine;
    options.operator_script = request.operator_script;
    options.dns = request.dns;
    // Always a new task: the user asked for this run.
    auto queued =
        store->enqueue(stored->sha256, fs::absolute(request.sample).string(), options, 0, true);
    if (!queued)
        return queued.error();
    const std::string owner = new_controller_id();
    auto presence = ControllerPresence::start(config, owner);
    if (!presence)
        return presence.error();
    auto claimed = store->claim(owner, m.name, m.platform, queued->id);
    if (!claimed)
        return claimed.error();
    if (!claimed->has_value())
        return util::Error{
            "store", "task " + std::to_string(queued->id) + " was taken by another controller"};
    TaskRecord task = std::move(*claimed.value());
    auto dir = make_task_dir(config.data_dir, task.id_text());
    if (!dir) {
        (void)store->finish(task.id, owner, false, "prepare", dir.error().message);
        return dir.error();
    }

    TaskHooks hooks;
    hooks.progress = progress;
    hooks.record = [&](std::string_view stage) {
        (void)store->set_stage(task.id, owner, std::string(stage));
    };
    MachineRun run = run_on_machine(config, m, task, dir.value(), hooks, backends);
    chosen->lock.release();  // the VM is free; the analysis does not need it
    (void)store->to_analysing(task.id, owner);
    TaskOutcome out = finish_task(config, task, dir.value(), hooks, backends);
    out.quarantined = run.quarantined;
    out.wall_seconds = since(wall_start);
    (void)store->finish(task.id, owner, out.ok, out.failed_stage, out.error.message,
                        out.report["task"]["stages"]);
    return out;
}

util::Result<fs::path> make_task_dir(const fs::path& data_dir, const std::string& id) {
    fs::path tasks = data_dir / "tasks";
    std::error_code ec;
    fs::create_directories(tasks, ec);
    if (ec)
        return util::Error{"data_dir", "cannot create " + tasks.string() + ": " + ec.message()};
    fs::path dir = tasks / id;
    if (::mkdir(dir.c_str(), 0750) == 0)
        return dir;
    if (errno != EEXIST)
        return util::Error{"data_dir",
                           "cannot create " + dir.string() + ": " + std::strerror(errno)};
    // An earlier attempt of this task, cut short: kept aside, never mixed into this one.
    auto aside = set_aside_attempt(data_dir, id);
    if (!aside)
        return aside.error();
    if (::mkdir(dir.c_str(), 0750) == 0)
        return dir;
    return util::Error{"data_dir", "cannot create " + dir.string() + ": " + std::strerror(errno)};
}

util::Result<util::Done> set_aside_attempt(const fs::path& data_dir, const std::string& id) {
    fs::path dir = data_dir / "tasks" / id;
    std::error_code ec;
    if (!fs::exists(dir, ec))
        return util::Done{};
    fs::path attic = data_dir / "interrupted";
    fs::create_directories(attic, ec);
    for (int n = 1; n < 1000; ++n) {
        fs::path to = attic / (id + "." + std::to_string(n));
        if (fs::exists(to, ec))
            continue;
        fs::rename(dir, to, ec);
        if (ec)
            return util::Error{"data_dir", "cannot move " + dir.string() + " to " + to.string() +
                                               ": " + ec.message()};
        return util::Done{};
    }
    return util::Error{"data_dir", "too many interrupted attempts of task " + id};
}

}  // namespace botscope::tasks
