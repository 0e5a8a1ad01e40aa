#include "analysis/detect/beacon.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "util/text.h"

namespace botscope::analysis::detect {

namespace {

/// Median of sorted values; the mean of the middle two for an even count.
double median_of(const std::vector<double>& sorted) {
    const std::size_t n = sorted.size();
    if (n == 0)
        return 0;
    if (n % 2 == 1)
        return sorted[n / 2];
    return (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

}  // namespace

std::string uri_pattern(std::string_view target) {
    // Absolute form (a proxy request, or a bot that writes it anyway): keep the path.
    if (auto scheme = target.find("://");
        scheme != std::string_view::npos && target.find('/') > scheme) {
        auto path = target.find_first_of("/?#", scheme + 3);
        target = path != std::string_view::npos && target[path] == '/' ? target.substr(path)
                                                                       : std::string_view("/");
    }
    auto cut = target.find_first_of("?#");
    if (cut != std::string_view::npos)
        target = target.substr(0, cut);
    std::string out;
    out.reserve(target.size());
    bool in_digits = false;
    for (char c : target) {
        bool digit = c >= '0' && c <= '9';
        if (digit && !in_digits)
            out += 'N';
        else if (!digit)
            out += c;
        in_digits = digit;
    }
    return out;
}

void BeaconTracker::request(const http::HttpTransaction& t) {
    if (!t.has_request)
        return;
    Key k{t.client.addr, t.server, util::to_lower(t.host), uri_pattern(t.uri)};
    auto it = groups_.find(k);
    if (it == groups_.end()) {
        if (groups_.size() >= kMaxGroups) {
            ++untracked_;
            return;
        }
        it = groups_.emplace(std::move(k), Group{}).first;
    }
    Group& g = it->second;
    ++g.total;
    g.last = std::max(g.last, t.request_ts);
    if (g.requests.size() < kMaxGroupRequests)
        g.requests.push_back({t.request_ts, t.flow});
}

std::vector<Beacon> detect_beacons(const NetworkResult& net, const BeaconConfig& cfg,
                                   std::uint64_t& dropped) {
    BeaconTracker tracker;
    for (const auto& t : net.http.transactions)
        tracker.request(t);
    return tracker.finish(cfg, dropped);
}

std::vector<Beacon> BeaconTracker::finish(const BeaconConfig& cfg, std::uint64_t& dropped) const {
    const std::uint64_t min_requests = std::max<std::uint64_t>(cfg.min_requests, 2);
    std::vector<Beacon> beacons;
    for (const auto& [key, group] : groups_) {
        if (group.total < min_requests || group.requests.size() < 2)
            continue;
        std::vector<Request> requests = group.requests;
        std::sort(requests.begin(), requests.end(), [](const Request& a, const Request& b) {
            return a.ts != b.ts ? a.ts < b.ts : a.flow < b.flow;
        });
        std::vector<double> intervals;
        intervals.reserve(requests.size() - 1);
        for (std::size_t i = 1; i < requests.size(); ++i)
            intervals.push_back(to_seconds(requests[i].ts - requests[i - 1].ts));
        std::vector<double> sorted = intervals;
        std::sort(sorted.begin(), sorted.end());
        const double median = median_of(sorted);
        // A zero median (requests sharing timestamps) has no period and would divide by zero.
        if (!(median > 0) || median < to_seconds(cfg.min_period) ||
            median > to_seconds(cfg.max_period))
            continue;
        double deviation = 0;
        for (double iv : intervals)
            deviation += iv > median ? iv - median : median - iv;
        const double jitter = deviation / static_cast<double>(intervals.size()) / median;
        if (jitter > cfg.max_jitter)
            continue;

        Beacon b;
        b.client = key.client;
        b.server = key.server;
        b.host = key.host;
        b.uri_pattern = key.pattern;
        b.requests = group.total;
        b.period = median;
        b.jitter = jitter;
        b.start = requests.front().ts;
        b.end = std::max(requests.back().ts, group.last);
        std::vector<FlowId> flows;
        flows.reserve(requests.size());
        for (const Request& r : requests)
            flows.push_back(r.flow);
        std::sort(flows.begin(), flows.end());
        flows.erase(std::unique(flows.begin(), flows.end()), flows.end());
        b.evidence.flows_total = flows.size();
        if (flows.size() > kMaxEvidenceFlows)
            flows.resize(kMaxEvidenceFlows);
        b.evidence.flows = std::move(flows);
        beacons.push_back(std::move(b));
    }
    std::sort(beacons.begin(), beacons.end(), [](const Beacon& a, const Beacon& b) {
        return std::tie(a.start, a.client, a.server, a.host, a.uri_pattern) <
               std::tie(b.start, b.client, b.server, b.host, b.uri_pattern);
    });
    if (beacons.size() > kMaxFindings) {
        dropped += beacons.size() - kMaxFindings;
        beacons.resize(kMaxFindings);
    }
    return beacons;
}

}  // namespace botscope::analysis::detect
