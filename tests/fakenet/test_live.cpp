// fakenet for real, in network namespaces the test makes (netns.h): the `botscope fakenet run`
// binary with its nftables table, reached from a guest namespace as a bot would reach it.
// Nothing leaves the two namespaces: they have no route anywhere else.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "analysis/proto/dns/dns_parser.h"
#include "fakenet/firewall.h"
#include "fakenet/netlink.h"
#include "live.h"

namespace botscope::fakenet::live::test_live {

namespace {

using namespace std::chrono_literals;

std::vector<std::string> answers(const std::optional<std::string>& reply) {
    std::vector<std::string> out;
    if (!reply)
        return out;
    auto m = analysis::dns::parse_message(
        {reinterpret_cast<const std::uint8_t*>(reply->data()), reply->size()});
    for (const auto& r : m.records)
        if (r.section == analysis::dns::Section::kAnswer)
            out.push_back(r.rdata);
    return out;
}

bool any_record(const std::vector<Json>& list, const std::string& key, const std::string& value) {
    for (const auto& r : list)
        if (r.contains(key) && r[key].is_string() && r[key] == value)
            return true;
    return false;
}

/// Everything a fixture needs: the namespaces and fakenet running in them.
struct Live {
    Netns net;
    std::optional<Fakenet> fn;
    Live() {
        REQUIRE_MESSAGE(net.ok(), net.error());
        fn.emplace(net);
        std::string why;
        REQUIRE_MESSAGE(fn->start(why), why);
    }
};

}  // namespace

TEST_CASE("fakenet: every destination of the guest reaches it, with the original destination") {
    Live l;
    Json b = l.fn->begin("t1");
    REQUIRE_MESSAGE(b.value("ok", false), b.dump());

    // DNS to any server, and to the sinkhole itself: every name is the sinkhole.
    CHECK(answers(dns_query(l.net, "192.0.2.53", "cnc.example.test", 1)) ==
          std::vector<std::string>{"10.66.0.1"});
    CHECK(answers(dns_query(l.net, "10.66.0.1", "update.botscope.test", 1)) ==
          std::vector<std::string>{"10.66.0.1"});
    // IRC on a port of an address far away, recognised by what the client says.
    auto irc = tcp_exchange(l.net, "198.51.100.7", 6667,
                            "NICK [USA|XP]-1234\r\nUSER bot 0 0 :bot\r\n", 3s, " 376 ");
    CHECK(irc.connected);
    CHECK(irc.received.find(" 001 [USA|XP]-1234 ") != std::string::npos);
    // A decoy of the sandbox's own /24: the host answers ARP for it, so the SYN goes out.
    auto decoy = tcp_exchange(l.net, "10.66.0.77", 445, "", 300ms);
    CHECK(decoy.connected);
    // HTTP on port 80 of another far address: the stub program for an executable.
    auto http = tcp_exchange(l.net, "203.0.113.80", 80,
                             "GET /update.exe HTTP/1.0\r\nHost: dl.example.test\r\n\r\n", 3s);
    CHECK(http.received.rfind("HTTP/1.", 0) == 0);
    CHECK(http.received.find("\r\n\r\nMZ") != std::string::npos);
    // A datagram of nothing in particular.
    (void)udp_exchange(l.net, "192.0.2.9", 9999, "hello?", 300ms);

    Json e = l.fn->end("t1");
    REQUIRE_MESSAGE(e.value("ok", false), e.dump());
    const Json& f = e["fakenet"];
    CHECK(any_record(records(f, "dns"), "server", "192.0.2.53:53"));
    CHECK(any_record(records(f, "dns"), "name", "cnc.example.test"));
    CHECK(any_record(records(f, "irc"), "server", "198.51.100.7:6667"));
    CHECK(any_record(records(f, "tcp"), "server", "10.66.0.77:445"));
    CHECK(any_record(records(f, "http"), "server", "203.0.113.80:80"));
    CHECK(any_record(records(f, "udp"), "server", "192.0.2.9:9999"));
    for (const auto& r : records(f, "http"))
        if (r["uri"] == "/update.exe")
            CHECK(r["served"]["kind"] == "pe-stub");
    // Every record is also in the task's log, one line each.
    std::ifstream log(l.fn->dir() / "t1" / "fakenet.jsonl");
    std::size_t lines = 0;
    for (std::string line; std::getline(log, line);)
        ++lines;
    CHECK(lines == f["log_lines"].get<std::size_t>());
    CHECK(lines >= 7);
}

TEST_CASE("fakenet: the guest reaches nothing else on the host, and nothing is forwarded") {
    Live l;
    // A service of the host's own, outside fakenet, on the bridge's address and on every
    // address: the guest must never reach it.
    int listeners[2] = {-1, -1};
    in_ns(l.net.host(), [&] {
        const char* ips[2] = {"10.66.0.1", "0.0.0.0"};
        for (int i = 0; i < 2; ++i) {
            listeners[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            int one = 1;
            ::setsockopt(listeners[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(static_cast<std::uint16_t>(2222 + i));
            ::inet_pton(AF_INET, ips[i], &a.sin_addr);
            REQUIRE(::bind(listeners[i], reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
            REQUIRE(::listen(listeners[i], 8) == 0);
        }
    });
    auto never_reached = [&] {
        for (int fd : listeners) {
            sockaddr_in peer{};
            socklen_t len = sizeof peer;
            int c = ::accept(fd, reinterpret_cast<sockaddr*>(&peer), &len);
            CHECK(c < 0);
            if (c >= 0)
                ::close(c);
        }
    };
    Json b = l.fn->begin("t2");
    REQUIRE(b.value("ok", false));
    for (std::uint16_t port : {2222, 2223}) {
        auto r = tcp_exchange(l.net, "10.66.0.1", port, "hello host\r\n", 500ms);
        CHECK(r.connected);  // ... to fakenet's catch-all, which records where it was meant to go
    }
    Json e = l.fn->end("t2");
    CHECK(any_record(records(e["fakenet"], "tcp"), "server", "10.66.0.1:2222"));
    CHECK(any_record(records(e["fakenet"], "tcp"), "server", "10.66.0.1:2223"));
    never_reached();
    in_ns(l.net.host(), [&] {
        auto c = firewall_counters(Netns::kBridge);
        REQUIRE(c);
        CHECK(c->forwarded == 0);
        CHECK(c->redirected >= 2);
    });

    // fakenet stopped: the table stays (deny by default) and the guest reaches nothing at all.
    CHECK(l.fn->stop() == 0);
    auto refused = tcp_exchange(l.net, "198.51.100.7", 80, "GET / HTTP/1.0\r\n\r\n", 1s);
    CHECK(refused.received.empty());
    CHECK_FALSE(tcp_exchange(l.net, "10.66.0.1", 2222, "x", 1s).received.size() > 0);
    CHECK_FALSE(dns_query(l.net, "10.66.0.1", "cnc.example.test", 1, 1s));
    never_reached();
    for (int fd : listeners)
        ::close(fd);
}

TEST_CASE("fakenet: its table leaves the host's other firewall state as it was") {
    Netns net;
    REQUIRE_MESSAGE(net.ok(), net.error());
    // Someone else's rules in the same namespace, before fakenet.
    Run other = run(net.exec(net.host(), {"nft", "add table inet someone_else; add chain inet "
                                                     "someone_else c { type filter hook input "
                                                     "priority 0; policy accept; }; add rule "
                                                     "inet someone_else c tcp dport 22 accept"}));
    REQUIRE_MESSAGE(other.exit_code == 0, other.err);
    std::string before;
    in_ns(net.host(), [&] {
        auto r = ruleset_without_ours(Netns::kBridge);
        REQUIRE(r);
        before = r.value();
    });
    {
        Fakenet fn(net);
        std::string why;
        REQUIRE_MESSAGE(fn.start(why), why);
        in_ns(net.host(), [&] {
            CHECK(firewall_present(Netns::kBridge));
            auto a = interface_addresses(Netns::kBridge);
            REQUIRE(a);
            CHECK(a->size() == 252);  // 10.66.0.1/24 and 251 decoys (.10 and .11 are guests)
        });
        Run down = fn.command("down");
        CHECK_MESSAGE(down.exit_code == 0, down.err);
        CHECK(down.out.find("removed") != std::string::npos);
    }
    in_ns(net.host(), [&] {
        CHECK_FALSE(firewall_present(Netns::kBridge));
        auto after = ruleset_without_ours(Netns::kBridge);
        REQUIRE(after);
        CHECK(after.value() == before);
        auto a = interface_addresses(Netns::kBridge);
        REQUIRE(a);
        CHECK(a->size() == 1);
    });
}

TEST_CASE("fakenet: hostile clients neither stall nor crash it, and others are still served") {
    Live l;
    REQUIRE(run(l.net.exec(l.net.guest(), {"ip", "addr", "add", "10.66.0.11/24", "dev",
                                           Netns::kGuestIf}))
                .exit_code == 0);
    REQUIRE(l.fn->begin("t3").value("ok", false));
    std::vector<int> held;
    in_ns(l.net.guest(), [&] {
        // A thousand connections at once, to ports of every kind, most saying something odd.
        for (int i = 0; i < 1000; ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(static_cast<std::uint16_t>(i % 4 == 0 ? 80 : 7000 + i));
            ::inet_pton(AF_INET, "198.51.100.9", &a.sin_addr);
            ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
            held.push_back(fd);
        }
    });
    // Junk goes to connections fakenet has accepted: wait until each is connected (or refused).
    std::size_t connected = 0;
    const auto until = std::chrono::steady_clock::now() + 20s;
    std::vector<pollfd> waiting;
    for (int fd : held)
        waiting.push_back({fd, POLLOUT, 0});
    while (!waiting.empty() && std::chrono::steady_clock::now() < until) {
        REQUIRE(::poll(waiting.data(), waiting.size(), 100) >= 0);
        std::erase_if(waiting, [&](const pollfd& p) {
            if (p.revents == 0)
                return false;
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            connected += err == 0 ? 1 : 0;
            return true;
        });
        for (auto& p : waiting)
            p.revents = 0;
    }
    CHECK(waiting.empty());  // every connection answered, one way or the other
    CHECK(connected > 0);
    in_ns(l.net.guest(), [&] {
        std::string junk(4096, '\0');
        for (std::size_t i = 0; i < junk.size(); ++i)
            junk[i] = static_cast<char>((i * 131 + 7) & 0xFF);
        for (std::size_t i = 0; i < held.size(); i += 3)
            (void)::send(held[i], junk.data(), junk.size(), MSG_NOSIGNAL);
    });
    // Over-long lines: IRC with 100 KB and no line end; HTTP headers that never end.
    std::string long_line = "NICK " + std::string(100'000, 'A');
    auto irc = tcp_exchange(l.net, "198.51.100.7", 6667, long_line, 2s, "", "10.66.0.11");
    auto http = tcp_exchange(l.net, "198.51.100.8", 80,
                             "GET / HTTP/1.1\r\nX: " + std::string(200'000, 'b'), 2s, "",
                             "10.66.0.11");
    CHECK(http.received.find(" 431 ") != std::string::npos);
    // A DNS query whose name points at itself.
    std::string loop("\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", 18);
    (void)udp_exchange(l.net, "10.66.0.1", 53, loop, 500ms);
    // A slow client: one byte every 50 ms.
    std::thread slow([&] {
        in_ns(l.net.guest(), [&] {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(25);
            ::inet_pton(AF_INET, "10.66.0.11", &a.sin_addr);
            sockaddr_in dst{};
            dst.sin_family = AF_INET;
            dst.sin_port = htons(25);
            ::inet_pton(AF_INET, "192.0.2.25", &dst.sin_addr);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0)
                for (char c : std::string("EHLO slowly.example\r\n"))
                    if (::send(fd, &c, 1, MSG_NOSIGNAL) == 1)
                        std::this_thread::sleep_for(50ms);
            ::close(fd);
        });
    });
    // Meanwhile a well-behaved client on another address is served at once.
    auto t0 = std::chrono::steady_clock::now();
    CHECK(answers(dns_query(l.net, "10.66.0.1", "still.served.test", 1, 2s, "10.66.0.11")) ==
          std::vector<std::string>{"10.66.0.1"});
    auto ok = tcp_exchange(l.net, "203.0.113.5", 80, "GET /x.txt HTTP/1.0\r\n\r\n", 3s, "",
                           "10.66.0.11");
    CHECK(ok.received.rfind("HTTP/1.", 0) == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    slow.join();
    for (int fd : held)
        ::close(fd);
    CHECK(l.fn->alive());
    Json st = l.fn->call({{"op", "status"}});
    CHECK(st.value("ok", false));
    CHECK(st["connections"]["refused"].get<std::uint64_t>() >= 400);  // past 512 per client
    Json e = l.fn->end("t3");
    CHECK(e.value("ok", false));
    std::uint64_t peak = peak_rss_kb(l.fn->pid());
    MESSAGE("fakenet's peak RSS under the hostile load: " << peak / 1024 << " MiB");
#ifndef BOTSCOPE_SANITIZED
    CHECK(peak > 0);
    CHECK(peak < 96 * 1024);  // its documented memory budget (service.h)
#endif
    CHECK(l.fn->alive());
}

TEST_CASE("fakenet: two controllers' tasks with the same id on two guests end apart") {
    // Task ids are numbered per data directory: a second controller has its own task "1".
    Live l;
    REQUIRE(l.fn->begin("1", "", Json::object(), "10.66.0.10").value("ok", false));
    REQUIRE(l.fn->begin("1", "", Json::object(), "10.66.0.11").value("ok", false));
    for (const char* guest : {"10.66.0.11", "10.66.0.10"}) {
        Json r = l.fn->end("1", guest);
        REQUIRE(r.value("ok", false));
        CHECK(r["fakenet"]["guest"] == guest);
    }
}

}  // namespace botscope::fakenet::live::test_live
