#include "analysis/detect/http_flood.h"

#include <algorithm>

namespace botscope::analysis::detect {

void HttpFloodTracker::count_second(Episode& e, Timestamp ts) {
    const std::int64_t s = ts / kSecond;
    auto& [second, count] = e.bins[static_cast<std::size_t>(s) % kPeakWindow];
    if (second == s) {
        ++count;
    } else if (s > second) {
        // The second this bin held has left the window: it is final.
        e.peak = std::max(e.peak, count);
        second = s;
        count = 1;
    }
    // Older than the window: counted as a request, not towards the peak.
}

std::uint64_t HttpFloodTracker::peak_of(const Episode& e) {
    std::uint64_t peak = e.peak;
    for (const auto& [second, count] : e.bins)
        peak = std::max(peak, count);
    return peak;
}

void HttpFloodTracker::close(Episode& e) {
    const std::uint64_t peak = peak_of(e);
    if (e.requests < cfg_.http_min_requests ||
        static_cast<double>(peak) < cfg_.http_min_peak_per_second)
        return;
    if (found_.size() >= kMaxFindings) {
        ++dropped_;
        return;
    }
    e.peak = peak;
    const std::uint64_t id = e.id;
    found_.emplace(id, std::move(e));
}

bool HttpFloodTracker::make_room(Timestamp now) {
    if (open_.size() < kMaxOpenEpisodes)
        return true;
    if (now < full_until_)
        return false;
    for (auto it = open_.begin(); it != open_.end();) {
        if (now - it->second.end > cfg_.idle_gap) {
            close(it->second);
            it = open_.erase(it);
        } else {
            ++it;
        }
    }
    if (open_.size() < kMaxOpenEpisodes)
        return true;
    // Every server is busy: sweeping again before any can go idle would only cost time.
    full_until_ = now + cfg_.idle_gap;
    return false;
}

void HttpFloodTracker::request(const http::HttpTransaction& t) {
    if (!t.has_request)
        return;
    const Timestamp ts = t.request_ts;
    auto it = open_.find(t.server);
    if (it != open_.end() && ts - it->second.end > cfg_.idle_gap) {
        close(it->second);
        open_.erase(it);
        it = open_.end();
    }
    if (it == open_.end()) {
        if (!make_room(ts)) {
            ++untracked_;
            return;
        }
        Episode e;
        e.id = next_id_++;
        e.server = t.server;
        e.start = ts;
        e.end = ts;
        it = open_.emplace(t.server, std::move(e)).first;
    }
    Episode& e = it->second;
    ++e.requests;
    e.start = std::min(e.start, ts);
    e.end = std::max(e.end, ts);
    count_second(e, ts);

    if (!e.sketch) {
        if (std::find(e.sources.begin(), e.sources.end(), t.client.addr) == e.sources.end())
            e.sources.push_back(t.client.addr);
        if (e.sources.size() > kMaxExactSources) {
            e.sketch = std::make_unique<DistinctCounter>();
            for (const IpAddress& a : e.sources)
                e.sketch->add(DistinctCounter::hash(a));
            e.sources.clear();
        }
    } else {
        e.sketch->add(DistinctCounter::hash(t.client.addr));
    }

    auto [f, fresh] = flow_episode_.try_emplace(t.flow, Binding{e.server, e.id});
    if (fresh || f->second.id != e.id) {
        f->second = Binding{e.server, e.id};
        ++e.connections;
        if (e.evidence.size() < kMaxEvidenceFlows || t.flow < e.evidence.back()) {
            e.evidence.insert(std::upper_bound(e.evidence.begin(), e.evidence.end(), t.flow),
                              t.flow);
            if (e.evidence.size() > kMaxEvidenceFlows)
                e.evidence.pop_back();
        }
    }
}

void HttpFloodTracker::flow_end(const FlowRecord& r) {
    auto f = flow_episode_.find(r.id);
    if (f == flow_episode_.end())
        return;
    const Binding b = f->second;
    flow_episode_.erase(f);
    Episode* e = nullptr;
    if (auto o = open_.find(b.server); o != open_.end() && o->second.id == b.id)
        e = &o->second;
    else if (auto c = found_.find(b.id); c != found_.end())
        e = &c->second;
    if (e == nullptr)
        return;  // its episode closed and was no flood
    e->packets += r.packets[0];
    e->bytes += r.bytes[0];
    e->replies += r.packets[1];
    if (r.state == "SF" || r.state == "S1" || r.state == "S2" || r.state == "S3" ||
        r.state == "RSTO" || r.state == "RSTR")
        ++e->handshakes;
}

std::vector<Flood> HttpFloodTracker::finish(std::uint64_t& dropped) {
    for (auto& [server, e] : open_)
        close(e);
    open_.clear();
    std::vector<Flood> out;
    out.reserve(found_.size());
    for (auto& [id, e] : found_) {
        Flood f;
        f.kind = "http";
        f.target = e.server.addr;
        f.ports = {e.server.port};
        f.ports_total = 1;
        f.events = e.requests;
        f.peak_events_per_second = static_cast<double>(e.peak);
        if (e.sketch) {
            f.sources = e.sketch->estimate();
            f.sources_estimated = true;
        } else {
            f.sources = e.sources.size();
        }
        f.connections = e.connections;
        f.handshakes = e.handshakes;
        f.replies = e.replies;
        Volume& v = f.volume;
        v.start = e.start;
        v.end = e.end;
        v.packets = e.packets;
        v.bytes = e.bytes;
        if (const Timestamp d = v.end - v.start; d > 0) {
            const double secs = static_cast<double>(d) / 1e9;
            v.mean_pps = static_cast<double>(v.packets) / secs;
            v.mean_bps = static_cast<double>(v.bytes) * 8 / secs;
        }
        f.evidence.flows = std::move(e.evidence);
        f.evidence.flows_total = e.connections;
        out.push_back(std::move(f));
    }
    found_.clear();
    dropped += dropped_;
    return out;
}

}  // namespace botscope::analysis::detect
