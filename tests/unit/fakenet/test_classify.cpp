#include <doctest/doctest.h>

#include <string>

#include "fakenet/classify.h"

namespace botscope::fakenet::test_classify {

namespace {

Classification now(std::string_view first, std::uint16_t port = 8080) {
    return classify_client(first, port, false);
}

Classification after_wait(std::string_view first, std::uint16_t port = 8080) {
    return classify_client(first, port, true);
}

/// A DNS query for example.com A, framed for TCP.
std::string dns_tcp_query() {
    std::string q("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
    q += std::string(
        "\x07"
        "example"
        "\x03"
        "com"
        "\x00",
        13);
    q += std::string("\x00\x01\x00\x01", 4);
    return std::string(1, '\0') + static_cast<char>(q.size()) + q;
}

}  // namespace

TEST_CASE("classify: protocols are found by content, whatever the port") {
    CHECK(now("GET /x.exe HTTP/1.0\r\n", 6667).protocol == Protocol::kHttp);
    CHECK(now("POST /gate.php HTTP/1.1\r\nHost: a\r\n", 443).protocol == Protocol::kHttp);
    CHECK(now("NICK [00|USA|4312]\r\nUSER x 0 0 :x\r\n", 80).protocol == Protocol::kIrc);
    CHECK(now("PASS s3cret\r\n", 8080).protocol == Protocol::kIrc);
    CHECK(now("USER bot 0 * :bot\r\n", 443).protocol == Protocol::kIrc);
    CHECK(now(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 6667).protocol ==
          Protocol::kTls);
    CHECK(now(std::string("\x16\x03\x00", 3), 80).protocol == Protocol::kTls);  // SSL 3.0
    CHECK(now("EHLO bot\r\n", 80).protocol == Protocol::kSmtp);
    CHECK(now("HELO x\r\n", 6667).protocol == Protocol::kSmtp);
    CHECK(now(dns_tcp_query(), 9999).protocol == Protocol::kDns);
    for (auto c : {now("GET / HTTP/1.1\r\n"), now("EHLO x\r\n")})
        CHECK_FALSE(c.need_more);
}

TEST_CASE("classify: a consistent prefix waits, then the deadline decides") {
    for (std::string_view partial : {"", "G", "GET /inde", "NICK [x", "EH", "\x16"}) {
        CAPTURE(partial);
        auto c = now(partial);
        CHECK(c.need_more);
        CHECK(c.protocol == Protocol::kUnknown);
        auto d = after_wait(partial);
        CHECK_FALSE(d.need_more);
        CHECK(d.protocol == Protocol::kRaw);
    }
    const std::string dns = dns_tcp_query();
    CHECK(now(dns.substr(0, 1)).need_more);
    CHECK(now(dns.substr(0, 20)).need_more);  // inside the question name
    CHECK(now(dns.substr(0, 20)).protocol == Protocol::kUnknown);
}

TEST_CASE("classify: junk is raw at once, without waiting for the deadline") {
    // DNS over TCP needs its 12-byte header before it can say no, hence the lengths here.
    const std::string sled = std::string(20, '\x90') + "\xeb\x10";
    const std::string bad_tls = "\x16\x03\x07" + std::string(16, 'A');
    for (std::string_view junk :
         {std::string_view("\x00\x00\x00\x00", 4), std::string_view(sled),
          std::string_view("SSH-2.0-OpenSSH_3.9\r\n"), std::string_view(bad_tls),
          std::string_view("hello there, anybody home?\r\n")}) {
        CAPTURE(junk);
        auto c = now(junk);
        CHECK_FALSE(c.need_more);
        CHECK(c.protocol == Protocol::kRaw);
    }
}

TEST_CASE("classify: a silent client on an IRC port gets IRC after the deadline") {
    for (std::uint16_t p : {6660, 6667, 6669, 7000})
        CHECK(after_wait("", p).protocol == Protocol::kIrc);
    for (std::uint16_t p : {6659, 6670, 80, 443, 7001})
        CHECK(after_wait("", p).protocol == Protocol::kRaw);
    CHECK(now("", 6667).need_more);
    // Only silence counts: bytes that match nothing stay raw on an IRC port.
    CHECK(after_wait("\x01\x02", 6667).protocol == Protocol::kRaw);
}

TEST_CASE("classify: kSniffLimit bytes always decide") {
    const std::string pad(kSniffLimit, 'a');
    for (std::string_view head : {"NICK ", "GET /", "USER ", "EHL", "\x16\x03", "x"}) {
        CAPTURE(head);
        auto c = now(std::string(head) + pad);
        CHECK_FALSE(c.need_more);
        CHECK(c.protocol != Protocol::kUnknown);
    }
}

TEST_CASE("classify: SMTP servers speak first on the mail ports only") {
    for (std::uint16_t p : {25, 465, 587, 2525})
        CHECK(server_first(p) == Protocol::kSmtp);
    for (std::uint16_t p : {0, 21, 80, 110, 6667, 2526})
        CHECK_FALSE(server_first(p).has_value());
}

TEST_CASE("classify: protocol names") {
    CHECK(std::string(protocol_name(Protocol::kHttp)) == "http");
    CHECK(std::string(protocol_name(Protocol::kIrc)) == "irc");
    CHECK(std::string(protocol_name(Protocol::kSmtp)) == "smtp");
    CHECK(std::string(protocol_name(Protocol::kDns)) == "dns");
    CHECK(std::string(protocol_name(Protocol::kTls)) == "tls");
    CHECK(std::string(protocol_name(Protocol::kRaw)) == "raw");
    CHECK(std::string(protocol_name(Protocol::kUnknown)) == "unknown");
}

}  // namespace botscope::fakenet::test_classify
