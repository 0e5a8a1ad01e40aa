#pragma once
// HTTP beacons: a client asking one server for the same thing at a steady rhythm, as a bot
// polling its C&C for commands or updates does. Gathered from every HTTP transaction as the
// analyzer closes it (BeaconTracker), so a beacon still shows past the HTTP result's memory
// cap; pure and deterministic.
//
// Requests are grouped by (client address, server endpoint, Host lower-cased, URI pattern).
// The URI pattern is the request target's path: an absolute-form target loses its scheme and
// authority, the query (from '?') and fragment (from '#') are cut, and every run of ASCII
// digits in the path becomes `N` (`/bot/123/cmd.php?id=7` -> `/bot/N/cmd.php`), because bots
// put counters and random numbers in the path as often as in the query. Digits in the Host
// are kept. A group is a beacon when it has at least max(min_requests, 2) requests, the median
// of the intervals between consecutive requests (sorted by time; the mean of the two middle
// ones for an even count) lies in [min_period, max_period] and is above zero, and the jitter
// (mean absolute deviation of the intervals from that median, divided by the median) is at
// most max_jitter. Page loads (resources fetched within a second) fall below min_period;
// a person browsing is irregular and fails the jitter test.
//
// Limits: kMaxGroups groups (requests of later groups are counted in `untracked`), and the
// times of the first kMaxGroupRequests requests of a group (the count goes on past it).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/detect/config.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

/// The URI pattern of a request target, as described above.
std::string uri_pattern(std::string_view target);

class BeaconTracker {
public:
    static constexpr std::size_t kMaxGroups = 65'536;
    static constexpr std::size_t kMaxGroupRequests = 4'096;

    /// One HTTP transaction as it closes (those without a request are ignored).
    void request(const http::HttpTransaction& t);
    /// Beacons ordered by start (then client, server, host, pattern). At most kMaxFindings;
    /// the rest are added to `dropped`.
    std::vector<Beacon> finish(const BeaconConfig& cfg, std::uint64_t& dropped) const;
    std::uint64_t untracked() const { return untracked_; }

private:
    struct Key {
        IpAddress client;
        Endpoint server;
        std::string host;
        std::string pattern;
        auto operator<=>(const Key&) const = default;
    };
    struct Request {
        Timestamp ts = 0;
        FlowId flow = 0;
    };
    struct Group {
        std::vector<Request> requests;  ///< the first kMaxGroupRequests
        std::uint64_t total = 0;
        Timestamp last = 0;  ///< of every request, kept or not
    };
    std::map<Key, Group> groups_;
    std::uint64_t untracked_ = 0;
};

/// The beacons among the HTTP transactions a result kept (a BeaconTracker fed with them).
std::vector<Beacon> detect_beacons(const NetworkResult& net, const BeaconConfig& cfg,
                                   std::uint64_t& dropped);

}  // namespace botscope::analysis::detect
