#include "analysis/proto/shell/shell_json.h"

namespace botscope::report {

Json to_json(const analysis::shell::ShellSession& s) {
    Json commands = Json::array();
    for (const auto& c : s.commands) {
        Json j = {{"ts", ts_json(c.ts)}, {"text", c.text}};
        if (c.truncated)
            j["truncated"] = true;
        commands.push_back(std::move(j));
    }
    return {{"flow", s.flow},
            {"shell", endpoint_json(s.shell)},
            {"operator", endpoint_json(s.operator_)},
            {"connect_back", s.connect_back},
            {"banner", s.banner},
            {"start", ts_json(s.start)},
            {"end", ts_json(s.end)},
            {"output_bytes", s.output_bytes},
            {"commands", std::move(commands)},
            {"commands_dropped", s.commands_dropped}};
}

Json to_json(const analysis::shell::ShellResult& result) {
    const std::uint64_t count = result.sessions.size() + result.dropped;
    Json sessions = sample_list(result.sessions, [](const auto& s) { return to_json(s); });
    Json j;
    j["count"] = count;
    j["omitted"] = count - sessions.size();
    j["sessions"] = std::move(sessions);
    j["dropped"] = result.dropped;
    return j;
}

}  // namespace botscope::report
