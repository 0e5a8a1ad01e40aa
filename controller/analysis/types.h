#pragma once
// Value types shared by every part of the analysis engine.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace botscope::analysis {

/// Capture time in nanoseconds since the Unix epoch. Detectors use only this clock.
using Timestamp = std::int64_t;

/// Flow ids are assigned in order of each flow's first packet, so a replay gives the same ids.
using FlowId = std::uint64_t;

/// An IPv4 or IPv6 address. IPv4 lives in the first four bytes.
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};
    bool v6 = false;

    static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
        IpAddress ip;
        ip.bytes[0] = a;
        ip.bytes[1] = b;
        ip.bytes[2] = c;
        ip.bytes[3] = d;
        return ip;
    }
    static IpAddress from_v4(const std::uint8_t* p) { return v4(p[0], p[1], p[2], p[3]); }
    /// Parses dotted-quad or IPv6 text; false on malformed input.
    static bool parse(std::string_view text, IpAddress& out);

    std::string to_string() const;
    /// Writes the text form into `buf` (at least kTextSize bytes, not terminated); its length.
    static constexpr std::size_t kTextSize = 46;
    std::size_t format(char* buf) const;
    auto operator<=>(const IpAddress&) const = default;
    /// Word compares: the tables of a flood look addresses up millions of times.
    bool operator==(const IpAddress& o) const {
        std::uint64_t a[2], b[2];
        std::memcpy(a, bytes.data(), 16);
        std::memcpy(b, o.bytes.data(), 16);
        return v6 == o.v6 && a[0] == b[0] && a[1] == b[1];
    }
};

/// The address's 64-bit words through MurmurHash3's finaliser: every input bit reaches every
/// output bit, which the prime-modulo buckets of std::unordered_map and the distinct-count
/// sketch (distinct_count.h) both need; a byte-wise FNV-1a biased the sketch by 5 %.
struct IpAddressHash {
    static std::uint64_t mix(std::uint64_t h) noexcept {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 33;
        return h;
    }
    std::size_t operator()(const IpAddress& a) const noexcept {
        std::uint64_t w[2];
        std::memcpy(w, a.bytes.data(), 16);
        std::uint64_t h = mix(w[0] ^ 0x9e3779b97f4a7c15ull);
        return static_cast<std::size_t>(a.v6 ? mix(h ^ w[1]) : h);
    }
};

enum class Transport : std::uint8_t { kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58, kOther = 0 };

const char* transport_name(Transport t);

struct Endpoint {
    IpAddress addr;
    std::uint16_t port = 0;

    std::string to_string() const;
    auto operator<=>(const Endpoint&) const = default;
};

/// Which side of a connection: the originator (the side that sent the first packet, or the
/// SYN) or the responder.
enum class Direction : std::uint8_t { kOrig = 0, kResp = 1 };

inline Direction opposite(Direction d) {
    return d == Direction::kOrig ? Direction::kResp : Direction::kOrig;
}

/// What a protocol analyzer may learn about the connection it is attached to.
struct FlowInfo {
    FlowId id = 0;
    Transport transport = Transport::kOther;
    Endpoint orig;
    Endpoint resp;
    Timestamp start = 0;
};

/// Seconds as a double, for reports.
inline double to_seconds(Timestamp ts) {
    return static_cast<double>(ts) / 1e9;
}

}  // namespace botscope::analysis
