// End to end on the Windows-platform test machine (vm-templates/wineguest): the real libvirtd, a
// TCG guest, the real Windows agent (botscope-agent.exe) and a real PE sample, both under Wine,
// the agent on the virtio-serial port. Wine stands in for a Windows VM, which this machine
// cannot run; the controller's code is the one a Windows guest gets (platform = windows).

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "machinery/machinery.h"
#include "support/report_check.h"
#include "util/hash.h"
#include "vm_harness.h"

namespace botscope::e2e::test_windows {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kWineDomain = "botscope-wineguest";
constexpr const char* kWineIp = "10.66.0.20";

std::string winprobe() {
    const char* v = std::getenv("BOTSCOPE_WINPROBE");
    REQUIRE_MESSAGE(v, "BOTSCOPE_WINPROBE names winprobe.exe (set by ctest)");
    return v;
}

/// A configuration with the Windows-platform test machine alone.
struct WinBox {
    explicit WinBox(const std::string& extra_main = "", const std::string& extra_machine = "") {
        std::random_device rd;
        root = fs::temp_directory_path() / ("botscope-e2e-win-" + std::to_string(rd()));
        fs::create_directories(root);
        config = root / "botscope.ini";
        data = root / "data";
        std::ofstream(config) << "[botscope]\ndata_dir = " << data.string() << "\n"
                              << "machines = wineguest\n"
                              << extra_main << "\n[wineguest]\ndomain = " << kWineDomain
                              << "\nplatform = windows\nip = " << kWineIp
                              << "\nsecret_file = /var/lib/botscope/wineguest/agent.secret\n"
                              << extra_machine << "\n";
    }
    ~WinBox() {
        botscope::testing::check_reports_before_removal(root);
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    std::vector<std::string> with(std::vector<std::string> args) const {
        args.push_back("--config");
        args.push_back(config.string());
        return args;
    }
    fs::path root, config, data;
};

std::string file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

const json* process_with(const json& report, const std::string& needle) {
    for (const auto& e : report["guest"]["processes"]["events"])
        if (e["type"] == "start" &&
            e["cmdline"].get<std::string>().find(needle) != std::string::npos)
            return &e;
    return nullptr;
}

}  // namespace

TEST_CASE("windows: a PE sample's processes, dropped copy, Run key, listener and C&C traffic") {
    WinBox box("timeout = 10");
    const std::string exe = winprobe();
    Run r = botscope(box.with({"submit", exe, "--json"}));
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    json rep = parse_json(r);
    const json& task = rep["task"];
    CHECK(task["status"] == "completed");
    CHECK(task["machine"]["name"] == "wineguest");
    CHECK(task["machine"]["platform"] == "windows");
    CHECK(task["sample"]["guest_name"] == "sample.exe");

    // The process tree, with command lines: the sample and the child that stays, its parent
    // the sample.
    const json* sample = process_with(rep, "sample.exe");
    const json* stay = process_with(rep, "sample.exe\" stay");
    REQUIRE(sample);
    REQUIRE(stay);
    CHECK((*sample)["image"].get<std::string>().find("sample.exe") != std::string::npos);
    CHECK((*stay)["ppid"] == (*sample)["pid"]);
    CHECK((*stay)["in_tree"] == true);

    // The copy under system32, hashed: the sample's own bytes.
    const std::string bytes = file_bytes(exe);
    const std::string sha =
        util::sha256_hex({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    bool copied = false;
    for (const auto& f : rep["guest"]["dropped"]["files"])
        copied = copied || (f["path"] == "C:\\windows\\system32\\winprobe32.exe" &&
                            f["sha256"] == sha && f["status"] == "created");
    CHECK(copied);

    // The Run key for the copy.
    bool run_key = false;
    for (const auto& a : rep["guest"]["autostart"]) {
        INFO(a.dump());
        run_key =
            run_key ||
            (a["name"] == "winprobe" && a["status"] == "added" &&
             a["value"].get<std::string>().find("winprobe32.exe") != std::string::npos &&
             a["location"].get<std::string>().find("CurrentVersion\\Run") != std::string::npos);
    }
    CHECK(run_key);

    // The backdoor it opened. Wine's socket table names no owner (pid 0: its sockets are the
    // wineserver's too), so which process listens is for a real Windows to show.
    bool listening = false;
    for (const auto& l : rep["guest"]["listening"])
        listening = listening || (l["port"] == 5555 && l["proto"] == "tcp");
    CHECK(listening);

    // Its traffic: the C&C looked up and joined, on the guest's tap, answered by fakenet.
    bool looked_up = false;
    for (const auto& t : rep["network"]["dns"]["transactions"])
        looked_up = looked_up || t["query"] == "irc.winprobe.test";
    CHECK(looked_up);
    bool irc = false;
    for (const auto& f : rep["network"]["flows"]["list"])
        irc = irc || (f["orig"]["ip"] == kWineIp && f["resp"]["port"] == 6667);
    CHECK(irc);
    CHECK(r.out.find("winprobe|4021") != std::string::npos);  // the nick, in the IRC session

    // No agent traffic in the capture: the agent's frames start with "BSA1" and carried the
    // sample, whose bytes must not be on the wire either.
    const std::string pcap =
        file_bytes(box.data / "tasks" / task["id"].get<std::string>() / "dump.pcap");
    CHECK(pcap.find("BSA1") == std::string::npos);
    CHECK(pcap.find(file_bytes(exe).substr(0x200, 64)) == std::string::npos);
    for (const auto& f : rep["network"]["flows"]["list"]) {
        INFO(f.dump());
        CHECK((f["orig"]["ip"] == kWineIp || f["resp"]["ip"] == kWineIp));
    }
}

TEST_CASE("windows over TCP: the agent's connection is not captured; a sample cannot lock it out") {
    // The machine's second agent listens on TCP 8477 for the controller's address only
    // (vm-templates/wineguest); the sample connects to it from inside the guest, 32 times, and
    // holds on to what stays open, while the controller needs a new session to collect.
    WinBox box("timeout = 8", "transport = tcp:10.66.0.20:8477");
    const char* squat = std::getenv("BOTSCOPE_WINSQUAT");
    REQUIRE_MESSAGE(squat, "BOTSCOPE_WINSQUAT names winsquat.exe (set by ctest)");
    Run r = botscope(box.with({"submit", squat, "--json"}));
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    json rep = parse_json(r);
    const json& task = rep["task"];
    CHECK(task["status"] == "completed");
    const fs::path dir = box.data / "tasks" / task["id"].get<std::string>();

    // What the sample saw: its 16 connections to the guest's address were closed at once (not
    // the controller's address), and the 16 to loopback refused (the agent listens on the
    // guest's address only).
    std::string said;
    for (const auto& f : rep["guest"]["dropped"]["files"])
        if (f["path"] == "C:\\squat.txt" && f["stored"].is_string())
            said = file_bytes(dir / f["stored"].get<std::string>());
    INFO("C:\\squat.txt: " << said);
    CHECK(said.find("targets 2 open 0 closed 16 refused 16") != std::string::npos);

    // The controller's session crossed the tap, and none of it is in the capture.
    const std::string pcap = file_bytes(dir / "dump.pcap");
    CHECK(pcap.find("BSA1") == std::string::npos);
    for (const auto& f : rep["network"]["flows"]["list"]) {
        INFO(f.dump());
        CHECK(f["resp"]["port"] != 8477);
        CHECK(f["orig"]["port"] != 8477);
    }
}

TEST_CASE("windows: a PE sample goes to the Windows machine; a Linux machine refuses it") {
    // The built-in pool: the PE file is claimed by the Windows machine only.
    Sandbox linux_only;
    Run r = botscope(linux_only.with({"submit", winprobe(), "--no-wait"}));
    CHECK(r.exit_code == 6);
    CHECK(r.err.find("no windows machine") != std::string::npos);
    Run m = botscope(linux_only.with({"submit", winprobe(), "--machine", "testguest"}));
    CHECK(m.exit_code == 6);
    CHECK(m.err.find("Windows program") != std::string::npos);
}

TEST_CASE("windows fault: a missing snapshot names it") {
    WinBox box("", "snapshot = no-such-snapshot");
    Run r = botscope(box.with({"submit", winprobe()}));
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("no-such-snapshot") != std::string::npos);
    CHECK(r.err.find(kWineDomain) != std::string::npos);
    CHECK(r.out.find("failed    revert: ") != std::string::npos);
}

TEST_CASE("windows fault: the domain destroyed mid-run fails the task; the next one recovers") {
    WinBox box("timeout = 40");
    double destroyed_into_run = -1;
    std::thread killer([&] {
        wait_for_stage(box.data / "tasks" / "1", "run");
        const auto run_seen = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::chrono::seconds(3));
        auto hv = machinery::Hypervisor::connect("qemu:///system");
        if (hv && hv->destroy(kWineDomain))
            destroyed_into_run =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - run_seen).count();
    });
    Run r = botscope(box.with({"submit", winprobe(), "--json"}));
    killer.join();
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 5);
    json rep = parse_json(r);
    REQUIRE(destroyed_into_run > 0);
    CHECK(rep["task"]["stages"]["run"].get<double>() < destroyed_into_run + 2.5);
    CHECK(rep["task"]["error"]["stage"] == "run");
    CHECK(rep["task"]["error"]["code"] == "vm_stopped");

    WinBox again("timeout = 3");
    Run ok =
        botscope(again.with({"submit", winprobe(), "--json", "--data-dir", box.data.string()}));
    INFO("stderr: " << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(parse_json(ok)["task"]["status"] == "completed");
}

}  // namespace botscope::e2e::test_windows
