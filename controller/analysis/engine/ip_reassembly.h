#pragma once
// IPv4 and IPv6 fragment reassembly with bounds.
//
// Limits (each hit drops the datagram and counts a weird):
//   kMaxDatagram        65,535 bytes of reassembled payload (the IPv4 maximum)
//   kMaxPending          4,096 datagrams being reassembled at once (the oldest is dropped)
//   kMaxFragments          128 fragments per datagram
//   kFragmentTimeout        30 s of capture time (RFC 791 suggests 15 s, Linux uses 30 s)
// Overlapping fragments: the bytes that arrived first are kept (as BSD/Linux mostly do).

#include <cstdint>
#include <list>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "analysis/engine/decode.h"
#include "analysis/types.h"

namespace botscope::analysis {

class IpReassembler {
public:
    static constexpr std::uint32_t kMaxDatagram = 65535;
    static constexpr std::size_t kMaxPending = 4096;
    static constexpr std::size_t kMaxFragments = 128;
    static constexpr Timestamp kFragmentTimeout = 30'000'000'000;

    enum class Outcome : std::uint8_t { kIncomplete, kComplete, kDropped };

    struct Result {
        Outcome outcome = Outcome::kIncomplete;
        std::string_view weird;  // set when a limit or inconsistency dropped data (engine_weirds.h)
    };

    /// Adds one fragment (as decoded into `pkt.frag`). On kComplete, `payload()` holds the
    /// reassembled transport segment until the next call.
    Result add(const PacketView& pkt, Timestamp ts);

    std::span<const std::uint8_t> payload() const { return done_; }

    /// Drops datagrams older than the timeout; returns how many were dropped.
    std::size_t expire(Timestamp now);

    std::size_t pending() const { return pending_.size(); }

private:
    struct Key {
        IpAddress src;
        IpAddress dst;
        std::uint32_t id = 0;
        std::uint8_t proto = 0;
        auto operator<=>(const Key&) const = default;
    };
    struct Datagram {
        Timestamp first_ts = 0;
        std::vector<std::uint8_t> data;
        std::map<std::uint32_t, std::uint32_t> ranges;  // offset -> end, merged
        std::size_t fragments = 0;
        std::uint32_t total = 0;  // known once the last fragment arrived
        bool have_last = false;
        std::list<Key>::iterator age;
    };

    void erase(std::map<Key, Datagram>::iterator it);

    std::map<Key, Datagram> pending_;
    std::list<Key> ages_;  // oldest first
    std::vector<std::uint8_t> done_;
};

}  // namespace botscope::analysis
