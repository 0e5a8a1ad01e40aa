#include "report/behavior_json.h"

namespace botscope::report {

Json remote_shell_json(const analysis::detect::RemoteShell& r) {
    Json fetches = Json::array();
    for (const auto& f : r.fetches)
        fetches.push_back(
            {{"ts", ts_json(f.ts)}, {"tool", f.tool}, {"host", f.host}, {"file", f.file}});
    return {{"flow", r.flow},
            {"shell", endpoint_json(r.shell)},
            {"controller", endpoint_json(r.controller)},
            {"connect_back", r.connect_back},
            {"start", ts_json(r.start)},
            {"end", ts_json(r.end)},
            {"commands", r.commands},
            {"fetches", std::move(fetches)},
            {"started", r.started},
            {"download_execute", r.download_execute}};
}

}  // namespace botscope::report
