// The emulator's DNS client: queries byte for byte, answers with compression, and every kind of
// broken answer failing within bounds.

#include <doctest/doctest.h>

#include <chrono>

#include "analysis/proto/dns/dns_parser.h"
#include "dns_client.h"
#include "support/pcapgen.h"

namespace botscope::botemu::test_dns {

namespace {

using testing::Bytes;
constexpr std::uint16_t kFlagsAnswer = 0x8180;  // QR RD RA, NOERROR

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

// Appends one record whose owner and rdata are given in wire form (pointers allowed).
void add_record(Bytes& msg, const Bytes& owner, std::uint16_t type, const Bytes& rdata) {
    msg.insert(msg.end(), owner.begin(), owner.end());
    put16(msg, type);
    put16(msg, 1);
    put16(msg, 0);
    put16(msg, 300);
    put16(msg, static_cast<std::uint16_t>(rdata.size()));
    msg.insert(msg.end(), rdata.begin(), rdata.end());
}

void set_ancount(Bytes& msg, std::uint16_t n) {
    msg[6] = static_cast<std::uint8_t>(n >> 8);
    msg[7] = static_cast<std::uint8_t>(n);
}

Bytes a_answer(std::uint16_t id, std::string_view name, std::vector<Bytes> addresses) {
    std::vector<testing::DnsRecord> rr;
    for (auto& a : addresses)
        rr.push_back({kQueryA, 300, a});
    return testing::dns_message(id, kFlagsAnswer, name, kQueryA, rr);
}

}  // namespace

TEST_CASE("dns: queries byte for byte") {
    auto q = build_query(0x1234, "cnc.botscope.test", kQueryA);
    const Bytes expected = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,   0,
                            3,    'c',  'n',  'c',  8,   'b', 'o', 't', 's', 'c', 'o', 'p',
                            'e',  4,    't',  'e',  's', 't', 0,   0,   1,   0,   1};
    CHECK(q == expected);
    // The analysis reads it back as what it is.
    auto m = analysis::dns::parse_message(q);
    CHECK(m.status == analysis::dns::ParseStatus::kOk);
    REQUIRE(m.questions.size() == 1);
    CHECK(m.questions[0].name == "cnc.botscope.test");
    CHECK(build_query(1, "mail-a.test.", kQueryMx) == build_query(1, "mail-a.test", kQueryMx));
    CHECK(build_query(1, "mail-a.test", kQueryMx)[26] == kQueryMx);

    for (const char* bad : {"", ".", "a..b", "10.66.0.1", "bad name.test", "x.-/y", "a.b\\.c"})
        CHECK_MESSAGE(build_query(1, bad, kQueryA).empty(), std::string(bad));
    CHECK(build_query(1, std::string(64, 'a') + ".test", kQueryA).empty());
    CHECK_FALSE(build_query(1, std::string(63, 'a') + ".test", kQueryA).empty());
    CHECK(build_query(1, std::string(254, 'a'), kQueryA).empty());
}

TEST_CASE("dns: a real answer with compression gives its addresses") {
    auto msg = a_answer(0xBEEF, "cnc.botscope.test", {{10, 66, 0, 1}, {10, 66, 0, 7}});
    DnsAnswer a = parse_answer(msg, 0xBEEF, "cnc.botscope.test", kQueryA);
    REQUIRE(a.status == DnsAnswer::Status::kOk);
    CHECK(a.addresses == std::vector<Ipv4>{0x0A420001u, 0x0A420007u});
    // Names compare without case, and with or without the root's dot.
    CHECK(parse_answer(msg, 0xBEEF, "CNC.Botscope.TEST.", kQueryA).status ==
          DnsAnswer::Status::kOk);
    // A foreign address is reported as it is: the gate (resolve_host) refuses it.
    auto foreign = a_answer(7, "cnc.botscope.test", {{203, 0, 113, 5}});
    CHECK(parse_answer(foreign, 7, "cnc.botscope.test", kQueryA).addresses ==
          std::vector<Ipv4>{0xCB007105u});
}

TEST_CASE("dns: CNAME chains are followed through compressed names") {
    // cnc.botscope.test CNAME real.cnc.botscope.test (label + pointer to the question name);
    // real.cnc.botscope.test (a pointer to the CNAME's rdata) A 10.66.0.1.
    Bytes msg = testing::dns_message(9, kFlagsAnswer, "cnc.botscope.test", kQueryA);
    const std::size_t cname_rdata = msg.size() + 12;  // owner 2, type 2, class 2, ttl 4, len 2
    add_record(msg, {0xC0, 0x0C}, 5, {4, 'r', 'e', 'a', 'l', 0xC0, 0x0C});
    add_record(msg, {0xC0, static_cast<std::uint8_t>(cname_rdata)}, kQueryA, {10, 66, 0, 1});
    set_ancount(msg, 2);
    DnsAnswer a = parse_answer(msg, 9, "cnc.botscope.test", kQueryA);
    REQUIRE(a.status == DnsAnswer::Status::kOk);
    CHECK(a.addresses == std::vector<Ipv4>{0x0A420001u});
}

TEST_CASE("dns: MX answers give their exchanges by preference") {
    Bytes msg = testing::dns_message(3, kFlagsAnswer, "mail-a.test", kQueryMx);
    add_record(msg, {0xC0, 0x0C}, kQueryMx, {0, 20, 3, 'm', 'x', '2', 0xC0, 0x0C});
    add_record(msg, {0xC0, 0x0C}, kQueryMx, {0, 10, 2, 'm', 'x', 0xC0, 0x0C});
    add_record(msg, {0xC0, 0x0C}, kQueryMx, {0, 5, 3, 'b', '\\', 'd', 0xC0, 0x0C});  // odd name
    set_ancount(msg, 3);
    DnsAnswer a = parse_answer(msg, 3, "mail-a.test", kQueryMx);
    REQUIRE(a.status == DnsAnswer::Status::kOk);
    REQUIRE(a.exchanges.size() == 2);
    CHECK(a.exchanges[0].name == "mx.mail-a.test");
    CHECK(a.exchanges[0].preference == 10);
    CHECK(a.exchanges[1].name == "mx2.mail-a.test");
}

TEST_CASE("dns: answers to something else are not taken") {
    auto msg = a_answer(1, "cnc.botscope.test", {{10, 66, 0, 1}});
    CHECK(parse_answer(msg, 2, "cnc.botscope.test", kQueryA).status ==
          DnsAnswer::Status::kMismatch);
    CHECK(parse_answer(msg, 1, "other.botscope.test", kQueryA).status ==
          DnsAnswer::Status::kMismatch);
    CHECK(parse_answer(msg, 1, "cnc.botscope.test", kQueryMx).status ==
          DnsAnswer::Status::kMismatch);
    auto query = build_query(1, "cnc.botscope.test", kQueryA);  // QR clear: our own query
    CHECK(parse_answer(query, 1, "cnc.botscope.test", kQueryA).status ==
          DnsAnswer::Status::kMismatch);
    CHECK(parse_answer({}, 1, "cnc.botscope.test", kQueryA).status == DnsAnswer::Status::kMismatch);
}

TEST_CASE("dns: NXDOMAIN, no data, error codes, TC") {
    auto nx = testing::dns_message(1, 0x8183, "cnc.botscope.test", kQueryA);
    DnsAnswer a = parse_answer(nx, 1, "cnc.botscope.test", kQueryA);
    CHECK(a.status == DnsAnswer::Status::kNoData);
    CHECK(a.error == "NXDOMAIN");
    auto aaaa_only = testing::dns_message(1, kFlagsAnswer, "cnc.botscope.test", kQueryA,
                                          {{28, 300, Bytes(16, 1)}});
    CHECK(parse_answer(aaaa_only, 1, "cnc.botscope.test", kQueryA).status ==
          DnsAnswer::Status::kNoData);
    auto servfail = testing::dns_message(1, 0x8182, "cnc.botscope.test", kQueryA);
    CHECK(parse_answer(servfail, 1, "cnc.botscope.test", kQueryA).error == "SERVFAIL");
    auto tc = a_answer(1, "cnc.botscope.test", {{10, 66, 0, 1}});
    tc[2] |= 0x02;
    CHECK(parse_answer(tc, 1, "cnc.botscope.test", kQueryA).status == DnsAnswer::Status::kBad);
}

TEST_CASE("dns: hostile answers fail within bounds") {
    using S = DnsAnswer::Status;
    const auto started = std::chrono::steady_clock::now();

    SUBCASE("a compression loop in an answer's owner name") {
        Bytes msg = testing::dns_message(5, kFlagsAnswer, "cnc.botscope.test", kQueryA);
        const auto self = static_cast<std::uint8_t>(msg.size());
        add_record(msg, {0xC0, self}, kQueryA, {10, 66, 0, 1});
        set_ancount(msg, 1);
        DnsAnswer a = parse_answer(msg, 5, "cnc.botscope.test", kQueryA);
        CHECK(a.status == S::kBad);
        CHECK(a.addresses.empty());
    }
    SUBCASE("a CNAME pointing into itself") {
        Bytes msg = testing::dns_message(5, kFlagsAnswer, "cnc.botscope.test", kQueryA);
        const auto rdata = static_cast<std::uint8_t>(msg.size() + 12);
        add_record(msg, {0xC0, 0x0C}, 5, {1, 'x', 0xC0, rdata});
        set_ancount(msg, 1);
        CHECK(parse_answer(msg, 5, "cnc.botscope.test", kQueryA).status == S::kBad);
    }
    SUBCASE("a truncated answer") {
        auto msg = a_answer(5, "cnc.botscope.test", {{10, 66, 0, 1}});
        for (std::size_t cut = 1; cut <= 14; ++cut) {
            Bytes part(msg.begin(), msg.end() - static_cast<std::ptrdiff_t>(cut));
            CHECK_MESSAGE(parse_answer(part, 5, "cnc.botscope.test", kQueryA).status == S::kBad,
                          cut);
        }
    }
    SUBCASE("an answer section claiming 65535 records") {
        auto msg = a_answer(5, "cnc.botscope.test", {{10, 66, 0, 1}});
        set_ancount(msg, 0xFFFF);
        DnsAnswer a = parse_answer(msg, 5, "cnc.botscope.test", kQueryA);
        CHECK(a.status == S::kBad);
        CHECK(a.addresses.empty());
        // ... and 65535 records that are really there (a 1 MB message): only the first 64 are
        // read, and the answer is refused.
        std::vector<Bytes> many(0xFFFF, Bytes{10, 66, 0, 1});
        auto big = a_answer(5, "cnc.botscope.test", many);
        CHECK(parse_answer(big, 5, "cnc.botscope.test", kQueryA).status == S::kBad);
    }
    SUBCASE("junk") {
        Bytes junk(512);
        for (std::size_t i = 0; i < junk.size(); ++i)
            junk[i] = static_cast<std::uint8_t>(i * 37 + 11);
        junk[0] = 0;
        junk[1] = 5;
        junk[2] = 0x81;
        CHECK(parse_answer(junk, 5, "cnc.botscope.test", kQueryA).status != S::kOk);
    }
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
}

TEST_CASE("dns: host names") {
    CHECK(is_valid_hostname("cnc.botscope.test"));
    CHECK(is_valid_hostname("cnc.botscope.test."));
    CHECK(is_valid_hostname("under_score-1.x"));
    CHECK(is_valid_hostname("localhost"));
    CHECK_FALSE(is_valid_hostname("10.66.0.1"));
    CHECK_FALSE(is_valid_hostname("a b"));
    CHECK_FALSE(is_valid_hostname(".a"));
    CHECK_FALSE(is_valid_hostname("a..b"));
}

}  // namespace botscope::botemu::test_dns
