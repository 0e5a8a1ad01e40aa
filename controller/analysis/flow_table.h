#pragma once
// Live flows keyed by 5-tuple, with idle expiry in capture time.
//
// Built for floods: a spoofed SYN flood makes every packet a new flow, so the table must not
// allocate per flow, rehash, or let one-packet flows pile up.
//   - Entries live in a pool of fixed chunks recycled through a free list: a new flow takes a
//     slot, an ended one gives it back; memory follows the peak of live flows, never the count
//     of flows seen.
//   - The hash index has a fixed number of buckets (twice the flow limit), chained through the
//     entries: it never rehashes. The hash is seeded per table so that a capture cannot be
//     crafted to put every flow into one chain.
//   - Flows sit in one list per timeout class, least recently seen first, so expiry only looks
//     at list fronts (O(expired), no sweeps). Moving a flow to the back is relinking indices.
//
// Timeout classes (Zeek's defaults where it has one):
//   kTcpOpen     300 s (tcp_inactivity_timeout)
//   kTcpClosed     5 s after FIN/FIN or RST (tcp_close_delay)
//   kUdp          60 s (udp_inactivity_timeout)
//   kOther        60 s (icmp_inactivity_timeout)
//   kAttempt      10 s: a lone SYN, datagrams or ICMP requests nobody answered. These are what
//                 floods and scans are made of; a retransmitted SYN comes within 10 s.
// At kMaxFlows live flows a new flow ends the least recently seen attempt, or when there is
// none the least recently seen flow of any class: an idle C&C connection outlives a flood.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

#include "analysis/types.h"

namespace botscope::analysis {

struct FlowKey {
    IpAddress a;
    IpAddress b;
    std::uint16_t pa = 0;
    std::uint16_t pb = 0;
    std::uint8_t proto = 0;

    /// The same key for both directions: the lower endpoint first.
    static FlowKey make(const IpAddress& src, std::uint16_t sport, const IpAddress& dst,
                        std::uint16_t dport, std::uint8_t proto) {
        FlowKey k;
        k.proto = proto;
        if (std::tie(src, sport) <= std::tie(dst, dport)) {
            k.a = src, k.pa = sport, k.b = dst, k.pb = dport;
        } else {
            k.a = dst, k.pa = dport, k.b = src, k.pb = sport;
        }
        return k;
    }
    bool operator==(const FlowKey&) const = default;
};

/// A keyed mix of the tuple (the finaliser of MurmurHash3 over 64-bit words).
inline std::uint64_t flow_key_hash(const FlowKey& k, std::uint64_t seed) noexcept {
    auto word = [](const IpAddress& a, std::size_t at) {
        std::uint64_t w = 0;
        for (std::size_t i = 0; i < 8; ++i)
            w = (w << 8) | a.bytes[at + i];
        return w;
    };
    auto mix = [](std::uint64_t h) {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 33;
        return h;
    };
    std::uint64_t h = seed ^ (static_cast<std::uint64_t>(k.pa) << 24 |
                              static_cast<std::uint64_t>(k.pb) << 8 | k.proto);
    h = mix(h ^ word(k.a, 0));
    h = mix(h ^ word(k.b, 0));
    if (k.a.v6 || k.b.v6) {
        h = mix(h ^ word(k.a, 8));
        h = mix(h ^ word(k.b, 8));
    }
    return h;
}

enum class FlowClass : std::uint8_t { kTcpOpen, kTcpClosed, kUdp, kOther, kAttempt };
inline constexpr std::size_t kFlowClassCount = 5;

/// A live flow with engine-owned state `State` (kept generic so the table is testable alone).
/// `State` must be default-constructible; an ended flow's state is reset to `State{}`.
template <typename State>
class FlowTable {
public:
    static constexpr std::size_t kMaxFlows = 262'144;
    static constexpr std::array<Timestamp, kFlowClassCount> kTimeouts = {
        300'000'000'000, 5'000'000'000, 60'000'000'000, 60'000'000'000, 10'000'000'000};

    struct Entry {
        FlowKey key;
        FlowClass cls = FlowClass::kOther;
        Timestamp last = 0;
        State state;

    private:
        friend class FlowTable;
        std::uint32_t prev = kNil;
        std::uint32_t next = kNil;
        std::uint32_t chain = kNil;  // next entry in the same bucket, or the next free slot
        std::uint32_t self = kNil;
    };

    FlowTable() : buckets_(kBuckets, kNil), seed_(std::random_device{}()) {}
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    Entry* find(const FlowKey& key) {
        for (std::uint32_t i = buckets_[bucket(key)]; i != kNil;) {
            Entry& e = at(i);
            if (e.key == key)
                return &e;
            i = e.chain;
        }
        return nullptr;
    }

    /// Inserts a new flow; the caller ensures the key is absent and there is room.
    Entry& insert(const FlowKey& key, FlowClass cls, Timestamp ts, State state) {
        std::uint32_t i = take_slot();
        Entry& e = at(i);
        e.key = key;
        e.cls = cls;
        e.last = ts;
        e.state = std::move(state);
        e.self = i;
        std::uint32_t& head = buckets_[bucket(key)];
        e.chain = head;
        head = i;
        link_back(e);
        ++size_;
        return e;
    }

    /// Marks the flow as seen at `ts` and moves it to the back of class `cls`.
    void touch(Entry& e, Timestamp ts, FlowClass cls) {
        e.last = std::max(e.last, ts);
        unlink(e);
        e.cls = cls;
        link_back(e);
    }

    std::size_t size() const { return size_; }
    bool full() const { return size_ >= kMaxFlows; }
    /// Bytes held by the pool and the index (they never shrink while the table lives).
    std::size_t memory_bytes() const {
        return chunks_.size() * kChunk * sizeof(Entry) + buckets_.size() * sizeof(std::uint32_t);
    }

    /// Removes flows idle past their class timeout at `now`; `on_end(Entry&)` sees each first.
    template <typename F>
    void expire(Timestamp now, F&& on_end) {
        for (std::size_t c = 0; c < kFlowClassCount; ++c) {
            while (heads_[c] != kNil && now - at(heads_[c]).last >= kTimeouts[c])
                remove(at(heads_[c]), on_end);
        }
    }

    /// Makes room (the table is full): ends the least recently seen attempt, or the least
    /// recently seen flow of any class when there is no attempt.
    template <typename F>
    void evict(F&& on_end) {
        std::uint32_t attempts = heads_[static_cast<std::size_t>(FlowClass::kAttempt)];
        if (attempts != kNil) {
            remove(at(attempts), on_end);
            return;
        }
        evict_oldest(on_end);
    }

    /// Ends the least recently seen flow of any class.
    template <typename F>
    void evict_oldest(F&& on_end) {
        Entry* oldest = nullptr;
        for (std::uint32_t h : heads_)
            if (h != kNil && (!oldest || at(h).last < oldest->last))
                oldest = &at(h);
        if (oldest)
            remove(*oldest, on_end);
    }

    /// Ends one specific flow now.
    template <typename F>
    void remove(Entry& e, F&& on_end) {
        on_end(e);
        unlink(e);
        std::uint32_t* p = &buckets_[bucket(e.key)];
        while (*p != e.self)
            p = &at(*p).chain;
        *p = e.chain;
        e.state = State{};
        e.chain = free_;
        free_ = e.self;
        --size_;
    }

    /// Ends every flow, least recently seen first, so that results are deterministic.
    template <typename F>
    void clear(F&& on_end) {
        while (size_ > 0)
            evict_oldest(on_end);
    }

private:
    static constexpr std::uint32_t kNil = 0xffffffffu;
    static constexpr std::size_t kChunk = 4096;
    static constexpr std::size_t kBuckets = 2 * kMaxFlows;  // a power of two
    static_assert((kBuckets & (kBuckets - 1)) == 0);

    Entry& at(std::uint32_t i) { return chunks_[i / kChunk][i % kChunk]; }
    std::size_t bucket(const FlowKey& k) const { return flow_key_hash(k, seed_) & (kBuckets - 1); }

    std::uint32_t take_slot() {
        if (free_ == kNil) {
            // A chunk at a time, threaded onto the free list in order.
            auto base = static_cast<std::uint32_t>(chunks_.size() * kChunk);
            chunks_.push_back(std::make_unique<Entry[]>(kChunk));
            for (std::size_t j = kChunk; j-- > 0;) {
                chunks_.back()[j].chain = free_;
                free_ = base + static_cast<std::uint32_t>(j);
            }
        }
        std::uint32_t i = free_;
        free_ = at(i).chain;
        return i;
    }

    void link_back(Entry& e) {
        auto c = static_cast<std::size_t>(e.cls);
        e.prev = tails_[c];
        e.next = kNil;
        if (tails_[c] != kNil) {
            at(tails_[c]).next = e.self;
        } else {
            heads_[c] = e.self;
        }
        tails_[c] = e.self;
    }

    void unlink(Entry& e) {
        auto c = static_cast<std::size_t>(e.cls);
        if (e.prev != kNil) {
            at(e.prev).next = e.next;
        } else {
            heads_[c] = e.next;
        }
        if (e.next != kNil) {
            at(e.next).prev = e.prev;
        } else {
            tails_[c] = e.prev;
        }
    }

    std::vector<std::unique_ptr<Entry[]>> chunks_;
    std::vector<std::uint32_t> buckets_;
    std::array<std::uint32_t, kFlowClassCount> heads_ = [] {
        std::array<std::uint32_t, kFlowClassCount> a;
        a.fill(kNil);
        return a;
    }();
    std::array<std::uint32_t, kFlowClassCount> tails_ = heads_;
    std::uint32_t free_ = kNil;
    std::size_t size_ = 0;
    std::uint64_t seed_;
};

}  // namespace botscope::analysis
