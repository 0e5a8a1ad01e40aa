// Floods and scans on generated captures run through the real engine: the numbers a reader
// relies on (target, packets, rates within 10 %, sources, spoofing, ports, targets, answers),
// backscatter and single checks that are no scans, ordinary browsing, DNS and mail that are
// neither, a zero-duration capture, episodes, thresholds, and commands tied to what followed.

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "analysis/detect/commands.h"
#include "analysis/detect/config.h"
#include "analysis/engine.h"
#include "support/pcapgen.h"

namespace test_detect_traffic {

using namespace botscope::analysis;
using namespace botscope::testing;
using botscope::analysis::detect::BehaviorResult;
using botscope::analysis::detect::BotCommand;
using botscope::analysis::detect::command_category;
using botscope::analysis::detect::command_targets;
using botscope::analysis::detect::Config;
using botscope::analysis::detect::Flood;
using botscope::analysis::detect::kMaxCommandText;
using botscope::analysis::detect::kMaxEvidenceFlows;
using botscope::analysis::detect::kMaxListed;
using botscope::analysis::detect::parse_command;
using botscope::analysis::detect::Scan;
using botscope::analysis::detect::set_threshold;

namespace {

const char* const kHost = "10.66.0.10";

struct Analysis {
    NetworkResult net;
    BehaviorResult behavior;
};

Analysis analyze(const CaptureWriter& w, Config config = {}) {
    if (config.hosts.empty())
        config.hosts.push_back(ip(kHost));
    Engine e(kLinkEthernet, config);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    Analysis a;
    a.net = e.finish(&a.behavior);
    return a;
}

IpAddress host_n(int net, int n) {
    return IpAddress::v4(198, 51, static_cast<std::uint8_t>(net), static_cast<std::uint8_t>(n));
}

/// `n` pure SYNs to `target`, one every `gap`, from `sources` rotating spoofed addresses.
void syn_flood(CaptureWriter& w, Timestamp t, const Endpoint& target, int n, Timestamp gap,
               int sources) {
    for (int i = 0; i < n; ++i) {
        IpAddress src = IpAddress::v4(203, 0, 113, static_cast<std::uint8_t>(1 + i % sources));
        w.add_ip(t + i * gap, tcp_packet({src, static_cast<std::uint16_t>(10000 + i)}, target,
                                         static_cast<std::uint32_t>(i) * 7919u, 0, kTcpSyn, {}));
    }
}

const Flood* only_flood(const BehaviorResult& b, const char* kind) {
    const Flood* found = nullptr;
    for (const auto& f : b.floods) {
        if (f.kind == kind) {
            CHECK(found == nullptr);
            found = &f;
        }
    }
    return found;
}

void no_findings(const BehaviorResult& b) {
    CHECK(b.floods.empty());
    CHECK(b.scans.empty());
    CHECK(b.spam_runs.empty());
}

}  // namespace

TEST_CASE("a spoofed SYN flood: target, port, packets, rates, sources") {
    CaptureWriter w;
    const Endpoint target{host_n(100, 10), 80};
    syn_flood(w, kT0, target, 600, 5 * kMilli, 50);  // 200 a second for 3 s
    auto a = analyze(w);
    REQUIRE(a.behavior.floods.size() == 1);
    const Flood& f = a.behavior.floods[0];
    CHECK(f.kind == "syn");
    CHECK(f.target == target.addr);
    CHECK(f.ports == std::vector<std::uint16_t>{80});
    CHECK(f.events == 600);
    CHECK(f.volume.packets == 600);
    CHECK(f.volume.bytes == a.net.capture.bytes);
    REQUIRE(f.volume.mean_pps);
    CHECK(*f.volume.mean_pps == doctest::Approx(200).epsilon(0.1));
    CHECK(*f.volume.peak_pps == doctest::Approx(200).epsilon(0.1));
    CHECK(*f.volume.mean_bps ==
          doctest::Approx(static_cast<double>(f.volume.bytes) * 8 / 3).epsilon(0.1));
    CHECK(f.peak_events_per_second == doctest::Approx(200).epsilon(0.1));
    CHECK(f.volume.start == kT0);
    CHECK(f.volume.end == kT0 + 599 * 5 * kMilli);
    CHECK(f.volume.first_packet == 1);
    CHECK(f.volume.last_packet == 600);
    CHECK(f.sources == 50);
    CHECK(f.spoofed_sources == std::optional<std::uint64_t>(50));
    CHECK(f.connections == 600);
    CHECK(f.handshakes == 0);
    CHECK(f.evidence.flows_total == 600);
    CHECK(f.evidence.flows.size() == kMaxEvidenceFlows);
    CHECK(f.evidence.flows.front() == 1);
    CHECK(a.behavior.scans.empty());
}

TEST_CASE("SYN flood from the analysed host itself is not spoofed; a raised threshold hides it") {
    CaptureWriter w;
    const Endpoint target{host_n(100, 11), 443};
    for (int i = 0; i < 300; ++i)
        w.add_ip(kT0 + i * 10 * kMilli, tcp_packet(ep(kHost, static_cast<std::uint16_t>(20000 + i)),
                                                   target, 1, 0, kTcpSyn, {}));
    auto a = analyze(w);
    const Flood* f = only_flood(a.behavior, "syn");
    REQUIRE(f);
    CHECK(f->sources == 1);
    CHECK(f->spoofed_sources == std::optional<std::uint64_t>(0));
    CHECK(*f->volume.mean_pps == doctest::Approx(100).epsilon(0.1));

    Config strict;
    CHECK(set_threshold(strict, "flood.min_packets", "301").empty());
    CHECK(analyze(w, strict).behavior.floods.empty());
    CHECK(set_threshold(strict, "flood.min_packets", "3x") != "");
    CHECK(set_threshold(strict, "flood.nope", "3") != "");
    CHECK(set_threshold(strict, "flood.idle_gap", "-1") != "");
}

TEST_CASE("a TCP connect flood: completed handshakes to one port") {
    CaptureWriter w;
    const Endpoint target{host_n(100, 20), 80};
    for (int i = 0; i < 300; ++i) {
        TcpConversation c(w, ep(kHost, static_cast<std::uint16_t>(30000 + i)), target,
                          kT0 + i * 10 * kMilli);
        c.set_step(kMilli / 10);
        c.handshake();
        c.close();
    }
    auto a = analyze(w);
    const Flood* f = only_flood(a.behavior, "connect");
    REQUIRE(f);
    CHECK(f->target == target.addr);
    CHECK(f->events == 300);
    CHECK(f->handshakes == 300);
    CHECK(f->peak_events_per_second == doctest::Approx(100).epsilon(0.1));
    CHECK(*f->volume.mean_pps > 0);
    CHECK(only_flood(a.behavior, "syn") == nullptr);  // every SYN was answered
}

TEST_CASE("a UDP flood: packets, bytes, bits per second; a DNS burst that is answered is not") {
    CaptureWriter w;
    const Endpoint target{host_n(100, 30), 9999};
    std::string junk(512, 'A');
    for (int i = 0; i < 1000; ++i)
        w.add_ip(kT0 + i * 2 * kMilli, udp_packet(ep(kHost, 40000), target, bytes_of(junk)));
    // 300 lookups in 3 s to the resolver, each answered.
    for (int i = 0; i < 300; ++i) {
        auto id = static_cast<std::uint16_t>(i);
        std::string name = "host" + std::to_string(i) + ".example";
        Timestamp t = kT0 + i * 10 * kMilli;
        w.add_ip(
            t, udp_packet(ep(kHost, 41000), ep("10.66.0.1", 53), dns_message(id, 0x0100, name, 1)));
        w.add_ip(t + kMilli,
                 udp_packet(ep("10.66.0.1", 53), ep(kHost, 41000),
                            dns_message(id, 0x8180, name, 1, {{1, 60, {10, 66, 0, 1}}})));
    }
    auto a = analyze(w);
    REQUIRE(a.behavior.floods.size() == 1);
    const Flood& f = a.behavior.floods[0];
    CHECK(f.kind == "udp");
    CHECK(f.target == target.addr);
    CHECK(f.ports == std::vector<std::uint16_t>{9999});
    CHECK(f.volume.packets == 1000);
    CHECK(f.volume.bytes == 1000 * (14 + 20 + 8 + 512));
    CHECK(*f.volume.mean_pps == doctest::Approx(500).epsilon(0.1));
    CHECK(*f.volume.peak_pps == doctest::Approx(500).epsilon(0.1));
    CHECK(*f.volume.mean_bps == doctest::Approx(500.0 * 554 * 8).epsilon(0.1));
    CHECK(f.replies == 0);
    CHECK(f.spoofed_sources == std::optional<std::uint64_t>(0));
}

TEST_CASE("an ICMP flood is counted even when the target answers every ping") {
    CaptureWriter w;
    IpAddress target = host_n(100, 40);
    std::string pad(56, 'p');
    for (int i = 0; i < 300; ++i) {
        Timestamp t = kT0 + i * 10 * kMilli;
        auto seq = static_cast<std::uint16_t>(i);
        w.add_ip(t, icmp_echo(ip(kHost), target, false, 77, seq, bytes_of(pad)));
        w.add_ip(t + kMilli, icmp_echo(target, ip(kHost), true, 77, seq, bytes_of(pad)));
    }
    auto a = analyze(w);
    REQUIRE(a.behavior.floods.size() == 1);
    const Flood& f = a.behavior.floods[0];
    CHECK(f.kind == "icmp");
    CHECK(f.target == target);
    CHECK(f.ports.empty());
    CHECK(f.volume.packets == 300);
    CHECK(f.replies == 300);
    CHECK(*f.volume.mean_pps == doctest::Approx(100).epsilon(0.1));
    // Requests and replies share one flow.
    CHECK(a.net.flows.size() == 1);
    CHECK(a.behavior.scans.empty());
}

TEST_CASE("an HTTP request flood over kept-alive connections") {
    CaptureWriter w;
    const Endpoint server{host_n(100, 50), 80};
    for (int c = 0; c < 20; ++c) {
        TcpConversation conn(w, ep(kHost, static_cast<std::uint16_t>(31000 + c)), server,
                             kT0 + c * kMilli);
        conn.set_step(100 * kMilli);  // a request every 400 ms on each of 20: 50 a second
        conn.handshake();
        for (int r = 0; r < 10; ++r) {
            conn.send(Direction::kOrig,
                      "GET /?" + std::to_string(r) + " HTTP/1.1\r\nHost: victim.example\r\n\r\n");
            conn.send(Direction::kResp, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
        conn.close();
    }
    auto a = analyze(w);
    const Flood* f = only_flood(a.behavior, "http");
    REQUIRE(f);
    CHECK(f->target == server.addr);
    CHECK(f->ports == std::vector<std::uint16_t>{80});
    CHECK(f->events == 200);
    CHECK(f->connections == 20);
    // Requests at 0.3, 0.7, 1.1, 1.5, 1.9 s... on each connection: 40, 60, 50... per second.
    CHECK(f->peak_events_per_second == 60);
    double secs = static_cast<double>(f->volume.end - f->volume.start) / 1e9;
    CHECK(static_cast<double>(f->events) / secs == doctest::Approx(55.5).epsilon(0.1));
    CHECK(!f->volume.peak_pps);  // counted per flow, not per packet
    CHECK(f->evidence.flows_total == 20);
}

TEST_CASE("an HTTP request flood past the HTTP result's cap is counted whole") {
    // 30 connections of 400 requests: 12,000, more than the 10,000 transactions kept. A
    // request every 8 ms on each, the connections 100 ms apart.
    constexpr int kConns = 30;
    constexpr int kPerConn = 400;
    constexpr Timestamp kStep = 2 * kMilli;
    CaptureWriter w;
    const Endpoint server{host_n(100, 60), 8080};
    std::map<std::int64_t, std::uint64_t> per_second;
    for (int c = 0; c < kConns; ++c) {
        const Timestamp start = kT0 + c * 100 * kMilli;
        TcpConversation conn(w, ep(kHost, static_cast<std::uint16_t>(32000 + c)), server, start);
        conn.set_step(kStep);
        conn.handshake();
        for (int r = 0; r < kPerConn; ++r) {
            ++per_second[conn.now() / kSecond];
            conn.send(Direction::kOrig,
                      "GET /?" + std::to_string(r) + " HTTP/1.1\r\nHost: victim.example\r\n\r\n");
            conn.send(Direction::kResp, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
        conn.close();
    }
    std::uint64_t peak = 0;
    for (const auto& [second, n] : per_second)
        peak = std::max(peak, n);
    auto a = analyze(w);
    CHECK(a.net.http.transactions.size() == 10'000);
    CHECK(a.net.http.dropped == 2'000);
    const Flood* f = only_flood(a.behavior, "http");
    REQUIRE(f);
    CHECK(f->target == server.addr);
    CHECK(f->ports == std::vector<std::uint16_t>{8080});
    CHECK(f->events == kConns * kPerConn);
    CHECK(f->peak_events_per_second == static_cast<double>(peak));
    CHECK(f->connections == kConns);
    CHECK(f->handshakes == kConns);
    CHECK(f->sources == 1);
    CHECK(f->evidence.flows_total == kConns);
    CHECK(f->evidence.flows.size() == detect::kMaxEvidenceFlows);
    // Each connection's client sent its handshake, 400 requests, 400 ACKs and its close.
    CHECK(f->volume.packets >= static_cast<std::uint64_t>(kConns) * (2 * kPerConn + 2));
}

TEST_CASE("a zero-duration capture gives a flood without rates, and no division by zero") {
    CaptureWriter w;
    for (int i = 0; i < 500; ++i)
        w.add_ip(kT0, udp_packet(ep("0.0.0.0", 68), ep("255.255.255.255", 67),
                                 bytes_of(std::string(300, '\0'))));
    auto a = analyze(w);
    REQUIRE(a.behavior.floods.size() == 1);
    const Flood& f = a.behavior.floods[0];
    CHECK(f.kind == "udp");
    CHECK(f.volume.start == f.volume.end);
    CHECK(!f.volume.mean_pps);
    CHECK(!f.volume.mean_bps);
    CHECK(*f.volume.peak_pps == 500);
}

TEST_CASE("two floods on one target separated by an idle gap are two findings") {
    CaptureWriter w;
    const Endpoint target{host_n(100, 60), 80};
    syn_flood(w, kT0, target, 200, 5 * kMilli, 10);
    syn_flood(w, kT0 + 60 * kSecond, target, 300, 5 * kMilli, 10);
    auto a = analyze(w);
    REQUIRE(a.behavior.floods.size() == 2);
    CHECK(a.behavior.floods[0].events == 200);
    CHECK(a.behavior.floods[1].events == 300);
    CHECK(a.behavior.floods[1].volume.start == kT0 + 60 * kSecond);
}

TEST_CASE("a horizontal scan on 445: targets, ranges, answers, open ports, rate") {
    CaptureWriter w;
    Endpoint scanner = ep(kHost, 0);
    for (int i = 0; i < 50; ++i) {
        Timestamp t = kT0 + i * 20 * kMilli;  // 50 a second
        Endpoint src{scanner.addr, static_cast<std::uint16_t>(3000 + i)};
        Endpoint dst{host_n(7, 1 + i), 445};
        w.add_ip(t, tcp_packet(src, dst, 100, 0, kTcpSyn, {}));
        if (i % 10 == 0) {  // five refuse
            w.add_ip(t + kMilli, tcp_packet(dst, src, 0, 101, kTcpRst | kTcpAck, {}));
        } else if (i % 10 == 5) {  // five accept; the scanner resets
            w.add_ip(t + kMilli, tcp_packet(dst, src, 900, 101, kTcpSyn | kTcpAck, {}));
            w.add_ip(t + 2 * kMilli, tcp_packet(src, dst, 101, 0, kTcpRst, {}));
        }
    }
    auto a = analyze(w);
    REQUIRE(a.behavior.scans.size() == 1);
    const Scan& s = a.behavior.scans[0];
    CHECK(s.kind == "horizontal");
    CHECK(s.scanner == ip(kHost));
    CHECK(s.transport == Transport::kTcp);
    REQUIRE(s.ports.size() == 1);
    CHECK(s.ports[0] == std::pair<std::uint16_t, std::uint64_t>(445, 50));
    CHECK(s.targets == 50);
    REQUIRE(s.ranges.size() == 1);
    CHECK(s.ranges[0].first == host_n(7, 1));
    CHECK(s.ranges[0].last == host_n(7, 50));
    CHECK(s.probes == 50);
    CHECK(s.unproductive == 50);
    CHECK(s.targets_answered == 10);
    CHECK(s.open_total == 5);
    CHECK(s.open[0] == Endpoint{host_n(7, 6), 445});
    CHECK(*s.volume.mean_pps == doctest::Approx(50).epsilon(0.1));
    CHECK(*s.volume.peak_pps == doctest::Approx(50).epsilon(0.1));
    CHECK(s.evidence.flows_total == 50);
    CHECK(a.behavior.floods.empty());  // one SYN per target is no flood
}

TEST_CASE("a vertical scan of one host, and a combined scan of several") {
    CaptureWriter w;
    IpAddress victim = host_n(8, 1);
    for (int p = 1; p <= 100; ++p) {
        Timestamp t = kT0 + p * 10 * kMilli;
        Endpoint src = ep(kHost, 50000);
        Endpoint dst{victim, static_cast<std::uint16_t>(p)};
        w.add_ip(t, tcp_packet(src, dst, 1, 0, kTcpSyn, {}));
        bool open = p == 21 || p == 22 || p == 80;
        w.add_ip(t + kMilli,
                 tcp_packet(dst, src, 5, 2, open ? kTcpSyn | kTcpAck : kTcpRst | kTcpAck, {}));
    }
    auto a = analyze(w);
    REQUIRE(a.behavior.scans.size() == 1);
    const Scan& s = a.behavior.scans[0];
    CHECK(s.kind == "vertical");
    CHECK(s.targets == 1);
    CHECK(s.ports_total == 100);
    CHECK(s.ports.size() == kMaxListed);
    CHECK(s.open_total == 3);
    CHECK(s.targets_answered == 1);
    CHECK(*s.volume.mean_pps == doctest::Approx(100).epsilon(0.1));
    CHECK(a.behavior.floods.empty());  // 100 SYNs over 100 ports: a scan, not a flood

    CaptureWriter w2;
    Timestamp t = kT0;
    for (int h = 1; h <= 10; ++h)
        for (int p = 1; p <= 20; ++p, t += 2 * kMilli)
            w2.add_ip(t, tcp_packet(ep(kHost, static_cast<std::uint16_t>(40000 + h)),
                                    {host_n(9, h), static_cast<std::uint16_t>(1000 + p)}, 1, 0,
                                    kTcpSyn, {}));
    auto b = analyze(w2);
    REQUIRE(b.behavior.scans.size() == 1);
    CHECK(b.behavior.scans[0].kind == "combined");
    CHECK(b.behavior.scans[0].targets == 10);
    CHECK(b.behavior.scans[0].ports_total == 20);
    CHECK(b.behavior.scans[0].probes == 200);
}

TEST_CASE("a UDP scan answered by ICMP port unreachable, and a ping sweep") {
    CaptureWriter w;
    IpAddress victim = host_n(10, 1);
    for (int p = 1; p <= 40; ++p) {
        Timestamp t = kT0 + p * 10 * kMilli;
        Endpoint src = ep(kHost, 50001);
        Endpoint dst{victim, static_cast<std::uint16_t>(p)};
        Bytes probe = udp_packet(src, dst, {});
        w.add_ip(t, probe);
        if (p == 53) {
            continue;
        }
        // Port unreachable quoting the probe's IP header and first 8 bytes.
        Bytes icmp = {3, 3, 0, 0, 0, 0, 0, 0};
        icmp.insert(icmp.end(), probe.begin(), probe.begin() + 28);
        w.add_ip(t + kMilli, ip_packet(victim, ip(kHost), 1, icmp));
    }
    for (int h = 1; h <= 30; ++h) {
        Timestamp t = kT0 + 10 * kSecond + h * 10 * kMilli;
        w.add_ip(t, icmp_echo(ip(kHost), host_n(11, h), false, 9, 1, {}));
        if (h <= 5)
            w.add_ip(t + kMilli, icmp_echo(host_n(11, h), ip(kHost), true, 9, 1, {}));
    }
    auto a = analyze(w);
    REQUIRE(a.behavior.scans.size() == 2);
    const Scan& udp = a.behavior.scans[0];
    CHECK(udp.kind == "vertical");
    CHECK(udp.transport == Transport::kUdp);
    CHECK(udp.ports_total == 40);
    CHECK(udp.icmp_errors == 40);
    CHECK(udp.targets_answered == 1);
    CHECK(udp.open_total == 0);
    const Scan& sweep = a.behavior.scans[1];
    CHECK(sweep.kind == "horizontal");
    CHECK(sweep.transport == Transport::kIcmp);
    CHECK(sweep.targets == 30);
    CHECK(sweep.targets_answered == 5);
    CHECK(sweep.ports.empty());
    CHECK(a.behavior.floods.empty());  // ICMP errors are no flood
}

TEST_CASE("a ping sweep is a sweep however many hosts answer") {
    // A bot mapping its subnet before spreading: 200 addresses, 170 of them alive. An echo
    // reply only says the host is there; it is what the sweep is looking for.
    CaptureWriter w;
    for (int h = 1; h <= 200; ++h) {
        Timestamp t = kT0 + h * 5 * kMilli;
        w.add_ip(
            t, icmp_echo(ip(kHost), host_n(12, h), false, 512, static_cast<std::uint16_t>(h), {}));
        if (h % 20 >= 3)  // 170 answer
            w.add_ip(t + kMilli, icmp_echo(host_n(12, h), ip(kHost), true, 512,
                                           static_cast<std::uint16_t>(h), {}));
    }
    auto a = analyze(w);
    REQUIRE(a.behavior.scans.size() == 1);
    const Scan& sweep = a.behavior.scans[0];
    CHECK(sweep.kind == "horizontal");
    CHECK(sweep.transport == Transport::kIcmp);
    CHECK(sweep.scanner == ip(kHost));
    CHECK(sweep.targets == 200);
    CHECK(sweep.targets_answered == 170);
    CHECK(sweep.probes == 200);
    CHECK(sweep.unproductive == 30);
    REQUIRE(sweep.ranges.size() == 1);
    CHECK(sweep.ranges[0].first == host_n(12, 1));
    CHECK(sweep.ranges[0].last == host_n(12, 200));
    CHECK(a.behavior.floods.empty());
}

TEST_CASE("a few pings that are answered are no sweep") {
    CaptureWriter w;
    for (int h = 1; h <= 3; ++h) {
        Timestamp t = kT0 + h * kSecond;
        w.add_ip(t, icmp_echo(ip(kHost), host_n(12, h), false, 1, 1, {}));
        w.add_ip(t + kMilli, icmp_echo(host_n(12, h), ip(kHost), true, 1, 1, {}));
    }
    CHECK(analyze(w).behavior.scans.empty());
}

TEST_CASE("backscatter and single checks are no scans") {
    CaptureWriter w;
    // SYN-ACKs and RSTs from 200 hosts answering SYNs that someone forged in our name.
    for (int i = 0; i < 200; ++i) {
        Timestamp t = kT0 + i * 10 * kMilli;
        Endpoint victim{host_n(12, 1 + i % 200), 80};
        Endpoint us = ep(kHost, static_cast<std::uint16_t>(1024 + i));
        w.add_ip(t,
                 tcp_packet(victim, us, 9, 1, i % 2 ? kTcpSyn | kTcpAck : kTcpRst | kTcpAck, {}));
    }
    // One check of one port, and probes of four hosts: below every threshold.
    w.add_ip(kT0 + 5 * kSecond,
             tcp_packet(ep(kHost, 2222), ep("198.51.100.200", 80), 1, 0, kTcpSyn, {}));
    for (int i = 0; i < 4; ++i)
        w.add_ip(kT0 + 6 * kSecond + i * kMilli,
                 tcp_packet(ep(kHost, static_cast<std::uint16_t>(2300 + i)),
                            {host_n(13, i + 1), 23}, 1, 0, kTcpSyn, {}));
    no_findings(analyze(w).behavior);
}

TEST_CASE("ordinary browsing, name lookups and mail give no flood, scan or spam") {
    CaptureWriter w;
    Timestamp t = kT0;
    for (int i = 0; i < 40; ++i, t += 700 * kMilli) {
        auto id = static_cast<std::uint16_t>(i);
        std::string name = "site" + std::to_string(i % 10) + ".example";
        w.add_ip(
            t, udp_packet(ep(kHost, 42000), ep("10.66.0.1", 53), dns_message(id, 0x0100, name, 1)));
        w.add_ip(t + kMilli, udp_packet(ep("10.66.0.1", 53), ep(kHost, 42000),
                                        dns_message(id, 0x8180, name, 1, {{1, 60, {1, 2, 3, 4}}})));
        TcpConversation c(w, ep(kHost, static_cast<std::uint16_t>(33000 + i)),
                          {host_n(14, 1 + i % 10), 80}, t + 2 * kMilli);
        c.handshake();
        c.send(Direction::kOrig,
               "GET /page" + std::to_string(i) + ".html HTTP/1.1\r\nHost: " + name + "\r\n\r\n");
        c.send(Direction::kResp, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        c.close();
    }
    for (int m = 0; m < 2; ++m) {
        TcpConversation s(w, ep(kHost, static_cast<std::uint16_t>(34000 + m)), ep("10.66.0.25", 25),
                          t + m * kSecond);
        s.handshake();
        s.send(Direction::kResp, "220 smarthost ESMTP\r\n");
        s.send(Direction::kOrig, "HELO me\r\n");
        s.send(Direction::kResp, "250 ok\r\n");
        s.send(Direction::kOrig, "MAIL FROM:<me@example.org>\r\n");
        s.send(Direction::kResp, "250 ok\r\n");
        s.send(Direction::kOrig, "RCPT TO:<you@example.net>\r\n");
        s.send(Direction::kResp, "250 ok\r\n");
        s.send(Direction::kOrig, "QUIT\r\n");
        s.send(Direction::kResp, "221 bye\r\n");
        s.close();
    }
    auto a = analyze(w);
    CHECK(a.net.http.transactions.size() == 40);
    CHECK(a.net.dns.transactions.size() == 40);
    no_findings(a.behavior);
}

TEST_CASE("commands are recognised and parsed") {
    std::string verb;
    std::vector<std::string> args;
    REQUIRE(parse_command("  .ddos.syn 198.51.100.10 80 60 ", verb, args));
    CHECK(verb == "ddos.syn");
    CHECK(args == std::vector<std::string>{"198.51.100.10", "80", "60"});
    CHECK(parse_command("!SPAM.start 3", verb, args));
    CHECK(verb == "spam.start");
    CHECK_FALSE(parse_command("hello there", verb, args));
    CHECK_FALSE(parse_command(". 5", verb, args));
    CHECK_FALSE(parse_command("", verb, args));
    CHECK(std::string(command_category("ddos.syn")) == "flood");
    CHECK(std::string(command_category("synflood")) == "flood");
    CHECK(std::string(command_category("advscan")) == "scan");
    CHECK(std::string(command_category("scan.start")) == "scan");
    CHECK(std::string(command_category("http.download")) == "download");
    CHECK(std::string(command_category("update")) == "download");
    CHECK(std::string(command_category("spam.start")) == "spam");
    CHECK(std::string(command_category("login")) == "other");

    BotCommand c;
    c.args = {"dcom135", "50", "3", "10.66.0.x", "http://10.66.0.1/x.exe", "198.51.100.7"};
    auto t = command_targets(c);
    CHECK(t.ports == std::vector<std::uint16_t>{135, 50, 3});
    REQUIRE(t.prefixes.size() == 1);
    CHECK(t.prefixes[0].first == ip("10.66.0.0"));
    CHECK(t.prefixes[0].second == 3);
    CHECK(t.urls == std::vector<std::string>{"http://10.66.0.1/x.exe"});
    CHECK(t.addresses == std::vector<IpAddress>{ip("198.51.100.7")});
    // A 10,000-character line is cut, not refused.
    std::string huge = ".x " + std::string(10000, 'a');
    REQUIRE(parse_command(huge, verb, args));
    CHECK(args[0].size() < kMaxCommandText);
}

TEST_CASE("a command is tied to the flood that followed it, matching its named target") {
    CaptureWriter w;
    TcpConversation irc(w, ep(kHost, 1100), ep("10.66.0.1", 6667), kT0);
    irc.handshake();
    irc.send(Direction::kOrig, "NICK bot\r\nUSER bot 0 0 :bot\r\n");
    irc.send(Direction::kResp, ":srv 001 bot :welcome\r\n");
    irc.send(Direction::kOrig, "JOIN #c\r\n");
    irc.send(Direction::kResp, ":boss!b@h PRIVMSG #c :.ddos.syn 198.51.100.10 80 60\r\n");
    irc.send(Direction::kResp, ":boss!b@h PRIVMSG #c :.ddos.udp 198.51.100.99 53 10\r\n");
    Timestamp t = irc.now() + kSecond;
    syn_flood(w, t, {ip("198.51.100.10"), 80}, 300, 5 * kMilli, 20);
    std::string junk(64, 'u');
    for (int i = 0; i < 300; ++i)  // a UDP flood, but not at the address the command named
        w.add_ip(t + i * 5 * kMilli,
                 udp_packet(ep(kHost, 5000), ep("198.51.100.50", 53), bytes_of(junk)));
    irc.advance(5 * kSecond);
    irc.close();
    auto a = analyze(w);
    REQUIRE(a.behavior.commands.size() == 2);
    REQUIRE(a.behavior.floods.size() == 2);
    const BotCommand& syn = a.behavior.commands[0];
    CHECK(syn.text == ".ddos.syn 198.51.100.10 80 60");
    CHECK(syn.category == "flood");
    CHECK(syn.where == "channel");
    CHECK(syn.from == "boss!b@h");
    REQUIRE(syn.followed_by.size() == 1);
    CHECK(syn.followed_by[0].section == "floods");
    CHECK(syn.followed_by[0].target_matched);
    const Flood& linked = a.behavior.floods[syn.followed_by[0].index];
    CHECK(linked.kind == "syn");
    CHECK(linked.command == std::optional<std::size_t>(0));
    CHECK(syn.followed_by[0].delay == linked.volume.start - syn.ts);
    CHECK(a.behavior.commands[1].followed_by.empty());
    const Flood* udp = only_flood(a.behavior, "udp");
    REQUIRE(udp);
    CHECK(!udp->command);
    REQUIRE(a.behavior.irc.size() == 1);
    CHECK(a.behavior.irc[0].commands == 2);
}

TEST_CASE("commands in a polling bot's HTTP reply are read; a style sheet is no command") {
    CaptureWriter w;
    TcpConversation c(w, ep(kHost, 1500), ep("10.66.0.1", 80), kT0);
    c.handshake();
    c.send(Direction::kOrig, "GET /gate.php?id=1 HTTP/1.1\r\nHost: cc.example\r\n\r\n");
    std::string cmds =
        ".ddos.udp 198.51.100.60 9 10\r\nnot a command\r\n!update http://x/y.exe\r\n";
    c.send(Direction::kResp, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                 std::to_string(cmds.size()) + "\r\n\r\n" + cmds);
    c.send(Direction::kOrig, "GET /style.css HTTP/1.1\r\nHost: cc.example\r\n\r\n");
    std::string css = ".menu { color: red }\r\n";
    c.send(Direction::kResp, "HTTP/1.1 200 OK\r\nContent-Type: text/css\r\nContent-Length: " +
                                 std::to_string(css.size()) + "\r\n\r\n" + css);
    c.close();
    auto a = analyze(w);
    REQUIRE(a.behavior.commands.size() == 2);
    const BotCommand& first = a.behavior.commands[0];
    CHECK(first.via == "http");
    CHECK(first.where == "response");
    CHECK(first.text == ".ddos.udp 198.51.100.60 9 10");
    CHECK(first.category == "flood");
    CHECK(first.target == "/gate.php?id=1");
    CHECK(a.behavior.commands[1].verb == "update");
    CHECK(a.behavior.commands[1].category == "download");
}

// --- floods whatever the ports, and reflection ------------------------------------------------

TEST_CASE("a random-port SYN flood from spoofed sources is a flood, not a scan") {
    CaptureWriter w;
    const IpAddress target = host_n(100, 50);
    // 2,000 SYNs at 1,000 a second, each from its own address to its own port, as the era's
    // bots did with `.ddos.syn target 0`.
    for (int i = 0; i < 2000; ++i) {
        IpAddress src = IpAddress::v4(203, 0, static_cast<std::uint8_t>(i / 250),
                                      static_cast<std::uint8_t>(1 + i % 250));
        w.add_ip(kT0 + i * kMilli,
                 tcp_packet({src, static_cast<std::uint16_t>(20000 + i)},
                            {target, static_cast<std::uint16_t>(1 + (i * 7919) % 60000)}, 1, 0,
                            kTcpSyn, {}));
    }
    auto a = analyze(w);
    CHECK(a.behavior.scans.empty());
    REQUIRE(a.behavior.floods.size() == 1);
    const Flood& f = a.behavior.floods[0];
    CHECK(f.kind == "syn");
    CHECK(f.target == target);
    CHECK(f.events == 2000);
    CHECK(f.ports_total == 2000);
    CHECK(f.sources == 2000);
    CHECK(f.spoofed_sources == std::optional<std::uint64_t>(2000));
    CHECK(f.peak_events_per_second == doctest::Approx(1000).epsilon(0.01));
    CHECK_FALSE(f.reflection.has_value());
}

TEST_CASE(
    "a random-port UDP flood from the host is a flood; small probes of as many ports a scan") {
    CaptureWriter w;
    const IpAddress target = host_n(100, 51);
    std::string filled(512, 'X');
    for (int i = 0; i < 1000; ++i)
        w.add_ip(kT0 + i * 2 * kMilli,
                 udp_packet(ep(kHost, static_cast<std::uint16_t>(30000 + i)),
                            {target, static_cast<std::uint16_t>(1 + i)}, bytes_of(filled)));
    auto a = analyze(w);
    CHECK(a.behavior.scans.empty());  // the flood's one-per-port datagrams are no vertical scan
    REQUIRE(a.behavior.floods.size() == 1);
    const Flood& f = a.behavior.floods[0];
    CHECK(f.kind == "udp");
    CHECK(f.target == target);
    CHECK(f.volume.packets == 1000);
    CHECK(f.ports_total == 1000);
    CHECK(f.sources == 1);
    CHECK(f.spoofed_sources == std::optional<std::uint64_t>(0));
    CHECK_FALSE(f.reflection.has_value());

    // The same rate and ports with empty datagrams: a UDP port scan.
    CaptureWriter w2;
    for (int i = 0; i < 1000; ++i)
        w2.add_ip(kT0 + i * 2 * kMilli,
                  udp_packet(ep(kHost, 30000), {target, static_cast<std::uint16_t>(1 + i)}, {}));
    auto b = analyze(w2);
    CHECK(b.behavior.floods.empty());
    REQUIRE(b.behavior.scans.size() == 1);
    CHECK(b.behavior.scans[0].kind == "vertical");
    CHECK(b.behavior.scans[0].ports_total == 1000);
}

TEST_CASE("UDP amplification: servers answering forged requests flood the target") {
    // DNS (with large answers), NTP monlist, SSDP, chargen, SNMP and IKE reflectors.
    for (std::uint16_t port : {53, 123, 1900, 19, 161, 500}) {
        CAPTURE(port);
        CaptureWriter w;
        std::string answer(port == 53 ? 1400 : 440, 'R');
        // 300 reflectors, 1,500 datagrams in 1.5 s, each to a port of the target's choosing.
        for (int i = 0; i < 1500; ++i) {
            Endpoint reflector{host_n(60 + i % 3, 1 + (i / 3) % 100), port};
            w.add_ip(kT0 + i * kMilli,
                     udp_packet(reflector, ep(kHost, static_cast<std::uint16_t>(1024 + i * 13)),
                                bytes_of(answer)));
        }
        auto a = analyze(w);
        CHECK(a.behavior.scans.empty());
        REQUIRE(a.behavior.floods.size() == 1);
        const Flood& f = a.behavior.floods[0];
        CHECK(f.kind == "udp");
        CHECK(f.target == ip(kHost));
        CHECK(f.volume.packets == 1500);
        CHECK(f.sources == 300);
        REQUIRE(f.reflection.has_value());
        CHECK(f.reflection->port == port);
        CHECK(f.reflection->reflectors == 300);

        // 100 reflectors (too many to remember as flooders), each answering towards 15 ports:
        // still no scan by any of them.
        CaptureWriter w2;
        for (int i = 0; i < 1500; ++i)
            w2.add_ip(
                kT0 + i * kMilli,
                udp_packet({host_n(63, 1 + i % 100), port},
                           ep(kHost, static_cast<std::uint16_t>(1024 + i * 13)), bytes_of(answer)));
        auto b = analyze(w2);
        CHECK(b.behavior.scans.empty());
        REQUIRE(b.behavior.floods.size() == 1);
        REQUIRE(b.behavior.floods[0].reflection.has_value());
        CHECK(b.behavior.floods[0].reflection->reflectors == 100);
    }
}

TEST_CASE("SYN-ACK reflection from web servers is a flood; one server's backscatter is not") {
    for (std::uint16_t port : {80, 443}) {
        CAPTURE(port);
        CaptureWriter w;
        // 200 servers answer 3,000 SYNs forged in the target's name: 1,000 SYN-ACKs a second,
        // and the target's RSTs back.
        for (int i = 0; i < 3000; ++i) {
            Endpoint server{host_n(70 + i % 2, 1 + (i / 2) % 100), port};
            Endpoint victim = ep(kHost, static_cast<std::uint16_t>(1024 + i));
            Timestamp t = kT0 + i * kMilli;
            w.add_ip(t, tcp_packet(server, victim, 5000, 1, kTcpSyn | kTcpAck, {}));
            w.add_ip(t + 100'000, tcp_packet(victim, server, 1, 0, kTcpRst, {}));
        }
        auto a = analyze(w);
        CHECK(a.behavior.scans.empty());
        REQUIRE(a.behavior.floods.size() == 1);
        const Flood& f = a.behavior.floods[0];
        CHECK(f.kind == "synack");
        CHECK(f.target == ip(kHost));
        CHECK(f.events == 3000);
        CHECK(f.sources == 200);
        CHECK(f.replies == 3000);
        CHECK(f.peak_events_per_second == doctest::Approx(1000).epsilon(0.01));
        REQUIRE(f.reflection.has_value());
        CHECK(f.reflection->port == port);
        CHECK(f.reflection->reflectors == 200);
    }

    // One server answering at the same rate: a SYN flood elsewhere spoofed our address, and
    // we see its backscatter, not a reflection.
    CaptureWriter w;
    for (int i = 0; i < 3000; ++i)
        w.add_ip(kT0 + i * kMilli,
                 tcp_packet({host_n(72, 1), 80}, ep(kHost, static_cast<std::uint16_t>(1024 + i)),
                            5000, 1, kTcpSyn | kTcpAck, {}));
    no_findings(analyze(w).behavior);
}

}  // namespace test_detect_traffic
