#pragma once
// Every report and log a test makes is checked against reports/report.schema.json and
// reports/schemas/ by tools/validate-report (Debian's python3-jsonschema). A test that writes
// them into a folder it removes (TempDir, the task pipeline's data folder) has the folder
// checked before the removal; one that keeps a report in memory checks it itself.

#include <filesystem>
#include <string>
#include <string_view>

namespace botscope::testing {

/// Logs longer than this are checked on about this many lines, evenly spread: a flood's
/// flows.jsonl has millions, at about 0.15 ms a line.
inline constexpr int kSchemaSampleLines = 50'000;

/// What tools/validate-report printed about `path` (a report, a log, or a folder holding
/// them; with `tree`, every such folder below it), or empty when everything is valid.
std::string schema_problems(const std::filesystem::path& path, bool tree = false);

/// The same for a report held in memory (written to a temporary file for the validator).
std::string report_schema_problems(std::string_view report_json);

/// Whether a report.json or a .jsonl log is anywhere below `dir`.
bool holds_reports(const std::filesystem::path& dir);

/// Checks every report and log below `dir`, for a test about to remove it: a problem fails
/// the running test case, or, when no test case runs (a folder kept in a static, removed
/// after the tests), ends the program with status 1 once it is printed.
void check_reports_before_removal(const std::filesystem::path& dir);

}  // namespace botscope::testing
