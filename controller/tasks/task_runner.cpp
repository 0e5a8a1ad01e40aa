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

struct Sample {
    std::string path;
    std::vector<std::uint8_t> bytes;
    std::string md5, sha256;
};

util::Result<Sample> read_sample(const fs::path& path) {
    // Non-blocking, so that a FIFO or a device given as the sample fails the check below
    // instead of hanging the open; reads of a regular file ignore the flag.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return util::Error{"sample", "cannot read " + path.string() + ": " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return util::Error{"sample", path.string() + " is not a regular file"};
    }
    if (st.st_size == 0 || static_cast<std::uint64_t>(st.st_size) > kMaxSampleBytes) {
        ::close(fd);
        return util::Error{
            "sample", path.string() + (st.st_size == 0 ? " is empty" : " is larger than 64 MiB")};
    }
    Sample s;
    s.path = path.string();
    s.bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < s.bytes.size()) {
        ssize_t n = ::read(fd, s.bytes.data() + got, s.bytes.size() - got);
        if (n <= 0) {
            ::close(fd);
            return util::Error{"sample",
                               "cannot read " + path.string() + ": " +
                                   (n == 0 ? "it shrank while read" : std::strerror(errno))};
        }
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    s.md5 = util::md5_hex(s.bytes);
    s.sha256 = util::sha256_hex(s.bytes);
    return s;
}

/// <data>/tasks/<N>, N one more than the highest existing; mkdir decides between racing
/// controllers.
util::Result<std::pair<std::string, fs::path>> create_task_dir(const fs::path& data_dir) {
    fs::path tasks = data_dir / "tasks";
    std::error_code ec;
    fs::create_directories(tasks, ec);
    if (ec)
        return util::Error{"data_dir", "cannot create " + tasks.string() + ": " + ec.message()};
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::uint64_t next = 1;
        for (const auto& e : fs::directory_iterator(tasks, ec)) {
            std::string n = e.path().filename().string();
            std::uint64_t v = 0;
            auto [p, err] = std::from_chars(n.data(), n.data() + n.size(), v);
            if (err == std::errc() && p == n.data() + n.size())
                next = std::max(next, v + 1);
        }
        if (ec)
            return util::Error{"data_dir", "cannot list " + tasks.string() + ": " + ec.message()};
        std::string id = std::to_string(next);
        fs::path dir = tasks / id;
        if (::mkdir(dir.c_str(), 0750) == 0)
            return std::pair{id, dir};
        if (errno != EEXIST)
            return util::Error{"data_dir",
                               "cannot create " + dir.string() + ": " + std::strerror(errno)};
    }
    return util::Error{"data_dir", "cannot allocate a task folder in " + tasks.string()};
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
                                    machinery::QuarantineStore& health) {
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

/// The state of one task while it runs; its members become the report.
struct Task {
    Task(Sample s, std::string i, fs::path d)
        : sample(std::move(s)), id(std::move(i)), dir(std::move(d)) {}
    Sample sample;
    std::string id;
    fs::path dir;
    std::string guest_name;
    std::chrono::seconds timeout{};
    std::string started, interface;
    Json stages = Json::object();
    Json guest = Json::object();
    Json capture = nullptr;
    std::string failed_stage;
    util::Error error;
    std::vector<std::string> warnings;

    bool failed() const { return !failed_stage.empty(); }
    void fail(std::string stage, util::Error e) {
        if (failed())
            return;  // the first failure is the cause; later ones follow from it
        failed_stage = std::move(stage);
        error = std::move(e);
    }
};

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

util::Result<TaskOutcome> run_task(const Config& config, const SubmitRequest& request,
                                   const StageFn& progress, const Backends& backends) {
    const auto wall_start = Clock::now();
    // task.log: one line per stage as it starts, flushed at once, so that an operator (or a
    // test) watching the task's folder sees where a running task is.
    std::ofstream stage_log;
    auto say = [&](std::string_view stage) {
        if (stage_log.is_open())
            stage_log << util::utc_now_iso8601() << ' ' << stage << std::endl;
        if (progress)
            progress(stage, 0, 0);
    };

    auto sample = read_sample(request.sample);
    if (!sample)
        return sample.error();
    std::optional<OperatorChoice> op;
    Json dns = nullptr;
    if (config.fakenet.enabled) {
        auto o = choose_operator(config, request.operator_script);
        if (!o)
            return o.error();
        op = std::move(o.value());
        auto d = dns_overrides(config, request.dns);
        if (!d)
            return d.error();
        dns = std::move(d.value());
    }
    // A broken rule file is the user's to fix, before a VM runs for nothing.
    const auto rule_trees = config.rule_trees();
    if (auto e = check_rules(rule_trees); !e.empty())
        return util::Error{"signatures", "the YARA rules do not compile: " + e};
    machinery::QuarantineStore health(config.data_dir / "machines");
    auto chosen = choose_machine(config, request, health);
    if (!chosen)
        return chosen.error();
    const Machine& m = *chosen->machine;
    auto created = create_task_dir(config.data_dir);
    if (!created)
        return created.error();

    Task t(std::move(sample.value()), created->first, created->second);
    t.guest_name = guest_sample_name(request.sample, m.platform);
    t.timeout = request.timeout.value_or(config.timeout);
    t.started = util::utc_now_iso8601();
    const fs::path pcap = t.dir / "dump.pcap";
    stage_log.open(t.dir / "task.log");

    // --- fakenet: the firewall in place (always), the task begun on the guest's address -------
    say("fakenet");
    auto st = Clock::now();
    bool fakenet_begun = false;
    if (auto r = backends.isolate(config); !r) {
        t.fail("fakenet", r.error());
    } else if (config.fakenet.enabled) {
        if (auto b = begin_fakenet(config, t.id, m, t.dir, op, dns); !b)
            t.fail("fakenet", b.error());
        else
            fakenet_begun = true;
    }
    t.stages["fakenet"] = since(st);

    // --- revert -------------------------------------------------------------------------------
    const bool reverting = !t.failed();
    if (reverting)
        say("revert");
    st = Clock::now();
    std::unique_ptr<Machinery> hv;
    machinery::LiveDevices devices;
    // A second attempt (on a fresh connection when the first one died) rides out a transient
    // failure; a missing domain or snapshot, or no daemon, will not go away by retrying.
    for (int attempt = 1; !t.failed(); ++attempt) {
        util::Error e;
        if (!hv || !hv->alive()) {
            hv.reset();
            if (auto h = backends.connect(config); !h)
                e = h.error();
            else
                hv = std::move(h.value());
        }
        if (hv) {
            if (auto r = hv->revert(m.domain, m.snapshot); !r)
                e = r.error();
            else if (auto d = hv->live_devices(m.domain, m.channel); !d)
                e = d.error();
            else
                devices = d.value();
        }
        if (e.code.empty())
            break;
        bool lasting = e.code == "no_daemon" || e.code == "no_domain" || e.code == "no_snapshot";
        if (attempt == 2 || lasting) {
            t.fail("revert", e);
            break;
        }
        t.warnings.push_back("revert failed, retrying once: " + e.message);
    }
    if (reverting)
        t.stages["revert"] = since(st);

    // --- capture ------------------------------------------------------------------------------
    std::optional<capture::LiveCapture> cap;
    if (!t.failed()) {
        say("capture");
        st = Clock::now();
        t.interface = m.interface.empty() ? devices.tap : m.interface;
        if (t.interface.empty()) {
            t.fail("capture", {"no_interface", "domain " + m.domain +
                                                   " has no tap device in its live XML; set "
                                                   "interface = in [" +
                                                   m.name + "]"});
        } else {
            // A fresh tap sends one IPv6 router solicitation of the host's own: not the sample's.
            // An interface the configuration names is the operator's: left as it is.
            if (m.interface.empty())
                if (auto r = capture::disable_ipv6(t.interface); !r)
                    t.warnings.push_back(r.error().message);
            capture::Options co;
            co.max_bytes = config.capture_max_bytes;
            auto c = capture::LiveCapture::start(t.interface, pcap, co);
            if (!c)
                t.fail("capture", {"capture", c.error().message});
            else
                cap.emplace(std::move(c.value()));
        }
        t.stages["capture"] = since(st);
    }

    // --- inject -------------------------------------------------------------------------------
    std::optional<agent::Client> client;
    std::vector<std::uint8_t> secret_bytes;
    bool sample_started = false;
    if (!t.failed()) {
        say("inject");
        st = Clock::now();
        auto secret = read_secret(m);
        if (secret)
            secret_bytes = secret.value();
        if (!secret) {
            t.fail("inject", secret.error());
        } else if (auto c =
                       connect_agent(m, devices.agent_socket, secret.value(), config.agent_timeout);
                   !c) {
            t.fail("inject", c.error());
        } else {
            client.emplace(std::move(c.value()));
            auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
            // The snapshot's clock is the time it was taken: a sample must see today.
            if (auto r = client->set_clock(now_ms); !r)
                t.fail("inject", r.error());
            else if (auto h = client->hello(); !h)
                t.fail("inject", h.error());
            else
                t.guest["hello"] = hello_json(h.value());
            if (!t.failed()) {
                if (auto w = client->watch_start(); !w)
                    t.fail("inject", w.error());
            }
            if (!t.failed()) {
                auto p = client->put(t.guest_name, t.sample.bytes);
                if (!p) {
                    t.fail("inject", p.error());
                } else {
                    // From the exec on, the sample may run even when exec's answer is lost.
                    sample_started = true;
                    if (auto pid = client->exec(t.guest_name); !pid)
                        t.fail("inject", pid.error());
                    else
                        t.guest["pid"] = pid.value();
                }
            }
        }
        t.stages["inject"] = since(st);
    }

    // --- run ----------------------------------------------------------------------------------
    if (!t.failed()) {
        say("run");
        st = Clock::now();
        const auto end = st + t.timeout;
        const double total = static_cast<double>(t.timeout.count());
        double shown = -1;
        while (Clock::now() < end) {
            auto left = end - Clock::now();
            std::this_thread::sleep_for(
                std::min<Clock::duration>(left, std::chrono::milliseconds(500)));
            // The VM can die under the sample (or an operator): fail at once, not at the end.
            auto s = hv->state(m.domain);
            if (!s) {
                t.fail("run", s.error());
                break;
            }
            if (s->state != "running") {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.1f", since(st));
                t.fail("run", {"vm_stopped",
                               "domain " + m.domain + " stopped " + buf + " s into the run (" +
                                   s->state + (s->reason.empty() ? "" : ": " + s->reason) + ")"});
                break;
            }
            double e = since(st);
            if (progress && e - shown >= 1.0) {
                progress("run", std::min(e, total), total);
                shown = e;
            }
        }
        t.stages["run"] = since(st);
    }

    // --- collect ------------------------------------------------------------------------------
    if (!t.failed()) {
        say("collect");
        st = Clock::now();
        // A new connection and a new handshake: whatever took over the old stream while the
        // sample ran (a process that killed or replaced the agent) must prove the secret again,
        // and a run longer than the agent's idle deadline finds a fresh session.
        client.reset();
        const auto deadline = st + config.collect_timeout;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (auto c = connect_agent(m, devices.agent_socket, secret_bytes,
                                   std::min<std::chrono::milliseconds>(config.agent_timeout, left));
            !c) {
            t.fail("collect", c.error());
        } else {
            client.emplace(std::move(c.value()));
            collect_guest(*client, t.dir / "files", config.dropped_max_bytes, deadline, t.guest);
            if (t.guest.contains("error"))
                t.fail("collect", {"agent", t.guest["error"].get<std::string>()});
        }
        t.stages["collect"] = since(st);
    }
    client.reset();

    // --- cleanup: always, also after a failure, so an infected VM does not go on running -------
    say("cleanup");
    st = Clock::now();
    std::string no_capture = "the task ended before the capture started";
    if (cap) {
        if (auto s = cap->stop(); !s) {
            no_capture = "the capture could not be finished: " + s.error().message;
            t.fail("cleanup", {"capture", no_capture});
        } else
            t.capture = capture_json(s.value(), t.interface);
        cap.reset();
    }
    Json fakenet_part = Json{{"status", "disabled"}};
    if (fakenet_begun) {
        // After the capture: everything the guest sent while it was recorded has been served.
        if (auto f = end_fakenet(config, t.id, m); !f) {
            fakenet_part = Json{{"status", "error"}, {"error", f.error().message}};
            t.warnings.push_back("fakenet: " + f.error().message);
        } else {
            fakenet_part = Json{{"status", "ok"}};
            for (auto& [k, v] : f->items())
                fakenet_part[k] = std::move(v);
        }
    } else if (config.fakenet.enabled) {
        fakenet_part = Json{{"status", "error"}, {"error", "the task did not reach fakenet"}};
    }
    if (hv && config.destroy_after) {
        if (auto r = hv->destroy(m.domain); !r)
            t.warnings.push_back("after the task: " + r.error().message);
    }
    t.stages["cleanup"] = since(st);

    // --- analyse ------------------------------------------------------------------------------
    Json network = nullptr, behavior = nullptr, logs_part = Json::array();
    st = Clock::now();
    if (!t.capture.is_null()) {
        say("analyse");
        analysis::IpAddress ip;
        AnalysisLimits limits;
        limits.timeout = config.analysis_timeout;
        limits.memory_bytes = config.analysis_memory_bytes;
        AnalysisRun a =
            analyse_in_child(backends.analyzer, pcap, t.dir,
                             analysis::IpAddress::parse(m.ip, ip) ? m.ip : std::string(), limits,
                             config.rule_trees());
        if (!a.ok) {
            network = Json{{"error", a.error}};
            t.fail("analyse", {"analyse", a.error});
        } else {
            network = std::move(a.network);
            behavior = std::move(a.behavior);
            logs_part = std::move(a.logs);
        }
        t.stages["analyse"] = since(st);
    } else {
        network = Json{{"error", "no capture: " + no_capture}};
    }

    // --- signatures: YARA over the sample and the files it dropped, in a child ---------------
    say("signatures");
    st = Clock::now();
    Json signatures;
    {
        std::vector<ScanTarget> targets;
        std::string err = report::write_file_atomic(
            (t.dir / "sample").string(), std::string(t.sample.bytes.begin(), t.sample.bytes.end()));
        if (err.empty())
            targets.push_back({"sample", t.dir / "sample", "sample"});
        else
            t.warnings.push_back("the sample could not be kept for its scan: " + err);
        for (auto& d : dropped_targets(t.dir, t.guest))
            targets.push_back(std::move(d));
        SignatureLimits limits;
        limits.per_file = config.scan_timeout;
        signatures = scan_in_child(backends.analyzer, rule_trees, targets, limits);
        if (signatures.value("status", "") != "ok")
            t.warnings.push_back("signatures: " + signatures.value("error", std::string()));
    }
    t.stages["signatures"] = since(st);

    // --- machine health -----------------------------------------------------------------------
    TaskOutcome out;
    if (!t.failed()) {
        if (auto r = health.record_success(m.name); !r)
            t.warnings.push_back(r.error().message);
    } else if (sample_started) {
        // What happened after the sample started is the sample's doing, not the machine's: the
        // next task's revert and handshake show whether the machine itself is broken.
        t.warnings.push_back(
            "not counted towards the machine's quarantine: the sample was "
            "running when the task failed");
    } else if (!host_side(t.error) && t.failed_stage != "analyse") {
        auto h = health.record_failure(m.name, t.failed_stage + ": " + t.error.message);
        if (!h)
            t.warnings.push_back(h.error().message);
        else
            out.quarantined = h->quarantined;
    }

    // --- report -------------------------------------------------------------------------------
    say("report");
    st = Clock::now();
    Json task = {{"id", t.id},
                 {"status", t.failed() ? "failed" : "completed"},
                 {"error", t.failed() ? Json{{"stage", t.failed_stage},
                                             {"code", t.error.code},
                                             {"message", t.error.message},
                                             {"machine_quarantined", out.quarantined}}
                                      : Json(nullptr)},
                 {"sample",
                  {{"path", t.sample.path},
                   {"size", t.sample.bytes.size()},
                   {"md5", t.sample.md5},
                   {"sha256", t.sample.sha256},
                   {"guest_name", t.guest_name}}},
                 {"machine",
                  {{"name", m.name},
                   {"domain", m.domain},
                   {"snapshot", m.snapshot},
                   {"platform", m.platform},
                   {"ip", m.ip},
                   {"interface", t.interface}}},
                 {"timeout", t.timeout.count()},
                 {"started", t.started},
                 {"finished", nullptr},
                 {"stages", t.stages},
                 {"capture", t.capture},
                 {"warnings", t.warnings}};
    Json doc;
    doc["schema"] = report::kSchema;
    doc["generator"] = {{"name", "botscope"}, {"version", BOTSCOPE_VERSION}};
    doc["kind"] = "task";
    doc["task"] = std::move(task);
    doc["guest"] = t.guest;
    doc["network"] = std::move(network);
    doc["behavior"] = std::move(behavior);
    doc["fakenet"] = std::move(fakenet_part);
    doc["signatures"] = std::move(signatures);
    report::add_assessment(doc);
    doc["logs"] = std::move(logs_part);
    doc["task"]["finished"] = util::utc_now_iso8601();
    doc["task"]["stages"]["report"] = since(st);
    std::string err =
        report::write_file_atomic((t.dir / "report.json").string(), report::dump(doc));
    if (!err.empty()) {
        t.fail("report", {"report", err});
        doc["task"]["status"] = "failed";
    } else {
        // A line that is not written here is made from the folder when the index is next read.
        (void)review::update_index(config.data_dir, t.id);
    }

    out.id = t.id;
    out.dir = t.dir;
    out.machine = m.name;
    out.ok = !t.failed();
    out.failed_stage = t.failed_stage;
    out.error = t.error;
    out.run_seconds = static_cast<double>(t.timeout.count());
    out.wall_seconds = since(wall_start);
    out.report = std::move(doc);
    return out;
}

}  // namespace botscope::tasks
