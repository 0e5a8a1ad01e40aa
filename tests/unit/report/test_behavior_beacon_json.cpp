// Shape of an HTTP beacon in the report's `behavior` part.

#include <doctest/doctest.h>

#include "report/behavior_json.h"

namespace test_behavior_beacon_json {

using namespace botscope::analysis;
using botscope::report::Json;

TEST_CASE("beacon json: every field") {
    detect::Beacon b;
    b.client = IpAddress::v4(10, 66, 0, 5);
    b.server = {IpAddress::v4(203, 0, 113, 7), 8080};
    b.host = "cc.example.net";
    b.uri_pattern = "/bot/N/gate.php";
    b.requests = 8;
    b.period = 60.0;
    b.jitter = 0.025;
    b.start = 1'136'073'600'000'000'000;
    b.end = b.start + 423'000'000'000;
    b.evidence.flows = {1, 2, 3};
    b.evidence.flows_total = 8;

    Json j = botscope::report::beacon_json(b);
    CHECK(j["client"] == "10.66.0.5");
    CHECK(j["server"]["ip"] == "203.0.113.7");
    CHECK(j["server"]["port"] == 8080);
    CHECK(j["host"] == "cc.example.net");
    CHECK(j["uri_pattern"] == "/bot/N/gate.php");
    CHECK(j["requests"] == 8);
    CHECK(j["period"] == 60.0);
    CHECK(j["jitter"] == 0.025);
    CHECK(j["start"].get<double>() == doctest::Approx(1136073600.0));
    CHECK(j["end"].get<double>() == doctest::Approx(1136074023.0));
    CHECK(j["evidence"]["flows"].size() == 3);
    CHECK(j["evidence"]["flows_total"] == 8);
    CHECK(j.size() == 10);
}

}  // namespace test_behavior_beacon_json
