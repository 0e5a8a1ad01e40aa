#include "analysis/detect/shell.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "analysis/proto/shell/shell_parser.h"

namespace botscope::analysis::detect {

namespace {

/// What the session's `echo ... >> SCRIPT` lines wrote into one FTP script.
struct Script {
    std::string host;
    std::vector<std::string> files;
};

RemoteShell build(const shell::ShellSession& s) {
    RemoteShell r;
    r.flow = s.flow;
    r.shell = s.shell;
    r.controller = s.operator_;
    r.connect_back = s.connect_back;
    r.start = s.start;
    r.end = s.end;
    r.commands = s.commands.size() + s.commands_dropped;

    std::map<std::string, Script> scripts;
    std::set<std::string> fetched;
    auto fetch = [&](Timestamp ts, std::string tool, std::string host, std::string file) {
        if (!file.empty())
            fetched.insert(shell::file_key(file));
        if (r.fetches.size() < kMaxListed)
            r.fetches.push_back({ts, std::move(tool), std::move(host), std::move(file)});
    };
    for (const auto& c : s.commands) {
        for (auto& a : shell::parse_line(c.text)) {
            switch (a.kind) {
                case shell::Action::Kind::kFtpScript: {
                    Script& sc = scripts[shell::file_key(a.script)];
                    if (!a.host.empty())
                        sc.host = a.host;
                    if (!a.file.empty() && sc.files.size() < kMaxListed)
                        sc.files.push_back(a.file);
                    break;
                }
                case shell::Action::Kind::kFetch:
                    if (a.tool == "tftp") {
                        fetch(c.ts, a.tool, a.host, a.file);
                        break;
                    }
                    if (auto it = scripts.find(shell::file_key(a.script)); it != scripts.end()) {
                        if (it->second.files.empty())
                            fetch(c.ts, a.tool, it->second.host, "");
                        for (const auto& f : it->second.files)
                            fetch(c.ts, a.tool, it->second.host, f);
                    } else {
                        fetch(c.ts, a.tool, "", "");
                    }
                    break;
                case shell::Action::Kind::kStart:
                    if (fetched.count(shell::file_key(a.file)))
                        r.download_execute = true;
                    if (r.started.size() < kMaxListed)
                        r.started.push_back(a.file);
                    break;
            }
        }
    }
    return r;
}

}  // namespace

std::vector<RemoteShell> detect_shells(const NetworkResult& net, std::uint64_t& dropped) {
    std::vector<RemoteShell> out;
    for (const auto& s : net.shell.sessions)
        out.push_back(build(s));
    std::stable_sort(out.begin(), out.end(), [](const RemoteShell& a, const RemoteShell& b) {
        return std::tie(a.start, a.flow) < std::tie(b.start, b.flow);
    });
    if (out.size() > kMaxFindings) {
        dropped += out.size() - kMaxFindings;
        out.resize(kMaxFindings);
    }
    return out;
}

}  // namespace botscope::analysis::detect
