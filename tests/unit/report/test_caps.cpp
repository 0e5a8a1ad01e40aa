// The analysis driven past its named limits: flow records and hosts (NetworkResult), findings
// of one kind and commands (detect/behavior.h), a flood's sources (detect/traffic.h). Each limit
// must hold, and the report must say that something was left out.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "analysis/detect/behavior.h"
#include "analysis/detect/traffic.h"
#include "analysis/engine.h"
#include "report/behavior_json.h"
#include "report/network_json.h"
#include "support/pcapgen.h"

using namespace botscope::analysis;
using namespace botscope::testing;
using botscope::analysis::detect::BehaviorResult;
using botscope::analysis::detect::Config;
using botscope::report::Json;

namespace {

constexpr Timestamp kT0 = 1'136'073'600 * kSecond;  // 2006-01-01

struct Analysis {
    NetworkResult net;
    BehaviorResult behavior;
};

Analysis analyze(const CaptureWriter& w, Config config = {}) {
    config.hosts.push_back(ip("10.66.0.10"));
    Engine e(kLinkEthernet, config);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    Analysis a;
    a.net = e.finish(&a.behavior);
    return a;
}

// Past the flow-record cap by this many flows, each from its own address: also past the host
// cap, and a UDP flood with more sources than an episode counts.
constexpr std::uint64_t kExtraFlows = 5;
constexpr std::uint64_t kFlows = NetworkResult::kMaxFlowRecords + kExtraFlows;
const Endpoint kFloodTarget{IpAddress::v4(198, 51, 100, 10), 9999};

IpAddress nth_source(std::uint64_t i) {
    return IpAddress::v4(172, static_cast<std::uint8_t>(16 + (i >> 16)),
                         static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
}

/// One UDP datagram from each of kFlows addresses to one port, 10 µs apart: built once, shared
/// by the cases below (100,005 packets).
const Analysis& spoofed_udp_flood() {
    static const Analysis a = [] {
        CaptureWriter w;
        const std::string payload = "x";
        for (std::uint64_t i = 0; i < kFlows; ++i)
            w.add_ip(kT0 + static_cast<Timestamp>(i) * 10'000,
                     udp_packet({nth_source(i), 40000}, kFloodTarget, bytes_of(payload)));
        return analyze(w);
    }();
    return a;
}

/// The network section of the report without the (capped, checked) flow list: the counts are
/// what is under test here, and 100,000 flows as JSON would cost the test a few hundred MB.
/// The report counts hosts from their list, so that list stays when `keep_hosts`.
Json counts_json(NetworkResult net, bool keep_hosts) {
    net.flows.clear();
    if (!keep_hosts)
        net.hosts.clear();
    return botscope::report::network_to_json(net);
}

}  // namespace

TEST_CASE("flow records past kMaxFlowRecords: the first ones kept, the rest counted as dropped") {
    const NetworkResult& net = spoofed_udp_flood().net;
    CHECK(net.flows_total == kFlows);
    CHECK(net.flows.size() == NetworkResult::kMaxFlowRecords);
    CHECK(net.flows_dropped == kExtraFlows);
    Json flows = counts_json(net, false)["flows"];
    CHECK(flows["count"] == kFlows);
    CHECK(flows["dropped"] == kExtraFlows);
}

TEST_CASE("hosts past kMaxHosts: the table stops growing, the report counts every host") {
    const NetworkResult& net = spoofed_udp_flood().net;
    const std::uint64_t distinct = kFlows + 1;  // every source, and the target
    CHECK(net.hosts.size() == NetworkResult::kMaxHosts);
    CHECK(net.hosts_dropped == distinct - NetworkResult::kMaxHosts);
    Json hosts = counts_json(net, true)["hosts"];
    CHECK(hosts["count"] == distinct);
    CHECK(hosts["dropped"] == distinct - NetworkResult::kMaxHosts);
}

TEST_CASE("a flood's sources past kMaxSources: counted up to the cap, and flagged") {
    const BehaviorResult& b = spoofed_udp_flood().behavior;
    REQUIRE(b.floods.size() == 1);
    const detect::Flood& f = b.floods[0];
    CHECK(f.kind == "udp");
    CHECK(f.target == kFloodTarget.addr);
    CHECK(f.events == kFlows);
    CHECK(f.sources == detect::kMaxSources);
    CHECK(f.sources_capped);
    Json j = botscope::report::behavior_to_json(b)["floods"][0];
    CHECK(j["sources"] == detect::kMaxSources);
    CHECK(j["sources_capped"] == true);
}

TEST_CASE("floods past kMaxFindings: a thousand listed, the rest counted as dropped") {
    // One small SYN flood on each of kMaxFindings + 3 targets, with thresholds low enough for
    // five SYNs to be one.
    constexpr std::size_t kTargets = detect::kMaxFindings + 3;
    Config config;
    config.flood.min_packets = 5;
    config.flood.min_peak_pps = 1;
    CaptureWriter w;
    for (std::size_t t = 0; t < kTargets; ++t) {
        const Endpoint target{nth_source(t), 80};
        for (std::uint32_t k = 0; k < 5; ++k)
            w.add_ip(kT0 + static_cast<Timestamp>(t * 5 + k) * kMilli,
                     tcp_packet({IpAddress::v4(203, 0, 113, static_cast<std::uint8_t>(1 + k)),
                                 static_cast<std::uint16_t>(20000 + t % 20000)},
                                target, k * 7919u, 0, kTcpSyn, {}));
    }
    auto a = analyze(w, config);
    CHECK(a.behavior.floods.size() == detect::kMaxFindings);
    CHECK(a.behavior.dropped == kTargets - detect::kMaxFindings);
    Json j = botscope::report::behavior_to_json(a.behavior);
    CHECK(j["floods"].size() == detect::kMaxFindings);
    CHECK(j["findings_dropped"] == kTargets - detect::kMaxFindings);
}

TEST_CASE("commands past kMaxCommands: a thousand listed, the rest counted as dropped") {
    // An IRC session keeps kMaxMessagesPerDirection messages each way, so the commands come
    // over two sessions of 600 each.
    constexpr int kSessions = 2;
    constexpr int kPerSession = 600;
    CaptureWriter w;
    Timestamp t = kT0;
    for (int s = 0; s < kSessions; ++s) {
        TcpConversation irc(w, {ip("10.66.0.10"), static_cast<std::uint16_t>(1100 + s)},
                            {ip("10.66.0.1"), 6667}, t);
        irc.handshake();
        irc.send(Direction::kOrig, "NICK bot" + std::to_string(s) + "\r\nUSER b 0 0 :b\r\n");
        irc.send(Direction::kResp, ":irc.example 001 bot" + std::to_string(s) + " :Welcome\r\n");
        irc.send(Direction::kOrig, "JOIN #c\r\n");
        std::string lines;
        for (int i = 0; i < kPerSession; ++i)
            lines += ":boss!b@10.66.0.1 PRIVMSG #c :.sysinfo " + std::to_string(i) + "\r\n";
        irc.send_segments(Direction::kResp, lines, 1400);
        irc.close();
        t = irc.now() + kSecond;
    }
    auto a = analyze(w);
    constexpr std::size_t kSent = kSessions * kPerSession;
    CHECK(a.behavior.commands.size() == detect::kMaxCommands);
    CHECK(a.behavior.dropped == kSent - detect::kMaxCommands);
    Json j = botscope::report::behavior_to_json(a.behavior);
    CHECK(j["commands"].size() == detect::kMaxCommands);
    CHECK(j["findings_dropped"] == kSent - detect::kMaxCommands);
}
