#pragma once
// Addresses to values with a cap, for the analysis's per-address tables (hosts, scanners, a
// flood's sources). A flood from spoofed sources looks one up for every packet, mostly
// missing: std::unordered_map walked a chain of scattered nodes and rehashed every key on the
// way (it caches no hashes for a "fast" hash), which was a fifth of the analysis time.
//
// Open addressing with linear probing over slots that hold the value's index and 32 more bits
// of its hash, so a miss rarely touches a value. The slots double as the map fills, up to
// twice the cap (a load of at most one half), and never grow past it. Values live in a deque:
// their addresses stay valid, and iteration follows insertion order, so whatever is built from
// a walk over the map is the same on every run. No removal of one key: the tables grow to their cap
// and are only emptied whole.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "analysis/types.h"

namespace botscope::analysis {

template <typename V>
class AddressMap {
public:
    explicit AddressMap(std::size_t cap) : cap_(cap) {}

    V* find(const IpAddress& a) {
        if (slots_.empty())
            return nullptr;
        std::uint64_t h = IpAddressHash{}(a);
        for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
            std::uint64_t s = slots_[i];
            if (s == 0)
                return nullptr;
            if (tag(s) == (h >> 32) && items_[index(s)].first == a)
                return &items_[index(s)].second;
        }
    }

    /// The value of `a`, made with V{} when absent (`made` says which); null when absent and
    /// the map holds its cap.
    V* emplace(const IpAddress& a, bool& made) {
        made = false;
        if (V* v = find(a))
            return v;
        if (items_.size() >= cap_)
            return nullptr;
        if (2 * (items_.size() + 1) > slots_.size())
            grow();
        std::uint64_t h = IpAddressHash{}(a);
        std::size_t i = h & mask_;
        while (slots_[i] != 0)
            i = (i + 1) & mask_;
        items_.emplace_back(a, V{});
        slots_[i] = (h >> 32 << 32) | items_.size();
        made = true;
        return &items_.back().second;
    }

    /// Empties the map. A small index is kept for the next use, a large one let go.
    void clear() {
        items_.clear();
        if (slots_.size() > 64) {
            slots_ = {};
            mask_ = 0;
        } else {
            std::fill(slots_.begin(), slots_.end(), 0);
        }
    }

    bool contains(const IpAddress& a) { return find(a) != nullptr; }
    std::size_t size() const { return items_.size(); }
    bool full() const { return items_.size() >= cap_; }

    /// (address, value) pairs in insertion order.
    auto begin() { return items_.begin(); }
    auto end() { return items_.end(); }
    auto begin() const { return items_.begin(); }
    auto end() const { return items_.end(); }

private:
    static std::uint64_t tag(std::uint64_t slot) { return slot >> 32; }
    static std::size_t index(std::uint64_t slot) { return (slot & 0xffffffffu) - 1; }

    void grow() {
        std::size_t n = slots_.empty() ? 16 : slots_.size() * 2;
        slots_.assign(n, 0);
        mask_ = n - 1;
        for (std::size_t k = 0; k < items_.size(); ++k) {
            std::uint64_t h = IpAddressHash{}(items_[k].first);
            std::size_t i = h & mask_;
            while (slots_[i] != 0)
                i = (i + 1) & mask_;
            slots_[i] = (h >> 32 << 32) | (k + 1);
        }
    }

    std::size_t cap_;
    std::vector<std::uint64_t> slots_;  // 0: empty; else hash's high half << 32 | index + 1
    std::size_t mask_ = 0;
    std::deque<std::pair<IpAddress, V>> items_;
};

}  // namespace botscope::analysis
