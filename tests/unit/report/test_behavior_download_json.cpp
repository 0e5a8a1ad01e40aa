// Shape of a download in the report's `behavior` part.

#include <doctest/doctest.h>

#include <string>

#include "report/behavior_json.h"

namespace test_behavior_download_json {

using namespace botscope::analysis;
using botscope::report::Json;

TEST_CASE("download json: every field; digests null when the file was not seen whole") {
    detect::Download d;
    d.protocol = "http";
    d.ts = 1'136'073'600'000'000'000;
    d.flow = 7;
    d.client = {IpAddress::v4(10, 66, 0, 5), 2000};
    d.server = {IpAddress::v4(203, 0, 113, 10), 80};
    d.url = "http://dl.example.com/files/update.exe";
    d.name = "update.exe";
    d.kind = "pe";
    d.size = 3000;
    d.md5 = std::string(32, 'a');
    d.sha256 = std::string(64, 'b');
    d.complete = true;
    d.command = 0;

    Json j = botscope::report::download_json(d);
    CHECK(j["protocol"] == "http");
    CHECK(j["ts"].get<double>() == doctest::Approx(1136073600.0));
    CHECK(j["flow"] == 7);
    CHECK(j["client"]["port"] == 2000);
    CHECK(j["server"]["ip"] == "203.0.113.10");
    CHECK(j["url"] == "http://dl.example.com/files/update.exe");
    CHECK(j["name"] == "update.exe");
    CHECK(j["kind"] == "pe");
    CHECK(j["size"] == 3000);
    CHECK(j["md5"] == std::string(32, 'a'));
    CHECK(j["sha256"] == std::string(64, 'b'));
    CHECK(j["complete"] == true);
    CHECK(j["command"] == 0);

    d.md5.clear();
    d.sha256.clear();
    d.complete = false;
    d.kind.clear();
    d.command.reset();
    Json k = botscope::report::download_json(d);
    CHECK(k["md5"].is_null());
    CHECK(k["sha256"].is_null());
    CHECK(k["complete"] == false);
    CHECK(k["kind"] == "");
    CHECK(k["command"].is_null());
}

}  // namespace test_behavior_download_json
