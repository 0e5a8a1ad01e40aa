// Shape of the report's `ftp` section.

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "analysis/proto/ftp/ftp_analyzer.h"
#include "analysis/proto/ftp/ftp_json.h"

namespace test_json_ftp {

using namespace botscope;
using namespace botscope::analysis;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("json ftp: login without password, transfers with their data channel") {
    ftp::FtpResult result;
    Weirds weirds;
    FlowInfo flow;
    flow.id = 9;
    flow.transport = Transport::kTcp;
    flow.orig = Endpoint{IpAddress::v4(10, 0, 2, 15), 1050};
    flow.resp = Endpoint{IpAddress::v4(192, 0, 2, 21), 21};
    flow.start = 1'000'000'000;
    AnalyzerContext ctx{flow, &weirds};
    ftp::FtpAnalyzer a(ctx, result);
    auto server = [&](std::string_view s, Timestamp ts) {
        a.on_data(Direction::kResp, bytes(s), ts);
    };
    auto client = [&](std::string_view s, Timestamp ts) {
        a.on_data(Direction::kOrig, bytes(s), ts);
    };
    server("220 Bot Server (Win32)\r\n", 1'100'000'000);
    client("USER 1\r\n", 1'200'000'000);
    server("331 Password required\r\n", 1'300'000'000);
    client("PASS hunter2\r\n", 1'400'000'000);
    server("230 User logged in.\r\n", 1'500'000'000);
    client("TYPE I\r\nPORT 10,0,2,15,4,10\r\n", 1'600'000'000);
    server("200 Type set\r\n200 PORT ok\r\n", 1'700'000'000);
    client("RETR msnsvc.exe\r\n", 1'800'000'000);
    server("150 Opening BINARY mode data connection (112640 bytes)\r\n", 1'900'000'000);
    server("226 Transfer complete\r\n", 2'500'000'000);
    client("RETR missing.exe\r\n", 2'600'000'000);
    a.on_end(3'000'000'000);

    const report::Json j = report::to_json(result);
    CHECK(j["sessions_seen"] == 1);
    CHECK(j["sessions_dropped"] == 0);
    CHECK(j["transfers_seen"] == 2);
    REQUIRE(j["sessions"].size() == 1);
    const auto& s = j["sessions"][0];
    CHECK(s["flow"] == 9);
    CHECK(s["ts"] == 1.0);
    CHECK(s["orig"]["ip"] == "10.0.2.15");
    CHECK(s["resp"]["port"] == 21);
    CHECK(s["banner_code"] == 220);
    CHECK(s["banner"] == "Bot Server (Win32)");
    CHECK(s["user"] == "1");
    CHECK(s["users"][0] == "1");
    CHECK(s["password_sent"] == true);
    CHECK(s["logged_in"] == true);
    CHECK(s["login_reply"] == 230);
    CHECK(s["login_attempts"] == 1);
    CHECK(s["login_failures"] == 0);
    CHECK(s["type"] == "I");
    CHECK_FALSE(s.contains("syst"));
    CHECK(s["tls"] == false);
    CHECK(j.dump().find("hunter2") == std::string::npos);

    REQUIRE(s["transfers"].size() == 2);
    const auto& t = s["transfers"][0];
    CHECK(t["command"] == "RETR");
    CHECK(t["name"] == "msnsvc.exe");
    CHECK(t["preliminary"] == 150);
    CHECK(t["reply"] == 226);
    CHECK(t["success"] == true);
    CHECK(t["size"] == 112640);
    CHECK(t["ts"] == 1.8);
    CHECK(t["reply_ts"] == 2.5);
    CHECK(t["type"] == "I");
    CHECK_FALSE(t.contains("offset"));
    CHECK(t["data"]["command"] == "PORT");
    CHECK(t["data"]["passive"] == false);
    CHECK(t["data"]["endpoint"]["ip"] == "10.0.2.15");
    CHECK(t["data"]["endpoint"]["port"] == 1034);
    CHECK(t["data"]["reply"] == 200);
    // The second one was never answered.
    const auto& open = s["transfers"][1];
    CHECK(open["success"].is_null());
    CHECK_FALSE(open.contains("reply"));
    CHECK_FALSE(open.contains("data"));
    CHECK(s["transfers_dropped"] == 0);

    REQUIRE(s["data_channels"].size() == 1);
    CHECK(s["data_channels"][0]["endpoint"]["port"] == 1034);
    CHECK(s["data_channels_dropped"] == 0);

    const auto& pass = s["commands"][1];
    CHECK(pass["command"] == "PASS");
    CHECK_FALSE(pass.contains("arg"));
    CHECK(pass["arg_hidden"] == true);
    CHECK(pass["reply"] == 230);
    CHECK(pass["reply_text"] == "User logged in.");
    CHECK(s["commands_seen"] == 6);
    CHECK(s["commands_dropped"] == 0);
    CHECK(s["last_replies"].back() == "226 Transfer complete");
    CHECK(s["quit"] == false);
    CHECK(s["invalid_lines"] == 0);
}

}  // namespace test_json_ftp
