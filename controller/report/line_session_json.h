#pragma once
// The parts of a session's JSON that SMTP and FTP share (analysis/line_session.h).

#include <cstdint>
#include <string>

#include "analysis/line_session.h"
#include "report/json_common.h"

namespace botscope::report {

/// `key` only when a reply was seen (code 0 means none).
void put_reply(Json& j, const char* key, std::uint16_t code);
/// `key` only when the text is not empty.
void put_text(Json& j, const char* key, const std::string& s);

/// A session's first keys: ts, flow, orig, resp, banner_code and banner (when seen).
Json line_session_head(const analysis::LineSession& s);
/// Its last keys: the command log `commands`, commands_seen, commands_dropped, last_replies,
/// quit, invalid_lines, and gave_up when it did.
void add_line_session_tail(Json& j, const analysis::LineSession& s, Json commands);

}  // namespace botscope::report
