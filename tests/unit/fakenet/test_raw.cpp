#include <doctest/doctest.h>

#include <string>

#include "fakenet/raw_sink.h"
#include "memory_recorder.h"
#include "util/byte_reader.h"

namespace botscope::fakenet::test_raw {

using testing::MemoryRecorder;
using testing::keys;

namespace {

const ConnInfo kConn{42, {0x0A42000Au, 3072}, {0x0A42002Du, 445}};

}  // namespace

TEST_CASE("raw: wire bytes become printable text") {
    CHECK(printable_text("") == "");
    CHECK(printable_text("GET / HTTP/1.0") == "GET / HTTP/1.0");
    CHECK(printable_text(std::string("\x00\x1f\x7f\x80\xff \\x", 8)) ==
          "\\x00\\x1f\\x7f\\x80\\xff \\x");
    CHECK(printable_text("a\r\nb") == "a\\x0d\\x0ab");
}

TEST_CASE("raw: the first bytes are kept, all are counted, one record at the end") {
    MemoryRecorder rec;
    auto s = make_raw_session(kConn, Protocol::kTls, rec);
    Output out;
    s->on_open(0, out);
    CHECK(out.data.empty());  // the catch-all never speaks
    const std::string hello = std::string("\x16\x03\x01\x00\x05", 5) + std::string(300, 'A');
    for (char c : hello) {
        s->on_data(std::string_view(&c, 1), 0, out);
        CHECK(s->buffered() <= kKeepBytes);
    }
    s->on_data(std::string(1000, 'B'), 0, out);
    CHECK(out.data.empty());
    CHECK_FALSE(out.close);
    CHECK(rec.records.empty());  // nothing until the connection ends
    s->on_close(5);
    s->on_close(6);  // a second end records nothing more
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].first == "tcp");
    const Json& j = rec.records[0].second;
    CHECK(keys(j) == std::vector<std::string>{"conn", "client", "server", "protocol", "bytes",
                                              "first", "first_hex"});
    CHECK(j["conn"] == 42);
    CHECK(j["client"] == "10.66.0.10:3072");
    CHECK(j["server"] == "10.66.0.45:445");
    CHECK(j["protocol"] == "tls");
    CHECK(j["bytes"] == hello.size() + 1000);
    CHECK(j["first"] == "\\x16\\x03\\x01\\x00\\x05" + std::string(251, 'A'));
    std::string hex = "1603010005";
    for (int i = 0; i < 251; ++i)
        hex += "41";
    CHECK(j["first_hex"] == hex);
}

TEST_CASE("raw: a connection closes after kMaxBytes") {
    MemoryRecorder rec;
    auto s = make_raw_session(kConn, Protocol::kRaw, rec);
    Output out;
    const std::string chunk(64 * 1024, '\x90');
    std::size_t sent = 0;
    while (!out.close && sent < 2 * kMaxBytes) {
        s->on_data(chunk, 0, out);
        sent += chunk.size();
    }
    CHECK(out.close);
    CHECK(sent == kMaxBytes);
    s->on_close(0);
    CHECK(rec.records.at(0).second["protocol"] == "raw");
    CHECK(rec.records.at(0).second["bytes"] == kMaxBytes);
}

TEST_CASE("raw: a UDP datagram is recorded once, with its first bytes") {
    MemoryRecorder rec;
    const std::string payload = std::string("\x00\x01\x02", 3) + std::string(400, 'z');
    record_udp({0x0A42000Au, 1026}, {0x0A4200C8u, 1434}, util::as_bytes(payload), rec);
    REQUIRE(rec.records.size() == 1);
    CHECK(rec.records[0].first == "udp");
    const Json& j = rec.records[0].second;
    CHECK(keys(j) == std::vector<std::string>{"client", "server", "bytes", "first", "first_hex"});
    CHECK(j["client"] == "10.66.0.10:1026");
    CHECK(j["server"] == "10.66.0.200:1434");
    CHECK(j["bytes"] == 403);
    CHECK(j["first"] == "\\x00\\x01\\x02" + std::string(253, 'z'));
    CHECK(j["first_hex"].get<std::string>().size() == 2 * kKeepBytes);
    CHECK(j["first_hex"].get<std::string>().substr(0, 8) == "0001027a");

    record_udp({1, 2}, {3, 4}, {}, rec);
    CHECK(rec.records.at(1).second["first"] == "");
    CHECK(rec.records.at(1).second["bytes"] == 0);
}

}  // namespace botscope::fakenet::test_raw
