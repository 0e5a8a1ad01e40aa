#pragma once
// The report's `irc` section.

#include "analysis/proto/irc/irc_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"count", "omitted", "sessions": [sample], "sessions_dropped"}. Each session carries its flow,
/// client and server, times, confirmation, server name, password, nicks (with the server's answer),
/// user and real name, channels (with keys), the messages received and sent (each with "_dropped"
/// counters), DCC offers, counters and numeric replies. Optional facts appear only when seen.
Json to_json(const analysis::irc::IrcResult& result);

/// One session, as in the report's list (inner lists cut there) and in irc.jsonl.
Json to_json(const analysis::irc::IrcSession& s);

}  // namespace botscope::report
