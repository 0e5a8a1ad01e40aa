// The shape of the report's `irc` section.

#include <doctest/doctest.h>

#include <string_view>

#include "analysis/proto/irc/irc_analyzer.h"
#include "analysis/proto/irc/irc_json.h"

namespace test_json_irc {

using namespace botscope;
using namespace botscope::analysis;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("json irc: a bot session's facts under stable keys") {
    constexpr Timestamp kSec = 1'000'000'000;
    Weirds weirds;
    irc::IrcResult result;
    FlowInfo flow;
    flow.id = 3;
    flow.transport = Transport::kTcp;
    flow.orig = {IpAddress::v4(10, 0, 0, 5), 1042};
    flow.resp = {IpAddress::v4(198, 51, 100, 7), 6667};
    flow.start = 100 * kSec;
    AnalyzerContext ctx{flow, &weirds};
    irc::IrcAnalyzer a(ctx, result);
    a.on_data(Direction::kOrig,
              bytes("PASS pw\r\nNICK bot\r\nUSER b 0 0 :real\r\nJOIN #c key\r\n"
                    "PRIVMSG boss :\x01"
                    "DCC SEND f.exe 167772167 4444 10\x01\r\n"),
              101 * kSec);
    a.on_data(Direction::kResp,
              bytes(":irc.example 001 bot :hi\r\n"
                    ":irc.example 332 bot #c :\x02.ddos.syn 198.51.100.10 80 60\r\n"
                    ":irc.example 333 bot #c boss 1136073600\r\n"),
              102 * kSec);
    a.on_end(103 * kSec);

    report::Json j = report::to_json(result);
    CHECK(j["sessions_dropped"] == 0);
    REQUIRE(j["sessions"].size() == 1);
    const auto& s = j["sessions"][0];
    CHECK(s["flow"] == 3);
    CHECK(s["client"]["ip"] == "10.0.0.5");
    CHECK(s["server"]["port"] == 6667);
    CHECK(s["start"] == 100.0);
    CHECK(s["end"] == 103.0);
    CHECK(s["confirmed"] == true);
    CHECK(s["server_name"] == "irc.example");
    CHECK(s["password"] == "pw");
    CHECK(s["nick"] == "bot");
    CHECK(s["nicks"][0]["status"] == "accepted");
    CHECK(s["nicks"][0]["reply"] == 1);
    CHECK(s["user"] == "b");
    CHECK(s["realname"] == "real");
    CHECK(s["channels"][0]["name"] == "#c");
    CHECK(s["channels"][0]["key"] == "key");
    CHECK(s["channels"][0]["joined"] == true);

    const auto& topic = s["received"][0];
    CHECK(topic["command"] == "332");
    CHECK(topic["from"] == "irc.example");
    CHECK(topic["target"] == "#c");
    CHECK(topic["text"] == ".ddos.syn 198.51.100.10 80 60");
    CHECK(topic["text_raw"] == "\x02.ddos.syn 198.51.100.10 80 60");
    CHECK(topic["set_by"] == "boss");
    CHECK(topic["set_at"] == 1136073600);
    CHECK(topic["ts"] == 102.0);
    CHECK(s["received_dropped"] == 0);

    CHECK(s["sent"].size() == 5);
    const auto& dcc_msg = s["sent"][4];
    CHECK(dcc_msg["private"] == true);
    CHECK(dcc_msg["ctcp"] == "DCC");
    CHECK_FALSE(dcc_msg.contains("from"));  // client lines have no prefix
    CHECK(s["sent_dropped"] == 0);

    const auto& dcc = s["dcc"][0];
    CHECK(dcc["direction"] == "sent");
    CHECK(dcc["type"] == "SEND");
    CHECK(dcc["argument"] == "f.exe");
    CHECK(dcc["ip"] == "10.0.0.7");
    CHECK(dcc["port"] == 4444);
    CHECK(dcc["size"] == 10);

    CHECK(s["numerics"]["001"] == 1);
    CHECK(s["numerics"]["332"] == 1);
    CHECK(s["counters"]["client_lines"] == 5);
    CHECK(s["counters"]["server_lines"] == 3);
    CHECK_FALSE(s.contains("gave_up"));
}

TEST_CASE("json irc: absent facts are null, not empty strings") {
    irc::IrcResult result;
    result.sessions.emplace_back();
    report::Json j = report::to_json(result);
    const auto& s = j["sessions"][0];
    CHECK(s["password"].is_null());
    CHECK(s["server_name"].is_null());
    CHECK(s["nick"].is_null());
    CHECK(s["user"].is_null());
    CHECK(s["nicks"].is_array());
    CHECK(s["received"].is_array());
    CHECK(s["dcc"].is_array());
}

}  // namespace test_json_irc
