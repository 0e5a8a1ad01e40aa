#pragma once
// The `network` part of a report, and the document `analyze-pcap` prints.

#include <string>

#include "analysis/detect/behavior.h"
#include "analysis/network_result.h"
#include "report/json_common.h"

namespace botscope::report {

/// Report schema identifier; bumped on any incompatible change (reports/README.md).
inline constexpr const char* kSchema = "botscope.report/1";

Json network_to_json(const analysis::NetworkResult& net);

/// The whole document for a capture analysed on its own.
Json pcap_report(const std::string& path, const analysis::NetworkResult& net,
                 const analysis::detect::BehaviorResult& behavior);

/// Serialises with invalid UTF-8 from the wire replaced, never throwing.
std::string dump(const Json& j);

}  // namespace botscope::report
