#pragma once
// HTTP request floods, counted while the analysis runs from every HTTP transaction as the
// analyzer closes it, so the counts stay true past the HTTP result's memory cap (a bot told to
// flood a web server for a minute sends far more requests than the report keeps).
//
// Requests to one server endpoint form episodes split by `flood.idle_gap`; an episode with at
// least `flood.http_min_requests` requests and a busiest second of
// `flood.http_min_peak_per_second` is a flood. Packets and bytes are those the clients sent on
// the connections that carried the requests (added as each connection ends), so the
// per-second packet peaks are not known.
//
// Limits: kMaxOpenEpisodes servers tracked at once (past it, episodes idle longer than the
// gap are closed, and a server that still finds no room is counted in `untracked`);
// distinct sources exact up to kMaxExactSources per episode, then estimated; transactions
// may close out of time order by up to kPeakWindow seconds and still land in their second.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/detect/config.h"
#include "analysis/distinct_count.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

class HttpFloodTracker {
public:
    static constexpr std::size_t kMaxOpenEpisodes = 65'536;
    static constexpr std::size_t kMaxExactSources = 64;
    static constexpr std::size_t kPeakWindow = 16;

    explicit HttpFloodTracker(const FloodConfig& cfg) : cfg_(cfg) {}

    /// One HTTP transaction, as the analyzer closes it (those without a request are ignored).
    void request(const http::HttpTransaction& t);
    /// A connection ended: what its client sent, what came back and whether it shook hands.
    void flow_end(const FlowRecord& r);
    /// Closes every episode; the floods found, at most kMaxFindings (the rest in `dropped`).
    std::vector<Flood> finish(std::uint64_t& dropped);

    /// Servers whose requests found no room among kMaxOpenEpisodes.
    std::uint64_t untracked() const { return untracked_; }

private:
    struct Episode {
        std::uint64_t id = 0;
        Endpoint server;
        Timestamp start = 0;
        Timestamp end = 0;  ///< the latest request
        std::uint64_t requests = 0;
        /// Requests per calendar second over the last kPeakWindow seconds: (second, count).
        std::array<std::pair<std::int64_t, std::uint64_t>, kPeakWindow> bins{};
        std::uint64_t peak = 0;
        std::vector<IpAddress> sources;           ///< exact while few
        std::unique_ptr<DistinctCounter> sketch;  ///< once past kMaxExactSources
        std::uint64_t connections = 0;
        std::vector<FlowId> evidence;  ///< the lowest flow ids, at most kMaxEvidenceFlows
        std::uint64_t packets = 0;
        std::uint64_t bytes = 0;
        std::uint64_t replies = 0;
        std::uint64_t handshakes = 0;
    };

    /// The episode a live connection's requests count towards.
    struct Binding {
        Endpoint server;
        std::uint64_t id = 0;
    };

    void count_second(Episode& e, Timestamp ts);
    void close(Episode& e);
    bool make_room(Timestamp now);
    static std::uint64_t peak_of(const Episode& e);

    FloodConfig cfg_;
    std::map<Endpoint, Episode> open_;
    /// Episodes that were floods, closed, by id: a connection may end after its episode did.
    std::map<std::uint64_t, Episode> found_;
    /// Live connections that carried a request: the episode they count towards.
    std::unordered_map<FlowId, Binding> flow_episode_;
    std::uint64_t next_id_ = 1;
    Timestamp full_until_ = 0;  ///< no room for a new server before then (make_room)
    std::uint64_t dropped_ = 0;
    std::uint64_t untracked_ = 0;
};

}  // namespace botscope::analysis::detect
