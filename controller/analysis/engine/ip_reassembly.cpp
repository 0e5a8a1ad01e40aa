#include "analysis/engine/ip_reassembly.h"

#include "analysis/engine/engine_weirds.h"

#include <algorithm>
#include <cstring>

namespace botscope::analysis {

void IpReassembler::erase(std::map<Key, Datagram>::iterator it) {
    ages_.erase(it->second.age);
    pending_.erase(it);
}

std::size_t IpReassembler::expire(Timestamp now) {
    std::size_t n = 0;
    while (!ages_.empty()) {
        auto it = pending_.find(ages_.front());
        if (it == pending_.end() || now - it->second.first_ts < kFragmentTimeout)
            break;
        erase(it);
        ++n;
    }
    return n;
}

IpReassembler::Result IpReassembler::add(const PacketView& pkt, Timestamp ts) {
    const FragmentInfo& f = pkt.frag;
    Key key{pkt.src, pkt.dst, f.id, f.next_proto};
    auto it = pending_.find(key);
    if (it == pending_.end()) {
        if (pending_.size() >= kMaxPending) {
            auto oldest = pending_.find(ages_.front());
            if (oldest != pending_.end())
                erase(oldest);
        }
        it = pending_.emplace(key, Datagram{}).first;
        it->second.first_ts = ts;
        ages_.push_back(key);
        it->second.age = std::prev(ages_.end());
    }
    Datagram& d = it->second;

    // Only the captured bytes of a fragment can be placed; a snap-length cut leaves a hole and
    // the datagram never completes, which is the honest outcome.
    std::uint64_t begin = f.offset;
    std::uint64_t end = begin + f.data.size();
    if (end > kMaxDatagram || ++d.fragments > kMaxFragments) {
        erase(it);
        return {Outcome::kDropped, kWeirdIpFragmentLimit};
    }
    if (!f.more) {
        std::uint64_t wire_end = begin + pkt.payload_len;
        if (d.have_last && d.total != wire_end) {
            erase(it);
            return {Outcome::kDropped, kWeirdIpFragmentInconsistent};
        }
        d.have_last = true;
        d.total = static_cast<std::uint32_t>(std::min<std::uint64_t>(wire_end, kMaxDatagram));
    }
    if (d.data.size() < end)
        d.data.resize(end);

    // Copy only the parts not already covered (first arrival wins).
    std::uint64_t pos = begin;
    auto r = d.ranges.upper_bound(static_cast<std::uint32_t>(begin));
    if (r != d.ranges.begin())
        --r;
    std::string_view weird;
    while (pos < end) {
        while (r != d.ranges.end() && r->second <= pos)
            ++r;
        std::uint64_t next_covered =
            (r == d.ranges.end()) ? end : std::max<std::uint64_t>(r->first, pos);
        if (next_covered > pos) {
            std::uint64_t stop = std::min(next_covered, end);
            std::memcpy(d.data.data() + pos, f.data.data() + (pos - begin), stop - pos);
            pos = stop;
        } else {
            weird = kWeirdIpFragmentOverlap;
            pos = std::min<std::uint64_t>(r->second, end);
        }
    }
    // Merge [begin, end) into the covered ranges.
    std::uint32_t nb = static_cast<std::uint32_t>(begin), ne = static_cast<std::uint32_t>(end);
    auto m = d.ranges.upper_bound(nb);
    if (m != d.ranges.begin() && std::prev(m)->second >= nb)
        --m;
    while (m != d.ranges.end() && m->first <= ne) {
        nb = std::min(nb, m->first);
        ne = std::max(ne, m->second);
        m = d.ranges.erase(m);
    }
    if (ne > nb)
        d.ranges.emplace(nb, ne);

    if (d.have_last && d.ranges.size() == 1 && d.ranges.begin()->first == 0 &&
        d.ranges.begin()->second >= d.total) {
        done_.assign(d.data.begin(), d.data.begin() + d.total);
        erase(it);
        return {Outcome::kComplete, weird};
    }
    return {Outcome::kIncomplete, weird};
}

}  // namespace botscope::analysis
