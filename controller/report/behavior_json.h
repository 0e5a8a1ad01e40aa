#pragma once
// The `behavior` part of a report (reports/README.md describes every field).

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "analysis/detect/behavior.h"
#include "report/json_common.h"

namespace botscope::report {

/// What report.json lists of each list of findings (compact bytes); behavior.jsonl
/// (jsonl_logs.h) holds every finding. Lists are cut at the end, so an index into a list
/// (`command`, `followed_by`) is the same in the report and in the log.
inline constexpr std::size_t kBehaviorSampleBytes = 24 * 1024;

Json behavior_to_json(const analysis::detect::BehaviorResult& b);

/// Every finding whole, in the report's order: `sink(section, index, json)` with section
/// "commands", "cnc.irc", "cnc.http_beacons", "floods", "scans", "spam_runs", "downloads" or
/// "remote_shells".
void behavior_records(const analysis::detect::BehaviorResult& b,
                      const std::function<void(const char*, std::size_t, Json)>& sink);

// One finding each; behavior_to_json puts them in their lists.
Json flood_json(const analysis::detect::Flood& f);
Json scan_json(const analysis::detect::Scan& s);
Json spam_run_json(const analysis::detect::SpamRun& s);
Json beacon_json(const analysis::detect::Beacon& b);
Json download_json(const analysis::detect::Download& d);
Json remote_shell_json(const analysis::detect::RemoteShell& r);
Json command_json(const analysis::detect::BotCommand& c);

// Shared pieces.
Json evidence_json(const analysis::detect::Evidence& e);
Json counted_json(const std::vector<analysis::detect::Counted>& list);
/// A number, or null when absent (a rate over zero time).
Json optional_json(const std::optional<double>& v);
Json command_ref_json(const std::optional<std::size_t>& command);

}  // namespace botscope::report
