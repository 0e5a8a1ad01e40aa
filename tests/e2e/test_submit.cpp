// End to end on the real test guest: libvirtd, the TCG VM, the static agent on virtio-serial,
// libpcap on the VM's tap, the analysis, and the report, all through the `botscope` command.
// Faults are real too: a stopped VM, a silent agent, a missing snapshot, no libvirtd.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "capture/live_capture.h"
#include "machinery/machinery.h"
#include "tasks/agent_session.h"
#include "tasks/config.h"
#include "vm_harness.h"

namespace botscope::e2e::test_submit {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

bool any_process(const json& report, const std::string& needle) {
    for (const auto& e : report["guest"]["processes"]["events"])
        if (e["type"] == "start" &&
            e["cmdline"].get<std::string>().find(needle) != std::string::npos)
            return true;
    return false;
}

bool has_flow(const json& report, const std::string& resp_ip, int port, const std::string& proto) {
    for (const auto& f : report["network"]["flows"]["list"])
        if (f["orig"]["ip"] == "10.66.0.10" && f["resp"]["ip"] == resp_ip &&
            f["resp"]["port"] == port && f["proto"] == proto)
            return true;
    return false;
}

// The stages are consecutive steps of one submission: each takes some time, and together they
// take no longer than the command that the test timed from outside.
void check_stages(const json& task, double wall_seconds, std::initializer_list<const char*> names) {
    INFO("stages: " << task["stages"].dump() << ", submit took " << wall_seconds << " s");
    double sum = 0;
    for (const char* n : names) {
        INFO("stage " << n);
        REQUIRE(task["stages"].contains(n));
        REQUIRE(task["stages"][n].is_number());
        const double s = task["stages"][n].get<double>();
        CHECK(s > 0.0);
        sum += s;
    }
    CHECK(sum <= wall_seconds);
}

bool asked_cnc(const json& report) {
    for (const auto& t : report["network"]["dns"]["transactions"])
        if (t["query"] == "cnc.botscope.test")
            return true;
    return false;
}

std::string file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// What fakenet has recorded so far for `task` (its live status), 0 when it serves no such task.
int fakenet_records(const Sandbox& box, const std::string& task) {
    Run r = botscope(box.with({"fakenet", "status", "--json"}), std::chrono::seconds(10));
    json s = json::parse(r.out, nullptr, false);
    if (s.is_discarded() || !s.contains("tasks"))
        return 0;
    for (const auto& t : s["tasks"])
        if (t["task"] == task)
            return t["records"].get<int>();
    return 0;
}

// A stage that ends at a deadline or an event overruns it by at most one of its polls (the run
// stage asks libvirt for the VM's state every 500 ms; the agent's connect retries) and one
// answer from libvirt or the agent on a loaded TCG host: this covers that.
constexpr double kMargin = 2.0;

}  // namespace

TEST_CASE("submit: the report shows the sample's connections, its processes and stage timings") {
    constexpr double kTimeout = 6;
    Sandbox box("timeout = 6");
    Run r = botscope(box.with({"submit", sample(), "--json"}));
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    json rep = parse_json(r);
    const json& task = rep["task"];
    CHECK(rep["kind"] == "task");
    CHECK(task["status"] == "completed");
    CHECK(task["machine"]["name"] == "testguest");
    CHECK(task["machine"]["domain"] == kDomain);
    CHECK(task["machine"]["interface"].get<std::string>().rfind("vnet", 0) == 0);
    check_stages(task, r.seconds,
                 {"fakenet", "revert", "capture", "inject", "run", "collect", "cleanup", "analyse",
                  "report"});
    CHECK(task["stages"]["run"].get<double>() >= kTimeout);
    CHECK(task["stages"]["run"].get<double>() < kTimeout + kMargin);

    // What ran: the sample under its guest name, and the programs it started.
    CHECK(task["sample"]["guest_name"] == "sample.sh");
    // The agent polls the process table (every 100 ms in the guest): a child that lives a
    // second is always seen, nslookup and nc (a few ms against a closed port) may not be.
    CHECK(any_process(rep, "/root/work/sample.sh"));
    CHECK(any_process(rep, "sleep 1"));
    bool dropped = false;
    for (const auto& f : rep["guest"]["dropped"]["files"])
        dropped = dropped || f["path"] == "/tmp/netprobe.log";
    CHECK(dropped);

    // What it did on the wire, from the capture of the VM's tap.
    CHECK(task["capture"]["packets"].get<int>() > 0);
    CHECK(task["capture"]["truncated"] == false);
    CHECK(fs::file_size(box.data / "tasks" / task["id"].get<std::string>() / "dump.pcap") ==
          task["capture"]["bytes"].get<std::uint64_t>());
    CHECK(asked_cnc(rep));
    CHECK(has_flow(rep, "10.66.0.1", 53, "udp"));
    CHECK(has_flow(rep, "10.66.0.1", 6667, "tcp"));
    CHECK(has_flow(rep, "10.66.0.1", 80, "tcp"));
    // fakenet answered them: the name resolves, the connections are accepted.
    REQUIRE(rep["fakenet"]["status"] == "ok");
    bool answered = false;
    for (const auto& d : rep["fakenet"]["dns"]["list"])
        answered = answered || (d["name"] == "cnc.botscope.test" && d["answers"][0] == "10.66.0.1");
    CHECK(answered);
    CHECK(rep["fakenet"]["counts"]["tcp"].get<int>() + rep["fakenet"]["counts"]["irc"].get<int>() +
              rep["fakenet"]["counts"]["http"].get<int>() >=
          2);
    // The agent's channel is virtio-serial: none of its frames (each starts with the magic
    // "BSA1", guest-agent/PROTOCOL.md) are anywhere in the capture, nor the sample it carried.
    const std::string pcap =
        file_bytes(box.data / "tasks" / task["id"].get<std::string>() / "dump.pcap");
    CHECK(pcap.find("BSA1") == std::string::npos);
    CHECK(pcap.find("netprobe $$") == std::string::npos);
    // The capture is of the guest's tap: every flow has the guest at one end.
    for (const auto& f : rep["network"]["flows"]["list"]) {
        INFO(f.dump());
        CHECK((f["orig"]["ip"] == "10.66.0.10" || f["resp"]["ip"] == "10.66.0.10"));
    }

    // task.log: each stage as it started, in order.
    std::ifstream log(box.data / "tasks" / task["id"].get<std::string>() / "task.log");
    std::string text((std::istreambuf_iterator<char>(log)), {});
    std::size_t at = 0;
    for (const char* stage : {" fakenet\n", " revert\n", " capture\n", " inject\n", " run\n",
                              " collect\n", " cleanup\n", " analyse\n", " report\n"}) {
        INFO("task.log: " << text << " stage" << stage);
        at = text.find(stage, at);
        CHECK(at != std::string::npos);
    }

    // The file on disk is the report printed.
    std::ifstream in(box.data / "tasks" / task["id"].get<std::string>() / "report.json");
    json stored = json::parse(in, nullptr, false);
    CHECK(stored == rep);
}

TEST_CASE("fault: libvirtd not running gives a clear message, at once, and no quarantine") {
    Sandbox box("libvirt_uri = qemu:///system?socket=/nonexistent/libvirt-sock");
    Run r = botscope(box.with({"submit", sample(), "--json"}));
    CHECK(r.exit_code == 5);
    CHECK(r.seconds < 10);
    json rep = parse_json(r);
    CHECK(rep["task"]["error"]["stage"] == "revert");
    CHECK(rep["task"]["error"]["code"] == "no_daemon");
    CHECK(r.err.find("Is libvirtd running?") != std::string::npos);
    CHECK(rep["task"]["error"]["machine_quarantined"] == false);
    Run l = botscope(box.with({"vm", "list", "--json"}));
    CHECK(l.exit_code == 0);
    CHECK(parse_json(l)[0]["health"]["consecutive_failures"] == 0);
}

TEST_CASE("fault: a missing snapshot names it") {
    Sandbox box("", "snapshot = no-such-snapshot");
    Run r = botscope(box.with({"submit", sample()}));
    CHECK(r.exit_code == 5);
    CHECK(r.seconds < 30);
    CHECK(r.err.find("no-such-snapshot") != std::string::npos);
    CHECK(r.err.find(kDomain) != std::string::npos);
    CHECK(r.out.find("failed    revert: ") != std::string::npos);
}

TEST_CASE("fault: the domain destroyed mid-run fails the task; the next submission recovers") {
    Sandbox box("timeout = 40");
    Run busy;
    double destroyed_into_run = -1;  // seconds from the run's start to the domain's end
    std::thread killer([&] {
        wait_for_stage(box.data / "tasks" / "1", "run");
        const auto run_seen = std::chrono::steady_clock::now();
        // Another controller, with its own data directory, must not take the same VM.
        Sandbox other;
        busy = botscope(other.with({"vm", "check", "testguest"}));
        // The VM dies once fakenet has served the task: the sample's lookup has crossed the tap.
        for (int i = 0; i < 300 && fakenet_records(box, "1") < 1; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto hv = machinery::Hypervisor::connect("qemu:///system");
        if (hv && hv->destroy(kDomain))
            destroyed_into_run =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - run_seen).count();
    });
    Run r = botscope(box.with({"submit", sample(), "--json"}));
    killer.join();
    CHECK(busy.exit_code == 6);
    CHECK(busy.err.find("running another task") != std::string::npos);
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 5);
    json rep = parse_json(r);
    // Noticed at once, not at the end of the 40 s run. task.log is polled every 100 ms, so the
    // run began up to that much before the killer saw it.
    REQUIRE(destroyed_into_run > 0);
    CHECK(rep["task"]["stages"]["run"].get<double>() < destroyed_into_run + 0.1 + kMargin);
    CHECK(rep["task"]["status"] == "failed");
    CHECK(rep["task"]["error"]["stage"] == "run");
    CHECK(rep["task"]["error"]["code"] == "vm_stopped");
    CHECK(rep["task"]["error"]["message"].get<std::string>().find("stopped") != std::string::npos);
    // What was captured before the VM died is still analysed: the sample's first lookup.
    CHECK(rep["task"]["capture"]["packets"].get<int>() > 0);
    CHECK(asked_cnc(rep));
    CHECK(has_flow(rep, "10.66.0.1", 53, "udp"));

    Sandbox again("timeout = 2");
    Run ok = botscope(again.with({"submit", sample(), "--json", "--data-dir", box.data.string()}));
    INFO("stderr: " << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(parse_json(ok)["task"]["status"] == "completed");
}

TEST_CASE("fault: an agent that never answers hits the deadline, twice means quarantine") {
    // A running snapshot whose agent is stopped (SIGSTOP): qemu still accepts on the channel's
    // socket, nothing answers.
    auto hv = machinery::Hypervisor::connect("qemu:///system");
    REQUIRE(hv);
    (void)hv->delete_snapshot(kDomain, "noagent");
    REQUIRE(hv->revert(kDomain, "clean"));
    auto dev = hv->live_devices(kDomain);
    REQUIRE(dev);
    tasks::Machine m = tasks::default_config().machines.front();
    m.secret_file = secret_file();
    auto secret = tasks::read_secret(m);
    REQUIRE(secret);
    {
        auto c =
            tasks::connect_agent(m, dev->agent_socket, secret.value(), std::chrono::seconds(20));
        REQUIRE(c);
        std::string script = "#!/bin/sh\n(sleep 1; kill -STOP $(pidof botscope-agent)) &\n";
        REQUIRE(c->put("stop.sh",
                       {reinterpret_cast<const std::uint8_t*>(script.data()), script.size()}));
        REQUIRE(c->exec("stop.sh"));
    }
    // The script stops the agent a second after exec has answered: the snapshot is taken once
    // the agent no longer answers a connection, not after a guessed time.
    bool silent = false;
    for (int i = 0; i < 30 && !silent; ++i) {
        silent =
            !tasks::connect_agent(m, dev->agent_socket, secret.value(), std::chrono::seconds(2));
        if (!silent)
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    REQUIRE(silent);
    REQUIRE(hv->create_snapshot(kDomain, "noagent"));
    struct Cleanup {
        machinery::Hypervisor& hv;
        ~Cleanup() {
            (void)hv.delete_snapshot(kDomain, "noagent");
            (void)hv.destroy(kDomain);
        }
    } cleanup{hv.value()};

    constexpr double kAgentTimeout = 3;
    Sandbox box("agent_timeout = 3", "snapshot = noagent");
    for (int attempt = 1; attempt <= 2; ++attempt) {
        Run r = botscope(box.with({"submit", sample(), "--json"}));
        INFO("attempt " << attempt << " stderr: " << r.err);
        CHECK(r.exit_code == 5);
        json rep = parse_json(r);
        // The deadline is the agent's: the inject stage waits for it, and no longer.
        CHECK(rep["task"]["stages"]["inject"].get<double>() >= kAgentTimeout);
        CHECK(rep["task"]["stages"]["inject"].get<double>() < kAgentTimeout + kMargin);
        CHECK(rep["task"]["error"]["stage"] == "inject");
        CHECK(rep["task"]["error"]["code"] == "agent_timeout");
        CHECK(rep["task"]["error"]["machine_quarantined"] == (attempt == 2));
    }
    Run l = botscope(box.with({"vm", "list", "--json"}));
    REQUIRE(l.exit_code == 0);
    json health = parse_json(l)[0]["health"];
    CHECK(health["quarantined"] == true);
    CHECK(health["last_error"].get<std::string>().find("did not answer") != std::string::npos);
    Run text = botscope(box.with({"vm", "list"}));
    CHECK(text.out.find("QUARANTINED") != std::string::npos);

    Run refused = botscope(box.with({"submit", sample()}));
    CHECK(refused.exit_code == 6);
    CHECK(refused.err.find("quarantined") != std::string::npos);

    Run rel = botscope(box.with({"vm", "release", "testguest"}));
    CHECK(rel.exit_code == 0);
    CHECK(rel.out.find("released") != std::string::npos);
    Run after = botscope(box.with({"vm", "list", "--json"}));
    CHECK(parse_json(after)[0]["health"]["quarantined"] == false);
}

TEST_CASE("vm check reverts the test guest and reaches its agent") {
    Sandbox box;
    Run r = botscope(box.with({"vm", "check", "testguest", "--json"}));
    INFO("stderr: " << r.err << "\nstdout: " << r.out);
    CHECK(r.exit_code == 0);
    json j = parse_json(r);
    CHECK(j["ok"] == true);
    std::vector<std::string> steps;
    for (const auto& s : j["steps"])
        steps.push_back(s["step"]);
    CHECK(steps == std::vector<std::string>{"libvirt", "snapshot", "revert", "devices", "agent",
                                            "poweroff"});
}

}  // namespace botscope::e2e::test_submit
