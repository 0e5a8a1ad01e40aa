// LiveCapture against the real libpcap on loopback. Each test binds its own UDP port on
// 127.0.0.1 and filters on it, so other traffic on `lo` does not count. Needs root (capture).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "capture/live_capture.h"
#include "support/temp_dir.h"

namespace test_live_capture {

namespace fs = std::filesystem;
using botscope::capture::disable_ipv6;
using botscope::capture::LiveCapture;
using botscope::capture::Options;
using botscope::capture::Stats;

namespace {

constexpr std::size_t kPayload = 100;
// Ethernet (lo has DLT_EN10MB) + IPv4 without options + UDP + payload.
constexpr std::uint64_t kCaplen = 14 + 20 + 8 + kPayload;
constexpr std::uint64_t kRecord = 16 + kCaplen;

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

/// A UDP socket bound to a free port on 127.0.0.1: the destination of the test traffic.
struct Sink {
    Fd fd{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    std::uint16_t port = 0;
    Sink() {
        REQUIRE(fd.get() >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port = ntohs(a.sin_port);
    }
    std::string filter() const {
        return "udp and dst host 127.0.0.1 and dst port " + std::to_string(port);
    }
};

std::string payload(int i) {
    std::string p = "bs-cap-" + std::to_string(i) + "-";
    p.resize(kPayload, 'x');
    return p;
}

void send_datagrams(std::uint16_t port, int first, int count) {
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(s.get() >= 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    for (int i = first; i < first + count; ++i) {
        std::string p = payload(i);
        REQUIRE(::sendto(s.get(), p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to),
                         sizeof to) == static_cast<ssize_t>(p.size()));
    }
}

struct FileContents {
    int linktype = -1;
    std::vector<std::string> payloads;
    int end = 0;  // last pcap_next_ex result: -2 = clean end of file, -1 = damaged file
    std::string error;
};

/// Reads a capture file to its end with libpcap and extracts the UDP payloads.
FileContents read_back(const fs::path& path) {
    FileContents c;
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    if (!p) {
        c.error = err;
        return c;
    }
    c.linktype = pcap_datalink(p);
    pcap_pkthdr* h = nullptr;
    const u_char* d = nullptr;
    int r = 0;
    while ((r = pcap_next_ex(p, &h, &d)) == 1) {
        if (h->caplen < 14 + 20 + 8 || d[12] != 0x08 || d[13] != 0x00 || d[23] != 17) {
            c.payloads.emplace_back("<not udp/ipv4>");
            continue;
        }
        std::size_t off = 14 + (d[14] & 0x0f) * 4u + 8;
        c.payloads.emplace_back(reinterpret_cast<const char*>(d) + off, h->caplen - off);
    }
    c.end = r;
    if (r == -1)
        c.error = pcap_geterr(p);
    pcap_close(p);
    return c;
}

/// A fresh folder for the test's files, removed afterwards.
using botscope::testing::TempDir;

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("every datagram sent after start() is in the file, in order, with its payload") {
    REQUIRE_MESSAGE(::geteuid() == 0, "live capture needs root");
    TempDir dir{"bs-cap-test"};
    Sink sink;
    constexpr int kCount = 200;
    // Several rounds: the datagrams go out the moment start() returns and stop() follows the
    // last one at once, so both the "active on return" promise and the drain are exercised.
    for (int round = 0; round < 3; ++round) {
        CAPTURE(round);
        fs::path out = dir.path / ("round" + std::to_string(round) + ".pcap");
        auto cap = LiveCapture::start("lo", out, Options{.filter = sink.filter()});
        REQUIRE_MESSAGE(cap.ok(), cap.error().text());
        send_datagrams(sink.port, 0, kCount);
        auto stats = cap->stop();
        REQUIRE_MESSAGE(stats.ok(), stats.error().text());
        INFO("kernel drops ", stats->kernel_drops, ", interface drops ", stats->interface_drops);
        CHECK(stats->packets == kCount);
        CHECK(stats->packets_over_cap == 0);
        CHECK_FALSE(stats->truncated);
        CHECK(stats->ended_early.empty());
        CHECK(stats->bytes == 24 + kCount * kRecord);
        CHECK(fs::file_size(out) == stats->bytes);
        CHECK(stats->seconds > 0);

        FileContents c = read_back(out);
        REQUIRE_MESSAGE(c.error.empty(), c.error);
        CHECK(c.linktype == DLT_EN10MB);
        CHECK(c.end == -2);
        REQUIRE(c.payloads.size() == kCount);
        for (int i = 0; i < kCount; ++i)
            REQUIRE(c.payloads[i] == payload(i));
    }
}

TEST_CASE("immediate mode captures too (a burst that fits its small ring)") {
    TempDir dir{"bs-cap-test"};
    Sink sink;
    fs::path out = dir.path / "immediate.pcap";
    Options o{.filter = sink.filter(), .immediate = true};
    auto cap = LiveCapture::start("lo", out, o);
    REQUIRE_MESSAGE(cap.ok(), cap.error().text());
    send_datagrams(sink.port, 0, 30);
    auto stats = cap->stop();
    REQUIRE_MESSAGE(stats.ok(), stats.error().text());
    CHECK(stats->packets == 30);
    FileContents c = read_back(out);
    CHECK(c.end == -2);
    REQUIRE(c.payloads.size() == 30);
    for (int i = 0; i < 30; ++i)
        CHECK(c.payloads[i] == payload(i));
}

TEST_CASE("the byte cap: the file never exceeds max_bytes and stays readable to its end") {
    TempDir dir{"bs-cap-test"};
    Sink sink;
    // Exactly five records fit; and five plus most of a sixth.
    for (std::uint64_t slack : {std::uint64_t{0}, kRecord - 1}) {
        CAPTURE(slack);
        fs::path out = dir.path / ("cap" + std::to_string(slack) + ".pcap");
        Options o{.max_bytes = 24 + 5 * kRecord + slack, .filter = sink.filter()};
        auto cap = LiveCapture::start("lo", out, o);
        REQUIRE_MESSAGE(cap.ok(), cap.error().text());
        send_datagrams(sink.port, 0, 20);
        auto stats = cap->stop();
        REQUIRE_MESSAGE(stats.ok(), stats.error().text());
        CHECK(stats->truncated);
        CHECK(stats->packets == 5);
        CHECK(stats->packets_over_cap == 15);
        CHECK(stats->bytes == 24 + 5 * kRecord);
        CHECK(fs::file_size(out) == stats->bytes);
        CHECK(fs::file_size(out) <= o.max_bytes);

        FileContents c = read_back(out);
        REQUIRE_MESSAGE(c.error.empty(), c.error);
        CHECK(c.end == -2);
        REQUIRE(c.payloads.size() == 5);
        for (int i = 0; i < 5; ++i)
            CHECK(c.payloads[i] == payload(i));
    }
}

TEST_CASE("a cap below one packet writes only the header; writing does not resume") {
    TempDir dir{"bs-cap-test"};
    Sink sink;
    fs::path out = dir.path / "tiny.pcap";
    auto cap = LiveCapture::start("lo", out,
                                  Options{.max_bytes = 24 + kRecord - 1, .filter = sink.filter()});
    REQUIRE_MESSAGE(cap.ok(), cap.error().text());
    send_datagrams(sink.port, 0, 3);
    auto stats = cap->stop();
    REQUIRE(stats.ok());
    CHECK(stats->truncated);
    CHECK(stats->packets == 0);
    CHECK(stats->packets_over_cap == 3);
    CHECK(fs::file_size(out) == 24);
    FileContents c = read_back(out);
    CHECK(c.error.empty());
    CHECK(c.end == -2);
    CHECK(c.payloads.empty());
}

TEST_CASE("stop() without any traffic returns at once, with an empty valid file") {
    TempDir dir{"bs-cap-test"};
    Sink sink;
    fs::path out = dir.path / "quiet.pcap";
    auto cap = LiveCapture::start("lo", out, Options{.filter = sink.filter()});
    REQUIRE_MESSAGE(cap.ok(), cap.error().text());
    // Let the thread settle into its poll() first.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto t = std::chrono::steady_clock::now();
    auto stats = cap->stop();
    double took = seconds_since(t);
    REQUIRE(stats.ok());
    CHECK(took < 0.5);
    CHECK(stats->packets == 0);
    CHECK(stats->bytes == 24);
    CHECK_FALSE(stats->truncated);
    FileContents c = read_back(out);
    CHECK(c.error.empty());
    CHECK(c.end == -2);
    CHECK(c.payloads.empty());
}

TEST_CASE("stop() twice returns the same stats; the destructor stops and completes the file") {
    TempDir dir{"bs-cap-test"};
    Sink sink;
    fs::path out = dir.path / "twice.pcap";
    {
        auto cap = LiveCapture::start("lo", out, Options{.filter = sink.filter()});
        REQUIRE_MESSAGE(cap.ok(), cap.error().text());
        send_datagrams(sink.port, 0, 7);
        auto first = cap->stop();
        REQUIRE(first.ok());
        send_datagrams(sink.port, 7, 3);  // after stop: not captured
        auto second = cap->stop();
        REQUIRE(second.ok());
        CHECK(first->packets == 7);
        CHECK(second->packets == first->packets);
        CHECK(second->bytes == first->bytes);
        CHECK(second->seconds == first->seconds);
        CHECK(read_back(out).payloads.size() == 7);

        // Moved from: the new owner stops it, the old handle says so.
        LiveCapture moved = std::move(cap.value());
        auto again = cap->stop();
        REQUIRE_FALSE(again.ok());
        CHECK(again.error().code == "not_started");
        CHECK(moved.stop().ok());
    }
    fs::path out2 = dir.path / "dtor.pcap";
    {
        auto cap = LiveCapture::start("lo", out2, Options{.filter = sink.filter()});
        REQUIRE_MESSAGE(cap.ok(), cap.error().text());
        send_datagrams(sink.port, 0, 4);
    }  // no stop(): the destructor stops, drains and closes
    FileContents c = read_back(out2);
    REQUIRE_MESSAGE(c.error.empty(), c.error);
    CHECK(c.end == -2);
    CHECK(c.payloads.size() == 4);
}

TEST_CASE("start() errors name the interface, the filter or the file") {
    TempDir dir{"bs-cap-test"};
    fs::path out = dir.path / "x.pcap";

    auto missing = LiveCapture::start("bs-cap-nope0", out);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "no_device");
    CHECK(missing.error().message.find("'bs-cap-nope0'") != std::string::npos);
    MESSAGE(missing.error().text());
    CHECK_FALSE(fs::exists(out));

    for (std::string bad : {"", "a/b", "../lo", "lo lo", "0123456789abcdef", "all", "default"}) {
        CAPTURE(bad);
        auto r = LiveCapture::start(bad, out);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "bad_interface");
    }

    auto filter = LiveCapture::start("lo", out, Options{.filter = "udp port"});
    REQUIRE_FALSE(filter.ok());
    CHECK(filter.error().code == "bad_filter");
    CHECK(filter.error().message.find("'udp port'") != std::string::npos);
    MESSAGE(filter.error().text());

    fs::path nowhere = dir.path / "no-such-dir" / "x.pcap";
    auto file = LiveCapture::start("lo", nowhere);
    REQUIRE_FALSE(file.ok());
    CHECK(file.error().code == "io_error");
    CHECK(file.error().message.find(nowhere.string()) != std::string::npos);
    MESSAGE(file.error().text());

    Options tiny;
    tiny.max_bytes = 23;
    auto small = LiveCapture::start("lo", out, tiny);
    REQUIRE_FALSE(small.ok());
    CHECK(small.error().code == "bad_options");
    Options no_snap;
    no_snap.snaplen = 0;
    auto snap = LiveCapture::start("lo", out, no_snap);
    REQUIRE_FALSE(snap.ok());
    CHECK(snap.error().code == "bad_options");
    auto stdout_name = LiveCapture::start("lo", "-");
    REQUIRE_FALSE(stdout_name.ok());
    CHECK(stdout_name.error().code == "bad_options");
}

TEST_CASE("disable_ipv6 validates the name and reports a missing interface") {
    for (std::string bad : {"", "all", "default", "..", ".", "a/../b", "0123456789abcdef"}) {
        CAPTURE(bad);
        auto r = disable_ipv6(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "bad_interface");
    }
    auto missing = disable_ipv6("bs-cap-nope0");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "no_device");
    CHECK(missing.error().message.find("bs-cap-nope0") != std::string::npos);
}

TEST_CASE("disable_ipv6 writes 1 for the interface (in a throwaway network namespace)") {
    // The child gets its own network namespace, so the host's `lo` is never touched.
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto read_flag = [] {
            std::ifstream in("/proc/sys/net/ipv6/conf/lo/disable_ipv6");
            int v = -1;
            in >> v;
            return v;
        };
        if (::unshare(CLONE_NEWNET) != 0)
            ::_exit(10);
        if (read_flag() != 0)
            ::_exit(11);
        if (!disable_ipv6("lo").ok())
            ::_exit(12);
        ::_exit(read_flag() == 1 ? 0 : 13);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    // 10: unshare failed, 11: IPv6 already off in a fresh namespace, 12: the write failed,
    // 13: the write did not stick.
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("an interface that disappears ends the capture early, with a complete file") {
    // A VM destroyed mid-task takes its tap with it. Played with a veth (this kernel has no
    // dummy module) in a throwaway network namespace of a child process: the host's interfaces
    // are not touched.
    TempDir dir{"bs-cap-test"};
    fs::path out = dir.path / "gone.pcap";
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWNET) != 0)
            ::_exit(10);
        if (std::system("ip link add bs-cap-d0 type veth peer name bs-cap-d1 && ip link set "
                        "bs-cap-d0 up") != 0)
            ::_exit(11);
        auto cap = LiveCapture::start("bs-cap-d0", out);
        if (!cap.ok())
            ::_exit(12);
        if (std::system("ip link del bs-cap-d0") != 0)
            ::_exit(13);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        auto t = std::chrono::steady_clock::now();
        auto stats = cap->stop();
        if (!stats.ok())
            ::_exit(14);
        std::printf("ended_early: %s\n", stats->ended_early.c_str());
        std::fflush(stdout);
        if (seconds_since(t) > 0.5)
            ::_exit(15);
        ::_exit(stats->ended_early.empty() ? 16 : 0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    // 10: unshare, 11: `ip link add` failed, 12: start, 13: `ip link del`, 14: stop failed,
    // 15: stop was slow, 16: the loss of the interface went unnoticed.
    CHECK(WEXITSTATUS(status) == 0);
    FileContents c = read_back(out);
    CHECK(c.error.empty());
    CHECK(c.end == -2);
}

}  // namespace test_live_capture
