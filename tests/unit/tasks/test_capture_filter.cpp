// On the TCP transport the agent's connection crosses the capture's interface: the capture's
// filter leaves it out. Checked with the real libpcap on loopback: a connection to the agent's
// address and port is not in the file, one to another port is.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "capture/live_capture.h"
#include "support/temp_dir.h"
#include "tasks/task_runner.h"

namespace botscope::tasks::test_capture_filter {

namespace {

/// Sends `text` over a TCP connection to 127.0.0.1:`port`, accepted by a listener of its own.
void talk(std::uint16_t port, const std::string& text) {
    int l = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(l, 1) == 0);
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    int s = ::accept(l, nullptr, nullptr);
    REQUIRE(::send(c, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
    char buf[64];
    (void)::recv(s, buf, sizeof buf, 0);
    ::close(s);
    ::close(c);
    ::close(l);
}

}  // namespace

TEST_CASE("capture filter: the agent's TCP connection is left out, nothing else; none on virtio") {
    Machine virtio;
    CHECK(agent_capture_filter(virtio).empty());
    Machine tcp;
    tcp.transport = "tcp:127.0.0.1:48477";
    CHECK(agent_capture_filter(tcp) == "not (host 127.0.0.1 and tcp port 48477)");

    testing::TempDir tmp("botscope-filter");
    capture::Options co;
    co.filter = agent_capture_filter(tcp);
    auto cap = capture::LiveCapture::start("lo", tmp.path / "dump.pcap", co);
    REQUIRE_MESSAGE(cap.ok(), cap.error().text());
    talk(48477, "BSA1 the agent's frame");
    talk(48478, "the sample's own bytes");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(cap->stop().ok());
    std::ifstream in(tmp.path / "dump.pcap", std::ios::binary);
    std::string pcap((std::istreambuf_iterator<char>(in)), {});
    CHECK(pcap.find("BSA1 the agent's frame") == std::string::npos);
    CHECK(pcap.find("the sample's own bytes") != std::string::npos);
}

}  // namespace botscope::tasks::test_capture_filter
