#include <doctest/doctest.h>

#include "analysis/proto/http/http_analyzer.h"
#include "analysis/proto/http/http_json.h"
#include "util/byte_reader.h"
#include "util/hash.h"

namespace test_json_http {

using namespace botscope;
using analysis::Direction;

TEST_CASE("json_http: transactions, bodies, executables and counts") {
    analysis::Weirds weirds;
    analysis::http::HttpResult result;
    analysis::AnalyzerContext ctx;
    ctx.flow.id = 3;
    ctx.flow.orig = {analysis::IpAddress::v4(10, 0, 0, 5), 1100};
    ctx.flow.resp = {analysis::IpAddress::v4(10, 0, 0, 1), 8080};
    ctx.weirds = &weirds;

    std::string exe(256, '\0');
    exe[0] = 'M';
    exe[1] = 'Z';
    exe[0x3c] = 0x40;
    exe[0x40] = 'P';
    exe[0x41] = 'E';
    const std::string req = "GET /a.exe HTTP/1.1\r\nHost: h\r\nUser-Agent: bot\r\n\r\n";
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n" + exe;
    const std::string lone = "GET /never HTTP/1.1\r\n\r\n";
    {
        analysis::http::HttpAnalyzer a(ctx, result);
        a.on_data(Direction::kOrig, util::as_bytes(req + lone), 2'000'000'000);
        a.on_data(Direction::kResp, util::as_bytes(resp), 3'000'000'000);
        a.on_end(4'000'000'000);
    }
    result.dropped = 7;

    auto j = report::to_json(result);
    CHECK(j["connections"] == 1);
    CHECK(j["requests"] == 2);
    CHECK(j["responses"] == 1);
    CHECK(j["executables"] == 1);
    CHECK(j["dropped"] == 7);
    REQUIRE(j["transactions"].size() == 2);

    const auto& t = j["transactions"][0];
    CHECK(t["flow"] == 3);
    CHECK(t["client"]["ip"] == "10.0.0.5");
    CHECK(t["server"]["port"] == 8080);
    CHECK(t["request"]["method"] == "GET");
    CHECK(t["request"]["uri"] == "/a.exe");
    CHECK(t["request"]["host"] == "h");
    CHECK(t["request"]["user_agent"] == "bot");
    CHECK_FALSE(t["request"].contains("referer"));
    CHECK_FALSE(t["request"].contains("body"));
    CHECK(t["request"]["ts"] == 2.0);
    CHECK(t["response"]["status"] == 200);
    CHECK(t["response"]["content_length"] == 256);
    CHECK(t["response"]["chunked"] == false);
    const auto& body = t["response"]["body"];
    CHECK(body["length"] == 256);
    CHECK(body["sha256"] == util::sha256_hex(util::as_bytes(exe)));
    CHECK(body["complete"] == true);
    CHECK(body["executable"]["kind"] == "pe");
    CHECK(body["executable"]["size"] == 256);

    const auto& unanswered = j["transactions"][1];
    CHECK(unanswered["request"]["uri"] == "/never");
    CHECK(unanswered["response"].is_null());
}

}  // namespace test_json_http
