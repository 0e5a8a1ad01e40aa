#include "analysis/engine/decode.h"

#include "util/byte_reader.h"

namespace botscope::analysis {

using util::ByteReader;

namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86DD;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88A8;
constexpr std::uint16_t kEtherQinQOld = 0x9100;

DecodeStatus decode_ethertype(std::uint16_t type, std::span<const std::uint8_t> rest,
                              PacketView& out) {
    switch (type) {
        case kEtherIpv4:
        case kEtherIpv6:
            return decode_ip(rest, out);
        default:
            return DecodeStatus::kNotIp;
    }
}

DecodeStatus decode_ethernet(std::span<const std::uint8_t> frame, PacketView& out) {
    ByteReader r(frame);
    r.skip(12);
    std::uint16_t type = r.u16be();
    for (int tags = 0;
         r.ok() && (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld); ++tags) {
        if (tags == kMaxVlanTags)
            return DecodeStatus::kMalformed;
        std::uint16_t tci = r.u16be();
        if (tags == 0)
            out.vlan = tci & 0x0fff;
        type = r.u16be();
    }
    if (!r.ok())
        return DecodeStatus::kTruncated;
    if (type < 0x0600)
        return DecodeStatus::kNotIp;  // 802.3 length field: LLC/SNAP
    return decode_ethertype(type, r.rest(), out);
}

// BSD loopback: a 4-byte address family in the capturing host's byte order.
DecodeStatus decode_null(std::span<const std::uint8_t> frame, PacketView& out, bool network_order) {
    ByteReader r(frame);
    std::uint32_t family = network_order ? r.u32be() : r.u32le();
    if (!r.ok())
        return DecodeStatus::kTruncated;
    if (!network_order && family > 0xffff)
        family = __builtin_bswap32(family);
    switch (family) {
        case 2:  // AF_INET everywhere
            return decode_ip(r.rest(), out);
        case 10:  // Linux
        case 24:  // NetBSD, OpenBSD
        case 28:  // FreeBSD
        case 30:  // macOS
            return decode_ip(r.rest(), out);
        default:
            return DecodeStatus::kNotIp;
    }
}

DecodeStatus decode_ipv4(std::span<const std::uint8_t> ip, PacketView& out) {
    ByteReader r(ip);
    std::uint8_t vihl = r.u8();
    r.skip(1);  // DSCP/ECN
    std::uint16_t total = r.u16be();
    std::uint16_t id = r.u16be();
    std::uint16_t frag = r.u16be();
    out.ttl = r.u8();
    out.ip_proto = r.u8();
    r.skip(2);  // checksum: not verified, see decode.h
    auto src = r.bytes(4);
    auto dst = r.bytes(4);
    if (!r.ok())
        return DecodeStatus::kTruncated;
    std::size_t ihl = std::size_t{vihl & 0x0fu} * 4;
    if ((vihl >> 4) != 4 || ihl < 20 || total < ihl)
        return DecodeStatus::kMalformed;
    out.src = IpAddress::from_v4(src.data());
    out.dst = IpAddress::from_v4(dst.data());
    out.ip_len = total;
    if (!r.seek(ihl))
        return DecodeStatus::kTruncated;
    // Trailing Ethernet padding lies beyond `total`; a snap length may cut before it.
    std::size_t avail = std::min<std::size_t>(ip.size(), total) - ihl;
    auto payload = ip.subspan(ihl, avail);
    std::uint32_t wire_len = total - static_cast<std::uint32_t>(ihl);

    bool more = (frag & 0x2000) != 0;
    std::uint32_t offset = std::uint32_t{frag & 0x1fffu} * 8;
    if (more || offset != 0) {
        out.frag.id = id;
        out.frag.offset = offset;
        out.frag.more = more;
        out.frag.next_proto = out.ip_proto;
        out.frag.data = payload;
        out.payload_len = wire_len;
        return DecodeStatus::kFragment;
    }
    return decode_transport(payload, wire_len, out);
}

DecodeStatus decode_ipv6(std::span<const std::uint8_t> ip, PacketView& out) {
    ByteReader r(ip);
    std::uint8_t v = r.u8();
    r.skip(3);
    std::uint16_t plen = r.u16be();
    std::uint8_t next = r.u8();
    out.ttl = r.u8();
    auto src = r.bytes(16);
    auto dst = r.bytes(16);
    if (!r.ok())
        return DecodeStatus::kTruncated;
    if ((v >> 4) != 6)
        return DecodeStatus::kMalformed;
    std::copy(src.begin(), src.end(), out.src.bytes.begin());
    std::copy(dst.begin(), dst.end(), out.dst.bytes.begin());
    out.src.v6 = out.dst.v6 = true;
    out.ip_len = 40u + plen;
    // Jumbograms (plen 0) are not expected in bot traffic; treat the captured rest as payload.
    std::size_t end = plen == 0 ? ip.size() : std::min<std::size_t>(ip.size(), 40u + plen);
    std::uint32_t wire_end = plen == 0 ? static_cast<std::uint32_t>(ip.size()) : 40u + plen;
    std::size_t pos = 40;
    bool fragmented = false;
    for (int i = 0; i <= kMaxIpv6ExtHeaders; ++i) {
        switch (next) {
            case 0:     // hop-by-hop
            case 43:    // routing
            case 60:    // destination options
            case 51: {  // AH: length in 4-byte units
                if (i == kMaxIpv6ExtHeaders)
                    return DecodeStatus::kMalformed;
                ByteReader h(ip.subspan(0, end));
                if (!h.seek(pos))
                    return DecodeStatus::kTruncated;
                std::uint8_t nh = h.u8();
                std::uint8_t len = h.u8();
                if (!h.ok())
                    return DecodeStatus::kTruncated;
                std::size_t hlen =
                    next == 51 ? (std::size_t{len} + 2) * 4 : (std::size_t{len} + 1) * 8;
                pos += hlen;
                if (pos > end)
                    return DecodeStatus::kTruncated;
                next = nh;
                continue;
            }
            case 44: {  // fragment
                ByteReader h(ip.subspan(0, end));
                if (!h.seek(pos))
                    return DecodeStatus::kTruncated;
                std::uint8_t nh = h.u8();
                h.skip(1);
                std::uint16_t off = h.u16be();
                std::uint32_t id = h.u32be();
                if (!h.ok())
                    return DecodeStatus::kTruncated;
                pos += 8;
                next = nh;
                std::uint32_t offset = std::uint32_t{off & 0xfff8u};
                bool more = (off & 1) != 0;
                if (offset == 0 && !more)
                    continue;  // atomic fragment: a whole packet
                out.ip_proto = nh;
                out.frag.id = id;
                out.frag.offset = offset;
                out.frag.more = more;
                out.frag.next_proto = nh;
                out.frag.data = ip.subspan(pos, end - pos);
                out.payload_len = wire_end - static_cast<std::uint32_t>(pos);
                fragmented = true;
                break;
            }
            default:
                break;
        }
        break;
    }
    if (fragmented)
        return DecodeStatus::kFragment;
    out.ip_proto = next;
    if (pos > end)
        return DecodeStatus::kTruncated;
    return decode_transport(ip.subspan(pos, end - pos), wire_end - static_cast<std::uint32_t>(pos),
                            out);
}

}  // namespace

bool link_type_supported(int link_type) {
    switch (link_type) {
        case kLinkNull:
        case kLinkEthernet:
        case kLinkRawAlt12:
        case kLinkRawAlt14:
        case kLinkRaw:
        case kLinkLoop:
        case kLinkSll:
        case kLinkIpv4:
        case kLinkIpv6:
        case kLinkSll2:
            return true;
        default:
            return false;
    }
}

const char* link_type_name(int link_type) {
    switch (link_type) {
        case kLinkNull:
            return "null";
        case kLinkEthernet:
            return "ethernet";
        case kLinkRawAlt12:
        case kLinkRawAlt14:
        case kLinkRaw:
            return "raw";
        case kLinkLoop:
            return "loop";
        case kLinkSll:
            return "linux_sll";
        case kLinkIpv4:
            return "ipv4";
        case kLinkIpv6:
            return "ipv6";
        case kLinkSll2:
            return "linux_sll2";
        default:
            return "unsupported";
    }
}

DecodeStatus decode_ip(std::span<const std::uint8_t> ip, PacketView& out) {
    if (ip.empty())
        return DecodeStatus::kTruncated;
    switch (ip[0] >> 4) {
        case 4:
            return decode_ipv4(ip, out);
        case 6:
            return decode_ipv6(ip, out);
        default:
            return DecodeStatus::kMalformed;
    }
}

DecodeStatus decode_transport(std::span<const std::uint8_t> seg, std::uint32_t wire_len,
                              PacketView& out) {
    ByteReader r(seg);
    switch (out.ip_proto) {
        case 6: {
            out.transport = Transport::kTcp;
            out.sport = r.u16be();
            out.dport = r.u16be();
            out.seq = r.u32be();
            out.ack = r.u32be();
            std::uint8_t off = r.u8();
            out.tcp_flags = r.u8();
            out.window = r.u16be();
            if (!r.ok())
                return DecodeStatus::kTruncated;
            std::size_t hlen = static_cast<std::size_t>(off >> 4) * 4;
            if (hlen < 20 || hlen > wire_len)
                return DecodeStatus::kMalformed;
            if (hlen > seg.size())
                return DecodeStatus::kTruncated;
            out.payload = seg.subspan(hlen);
            out.payload_len = wire_len - static_cast<std::uint32_t>(hlen);
            return DecodeStatus::kOk;
        }
        case 17: {
            out.transport = Transport::kUdp;
            out.sport = r.u16be();
            out.dport = r.u16be();
            std::uint16_t ulen = r.u16be();
            r.skip(2);
            if (!r.ok())
                return DecodeStatus::kTruncated;
            // Trust the smaller of the UDP and IP lengths; a UDP length of 0 (jumbo) or
            // beyond the IP payload is common enough in odd captures to not drop them.
            std::uint32_t len = (ulen >= 8 && ulen <= wire_len) ? ulen : wire_len;
            if (len < 8)
                return DecodeStatus::kMalformed;
            std::size_t avail = std::min<std::size_t>(seg.size(), len) - 8;
            out.payload = seg.subspan(8, avail);
            out.payload_len = len - 8;
            return DecodeStatus::kOk;
        }
        case 1:
        case 58: {
            out.transport = out.ip_proto == 1 ? Transport::kIcmp : Transport::kIcmp6;
            out.icmp_type = r.u8();
            out.icmp_code = r.u8();
            r.skip(2);
            out.icmp_id = r.u16be();
            r.skip(2);
            if (!r.ok()) {
                if (seg.size() < 2)
                    return DecodeStatus::kTruncated;
                out.icmp_id = 0;
            }
            std::size_t hdr = std::min<std::size_t>(seg.size(), 8);
            out.payload = seg.subspan(hdr);
            out.payload_len = wire_len >= 8 ? wire_len - 8 : 0;
            return DecodeStatus::kOk;
        }
        default:
            out.transport = Transport::kOther;
            out.payload = seg;
            out.payload_len = wire_len;
            return DecodeStatus::kOk;
    }
}

DecodeStatus decode_frame(int link_type, std::span<const std::uint8_t> frame, PacketView& out) {
    switch (link_type) {
        case kLinkEthernet:
            return decode_ethernet(frame, out);
        case kLinkNull:
            return decode_null(frame, out, false);
        case kLinkLoop:
            return decode_null(frame, out, true);
        case kLinkRaw:
        case kLinkRawAlt12:
        case kLinkRawAlt14:
        case kLinkIpv4:
        case kLinkIpv6:
            return decode_ip(frame, out);
        case kLinkSll: {
            ByteReader r(frame);
            r.skip(14);
            std::uint16_t proto = r.u16be();
            if (!r.ok())
                return DecodeStatus::kTruncated;
            return decode_ethertype(proto, r.rest(), out);
        }
        case kLinkSll2: {
            ByteReader r(frame);
            std::uint16_t proto = r.u16be();
            r.skip(18);
            if (!r.ok())
                return DecodeStatus::kTruncated;
            return decode_ethertype(proto, r.rest(), out);
        }
        default:
            return DecodeStatus::kNotIp;
    }
}

}  // namespace botscope::analysis
