#pragma once
// The behaviour conclusions drawn after the packet path: HTTP floods, spam runs, beacons,
// downloads, IRC C&C, bot commands, and the ties between commands and what followed.

#include "analysis/detect/behavior.h"
#include "analysis/detect/download.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

/// `b` already holds the floods and scans counted while the analysis ran (the packet path's
/// and HTTP request floods), the hosts and the config; this adds
/// the rest, sorts every list into a stable order and links commands to findings.
/// `downloads` are the HTTP and TFTP downloads gathered as their records closed.
void complete_behavior(const NetworkResult& net, DownloadCollector downloads, BehaviorResult& b);

}  // namespace botscope::analysis::detect
