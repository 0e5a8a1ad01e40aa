#include "report/json_shell.h"

namespace botscope::report {

Json to_json(const analysis::shell::ShellResult& result) {
    Json sessions = Json::array();
    for (const auto& s : result.sessions) {
        Json commands = Json::array();
        for (const auto& c : s.commands) {
            Json j = {{"ts", ts_json(c.ts)}, {"text", c.text}};
            if (c.truncated)
                j["truncated"] = true;
            commands.push_back(std::move(j));
        }
        sessions.push_back({{"flow", s.flow},
                            {"shell", endpoint_json(s.shell)},
                            {"operator", endpoint_json(s.operator_)},
                            {"connect_back", s.connect_back},
                            {"banner", s.banner},
                            {"start", ts_json(s.start)},
                            {"end", ts_json(s.end)},
                            {"output_bytes", s.output_bytes},
                            {"commands", std::move(commands)},
                            {"commands_dropped", s.commands_dropped}});
    }
    return {{"sessions", std::move(sessions)}, {"dropped", result.dropped}};
}

}  // namespace botscope::report
