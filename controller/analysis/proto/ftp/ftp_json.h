#pragma once
// The report's `ftp` section.

#include "analysis/proto/ftp/ftp_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"omitted", "sessions": [sample], "sessions_seen", "sessions_dropped", "transfers_seen"}. Each
/// session carries its flow, client and server, greeting, login (user, users tried, whether a
/// password was sent and whether the login worked; never the password), SYST/TYPE/CWD/PWD, AUTH
/// TLS, the command log with replies, the transfers (command, name, replies, announced size, REST
/// offset, TYPE, and the data channel in effect) and every data-channel announcement. Optional
/// facts appear only when seen; every bounded list has its "_dropped" counter.
Json to_json(const analysis::ftp::FtpResult& result);

/// One session, as in the report's list (inner lists cut there) and in ftp.jsonl.
Json to_json(const analysis::ftp::FtpSession& s);

}  // namespace botscope::report
