#pragma once
// HTTP request floods, found after the analysis from the HTTP transactions: requests to one
// server endpoint in episodes split by `flood.idle_gap`; an episode with at least
// `flood.http_min_requests` requests and a busiest second of `flood.http_min_peak_per_second`
// is a flood. Packets and bytes are those the clients sent on the flows that carried the
// requests (from the flow records), so the per-second packet peaks are not known.

#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

std::vector<Flood> detect_http_floods(const NetworkResult& net, const FloodConfig& cfg,
                                      std::uint64_t& dropped);

}  // namespace botscope::analysis::detect
