#pragma once
// JSON helpers shared by every part of the report.

#include <nlohmann/json.hpp>

#include "analysis/types.h"

namespace botscope::report {

/// Reports keep their keys in the order written, so two runs print the same bytes.
using Json = nlohmann::ordered_json;

/// Capture time as epoch seconds with microsecond precision (as Zeek logs it).
Json ts_json(analysis::Timestamp ts);

/// {"ip": "...", "port": N}
Json endpoint_json(const analysis::Endpoint& ep);

}  // namespace botscope::report
