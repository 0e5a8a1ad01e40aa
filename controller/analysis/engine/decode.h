#pragma once
// Link, network and transport decoding of one captured frame, without copying.
//
// Link types: Ethernet (with 802.1Q/802.1ad tags, up to kMaxVlanTags), Linux cooked SLL and
// SLL2, raw IP (DLT 101, 12, 14 and LINKTYPE_IPV4/IPV6), BSD loopback (NULL, either byte order)
// and OpenBSD LOOP. IPv4 and IPv6 (extension headers walked, at most kMaxIpv6ExtHeaders).
// Fragments are reported as such; ip_reassembly.h puts them back together. Checksums are not
// verified: a bad checksum is common in captures taken on the sending host (offload) and is no
// reason to drop a packet.

#include <cstdint>
#include <span>

#include "analysis/types.h"

namespace botscope::analysis {

inline constexpr int kMaxVlanTags = 4;
inline constexpr int kMaxIpv6ExtHeaders = 8;

/// libpcap LINKTYPE_ values this decoder understands.
enum LinkType : int {
    kLinkNull = 0,
    kLinkEthernet = 1,
    kLinkRawAlt12 = 12,
    kLinkRawAlt14 = 14,
    kLinkRaw = 101,
    kLinkLoop = 108,
    kLinkSll = 113,
    kLinkIpv4 = 228,
    kLinkIpv6 = 229,
    kLinkSll2 = 276,
};

bool link_type_supported(int link_type);
const char* link_type_name(int link_type);

enum class DecodeStatus : std::uint8_t {
    kOk,
    kNotIp,      // ARP, LLC, other ethertypes: counted, not analysed
    kTruncated,  // the captured bytes end inside a header
    kMalformed,  // a header contradicts itself (bad version, length below header size)
    kFragment,   // an IP fragment: see `frag`
};

struct FragmentInfo {
    std::uint32_t id = 0;
    std::uint32_t offset = 0;  // in bytes
    bool more = false;
    std::uint8_t next_proto = 0;
    std::span<const std::uint8_t> data;  // this fragment's payload (captured part)
};

/// Everything the engine needs from one packet. Spans point into the frame.
struct PacketView {
    std::uint16_t vlan = 0;
    IpAddress src;
    IpAddress dst;
    std::uint8_t ip_proto = 0;
    std::uint8_t ttl = 0;
    std::uint32_t ip_len = 0;  // IP datagram length from the header (wire size)
    Transport transport = Transport::kOther;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    // TCP
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t tcp_flags = 0;
    std::uint16_t window = 0;
    // ICMP
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
    std::uint16_t icmp_id = 0;
    /// Transport payload as captured (may be shorter than payload_len when the snap length cut
    /// the packet).
    std::span<const std::uint8_t> payload;
    /// Transport payload length according to the headers.
    std::uint32_t payload_len = 0;
    FragmentInfo frag;
};

inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpPsh = 0x08;
inline constexpr std::uint8_t kTcpAck = 0x10;

/// Decodes a frame of the given link type down to the transport payload.
DecodeStatus decode_frame(int link_type, std::span<const std::uint8_t> frame, PacketView& out);

/// Decodes an IPv4 or IPv6 packet starting at its first byte (used after reassembly too).
DecodeStatus decode_ip(std::span<const std::uint8_t> ip, PacketView& out);

/// Decodes a transport header; `out.ip_proto`, addresses and lengths must be set.
/// `wire_len` is the transport segment's length per the IP header.
DecodeStatus decode_transport(std::span<const std::uint8_t> seg, std::uint32_t wire_len,
                              PacketView& out);

}  // namespace botscope::analysis
