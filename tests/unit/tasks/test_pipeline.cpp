// The task pipeline without a VM: the real run_task, the real agent client, the real capture
// (on lo) and the real quarantine store, with the hypervisor and the guest agent played by the
// test (FakeMachinery below, fake_agent.h). What cannot be checked without a VM (a real revert,
// a real agent in a real guest) is tests/e2e's.
//
// Two halves: the pipeline's own decisions (revert retry, what counts towards quarantine,
// destroy_after, the dropped-file cap, falling back to the next machine, --timeout, --machine),
// and a hostile agent (endless pages, huge entries, 20,000 fetches with wrong hashes, an
// impostor after exec, an agent idle past its deadline), where collect must end within its
// deadline with bounded memory, the report must stay under its cap, and the machine must not
// be quarantined for what the sample did.

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "fake_agent.h"
#include "machinery/quarantine.h"
#include "protocol/protocol.h"
#include "support/bot_traffic.h"
#include "support/report_check.h"
#include "tasks/analysis_child.h"
#include "tasks/machine_lock.h"
#include "tasks/pool.h"
#include "tasks/task_runner.h"
#include "tasks/task_store.h"
#include "util/hash.h"

// Each case names only the fields it sets (designated initializers); the rest keep defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace botscope::tasks::test_pipeline {

namespace {

namespace fs = std::filesystem;
using botscope::testing::check_reports_before_removal;
using botscope::testing::ep;
using botscope::testing::kSecond;
using botscope::testing::PcapStreamWriter;
using botscope::testing::spoofed_syn_flood;
using test::Behaviour;
using test::FakeAgent;
using Json = nlohmann::json;

/// What the fake hypervisor does, per domain, and what it was asked.
struct World {
    std::mutex mu;
    std::map<std::string, int> revert_failures;       ///< transient failures before a revert works
    std::map<std::string, std::string> revert_error;  ///< a lasting failure code
    std::map<std::string, std::string> state;         ///< default "running"
    std::map<std::string, int> reverts, destroys, connects;
    std::string agent_socket;
    std::map<std::string, std::string> sockets;  ///< a domain's own agent (the pool's tests)
};

class FakeMachinery final : public Machinery {
public:
    explicit FakeMachinery(std::shared_ptr<World> w) : w_(std::move(w)) {}
    util::Result<util::Done> revert(const std::string& domain, const std::string&) override {
        std::lock_guard lock(w_->mu);
        ++w_->reverts[domain];
        if (auto e = w_->revert_error.find(domain); e != w_->revert_error.end())
            return util::Error{e->second, "domain " + domain + ": " + e->second};
        if (w_->revert_failures[domain] > 0) {
            --w_->revert_failures[domain];
            alive_ = false;  // as Hypervisor after a timeout: the task must connect again
            return util::Error{"timeout", "libvirt did not answer (played)"};
        }
        return util::Done{};
    }
    util::Result<machinery::LiveDevices> live_devices(const std::string& domain,
                                                      const std::string&) override {
        std::lock_guard lock(w_->mu);
        machinery::LiveDevices d;
        auto own = w_->sockets.find(domain);
        d.agent_socket = own != w_->sockets.end() ? own->second : w_->agent_socket;
        return d;
    }
    util::Result<machinery::DomainState> state(const std::string& domain) override {
        std::lock_guard lock(w_->mu);
        auto s = w_->state.find(domain);
        return machinery::DomainState{s == w_->state.end() ? "running" : s->second, "played"};
    }
    util::Result<util::Done> destroy(const std::string& domain) override {
        std::lock_guard lock(w_->mu);
        ++w_->destroys[domain];
        return util::Done{};
    }
    bool alive() const override { return alive_; }

private:
    std::shared_ptr<World> w_;
    bool alive_ = true;
};

std::string random_tag() {
    std::mt19937_64 r{std::random_device{}()};
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r()));
    return buf;
}

/// A data directory, a secret, a sample and two machines (A and B) on fake domains, captured
/// on lo; fakenet off. The domains are unique per fixture so machine locks never collide with
/// another test or a real task.
struct Pipeline {
    Pipeline() {
        dir = fs::temp_directory_path() / ("botscope-pipeline-" + random_tag());
        fs::create_directories(dir);
        secret.assign(32, 0);
        std::mt19937 r{std::random_device{}()};
        for (auto& b : secret)
            b = static_cast<std::uint8_t>(r());
        { std::ofstream(dir / "agent.secret") << agent::proto::to_hex(secret); }
        ::chmod((dir / "agent.secret").c_str(), 0600);
        std::ofstream(dir / "sample.bin") << std::string(4096, 'S');
        config.data_dir = dir / "data";
        config.timeout = std::chrono::seconds(1);
        config.agent_timeout = std::chrono::seconds(5);
        config.collect_timeout = std::chrono::seconds(20);
        config.fakenet.enabled = false;
        const std::string tag = random_tag().substr(0, 8);
        for (const char* name : {"A", "B"}) {
            Machine m;
            m.name = name;
            m.domain = std::string("botscope-fake-") + name + "-" + tag;
            m.ip = "10.66.0.10";
            m.secret_file = dir / "agent.secret";
            m.interface = "lo";
            config.machines.push_back(m);
        }
        world->agent_socket = (dir / "agent.sock").string();
        backends.connect = [w = world](const Config&) {
            {
                std::lock_guard lock(w->mu);
                ++w->connects["all"];
            }
            return util::Result<std::unique_ptr<Machinery>>(
                std::unique_ptr<Machinery>(std::make_unique<FakeMachinery>(w)));
        };
        backends.isolate = [](const Config&) { return util::Result<util::Done>(util::Done{}); };
        const char* bin = std::getenv("BOTSCOPE_BIN");
        REQUIRE_MESSAGE(bin != nullptr, "BOTSCOPE_BIN names the botscope binary (set by ctest)");
        backends.analyzer = bin;
    }
    ~Pipeline() {
        // Every task's folder, failed ones included, holds a report (and logs) to check.
        check_reports_before_removal(dir);
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    std::unique_ptr<FakeAgent> agent(Behaviour b = {}) {
        return std::make_unique<FakeAgent>(world->agent_socket, secret, b);
    }

    TaskOutcome run(SubmitRequest req = {}) {
        req.sample = dir / "sample.bin";
        auto r = run_task(config, req, {}, backends);
        REQUIRE_MESSAGE(r.ok(), r.error().text());
        // What is on disk is what a user reads: the outcome must be that file.
        std::ifstream in(r->dir / "report.json");
        REQUIRE(in);
        Json disk = Json::parse(in);
        CHECK(disk["task"]["id"] == r->id);
        return std::move(r.value());
    }

    machinery::MachineHealth health(const std::string& machine) {
        machinery::QuarantineStore store(config.data_dir / "machines");
        auto h = store.get(machine);
        REQUIRE(h.ok());
        return h.value();
    }

    double stage(const TaskOutcome& o, const char* name) {
        const Json& s = o.report["task"]["stages"];
        REQUIRE_MESSAGE(s.contains(name), name);
        return s[name].get<double>();
    }

    fs::path dir;
    std::vector<std::uint8_t> secret;
    Config config;
    std::shared_ptr<World> world = std::make_shared<World>();
    Backends backends;
};

bool has_warning(const TaskOutcome& o, std::string_view text) {
    for (const auto& w : o.report["task"]["warnings"])
        if (w.get<std::string>().find(text) != std::string::npos)
            return true;
    return false;
}

std::size_t count_files(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec))
        return 0;
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {}));
}

}  // namespace

TEST_CASE("pipeline: an honest agent, every stage, a fresh handshake for collect") {
    Pipeline p;
    auto a = p.agent({.dropped = 2, .file_size = 3000});
    auto o = p.run();
    REQUIRE_MESSAGE(o.ok, o.error.text());
    CHECK(o.machine == "A");
    for (const char* s : {"revert", "capture", "inject", "run", "collect", "cleanup", "report"})
        CHECK(o.report["task"]["stages"].contains(s));
    // Inject and collect each authenticate.
    CHECK(a->sessions() == 2);
    const auto ops = a->ops();
    CHECK(std::count(ops.begin(), ops.end(), "exec") == 1);
    CHECK(std::count(ops.begin(), ops.end(), "kill") == 1);
    const Json& files = o.report["guest"]["dropped"]["files"];
    REQUIRE(files.size() == 2);
    for (const auto& f : files) {
        CHECK(f["size"] == 3000);
        CHECK_FALSE(f.contains("mismatch"));
        REQUIRE(f["stored"].is_string());
        CHECK(fs::file_size(o.dir / f["stored"].get<std::string>()) == 3000);
    }
    CHECK(o.report["guest"]["processes"]["events"].size() == 2);
    CHECK(o.report["guest"]["lists"]["processes"]["truncated"] == false);
    CHECK(p.world->destroys[p.config.machines[0].domain] == 1);
    CHECK(p.health("A").consecutive_failures == 0);
    // The capture was analysed (in a child) and its flows logged beside the report.
    CHECK(o.report["task"]["stages"].contains("analyse"));
    CHECK(o.report["network"]["capture"]["packets"].is_number_unsigned());
    const Json& logs = o.report["logs"];
    REQUIRE(logs.size() == 10);
    for (const auto& l : logs)
        CHECK(fs::exists(o.dir / l["name"].get<std::string>()));
    CHECK(logs[0]["name"] == "flows.jsonl");
    // YARA went over the sample, kept in the folder, and the dropped files: once each, and
    // the fake agent's two files have the same bytes.
    CHECK(files[0]["stored"] == files[1]["stored"]);
    const Json& sig = o.report["signatures"];
    CHECK(o.report["task"]["stages"].contains("signatures"));
    CHECK(sig["status"] == "ok");
    REQUIRE(sig["scans"].size() == 2);
    CHECK(sig["scans"][0]["kind"] == "sample");
    CHECK(fs::file_size(o.dir / "sample") == 4096);
    CHECK(sig["scans"][1]["kind"] == "dropped");
    CHECK(sig["scans"][1]["file"] == files[0]["stored"]);
    for (const auto& scan : sig["scans"])
        CHECK(scan["status"] == "ok");
    // The capture's streams went through the bundled network rules, and the report ends
    // with its verdict.
    CHECK(o.report["network"]["signatures"]["status"] == "ok");
    CHECK(o.report["network"]["signatures"]["rules"].get<int>() >= 3);
    CHECK(o.report["verdict"]["score"].is_number_integer());
    CHECK(o.report["traits"]["hashes"][0]["role"] == "sample");
}

TEST_CASE("pipeline: YARA rules from rules_dir match the sample; broken rules stop the task") {
    Pipeline p;
    auto a = p.agent();
    fs::create_directories(p.dir / "rules");
    std::ofstream(p.dir / "rules" / "s.yar")
        << "rule all_s : test { strings: $s = \"SSSSSSSS\" condition: #s > 100 }\n";
    fs::create_directories(p.dir / "rules" / "network");
    std::ofstream(p.dir / "rules" / "network" / "n.yar") << "rule net_any { condition: false }\n";
    p.config.rules_dirs = {p.dir / "rules"};
    p.config.signatures_dir = p.dir / "no-signatures";
    auto o = p.run();
    REQUIRE_MESSAGE(o.ok, o.error.text());
    const Json& sample = o.report["signatures"]["scans"][0];
    REQUIRE(sample["matches"].size() == 1);
    CHECK(sample["matches"][0]["rule"] == "all_s");
    CHECK(sample["matches"][0]["namespace"] == "rules");
    CHECK(sample["matches"][0]["strings"].size() == 32);  // of thousands, capped
    // The analysis child matched the streams with the tree's network folder, and only it.
    CHECK(o.report["network"]["signatures"]["status"] == "ok");
    CHECK(o.report["network"]["signatures"]["rules"] == 1);
    CHECK(o.report["verdict"]["family"].is_null());
    CHECK(o.report["verdict"]["signatures"][0]["name"] == "yara_match");

    std::ofstream(p.dir / "rules" / "broken.yar") << "rule broken { condition: nope }\n";
    const auto destroys = p.world->destroys[p.config.machines[0].domain];
    auto r = run_task(p.config, {.sample = p.dir / "sample.bin"}, {}, p.backends);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "signatures");
    CHECK(r.error().message.find("broken.yar:1: error: undefined identifier") != std::string::npos);
    CHECK(p.world->destroys[p.config.machines[0].domain] == destroys);  // no VM was used
}

TEST_CASE("pipeline: a revert that fails once is retried on a new connection") {
    Pipeline p;
    auto a = p.agent();
    p.world->revert_failures[p.config.machines[0].domain] = 1;
    auto o = p.run();
    CHECK_MESSAGE(o.ok, o.error.text());
    CHECK(p.world->reverts[p.config.machines[0].domain] == 2);
    CHECK(p.world->connects["all"] == 2);
    CHECK(has_warning(o, "revert failed, retrying once"));
}

TEST_CASE("pipeline: failures before the sample runs count; twice quarantines; the pool goes on") {
    Pipeline p;
    auto a = p.agent();
    p.world->revert_error[p.config.machines[0].domain] = "no_snapshot";
    auto first = p.run();
    CHECK_FALSE(first.ok);
    CHECK(first.failed_stage == "revert");
    CHECK(first.error.code == "no_snapshot");
    CHECK(p.world->reverts[p.config.machines[0].domain] == 1);  // lasting: not retried
    CHECK(p.health("A").consecutive_failures == 1);
    CHECK_FALSE(first.quarantined);

    auto second = p.run({.machine = "A"});
    CHECK_FALSE(second.ok);
    CHECK(second.quarantined);
    CHECK(second.report["task"]["error"]["machine_quarantined"] == true);
    CHECK(p.health("A").quarantined);

    // The quarantined machine is passed over, the next one takes the task.
    auto third = p.run();
    CHECK_MESSAGE(third.ok, third.error.text());
    CHECK(third.machine == "B");
    auto refused =
        run_task(p.config, {.sample = p.dir / "sample.bin", .machine = "A"}, {}, p.backends);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "no_machine");
    CHECK(refused.error().message.find("quarantined") != std::string::npos);
}

TEST_CASE("pipeline: the VM stopping under the sample fails the run, not the machine") {
    Pipeline p;
    auto a = p.agent();
    p.world->state[p.config.machines[0].domain] = "shutoff";
    p.config.timeout = std::chrono::seconds(5);
    for (int i = 0; i < 3; ++i) {
        auto o = p.run({.machine = "A"});
        CHECK_FALSE(o.ok);
        CHECK(o.failed_stage == "run");
        CHECK(o.error.code == "vm_stopped");
        // Noticed at the first state poll, not at the end of the run time.
        CHECK(p.stage(o, "run") < 2.0);
        CHECK_FALSE(o.quarantined);
        CHECK(has_warning(o, "not counted towards the machine's quarantine"));
    }
    CHECK(p.health("A").consecutive_failures == 0);
    CHECK_FALSE(p.health("A").quarantined);
}

TEST_CASE("pipeline: an agent failing before the exec counts towards quarantine") {
    Pipeline p;
    auto a = p.agent({.fail_put = true});
    auto o = p.run();
    CHECK_FALSE(o.ok);
    CHECK(o.failed_stage == "inject");
    CHECK(o.error.code == "io_error");
    CHECK(p.health("A").consecutive_failures == 1);
    const auto ops = a->ops();
    CHECK(std::count(ops.begin(), ops.end(), "exec") == 0);
}

TEST_CASE("pipeline: destroy_after decides whether the VM is powered off") {
    Pipeline p;
    auto a = p.agent();
    p.config.destroy_after = false;
    CHECK(p.run().ok);
    CHECK(p.world->destroys[p.config.machines[0].domain] == 0);
    p.config.destroy_after = true;
    CHECK(p.run().ok);
    CHECK(p.world->destroys[p.config.machines[0].domain] == 1);
}

TEST_CASE("pipeline: --timeout is the run stage; --machine picks one or lists them") {
    Pipeline p;
    auto a = p.agent();
    auto o = p.run({.timeout = std::chrono::seconds(2), .machine = "B"});
    CHECK(o.ok);
    CHECK(o.machine == "B");
    CHECK(o.report["task"]["timeout"] == 2);
    CHECK(p.stage(o, "run") >= 2.0);
    CHECK(p.stage(o, "run") < 3.0);
    auto unknown =
        run_task(p.config, {.sample = p.dir / "sample.bin", .machine = "C"}, {}, p.backends);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().code == "unknown_machine");
    CHECK(unknown.error().message.find("machines: A, B") != std::string::npos);
}

TEST_CASE("pipeline: a machine another task holds is skipped for the next one") {
    Pipeline p;
    auto a = p.agent();
    auto held = MachineLock::try_lock(p.config.machines[0]);
    REQUIRE(held.ok());
    auto o = p.run();
    CHECK(o.ok);
    CHECK(o.machine == "B");
}

TEST_CASE("pipeline: dropped files past dropped_max_mb are listed, not fetched") {
    Pipeline p;
    auto a = p.agent({.dropped = 3, .file_size = 600 * 1024});
    p.config.dropped_max_bytes = 1 << 20;
    auto o = p.run();
    REQUIRE(o.ok);
    const Json& files = o.report["guest"]["dropped"]["files"];
    REQUIRE(files.size() == 3);
    CHECK(files[0]["stored"].is_string());
    for (int i : {1, 2}) {
        CHECK(files[i]["stored"].is_null());
        CHECK(files[i]["not_stored"].get<std::string>().find("dropped_max_mb") !=
              std::string::npos);
    }
    CHECK(count_files(o.dir / "files") == 1);
    const auto ops = a->ops();
    CHECK(std::count(ops.begin(), ops.end(), "fetch") == 1);
}

TEST_CASE("pipeline: a FIFO or a directory as the sample is refused at once") {
    Pipeline p;
    fs::path fifo = p.dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (const fs::path& s : {fifo, p.dir}) {
        auto r = run_task(p.config, {.sample = s}, {}, p.backends);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "sample");
        CHECK(r.error().message.find("not a regular file") != std::string::npos);
    }
}

// --- a hostile agent -------------------------------------------------------------------------

TEST_CASE("hostile agent: endless pages of junk end at the protocol's caps") {
    Pipeline p;
    auto a = p.agent({.endless_pages = true});
    auto o = p.run();
    REQUIRE_MESSAGE(o.ok, o.error.text());
    const Json& lists = o.report["guest"]["lists"];
    CHECK(lists["processes"]["truncated"] == true);
    CHECK(lists["processes"]["malformed"] == agent::proto::kMaxProcessEvents);
    CHECK(lists["dropped"]["malformed"] == agent::proto::kMaxDropped);
    CHECK(lists["listening"]["malformed"] == agent::proto::kMaxSockets);
    CHECK(lists["autostart"]["malformed"] == agent::proto::kMaxAutostart);
    CHECK(lists["processes"]["why"].get<std::string>().find("4096") != std::string::npos);
    CHECK(o.report["guest"]["processes"]["events"].empty());
    const auto ops = a->ops();
    CHECK(std::count(ops.begin(), ops.end(), "processes") ==
          static_cast<long>(agent::proto::kMaxProcessEvents));
    CHECK_FALSE(o.quarantined);
}

TEST_CASE("hostile agent: slow endless pages end at collect's deadline") {
    Pipeline p;
    auto a = p.agent({.endless_pages = true, .page_delay = std::chrono::milliseconds(50)});
    p.config.collect_timeout = std::chrono::seconds(3);
    auto o = p.run();
    CHECK_FALSE(o.ok);
    CHECK(o.failed_stage == "collect");
    CHECK(o.error.text().find("deadline") != std::string::npos);
    // One deadline for the stage, not one per call.
    CHECK(p.stage(o, "collect") < 3.5);
    CHECK_FALSE(o.quarantined);
    CHECK(p.health("A").consecutive_failures == 0);
}

TEST_CASE("hostile agent: huge entries are cut; memory and the report stay bounded") {
    // In a child, so that its peak RSS is this case's alone. Sanitizers make parsing 240 MiB of
    // JSON take minutes and own the RSS figure: there the entries are smaller (still cut) and
    // only the cut and the report's size are checked.
#ifdef BOTSCOPE_SANITIZED
    constexpr bool kSanitized = true;
#else
    constexpr bool kSanitized = false;
#endif
    Pipeline p;
    p.config.collect_timeout = std::chrono::seconds(120);
    const fs::path result = p.dir / "result.json";
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int code = 1;
        {
            auto a = p.agent({.file_size = 10,
                              .field_bytes = kSanitized ? 4'096 : 30'000,
                              .process_events = agent::proto::kMaxProcessEvents});
            auto r = run_task(p.config, {.sample = p.dir / "sample.bin"}, {}, p.backends);
            if (r.ok()) {
                std::ofstream(result) << Json{{"ok", r->ok},
                                              {"error", r->error.text()},
                                              {"dir", r->dir.string()},
                                              {"sent", a->bytes_sent()}};
                code = 0;
            }
        }
        std::_Exit(code);
    }
    int status = 0;
    rusage ru{};
    REQUIRE(::wait4(pid, &status, 0, &ru) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    Json res = Json::parse(std::ifstream(result));
    CHECK_MESSAGE(res["ok"] == true, res["error"].get<std::string>());
    // The agent sent 4 096 pages of 60 KiB: 240 MiB that must not be held.
    if (!kSanitized)
        CHECK(res["sent"].get<std::uint64_t>() > (200ull << 20));
    const fs::path report = fs::path(res["dir"].get<std::string>()) / "report.json";
    Json rep = Json::parse(std::ifstream(report));
    const Json& events = rep["guest"]["processes"]["events"];
    CHECK(events.size() == agent::proto::kMaxProcessEvents);
    for (const auto& e : events) {
        CHECK(e["image"].get<std::string>().size() == agent::proto::kMaxFieldBytes);
        CHECK(e["cmdline"].get<std::string>().size() == agent::proto::kMaxFieldBytes);
    }
    // The guest part is bounded by the protocol's caps and the field cut, whatever was sent.
    CHECK(fs::file_size(report) < (32ull << 20));
    MESSAGE("peak RSS of the task: ", ru.ru_maxrss / 1024, " MiB; report ",
            fs::file_size(report) >> 20, " MiB");
    if (!kSanitized)
        CHECK(ru.ru_maxrss < 160 * 1024);  // KiB
}

TEST_CASE("hostile agent: 20,000 dropped files with wrong hashes: 256 tries, nothing stored") {
    Pipeline p;
    auto a = p.agent({.dropped = 20'000, .file_size = 4096, .wrong_hash = true});
    auto o = p.run();
    REQUIRE_MESSAGE(o.ok, o.error.text());
    const Json& files = o.report["guest"]["dropped"]["files"];
    CHECK(files.size() == agent::proto::kMaxDropped);
    CHECK(o.report["guest"]["dropped"]["truncated"] == true);
    for (const auto& f : files) {
        CHECK(f["stored"].is_null());
        CHECK(f["not_stored"].get<std::string>().find("hash_mismatch") != std::string::npos);
    }
    const auto ops = a->ops();
    CHECK(std::count(ops.begin(), ops.end(), "fetch") ==
          static_cast<long>(agent::proto::kMaxDropped));
    CHECK(count_files(o.dir / "files") == 0);
    CHECK_FALSE(o.quarantined);
}

TEST_CASE("hostile agent: what arrives is reported, not what was listed") {
    Pipeline p;
    SUBCASE("more than listed, within the budget: stored, flagged") {
        auto a = p.agent({.file_size = 1024, .send_size = 5000});
        auto o = p.run();
        REQUIRE(o.ok);
        const Json& f = o.report["guest"]["dropped"]["files"][0];
        CHECK(f["mismatch"] == true);
        CHECK(f["size"] == 5000);
        CHECK(f["listed"]["size"] == 1024);
        CHECK(f["sha256"] != f["listed"]["sha256"]);
        CHECK(fs::file_size(o.dir / f["stored"].get<std::string>()) == 5000);
    }
    SUBCASE("more than the budget: refused before anything is written") {
        auto a = p.agent({.file_size = 1024, .send_size = 8u << 20});
        p.config.dropped_max_bytes = 1 << 20;
        auto o = p.run();
        CHECK(o.ok);  // the process list was read; what failed after it is listed
        const Json& f = o.report["guest"]["dropped"]["files"][0];
        CHECK(f["stored"].is_null());
        CHECK(f["not_stored"].get<std::string>().find("body_too_large") != std::string::npos);
        CHECK(count_files(o.dir / "files") == 0);
        CHECK_FALSE(o.report["guest"]["errors"].empty());
        // 8 MiB were offered; the client read the header and hung up.
        CHECK(a->bytes_sent() < (8u << 20));
    }
}

TEST_CASE("hostile agent: an impostor that took the channel after exec is unmasked") {
    Pipeline p;
    auto a = p.agent({.impostor_after_exec = true});
    auto o = p.run();
    CHECK_FALSE(o.ok);
    CHECK(o.failed_stage == "collect");
    CHECK(o.error.code == "fake_agent");
    // Nothing the impostor could say was asked for.
    const auto ops = a->ops();
    CHECK(std::count(ops.begin(), ops.end(), "processes") == 0);
    CHECK(o.report["guest"]["processes"].is_null());
    CHECK_FALSE(o.quarantined);
    CHECK(p.health("A").consecutive_failures == 0);
}

TEST_CASE("hostile agent: a run longer than the agent's idle deadline still collects") {
    Pipeline p;
    auto a = p.agent({.idle_timeout = std::chrono::milliseconds(700)});
    p.config.timeout = std::chrono::seconds(2);
    auto o = p.run();
    CHECK_MESSAGE(o.ok, o.error.text());
    CHECK(a->sessions() == 2);
    CHECK(o.report["guest"]["processes"]["events"].size() == 2);
}

namespace {

/// Sets BOTSCOPE_TEST_HOOK (analyze_pcap.cpp) for the analysis children of one case.
struct TestHook {
    explicit TestHook(const char* hook) { ::setenv("BOTSCOPE_TEST_HOOK", hook, 1); }
    ~TestHook() { ::unsetenv("BOTSCOPE_TEST_HOOK"); }
};

void only_analysis_failed(Pipeline& p, const TaskOutcome& o, std::string_view reason) {
    CHECK_FALSE(o.ok);
    CHECK(o.failed_stage == "analyse");
    CHECK_MESSAGE(o.error.message.find(reason) != std::string::npos, o.error.message);
    CHECK(o.report["task"]["status"] == "failed");
    CHECK(o.report["network"]["error"] == o.error.message);
    for (const char* s : {"revert", "capture", "inject", "run", "collect", "cleanup"})
        CHECK(o.report["task"]["stages"].contains(s));
    // The capture is the sample's doing: the machine is fine, and the next task runs.
    CHECK_FALSE(o.quarantined);
    CHECK(p.health("A").consecutive_failures == 0);
    for (const auto& e : fs::directory_iterator(o.dir)) {
        const std::string name = e.path().filename().string();
        CHECK_MESSAGE(name.find(".jsonl") == std::string::npos, name);
    }
}

}  // namespace

TEST_CASE("analysis child: a capture that hangs the analysis fails that stage at its deadline") {
    Pipeline p;
    p.config.analysis_timeout = std::chrono::seconds(2);
    auto a = p.agent();
    TestHook hook("analysis-hang");
    auto o = p.run();
    only_analysis_failed(p, o, "analysis_timeout (2 s)");
    CHECK(p.stage(o, "analyse") >= 2.0);
    CHECK(p.stage(o, "analyse") < 4.0);
}

TEST_CASE("analysis child: a crash fails the analysis stage with the signal") {
    Pipeline p;
    auto a = p.agent();
    TestHook hook("analysis-crash");
    auto o = p.run();
    only_analysis_failed(p, o, "crashed (signal 6");
}

TEST_CASE("analysis child: a capture that grows the analysis past its memory limit is cut") {
    // 400,000 SYNs from spoofed sources fill the flow table (262,144 flows): about 100 MB.
    // Under the sanitizers, 20 times slower and with twice the memory per flow, 150,000 do.
#ifdef BOTSCOPE_SANITIZED
    constexpr std::uint64_t kSyns = 150'000;
#else
    constexpr std::uint64_t kSyns = 400'000;
#endif
    fs::path dir = fs::temp_directory_path() / ("botscope-analysis-" + random_tag());
    fs::create_directories(dir / "small");
    fs::create_directories(dir / "large");
    {
        PcapStreamWriter out(dir / "flood.pcap");
        spoofed_syn_flood(out, 1'136'073'600 * kSecond, ep("10.66.0.200", 80), kSyns, 100'000);
    }
    const char* bin = std::getenv("BOTSCOPE_BIN");
    REQUIRE(bin != nullptr);
    AnalysisLimits tight;
    tight.memory_bytes = 64ull << 20;
    AnalysisRun cut = analyse_in_child(bin, dir / "flood.pcap", dir / "small", "10.66.0.10", tight);
    CHECK_FALSE(cut.ok);
    CHECK_MESSAGE(cut.error.find("analysis_memory_mb (64 MB resident)") != std::string::npos,
                  cut.error);
    CHECK(count_files(dir / "small") == 0);  // no log left behind, whole or in part
    // The same capture under the default limit: analysed, so the limit was what cut it.
    AnalysisRun whole = analyse_in_child(bin, dir / "flood.pcap", dir / "large", "10.66.0.10", {});
    CHECK_MESSAGE(whole.ok, whole.error);
    CHECK(whole.peak_rss_bytes > tight.memory_bytes);
    CHECK(whole.network["capture"]["packets"] == kSyns);
    CHECK(whole.behavior["floods"].size() == 1);
    CHECK(whole.logs[0]["records"].get<std::uint64_t>() > kSyns - 1'000);
    check_reports_before_removal(dir);
    std::error_code ec;
    fs::remove_all(dir, ec);
}

// --- the pool: the same pipeline, many tasks, two machines -------------------------------------

namespace {

/// An agent of its own for each machine, so that both run at once.
std::vector<std::unique_ptr<FakeAgent>> agents_per_machine(Pipeline& p, Behaviour b = {}) {
    std::vector<std::unique_ptr<FakeAgent>> out;
    for (const auto& m : p.config.machines) {
        std::string socket = (p.dir / ("agent-" + m.name + ".sock")).string();
        p.world->sockets[m.domain] = socket;
        out.push_back(std::make_unique<FakeAgent>(socket, p.secret, b));
    }
    return out;
}

std::vector<std::uint8_t> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TaskStore open_store(const Config& config) {
    auto s = TaskStore::open(config, "test");
    REQUIRE_MESSAGE(s.ok(), s.error().text());
    return std::move(s.value());
}

/// Queues `n` samples of distinct content; their task ids.
std::vector<std::int64_t> queue_samples(Pipeline& p, TaskStore& store, int n) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < n; ++i) {
        fs::path f = p.dir / ("sample-" + std::to_string(i) + ".bin");
        std::ofstream(f) << "sample " << i << std::string(1000, 'x');
        auto s = store_sample(p.config.data_dir, f);
        REQUIRE_MESSAGE(s.ok(), s.error().text());
        auto q = store.enqueue(s->sha256, f.string(), {}, 0, false);
        REQUIRE_MESSAGE(q.ok(), q.error().text());
        ids.push_back(q->id);
    }
    return ids;
}

/// Runs the pool until every task of `ids` is reported or failed (or 120 s passed).
PoolResult run_until_done(Pipeline& p, TaskStore& store, const std::vector<std::int64_t>& ids,
                          const std::atomic<int>* stop = nullptr) {
    PoolOptions po;
    po.backends = p.backends;
    po.stop = stop;
    po.own_pending = [&] { return ids; };
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    po.keep_going = [&] {
        if (std::chrono::steady_clock::now() > give_up)
            return false;
        auto got = store.get_many(ids);
        return !got || std::any_of(got->begin(), got->end(),
                                   [](const TaskRecord& t) { return !final_state(t.state); });
    };
    auto r = run_pool(p.config, po);
    REQUIRE_MESSAGE(r.ok(), r.error().text());
    return r.value();
}

Json read_report(const Config& config, std::int64_t id) {
    std::ifstream in(config.data_dir / "tasks" / std::to_string(id) / "report.json");
    REQUIRE(in);
    return Json::parse(in);
}

/// Runs `body` in a child process, as a controller that then dies without a word (kill -9).
void as_dead_controller(const std::function<bool()>& body) {
    pid_t child = ::fork();
    if (child == 0)
        ::_exit(body() ? 0 : 1);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE("pool: two machines work through the queue, every task once, each its own sample") {
    Pipeline p;
    auto agents = agents_per_machine(p);
    auto store = open_store(p.config);
    auto ids = queue_samples(p, store, 6);
    auto r = run_until_done(p, store, ids);
    CHECK_FALSE(r.no_machine);
    std::set<std::string> machines;
    for (auto id : ids) {
        auto t = store.get(id).value();
        REQUIRE(t.has_value());
        CHECK(t->state == TaskState::reported);
        CHECK(t->attempts == 1);
        Json rep = read_report(p.config, id);
        CHECK(rep["task"]["status"] == "completed");
        CHECK(rep["task"]["sample"]["sha256"] == t->sha256);
        CHECK(rep["task"]["sample"]["path"] == t->sample_path);
        // The scan saw the sample's own bytes.
        CHECK(util::sha256_hex(read_file(p.config.data_dir / "tasks" / std::to_string(id) /
                                         "sample")) == t->sha256);
        machines.insert(rep["task"]["machine"]["name"].get<std::string>());
    }
    CHECK(machines == std::set<std::string>{"A", "B"});
    std::lock_guard lock(p.world->mu);
    CHECK(p.world->reverts[p.config.machines[0].domain] +
              p.world->reverts[p.config.machines[1].domain] ==
          6);
}

TEST_CASE(
    "pool: a machine that fails before the sample runs: quarantined, the task retried on "
    "the other") {
    Pipeline p;
    auto agents = agents_per_machine(p);
    p.world->revert_error[p.config.machines[0].domain] = "no_snapshot";
    auto store = open_store(p.config);
    auto ids = queue_samples(p, store, 4);
    auto r = run_until_done(p, store, ids);
    CHECK_FALSE(r.no_machine);
    int retried = 0;
    for (auto id : ids) {
        auto t = store.get(id).value();
        CHECK(t->state == TaskState::reported);
        Json rep = read_report(p.config, id);
        CHECK(rep["task"]["machine"]["name"] == "B");
        if (t->attempts == 2) {
            ++retried;
            CHECK(rep["task"]["attempts"] == 2);
            // The failed attempt's folder was set aside, not mixed into the retry.
            CHECK(
                fs::is_directory(p.config.data_dir / "interrupted" / (std::to_string(id) + ".1")));
        }
    }
    CHECK(retried == 2);  // A failed twice, then was quarantined
    CHECK(p.health("A").quarantined);
}

TEST_CASE("pool: with every machine quarantined the waiting tasks fail with the reason") {
    Pipeline p;
    auto agents = agents_per_machine(p);
    for (const auto& m : p.config.machines)
        p.world->revert_error[m.domain] = "no_snapshot";
    auto store = open_store(p.config);
    auto ids = queue_samples(p, store, 6);
    auto r = run_until_done(p, store, ids);
    CHECK(r.no_machine);
    CHECK(r.why.find("quarantined") != std::string::npos);
    for (auto id : ids) {
        auto t = store.get(id).value();
        CHECK(t->state == TaskState::failed);
        CHECK_FALSE(t->error.empty());
    }
}

TEST_CASE("pool: a second stop aborts the run; the VM is powered off and the task queued again") {
    Pipeline p;
    auto agents = agents_per_machine(p);
    p.config.timeout = std::chrono::seconds(60);
    p.config.machines.resize(1);
    auto store = open_store(p.config);
    auto ids = queue_samples(p, store, 1);
    std::atomic<int> stop{0};
    std::thread signaller([&] {
        auto s = TaskStore::open(p.config, "watcher");
        for (int i = 0; i < 200; ++i) {
            auto t = s->get(ids[0]);
            if (t && t.value() && t.value()->stage == "run")
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        stop = 1;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        stop = 2;
    });
    const auto start = std::chrono::steady_clock::now();
    run_until_done(p, store, ids, &stop);
    signaller.join();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
    auto t = store.get(ids[0]).value();
    CHECK(t->state == TaskState::pending);
    CHECK(t->attempts == 0);  // a run the user stopped does not count
    CHECK(p.world->destroys[p.config.machines[0].domain] == 1);
    CHECK_FALSE(fs::exists(p.config.data_dir / "tasks" / std::to_string(ids[0])));
    CHECK(fs::is_directory(p.config.data_dir / "interrupted" / (std::to_string(ids[0]) + ".1")));
}

TEST_CASE("recovery: a dead controller's run is queued again and its analysis done again") {
    Pipeline p;
    auto store = open_store(p.config);
    auto ids = queue_samples(p, store, 2);
    const Machine& a = p.config.machines[0];
    // Task 1: the controller died during its run, leaving half a capture.
    // Task 2: it died during the analysis; what the VM produced is on disk.
    // (Forked before the agents' threads start: a child forked beside them could find the
    // allocator's lock held.)
    as_dead_controller([&] {
        auto s = TaskStore::open(p.config, "dead");
        std::string me = new_controller_id();
        return s && s->register_controller(me) && s->claim(me, "A", "linux", ids[0]).ok() &&
               s->claim(me, "A", "linux", ids[1]).ok() && s->to_analysing(ids[1], me).ok();
    });
    auto agents = agents_per_machine(p);
    auto dir1 = make_task_dir(p.config.data_dir, std::to_string(ids[0]));
    REQUIRE(dir1.ok());
    std::ofstream(dir1.value() / "dump.pcap") << "half a capture";
    auto t2 = store.get(ids[1]).value();
    auto dir2 = make_task_dir(p.config.data_dir, std::to_string(ids[1]));
    REQUIRE(dir2.ok());
    MachineRun vm = run_on_machine(p.config, a, *t2, dir2.value(), {}, p.backends);
    REQUIRE_MESSAGE(vm.ok, vm.error.text());
    int reverts_before = p.world->reverts[a.domain];

    run_until_done(p, store, ids);
    auto r1 = store.get(ids[0]).value();
    CHECK(r1->state == TaskState::reported);
    CHECK(r1->attempts == 2);
    CHECK(fs::exists(p.config.data_dir / "interrupted" / (std::to_string(ids[0]) + ".1") /
                     "dump.pcap"));
    auto r2 = store.get(ids[1]).value();
    CHECK(r2->state == TaskState::reported);
    CHECK(r2->attempts == 1);
    Json rep2 = read_report(p.config, ids[1]);
    CHECK(rep2["task"]["status"] == "completed");
    CHECK(rep2["network"]["capture"]["packets"].is_number_unsigned());
    // Task 2 was not run again; task 1 was, once; and the VM the dead controller left running
    // was powered off.
    std::lock_guard lock(p.world->mu);
    CHECK(p.world->reverts[a.domain] + p.world->reverts[p.config.machines[1].domain] ==
          reverts_before + 1);
}

}  // namespace botscope::tasks::test_pipeline
