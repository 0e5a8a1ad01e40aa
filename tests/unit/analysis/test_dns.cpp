// DNS parser and analyzers. Messages are built byte by byte with DnsBuilder below, so every
// test states exactly what is on the wire (compression pointers included).

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/proto/dns/dns_analyzer.h"
#include "analysis/proto/dns/dns_parser.h"
#include "util/byte_reader.h"

namespace test_dns {

using namespace botscope::analysis;
using namespace botscope::analysis::dns;

namespace {

constexpr std::uint16_t kFlagsQuery = 0x0100;     // RD
constexpr std::uint16_t kFlagsResponse = 0x8180;  // QR RD RA
constexpr std::uint16_t kFlagsNxDomain = 0x8583;  // QR AA RD RA, rcode 3
constexpr std::uint16_t kIn = 1;

/// Writes DNS wire format byte by byte.
struct DnsBuilder {
    std::vector<std::uint8_t> b;

    DnsBuilder& u8(std::uint8_t v) {
        b.push_back(v);
        return *this;
    }
    DnsBuilder& u16(std::uint16_t v) {
        b.push_back(static_cast<std::uint8_t>(v >> 8));
        b.push_back(static_cast<std::uint8_t>(v & 0xFF));
        return *this;
    }
    DnsBuilder& u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        return u16(static_cast<std::uint16_t>(v & 0xFFFF));
    }
    DnsBuilder& raw(std::string_view s) {
        for (char c : s)
            b.push_back(static_cast<std::uint8_t>(c));
        return *this;
    }
    DnsBuilder& header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an,
                       std::uint16_t ns = 0, std::uint16_t ar = 0) {
        return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    }
    /// The labels of a dotted name, without the terminating zero.
    DnsBuilder& labels(std::string_view dotted) {
        while (!dotted.empty()) {
            auto dot = dotted.find('.');
            auto label = dotted.substr(0, dot);
            u8(static_cast<std::uint8_t>(label.size())).raw(label);
            if (dot == std::string_view::npos)
                break;
            dotted.remove_prefix(dot + 1);
        }
        return *this;
    }
    DnsBuilder& name(std::string_view dotted) { return labels(dotted).u8(0); }
    DnsBuilder& pointer(std::uint16_t target) {
        return u16(static_cast<std::uint16_t>(0xC000 | target));
    }
    DnsBuilder& question(std::string_view dotted, std::uint16_t type, std::uint16_t cls = kIn) {
        return name(dotted).u16(type).u16(cls);
    }
    /// Fixed part of a record after its owner name; rdata follows.
    DnsBuilder& rr(std::uint16_t type, std::uint32_t ttl, std::uint16_t rdlength,
                   std::uint16_t cls = kIn) {
        return u16(type).u16(cls).u32(ttl).u16(rdlength);
    }
    std::size_t size() const { return b.size(); }
    std::span<const std::uint8_t> span() const { return b; }
};

std::vector<std::uint8_t> make_query(std::uint16_t id, std::string_view qname,
                                     std::uint16_t qtype) {
    DnsBuilder m;
    m.header(id, kFlagsQuery, 1, 0).question(qname, qtype);
    return m.b;
}

/// A response with the question at offset 12 and one A record per address, owner compressed.
std::vector<std::uint8_t> make_a_response(std::uint16_t id, std::string_view qname,
                                          std::vector<std::array<std::uint8_t, 4>> addrs,
                                          std::uint16_t flags = kFlagsResponse) {
    DnsBuilder m;
    m.header(id, flags, 1, static_cast<std::uint16_t>(addrs.size())).question(qname, kTypeA);
    for (const auto& a : addrs) {
        m.pointer(12).rr(kTypeA, 300, 4);
        for (auto x : a)
            m.u8(x);
    }
    return m.b;
}

Endpoint ep(std::uint8_t last, std::uint16_t port) {
    return Endpoint{IpAddress::v4(10, 0, 0, last), port};
}

/// A UDP conversation between a client and a server; each call builds one datagram.
struct UdpFlow {
    FlowInfo info;
    std::vector<std::uint8_t> storage;

    UdpFlow(FlowId id, Endpoint client, Endpoint server) {
        info.id = id;
        info.transport = Transport::kUdp;
        info.orig = client;
        info.resp = server;
    }
    Datagram from_client(const std::vector<std::uint8_t>& payload, Timestamp ts) {
        storage = payload;
        return Datagram{info, Direction::kOrig, info.orig, info.resp, storage, ts};
    }
    Datagram from_server(const std::vector<std::uint8_t>& payload, Timestamp ts) {
        storage = payload;
        return Datagram{info, Direction::kResp, info.resp, info.orig, storage, ts};
    }
};

constexpr Timestamp kSecond = 1'000'000'000;

std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& msg) {
    // Sized up front: GCC 12's -Warray-bounds misfires on push_back followed by insert.
    std::vector<std::uint8_t> out(msg.size() + 2);
    out[0] = static_cast<std::uint8_t>(msg.size() >> 8);
    out[1] = static_cast<std::uint8_t>(msg.size() & 0xFF);
    std::copy(msg.begin(), msg.end(), out.begin() + 2);
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Names

TEST_CASE("dns: plain, root and compressed names") {
    DnsBuilder m;
    m.header(1, 0, 0, 0);
    m.name("www.example.com");  // offset 12
    const std::size_t second = m.size();
    m.labels("mail").pointer(16);  // "mail" + "example.com"
    const std::size_t root = m.size();
    m.u8(0);

    auto a = read_name(m.span(), 12);
    CHECK(a.complete());
    CHECK(a.text == "www.example.com");
    CHECK(a.labels == 3);
    CHECK(a.end == second);

    auto b = read_name(m.span(), second);
    CHECK(b.complete());
    CHECK(b.text == "mail.example.com");
    CHECK(b.end == root);  // ends right after the pointer

    auto r = read_name(m.span(), root);
    CHECK(r.complete());
    CHECK(r.text == ".");
}

TEST_CASE("dns: label bytes that would mislead a reader are escaped") {
    DnsBuilder m;
    m.header(1, 0, 0, 0);
    m.u8(3).raw("a.b").u8(4).u8('x').u8(0x07).u8('\\').u8(' ').u8(0);
    auto n = read_name(m.span(), 12);
    CHECK(n.complete());
    CHECK(n.text == "a\\.b.x\\007\\\\\\032");
}

TEST_CASE("dns: a pointer to itself is a loop, and the field after it is still found") {
    DnsBuilder m;
    m.header(1, 0, 0, 0);
    m.labels("evil").pointer(12);  // points back at its own first label
    m.u16(kTypeA);
    auto n = read_name(m.span(), 12);
    CHECK((n.issues & kPointerLoop) != 0);
    CHECK(n.found_end);
    CHECK(n.end == 12 + 5 + 2);
    CHECK(n.text == "evil");
}

TEST_CASE("dns: two pointers pointing at each other are a loop") {
    DnsBuilder m;
    m.header(1, 0, 0, 0);
    m.pointer(14);  // offset 12 -> 14
    m.pointer(12);  // offset 14 -> 12
    auto n = read_name(m.span(), 14);
    CHECK((n.issues & kPointerLoop) != 0);
    CHECK(n.end == 16);
    auto n2 = read_name(m.span(), 12);  // a forward pointer is refused at once
    CHECK((n2.issues & kPointerLoop) != 0);
}

TEST_CASE("dns: pointers into the header or past the end are refused") {
    DnsBuilder m;
    m.header(1, 0, 0, 0);
    m.pointer(3);
    auto into_header = read_name(m.span(), 12);
    CHECK((into_header.issues & kBadPointer) != 0);

    DnsBuilder m2;
    m2.header(1, 0, 0, 0).name("a").pointer(500);
    auto past_end = read_name(m2.span(), 15);
    CHECK((past_end.issues & kBadPointer) != 0);
    CHECK(past_end.found_end);
}

TEST_CASE("dns: pointer chains are followed up to the hop limit") {
    // A chain of backward pointers: name "a" at 12, then pointer k points at pointer k-1.
    auto chain = [](std::size_t hops) {
        DnsBuilder m;
        m.header(1, 0, 0, 0).name("a");  // 12..14
        std::uint16_t prev = 12;
        for (std::size_t i = 0; i < hops; ++i) {
            const auto here = static_cast<std::uint16_t>(m.size());
            m.pointer(prev);
            prev = here;
        }
        return std::make_pair(m, prev);
    };
    auto [ok_msg, ok_start] = chain(kMaxPointerHops);
    auto ok = read_name(ok_msg.span(), ok_start);
    CHECK(ok.complete());
    CHECK(ok.text == "a");

    auto [long_msg, long_start] = chain(kMaxPointerHops + 1);
    auto bad = read_name(long_msg.span(), long_start);
    CHECK((bad.issues & kTooManyPointers) != 0);
    CHECK(bad.found_end);
}

TEST_CASE("dns: a name longer than the limit is cut and flagged") {
    DnsBuilder m;
    m.header(1, 0, 0, 0);
    const std::string label(63, 'x');
    for (int i = 0; i < 20; ++i)
        m.u8(63).raw(label);  // 20*64-1 = 1279 characters
    m.u8(0).u16(kTypeA);
    auto n = read_name(m.span(), 12);
    CHECK((n.issues & kNameTooLong) != 0);
    CHECK(n.text.size() == kMaxNameLength);
    CHECK(n.found_end);
    CHECK(n.end == m.size() - 2);
}

TEST_CASE("dns: a name of more than 255 labels is cut and flagged") {
    DnsBuilder m;
    m.header(1, 0, 0, 0);
    for (int i = 0; i < 300; ++i)
        m.u8(1).u8('a');
    m.u8(0);
    auto n = read_name(m.span(), 12);
    CHECK((n.issues & kTooManyLabels) != 0);
    CHECK(n.labels == 300);
    CHECK(n.text.size() == 255 * 2 - 1);  // 255 labels kept
    CHECK(n.end == m.size());
}

TEST_CASE("dns: reserved label types and names running off the end") {
    DnsBuilder m;
    m.header(1, 0, 0, 0).u8(0x41).u8('a');
    auto n = read_name(m.span(), 12);
    CHECK((n.issues & kBadLabelType) != 0);
    CHECK_FALSE(n.found_end);

    DnsBuilder cut;
    cut.header(1, 0, 0, 0).u8(10).raw("abc");
    auto c = read_name(cut.span(), 12);
    CHECK_FALSE(c.found_end);
    CHECK(c.issues == 0);
    CHECK_FALSE(read_name(cut.span(), 100).found_end);  // offset past the end
}

// ---------------------------------------------------------------------------------------------
// Messages

TEST_CASE("dns: header and question of a query") {
    auto q = make_query(0x1032, "google.com", kTypeTxt);
    auto m = parse_message(q);
    CHECK(m.status == ParseStatus::kOk);
    CHECK(m.header.id == 0x1032);
    CHECK_FALSE(m.header.qr);
    CHECK(m.header.rd);
    REQUIRE(m.questions.size() == 1);
    CHECK(m.questions[0].name == "google.com");
    CHECK(m.questions[0].qtype == kTypeTxt);
    CHECK(m.questions[0].qclass == kIn);
    CHECK(m.records.empty());
}

TEST_CASE("dns: rdata of common types is rendered as text") {
    DnsBuilder m;
    m.header(7, kFlagsResponse, 1, 11).question("example.com", kTypeAny);
    // A
    m.pointer(12).rr(kTypeA, 600, 4).u8(204).u8(152).u8(184).u8(88);
    // AAAA 2001:4f8:0:2::d
    m.pointer(12)
        .rr(kTypeAaaa, 600, 16)
        .u16(0x2001)
        .u16(0x04f8)
        .u16(0)
        .u16(2)
        .u32(0)
        .u16(0)
        .u16(0x000d);
    // CNAME www.l.example.com (labels + pointer to "example.com")
    m.pointer(12).rr(kTypeCname, 633, 8).labels("www.l").pointer(12);
    // MX 10 smtp1.example.com
    m.pointer(12).rr(kTypeMx, 552, 10).u16(10).labels("smtp1").pointer(12);
    // TXT with two strings, one holding a quote
    m.pointer(12).rr(kTypeTxt, 270, 17).u8(15).raw("v=spf1 ptr ?all").u8(0);
    m.pointer(12).rr(kTypeTxt, 270, 6).u8(5).raw("say\"x");
    // SOA ns1.example.com hostmaster.example.com 2024 3600 600 86400 300
    m.pointer(12)
        .rr(kTypeSoa, 3600, 6 + 13 + 20)
        .labels("ns1")
        .pointer(12)
        .labels("hostmaster")
        .pointer(12)
        .u32(2024)
        .u32(3600)
        .u32(600)
        .u32(86400)
        .u32(300);
    // SRV 0 100 389 dc.example.com
    m.pointer(12).rr(kTypeSrv, 600, 6 + 5).u16(0).u16(100).u16(389).labels("dc").pointer(12);
    // HINFO "PC" "Windows"
    m.pointer(12).rr(kTypeHinfo, 60, 1 + 2 + 1 + 7).u8(2).raw("PC").u8(7).raw("Windows");
    // LOC has no text form here: generic
    m.pointer(12).rr(kTypeLoc, 60, 4).u32(0x00121314);
    // NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.com
    m.pointer(12)
        .rr(kTypeNaptr, 60, 4 + 2 + 8 + 1 + 12)
        .u16(100)
        .u16(10)
        .u8(1)
        .raw("S")
        .u8(7)
        .raw("SIP+D2U")
        .u8(0)
        .labels("_sip._udp")
        .pointer(12);

    auto msg = parse_message(m.span());
    CHECK(msg.status == ParseStatus::kOk);
    CHECK(msg.bad_rdata == 0);
    REQUIRE(msg.records.size() == 11);
    CHECK(msg.records[0].rdata == "204.152.184.88");
    REQUIRE(msg.records[0].address.has_value());
    CHECK(msg.records[0].address->to_string() == "204.152.184.88");
    CHECK(msg.records[1].rdata == "2001:4f8:0:2::d");
    CHECK(msg.records[1].address->v6);
    CHECK(msg.records[2].rdata == "www.l.example.com");
    CHECK(msg.records[2].ttl == 633);
    CHECK(msg.records[3].rdata == "10 smtp1.example.com");
    CHECK(msg.records[4].rdata == "\"v=spf1 ptr ?all\" \"\"");
    CHECK(msg.records[5].rdata == "\"say\\\"x\"");
    CHECK(msg.records[6].rdata == "ns1.example.com hostmaster.example.com 2024 3600 600 86400 300");
    CHECK(msg.records[7].rdata == "0 100 389 dc.example.com");
    CHECK(msg.records[8].rdata == "\"PC\" \"Windows\"");
    CHECK(msg.records[9].rdata == "\\# 4 00121314");
    CHECK(msg.records[10].rdata == "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com");
    for (const auto& r : msg.records)
        CHECK(r.name == "example.com");
}

TEST_CASE("dns: rdata that does not fit its type is flagged and shown as hex") {
    DnsBuilder m;
    m.header(7, kFlagsResponse, 1, 3).question("a.example", kTypeA);
    m.pointer(12).rr(kTypeA, 1, 3).u8(1).u8(2).u8(3);         // A of 3 bytes
    m.pointer(12).rr(kTypeCname, 1, 3).u8(9).raw("ab");       // name overruns rdata
    m.pointer(12).rr(kTypeA, 1, 4).u8(10).u8(0).u8(0).u8(1);  // fine, still read
    auto msg = parse_message(m.span());
    CHECK(msg.status == ParseStatus::kOk);
    CHECK(msg.bad_rdata == 2);
    REQUIRE(msg.records.size() == 3);
    CHECK(msg.records[0].bad_rdata);
    CHECK_FALSE(msg.records[0].address.has_value());
    CHECK(msg.records[0].rdata == "\\# 3 010203");
    CHECK(msg.records[1].bad_rdata);
    CHECK(msg.records[2].rdata == "10.0.0.1");
    CHECK(msg.problem.find("3 bytes") != std::string::npos);
}

TEST_CASE("dns: long unknown rdata is shortened") {
    DnsBuilder m;
    m.header(7, kFlagsResponse, 1, 1).question("k.example", 48);
    m.pointer(12).rr(48, 1, 100);
    for (int i = 0; i < 100; ++i)
        m.u8(0xAB);
    auto msg = parse_message(m.span());
    REQUIRE(msg.records.size() == 1);
    CHECK(msg.records[0].rdata.rfind("\\# 100 abab", 0) == 0);
    CHECK(msg.records[0].rdata.size() == 7 + 2 * kMaxHexBytes + 3);
    CHECK(type_name(msg.records[0].type) == "DNSKEY");
}

TEST_CASE("dns: EDNS OPT record") {
    DnsBuilder m;
    m.header(9, kFlagsQuery, 1, 0, 0, 1).question("example.com", kTypeA);
    m.u8(0).rr(kTypeOpt, 0x00008000, 4, 4096).u16(10).u16(0);  // DO bit, one empty option
    auto msg = parse_message(m.span());
    CHECK(msg.status == ParseStatus::kOk);
    REQUIRE(msg.records.size() == 1);
    CHECK(msg.records[0].section == Section::kAdditional);
    CHECK(msg.records[0].name == ".");
    CHECK(msg.records[0].rdata == "udp_size=4096 ext_rcode=0 version=0 do=1 options=10");
}

TEST_CASE("dns: sections, record limit and truncation") {
    SUBCASE("answer, authority and additional are told apart") {
        DnsBuilder m;
        m.header(1, kFlagsResponse, 1, 1, 1, 1).question("x.example", kTypeA);
        m.pointer(12).rr(kTypeA, 1, 4).u32(0x01020304);
        m.pointer(14).rr(kTypeNs, 1, 2).pointer(14);
        m.pointer(14).rr(kTypeA, 1, 4).u32(0x05060708);
        auto msg = parse_message(m.span());
        REQUIRE(msg.records.size() == 3);
        CHECK(msg.records[0].section == Section::kAnswer);
        CHECK(msg.records[1].section == Section::kAuthority);
        CHECK(msg.records[1].rdata == "example");
        CHECK(msg.records[2].section == Section::kAdditional);
    }
    SUBCASE("records beyond the limit are counted, not kept") {
        DnsBuilder m;
        m.header(1, kFlagsResponse, 1, 100).question("x.example", kTypeA);
        for (int i = 0; i < 100; ++i)
            m.pointer(12).rr(kTypeA, 1, 4).u32(0x0A000000u + i);
        auto msg = parse_message(m.span());
        CHECK(msg.status == ParseStatus::kOk);
        CHECK(msg.records.size() == kMaxRecordsPerMessage);
        CHECK(msg.records_dropped == 100 - kMaxRecordsPerMessage);
    }
    SUBCASE("a message cut inside an answer keeps what came before") {
        auto full = make_a_response(5, "cc.bot.example", {{1, 2, 3, 4}, {5, 6, 7, 8}});
        full.resize(full.size() - 3);
        auto msg = parse_message(full);
        CHECK(msg.status == ParseStatus::kTruncated);
        REQUIRE(msg.questions.size() == 1);
        CHECK(msg.questions[0].name == "cc.bot.example");
        REQUIRE(msg.records.size() == 1);
        CHECK(msg.records[0].rdata == "1.2.3.4");
        CHECK_FALSE(msg.problem.empty());
    }
    SUBCASE("a header alone is not enough for an announced question") {
        DnsBuilder m;
        m.header(1, 0, 1, 0);
        CHECK(parse_message(m.span()).status == ParseStatus::kTruncated);
    }
    SUBCASE("shorter than a header") {
        std::vector<std::uint8_t> tiny{0x12, 0x34, 0x01};
        auto msg = parse_message(tiny);
        CHECK(msg.status == ParseStatus::kMalformed);
        CHECK_FALSE(msg.header_ok);
    }
    SUBCASE("a bad label type in the question stops the parse as malformed") {
        DnsBuilder m;
        m.header(1, 0, 1, 0).u8(0x80).u8(0).u16(1).u16(1);
        CHECK(parse_message(m.span()).status == ParseStatus::kMalformed);
    }
    SUBCASE("a looping owner name is flagged, and parsing goes on") {
        DnsBuilder m;
        m.header(1, kFlagsResponse, 1, 1).question("x.example", kTypeA);
        const auto owner = static_cast<std::uint16_t>(m.size());
        m.pointer(owner).rr(kTypeA, 1, 4).u32(0x01020304);
        auto msg = parse_message(m.span());
        CHECK(msg.status == ParseStatus::kOk);
        CHECK((msg.name_issues & kPointerLoop) != 0);
        REQUIRE(msg.records.size() == 1);
        CHECK(msg.records[0].rdata == "1.2.3.4");
    }
    SUBCASE("a hostile question count is bounded by the bytes present") {
        DnsBuilder m;
        m.header(1, 0, 0xFFFF, 0);
        for (int i = 0; i < 20; ++i)
            m.question("q.example", kTypeA);
        auto msg = parse_message(m.span());
        CHECK(msg.status == ParseStatus::kTruncated);
        CHECK(msg.questions.size() == kMaxQuestions);
        CHECK(msg.questions_dropped == 20 - kMaxQuestions);
    }
}

TEST_CASE("dns: mnemonics") {
    CHECK(type_name(1) == "A");
    CHECK(type_name(2) == "NS");
    CHECK(type_name(5) == "CNAME");
    CHECK(type_name(6) == "SOA");
    CHECK(type_name(12) == "PTR");
    CHECK(type_name(13) == "HINFO");
    CHECK(type_name(15) == "MX");
    CHECK(type_name(16) == "TXT");
    CHECK(type_name(28) == "AAAA");
    CHECK(type_name(29) == "LOC");
    CHECK(type_name(33) == "SRV");
    CHECK(type_name(35) == "NAPTR");
    CHECK(type_name(41) == "OPT");
    CHECK(type_name(43) == "DS");
    CHECK(type_name(46) == "RRSIG");
    CHECK(type_name(47) == "NSEC");
    CHECK(type_name(48) == "DNSKEY");
    CHECK(type_name(255) == "ANY");
    CHECK(type_name(65280) == "TYPE65280");
    CHECK(class_name(1) == "IN");
    CHECK(class_name(3) == "CH");
    CHECK(class_name(77) == "CLASS77");
    CHECK(rcode_name(0) == "NOERROR");
    CHECK(rcode_name(2) == "SERVFAIL");
    CHECK(rcode_name(3) == "NXDOMAIN");
    CHECK(rcode_name(5) == "REFUSED");
    CHECK(rcode_name(14) == "RCODE14");
    CHECK(opcode_name(0) == "QUERY");
    CHECK(opcode_name(5) == "UPDATE");
    CHECK(opcode_name(9) == "OPCODE9");
}

TEST_CASE("dns: plausibility of first bytes") {
    auto q = make_query(0x4242, "irc.bot.example", kTypeA);
    CHECK(check_plausible(q, true) == Plausibility::kYes);
    auto resp = make_a_response(0x4242, "irc.bot.example", {{1, 2, 3, 4}});
    CHECK(check_plausible(resp, true) == Plausibility::kYes);

    // Prefixes ask for more unless they are the whole message.
    std::span<const std::uint8_t> all(q);
    CHECK(check_plausible(all.first(8), false) == Plausibility::kNeedMore);
    CHECK(check_plausible(all.first(20), false) == Plausibility::kNeedMore);
    CHECK(check_plausible(all.first(20), true) == Plausibility::kNo);

    SUBCASE("no question") {
        DnsBuilder m;
        m.header(1, kFlagsQuery, 0, 0).question("x.example", kTypeA);
        CHECK(check_plausible(m.span(), true) == Plausibility::kNo);
    }
    SUBCASE("a query with answers") {
        DnsBuilder m;
        m.header(1, kFlagsQuery, 1, 3).question("x.example", kTypeA);
        CHECK(check_plausible(m.span(), true) == Plausibility::kNo);
    }
    SUBCASE("unknown type or class") {
        DnsBuilder m;
        m.header(1, kFlagsQuery, 1, 0).question("x.example", 0xFF00);
        CHECK(check_plausible(m.span(), true) == Plausibility::kNo);
        DnsBuilder c;
        c.header(1, kFlagsQuery, 1, 0).question("x.example", kTypeA, 99);
        CHECK(check_plausible(c.span(), true) == Plausibility::kNo);
    }
    SUBCASE("binary label bytes") {
        DnsBuilder m;
        m.header(1, kFlagsQuery, 1, 0).u8(3).u8(1).u8(2).u8(3).u8(0).u16(1).u16(1);
        CHECK(check_plausible(m.span(), true) == Plausibility::kNo);
    }
    SUBCASE("text protocols") {
        std::string_view irc = "NICK [00|USA|4821]\r\nUSER x x x :x\r\n";
        CHECK(check_plausible(botscope::util::as_bytes(irc), true) == Plausibility::kNo);
        std::string_view http = "GET /bot.exe HTTP/1.0\r\nHost: a\r\n\r\n";
        CHECK(check_plausible(botscope::util::as_bytes(http), true) == Plausibility::kNo);
    }
}

TEST_CASE("dns: TCP framing") {
    auto q = make_query(1, "a.example", kTypeA);
    auto f = framed(q);
    auto whole = frame_tcp(f);
    CHECK(whole.status == TcpFrame::Status::kOk);
    CHECK(whole.consumed == f.size());
    CHECK(whole.message.size() == q.size());

    std::span<const std::uint8_t> s(f);
    auto one = frame_tcp(s.first(1));
    CHECK(one.status == TcpFrame::Status::kIncomplete);
    CHECK(one.need == 2);
    auto part = frame_tcp(s.first(10));
    CHECK(part.status == TcpFrame::Status::kIncomplete);
    CHECK(part.need == f.size());

    std::vector<std::uint8_t> zero{0, 0, 1};
    auto z = frame_tcp(zero);
    CHECK(z.status == TcpFrame::Status::kError);
    CHECK(z.consumed == 2);
}

// ---------------------------------------------------------------------------------------------
// UDP analyzer

TEST_CASE("dns udp: a query and its answer are paired with the round-trip time") {
    DnsResult result;
    Weirds weirds;
    DnsUdpAnalyzer a(result);
    UdpFlow flow(1, ep(8, 32795), ep(20, 53));

    auto qd = flow.from_client(make_query(4146, "cc.evil.example", kTypeA), 100 * kSecond);
    CHECK(a.probe(qd));
    a.on_datagram(qd, weirds);
    a.on_datagram(flow.from_server(make_a_response(4146, "cc.evil.example", {{6, 6, 6, 6}}),
                                   100 * kSecond + 500'000),
                  weirds);
    a.finish(101 * kSecond);

    REQUIRE(result.transactions.size() == 1);
    const auto& t = result.transactions[0];
    CHECK(t.query == "cc.evil.example");
    CHECK(t.qtype == kTypeA);
    CHECK(t.trans_id == 4146);
    CHECK(t.query_seen);
    CHECK(t.answered);
    CHECK(t.client == ep(8, 32795));
    CHECK(t.server == ep(20, 53));
    CHECK(t.flow == 1);
    CHECK(t.rcode == kRcodeNoError);
    CHECK(t.flags.rd);
    CHECK(t.flags.ra);
    CHECK_FALSE(t.flags.aa);
    REQUIRE(t.rtt().has_value());
    CHECK(*t.rtt() == 500'000);
    REQUIRE(t.answers.size() == 1);
    CHECK(t.answers[0].rdata == "6.6.6.6");
    CHECK(t.answers[0].name == "cc.evil.example");

    REQUIRE(result.names.size() == 1);
    CHECK(result.names[0].name == "cc.evil.example");
    CHECK(result.names[0].queries == 1);
    CHECK(result.names[0].responses == 1);
    REQUIRE(result.names[0].addresses.size() == 1);
    CHECK(result.names[0].addresses[0] == IpAddress::v4(6, 6, 6, 6));
    CHECK(result.messages == 2);
    CHECK(result.queries == 1);
    CHECK(result.responses == 1);
    CHECK(result.malformed == 0);
    CHECK(weirds.entries().empty());
}

TEST_CASE("dns udp: unanswered queries and NXDOMAIN are kept") {
    DnsResult result;
    Weirds weirds;
    DnsUdpAnalyzer a(result);
    UdpFlow flow(1, ep(8, 1025), ep(20, 53));

    a.on_datagram(flow.from_client(make_query(1, "irc.gone.example", kTypeA), kSecond), weirds);
    a.on_datagram(flow.from_client(make_query(2, "sinkholed.example", kTypeA), 2 * kSecond),
                  weirds);
    a.on_datagram(flow.from_server(make_a_response(2, "sinkholed.example", {}, kFlagsNxDomain),
                                   2 * kSecond + 1000),
                  weirds);
    a.on_flow_end(1, 10 * kSecond);

    REQUIRE(result.transactions.size() == 2);
    CHECK(result.transactions[0].query == "irc.gone.example");
    CHECK_FALSE(result.transactions[0].answered);
    CHECK_FALSE(result.transactions[0].rtt().has_value());
    CHECK(result.transactions[1].answered);
    CHECK(result.transactions[1].rcode == kRcodeNxDomain);
    CHECK(result.transactions[1].flags.aa);
    CHECK(rcode_name(result.transactions[1].rcode) == "NXDOMAIN");
    REQUIRE(result.names.size() == 2);
    CHECK(result.names[1].nxdomain == 1);
    CHECK(result.names[1].addresses.empty());
}

TEST_CASE("dns udp: ids pair within a flow only") {
    DnsResult result;
    Weirds weirds;
    DnsUdpAnalyzer a(result);
    UdpFlow f1(1, ep(8, 1025), ep(20, 53));
    UdpFlow f2(2, ep(8, 1026), ep(20, 53));

    a.on_datagram(f1.from_client(make_query(77, "one.example", kTypeA), kSecond), weirds);
    a.on_datagram(f2.from_client(make_query(77, "two.example", kTypeA), kSecond), weirds);
    a.on_datagram(f2.from_server(make_a_response(77, "two.example", {{2, 2, 2, 2}}), 2 * kSecond),
                  weirds);
    REQUIRE(result.transactions.size() == 2);
    CHECK_FALSE(result.transactions[0].answered);
    CHECK(result.transactions[1].answered);
    CHECK(result.transactions[1].answers[0].rdata == "2.2.2.2");
}

TEST_CASE("dns udp: responses without a query, duplicates and retransmissions") {
    DnsResult result;
    Weirds weirds;
    DnsUdpAnalyzer a(result);
    UdpFlow flow(3, ep(8, 1025), ep(20, 53));

    SUBCASE("a response whose query was not captured becomes a transaction") {
        a.on_datagram(flow.from_server(make_a_response(9, "late.example", {{9, 9, 9, 9}}), kSecond),
                      weirds);
        REQUIRE(result.transactions.size() == 1);
        const auto& t = result.transactions[0];
        CHECK_FALSE(t.query_seen);
        CHECK(t.answered);
        CHECK(t.query == "late.example");
        CHECK(t.client == ep(8, 1025));
        CHECK(t.server == ep(20, 53));
        CHECK_FALSE(t.rtt().has_value());
        CHECK(result.unmatched_responses == 1);
        CHECK(weirds.count(kWeirdUnmatchedResponse) == 1);
    }
    SUBCASE("a second answer to one query is counted (possible spoofing)") {
        a.on_datagram(flow.from_client(make_query(5, "bank.example", kTypeA), kSecond), weirds);
        a.on_datagram(flow.from_server(make_a_response(5, "bank.example", {{6, 6, 6, 6}}), kSecond),
                      weirds);
        a.on_datagram(flow.from_server(make_a_response(5, "bank.example", {{1, 1, 1, 1}}), kSecond),
                      weirds);
        REQUIRE(result.transactions.size() == 1);
        CHECK(result.transactions[0].extra_responses == 1);
        CHECK(result.transactions[0].answers[0].rdata == "6.6.6.6");
        CHECK(weirds.count(kWeirdDuplicateResponse) == 1);
    }
    SUBCASE("the same question again before an answer is a retransmission") {
        a.on_datagram(flow.from_client(make_query(5, "slow.example", kTypeA), kSecond), weirds);
        a.on_datagram(flow.from_client(make_query(5, "SLOW.example", kTypeA), 3 * kSecond), weirds);
        a.on_datagram(
            flow.from_server(make_a_response(5, "slow.example", {{3, 3, 3, 3}}), 3 * kSecond + 10),
            weirds);
        REQUIRE(result.transactions.size() == 1);
        CHECK(result.transactions[0].retransmissions == 1);
        CHECK(result.transactions[0].answered);
        REQUIRE(result.names.size() == 1);  // case folded
        CHECK(result.names[0].queries == 2);
    }
    SUBCASE("an id reused for another question starts a new transaction") {
        a.on_datagram(flow.from_client(make_query(5, "first.example", kTypeA), kSecond), weirds);
        a.on_datagram(flow.from_client(make_query(5, "second.example", kTypeA), 2 * kSecond),
                      weirds);
        a.on_datagram(
            flow.from_server(make_a_response(5, "second.example", {{4, 4, 4, 4}}), 2 * kSecond),
            weirds);
        REQUIRE(result.transactions.size() == 2);
        CHECK_FALSE(result.transactions[0].answered);
        CHECK(result.transactions[1].answered);
    }
    SUBCASE("after the flow ends its pending queries no longer match") {
        a.on_datagram(flow.from_client(make_query(5, "x.example", kTypeA), kSecond), weirds);
        a.on_flow_end(3, 2 * kSecond);
        a.on_datagram(
            flow.from_server(make_a_response(5, "x.example", {{4, 4, 4, 4}}), 3 * kSecond), weirds);
        CHECK(result.transactions.size() == 2);
        CHECK(weirds.count(kWeirdUnmatchedResponse) == 1);
    }
}

TEST_CASE("dns udp: mDNS announcements are not unmatched responses") {
    DnsResult result;
    Weirds weirds;
    DnsUdpAnalyzer a(result);
    FlowInfo info;
    info.id = 4;
    info.transport = Transport::kUdp;
    info.orig = ep(9, 5353);
    info.resp = Endpoint{IpAddress::v4(224, 0, 0, 251), 5353};
    DnsBuilder m;
    m.header(0, 0x8400, 1, 1).question("host.local", kTypeA, 0x8001);
    m.pointer(12).rr(kTypeA, 120, 4, 0x8001).u32(0x0A000009);
    Datagram d{info, Direction::kOrig, info.orig, info.resp, m.span(), kSecond};
    CHECK(a.probe(d));
    a.on_datagram(d, weirds);
    REQUIRE(result.transactions.size() == 1);
    CHECK(result.transactions[0].qclass == kIn);
    REQUIRE(result.transactions[0].answers.size() == 1);
    CHECK(result.transactions[0].answers[0].rclass == kIn);
    CHECK(weirds.count(kWeirdUnmatchedResponse) == 0);
}

TEST_CASE("dns udp: probe") {
    DnsResult result;
    DnsUdpAnalyzer a(result);
    auto q = make_query(1, "update.bot.example", kTypeA);
    std::vector<std::uint8_t> junk{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03,
                                   0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};
    FlowInfo info;
    info.transport = Transport::kUdp;
    auto dgram = [&info](Endpoint s, Endpoint d, const std::vector<std::uint8_t>& p) {
        info.orig = s;
        info.resp = d;
        return Datagram{info, Direction::kOrig, s, d, p, 0};
    };
    CHECK(a.probe(dgram(ep(1, 40000), ep(2, 53), junk)));  // port 53 is claimed outright
    CHECK(a.probe(dgram(ep(2, 53), ep(1, 40000), junk)));
    CHECK(a.probe(dgram(ep(1, 40000), ep(2, 5355), junk)));
    CHECK(a.probe(dgram(ep(1, 40000), ep(2, 8053), q)));  // DNS on another port, by content
    CHECK_FALSE(a.probe(dgram(ep(1, 40000), ep(2, 8053), junk)));
    CHECK_FALSE(a.probe(dgram(ep(1, 137), ep(2, 137), q)));  // NetBIOS looks alike, is not DNS
}

TEST_CASE("dns udp: problems are weirds once the flow is confirmed, then it gives up") {
    DnsResult result;
    Weirds weirds;
    DnsUdpAnalyzer a(result);
    UdpFlow flow(5, ep(8, 1025), ep(20, 53));
    std::vector<std::uint8_t> garbage{1, 2, 3};

    a.on_datagram(flow.from_client(garbage, kSecond), weirds);
    CHECK(result.malformed == 1);
    CHECK(weirds.entries().empty());  // not yet known to be DNS
    CHECK(result.transactions.empty());

    a.on_datagram(flow.from_client(make_query(1, "ok.example", kTypeA), kSecond), weirds);
    // A response whose only answer owner is a pointer loop: still paired, flagged.
    DnsBuilder loop;
    loop.header(1, kFlagsResponse, 1, 1).question("ok.example", kTypeA);
    const auto owner = static_cast<std::uint16_t>(loop.size());
    loop.pointer(owner).rr(kTypeA, 1, 4).u32(0x01020304);
    a.on_datagram(flow.from_server(loop.b, kSecond), weirds);
    CHECK(weirds.count(kWeirdPointerLoop) == 1);
    REQUIRE(result.transactions.size() == 1);
    CHECK(result.transactions[0].answered);
    CHECK(result.transactions[0].malformed);

    auto cut = make_query(2, "cut.example", kTypeA);
    cut.resize(cut.size() - 2);
    a.on_datagram(flow.from_client(cut, kSecond), weirds);
    CHECK(weirds.count(kWeirdTruncatedMessage) == 1);
    REQUIRE(result.transactions.size() == 2);  // its header still says what was asked
    CHECK(result.transactions[1].query == "cut.example");

    a.on_datagram(flow.from_client(garbage, kSecond), weirds);
    CHECK(weirds.count(kWeirdMalformed) == 1);
    for (std::uint32_t i = 0; i < kMaxConsecutiveInvalid; ++i)
        a.on_datagram(flow.from_client(garbage, kSecond), weirds);
    CHECK(weirds.count(kWeirdGaveUp) == 1);
    const auto before = result.messages;
    a.on_datagram(flow.from_client(make_query(3, "ignored.example", kTypeA), kSecond), weirds);
    CHECK(result.messages == before);
}

TEST_CASE("dns udp: limits on transactions, answers and names") {
    DnsResult result;
    Weirds weirds;
    DnsUdpAnalyzer a(result);
    UdpFlow flow(6, ep(8, 1025), ep(20, 53));

    SUBCASE("answers per transaction") {
        std::vector<std::array<std::uint8_t, 4>> addrs;
        for (std::uint8_t i = 0; i < 20; ++i)
            addrs.push_back({10, 0, 0, i});
        a.on_datagram(flow.from_client(make_query(1, "fastflux.example", kTypeA), kSecond), weirds);
        a.on_datagram(flow.from_server(make_a_response(1, "fastflux.example", addrs), kSecond),
                      weirds);
        REQUIRE(result.transactions.size() == 1);
        CHECK(result.transactions[0].answers.size() == kMaxAnswersPerTransaction);
        CHECK(result.transactions[0].answers_dropped == 20 - kMaxAnswersPerTransaction);
        CHECK(result.answers_dropped == 20 - kMaxAnswersPerTransaction);
        CHECK(weirds.count(kWeirdAnswerLimit) == 1);
        // The summary keeps its own bounded address list from every answer.
        REQUIRE(result.names.size() == 1);
        CHECK(result.names[0].addresses.size() == kMaxAddressesPerName);
        CHECK(result.names[0].addresses_truncated);
    }
    SUBCASE("transactions and distinct names") {
        const std::size_t n = kMaxTransactions + 5;
        for (std::size_t i = 0; i < n; ++i) {
            auto name = "h" + std::to_string(i) + ".dga.example";
            a.on_datagram(flow.from_client(make_query(static_cast<std::uint16_t>(i), name, kTypeA),
                                           static_cast<Timestamp>(i)),
                          weirds);
        }
        CHECK(result.transactions.size() == kMaxTransactions);
        CHECK(result.dropped == 5);
        CHECK(weirds.count(kWeirdRecordLimit) == 5);
        CHECK(result.names.size() == kMaxNames);
        CHECK(result.names_dropped == n - kMaxNames);
        CHECK(weirds.count(kWeirdNameSummaryLimit) == n - kMaxNames);
        CHECK(result.queries == n);
    }
}

// ---------------------------------------------------------------------------------------------
// TCP analyzer

namespace {

struct TcpFixture {
    DnsResult result;
    Weirds weirds;
    AnalyzerContext ctx;

    TcpFixture() {
        ctx.flow.id = 11;
        ctx.flow.transport = Transport::kTcp;
        ctx.flow.orig = ep(8, 40001);
        ctx.flow.resp = ep(20, 53);
        ctx.weirds = &weirds;
    }
};

/// Feeds `bytes` in pieces cut at `cuts`, each piece from its own heap buffer.
void feed(StreamAnalyzer& a, Direction dir, const std::vector<std::uint8_t>& bytes,
          std::vector<std::size_t> cuts, Timestamp ts) {
    std::size_t start = 0;
    cuts.push_back(bytes.size());
    for (std::size_t cut : cuts) {
        if (cut < start)
            continue;
        auto piece = std::make_unique<std::uint8_t[]>(cut - start + 1);
        std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(start),
                  bytes.begin() + static_cast<std::ptrdiff_t>(cut), piece.get());
        a.on_data(dir, std::span<const std::uint8_t>(piece.get(), cut - start), ts);
        start = cut;
    }
}

}  // namespace

TEST_CASE("dns tcp: a query and response split at every byte position") {
    // Two queries back to back in one direction, so a split can also fall between frames.
    auto q1 = framed(make_query(0xBEEF, "axfr.example", 252));
    auto q2 = framed(make_query(0xBEF0, "txt.example", kTypeTxt));
    std::vector<std::uint8_t> client = q1;
    client.insert(client.end(), q2.begin(), q2.end());
    auto response = framed(make_a_response(0xBEEF, "axfr.example", {{7, 7, 7, 7}}));

    for (std::size_t cut = 0; cut <= client.size(); ++cut) {
        CAPTURE(cut);
        TcpFixture fx;
        DnsTcpAnalyzer a(fx.ctx, fx.result);
        feed(a, Direction::kOrig, client, {cut}, kSecond);
        feed(a, Direction::kResp, response, {cut < response.size() ? cut : 0}, 2 * kSecond);
        a.on_end(3 * kSecond);
        REQUIRE(fx.result.transactions.size() == 2);
        const auto& t = fx.result.transactions[0];
        CHECK(t.query == "axfr.example");
        CHECK(type_name(t.qtype) == "AXFR");
        CHECK(t.transport == Transport::kTcp);
        CHECK(t.client == ep(8, 40001));
        CHECK(t.answered);
        CHECK(*t.rtt() == kSecond);
        REQUIRE(t.answers.size() == 1);
        CHECK(t.answers[0].rdata == "7.7.7.7");
        CHECK(fx.result.transactions[1].query == "txt.example");
        CHECK_FALSE(fx.result.transactions[1].answered);
        CHECK(fx.weirds.entries().empty());
        CHECK_FALSE(a.gave_up());
    }

    TcpFixture fx;
    DnsTcpAnalyzer a(fx.ctx, fx.result);
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < client.size(); ++i)
        every.push_back(i);
    feed(a, Direction::kOrig, client, every, kSecond);
    a.on_end(2 * kSecond);
    CHECK(fx.result.transactions.size() == 2);
}

TEST_CASE("dns tcp: gaps, zero-length frames and a frame cut by the end") {
    TcpFixture fx;
    DnsTcpAnalyzer a(fx.ctx, fx.result);
    feed(a, Direction::kOrig, framed(make_query(1, "a.example", kTypeA)), {}, kSecond);

    SUBCASE("a gap loses the framing of that direction only") {
        auto q = framed(make_query(2, "b.example", kTypeA));
        feed(a, Direction::kOrig, q, {}, kSecond);
        // First half of a third query, a gap, then bytes that would misframe.
        auto q3 = framed(make_query(3, "c.example", kTypeA));
        q3.resize(9);
        feed(a, Direction::kOrig, q3, {}, kSecond);
        a.on_gap(Direction::kOrig, 100, kSecond);
        feed(a, Direction::kOrig, framed(make_query(4, "d.example", kTypeA)), {}, kSecond);
        feed(a, Direction::kResp, framed(make_a_response(2, "b.example", {{2, 2, 2, 2}})), {},
             kSecond);
        a.on_end(2 * kSecond);
        CHECK(fx.weirds.count(kWeirdTcpGap) == 1);
        REQUIRE(fx.result.transactions.size() == 2);
        CHECK(fx.result.transactions[1].answered);
        CHECK(fx.result.malformed == 0);
    }
    SUBCASE("zero-length frames are malformed, and 20 in a row make it give up") {
        std::vector<std::uint8_t> zeros(2 * kMaxConsecutiveInvalid, 0);
        feed(a, Direction::kOrig, zeros, {3, 7}, kSecond);
        CHECK(fx.weirds.count(kWeirdMalformed) == kMaxConsecutiveInvalid);
        CHECK(fx.weirds.count(kWeirdGaveUp) == 1);
        CHECK(a.gave_up());
        a.on_end(2 * kSecond);
    }
    SUBCASE("a frame cut by the end of the stream is reported and still paired") {
        auto q = framed(make_query(5, "cut.example", kTypeA));
        q.resize(q.size() - 1);
        feed(a, Direction::kOrig, q, {}, kSecond);
        a.on_end(2 * kSecond);
        CHECK(fx.weirds.count(kWeirdTruncatedMessage) == 1);
        REQUIRE(fx.result.transactions.size() == 2);
        CHECK(fx.result.transactions[1].query == "cut.example");
        CHECK(fx.result.transactions[1].malformed);
    }
}

TEST_CASE("dns tcp: probe") {
    FlowInfo flow;
    flow.transport = Transport::kTcp;
    flow.orig = ep(8, 40001);
    flow.resp = ep(20, 53);
    auto q = framed(make_query(1, "zone.example", 252));
    std::span<const std::uint8_t> qs(q);

    CHECK(probe(ProbeInput{qs, {}, &flow}) == ProbeResult::kMatch);
    CHECK(probe(ProbeInput{qs.first(1), {}, &flow}) == ProbeResult::kNeedMore);
    CHECK(probe(ProbeInput{qs.first(16), {}, &flow}) == ProbeResult::kNeedMore);
    CHECK(probe(ProbeInput{{}, {}, &flow}) == ProbeResult::kNeedMore);
    auto r = framed(make_a_response(1, "zone.example", {{1, 1, 1, 1}}));
    CHECK(probe(ProbeInput{{}, r, &flow}) == ProbeResult::kMatch);  // server spoke first

    std::string_view http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(probe(ProbeInput{botscope::util::as_bytes(http), {}, &flow}) == ProbeResult::kNoMatch);
    std::string_view irc = "NICK bot\r\nUSER bot 0 * :bot\r\n";
    CHECK(probe(ProbeInput{botscope::util::as_bytes(irc), {}, &flow}) == ProbeResult::kNoMatch);

    flow.resp.port = 6667;  // DNS framing on another port is not claimed over TCP
    CHECK(probe(ProbeInput{qs, {}, &flow}) == ProbeResult::kNoMatch);
    CHECK(probe(ProbeInput{qs, {}, nullptr}) == ProbeResult::kNoMatch);
}

}  // namespace test_dns
