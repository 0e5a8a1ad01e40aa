#pragma once
// The behaviour conclusions drawn after the packet path: HTTP floods, spam runs, beacons,
// downloads, IRC C&C, bot commands, and the ties between commands and what followed.

#include "analysis/detect/behavior.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

/// `b` already holds the packet path's floods and scans, the hosts and the config; this adds
/// the rest, sorts every list into a stable order and links commands to findings.
void complete_behavior(const NetworkResult& net, BehaviorResult& b);

}  // namespace botscope::analysis::detect
