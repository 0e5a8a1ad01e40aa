// The analysis driven past its named limits: flows and hosts (NetworkResult), findings
// of one kind and commands (detect/behavior.h), a flood's sources (detect/traffic.h). Each limit
// must hold, and the report must say that something was left out.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/detect/traffic.h"
#include "analysis/distinct_count.h"
#include "analysis/engine.h"
#include "analysis/log_sink.h"
#include "analysis/proto/irc/irc_analyzer.h"
#include "report/behavior_json.h"
#include "report/network_json.h"
#include "support/pcapgen.h"
#include "support/report_check.h"

namespace test_caps {

using namespace botscope::analysis;
using namespace botscope::testing;
using botscope::analysis::detect::BehaviorResult;
using botscope::analysis::detect::Config;
using botscope::report::Json;

namespace {

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
    set_file_facts(a.net.capture);
    return a;
}

/// The whole report of an analysis past a cap matches the schema: estimates, NAME_omitted
/// and the dropped counts are where a consumer expects them.
void check_schema(const NetworkResult& net, const BehaviorResult& behavior) {
    const std::string problems = report_schema_problems(
        botscope::report::dump(botscope::report::pcap_report("x.pcap", net, behavior)));
    CHECK_MESSAGE(problems.empty(), problems);
}

/// Counts what the engine streams to its log (the JSON-lines writer is tested on its own).
class CountingSink final : public LogSink {
public:
    void flow(const FlowRecord& r) override {
        ++flows;
        last_id = r.id;
    }
    std::uint64_t flows = 0;
    FlowId last_id = 0;
};

// Flows from this many addresses: past the host cap, and a UDP flood with many more sources
// than an episode keeps.
constexpr std::uint64_t kFlows = 100'005;
const Endpoint kFloodTarget{IpAddress::v4(198, 51, 100, 10), 9999};

IpAddress nth_source(std::uint64_t i) {
    return IpAddress::v4(172, static_cast<std::uint8_t>(16 + (i >> 16)),
                         static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
}

struct FloodRun {
    Analysis a;
    CountingSink sink;
};

/// One UDP datagram from each of kFlows addresses to one port, 10 µs apart: built once, shared
/// by the cases below.
const FloodRun& spoofed_udp_flood() {
    static const FloodRun run = [] {
        FloodRun r;
        CaptureWriter w;
        const std::string payload = "x";
        for (std::uint64_t i = 0; i < kFlows; ++i)
            w.add_ip(kT0 + static_cast<Timestamp>(i) * 10'000,
                     udp_packet({nth_source(i), 40000}, kFloodTarget, bytes_of(payload)));
        Config config;
        config.hosts.push_back(ip("10.66.0.10"));
        Engine e(kLinkEthernet, config, &r.sink);
        for (const auto& f : w.frames())
            e.process(f.ts, f.data, f.wire_len);
        r.a.net = e.finish(&r.a.behavior);
        set_file_facts(r.a.net.capture);
        return r;
    }();
    return run;
}

/// Within 3.2 standard errors of the sketch (distinct_count.h): one run in a thousand or so
/// would miss that by chance, and the inputs here are fixed.
bool close_estimate(std::uint64_t estimate, std::uint64_t truth) {
    double err = std::abs(static_cast<double>(estimate) - static_cast<double>(truth)) /
                 static_cast<double>(truth);
    return err <= 3.2 * DistinctCounter::kRelativeError;
}

}  // namespace

TEST_CASE("flows: every one logged, a sample kept, the report lists kReportFlows") {
    const FloodRun& run = spoofed_udp_flood();
    const NetworkResult& net = run.a.net;
    CHECK(net.flows_total == kFlows);
    CHECK(run.sink.flows == kFlows);
    CHECK(net.flows.size() == NetworkResult::kSampledFlows);
    CHECK(net.flows_dropped == kFlows - NetworkResult::kSampledFlows);
    Json flows = botscope::report::network_to_json(net)["flows"];
    CHECK(flows["count"] == kFlows);
    CHECK(flows["list"].size() == botscope::report::kReportFlows);
    CHECK(flows["dropped"] == kFlows - botscope::report::kReportFlows);
}

TEST_CASE("hosts past kMaxHosts: the table stops growing, the count goes on as an estimate") {
    const NetworkResult& net = spoofed_udp_flood().a.net;
    const std::uint64_t distinct = kFlows + 1;  // every source, and the target
    CHECK(net.hosts.size() == NetworkResult::kMaxHosts);
    CHECK(close_estimate(net.hosts_dropped, distinct - NetworkResult::kMaxHosts));
    Json hosts = botscope::report::network_to_json(net)["hosts"];
    CHECK(close_estimate(hosts["count"].get<std::uint64_t>(), distinct));
    CHECK(hosts["count_estimated"] == true);
    CHECK(hosts["list"].size() == botscope::report::kReportHosts);
}

TEST_CASE("a flood's sources past kMaxSources: estimated, and flagged as an estimate") {
    const BehaviorResult& b = spoofed_udp_flood().a.behavior;
    REQUIRE(b.floods.size() == 1);
    const detect::Flood& f = b.floods[0];
    CHECK(f.kind == "udp");
    CHECK(f.target == kFloodTarget.addr);
    CHECK(f.events == kFlows);
    CHECK(close_estimate(f.sources, kFlows));
    CHECK(f.sources_estimated);
    REQUIRE(f.spoofed_sources.has_value());
    CHECK(*f.spoofed_sources == f.sources);  // the analysed host is not among them
    Json j = botscope::report::behavior_to_json(b)["floods"][0];
    CHECK(j["sources"] == f.sources);
    CHECK(j["sources_estimated"] == true);
    check_schema(spoofed_udp_flood().a.net, b);
}

TEST_CASE("floods past kMaxFindings: a thousand kept, a sample listed, the rest counted") {
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
    // The report lists the first of them within its budget and counts the others, which
    // behavior.jsonl gets whole, at the same indices.
    Json j = botscope::report::behavior_to_json(a.behavior);
    CHECK(j["floods"].size() >= 10);
    CHECK(botscope::report::json_size(j["floods"]) <= botscope::report::kBehaviorSampleBytes);
    CHECK(j["floods"].size() + j["floods_omitted"].get<std::size_t>() == detect::kMaxFindings);
    CHECK(j["findings_dropped"] == kTargets - detect::kMaxFindings);
    std::vector<Json> logged;
    botscope::report::behavior_records(a.behavior, [&](const char* section, std::size_t i, Json f) {
        if (std::string(section) == "floods") {
            CHECK(i == logged.size());
            logged.push_back(std::move(f));
        }
    });
    REQUIRE(logged.size() == detect::kMaxFindings);
    CHECK(logged[0] == j["floods"][0]);
    CHECK(logged.back()["target"] == a.behavior.floods.back().target.to_string());
    check_schema(a.net, a.behavior);
}

TEST_CASE("commands past kMaxCommands: a thousand kept, a sample listed, the rest counted") {
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
    CHECK(j["commands"].size() + j["commands_omitted"].get<std::size_t>() == detect::kMaxCommands);
    CHECK(j["commands"][0]["text"] == ".sysinfo 0");
    CHECK(j["findings_dropped"] == kSent - detect::kMaxCommands);
    check_schema(a.net, a.behavior);
}

TEST_CASE("an IRC C&C session after the IRC result is full is still listed") {
    // IRC connections that never register (a nick, no USER: no C&C) fill the sessions the
    // IRC result keeps; the bot's real session comes after them.
    CaptureWriter w;
    Timestamp t = kT0;
    for (std::size_t i = 0; i < irc::kMaxSessions + 10; ++i) {
        TcpConversation c(w, {ip("10.66.0.20"), static_cast<std::uint16_t>(2000 + i)},
                          {ip("10.66.0.1"), 6667}, t);
        c.handshake();
        c.send(Direction::kOrig, "NICK n" + std::to_string(i) + "\r\nJOIN #x\r\n");
        c.close();
        t = c.now() + kMilli;
    }
    TcpConversation irc(w, {ip("10.66.0.10"), 1100}, {ip("10.66.0.1"), 6667}, t);
    irc.handshake();
    irc.send(Direction::kOrig, "NICK realbot\r\nUSER b 0 0 :b\r\n");
    irc.send(Direction::kResp, ":irc.example 001 realbot :Welcome\r\n");
    irc.send(Direction::kOrig, "JOIN #c\r\n");
    irc.send(Direction::kResp, ":boss!b@10.66.0.1 PRIVMSG #c :.sysinfo\r\n");
    irc.close();
    auto a = analyze(w);
    CHECK(a.net.irc.sessions.size() == irc::kMaxSessions);
    CHECK(a.net.irc.sessions_dropped == 11);
    REQUIRE(a.behavior.irc.size() == 1);
    CHECK(a.behavior.irc[0].nick == "realbot");
    CHECK(a.behavior.irc[0].channels == std::vector<std::string>{"#c"});
    CHECK(a.behavior.irc[0].commands == 1);
}

TEST_CASE("a command in an HTTP reply after the HTTP result is full is still received") {
    // 10,000 page requests fill what the HTTP result keeps; the bot then polls its C&C, whose
    // reply is a command only the collector fed as transactions close can see.
    CaptureWriter w;
    const Timestamp t = http_page_requests(w, ip("10.66.0.10"), {ip("203.0.113.20"), 80}, kT0,
                                           http::kMaxTransactions);
    const std::string command = ".ddos.syn 10.66.0.200 80 60\n";
    TcpConversation poll(w, {ip("10.66.0.10"), 3999}, {ip("203.0.113.7"), 80}, t + kSecond);
    poll.handshake();
    poll.send(Direction::kOrig, "GET /gate.php HTTP/1.1\r\nHost: cc.example\r\n\r\n");
    poll.send(Direction::kResp, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                    std::to_string(command.size()) + "\r\n\r\n" + command);
    poll.close();
    auto a = analyze(w);
    CHECK(a.net.http.dropped == 1);
    REQUIRE(a.behavior.commands.size() == 1);
    CHECK(a.behavior.commands[0].via == "http");
    CHECK(a.behavior.commands[0].verb == "ddos.syn");
}

}  // namespace test_caps
