// Shape of the report's `dns` section.

#include <doctest/doctest.h>

#include <vector>

#include "analysis/proto/dns/dns_analyzer.h"
#include "analysis/proto/dns/dns_json.h"

namespace test_json_dns {

using namespace botscope;
using namespace botscope::analysis;

namespace {

// A query for cc.bot.example (id 0x0102, RD) and its answer 6.6.6.6 (QR RD RA), by hand.
const std::vector<std::uint8_t> kQuery = {
    0x01, 0x02, 0x01, 0x00, 0,   1,   0,   0, 0,   0,   0,   0,                      // header
    2,    'c',  'c',  3,    'b', 'o', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,  // name
    0,    1,    0,    1};                                                            // A IN
std::vector<std::uint8_t> response() {
    std::vector<std::uint8_t> r = kQuery;
    r[2] = 0x81;
    r[3] = 0x80;
    r[7] = 1;  // ancount
    const std::vector<std::uint8_t> answer = {0xC0, 12,   0, 1, 0, 1, 0, 0,
                                              0x0E, 0x10, 0, 4, 6, 6, 6, 6};
    r.insert(r.end(), answer.begin(), answer.end());
    return r;
}

}  // namespace

TEST_CASE("json dns: transactions, names and counters") {
    dns::DnsResult result;
    Weirds weirds;
    dns::DnsUdpAnalyzer a(result);
    FlowInfo flow;
    flow.id = 3;
    flow.transport = Transport::kUdp;
    flow.orig = Endpoint{IpAddress::v4(10, 0, 2, 15), 1030};
    flow.resp = Endpoint{IpAddress::v4(10, 0, 2, 3), 53};
    auto resp = response();
    a.on_datagram(Datagram{flow, Direction::kOrig, flow.orig, flow.resp, kQuery, 1'000'000'000},
                  weirds);
    a.on_datagram(Datagram{flow, Direction::kResp, flow.resp, flow.orig, resp, 1'002'000'000},
                  weirds);
    // A second query left unanswered.
    std::vector<std::uint8_t> q2 = kQuery;
    q2[1] = 0x03;
    a.on_datagram(Datagram{flow, Direction::kOrig, flow.orig, flow.resp, q2, 2'000'000'000},
                  weirds);
    a.finish(3'000'000'000);

    const report::Json j = report::to_json(result);
    CHECK(j["messages"] == 3);
    CHECK(j["queries"] == 2);
    CHECK(j["responses"] == 1);
    CHECK(j["unanswered"] == 1);
    CHECK(j["dropped"] == 0);
    REQUIRE(j["transactions"].size() == 2);

    const auto& t = j["transactions"][0];
    CHECK(t["query"] == "cc.bot.example");
    CHECK(t["qtype"] == 1);
    CHECK(t["qtype_name"] == "A");
    CHECK(t["qclass"] == "IN");
    CHECK(t["trans_id"] == 0x0102);
    CHECK(t["transport"] == "udp");
    CHECK(t["client"]["ip"] == "10.0.2.15");
    CHECK(t["server"]["port"] == 53);
    CHECK(t["answered"] == true);
    CHECK(t["rcode_name"] == "NOERROR");
    CHECK(t["flags"] == report::Json::array({"RD", "RA"}));
    CHECK(t["rtt"].get<double>() == doctest::Approx(0.002));
    REQUIRE(t["answers"].size() == 1);
    CHECK(t["answers"][0]["type"] == "A");
    CHECK(t["answers"][0]["rdata"] == "6.6.6.6");
    CHECK(t["answers"][0]["ttl"] == 3600);
    CHECK(t["answers"][0]["section"] == "answer");
    CHECK_FALSE(t.contains("answers_dropped"));

    const auto& u = j["transactions"][1];
    CHECK(u["answered"] == false);
    CHECK_FALSE(u.contains("rtt"));
    CHECK_FALSE(u.contains("answers"));

    REQUIRE(j["names"].size() == 1);
    CHECK(j["names"][0]["name"] == "cc.bot.example");
    CHECK(j["names"][0]["queries"] == 2);
    CHECK(j["names"][0]["addresses"] == report::Json::array({"6.6.6.6"}));
}

}  // namespace test_json_dns
