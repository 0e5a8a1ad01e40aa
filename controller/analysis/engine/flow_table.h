#pragma once
// Live flows keyed by 5-tuple, with idle expiry in capture time.
//
// Built for floods: a spoofed SYN flood makes every packet a new flow, so the table must not
// allocate per flow, rehash, or let one-packet flows pile up.
//   - Entries live in a pool of fixed chunks recycled through a free list: a new flow takes a
//     slot, an ended one gives it back; memory follows the peak of live flows, never the count
//     of flows seen.
//   - The index is open-addressed and kept at most half full. It starts small and doubles at
//     each new peak of live flows up to twice the flow limit, and never shrinks: at most nine
//     rehashes in a table's life, none once a flood has reached its size. A small index stays
//     in cache, where a fixed one of 4 MiB made every lookup of a new flow a cache miss. A slot
//     holds the entry's number and 44 bits of its hash, so a lookup that misses (every packet
//     of a spoofed flood) reads one run of slots and no entry. The hash is seeded per table so
//     that a capture cannot be crafted to make the runs long.
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
#include <cstring>
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

/// A keyed mix of the tuple (IpAddressHash's finaliser over 64-bit words).
inline std::uint64_t flow_key_hash(const FlowKey& k, std::uint64_t seed) noexcept {
    std::uint64_t a[2], b[2];
    std::memcpy(a, k.a.bytes.data(), 16);
    std::memcpy(b, k.b.bytes.data(), 16);
    std::uint64_t h = seed ^ (static_cast<std::uint64_t>(k.pa) << 24 |
                              static_cast<std::uint64_t>(k.pb) << 8 | k.proto);
    h = IpAddressHash::mix(h ^ a[0]);
    h = IpAddressHash::mix(h ^ b[0]);
    if (k.a.v6 || k.b.v6) {
        h = IpAddressHash::mix(h ^ a[1]);
        h = IpAddressHash::mix(h ^ b[1]);
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
        std::uint32_t free_next = kNil;
        std::uint32_t self = kNil;
    };

    FlowTable() : slots_(kFirstSlots, 0), mask_(kFirstSlots - 1), seed_(std::random_device{}()) {}
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    Entry* find(const FlowKey& key) {
        std::uint64_t h = hash(key);
        for (std::size_t i = home(h);; i = (i + 1) & mask_) {
            std::uint64_t s = slots_[i];
            if (s == 0)
                return nullptr;
            if ((s & kHashBits) == (h & kHashBits)) {
                Entry& e = at(entry_of(s));
                if (e.key == key)
                    return &e;
            }
        }
    }

    /// Inserts a new flow; the caller ensures the key is absent and there is room.
    Entry& insert(const FlowKey& key, FlowClass cls, Timestamp ts, State state) {
        if (2 * (size_ + 1) > slots_.size() && slots_.size() < kMaxSlots)
            grow();
        std::uint32_t i = take_slot();
        Entry& e = at(i);
        e.key = key;
        e.cls = cls;
        e.last = ts;
        e.state = std::move(state);
        e.self = i;
        std::uint64_t h = hash(key);
        std::size_t at_slot = home(h);
        while (slots_[at_slot] != 0)
            at_slot = (at_slot + 1) & mask_;
        slots_[at_slot] = (h & kHashBits) | (static_cast<std::uint64_t>(i) + 1);
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
        return chunks_.size() * kChunk * sizeof(Entry) + slots_.size() * sizeof(std::uint64_t);
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
        erase_slot(e);
        e.state = State{};
        e.free_next = free_;
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
    static constexpr std::size_t kMaxSlots = 2 * kMaxFlows;  // a power of two
    static constexpr std::size_t kFirstSlots = 1024;
    static_assert((kMaxSlots & (kMaxSlots - 1)) == 0);
    // A slot: entry number + 1 in the low 20 bits (0: empty), the hash's upper 44 bits above.
    static constexpr int kEntryBits = 20;
    static_assert(kMaxFlows < (std::size_t{1} << kEntryBits));
    static constexpr std::uint64_t kHashBits = ~((std::uint64_t{1} << kEntryBits) - 1);

    Entry& at(std::uint32_t i) { return chunks_[i / kChunk][i % kChunk]; }
    std::uint64_t hash(const FlowKey& k) const { return flow_key_hash(k, seed_); }
    std::size_t home(std::uint64_t h) const { return (h >> kEntryBits) & mask_; }
    static std::uint32_t entry_of(std::uint64_t slot) {
        return static_cast<std::uint32_t>((slot & ~kHashBits) - 1);
    }

    /// Frees the entry's slot and closes the gap (backward-shift deletion, so that no probe run
    /// is cut short and no tombstones pile up under a flood's churn).
    void erase_slot(const Entry& e) {
        std::size_t i = home(hash(e.key));
        while (entry_of(slots_[i]) != e.self)
            i = (i + 1) & mask_;
        for (std::size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
            std::size_t h = home(slots_[j]);
            // The slot at j may move back to i if its home is not in the run (i, j].
            bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = 0;
    }

    /// Doubles the index: the stored hash bits give each entry's new home.
    void grow() {
        std::vector<std::uint64_t> old(slots_.size() * 2, 0);
        old.swap(slots_);
        mask_ = slots_.size() - 1;
        for (std::uint64_t s : old) {
            if (s == 0)
                continue;
            std::size_t i = home(s);
            while (slots_[i] != 0)
                i = (i + 1) & mask_;
            slots_[i] = s;
        }
    }

    std::uint32_t take_slot() {
        if (free_ == kNil) {
            // A chunk at a time, threaded onto the free list in order.
            auto base = static_cast<std::uint32_t>(chunks_.size() * kChunk);
            chunks_.push_back(std::make_unique<Entry[]>(kChunk));
            for (std::size_t j = kChunk; j-- > 0;) {
                chunks_.back()[j].free_next = free_;
                free_ = base + static_cast<std::uint32_t>(j);
            }
        }
        std::uint32_t i = free_;
        free_ = at(i).free_next;
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
    std::vector<std::uint64_t> slots_;
    std::size_t mask_;
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
