#pragma once
// Builds packets and writes capture files: the project's own fixtures (tests, demo, bench)
// come from here, never from copied captures. Checksums are computed correctly so that other
// tools (tcpdump, Wireshark) read the files as real traffic.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/engine/decode.h"
#include "analysis/network_result.h"
#include "analysis/types.h"

namespace botscope::testing {

using analysis::Direction;
using analysis::Endpoint;
using analysis::IpAddress;
using analysis::Timestamp;
using Bytes = std::vector<std::uint8_t>;

inline constexpr Timestamp kSecond = 1'000'000'000;
inline constexpr Timestamp kMilli = 1'000'000;
/// 2006-01-01 00:00:00 UTC, where the tests' captures start.
inline constexpr Timestamp kT0 = 1'136'073'600 * kSecond;

/// Appends `v` in network byte order.
void put16(Bytes& b, std::uint16_t v);

/// "10.0.0.1" or "2001:db8::1"; aborts on malformed text (tests only pass literals).
IpAddress ip(std::string_view text);
inline Endpoint ep(std::string_view addr, std::uint16_t port) {
    return {ip(addr), port};
}

inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// A whole IPv4 or IPv6 packet around `payload` (IPv6 when the addresses are).
Bytes ip_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                std::span<const std::uint8_t> payload, std::uint16_t ip_id = 0,
                std::uint8_t ttl = 64);
Bytes tcp_packet(const Endpoint& src, const Endpoint& dst, std::uint32_t seq, std::uint32_t ack,
                 std::uint8_t flags, std::span<const std::uint8_t> payload,
                 std::uint16_t window = 65535);
Bytes udp_packet(const Endpoint& src, const Endpoint& dst, std::span<const std::uint8_t> payload);
Bytes icmp_echo(const IpAddress& src, const IpAddress& dst, bool reply, std::uint16_t id,
                std::uint16_t seq, std::span<const std::uint8_t> payload);
/// Splits an IPv4 packet into fragments carrying at most `chunk` payload bytes (a multiple
/// of 8).
std::vector<Bytes> fragment_ipv4(const Bytes& packet, std::size_t chunk);

/// A DNS name in wire form (uncompressed labels).
Bytes dns_name(std::string_view name);

/// One answer record for dns_message: it names the question (a compression pointer).
struct DnsRecord {
    std::uint16_t type = 1;  // A
    std::uint32_t ttl = 300;
    Bytes rdata;
};

/// A DNS message with one question (class IN) and the given answers.
Bytes dns_message(std::uint16_t id, std::uint16_t flags, std::string_view qname,
                  std::uint16_t qtype, const std::vector<DnsRecord>& answers = {});

enum class FileFormat { kPcapLeUsec, kPcapBeUsec, kPcapLeNsec, kPcapBeNsec, kPcapng };

struct Frame {
    Timestamp ts = 0;
    Bytes data;
    std::uint32_t wire_len = 0;
};

/// What analyze-pcap reads from a capture file's header (pcap_source.cpp), for a result an
/// Engine made from frames in memory: its report has no file format otherwise, which no report
/// botscope writes lacks.
void set_file_facts(analysis::CaptureInfo& capture, FileFormat format = FileFormat::kPcapLeUsec);

/// Collects frames of one link type and writes them in any supported file format.
class CaptureWriter {
public:
    explicit CaptureWriter(int link_type = analysis::kLinkEthernet) : link_type_(link_type) {}

    /// Wraps an IP packet in this writer's link header (with an 802.1Q tag when vlan != 0,
    /// Ethernet only).
    void add_ip(Timestamp ts, std::span<const std::uint8_t> packet, std::uint16_t vlan = 0);
    /// Adds a frame as is; wire_len 0 means the frame's size.
    void add_frame(Timestamp ts, std::span<const std::uint8_t> frame, std::uint32_t wire_len = 0);
    /// Frames longer than this are cut when written (as a capture with -s would).
    void set_snaplen(std::uint32_t snaplen) { snaplen_ = snaplen; }

    Bytes bytes(FileFormat format) const;
    void write(const std::filesystem::path& path,
               FileFormat format = FileFormat::kPcapLeUsec) const;

    const std::vector<Frame>& frames() const { return frames_; }
    int link_type() const { return link_type_; }

private:
    Bytes link_header(std::span<const std::uint8_t> packet, std::uint16_t vlan) const;

    int link_type_;
    std::uint32_t snaplen_ = 262144;
    std::vector<Frame> frames_;
};

/// Streams an Ethernet pcap (little-endian, microseconds) straight to disk, for captures too
/// large to hold in memory (the benchmark's).
class PcapStreamWriter {
public:
    explicit PcapStreamWriter(const std::filesystem::path& path);
    ~PcapStreamWriter();
    PcapStreamWriter(const PcapStreamWriter&) = delete;
    PcapStreamWriter& operator=(const PcapStreamWriter&) = delete;
    void add_ip(Timestamp ts, std::span<const std::uint8_t> packet);
    std::uint64_t bytes_written() const { return written_; }

private:
    std::FILE* f_ = nullptr;
    std::uint64_t written_ = 0;
};

/// A TCP connection written packet by packet: handshake, data, close. Each packet advances
/// the clock by `step`.
class TcpConversation {
public:
    TcpConversation(CaptureWriter& w, Endpoint client, Endpoint server, Timestamp start,
                    std::uint32_t client_isn = 1000, std::uint32_t server_isn = 500000);

    void handshake();
    /// One segment with this data from `dir`, then an ACK from the other side.
    void send(Direction dir, std::string_view data);
    /// The data cut into segments of `seg_size` bytes.
    void send_segments(Direction dir, std::string_view data, std::size_t seg_size);
    /// A segment at stream offset `off` of `dir` (0 = first data byte), not written: for tests
    /// that reorder, repeat or drop segments.
    Bytes segment(Direction dir, std::uint64_t off, std::string_view data,
                  std::uint8_t flags = analysis::kTcpAck | analysis::kTcpPsh) const;
    /// Writes a prepared packet at the current time and advances the clock.
    void put(const Bytes& packet);
    /// Marks `len` bytes of `dir` as sent without writing them (the capture missed them).
    void skip(Direction dir, std::size_t len);
    void close();  // FIN from the client, FIN from the server, final ACK
    void reset(Direction from);

    Timestamp now() const { return now_; }
    void advance(Timestamp dt) { now_ += dt; }
    void set_step(Timestamp step) { step_ = step; }
    std::uint64_t sent(Direction dir) const { return sent_[static_cast<int>(dir)]; }

private:
    const Endpoint& src(Direction d) const { return d == Direction::kOrig ? client_ : server_; }
    const Endpoint& dst(Direction d) const { return d == Direction::kOrig ? server_ : client_; }
    std::uint32_t seq(Direction d, std::uint64_t off) const;
    std::uint32_t ack_for(Direction d) const;

    CaptureWriter& w_;
    Endpoint client_;
    Endpoint server_;
    Timestamp now_;
    Timestamp step_ = kMilli;
    std::uint32_t isn_[2];
    std::uint64_t sent_[2] = {0, 0};
};

/// `requests` GETs of a tiny page from `client`'s address to `server`, each answered, over 20
/// connections one after another from `start`: traffic that fills what the HTTP result keeps.
/// Returns the time after the last packet.
Timestamp http_page_requests(CaptureWriter& w, const IpAddress& client, const Endpoint& server,
                             Timestamp start, std::size_t requests);

}  // namespace botscope::testing
