// Two guests on the analysis network at once (issue 16): a sample in the second guest forges the
// first guest's addresses while the first guest runs a benign sample. Nothing of it may reach
// the first guest's capture or report, and neither guest reaches the host's own services.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "vm_harness.h"

namespace botscope::e2e::test_two_guests {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kMarker = "BOTSCOPE-FORGED";  // forger.cpp's payload

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1))
        ++n;
    return n;
}

/// Ethernet frames of a little-endian pcap file (as botscope's capture writes it) whose source
/// MAC is `mac` (6 bytes).
std::size_t frames_from(const std::string& pcap, const char* mac) {
    auto u32 = [&](std::size_t at) {
        std::uint32_t v = 0;
        for (int i = 3; i >= 0; --i)
            v = v << 8 | static_cast<unsigned char>(pcap[at + i]);
        return v;
    };
    REQUIRE(pcap.size() >= 24);
    REQUIRE(u32(0) == 0xa1b2c3d4u);
    std::size_t n = 0, at = 24;
    while (pcap.size() - at >= 16) {
        std::size_t len = u32(at + 8);
        REQUIRE(len <= pcap.size() - at - 16);
        n += len >= 12 && pcap.compare(at + 16 + 6, 6, mac, 6) == 0;
        at += 16 + len;
    }
    CHECK(at == pcap.size());
    return n;
}

fs::path task_dir(const fs::path& data, const json& rep) {
    return data / "tasks" / rep["task"]["id"].get<std::string>();
}

std::string dropped(const fs::path& data, const json& rep, const std::string& path) {
    for (const auto& f : rep["guest"]["dropped"]["files"])
        if (f["path"] == path)
            return slurp(task_dir(data, rep) / "files" / f["sha256"].get<std::string>());
    return "";
}

/// Servers fakenet recorded a TCP connection to, for any of its services.
std::set<std::string> fakenet_servers(const json& rep) {
    std::set<std::string> out;
    for (const char* kind : {"tcp", "irc", "http", "smtp"})
        if (rep["fakenet"].contains(kind))
            for (const auto& t : rep["fakenet"][kind]["list"])
                if (t.contains("server"))
                    out.insert(t["server"]);
    return out;
}

/// A listener of the host's own on the bridge address, outside fakenet.
struct HostListener {
    explicit HostListener(std::uint16_t port) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::inet_pton(AF_INET, "10.66.0.1", &a.sin_addr);
        ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 8) == 0;
    }
    ~HostListener() { ::close(fd); }
    bool accepted() const {
        int c = ::accept(fd, nullptr, nullptr);
        if (c >= 0)
            ::close(c);
        return c >= 0;
    }
    int fd = -1;
    bool ok = false;
};

void wait_for_run(const fs::path& task_log) {
    for (int i = 0; i < 1200; ++i) {
        if (slurp(task_log).find(" run\n") != std::string::npos)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace

TEST_CASE("two guests: forging the other guest's addresses reaches neither it nor the host") {
    REQUIRE_MESSAGE(!forger().empty(), "BOTSCOPE_FORGER is not set");
    HostListener host_service(2224);
    REQUIRE(host_service.ok);
    Sandbox box("timeout = 16", "",
                std::string("[testguest2]\ndomain = ") + kDomain2 +
                    "\nip = 10.66.0.11\nsecret_file = " + secret_file2() + "\n");
    // fakenet as this configuration has it: a fakenet started for one guest holds the second
    // guest's address as a decoy, and would keep that guest's answers to itself.
    Run down = botscope(box.with({"fakenet", "down"}));
    REQUIRE_MESSAGE(down.exit_code == 0, down.err);
    Run started = botscope(box.with({"fakenet", "start"}));
    REQUIRE_MESSAGE(started.exit_code == 0, started.err);

    // One data folder, as one controller with a pool of two would have: fakenet tells tasks
    // apart by their ids.
    const std::string bystander = std::string(BOTSCOPE_E2E_DIR) + "/bystander.sh";
    Run r2;
    std::thread second([&] {
        wait_for_run(box.data / "tasks" / "1" / "task.log");
        r2 = botscope(
            box.with({"submit", forger(), "--machine", "testguest2", "--timeout", "10", "--json"}));
    });
    Run r1 = botscope(box.with({"submit", bystander, "--machine", "testguest", "--json"}));
    second.join();
    INFO("guest 1 stderr: " << r1.err);
    INFO("guest 2 stderr: " << r2.err);
    REQUIRE(r1.exit_code == 0);
    REQUIRE(r2.exit_code == 0);
    json rep1 = parse_json(r1), rep2 = parse_json(r2);

    // The runs overlapped: the forging happened while the first guest was being captured.
    CHECK(rep2["task"]["started"].get<std::string>() < rep1["task"]["finished"].get<std::string>());

    // The forger really forged: its own capture holds the marked frames, its log says so.
    std::string log = dropped(box.data, rep2, "/tmp/forger.log");
    INFO("forger.log: " << log);
    CHECK(log.find("forged frames sent: 160, failed: 0") != std::string::npos);
    std::string pcap2 = slurp(task_dir(box.data, rep2) / "dump.pcap");
    CHECK(count(pcap2, kMarker) >= 160);

    // Nothing of it in the first guest's capture or report.
    std::string pcap1 = slurp(task_dir(box.data, rep1) / "dump.pcap");
    CHECK(pcap1.size() > 24);
    CHECK(count(pcap1, kMarker) == 0);
    // Not a single frame from the second guest's MAC: without isolated ports its ARP requests
    // would be here. (Frames *to* it may be: the host floods its unicast ARP probes for a
    // guest whose port is gone to every port.)
    CHECK(frames_from(pcap1, "\x52\x54\x00\xb5\x00\x11") == 0);
    CHECK(rep1["fakenet"]["guest"] == "10.66.0.10");
    CHECK(rep2["fakenet"]["guest"] == "10.66.0.11");
    CHECK(rep1.dump().find(kMarker) == std::string::npos);  // not even in what fakenet kept
    for (const auto& f : rep1["network"]["flows"]["list"]) {
        INFO("guest 1 flow " << f.dump());
        CHECK(f["orig"]["ip"] != "10.66.0.11");
        CHECK(f["resp"]["ip"] != "10.66.0.11");
        CHECK(f["orig"]["ip"] != f["resp"]["ip"]);  // the forged 10.66.0.10 -> 10.66.0.10
        for (const char* side : {"orig", "resp"})
            if (f[side].contains("port")) {
                CHECK(f[side]["port"] != 31337);
                CHECK(f[side]["port"] != 31338);
            }
    }
    // ... and the first guest's own traffic still got its answers (no stolen replies).
    bool answered = false;
    for (const auto& t : rep1["network"]["dns"]["transactions"])
        answered = answered || (t["query"] == "bystander.botscope.test" && !t["answers"].empty());
    CHECK(answered);

    // The first guest was never reached over TCP: the forger's connections got nothing back.
    for (const char* port : {":22: ", ":80: ", ":4444: "}) {
        auto at = log.find(std::string("tcp 10.66.0.10") + port);
        REQUIRE(at != std::string::npos);
        std::string line = log.substr(at, log.find('\n', at) - at);
        CHECK_MESSAGE(line.find("no connection") != std::string::npos, line);
        CHECK_MESSAGE(line.find("refused") == std::string::npos, line);  // an RST is an answer
    }
    for (const auto& f : rep2["network"]["flows"]["list"])
        if (f["resp"]["ip"] == "10.66.0.10" && f["proto"] == "tcp")
            CHECK_MESSAGE(f["resp_packets"] == 0, f.dump());

    // The host's own services: from both guests, only fakenet answered.
    CHECK_FALSE(host_service.accepted());
    std::set<std::string> s1 = fakenet_servers(rep1), s2 = fakenet_servers(rep2);
    for (const char* want : {"10.66.0.1:2224", "10.66.0.1:22"}) {
        CHECK_MESSAGE(s1.count(want), "guest 1: " << want);
        CHECK_MESSAGE(s2.count(want), "guest 2: " << want);
    }
    CHECK(log.find("tcp 10.66.0.1:2224: connected") != std::string::npos);
}

}  // namespace botscope::e2e::test_two_guests
