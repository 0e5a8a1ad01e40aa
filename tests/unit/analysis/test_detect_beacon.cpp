// HTTP beacons on generated captures run through the real engine: period and jitter of a bot
// polling its C&C, the URI pattern, evidence; ordinary browsing and a zero-duration capture as
// controls.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analysis/detect/beacon.h"
#include "analysis/engine.h"
#include "support/pcapgen.h"

namespace test_detect_beacon {

using namespace botscope::analysis;
using namespace botscope::testing;
using botscope::analysis::detect::Beacon;
using botscope::analysis::detect::BeaconConfig;
using botscope::analysis::detect::detect_beacons;
using botscope::analysis::detect::uri_pattern;
namespace detect = botscope::analysis::detect;

namespace {

NetworkResult analyze(const CaptureWriter& w) {
    Engine e(kLinkEthernet);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    return e.finish();
}

std::string get(std::string_view uri, std::string_view host) {
    return "GET " + std::string(uri) + " HTTP/1.1\r\nHost: " + std::string(host) +
           "\r\nUser-Agent: Mozilla/4.0\r\n\r\n";
}

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// One connection carrying these requests, each answered (four packets, `step` apart).
void connection(CaptureWriter& w, const std::string& client, std::uint16_t port,
                const Endpoint& server, Timestamp start, const std::vector<std::string>& uris,
                std::string_view host, Timestamp step = kMilli) {
    TcpConversation c(w, ep(client, port), server, start);
    c.set_step(step);
    c.handshake();
    for (const auto& u : uris) {
        c.send(Direction::kOrig, get(u, host));
        c.send(Direction::kResp, kOk);
    }
    c.close();
}

const std::string kBot = "10.66.0.5";

}  // namespace

TEST_CASE("beacon: uri patterns drop the query and number runs") {
    CHECK(uri_pattern("/gate.php?id=123&seq=4") == "/gate.php");
    CHECK(uri_pattern("/bot/1234/cmd.php") == "/bot/N/cmd.php");
    CHECK(uri_pattern("/a1b22c333") == "/aNbNcN");
    CHECK(uri_pattern("http://cc.example.net:8080/x/7.gif?r=9") == "/x/N.gif");
    CHECK(uri_pattern("http://cc.example.net") == "/");
    CHECK(uri_pattern("http://cc.example.net?u=/x/1") == "/");
    CHECK(uri_pattern("/p?u=http://x.example/1") == "/p");
    CHECK(uri_pattern("/page#frag") == "/page");
    CHECK(uri_pattern("") == "");
}

TEST_CASE("beacon: a bot polling every minute is found with its period and jitter") {
    CaptureWriter w;
    const Endpoint cc = ep("203.0.113.7", 80);
    // Intervals 60, 62, 58, 61, 59, 60, 63 s: median 60, mean absolute deviation 9/7 s.
    const int offsets[] = {0, 60, 122, 180, 241, 300, 360, 423};
    int seq = 0;
    for (int off : offsets) {
        std::string uri = "/bot/" + std::to_string(1000 + seq * 37) +
                          "/gate.php?id=42&seq=" + std::to_string(seq);
        connection(w, kBot, static_cast<std::uint16_t>(2000 + seq), cc, kT0 + off * kSecond, {uri},
                   "CC.example.net");
        ++seq;
    }
    NetworkResult net = analyze(w);
    REQUIRE(net.http.transactions.size() == 8);

    std::uint64_t dropped = 0;
    auto beacons = detect_beacons(net, BeaconConfig{}, dropped);
    CHECK(dropped == 0);
    REQUIRE(beacons.size() == 1);
    const Beacon& b = beacons[0];
    CHECK(b.client == ip(kBot));
    CHECK(b.server == cc);
    CHECK(b.host == "cc.example.net");
    CHECK(b.uri_pattern == "/bot/N/gate.php");
    CHECK(b.requests == 8);
    CHECK(b.period == doctest::Approx(60.0).epsilon(0.1));
    CHECK(b.period == doctest::Approx(60.0).epsilon(0.001));
    CHECK(b.jitter == doctest::Approx(9.0 / 7.0 / 60.0).epsilon(0.01));
    // The requests go 4 ms after each connection's SYN (handshake, then the request).
    CHECK(b.start - kT0 < kSecond);
    CHECK(b.end - (kT0 + 423 * kSecond) < kSecond);
    CHECK(b.evidence.flows_total == 8);
    CHECK(b.evidence.flows.size() == 8);

    // A stricter jitter limit rejects it; a longer minimum period too.
    BeaconConfig strict;
    strict.max_jitter = 0.01;
    CHECK(detect_beacons(net, strict, dropped).empty());
    BeaconConfig slow;
    slow.min_period = 120 * kSecond;
    CHECK(detect_beacons(net, slow, dropped).empty());
    BeaconConfig many;
    many.min_requests = 9;
    CHECK(detect_beacons(net, many, dropped).empty());
}

TEST_CASE("beacon: polls over one kept-alive connection count as well, evidence capped") {
    CaptureWriter w;
    const Endpoint cc = ep("198.51.100.80", 8080);
    // Twelve requests 30 s apart on one connection, and 12 more on a connection each.
    std::vector<std::string> uris(12, "/cmd?x=1");
    // Each request and its answer take four packets: 7.5 s apart makes a 30 s poll.
    connection(w, kBot, 3000, cc, kT0, uris, "198.51.100.80:8080", 30 * kSecond / 4);
    for (int i = 0; i < 12; ++i)
        connection(w, kBot, static_cast<std::uint16_t>(3100 + i), cc,
                   kT0 + (400 + 30 * i) * kSecond, {"/cmd?x=2"}, "198.51.100.80:8080");
    NetworkResult net = analyze(w);
    std::uint64_t dropped = 0;
    auto beacons = detect_beacons(net, BeaconConfig{}, dropped);
    REQUIRE(beacons.size() == 1);
    CHECK(beacons[0].requests == 24);
    CHECK(beacons[0].period == doctest::Approx(30.0).epsilon(0.1));
    CHECK(beacons[0].evidence.flows_total == 13);
    CHECK(beacons[0].evidence.flows.size() == botscope::analysis::detect::kMaxEvidenceFlows);
}

TEST_CASE("beacon: ordinary browsing is no beacon") {
    CaptureWriter w;
    const Endpoint web = ep("192.0.2.80", 80);
    const std::vector<std::string> page = {"/", "/style.css", "/logo.png", "/app.js"};
    // A few pages at irregular times, each with its resources on one connection.
    const int at[] = {0, 37, 41, 130, 135};
    const char* pages[] = {"/", "/news", "/news/2006/01/01/item", "/about", "/"};
    for (int i = 0; i < 5; ++i) {
        std::vector<std::string> uris = page;
        uris[0] = pages[i];
        connection(w, "10.66.0.30", static_cast<std::uint16_t>(4000 + i), web,
                   kT0 + at[i] * kSecond, uris, "www.example.com");
    }
    NetworkResult net = analyze(w);
    REQUIRE(net.http.transactions.size() == 20);
    std::uint64_t dropped = 0;
    CHECK(detect_beacons(net, BeaconConfig{}, dropped).empty());
    CHECK(dropped == 0);
}

TEST_CASE("beacon: requests sharing one timestamp do not divide by zero") {
    CaptureWriter w;
    std::vector<std::string> uris(6, "/gate.php");
    connection(w, kBot, 5000, ep("203.0.113.9", 80), kT0, uris, "cc.example.org", 0);
    NetworkResult net = analyze(w);
    REQUIRE(net.http.transactions.size() == 6);
    std::uint64_t dropped = 0;
    BeaconConfig any;
    any.min_period = 0;
    any.max_jitter = 1e9;
    CHECK(detect_beacons(net, any, dropped).empty());
    CHECK(detect_beacons(net, BeaconConfig{}, dropped).empty());
}

TEST_CASE("beacon: polling that starts once the HTTP result is full is still found") {
    // 10,000 page requests in the first minute fill what the HTTP result keeps; the bot then
    // polls its C&C every 60 s, which only the tracker fed as transactions close can see.
    CaptureWriter w;
    http_page_requests(w, ip("10.66.0.9"), ep("203.0.113.20", 80), kT0, http::kMaxTransactions);
    const Endpoint cc = ep("203.0.113.7", 80);
    for (int i = 0; i < 8; ++i)
        connection(w, kBot, static_cast<std::uint16_t>(5000 + i), cc,
                   kT0 + (120 + 60 * i) * kSecond, {"/gate.php?seq=" + std::to_string(i)},
                   "cc.example.net");
    Engine e(kLinkEthernet);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    detect::BehaviorResult behavior;
    NetworkResult net = e.finish(&behavior);
    CHECK(net.http.dropped == 8);
    REQUIRE(behavior.beacons.size() == 1);
    const Beacon& b = behavior.beacons[0];
    CHECK(b.server == cc);
    CHECK(b.host == "cc.example.net");
    CHECK(b.uri_pattern == "/gate.php");
    CHECK(b.requests == 8);
    CHECK(b.period == doctest::Approx(60).epsilon(0.01));
}

}  // namespace test_detect_beacon
