#include <doctest/doctest.h>

#include "analysis/engine/decode.h"
#include "analysis/engine/ip_reassembly.h"
#include "support/pcapgen.h"

namespace test_decode {

using namespace botscope::analysis;
using namespace botscope::testing;

namespace {

PacketView decode_one(const CaptureWriter& w, DecodeStatus expect = DecodeStatus::kOk) {
    PacketView p;
    REQUIRE(w.frames().size() == 1);
    CHECK(decode_frame(w.link_type(), w.frames()[0].data, p) == expect);
    return p;
}

}  // namespace

TEST_CASE("every supported link type decodes down to the TCP payload") {
    auto pkt = tcp_packet(ep("10.0.0.2", 1025), ep("10.0.0.1", 6667), 100, 200, kTcpAck | kTcpPsh,
                          bytes_of("NICK bot\r\n"));
    for (int lt : {kLinkEthernet, kLinkSll, kLinkSll2, kLinkRaw, kLinkNull, kLinkLoop, kLinkIpv4}) {
        CAPTURE(lt);
        CaptureWriter w(lt);
        w.add_ip(0, pkt);
        PacketView p = decode_one(w);
        CHECK(p.src.to_string() == "10.0.0.2");
        CHECK(p.dst.to_string() == "10.0.0.1");
        CHECK(p.transport == Transport::kTcp);
        CHECK(p.sport == 1025);
        CHECK(p.dport == 6667);
        CHECK(p.seq == 100);
        CHECK(p.ack == 200);
        CHECK(std::string(p.payload.begin(), p.payload.end()) == "NICK bot\r\n");
    }
}

TEST_CASE("IPv6 over Ethernet, SLL2, NULL and LINKTYPE_IPV6") {
    auto pkt = udp_packet(ep("2001:db8::2", 5353), ep("2001:db8::1", 53), bytes_of("q"));
    for (int lt : {kLinkEthernet, kLinkSll2, kLinkNull, kLinkIpv6}) {
        CAPTURE(lt);
        CaptureWriter w(lt);
        w.add_ip(0, pkt);
        PacketView p = decode_one(w);
        CHECK(p.src.v6);
        CHECK(p.dst.to_string() == "2001:db8::1");
        CHECK(p.transport == Transport::kUdp);
        CHECK(p.payload.size() == 1);
    }
}

TEST_CASE("802.1Q tags are stripped and the VLAN kept") {
    CaptureWriter w(kLinkEthernet);
    w.add_ip(0, udp_packet(ep("10.1.1.1", 1), ep("10.1.1.2", 2), bytes_of("x")), 42);
    PacketView p = decode_one(w);
    CHECK(p.vlan == 42);
    CHECK(p.transport == Transport::kUdp);
}

TEST_CASE("bad checksums are not a reason to drop a packet") {
    auto pkt = tcp_packet(ep("10.0.0.2", 1), ep("10.0.0.1", 2), 1, 1, kTcpAck, bytes_of("data"));
    pkt[10] ^= 0xff;  // IP checksum
    pkt[36] ^= 0xff;  // TCP checksum
    CaptureWriter w(kLinkRaw);
    w.add_ip(0, pkt);
    PacketView p = decode_one(w);
    CHECK(p.payload.size() == 4);
}

TEST_CASE("malformed and truncated headers are told apart, never read past the end") {
    auto pkt = tcp_packet(ep("10.0.0.2", 1), ep("10.0.0.1", 2), 1, 1, kTcpAck, bytes_of("data"));
    PacketView p;
    for (std::size_t n = 0; n < 40; ++n) {
        std::vector<std::uint8_t> cut(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(n));
        auto st = decode_frame(kLinkRaw, cut, p);
        CHECK(st != DecodeStatus::kOk);
    }
    auto bad = pkt;
    bad[0] = 0x44;  // IHL of 16 bytes
    CHECK(decode_frame(kLinkRaw, bad, p) == DecodeStatus::kMalformed);
    bad = pkt;
    bad[32] = 0x20;  // TCP data offset of 8 bytes
    CHECK(decode_frame(kLinkRaw, bad, p) == DecodeStatus::kMalformed);
}

TEST_CASE("non-IP frames are counted as such") {
    std::vector<std::uint8_t> arp(42, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    PacketView p;
    CHECK(decode_frame(kLinkEthernet, arp, p) == DecodeStatus::kNotIp);
}

TEST_CASE("IPv4 fragments reassemble in any order, with overlaps and bounds") {
    std::string payload(3000, 'p');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>('a' + i % 26);
    auto whole = udp_packet(ep("10.0.0.2", 4444), ep("10.0.0.1", 69), bytes_of(payload));
    whole[4] = 0x12;  // an IP id
    auto frags = fragment_ipv4(whole, 1480);
    REQUIRE(frags.size() == 3);

    IpReassembler r;
    std::vector<std::size_t> order = {2, 0, 1};
    IpReassembler::Result res;
    for (std::size_t i : order) {
        PacketView p;
        REQUIRE(decode_frame(kLinkRaw, frags[i], p) == DecodeStatus::kFragment);
        res = r.add(p, 0);
    }
    REQUIRE(res.outcome == IpReassembler::Outcome::kComplete);
    PacketView u;
    u.ip_proto = 17;
    REQUIRE(decode_transport(r.payload(), static_cast<std::uint32_t>(r.payload().size()), u) ==
            DecodeStatus::kOk);
    CHECK(u.dport == 69);
    CHECK(std::string(u.payload.begin(), u.payload.end()) == payload);
    CHECK(r.pending() == 0);

    // A fragment claiming an offset past 64 KiB is dropped, not allocated.
    auto evil = frags[1];
    evil[6] = 0x3f;
    evil[7] = 0xff;
    PacketView p;
    REQUIRE(decode_frame(kLinkRaw, evil, p) == DecodeStatus::kFragment);
    CHECK(r.add(p, 0).outcome == IpReassembler::Outcome::kDropped);

    // Incomplete datagrams expire.
    PacketView first;
    REQUIRE(decode_frame(kLinkRaw, frags[0], first) == DecodeStatus::kFragment);
    r.add(first, 0);
    CHECK(r.pending() == 1);
    r.expire(IpReassembler::kFragmentTimeout + 1);
    CHECK(r.pending() == 0);
}

}  // namespace test_decode
