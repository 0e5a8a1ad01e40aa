#include "analysis/detect/http_flood.h"

#include <algorithm>
#include <map>
#include <set>

namespace botscope::analysis::detect {

namespace {

struct Request {
    Timestamp ts;
    FlowId flow;
    IpAddress client;
};

void emit(const NetworkResult& net, const FloodConfig& cfg, const Endpoint& server,
          const std::vector<Request>& reqs, std::vector<Flood>& out, std::uint64_t& dropped) {
    std::uint64_t peak = 0, cur = 0;
    std::int64_t sec = 0;
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        std::int64_t s = reqs[i].ts / kSecond;
        if (i == 0 || s != sec) {
            peak = std::max(peak, cur);
            cur = 0;
            sec = s;
        }
        ++cur;
    }
    peak = std::max(peak, cur);
    if (reqs.size() < cfg.http_min_requests ||
        static_cast<double>(peak) < cfg.http_min_peak_per_second)
        return;
    if (out.size() >= kMaxFindings) {
        ++dropped;
        return;
    }
    Flood f;
    f.kind = "http";
    f.target = server.addr;
    f.ports = {server.port};
    f.ports_total = 1;
    f.events = reqs.size();
    f.peak_events_per_second = static_cast<double>(peak);
    std::set<IpAddress> sources;
    std::set<FlowId> flows;
    for (const auto& r : reqs) {
        sources.insert(r.client);
        flows.insert(r.flow);
    }
    f.sources = sources.size();
    f.connections = flows.size();
    Volume& v = f.volume;
    v.start = reqs.front().ts;
    v.end = reqs.back().ts;
    for (FlowId id : flows) {
        if (const FlowRecord* r = net.find_flow(id)) {
            v.packets += r->packets[0];
            v.bytes += r->bytes[0];
            f.replies += r->packets[1];
            if (r->state == "SF" || r->state == "S1" || r->state == "S2" || r->state == "S3" ||
                r->state == "RSTO" || r->state == "RSTR")
                ++f.handshakes;
        }
        if (f.evidence.flows.size() < kMaxEvidenceFlows)
            f.evidence.flows.push_back(id);
    }
    f.evidence.flows_total = flows.size();
    Timestamp d = v.end - v.start;
    if (d > 0) {
        double secs = static_cast<double>(d) / 1e9;
        v.mean_pps = static_cast<double>(v.packets) / secs;
        v.mean_bps = static_cast<double>(v.bytes) * 8 / secs;
    }
    out.push_back(std::move(f));
}

}  // namespace

std::vector<Flood> detect_http_floods(const NetworkResult& net, const FloodConfig& cfg,
                                      std::uint64_t& dropped) {
    std::map<Endpoint, std::vector<Request>> by_server;
    for (const auto& t : net.http.transactions)
        if (t.has_request)
            by_server[t.server].push_back({t.request_ts, t.flow, t.client.addr});
    std::vector<Flood> out;
    for (auto& [server, reqs] : by_server) {
        std::stable_sort(reqs.begin(), reqs.end(),
                         [](const Request& a, const Request& b) { return a.ts < b.ts; });
        std::size_t begin = 0;
        for (std::size_t i = 1; i <= reqs.size(); ++i) {
            if (i == reqs.size() || reqs[i].ts - reqs[i - 1].ts > cfg.idle_gap) {
                std::vector<Request> episode(reqs.begin() + static_cast<std::ptrdiff_t>(begin),
                                             reqs.begin() + static_cast<std::ptrdiff_t>(i));
                emit(net, cfg, server, episode, out, dropped);
                begin = i;
            }
        }
    }
    return out;
}

}  // namespace botscope::analysis::detect
