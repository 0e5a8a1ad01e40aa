#pragma once
// Live flows keyed by 5-tuple, with idle expiry in capture time.
//
// Flows sit in one of four lists by timeout class, least recently seen first, so expiry only
// ever looks at list fronts (O(expired), no sweeps over the table). Moving a flow to the back
// of its list on every packet is a splice: no allocation per packet.
//
// Limits and timeouts (Zeek's defaults where it has one):
//   kMaxFlows             1,000,000 live flows; past it the least recently seen flow ends
//   kTcpIdleTimeout       300 s (tcp_inactivity_timeout)
//   kTcpCloseLinger         5 s after FIN/FIN or RST (tcp_close_delay)
//   kUdpIdleTimeout        60 s (udp_inactivity_timeout)
//   kOtherIdleTimeout      60 s (icmp_inactivity_timeout)

#include <array>
#include <cstdint>
#include <cstring>
#include <list>
#include <memory>
#include <unordered_map>

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

struct FlowKeyHash {
    std::size_t operator()(const FlowKey& k) const noexcept {
        // FNV-1a over the fields: cheap, and good enough spread for addresses and ports.
        std::uint64_t h = 1469598103934665603ull;
        auto mix = [&h](const std::uint8_t* p, std::size_t n) {
            for (std::size_t i = 0; i < n; ++i)
                h = (h ^ p[i]) * 1099511628211ull;
        };
        std::size_t alen = (k.a.v6 || k.b.v6) ? 16 : 4;
        mix(k.a.bytes.data(), alen);
        mix(k.b.bytes.data(), alen);
        std::uint8_t rest[5] = {
            static_cast<std::uint8_t>(k.pa >> 8), static_cast<std::uint8_t>(k.pa),
            static_cast<std::uint8_t>(k.pb >> 8), static_cast<std::uint8_t>(k.pb), k.proto};
        mix(rest, sizeof rest);
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

enum class FlowClass : std::uint8_t { kTcpOpen, kTcpClosed, kUdp, kOther };
inline constexpr std::size_t kFlowClassCount = 4;

/// A live flow with engine-owned state `State` (kept generic so the table is testable alone).
template <typename State>
class FlowTable {
public:
    static constexpr std::size_t kMaxFlows = 1'000'000;
    static constexpr std::array<Timestamp, kFlowClassCount> kTimeouts = {
        300'000'000'000, 5'000'000'000, 60'000'000'000, 60'000'000'000};

    struct Entry {
        FlowKey key;
        FlowClass cls = FlowClass::kOther;
        Timestamp last = 0;
        State state;
        typename std::list<Entry>::iterator self;
    };
    using List = std::list<Entry>;

    FlowTable() { map_.reserve(1024); }

    Entry* find(const FlowKey& key) {
        auto it = map_.find(key);
        return it == map_.end() ? nullptr : &*it->second;
    }

    /// Inserts a new flow; the caller ensures the key is absent and there is room.
    Entry& insert(const FlowKey& key, FlowClass cls, Timestamp ts, State state) {
        auto& list = lists_[static_cast<std::size_t>(cls)];
        list.push_back(Entry{key, cls, ts, std::move(state), {}});
        auto it = std::prev(list.end());
        it->self = it;
        map_.emplace(key, it);
        return *it;
    }

    /// Marks the flow as seen at `ts` (and moves it to another class if asked).
    void touch(Entry& e, Timestamp ts, FlowClass cls) {
        e.last = std::max(e.last, ts);
        auto& from = lists_[static_cast<std::size_t>(e.cls)];
        auto& to = lists_[static_cast<std::size_t>(cls)];
        to.splice(to.end(), from, e.self);
        e.cls = cls;
    }

    std::size_t size() const { return map_.size(); }
    bool full() const { return map_.size() >= kMaxFlows; }

    /// Removes flows idle past their class timeout at `now`; `on_end(Entry&)` sees each first.
    template <typename F>
    void expire(Timestamp now, F&& on_end) {
        for (std::size_t c = 0; c < kFlowClassCount; ++c) {
            auto& list = lists_[c];
            while (!list.empty() && now - list.front().last >= kTimeouts[c])
                remove_front(list, on_end);
        }
    }

    /// Ends the least recently seen flow of any class (the table is full).
    template <typename F>
    void evict_oldest(F&& on_end) {
        List* oldest = nullptr;
        for (auto& list : lists_)
            if (!list.empty() && (!oldest || list.front().last < oldest->front().last))
                oldest = &list;
        if (oldest)
            remove_front(*oldest, on_end);
    }

    /// Ends one specific flow now.
    template <typename F>
    void remove(Entry& e, F&& on_end) {
        auto it = e.self;
        on_end(*it);
        map_.erase(it->key);
        lists_[static_cast<std::size_t>(it->cls)].erase(it);
    }

    /// Ends every flow, oldest first.
    template <typename F>
    void clear(F&& on_end) {
        // Collect in order of last activity across the classes so results are deterministic.
        while (map_.size() > 0)
            evict_oldest(on_end);
    }

private:
    template <typename F>
    void remove_front(List& list, F&& on_end) {
        on_end(list.front());
        map_.erase(list.front().key);
        list.pop_front();
    }

    std::unordered_map<FlowKey, typename List::iterator, FlowKeyHash> map_;
    std::array<List, kFlowClassCount> lists_;
};

}  // namespace botscope::analysis
