// Raw flood packets: checksums against published examples and against the project's own,
// independently written packet builder (tests/support/pcapgen), which Wireshark reads as valid.

#include <doctest/doctest.h>

#include "packet.h"
#include "support/pcapgen.h"

namespace botscope::botemu::test_packet {

namespace {

constexpr Ipv4 kSrc = 0x0A420037u;  // 10.66.0.55 (a spoofed source)
constexpr Ipv4 kDst = 0x0A4200C8u;  // 10.66.0.200 ($TARGET)

IpFields fields() {
    return {kSrc, kDst, 0, 64};  // pcapgen's IP id and TTL
}

Bytes payload(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return b;
}

}  // namespace

TEST_CASE("packet: the checksum matches published examples") {
    // RFC 1071 section 3: the one's-complement sum of these bytes is 0xddf2.
    const Bytes rfc1071 = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(internet_checksum(rfc1071) == 0x220d);
    // A widely used IPv4 header example (checksum field zeroed): the checksum is 0xb861.
    Bytes header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                    0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK(internet_checksum(header) == 0xb861);
    header[10] = 0xb8;
    header[11] = 0x61;
    CHECK(internet_checksum(header) == 0);  // a correct header sums to zero
    // An odd length pads with a zero byte.
    CHECK(internet_checksum(Bytes{0x01}) == static_cast<std::uint16_t>(~0x0100));
    CHECK(internet_checksum(Bytes{}) == 0xFFFF);
}

TEST_CASE("packet: SYN, UDP and ICMP echo are byte for byte what pcapgen builds") {
    using testing::ep;
    const auto src = testing::ip("10.66.0.55"), dst = testing::ip("10.66.0.200");

    Bytes syn = build_tcp_syn(fields(), 40000, 80, 0x12345678u, 16384);
    CHECK(syn == testing::tcp_packet(ep("10.66.0.55", 40000), ep("10.66.0.200", 80), 0x12345678u, 0,
                                     0x02, {}, 16384));
    CHECK(syn.size() == 40);

    for (std::size_t n : {std::size_t{64}, std::size_t{65}, std::size_t{512}}) {
        Bytes data = payload(n);
        Bytes udp = build_udp(fields(), 1234, 53, data);
        CHECK_MESSAGE(
            udp == testing::udp_packet(ep("10.66.0.55", 1234), ep("10.66.0.200", 53), data), n);
        Bytes echo = build_icmp_echo(fields(), 0x0200, 7, data);
        CHECK_MESSAGE(echo == testing::icmp_echo(src, dst, false, 0x0200, 7, data), n);
    }
}

TEST_CASE("packet: headers and checksums verify on their own") {
    Bytes syn = build_tcp_syn({kSrc, kDst, 0xABCD, 128}, 1025, 445, 1, 65535);
    // IP header: version/IHL, DF, TTL, protocol, addresses, a checksum that sums to zero.
    CHECK(syn[0] == 0x45);
    CHECK(syn[6] == 0x40);
    CHECK(syn[8] == 128);
    CHECK(syn[9] == 6);
    CHECK(internet_checksum(std::span(syn).first(20)) == 0);
    // TCP: SYN only, and the checksum over pseudo-header and segment sums to zero.
    CHECK(syn[33] == 0x02);
    CHECK(internet_checksum(std::span(syn).subspan(20), pseudo_header_sum(kSrc, kDst, 6, 20)) == 0);

    Bytes udp = build_udp({kSrc, kDst, 1, 128}, 5, 6, payload(100));
    CHECK(internet_checksum(std::span(udp).subspan(20), pseudo_header_sum(kSrc, kDst, 17, 108)) ==
          0);
    Bytes echo = build_icmp_echo({kSrc, kDst, 1, 128}, 9, 9, payload(32));
    CHECK(echo[20] == 8);
    CHECK(internet_checksum(std::span(echo).subspan(20)) == 0);
}

TEST_CASE("packet: the raw sender reads back both addresses, and nothing from junk") {
    auto a = packet_addresses(build_udp(fields(), 1, 2, payload(64)));
    REQUIRE(a);
    CHECK(a->src == kSrc);
    CHECK(a->dst == kDst);
    Bytes syn = build_tcp_syn(fields(), 1, 2, 3, 4);
    CHECK(packet_addresses(std::span(syn).first(39)) == std::nullopt);  // length mismatch
    syn[0] = 0x46;
    CHECK_FALSE(packet_addresses(syn));  // options: not a packet built here
    CHECK_FALSE(packet_addresses(Bytes(10, 0x45)));
}

}  // namespace botscope::botemu::test_packet
