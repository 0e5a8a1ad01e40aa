#pragma once
// The report's `shell` section.

#include "analysis/proto/shell/shell_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"sessions": [{flow, shell, operator, connect_back, banner, start, end, output_bytes,
///  commands: [{ts, text, truncated?}], commands_dropped}], "dropped": N}.
Json to_json(const analysis::shell::ShellResult& result);

}  // namespace botscope::report
