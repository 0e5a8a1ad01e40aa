#include "report/line_session_json.h"

#include <utility>

namespace botscope::report {

void put_reply(Json& j, const char* key, std::uint16_t code) {
    if (code != 0)
        j[key] = code;
}

void put_text(Json& j, const char* key, const std::string& s) {
    if (!s.empty())
        j[key] = s;
}

Json line_session_head(const analysis::LineSession& s) {
    Json j;
    j["ts"] = ts_json(s.ts);
    j["flow"] = s.flow;
    j["orig"] = endpoint_json(s.orig);
    j["resp"] = endpoint_json(s.resp);
    put_reply(j, "banner_code", s.banner_code);
    put_text(j, "banner", s.banner);
    return j;
}

void add_line_session_tail(Json& j, const analysis::LineSession& s, Json commands) {
    j["commands"] = std::move(commands);
    j["commands_seen"] = s.commands_seen;
    j["commands_dropped"] = s.commands_dropped;
    j["last_replies"] = s.last_replies;
    j["quit"] = s.quit;
    j["invalid_lines"] = s.invalid_lines;
    if (s.gave_up)
        j["gave_up"] = true;
}

}  // namespace botscope::report
