#pragma once
// The short human summary of a report: its network part and the behaviour found. Works from
// the JSON so that it reads stored reports the same way as fresh ones.

#include <string>

#include "report/json_common.h"

namespace botscope::report {

/// `report` holds "network" (network_to_json) and optionally "behavior" (behavior_to_json).
std::string text_summary(const std::string& path, const Json& report);

/// The summary of a task report (`botscope submit`): the task, its stages and machine, what ran
/// in the guest, then the network part as text_summary shows it.
std::string task_summary(const std::string& report_path, const Json& report);

}  // namespace botscope::report
