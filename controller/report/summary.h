#pragma once
// The short human summary of a report's network part. Works from the JSON so that it reads
// stored reports the same way as fresh ones.

#include <string>

#include "report/json_common.h"

namespace botscope::report {

/// `network` is the object network_to_json() produced.
std::string text_summary(const std::string& path, const Json& network);

}  // namespace botscope::report
