#pragma once
// A stored report read back: bounded, checked, never trusted. Reports come from tasks that ran
// hostile samples, from other hosts, or from a user's hand: a file that is too large, not JSON
// or not a botscope report is refused with a reason that names it.

#include <cstddef>
#include <filesystem>

#include "report/json_common.h"
#include "util/result.h"

namespace botscope::review {

using report::Json;

/// A task's report stays under about 25 MiB (its guest part is capped at 24 MiB); anything far
/// larger is not one, and parsing it would cost ten times its size in memory.
inline constexpr std::size_t kMaxReportBytes = 64u << 20;

/// Reads and parses `path` (a report.json, or a folder holding one). Errors (codes `missing`,
/// `unreadable`, `too_large`, `malformed`, `not_a_report`) name the file.
util::Result<Json> read_report(const std::filesystem::path& path,
                               std::size_t max_bytes = kMaxReportBytes);

/// Reads a whole regular file of at most `max_bytes`; errors as read_report's.
util::Result<std::string> read_bounded(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace botscope::review
