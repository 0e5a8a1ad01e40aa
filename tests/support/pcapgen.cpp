#include "support/pcapgen.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace botscope::testing {

using namespace botscope::analysis;

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

namespace {

void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v));
}
void put16le(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32le(Bytes& b, std::uint32_t v) {
    put16le(b, static_cast<std::uint16_t>(v));
    put16le(b, static_cast<std::uint16_t>(v >> 16));
}
void put32x(Bytes& b, std::uint32_t v, bool be) {
    be ? put32(b, v) : put32le(b, v);
}
void put16x(Bytes& b, std::uint16_t v, bool be) {
    be ? put16(b, v) : put16le(b, v);
}

std::uint32_t sum16(std::span<const std::uint8_t> d, std::uint32_t acc = 0) {
    for (std::size_t i = 0; i + 1 < d.size(); i += 2)
        acc += (std::uint32_t{d[i]} << 8) | d[i + 1];
    if (d.size() % 2)
        acc += std::uint32_t{d.back()} << 8;
    return acc;
}
std::uint16_t fold(std::uint32_t acc) {
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc);
}

// Transport checksum over the pseudo-header of either IP version.
std::uint16_t l4_checksum(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                          std::span<const std::uint8_t> seg) {
    std::size_t alen = src.v6 ? 16 : 4;
    std::uint32_t acc = sum16({src.bytes.data(), alen});
    acc = sum16({dst.bytes.data(), alen}, acc);
    acc += proto;
    acc += static_cast<std::uint32_t>(seg.size());
    return fold(sum16(seg, acc));
}

Bytes mac_for(const IpAddress& a) {
    return {
        0x52, 0x54, 0x00, a.bytes[a.v6 ? 13 : 1], a.bytes[a.v6 ? 14 : 2], a.bytes[a.v6 ? 15 : 3]};
}

}  // namespace

IpAddress ip(std::string_view text) {
    IpAddress a;
    if (!IpAddress::parse(text, a)) {
        std::fprintf(stderr, "pcapgen: bad address literal '%.*s'\n", static_cast<int>(text.size()),
                     text.data());
        std::abort();
    }
    return a;
}

Bytes ip_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                std::span<const std::uint8_t> payload, std::uint16_t ip_id, std::uint8_t ttl) {
    Bytes b;
    if (src.v6) {
        put32(b, 0x60000000);
        put16(b, static_cast<std::uint16_t>(payload.size()));
        b.push_back(proto);
        b.push_back(ttl);
        b.insert(b.end(), src.bytes.begin(), src.bytes.end());
        b.insert(b.end(), dst.bytes.begin(), dst.bytes.end());
    } else {
        b.push_back(0x45);
        b.push_back(0);
        put16(b, static_cast<std::uint16_t>(20 + payload.size()));
        put16(b, ip_id);
        put16(b, 0x4000);  // don't fragment
        b.push_back(ttl);
        b.push_back(proto);
        put16(b, 0);
        b.insert(b.end(), src.bytes.begin(), src.bytes.begin() + 4);
        b.insert(b.end(), dst.bytes.begin(), dst.bytes.begin() + 4);
        std::uint16_t c = fold(sum16({b.data(), 20}));
        b[10] = static_cast<std::uint8_t>(c >> 8);
        b[11] = static_cast<std::uint8_t>(c);
    }
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

Bytes tcp_packet(const Endpoint& src, const Endpoint& dst, std::uint32_t seq, std::uint32_t ack,
                 std::uint8_t flags, std::span<const std::uint8_t> payload, std::uint16_t window) {
    Bytes t;
    put16(t, src.port);
    put16(t, dst.port);
    put32(t, seq);
    put32(t, ack);
    t.push_back(5 << 4);
    t.push_back(flags);
    put16(t, window);
    put16(t, 0);
    put16(t, 0);
    t.insert(t.end(), payload.begin(), payload.end());
    std::uint16_t c = l4_checksum(src.addr, dst.addr, 6, t);
    t[16] = static_cast<std::uint8_t>(c >> 8);
    t[17] = static_cast<std::uint8_t>(c);
    return ip_packet(src.addr, dst.addr, 6, t);
}

Bytes udp_packet(const Endpoint& src, const Endpoint& dst, std::span<const std::uint8_t> payload) {
    Bytes u;
    put16(u, src.port);
    put16(u, dst.port);
    put16(u, static_cast<std::uint16_t>(8 + payload.size()));
    put16(u, 0);
    u.insert(u.end(), payload.begin(), payload.end());
    std::uint16_t c = l4_checksum(src.addr, dst.addr, 17, u);
    if (c == 0)
        c = 0xffff;
    u[6] = static_cast<std::uint8_t>(c >> 8);
    u[7] = static_cast<std::uint8_t>(c);
    return ip_packet(src.addr, dst.addr, 17, u);
}

Bytes icmp_echo(const IpAddress& src, const IpAddress& dst, bool reply, std::uint16_t id,
                std::uint16_t seq, std::span<const std::uint8_t> payload) {
    Bytes m;
    bool v6 = src.v6;
    m.push_back(v6 ? (reply ? 129 : 128) : (reply ? 0 : 8));
    m.push_back(0);
    put16(m, 0);
    put16(m, id);
    put16(m, seq);
    m.insert(m.end(), payload.begin(), payload.end());
    std::uint16_t c = v6 ? l4_checksum(src, dst, 58, m) : fold(sum16(m));
    m[2] = static_cast<std::uint8_t>(c >> 8);
    m[3] = static_cast<std::uint8_t>(c);
    return ip_packet(src, dst, v6 ? 58 : 1, m);
}

std::vector<Bytes> fragment_ipv4(const Bytes& packet, std::size_t chunk) {
    std::size_t ihl = std::size_t{packet[0] & 0x0fu} * 4;
    std::span<const std::uint8_t> payload(packet.data() + ihl, packet.size() - ihl);
    std::vector<Bytes> out;
    for (std::size_t off = 0; off < payload.size(); off += chunk) {
        std::size_t len = std::min(chunk, payload.size() - off);
        Bytes f(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(ihl));
        std::uint16_t total = static_cast<std::uint16_t>(ihl + len);
        f[2] = static_cast<std::uint8_t>(total >> 8);
        f[3] = static_cast<std::uint8_t>(total);
        std::uint16_t field = static_cast<std::uint16_t>(off / 8);
        if (off + len < payload.size())
            field |= 0x2000;
        f[6] = static_cast<std::uint8_t>(field >> 8);
        f[7] = static_cast<std::uint8_t>(field);
        f[10] = f[11] = 0;
        std::uint16_t c = fold(sum16({f.data(), ihl}));
        f[10] = static_cast<std::uint8_t>(c >> 8);
        f[11] = static_cast<std::uint8_t>(c);
        f.insert(f.end(), payload.begin() + static_cast<std::ptrdiff_t>(off),
                 payload.begin() + static_cast<std::ptrdiff_t>(off + len));
        out.push_back(std::move(f));
    }
    return out;
}

Bytes dns_name(std::string_view name) {
    Bytes b;
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string_view::npos)
            dot = name.size();
        b.push_back(static_cast<std::uint8_t>(dot - start));
        b.insert(b.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                 name.begin() + static_cast<std::ptrdiff_t>(dot));
        start = dot + 1;
    }
    b.push_back(0);
    return b;
}

Bytes dns_message(std::uint16_t id, std::uint16_t flags, std::string_view qname,
                  std::uint16_t qtype, const std::vector<DnsRecord>& answers) {
    Bytes b;
    put16(b, id);
    put16(b, flags);
    put16(b, 1);
    put16(b, static_cast<std::uint16_t>(answers.size()));
    put16(b, 0);
    put16(b, 0);
    Bytes n = dns_name(qname);
    b.insert(b.end(), n.begin(), n.end());
    put16(b, qtype);
    put16(b, 1);
    for (const DnsRecord& r : answers) {
        put16(b, 0xc00c);
        put16(b, r.type);
        put16(b, 1);
        put32(b, r.ttl);
        put16(b, static_cast<std::uint16_t>(r.rdata.size()));
        b.insert(b.end(), r.rdata.begin(), r.rdata.end());
    }
    return b;
}

Bytes CaptureWriter::link_header(std::span<const std::uint8_t> packet, std::uint16_t vlan) const {
    bool v6 = !packet.empty() && (packet[0] >> 4) == 6;
    std::uint16_t ethertype = v6 ? 0x86DD : 0x0800;
    Bytes h;
    switch (link_type_) {
        case kLinkEthernet: {
            IpAddress s, d;
            if (v6 && packet.size() >= 40) {
                std::copy(packet.begin() + 8, packet.begin() + 24, s.bytes.begin());
                std::copy(packet.begin() + 24, packet.begin() + 40, d.bytes.begin());
                s.v6 = d.v6 = true;
            } else if (packet.size() >= 20) {
                s = IpAddress::from_v4(packet.data() + 12);
                d = IpAddress::from_v4(packet.data() + 16);
            }
            h = mac_for(d);
            Bytes sm = mac_for(s);
            h.insert(h.end(), sm.begin(), sm.end());
            if (vlan) {
                put16(h, 0x8100);
                put16(h, vlan);
            }
            put16(h, ethertype);
            break;
        }
        case kLinkSll:
            put16(h, 0);  // sent to us
            put16(h, 1);  // ARPHRD_ETHER
            put16(h, 6);
            for (std::uint8_t b : {0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00})
                h.push_back(b);
            put16(h, ethertype);
            break;
        case kLinkSll2:
            put16(h, ethertype);
            put16(h, 0);
            put32(h, 2);  // interface index
            put16(h, 1);
            h.push_back(0);
            h.push_back(6);
            for (std::uint8_t b : {0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00})
                h.push_back(b);
            break;
        case kLinkNull:
            put32le(h, v6 ? 30 : 2);  // written on a little-endian host
            break;
        case kLinkLoop:
            put32(h, v6 ? 24 : 2);
            break;
        default:  // raw IP link types carry no header
            break;
    }
    return h;
}

void CaptureWriter::add_ip(Timestamp ts, std::span<const std::uint8_t> packet, std::uint16_t vlan) {
    Frame f;
    f.ts = ts;
    f.data = link_header(packet, vlan);
    f.data.insert(f.data.end(), packet.begin(), packet.end());
    f.wire_len = static_cast<std::uint32_t>(f.data.size());
    frames_.push_back(std::move(f));
}

void CaptureWriter::add_frame(Timestamp ts, std::span<const std::uint8_t> frame,
                              std::uint32_t wire_len) {
    Frame f;
    f.ts = ts;
    f.data.assign(frame.begin(), frame.end());
    f.wire_len = wire_len ? wire_len : static_cast<std::uint32_t>(frame.size());
    frames_.push_back(std::move(f));
}

Bytes CaptureWriter::bytes(FileFormat format) const {
    Bytes b;
    if (format == FileFormat::kPcapng) {
        // Section header block.
        put32le(b, 0x0A0D0D0A);
        put32le(b, 28);
        put32le(b, 0x1A2B3C4D);
        put16le(b, 1);
        put16le(b, 0);
        put32le(b, 0xffffffff);
        put32le(b, 0xffffffff);
        put32le(b, 28);
        // Interface description block with if_tsresol = 9 (nanoseconds).
        put32le(b, 1);
        put32le(b, 32);
        put16le(b, static_cast<std::uint16_t>(link_type_));
        put16le(b, 0);
        put32le(b, snaplen_);
        put16le(b, 9);
        put16le(b, 1);
        b.push_back(9);
        b.push_back(0), b.push_back(0), b.push_back(0);
        put32le(b, 0);  // opt_endofopt
        put32le(b, 32);
        for (const auto& f : frames_) {
            std::uint32_t cap =
                std::min<std::uint32_t>(static_cast<std::uint32_t>(f.data.size()), snaplen_);
            std::uint32_t padded = (cap + 3) & ~3u;
            std::uint32_t len = 32 + padded;
            auto ts = static_cast<std::uint64_t>(f.ts);
            put32le(b, 6);
            put32le(b, len);
            put32le(b, 0);
            put32le(b, static_cast<std::uint32_t>(ts >> 32));
            put32le(b, static_cast<std::uint32_t>(ts));
            put32le(b, cap);
            put32le(b, f.wire_len);
            b.insert(b.end(), f.data.begin(), f.data.begin() + cap);
            b.resize(b.size() + (padded - cap), 0);
            put32le(b, len);
        }
        return b;
    }
    bool be = format == FileFormat::kPcapBeUsec || format == FileFormat::kPcapBeNsec;
    bool ns = format == FileFormat::kPcapLeNsec || format == FileFormat::kPcapBeNsec;
    put32x(b, ns ? 0xa1b23c4d : 0xa1b2c3d4, be);
    put16x(b, 2, be);
    put16x(b, 4, be);
    put32x(b, 0, be);
    put32x(b, 0, be);
    put32x(b, snaplen_, be);
    put32x(b, static_cast<std::uint32_t>(link_type_), be);
    for (const auto& f : frames_) {
        std::uint32_t cap =
            std::min<std::uint32_t>(static_cast<std::uint32_t>(f.data.size()), snaplen_);
        put32x(b, static_cast<std::uint32_t>(f.ts / kSecond), be);
        auto frac = static_cast<std::uint32_t>(f.ts % kSecond);
        put32x(b, ns ? frac : frac / 1000, be);
        put32x(b, cap, be);
        put32x(b, f.wire_len, be);
        b.insert(b.end(), f.data.begin(), f.data.begin() + cap);
    }
    return b;
}

void CaptureWriter::write(const std::filesystem::path& path, FileFormat format) const {
    Bytes b = bytes(format);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out)
        throw std::runtime_error("pcapgen: cannot write " + path.string());
}

PcapStreamWriter::PcapStreamWriter(const std::filesystem::path& path) {
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_)
        throw std::runtime_error("pcapgen: cannot write " + path.string());
    Bytes h;
    put32le(h, 0xa1b2c3d4);
    put16le(h, 2);
    put16le(h, 4);
    put32le(h, 0);
    put32le(h, 0);
    put32le(h, 262144);
    put32le(h, kLinkEthernet);
    std::fwrite(h.data(), 1, h.size(), f_);
    written_ = h.size();
}

PcapStreamWriter::~PcapStreamWriter() {
    if (f_)
        std::fclose(f_);
}

void PcapStreamWriter::add_ip(Timestamp ts, std::span<const std::uint8_t> packet) {
    CaptureWriter eth(kLinkEthernet);
    eth.add_ip(ts, packet);
    const Frame& f = eth.frames().front();
    Bytes h;
    put32le(h, static_cast<std::uint32_t>(ts / kSecond));
    put32le(h, static_cast<std::uint32_t>((ts % kSecond) / 1000));
    put32le(h, static_cast<std::uint32_t>(f.data.size()));
    put32le(h, static_cast<std::uint32_t>(f.data.size()));
    std::fwrite(h.data(), 1, h.size(), f_);
    std::fwrite(f.data.data(), 1, f.data.size(), f_);
    written_ += h.size() + f.data.size();
}

TcpConversation::TcpConversation(CaptureWriter& w, Endpoint client, Endpoint server,
                                 Timestamp start, std::uint32_t client_isn,
                                 std::uint32_t server_isn)
    : w_(w), client_(client), server_(server), now_(start), isn_{client_isn, server_isn} {}

std::uint32_t TcpConversation::seq(Direction d, std::uint64_t off) const {
    return isn_[static_cast<int>(d)] + 1 + static_cast<std::uint32_t>(off);
}

std::uint32_t TcpConversation::ack_for(Direction d) const {
    // What `d` acknowledges: everything the other side sent so far.
    Direction o = analysis::opposite(d);
    return seq(o, sent_[static_cast<int>(o)]);
}

void TcpConversation::put(const Bytes& packet) {
    w_.add_ip(now_, packet);
    now_ += step_;
}

void TcpConversation::handshake() {
    put(tcp_packet(client_, server_, isn_[0], 0, kTcpSyn, {}));
    put(tcp_packet(server_, client_, isn_[1], isn_[0] + 1, kTcpSyn | kTcpAck, {}));
    put(tcp_packet(client_, server_, isn_[0] + 1, isn_[1] + 1, kTcpAck, {}));
}

Bytes TcpConversation::segment(Direction dir, std::uint64_t off, std::string_view data,
                               std::uint8_t flags) const {
    return tcp_packet(src(dir), dst(dir), seq(dir, off), ack_for(dir), flags, bytes_of(data));
}

void TcpConversation::send(Direction dir, std::string_view data) {
    put(segment(dir, sent_[static_cast<int>(dir)], data));
    sent_[static_cast<int>(dir)] += data.size();
    Direction o = analysis::opposite(dir);
    put(tcp_packet(src(o), dst(o), seq(o, sent_[static_cast<int>(o)]), ack_for(o), kTcpAck, {}));
}

void TcpConversation::send_segments(Direction dir, std::string_view data, std::size_t seg_size) {
    for (std::size_t i = 0; i < data.size(); i += seg_size)
        send(dir, data.substr(i, seg_size));
}

void TcpConversation::skip(Direction dir, std::size_t len) {
    sent_[static_cast<int>(dir)] += len;
}

void TcpConversation::close() {
    auto fin = [this](Direction d) {
        put(tcp_packet(src(d), dst(d), seq(d, sent_[static_cast<int>(d)]), ack_for(d),
                       kTcpFin | kTcpAck, {}));
        sent_[static_cast<int>(d)] += 1;  // the FIN takes a sequence number
    };
    fin(Direction::kOrig);
    fin(Direction::kResp);
    put(tcp_packet(client_, server_, seq(Direction::kOrig, sent_[0]), ack_for(Direction::kOrig),
                   kTcpAck, {}));
}

void TcpConversation::reset(Direction from) {
    put(tcp_packet(src(from), dst(from), seq(from, sent_[static_cast<int>(from)]), 0, kTcpRst, {}));
}

Timestamp http_page_requests(CaptureWriter& w, const IpAddress& client, const Endpoint& server,
                             Timestamp start, std::size_t requests) {
    constexpr std::size_t kConns = 20;
    Timestamp t = start;
    for (std::size_t c = 0; c < kConns; ++c) {
        TcpConversation conn(w, {client, static_cast<std::uint16_t>(3000 + c)}, server, t);
        conn.handshake();
        for (std::size_t r = c; r < requests; r += kConns) {
            conn.send(Direction::kOrig, "GET /p HTTP/1.1\r\nHost: web.example\r\n\r\n");
            conn.send(Direction::kResp, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
        conn.close();
        t = conn.now() + kMilli;
    }
    return t;
}

void set_file_facts(analysis::CaptureInfo& capture, FileFormat format) {
    const bool big = format == FileFormat::kPcapBeUsec || format == FileFormat::kPcapBeNsec;
    const bool nano = format != FileFormat::kPcapLeUsec && format != FileFormat::kPcapBeUsec;
    capture.format = format == FileFormat::kPcapng ? "pcapng" : "pcap";
    capture.byte_order = big ? "big-endian" : "little-endian";
    capture.ts_precision = nano ? "nanosecond" : "microsecond";
}

}  // namespace botscope::testing
