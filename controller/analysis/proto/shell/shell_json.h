#pragma once
// The report's `shell` section.

#include "analysis/proto/shell/shell_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"count", "omitted", "sessions": [sample of {flow, shell, operator, connect_back, banner, start,
/// end, output_bytes,
///  commands: [{ts, text, truncated?}], commands_dropped}], "dropped"}.
Json to_json(const analysis::shell::ShellResult& result);

/// One session, as in the report's list and in shell.jsonl.
Json to_json(const analysis::shell::ShellSession& s);

}  // namespace botscope::report
