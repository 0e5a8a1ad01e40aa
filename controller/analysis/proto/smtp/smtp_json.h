#pragma once
// The report's `smtp` section.

#include "analysis/proto/smtp/smtp_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"omitted", "sessions": [sample], "sessions_seen", "sessions_dropped", "messages_seen",
/// "messages_dropped", "recipients_seen"}. Each session carries its flow, client and server,
/// greeting, HELO, EHLO extensions, STARTTLS/TLS, AUTH attempts (mechanism, user, reply; never
/// a password), messages, the command log with reply codes and the last replies. Each message
/// carries its envelope (mail_from, rcpt_to with each reply and whether it was accepted),
/// status, final reply, headers, size, hashes and attachment names. Optional facts appear only
/// when seen; every bounded list has its "_dropped" counter.
Json to_json(const analysis::smtp::SmtpResult& result);

/// One session, as in the report's list (inner lists cut there) and in smtp.jsonl.
Json to_json(const analysis::smtp::SmtpSession& s);

}  // namespace botscope::report
