// report.json against a capture made to fill every list it has with the largest records the
// analyzers keep: a thousand long bot commands, a thousand distinct downloads with long URLs,
// floods and scans past the findings cap, long DNS names, TFTP file names and shell commands.
// The report must stay under 1 MB, say what it left out, and behavior.jsonl hold it all.

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/engine.h"
#include "report/behavior_json.h"
#include "report/jsonl_logs.h"
#include "report/network_json.h"
#include "support/pcapgen.h"
#include "support/report_check.h"
#include "support/temp_dir.h"

namespace test_report_bound {

using namespace botscope::analysis;
using namespace botscope::testing;
using botscope::report::Json;
using botscope::report::JsonlLogs;
namespace detect = botscope::analysis::detect;
namespace fs = std::filesystem;

namespace {

const IpAddress kBot = IpAddress::v4(10, 66, 0, 10);
const Endpoint kServer{IpAddress::v4(10, 66, 0, 1), 0};
constexpr std::size_t kOverCap = detect::kMaxFindings + 100;

Endpoint at(const Endpoint& e, std::uint16_t port) {
    return {e.addr, port};
}

Endpoint bot(std::size_t n) {
    return {kBot, static_cast<std::uint16_t>(1024 + n % 60000)};
}

std::string pe_file(std::size_t size) {
    std::string f(size, 'x');
    f.replace(0, 2, "MZ");
    f[0x3c] = static_cast<char>(0x80);
    f.replace(0x80, 4, std::string("PE\0\0", 4));
    return f;
}

/// A DNS name of about 240 characters, distinct for each n.
std::string long_name(std::size_t n) {
    const std::string label(60, 'd');
    return label + "." + label + "." + label + "." + std::to_string(n) + "x.example";
}

/// Commands over IRC, two sessions (a session keeps a bounded number of messages).
void commands(CaptureWriter& w, Timestamp& t) {
    const std::string pad(400, 'p');
    for (std::size_t s = 0; s < 2; ++s) {
        TcpConversation irc(w, bot(50000 + s), at(kServer, 6667), t);
        irc.handshake();
        irc.send(Direction::kOrig, "NICK b" + std::to_string(s) + "\r\nUSER b 0 0 :b\r\n");
        irc.send(Direction::kResp, ":irc.example 001 b" + std::to_string(s) + " :Welcome\r\n");
        irc.send(Direction::kOrig, "JOIN #c\r\n");
        std::string lines;
        for (std::size_t i = 0; i < kOverCap / 2 + 10; ++i)
            lines +=
                ":boss!b@10.66.0.1 PRIVMSG #c :.sysinfo " + std::to_string(i) + " " + pad + "\r\n";
        irc.send_segments(Direction::kResp, lines, 1400);
        irc.close();
        t = irc.now() + kSecond;
    }
}

/// Distinct executables, each with a long URL and User-Agent.
void downloads(CaptureWriter& w, Timestamp& t) {
    const std::string pe = pe_file(400);
    const std::string agent(1000, 'u');
    const std::string path(1500, 'q');
    for (std::size_t i = 0; i < kOverCap; ++i) {
        TcpConversation c(w, bot(i), at(kServer, 80), t);
        c.handshake();
        c.send(Direction::kOrig,
               "GET /" + path + std::to_string(i) +
                   ".exe HTTP/1.0\r\nHost: files.example\r\nUser-Agent: " + agent + "\r\n\r\n");
        c.send(Direction::kResp,
               "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(pe.size()) + "\r\n\r\n" + pe);
        c.close();
        t = c.now() + 10 * kMilli;
    }
}

void dns(CaptureWriter& w, Timestamp& t) {
    for (std::size_t i = 0; i < 2000; ++i, t += kMilli) {
        const auto id = static_cast<std::uint16_t>(i);
        const std::string name = long_name(i);
        w.add_ip(t, udp_packet(bot(i), at(kServer, 53), dns_message(id, 0x0100, name, 1)));
        w.add_ip(t, udp_packet(at(kServer, 53), bot(i),
                               dns_message(id, 0x8180, name, 1, {{1, 60, {10, 66, 0, 1}}})));
    }
}

void tftp(CaptureWriter& w, Timestamp& t) {
    const std::string name(300, 'f');
    for (std::size_t i = 0; i < 1000; ++i, t += kMilli) {
        std::string rrq = std::string("\0\1", 2) + name + std::to_string(i) + ".exe";
        rrq += std::string("\0octet\0", 7);
        w.add_ip(t, udp_packet(bot(20000 + i), at(kServer, 69), bytes_of(rrq)));
    }
}

/// Five SYNs from five sources on each of kOverCap targets: a flood each, with the thresholds
/// lowered; then as many scanners, each probing six addresses once.
void floods_and_scans(CaptureWriter& w, Timestamp& t) {
    for (std::size_t i = 0; i < kOverCap; ++i) {
        const Endpoint target{
            IpAddress::v4(10, 70, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)),
            80};
        for (std::uint32_t k = 0; k < 5; ++k, t += kMilli)
            w.add_ip(t, tcp_packet({IpAddress::v4(10, 66, 1, static_cast<std::uint8_t>(1 + k)),
                                    static_cast<std::uint16_t>(2000 + i % 20000)},
                                   target, k * 7919u, 0, kTcpSyn, {}));
    }
    for (std::size_t i = 0; i < kOverCap; ++i) {
        const IpAddress scanner =
            IpAddress::v4(10, 80, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
        for (std::uint8_t k = 0; k < 6; ++k, t += kMilli)
            w.add_ip(t, tcp_packet({scanner, 3000}, {IpAddress::v4(10, 90, 0, k), 445}, 1, 0,
                                   kTcpSyn, {}));
    }
}

/// A bind shell whose operator types hundreds of long commands.
void shell(CaptureWriter& w, Timestamp& t) {
    TcpConversation c(w, at(kServer, 40000), {kBot, 4444}, t);
    c.handshake();
    c.send(Direction::kResp,
           "Microsoft Windows XP [Version 5.1.2600]\r\n(C) Copyright 1985-2001 Microsoft "
           "Corp.\r\n\r\nC:\\WINDOWS\\system32>");
    const std::string arg(300, 'c');
    for (int i = 0; i < 300; ++i) {
        c.send(Direction::kOrig, "echo " + arg + std::to_string(i) + "\r\n");
        c.send(Direction::kResp, "C:\\WINDOWS\\system32>");
    }
    c.close();
    t = c.now() + kSecond;
}

struct Run {
    TempDir dir{"botscope-bound"};
    Json report;
    std::string text;
    detect::BehaviorResult behavior;
};

const Run& run() {
    static const std::unique_ptr<Run> made = [] {
        auto r = std::make_unique<Run>();
        CaptureWriter w;
        Timestamp t = kT0;
        commands(w, t);
        downloads(w, t);
        dns(w, t);
        tftp(w, t);
        floods_and_scans(w, t);
        shell(w, t);

        std::string err;
        auto logs = JsonlLogs::open(r->dir.path, err);
        REQUIRE_MESSAGE(logs, err);
        detect::Config config;
        config.hosts.push_back(kBot);
        config.flood.min_packets = 5;
        config.flood.min_peak_pps = 1;
        Engine e(kLinkEthernet, config, logs.get());
        for (const auto& f : w.frames())
            e.process(f.ts, f.data, f.wire_len);
        NetworkResult net = e.finish(&r->behavior);
        set_file_facts(net.capture);
        logs->data_streams(net.data_streams);
        logs->behavior(r->behavior);
        REQUIRE(logs->commit().empty());
        r->report = botscope::report::pcap_report("x.pcap", net, r->behavior, logs.get());
        r->text = botscope::report::dump(r->report);
        r->dir.write("report.json", r->text);
        return r;
    }();
    return *made;
}

}  // namespace

TEST_CASE("report.json stays under 1 MB, each list within its budget, on the largest records") {
    const Run& r = run();
    MESSAGE("report.json: " << r.text.size() << " bytes");
    for (const std::string part : {"network", "behavior"})
        for (const auto& [key, value] : r.report[part].items())
            MESSAGE(part << "." << key << ": " << botscope::report::dump(value).size());
    CHECK(r.text.size() < 1'000'000);

    // Every list of records keeps to its budget, the first record included, whether this
    // capture filled it or not (SMTP, FTP, spam runs and beacons are cut the same way): the
    // report's size is the sum of the budgets, whatever the capture.
    using botscope::report::json_size;
    const Json& net = r.report["network"];
    for (const auto& [list, budget] : std::vector<std::pair<Json, std::size_t>>{
             {net["dns"]["transactions"], botscope::report::kSampleBytes},
             {net["dns"]["names"], botscope::report::kSampleBytes},
             {net["http"]["transactions"], botscope::report::kSampleBytes},
             {net["irc"]["sessions"], botscope::report::kSampleBytes},
             {net["tftp"]["transfers"], botscope::report::kSampleBytes},
             {net["shell"]["sessions"], botscope::report::kSampleBytes},
             {r.report["behavior"]["commands"], botscope::report::kBehaviorSampleBytes},
             {r.report["behavior"]["downloads"], botscope::report::kBehaviorSampleBytes},
             {r.report["behavior"]["floods"], botscope::report::kBehaviorSampleBytes},
             {r.report["behavior"]["scans"], botscope::report::kBehaviorSampleBytes}}) {
        CHECK(!list.empty());
        CHECK(json_size(list) <= budget + list.size() + 1);  // brackets and commas
    }
    CHECK(net["flows"]["list"].size() == botscope::report::kReportFlows);

    // Every list the capture was made to fill was filled, and the report says what it cut.
    const Json& b = r.report["behavior"];
    CHECK(r.behavior.commands.size() == detect::kMaxCommands);
    CHECK(r.behavior.downloads.size() == detect::kMaxFindings);
    CHECK(r.behavior.floods.size() == detect::kMaxFindings);
    CHECK(r.behavior.scans.size() == detect::kMaxFindings);
    CHECK(r.behavior.remote_shells.size() == 1);
    for (const char* list : {"commands", "downloads", "floods", "scans"}) {
        CAPTURE(list);
        CHECK(b[list].size() >= 1);
        CHECK(b[list].size() + b[std::string(list) + "_omitted"].get<std::size_t>() ==
              (std::string(list) == "commands" ? detect::kMaxCommands : detect::kMaxFindings));
    }
    for (const char* proto : {"dns", "http", "irc", "tftp", "shell"}) {
        CAPTURE(proto);
        CHECK(net[proto]["count"].get<std::uint64_t>() >= 1);
    }
    CHECK(net["dns"]["omitted"].get<std::uint64_t>() > 0);
    CHECK(net["http"]["omitted"].get<std::uint64_t>() > 0);
    CHECK(net["tftp"]["omitted"].get<std::uint64_t>() > 0);
    // The shell session's commands are cut inside the one record listed.
    CHECK(net["shell"]["sessions"][0]["commands_omitted"].get<std::uint64_t>() > 0);
}

TEST_CASE("the report with every list cut, and its logs, match their schemas") {
    // The cut lists carry NAME_omitted beside them, at every depth: the schema must allow those
    // and nothing else.
    const Run& r = run();
    const std::string problems = schema_problems(r.dir.path);
    CHECK_MESSAGE(problems.empty(), problems);
}

TEST_CASE("behavior.jsonl holds every finding whole, at the index the report uses") {
    const Run& r = run();
    std::ifstream in(r.dir.path / "behavior.jsonl");
    std::string line;
    std::map<std::string, std::size_t> count;
    std::size_t lines = 0;
    const Json& b = r.report["behavior"];
    while (std::getline(in, line)) {
        const Json j = Json::parse(line);
        const std::string section = j["section"];
        const std::size_t index = j["index"];
        CHECK(index == count[section]++);
        ++lines;
        // An entry the report lists is the log's, its inner lists cut.
        if (section == "floods" && index < b["floods"].size())
            CHECK(j["target"] == b["floods"][index]["target"]);
        if (section == "commands" && index < b["commands"].size())
            CHECK(j["text"] == b["commands"][index]["text"]);
    }
    CHECK(count["commands"] == detect::kMaxCommands);
    CHECK(count["downloads"] == detect::kMaxFindings);
    CHECK(count["floods"] == detect::kMaxFindings);
    CHECK(count["scans"] == detect::kMaxFindings);
    CHECK(count["remote_shells"] == 1);
    for (const Json& l : r.report["logs"])
        if (l["name"] == "behavior.jsonl")
            CHECK(l["records"] == lines);
}

}  // namespace test_report_bound
