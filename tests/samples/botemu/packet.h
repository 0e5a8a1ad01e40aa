#pragma once
// Raw IPv4 packets for the flood commands, built whole (IP header included, IP_HDRINCL) with
// correct IPv4, TCP, UDP and ICMP checksums (RFC 791, 793, 768, 792; sums per RFC 1071), so
// that the capture shows well-formed floods. Pure: bytes out, nothing sent here.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bounds.h"

namespace botscope::botemu {

using Bytes = std::vector<std::uint8_t>;

/// The RFC 1071 checksum of `data`: the one's complement of the one's-complement sum of its
/// 16-bit big-endian words (an odd last byte padded with zero). `partial` is a running sum to
/// start from (the pseudo-header's, see pseudo_header_sum).
std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t partial = 0);

/// The one's-complement sum (unfolded) of the TCP/UDP pseudo-header.
std::uint32_t pseudo_header_sum(Ipv4 src, Ipv4 dst, std::uint8_t protocol, std::size_t length);

/// The IPv4 header fields a flood varies. The header always has IHL 5, TOS 0 and DF set.
struct IpFields {
    Ipv4 src = 0;
    Ipv4 dst = 0;
    std::uint16_t id = 0;
    std::uint8_t ttl = 128;  ///< Windows XP's default
};

/// A TCP SYN without options.
Bytes build_tcp_syn(const IpFields& ip, std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                    std::uint16_t window);
/// A UDP datagram; a computed checksum of 0 is sent as 0xFFFF (RFC 768).
Bytes build_udp(const IpFields& ip, std::uint16_t sport, std::uint16_t dport,
                std::span<const std::uint8_t> payload);
/// An ICMP echo request.
Bytes build_icmp_echo(const IpFields& ip, std::uint16_t ident, std::uint16_t seq,
                      std::span<const std::uint8_t> payload);

/// Source and destination of a packet these functions built; nullopt when `packet` is not a
/// 20-byte-header IPv4 packet whose total length matches its size. The raw sender checks both
/// against the sandbox before it sends.
struct PacketAddresses {
    Ipv4 src = 0;
    Ipv4 dst = 0;
};
std::optional<PacketAddresses> packet_addresses(std::span<const std::uint8_t> packet);

}  // namespace botscope::botemu
