#include "packet.h"

#include <algorithm>

namespace botscope::botemu {

namespace {

constexpr std::size_t kIpHeader = 20;
constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;

void put16(Bytes& b, std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v & 0xFF);
}

void put32(Bytes& b, std::size_t at, std::uint32_t v) {
    put16(b, at, static_cast<std::uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<std::uint16_t>(v & 0xFFFF));
}

std::uint32_t get32(std::span<const std::uint8_t> b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

// A packet of `transport_len` bytes after the IP header, with the header filled in and its
// checksum set; the caller writes the transport part and its checksum.
Bytes ip_packet(const IpFields& ip, std::uint8_t protocol, std::size_t transport_len) {
    Bytes p(kIpHeader + transport_len, 0);
    p[0] = 0x45;  // version 4, 5 words
    put16(p, 2, static_cast<std::uint16_t>(p.size()));
    put16(p, 4, ip.id);
    put16(p, 6, 0x4000);  // DF
    p[8] = ip.ttl;
    p[9] = protocol;
    put32(p, 12, ip.src);
    put32(p, 16, ip.dst);
    put16(p, 10, internet_checksum(std::span(p).first(kIpHeader)));
    return p;
}

}  // namespace

std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t partial) {
    std::uint64_t sum = partial;
    std::size_t i = 0;
    for (; i + 1 < data.size(); i += 2)
        sum += (std::uint32_t{data[i]} << 8) + data[i + 1];
    if (i < data.size())
        sum += std::uint32_t{data[i]} << 8;
    while (sum > 0xFFFF)
        sum = (sum >> 16) + (sum & 0xFFFF);
    return static_cast<std::uint16_t>(~sum & 0xFFFF);
}

std::uint32_t pseudo_header_sum(Ipv4 src, Ipv4 dst, std::uint8_t protocol, std::size_t length) {
    return (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + protocol +
           static_cast<std::uint32_t>(length);
}

Bytes build_tcp_syn(const IpFields& ip, std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                    std::uint16_t window) {
    constexpr std::size_t kTcpHeader = 20;
    Bytes p = ip_packet(ip, kProtoTcp, kTcpHeader);
    put16(p, kIpHeader, sport);
    put16(p, kIpHeader + 2, dport);
    put32(p, kIpHeader + 4, seq);
    p[kIpHeader + 12] = 5 << 4;  // data offset: no options
    p[kIpHeader + 13] = 0x02;    // SYN
    put16(p, kIpHeader + 14, window);
    auto segment = std::span(p).subspan(kIpHeader);
    put16(p, kIpHeader + 16,
          internet_checksum(segment, pseudo_header_sum(ip.src, ip.dst, kProtoTcp, kTcpHeader)));
    return p;
}

Bytes build_udp(const IpFields& ip, std::uint16_t sport, std::uint16_t dport,
                std::span<const std::uint8_t> payload) {
    const std::size_t len = 8 + payload.size();
    Bytes p = ip_packet(ip, kProtoUdp, len);
    put16(p, kIpHeader, sport);
    put16(p, kIpHeader + 2, dport);
    put16(p, kIpHeader + 4, static_cast<std::uint16_t>(len));
    std::copy(payload.begin(), payload.end(), p.begin() + kIpHeader + 8);
    auto datagram = std::span(p).subspan(kIpHeader);
    std::uint16_t sum =
        internet_checksum(datagram, pseudo_header_sum(ip.src, ip.dst, kProtoUdp, len));
    put16(p, kIpHeader + 6, sum == 0 ? 0xFFFF : sum);
    return p;
}

Bytes build_icmp_echo(const IpFields& ip, std::uint16_t ident, std::uint16_t seq,
                      std::span<const std::uint8_t> payload) {
    Bytes p = ip_packet(ip, kProtoIcmp, 8 + payload.size());
    p[kIpHeader] = 8;  // echo request, code 0
    put16(p, kIpHeader + 4, ident);
    put16(p, kIpHeader + 6, seq);
    std::copy(payload.begin(), payload.end(), p.begin() + kIpHeader + 8);
    put16(p, kIpHeader + 2, internet_checksum(std::span(p).subspan(kIpHeader)));
    return p;
}

std::optional<PacketAddresses> packet_addresses(std::span<const std::uint8_t> packet) {
    if (packet.size() < kIpHeader || packet[0] != 0x45 ||
        ((std::size_t{packet[2]} << 8) | packet[3]) != packet.size())
        return std::nullopt;
    return PacketAddresses{get32(packet, 12), get32(packet, 16)};
}

}  // namespace botscope::botemu
