// The streaming writer of the JSON-lines logs: what it writes must parse, and strings from
// the wire must come out as nlohmann's dump with error_handler_t::replace writes them.

#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "report/json_common.h"
#include "report/json_writer.h"
#include "support/pcapgen.h"

namespace test_json_writer {

using botscope::report::Json;
using botscope::report::JsonWriter;

namespace {

std::string as_json_string(std::string_view s) {
    std::string out;
    botscope::report::append_json_string(out, s);
    return out;
}

std::string nlohmann_string(std::string_view s) {
    return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("strings: escapes and invalid UTF-8 as nlohmann writes them") {
    const char* cases[] = {
        "plain",
        "quote \" backslash \\ slash /",
        "\n\r\t\b\f",
        std::string_view("nul \0 and \x01 \x1f", 15).data(),
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",  // valid 2-, 3- and 4-byte sequences
        "\xff lone \x80 bytes",
        "\xc3",               // cut short at the end
        "\xe2\x82 cut",       // cut short in the middle
        "\xc0\xaf overlong",  // overlong '/'
        "\xed\xa0\x80 surrogate",
        "\xf4\x90\x80\x80 past U+10FFFF",
        "\x1b[31m ESC",
    };
    for (const char* c : cases) {
        std::string_view s(c);
        CAPTURE(s);
        CHECK(as_json_string(s) == nlohmann_string(s));
    }
    std::string_view with_nul("a\0b", 3);
    CHECK(as_json_string(with_nul) == nlohmann_string(with_nul));
}

TEST_CASE("a record with every kind of value parses back to what was written") {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.key("u").number(std::uint64_t{18446744073709551615u});
    w.key("i").number(std::int64_t{-42});
    w.key("d").number(0.1);
    w.key("nan").number(std::numeric_limits<double>::quiet_NaN());
    w.key("b").boolean(true);
    w.key("n").null();
    w.key("ts").timestamp(1'136'073'600'123'456'789);
    w.key("neg_ts").timestamp(-1'500'000);
    w.key("ep").endpoint({botscope::testing::ip("2001:db8::1"), 443});
    w.key("list").begin_array();
    w.number(std::uint64_t{1}).string("two").begin_object().end_object().begin_array().end_array();
    w.end_array();
    w.key("s").string("\xff");
    w.end_object();
    Json j = Json::parse(out);
    CHECK(j["u"] == std::uint64_t{18446744073709551615u});
    CHECK(j["i"] == -42);
    CHECK(j["d"] == 0.1);
    CHECK(j["nan"].is_null());
    CHECK(j["b"] == true);
    CHECK(j["n"].is_null());
    CHECK(out.find("\"ts\":1136073600.123457") != std::string::npos);  // rounded to the µs
    CHECK(out.find("\"neg_ts\":-0.001500") != std::string::npos);
    CHECK(j["ep"] == Json{{"ip", "2001:db8::1"}, {"port", 443}});
    CHECK(j["list"] == Json::parse(R"([1, "two", {}, []])"));
    CHECK(j["s"] == "\xef\xbf\xbd");
}

}  // namespace test_json_writer
