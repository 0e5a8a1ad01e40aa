// Shape of the report's `smtp` section.

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "analysis/proto/smtp/smtp_analyzer.h"
#include "analysis/proto/smtp/smtp_json.h"

namespace test_json_smtp {

using namespace botscope;
using namespace botscope::analysis;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("json smtp: session, auth without password, message envelope and content") {
    smtp::SmtpResult result;
    Weirds weirds;
    FlowInfo flow;
    flow.id = 4;
    flow.transport = Transport::kTcp;
    flow.orig = Endpoint{IpAddress::v4(10, 0, 2, 15), 1042};
    flow.resp = Endpoint{IpAddress::v4(192, 0, 2, 25), 25};
    flow.start = 1'000'000'000;
    AnalyzerContext ctx{flow, &weirds};
    smtp::SmtpAnalyzer a(ctx, result);
    auto server = [&](std::string_view s) { a.on_data(Direction::kResp, bytes(s), 1'500'000'000); };
    auto client = [&](std::string_view s) { a.on_data(Direction::kOrig, bytes(s), 1'500'000'000); };
    server("220 mx.example ESMTP\r\n");
    client("EHLO bot\r\n");
    server("250-mx.example\r\n250 PIPELINING\r\n");
    client("AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");  // "\0alice\0s3cret"
    server("235 ok\r\n");
    client(
        "MAIL FROM:<alice@example.org>\r\nRCPT TO:<v@victim.example>\r\n"
        "RCPT TO:<w@victim.example>\r\nDATA\r\n");
    server("250 ok\r\n250 ok\r\n550 unknown user\r\n354 go\r\n");
    client(
        "Subject: hi\r\nContent-Type: application/octet-stream; name=\"a.exe\"\r\n\r\nMZ\r\n.\r\n");
    server("250 queued as 1\r\n");
    client("MAIL FROM:<alice@example.org>\r\n");
    a.on_end(3'000'000'000);

    const report::Json j = report::to_json(result);
    CHECK(j["sessions_seen"] == 1);
    CHECK(j["sessions_dropped"] == 0);
    CHECK(j["messages_seen"] == 2);
    CHECK(j["recipients_seen"] == 2);
    REQUIRE(j["sessions"].size() == 1);
    const auto& s = j["sessions"][0];
    CHECK(s["flow"] == 4);
    CHECK(s["ts"] == 1.0);
    CHECK(s["orig"]["ip"] == "10.0.2.15");
    CHECK(s["resp"]["port"] == 25);
    CHECK(s["banner_code"] == 220);
    CHECK(s["banner"] == "mx.example ESMTP");
    CHECK(s["helo_command"] == "EHLO");
    CHECK(s["helo"] == "bot");
    CHECK(s["extensions"][0] == "PIPELINING");
    CHECK(s["starttls"] == false);
    CHECK(s["tls"] == false);
    REQUIRE(s["auth"].size() == 1);
    CHECK(s["auth"][0]["mechanism"] == "PLAIN");
    CHECK(s["auth"][0]["user"] == "alice");
    CHECK(s["auth"][0]["success"] == true);
    // Neither the password nor the base64 blob that carries it appears anywhere.
    const std::string dump = j.dump();
    CHECK(dump.find("s3cret") == std::string::npos);
    CHECK(dump.find("AGFsaWNl") == std::string::npos);

    REQUIRE(s["messages"].size() == 2);
    const auto& m = s["messages"][0];
    CHECK(m["mail_from"] == "alice@example.org");
    CHECK(m["mail_from_reply"] == 250);
    REQUIRE(m["rcpt_to"].size() == 2);
    CHECK(m["rcpt_to"][0]["address"] == "v@victim.example");
    CHECK(m["rcpt_to"][0]["accepted"] == true);
    CHECK(m["rcpt_to"][1]["reply"] == 550);
    CHECK(m["rcpt_to"][1]["accepted"] == false);
    CHECK(m["rcpt_dropped"] == 0);
    CHECK(m["status"] == "delivered");
    CHECK(m["reply"] == 250);
    CHECK(m["reply_text"] == "queued as 1");
    CHECK(m["headers"]["subject"] == "hi");
    CHECK_FALSE(m["headers"].contains("from"));
    CHECK(m["size"] == 73);
    CHECK(m["md5"].get<std::string>().size() == 32);
    CHECK(m["sha256"].get<std::string>().size() == 64);
    CHECK(m["attachments"][0] == "a.exe");
    CHECK(m["attachments_dropped"] == 0);

    // The second transaction never got a reply nor content.
    const auto& open = s["messages"][1];
    CHECK(open["status"] == "incomplete");
    CHECK_FALSE(open.contains("mail_from_reply"));
    CHECK_FALSE(open.contains("headers"));
    CHECK(open["data"] == false);

    CHECK(s["commands"][1]["command"] == "AUTH");
    CHECK(s["commands"][1]["arg"] == "PLAIN");
    CHECK(s["commands"][1]["reply"] == 235);
    CHECK(s["messages_dropped"] == 0);
    CHECK(s["last_replies"].back() == "250 queued as 1");
    CHECK(s["quit"] == false);
    CHECK(s["invalid_lines"] == 0);
    CHECK_FALSE(s.contains("gave_up"));
}

}  // namespace test_json_smtp
