#include "analysis/detect/traffic.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <optional>
#include <set>
#include <tuple>

#include "analysis/address_map.h"
#include "analysis/distinct_count.h"
#include "analysis/engine/decode.h"

namespace botscope::analysis::detect {

namespace {

enum Kind : std::uint8_t { kSyn, kConnect, kUdp, kIcmp, kSynAck, kKinds };
constexpr const char* kKindNames[kKinds] = {"syn", "connect", "udp", "icmp", "synack"};

/// Per-second counts in calendar seconds of capture time. Packets stamped in the past (the
/// engine's clock never goes back) land in the current second.
struct SecondBins {
    std::int64_t sec = std::numeric_limits<std::int64_t>::min();
    std::uint64_t cur = 0;
    std::uint64_t peak = 0;

    void add(Timestamp ts, std::uint64_t n) {
        std::int64_t s = ts / kSecond;
        if (s > sec) {
            peak = std::max(peak, cur);
            cur = 0;
            sec = s;
        }
        cur += n;
    }
    std::uint64_t final_peak() const { return std::max(peak, cur); }
};

/// Events per port for at most kMaxPorts ports, open-addressed in one array that doubles as it
/// fills: a random-port flood (a new port nearly every packet) costs no allocation per packet,
/// as the node-based map it replaces did. Probing is linear from a multiplicative hash; with
/// at most 4,096 keys of 16 bits a crafted worst case stays bounded.
class PortCounts {
public:
    /// One more event on `port`; false when the port is new and kMaxPorts are counted.
    bool add(std::uint16_t port) {
        if (slots_.empty())
            resize(kFirstBits);
        Slot* s = find(port);
        if (s->count != 0) {
            ++s->count;
            return true;
        }
        if (size_ >= kMaxPorts)
            return false;
        if ((size_ + 1) * 2 > slots_.size()) {
            resize(bits_ + 1);
            s = find(port);
        }
        *s = Slot{port, 1};
        ++size_;
        return true;
    }
    std::size_t size() const { return size_; }
    /// Empties the counts. A table of the first size is kept for the next use; a larger one is
    /// let go, since a walk over it would cost what it holds and visit ports in another order.
    void clear() {
        if (slots_.size() > (std::size_t{1} << kFirstBits)) {
            slots_ = {};
            bits_ = 0;
        } else {
            std::fill(slots_.begin(), slots_.end(), Slot{});
        }
        size_ = 0;
    }
    template <typename F>
    void for_each(F&& f) const {
        for (const Slot& s : slots_)
            if (s.count != 0)
                f(s.port, s.count);
    }

private:
    static constexpr int kFirstBits = 3;
    struct Slot {
        std::uint16_t port = 0;
        std::uint64_t count = 0;  // 0: empty
    };
    Slot* find(std::uint16_t port) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = (std::uint32_t{port} * 0x9E3779B1u) >> (32 - bits_);
        while (slots_[i].count != 0 && slots_[i].port != port)
            i = (i + 1) & mask;
        return &slots_[i];
    }
    void resize(int bits) {
        std::vector<Slot> old = std::move(slots_);
        bits_ = bits;
        slots_.assign(std::size_t{1} << bits, Slot{});
        for (const Slot& s : old)
            if (s.count != 0)
                *find(s.port) = s;
    }
    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    int bits_ = 0;
};

/// An episode's counters: what a new episode starts from.
struct EpisodeCounts {
    bool active = false;
    std::uint32_t seq = 0;
    Timestamp start = 0;
    Timestamp last = 0;
    std::uint64_t events = 0;  // SYNs, handshakes, datagrams or ICMP requests
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t replies = 0;
    std::uint64_t connections = 0;
    std::uint64_t handshakes = 0;
    std::uint64_t first_number = 0;
    std::uint64_t last_number = 0;
    double onset_rate = 0;       // the kind's rate threshold, events per second
    Timestamp second_first = 0;  // the first event of the current calendar second
    Timestamp onset = 0;         // see Flood::onset; 0 until reached
    SecondBins event_bins;
    SecondBins packet_bins;
    SecondBins byte_bins;
    bool ports_capped = false;
    std::uint64_t flows_total = 0;
};

struct Episode : EpisodeCounts {
    AddressMap<char> sources{kMaxSources};
    std::unique_ptr<DistinctCounter> sources_beyond;  // once `sources` is full
    PortCounts ports;
    /// The senders' ports, for reflection: one port dominates when servers answer forgeries.
    PortCounts src_ports;
    std::vector<FlowId> flows;

    /// As a new Episode, keeping the tables' memory: a scan makes an episode for every address
    /// it probes, and making one was several allocations.
    void reset() {
        static_cast<EpisodeCounts&>(*this) = EpisodeCounts{};
        sources.clear();
        sources_beyond.reset();
        ports.clear();
        src_ports.clear();
        flows.clear();
    }
};

}  // namespace

struct Target {
    IpAddress addr;
    std::unique_ptr<Episode> ep[kKinds];
    std::uint32_t refs = 0;
    Timestamp last = 0;
};

namespace {

/// Targets by address. A scan, or a flood's backscatter, brings a new target with nearly every
/// flow and lets it go once idle, and a node-based map was an allocation and a free each time.
/// Open-addressed (linear probing, backward-shift removal, so no tombstones pile up under the
/// churn) over a pool whose entries are recycled through a free list; the index doubles at
/// half load and never shrinks, so it grows a few times to the peak of live targets and
/// rehashes no more. Entries never move while they live (flows hold Target pointers).
class TargetTable {
public:
    /// The target of `a`, made when absent (`made` says so).
    Target& get(const IpAddress& a, bool& made) {
        made = false;
        if (Target* t = find(a))
            return *t;
        if (2 * (size_ + 1) > slots_.size())
            grow();
        std::uint32_t i;
        if (free_.empty()) {
            i = static_cast<std::uint32_t>(pool_.size());
            pool_.emplace_back();
        } else {
            i = free_.back();
            free_.pop_back();
        }
        Node& n = pool_[i];
        n.live = true;
        n.t.addr = a;
        place(IpAddressHash{}(a), i);
        ++size_;
        made = true;
        return n.t;
    }

    Target* find(const IpAddress& a) {
        if (slots_.empty())
            return nullptr;
        const std::uint64_t h = IpAddressHash{}(a);
        for (std::size_t i = home(h >> 32);; i = (i + 1) & mask_) {
            const std::uint64_t s = slots_[i];
            if (s == 0)
                return nullptr;
            if (s >> 32 == h >> 32 && pool_[entry(s)].t.addr == a)
                return &pool_[entry(s)].t;
        }
    }

    /// Removes `t` (from this table); its node, reset, waits for the next target.
    void erase(Target& t) {
        const std::uint64_t h = IpAddressHash{}(t.addr);
        std::size_t i = home(h >> 32);
        while (&pool_[entry(slots_[i])].t != &t)
            i = (i + 1) & mask_;
        const std::uint32_t node = entry(slots_[i]);
        for (std::size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
            const std::size_t k = home(slots_[j] >> 32);
            // The slot at j may move back to i if its home is not in the run (i, j].
            const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = 0;
        pool_[node] = Node{};
        free_.push_back(node);
        --size_;
    }

    std::size_t size() const { return size_; }

    /// Every live target, in no particular order.
    template <typename F>
    void for_each(F&& fn) {
        for (Node& n : pool_)
            if (n.live)
                fn(n.t);
    }

    void clear() {
        pool_.clear();
        free_.clear();
        std::fill(slots_.begin(), slots_.end(), 0);
        size_ = 0;
    }

private:
    struct Node {
        Target t;
        bool live = false;
    };

    std::size_t home(std::uint64_t tag) const { return tag & mask_; }
    static std::uint32_t entry(std::uint64_t slot) {
        return static_cast<std::uint32_t>((slot & 0xffffffffu) - 1);
    }
    void place(std::uint64_t h, std::uint32_t node) {
        std::size_t i = home(h >> 32);
        while (slots_[i] != 0)
            i = (i + 1) & mask_;
        slots_[i] = (h >> 32 << 32) | (std::uint64_t{node} + 1);
    }
    void grow() {
        slots_.assign(slots_.empty() ? 64 : 2 * slots_.size(), 0);
        mask_ = slots_.size() - 1;
        for (std::uint32_t k = 0; k < pool_.size(); ++k)
            if (pool_[k].live)
                place(IpAddressHash{}(pool_[k].t.addr), k);
    }

    std::deque<Node> pool_;  // a deque: entries stay where they are as it grows
    std::vector<std::uint32_t> free_;
    std::vector<std::uint64_t> slots_;  // 0: empty; else the hash's upper half << 32 | node + 1
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

struct ProbeKey {
    IpAddress dst;
    std::uint16_t port = 0;
    std::uint8_t transport = 0;
    bool operator==(const ProbeKey&) const = default;
};

std::uint64_t probe_hash(const ProbeKey& k) noexcept {
    return IpAddressHash::mix(IpAddressHash{}(k.dst) ^
                              (static_cast<std::uint64_t>(k.port) << 8 | k.transport));
}

struct ProbeRecord {
    IpAddress dst;
    std::uint16_t port = 0;
    Transport transport = Transport::kTcp;
    Timestamp first_ts = 0;
    Timestamp last_ts = 0;
    std::uint64_t attempts = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t first_number = 0;
    std::uint64_t last_number = 0;
    std::uint64_t icmp_errors = 0;
    FlowId first_flow = 0;
    std::vector<FlowId> more_flows;  // up to kMaxEvidenceFlows - 1
    bool answered = false;
    bool productive = false;
    bool open = false;
};

}  // namespace

/// One source's probes, by (target, port, transport). The index is open-addressed over
/// `records` (a slot: 32 bits of the key's hash, then the record's number + 1), doubled at half
/// load: a scan's every new probe is a new key, and a node per key was a malloc per flow.
struct Scanner {
    IpAddress addr;
    std::vector<ProbeRecord> records;

    /// The record of `key`, or the number it would take (records.size()) with `found` false.
    std::uint32_t find(const ProbeKey& key, bool& found) const {
        found = false;
        if (slots.empty())
            return static_cast<std::uint32_t>(records.size());
        const std::uint64_t h = probe_hash(key);
        for (std::size_t i = h & mask;; i = (i + 1) & mask) {
            const std::uint64_t s = slots[i];
            if (s == 0)
                return static_cast<std::uint32_t>(records.size());
            const ProbeRecord& r = records[(s & 0xffffffffu) - 1];
            if (s >> 32 == h >> 32 && r.dst == key.dst && r.port == key.port &&
                static_cast<std::uint8_t>(r.transport) == key.transport) {
                found = true;
                return static_cast<std::uint32_t>((s & 0xffffffffu) - 1);
            }
        }
    }

    /// Indexes records.back() under `key` (its own).
    void index_last(const ProbeKey& key) {
        if (2 * records.size() > slots.size()) {
            slots.assign(slots.empty() ? 16 : 2 * slots.size(), 0);
            mask = slots.size() - 1;
            for (std::size_t k = 0; k + 1 < records.size(); ++k) {
                const ProbeRecord& r = records[k];
                place({r.dst, r.port, static_cast<std::uint8_t>(r.transport)}, k);
            }
        }
        place(key, records.size() - 1);
    }

private:
    void place(const ProbeKey& key, std::size_t record) {
        const std::uint64_t h = probe_hash(key);
        std::size_t i = h & mask;
        while (slots[i] != 0)
            i = (i + 1) & mask;
        slots[i] = (h >> 32 << 32) | (record + 1);
    }

    std::vector<std::uint64_t> slots;
    std::size_t mask = 0;
};

namespace {

/// Floods from at most this many sources are remembered, with each source, so that their
/// packets are not also reported as those sources' scans.
constexpr std::size_t kMaxFlooders = 64;

/// A finished flood episode before spoofing can be judged (the hosts are known at the end).
struct PendingFlood {
    Flood flood;
    std::vector<IpAddress> sources;
};

bool is_icmp_request(Transport t, std::uint8_t type) {
    if (t == Transport::kIcmp)  // errors 3, 4, 5, 11, 12 and replies 0, 14, 16, 18
        return type == 8 || type == 13 || type == 15 || type == 17;
    return type == 128;  // ICMPv6 errors are 1..4, informational replies 129
}

double per_second(double n, Timestamp duration) {
    return n / (static_cast<double>(duration) / 1e9);
}

void fill_volume(Volume& v, const Episode& e) {
    v.start = e.start;
    v.end = e.last;
    v.packets = e.packets;
    v.bytes = e.bytes;
    Timestamp d = e.last - e.start;
    if (d > 0) {
        v.mean_pps = per_second(static_cast<double>(e.packets), d);
        v.mean_bps = per_second(static_cast<double>(e.bytes) * 8, d);
    }
    v.peak_pps = static_cast<double>(e.packet_bins.final_peak());
    v.peak_bps = static_cast<double>(e.byte_bins.final_peak()) * 8;
    v.first_packet = e.first_number;
    v.last_packet = e.last_number;
}

}  // namespace

struct TrafficDetector::Impl {
    explicit Impl(const Config& c) : cfg(c.flood), scan_cfg(c.scan) {}

    FloodConfig cfg;
    ScanConfig scan_cfg;
    TargetTable targets;
    std::deque<std::pair<IpAddress, Timestamp>> idle;  // targets that lost their last flow
    AddressMap<Scanner> scanners{kMaxScanners};
    std::vector<Scanner*> scanner_order;  // first seen first, for a stable report order
    std::size_t probe_records = 0;
    std::uint64_t untracked_probes = 0;
    std::vector<PendingFlood> floods;
    /// (source, target, transport) of the SYN and UDP floods: a flood from one host to many
    /// ports of its target is that flood, not also a vertical scan.
    std::set<std::tuple<IpAddress, IpAddress, Transport>> flooded;
    std::uint64_t dropped = 0;
    std::uint32_t next_seq = 1;

    /// Episodes of targets let go, reset, for the next targets: a scan makes one for every
    /// address it probes.
    std::vector<std::unique_ptr<Episode>> spare;
    static constexpr std::size_t kSpareEpisodes = 256;

    Episode& episode(Target& t, Kind k) {
        if (!t.ep[k]) {
            if (spare.empty()) {
                t.ep[k] = std::make_unique<Episode>();
            } else {
                t.ep[k] = std::move(spare.back());
                spare.pop_back();
            }
        }
        return *t.ep[k];
    }

    /// Keeps the episodes of a target that is let go.
    void recycle(Target& t) {
        for (auto& ep : t.ep) {
            if (ep && spare.size() < kSpareEpisodes) {
                ep->reset();
                spare.push_back(std::move(ep));
            }
        }
    }

    /// The episode of kind `k` at time `ts`, ending the previous one after an idle gap.
    Episode& live_episode(Target& t, Kind k, Timestamp ts, std::uint64_t number) {
        Episode& e = episode(t, k);
        if (e.active && ts - e.last > cfg.idle_gap)
            close(t, k);
        if (!e.active) {
            e.reset();
            e.active = true;
            e.seq = next_seq++;
            e.start = e.last = ts;
            e.first_number = number;
            e.onset_rate = k == kConnect ? cfg.connect_min_peak_per_second : cfg.min_peak_pps;
        }
        return e;
    }

    void count(Episode& e, const PacketFacts& p, std::uint64_t events) {
        e.events += events;
        e.packets += 1;
        e.bytes += p.wire_len;
        if (events > 0 && p.ts / kSecond != e.event_bins.sec)
            e.second_first = p.ts;
        e.event_bins.add(p.ts, events);
        if (e.onset == 0 && static_cast<double>(e.event_bins.cur) >= e.onset_rate)
            e.onset = e.second_first;
        e.packet_bins.add(p.ts, 1);
        e.byte_bins.add(p.ts, p.wire_len);
        e.last = std::max(e.last, p.ts);
        e.last_number = p.number;
    }

    void note_source(Episode& e, const IpAddress& src) {
        bool made;
        if (!e.sources.emplace(src, made)) {
            if (!e.sources_beyond)
                e.sources_beyond = std::make_unique<DistinctCounter>();
            e.sources_beyond->add(DistinctCounter::hash(src));
        }
    }

    void note_port(Episode& e, std::uint16_t port) {
        if (!e.ports.add(port))
            e.ports_capped = true;
    }

    /// Past kMaxPorts senders' ports are not counted: a port that dominates is among the
    /// first ones anyway, and the share is then taken of the counted packets only.
    void note_src_port(Episode& e, std::uint16_t port) { e.src_ports.add(port); }

    std::uint64_t distinct_sources(const Episode& e) const {
        return e.sources.size() + (e.sources_beyond ? e.sources_beyond->estimate() : 0);
    }

    /// The port nearly all of a flood came from, when enough sources sent from it.
    std::optional<Reflection> reflection(const Episode& e) const {
        std::uint64_t counted = 0;
        std::pair<std::uint16_t, std::uint64_t> top{0, 0};
        e.src_ports.for_each([&](std::uint16_t port, std::uint64_t n) {
            counted += n;
            if (n > top.second || (n == top.second && port < top.first))
                top = {port, n};
        });
        std::uint64_t sources = distinct_sources(e);
        if (top.first == 0 || sources < cfg.min_reflectors ||
            static_cast<double>(top.second) <
                cfg.reflection_min_port_share * static_cast<double>(counted))
            return std::nullopt;
        return Reflection{top.first, sources};
    }

    void note_flow(Episode& e, FlowId id) {
        ++e.flows_total;
        if (e.flows.size() < kMaxEvidenceFlows)
            e.flows.push_back(id);
    }

    void close(Target& t, Kind k) {
        Episode& e = *t.ep[k];
        if (!e.active)
            return;
        e.active = false;
        if (!is_flood(e, k))
            return;
        if (floods.size() >= kMaxFindings) {
            ++dropped;
            return;
        }
        PendingFlood pf;
        Flood& f = pf.flood;
        f.kind = kKindNames[k];
        f.target = t.addr;
        std::vector<std::pair<std::uint16_t, std::uint64_t>> ports;
        ports.reserve(e.ports.size());
        e.ports.for_each([&](std::uint16_t port, std::uint64_t n) { ports.emplace_back(port, n); });
        std::sort(ports.begin(), ports.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        f.ports_total = ports.size();
        for (std::size_t i = 0; i < ports.size() && i < kMaxListed; ++i)
            f.ports.push_back(ports[i].first);
        fill_volume(f.volume, e);
        // A flood never reached its rate in one second only when its peak came from packets
        // stamped in the past (SecondBins): then the episode's start is all there is.
        f.onset = e.onset != 0 ? std::max(e.onset, e.start) : e.start;
        f.sources = e.sources.size();
        if (e.sources_beyond) {
            f.sources += e.sources_beyond->estimate();
            f.sources_estimated = true;
        }
        f.connections = e.connections;
        f.handshakes = e.handshakes;
        f.replies = e.replies;
        if (k == kUdp || k == kSynAck)
            f.reflection = reflection(e);
        f.events = e.events;
        f.peak_events_per_second = static_cast<double>(e.event_bins.final_peak());
        f.evidence.flows = e.flows;
        f.evidence.flows_total = e.flows_total;
        for (const auto& s : e.sources)
            pf.sources.push_back(s.first);
        floods.push_back(std::move(pf));
    }

    bool is_flood(const Episode& e, Kind k) const {
        double peak = static_cast<double>(e.event_bins.final_peak());
        double events = static_cast<double>(e.events);
        double ports = static_cast<double>(std::max<std::size_t>(e.ports.size(), 1));
        // A flood is about its target, whatever the ports: few packets per port are a scan's
        // mark only when one host sends them, and only small ones.
        bool port_spread_ok = events / ports >= cfg.min_packets_per_port ||
                              distinct_sources(e) >= cfg.min_sources_any_port;
        switch (k) {
            case kSyn:
                return e.events >= cfg.min_packets && peak >= cfg.min_peak_pps &&
                       static_cast<double>(e.handshakes) <=
                           cfg.syn_max_handshake_share * static_cast<double>(e.connections) &&
                       port_spread_ok;
            case kConnect:
                return e.events >= cfg.connect_min_handshakes &&
                       peak >= cfg.connect_min_peak_per_second;
            case kUdp:
                return e.events >= cfg.min_packets && peak >= cfg.min_peak_pps &&
                       static_cast<double>(e.replies) <= cfg.udp_max_reply_share * events &&
                       (port_spread_ok ||
                        static_cast<double>(e.bytes) >= cfg.udp_min_mean_bytes * events);
            case kIcmp:
                return e.events >= cfg.min_packets && peak >= cfg.min_peak_pps;
            case kSynAck:
                return e.events >= cfg.min_packets && peak >= cfg.synack_min_peak_pps &&
                       reflection(e).has_value();
            case kKinds:
                break;
        }
        return false;
    }

    void release(Target& t, Timestamp ts) {
        if (--t.refs == 0)
            idle.emplace_back(t.addr, std::max(t.last, ts));
    }

    Scanner* scanner_for(const IpAddress& a) {
        bool made;
        Scanner* s = scanners.emplace(a, made);
        if (made) {
            s->addr = a;
            scanner_order.push_back(s);
        }
        return s;
    }

    void start_probe(FlowTag& tag, const FlowInfo& info, Timestamp ts) {
        Scanner* s = scanner_for(info.orig.addr);
        if (!s) {
            ++untracked_probes;
            return;
        }
        std::uint16_t port = info.transport == Transport::kTcp || info.transport == Transport::kUdp
                                 ? info.resp.port
                                 : 0;
        ProbeKey key{info.resp.addr, port, static_cast<std::uint8_t>(info.transport)};
        bool found;
        const std::uint32_t idx = s->find(key, found);
        if (!found) {
            if (probe_records >= kMaxProbeRecords) {
                ++untracked_probes;
                return;
            }
            ++probe_records;
            ProbeRecord r;
            r.dst = info.resp.addr;
            r.port = port;
            r.transport = info.transport;
            r.first_ts = ts;
            r.first_flow = info.id;
            s->records.push_back(std::move(r));
            s->index_last(key);
        } else {
            ProbeRecord& r = s->records[idx];
            if (r.more_flows.size() + 1 < kMaxEvidenceFlows)
                r.more_flows.push_back(info.id);
        }
        ProbeRecord& r = s->records[idx];
        ++r.attempts;
        r.last_ts = std::max(r.last_ts, ts);
        tag.scanner = s;
        tag.probe = idx;
    }

    void scans(std::vector<Scan>& out, const MailExchanges& mx, std::vector<MailAttempts>& mail);
};

TrafficDetector::TrafficDetector(const Config& config) : impl_(std::make_unique<Impl>(config)) {}
TrafficDetector::~TrafficDetector() = default;

void TrafficDetector::flow_start(FlowTag& tag, const FlowInfo& info, const PacketFacts& first,
                                 bool flipped) {
    Impl& m = *impl_;
    tag.first_packet = tag.last_packet = first.number;
    // A SYN-ACK seen first was sent to the flow's originator (the engine flipped it): that
    // receiver is what a reflection floods, so the flow counts towards it.
    tag.reflected = flipped && info.transport == Transport::kTcp &&
                    (first.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck);
    const IpAddress& target = tag.reflected ? info.orig.addr : info.resp.addr;
    bool made;
    Target& t = m.targets.get(target, made);
    ++t.refs;
    t.last = std::max(t.last, first.ts);
    tag.target = &t;

    if (flipped)
        return;
    switch (info.transport) {
        case Transport::kTcp:
            tag.attempt = (first.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpSyn;
            break;
        case Transport::kUdp:
            // A reply whose request was not captured is no probe of the client's port, nor is
            // a server's answer to requests forged in the receiver's name (a reflection).
            tag.attempt =
                info.orig.port != 53 && info.orig.port != 123 &&
                !((info.orig.port < 1024 || info.orig.port == 1900) && info.resp.port >= 1024);
            break;
        case Transport::kIcmp:
        case Transport::kIcmp6:
            tag.attempt = first.icmp_type == (info.transport == Transport::kIcmp ? 8 : 128);
            break;
        case Transport::kOther:
            break;
    }
    if (tag.attempt)
        m.start_probe(tag, info, first.ts);
}

void TrafficDetector::packet(FlowTag& tag, const FlowInfo& info, const PacketFacts& p) {
    Impl& m = *impl_;
    tag.last_packet = p.number;
    Target* t = tag.target;
    if (!t)
        return;
    t->last = std::max(t->last, p.ts);
    if (tag.reflected) {
        // From the reflecting server (the responder) to the target: SYN-ACKs are the flood;
        // the target's RSTs back are replies.
        Episode* live = t->ep[kSynAck].get();
        if (p.dir == Direction::kOrig) {
            if (live && live->active && tag.episode_seq[0] == live->seq)
                ++live->replies;
            return;
        }
        if ((p.tcp_flags & (kTcpSyn | kTcpAck)) != (kTcpSyn | kTcpAck))
            return;
        Episode& e = m.live_episode(*t, kSynAck, p.ts, p.number);
        if (tag.episode_seq[0] != e.seq) {
            tag.episode_seq[0] = e.seq;
            ++e.connections;
            m.note_flow(e, info.id);
        }
        m.count(e, p, 1);
        m.note_source(e, info.resp.addr);
        m.note_port(e, info.orig.port);
        m.note_src_port(e, info.resp.port);
        return;
    }
    bool to_target = p.dir == Direction::kOrig;
    switch (info.transport) {
        case Transport::kTcp: {
            if (to_target && (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn) {
                Episode& e = m.live_episode(*t, kSyn, p.ts, p.number);
                if (tag.episode_seq[0] != e.seq) {
                    tag.episode_seq[0] = e.seq;
                    ++e.connections;
                    m.note_flow(e, info.id);
                }
                m.count(e, p, 1);
                m.note_source(e, info.orig.addr);
                m.note_port(e, info.resp.port);
                return;
            }
            if (!to_target) {
                if (t->ep[kSyn] && t->ep[kSyn]->active && tag.episode_seq[0] == t->ep[kSyn]->seq)
                    ++t->ep[kSyn]->replies;
                if (t->ep[kConnect] && t->ep[kConnect]->active &&
                    tag.episode_seq[1] == t->ep[kConnect]->seq)
                    ++t->ep[kConnect]->replies;
                return;
            }
            Episode* c = t->ep[kConnect].get();
            if (c && c->active && tag.episode_seq[1] == c->seq) {
                // Packets of an attributed connection count, but do not keep the episode alive.
                c->packets += 1;
                c->bytes += p.wire_len;
                c->packet_bins.add(p.ts, 1);
                c->byte_bins.add(p.ts, p.wire_len);
                c->last_number = std::max(c->last_number, p.number);
            }
            return;
        }
        case Transport::kUdp: {
            if (!to_target) {
                if (t->ep[kUdp] && t->ep[kUdp]->active)
                    ++t->ep[kUdp]->replies;
                return;
            }
            Episode& e = m.live_episode(*t, kUdp, p.ts, p.number);
            if (tag.episode_seq[0] != e.seq) {
                tag.episode_seq[0] = e.seq;
                m.note_flow(e, info.id);
            }
            m.count(e, p, 1);
            m.note_source(e, info.orig.addr);
            m.note_port(e, info.resp.port);
            m.note_src_port(e, info.orig.port);
            return;
        }
        case Transport::kIcmp:
        case Transport::kIcmp6: {
            if (!to_target) {
                if (t->ep[kIcmp] && t->ep[kIcmp]->active)
                    ++t->ep[kIcmp]->replies;
                return;
            }
            if (!is_icmp_request(info.transport, p.icmp_type))
                return;
            Episode& e = m.live_episode(*t, kIcmp, p.ts, p.number);
            if (tag.episode_seq[0] != e.seq) {
                tag.episode_seq[0] = e.seq;
                m.note_flow(e, info.id);
            }
            m.count(e, p, 1);
            m.note_source(e, info.orig.addr);
            return;
        }
        case Transport::kOther:
            return;
    }
}

void TrafficDetector::handshake(FlowTag& tag, const FlowInfo& info, const PacketFacts& p) {
    Impl& m = *impl_;
    if (tag.handshake || !tag.target || tag.reflected)
        return;
    tag.handshake = true;
    Target& t = *tag.target;
    if (t.ep[kSyn] && t.ep[kSyn]->active && tag.episode_seq[0] == t.ep[kSyn]->seq)
        ++t.ep[kSyn]->handshakes;
    Episode& e = m.live_episode(t, kConnect, p.ts, p.number);
    tag.episode_seq[1] = e.seq;
    ++e.connections;
    ++e.handshakes;
    m.note_flow(e, info.id);
    m.count(e, p, 1);
    m.note_source(e, info.orig.addr);
    m.note_port(e, info.resp.port);
}

void TrafficDetector::icmp_error(FlowTag& tag, const FlowInfo& info, const IpAddress& from) {
    tag.icmp_error = true;
    if (from == info.resp.addr)
        tag.icmp_from_target = true;
}

void TrafficDetector::flow_end(FlowTag& tag, const FlowFacts& f) {
    Impl& m = *impl_;
    const FlowInfo& info = *f.info;
    if (tag.scanner) {
        ProbeRecord& r = tag.scanner->records[tag.probe];
        r.packets += f.packets[0];
        r.bytes += f.bytes[0];
        if (r.first_number == 0 || tag.first_packet < r.first_number)
            r.first_number = tag.first_packet;
        r.last_number = std::max(r.last_number, tag.last_packet);
        bool answered = f.packets[1] > 0;
        bool productive = false;
        bool open = false;
        switch (info.transport) {
            case Transport::kTcp:
                productive = f.payload[1] > 0 || (f.synack && f.payload[0] > 0);
                open = f.synack;
                break;
            case Transport::kUdp:
                productive = open = f.payload[1] > 0 || (answered && !tag.icmp_error);
                break;
            default:
                productive = open = answered;
                break;
        }
        r.answered |= answered || tag.icmp_from_target;
        r.productive |= productive;
        r.open |= open;
        r.icmp_errors += tag.icmp_error ? 1 : 0;
        tag.scanner = nullptr;
    }
    if (tag.target) {
        m.release(*tag.target, info.start);
        tag.target = nullptr;
    }
}

void TrafficDetector::sweep(Timestamp now) {
    Impl& m = *impl_;
    while (!m.idle.empty() && m.idle.front().second + m.cfg.idle_gap < now) {
        IpAddress addr = m.idle.front().first;
        m.idle.pop_front();
        Target* found = m.targets.find(addr);
        if (!found)
            continue;
        Target& t = *found;
        if (t.refs > 0 || t.last + m.cfg.idle_gap >= now)
            continue;  // busy again since; a later entry covers it
        for (int k = 0; k < kKinds; ++k)
            if (t.ep[k])
                m.close(t, static_cast<Kind>(k));
        m.recycle(t);
        m.targets.erase(t);
    }
}

void TrafficDetector::finish(BehaviorResult& out, const MailExchanges& mx) {
    Impl& m = *impl_;
    std::vector<Target*> order;
    order.reserve(m.targets.size());
    m.targets.for_each([&order](Target& t) { order.push_back(&t); });
    // Closing order decides the findings' order before the final sort; make it stable.
    std::sort(order.begin(), order.end(),
              [](const Target* a, const Target* b) { return a->addr < b->addr; });
    for (Target* t : order)
        for (int k = 0; k < kKinds; ++k)
            if (t->ep[k])
                m.close(*t, static_cast<Kind>(k));
    m.targets.clear();
    m.idle.clear();

    std::set<IpAddress> hosts(out.hosts.begin(), out.hosts.end());
    for (auto& pf : m.floods) {
        const Transport tr = pf.flood.kind == "syn"   ? Transport::kTcp
                             : pf.flood.kind == "udp" ? Transport::kUdp
                                                      : Transport::kOther;
        // A scan comes from a few hosts: a flood's many (spoofed) sources need no entry.
        if (tr != Transport::kOther && pf.sources.size() <= kMaxFlooders)
            for (const auto& src : pf.sources)
                m.flooded.emplace(src, pf.flood.target, tr);
        if (!hosts.empty()) {
            // Past the list, the analysed hosts among the sources are known only if listed: a
            // handful against an estimate of thousands.
            std::uint64_t own = 0;
            for (const auto& s : pf.sources)
                own += hosts.count(s);
            pf.flood.spoofed_sources = pf.flood.sources - own;
        }
        out.floods.push_back(std::move(pf.flood));
    }
    m.floods.clear();
    out.dropped += m.dropped;
    m.scans(out.scans, mx, out.mail_attempts);
    if (out.scans.size() > kMaxFindings) {
        out.dropped += out.scans.size() - kMaxFindings;
        out.scans.resize(kMaxFindings);
    }
}

namespace {

/// IPv4 addresses as numbers for range merging; IPv6 by their last 8 bytes within the same
/// first 8.
bool adjacent(const IpAddress& a, const IpAddress& b) {
    if (a.v6 != b.v6)
        return false;
    std::size_t n = a.v6 ? 16 : 4;
    IpAddress next = a;
    for (std::size_t i = n; i-- > 0;) {
        if (++next.bytes[i] != 0)
            break;
        if (i == 0)
            return false;
    }
    return next == b;
}

/// Calls `fn(value, count)` for each run of equal values in sorted `v`.
template <typename T, typename F>
void for_each_run(const std::vector<T>& v, F&& fn) {
    for (std::size_t i = 0; i < v.size();) {
        std::size_t j = i + 1;
        while (j < v.size() && v[j] == v[i])
            ++j;
        fn(v[i], j - i);
        i = j;
    }
}

}  // namespace

void TrafficDetector::Impl::scans(std::vector<Scan>& out, const MailExchanges& mx,
                                  std::vector<MailAttempts>& mail) {
    std::vector<std::uint8_t> explained;
    std::vector<std::uint16_t> ports_all, ports_unproductive;
    std::vector<IpAddress> by_addr, addrs;
    for (Scanner* s : scanner_order) {
        // Port-25 attempts to exchanges the client had just looked up: a spam run starting.
        const auto learned = mx.find(s->addr);
        auto mailing = [&](const ProbeRecord& r) {
            if (learned == mx.end() || r.transport != Transport::kTcp || r.port != 25)
                return false;
            auto it = learned->second.find(r.dst);
            return it != learned->second.end() && it->second <= r.first_ts;
        };
        MailAttempts tried;
        for (const auto& r : s->records) {
            if (!mailing(r) || r.productive)
                continue;
            if (tried.servers.empty() || r.first_ts < tried.start)
                tried.start = r.first_ts;
            tried.end = std::max(tried.end, r.last_ts);
            tried.servers.push_back({r.dst, r.port});
            tried.attempts += r.attempts;
            if (tried.flows.size() < kMaxEvidenceFlows)
                tried.flows.push_back(r.first_flow);
        }
        if (!tried.servers.empty()) {
            tried.client = s->addr;
            mail.push_back(std::move(tried));
        }
        // Whether a flood or the spam run explains a record, decided once per record rather
        // than in every pass of every transport (`flooded` is a tree).
        explained.assign(s->records.size(), 0);
        for (std::size_t i = 0; i < s->records.size(); ++i) {
            const ProbeRecord& r = s->records[i];
            explained[i] = flooded.count({s->addr, r.dst, r.transport}) > 0 || mailing(r);
        }
        // A record is one (address, port) of a transport, so within a transport a count of
        // records is a count of distinct addresses per port, or of distinct ports per address.
        // Sorted vectors, not trees: a scanner holds up to kMaxProbeRecords records, and a node
        // per probe made this the costliest step of a scan-heavy capture.
        for (Transport tr :
             {Transport::kTcp, Transport::kUdp, Transport::kIcmp, Transport::kIcmp6}) {
            // Scan ports: those where most probes, to at least two addresses, went unanswered
            // (a port the host also uses for real work, such as 80 while browsing, is not one).
            // Horizontal: the unproductive probes on scan ports reach many addresses. Vertical: one
            // address had many of its ports probed without a productive answer.
            // An echo reply only says that a host is there, which is what a ping sweep asks: for
            // ICMP every probe counts as a scan's, answered or not (targets_answered says how
            // many were alive).
            const bool discovery = tr == Transport::kIcmp || tr == Transport::kIcmp6;
            auto scan_like = [discovery](const ProbeRecord& r) {
                return discovery || !r.productive;
            };
            ports_all.clear();
            ports_unproductive.clear();
            by_addr.clear();
            for (std::size_t i = 0; i < s->records.size(); ++i) {
                const ProbeRecord& r = s->records[i];
                if (r.transport != tr || explained[i])
                    continue;
                ports_all.push_back(r.port);
                if (scan_like(r)) {
                    ports_unproductive.push_back(r.port);
                    by_addr.push_back(r.dst);
                }
            }
            if (ports_all.empty())
                continue;
            std::sort(ports_all.begin(), ports_all.end());
            std::sort(ports_unproductive.begin(), ports_unproductive.end());
            std::vector<std::uint16_t> scan_ports;
            for_each_run(ports_unproductive, [&](std::uint16_t port, std::size_t unproductive) {
                auto [lo, hi] = std::equal_range(ports_all.begin(), ports_all.end(), port);
                auto all = static_cast<double>(hi - lo);
                // One unanswered address on a port is no sign of an address scan on it.
                if (unproductive >= 2 &&
                    static_cast<double>(unproductive) >= scan_cfg.min_unproductive_share * all)
                    scan_ports.push_back(port);
            });
            auto on_scan_port = [&](std::uint16_t port) {
                return std::binary_search(scan_ports.begin(), scan_ports.end(), port);
            };
            addrs.clear();
            for (std::size_t i = 0; i < s->records.size(); ++i) {
                const ProbeRecord& r = s->records[i];
                if (r.transport == tr && !explained[i] && scan_like(r) && on_scan_port(r.port))
                    addrs.push_back(r.dst);
            }
            std::sort(addrs.begin(), addrs.end());
            bool horizontal = static_cast<std::uint64_t>(std::unique(addrs.begin(), addrs.end()) -
                                                         addrs.begin()) >= scan_cfg.min_addresses;
            std::vector<IpAddress> v_addrs;
            bool has_ports = tr == Transport::kTcp || tr == Transport::kUdp;
            if (has_ports) {
                std::sort(by_addr.begin(), by_addr.end());
                for_each_run(by_addr, [&](const IpAddress& addr, std::size_t ports) {
                    if (ports >= scan_cfg.min_ports)
                        v_addrs.push_back(addr);
                });
            }
            if (!horizontal && v_addrs.empty())
                continue;
            if (!horizontal)
                scan_ports.clear();  // then only the vertical scan's addresses select records

            Scan sc;
            sc.kind = horizontal && !v_addrs.empty() ? "combined"
                      : horizontal                   ? "horizontal"
                                                     : "vertical";
            sc.scanner = s->addr;
            sc.transport = tr;
            std::vector<std::uint16_t> port_targets;
            std::vector<IpAddress> targets;
            std::vector<IpAddress> answered;
            std::vector<Endpoint> open;
            std::vector<FlowId> flows;
            std::uint64_t unproductive_attempts = 0;
            std::vector<Timestamp> starts;
            bool first = true;
            for (std::size_t i = 0; i < s->records.size(); ++i) {
                const ProbeRecord& r = s->records[i];
                if (r.transport != tr || explained[i] ||
                    (!on_scan_port(r.port) &&
                     !std::binary_search(v_addrs.begin(), v_addrs.end(), r.dst)))
                    continue;
                sc.probes += r.attempts;
                unproductive_attempts += r.productive ? 0 : r.attempts;
                port_targets.push_back(r.port);
                targets.push_back(r.dst);
                if (r.answered)
                    answered.push_back(r.dst);
                if (r.open)
                    open.push_back({r.dst, r.port});
                sc.icmp_errors += r.icmp_errors;
                sc.volume.packets += r.packets;
                sc.volume.bytes += r.bytes;
                if (first || r.first_ts < sc.volume.start)
                    sc.volume.start = r.first_ts;
                sc.volume.end = first ? r.last_ts : std::max(sc.volume.end, r.last_ts);
                if (r.first_number &&
                    (sc.volume.first_packet == 0 || r.first_number < sc.volume.first_packet))
                    sc.volume.first_packet = r.first_number;
                sc.volume.last_packet = std::max(sc.volume.last_packet, r.last_number);
                flows.push_back(r.first_flow);
                flows.insert(flows.end(), r.more_flows.begin(), r.more_flows.end());
                starts.push_back(r.first_ts);
                first = false;
            }
            sc.unproductive = unproductive_attempts;
            if (!discovery && static_cast<double>(unproductive_attempts) <
                                  scan_cfg.min_unproductive_share * static_cast<double>(sc.probes))
                continue;

            std::vector<std::pair<std::uint16_t, std::uint64_t>> ports;
            std::sort(port_targets.begin(), port_targets.end());
            for_each_run(port_targets,
                         [&](std::uint16_t port, std::size_t n) { ports.emplace_back(port, n); });
            std::stable_sort(ports.begin(), ports.end(),
                             [](const auto& a, const auto& b) { return a.second > b.second; });
            sc.ports_total = has_ports ? ports.size() : 0;
            if (has_ports)
                for (std::size_t i = 0; i < ports.size() && i < kMaxListed; ++i)
                    sc.ports.push_back(ports[i]);
            std::sort(targets.begin(), targets.end());
            targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
            sc.targets = targets.size();
            for (const auto& a : targets) {
                if (!sc.ranges.empty() && adjacent(sc.ranges.back().last, a)) {
                    sc.ranges.back().last = a;
                } else if (sc.ranges.size() < kMaxListed) {
                    sc.ranges.push_back({a, a});
                } else {
                    break;
                }
            }
            std::sort(answered.begin(), answered.end());
            sc.targets_answered = static_cast<std::uint64_t>(
                std::unique(answered.begin(), answered.end()) - answered.begin());
            std::sort(open.begin(), open.end());
            sc.open_total = open.size();
            if (open.size() > kMaxListed)
                open.resize(kMaxListed);
            sc.open = std::move(open);
            std::sort(flows.begin(), flows.end());
            sc.evidence.flows_total = sc.probes;
            flows.resize(std::min(flows.size(), kMaxEvidenceFlows));
            sc.evidence.flows = std::move(flows);
            // Rates in probes (distinct target ports) per second.
            std::sort(starts.begin(), starts.end());
            SecondBins bins;
            for (Timestamp t : starts)
                bins.add(t, 1);
            sc.volume.peak_pps = static_cast<double>(bins.final_peak());
            sc.volume.peak_bps.reset();
            Timestamp d = sc.volume.end - sc.volume.start;
            if (d > 0) {
                sc.volume.mean_pps = per_second(static_cast<double>(starts.size()), d);
                sc.volume.mean_bps = per_second(static_cast<double>(sc.volume.bytes) * 8, d);
            }
            out.push_back(std::move(sc));
        }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Scan& a, const Scan& b) { return a.volume.start < b.volume.start; });
}

}  // namespace botscope::analysis::detect
