// The protocol logs (report/jsonl_logs.h) against the in-memory caps: every record reaches its
// log whole, including those past a cap that the detectors never see, and report.json lists
// a sample of each with counts that stay true.

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/engine.h"
#include "analysis/proto/dns/dns_analyzer.h"
#include "analysis/proto/http/http_analyzer.h"
#include "report/jsonl_logs.h"
#include "report/network_json.h"
#include "support/pcapgen.h"
#include "support/report_check.h"
#include "support/temp_dir.h"

namespace test_logs {

using namespace botscope::analysis;
using namespace botscope::testing;
using botscope::report::Json;
using botscope::report::JsonlLogs;
namespace fs = std::filesystem;

namespace {

const Endpoint kDnsServer{IpAddress::v4(10, 66, 0, 1), 53};
const Endpoint kWeb{IpAddress::v4(10, 66, 0, 1), 80};
const IpAddress kBot = IpAddress::v4(10, 66, 0, 10);

// Answered DNS transactions past the memory cap, then unanswered ones on one flow past the
// limit of open transactions held for the log.
constexpr std::size_t kAnswered = dns::kMaxTransactions + 2'000;
constexpr std::size_t kPerFlow = 100;
constexpr std::size_t kUnanswered = dns::kMaxOpenUnkept + 1'000;
// HTTP transactions past the memory cap, over connections of kPerConnection requests.
constexpr std::size_t kPerConnection = 500;
constexpr std::size_t kHttp = http::kMaxTransactions + kPerConnection;
// Messages from the operator in one IRC session: more than a report lists of one list.
constexpr std::size_t kIrcMessages = 300;

std::vector<Json> read_lines(const fs::path& p) {
    std::vector<Json> out;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line))
        out.push_back(Json::parse(line));
    return out;
}

struct Run {
    TempDir dir{"botscope-logs"};
    Json report;
};

const Run& run() {
    static const std::unique_ptr<Run> made = [] {
        auto r = std::make_unique<Run>();
        CaptureWriter w;
        Timestamp t = kT0;
        const Bytes a_record = {10, 66, 0, 1};
        for (std::size_t i = 0; i < kAnswered; ++i) {
            const Endpoint client{kBot, static_cast<std::uint16_t>(20000 + i / kPerFlow)};
            const auto id = static_cast<std::uint16_t>(i % kPerFlow);
            const std::string name = "host" + std::to_string(i) + ".example";
            w.add_ip(t, udp_packet(client, kDnsServer, dns_message(id, 0x0100, name, 1)));
            w.add_ip(t + kMilli, udp_packet(kDnsServer, client,
                                            dns_message(id, 0x8180, name, 1, {{1, 60, a_record}})));
            t += 2 * kMilli;
        }
        const Endpoint flooder{kBot, 33333};
        for (std::size_t i = 0; i < kUnanswered; ++i, t += kMilli)
            w.add_ip(t, udp_packet(flooder, kDnsServer,
                                   dns_message(static_cast<std::uint16_t>(i), 0x0100,
                                               "q" + std::to_string(i) + ".example", 1)));
        for (std::size_t c = 0; c < kHttp / kPerConnection; ++c) {
            TcpConversation conn(w, {kBot, static_cast<std::uint16_t>(40000 + c)}, kWeb, t);
            conn.handshake();
            for (std::size_t i = 0; i < kPerConnection; ++i) {
                conn.send(Direction::kOrig,
                          "GET /u" + std::to_string(i) + " HTTP/1.1\r\nHost: web.example\r\n\r\n");
                conn.send(Direction::kResp, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
            conn.close();
            t = conn.now() + kMilli;
        }
        TcpConversation irc(w, {kBot, 1100}, {IpAddress::v4(10, 66, 0, 1), 6667}, t);
        irc.handshake();
        irc.send(Direction::kOrig, "NICK bot\r\nUSER b 0 0 :b\r\n");
        irc.send(Direction::kResp, ":irc.example 001 bot :Welcome\r\n");
        std::string lines;
        for (std::size_t i = 0; i < kIrcMessages; ++i)
            lines += ":boss!b@10.66.0.1 PRIVMSG bot :hello " + std::to_string(i) + "\r\n";
        irc.send_segments(Direction::kResp, lines, 1400);
        irc.close();

        std::string err;
        auto logs = JsonlLogs::open(r->dir.path, err);
        REQUIRE_MESSAGE(logs, err);
        detect::Config config;
        config.hosts.push_back(kBot);
        Engine e(kLinkEthernet, config, logs.get());
        for (const auto& f : w.frames())
            e.process(f.ts, f.data, f.wire_len);
        detect::BehaviorResult behavior;
        NetworkResult net = e.finish(&behavior);
        set_file_facts(net.capture);
        REQUIRE(logs->commit().empty());
        r->report = botscope::report::pcap_report("x.pcap", net, behavior, logs.get());
        r->dir.write("report.json", botscope::report::dump(r->report));
        return r;
    }();
    return *made;
}

}  // namespace

TEST_CASE("dns: every transaction is logged once with its response, past the memory cap too") {
    const Run& r = run();
    const auto lines = read_lines(r.dir.path / "dns.jsonl");
    CHECK(lines.size() == kAnswered + kUnanswered);
    std::size_t answered = 0, with_address = 0, unanswered_flooder = 0;
    for (const Json& j : lines) {
        answered += j["answered"] == true;
        with_address += j.contains("answers") && j["answers"].size() == 1 &&
                        j["answers"][0]["rdata"] == "10.66.0.1";
        unanswered_flooder += j["client"]["port"] == 33333 && j["answered"] == false;
    }
    // The 2,000 past kMaxTransactions were paired as well as the first 10,000.
    CHECK(answered == kAnswered);
    CHECK(with_address == kAnswered);
    CHECK(unanswered_flooder == kUnanswered);

    const Json& dns = r.report["network"]["dns"];
    CHECK(dns["count"] == kAnswered + kUnanswered);
    CHECK(dns["dropped"] == kAnswered + kUnanswered - dns::kMaxTransactions);
    CHECK(dns["transactions"].size() >= 1);
    CHECK(dns["omitted"] == kAnswered + kUnanswered - dns["transactions"].size());
}

TEST_CASE("http: every transaction is logged, the report lists a sample and counts the rest") {
    const Run& r = run();
    const auto lines = read_lines(r.dir.path / "http.jsonl");
    REQUIRE(lines.size() == kHttp);
    std::size_t ok = 0;
    for (const Json& j : lines)
        ok += j["response"]["status"] == 200 && j["request"]["method"] == "GET";
    CHECK(ok == kHttp);
    const Json& http = r.report["network"]["http"];
    CHECK(http["count"] == kHttp);
    CHECK(http["dropped"] == kHttp - http::kMaxTransactions);
    CHECK(http["transactions"].size() >= 1);
    CHECK(http["omitted"] == kHttp - http["transactions"].size());
}

TEST_CASE("irc: the log holds the whole session, the report cuts its lists and says so") {
    const Run& r = run();
    const auto lines = read_lines(r.dir.path / "irc.jsonl");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["received"].size() == kIrcMessages);
    const Json& s = r.report["network"]["irc"]["sessions"][0];
    CHECK(s["received"].size() == botscope::report::kSampleInnerItems);
    CHECK(s["received_omitted"] == kIrcMessages - botscope::report::kSampleInnerItems);
    CHECK(r.report["network"]["irc"]["count"] == 1);
    CHECK(r.report["network"]["irc"]["omitted"] == 0);
}

TEST_CASE("the report stays small and names every log with its count of records") {
    const Run& r = run();
    const std::string text = botscope::report::dump(r.report);
    MESSAGE("report.json would be " << text.size() << " bytes");
    CHECK(text.size() < 1'000'000);
    const Json& logs = r.report["logs"];
    REQUIRE(logs.size() == JsonlLogs::names().size());
    for (const Json& l : logs) {
        const fs::path p = r.dir.path / l["name"].get<std::string>();
        REQUIRE(fs::exists(p));
        CHECK(read_lines(p).size() == l["records"].get<std::uint64_t>());
        CHECK_FALSE(fs::exists(p.string() + ".part"));
    }
}

TEST_CASE("the report and its logs, past the in-memory caps, match their schemas") {
    const Run& r = run();
    const std::string problems = schema_problems(r.dir.path);
    CHECK_MESSAGE(problems.empty(), problems);
}

}  // namespace test_logs
