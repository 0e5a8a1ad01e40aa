#include "tasks/analysis_child.h"

#include <vector>

#include "report/jsonl_logs.h"
#include "tasks/child_process.h"

namespace botscope::tasks {

AnalysisRun analyse_in_child(const std::filesystem::path& analyzer,
                             const std::filesystem::path& pcap, const std::filesystem::path& dir,
                             const std::string& host, const AnalysisLimits& limits,
                             const std::vector<std::filesystem::path>& rule_trees) {
    AnalysisRun run;
    std::vector<std::string> argv = {analyzer.string(), "analyze-pcap", pcap.string(), "--json",
                                     "--quiet",         "--logs",       dir.string()};
    if (!host.empty()) {
        argv.push_back("--host");
        argv.push_back(host);
    }
    // The child reads no configuration: the trees are the task's, passed whole.
    argv.push_back(rule_trees.empty() ? "--no-signatures" : "--no-default");
    for (const auto& tree : rule_trees) {
        argv.push_back("--rules");
        argv.push_back(tree.string());
    }
    ChildLimits child;
    child.timeout = limits.timeout;
    child.memory_bytes = limits.memory_bytes;
    child.max_stdout = 64u << 20;  // a report is about 1 MB at most (report/network_json.h)
    child.what = "the analysis";
    child.timeout_setting = "analysis_timeout";
    child.memory_setting = "analysis_memory_mb";
    ChildRun c = run_child(argv, child);
    run.peak_rss_bytes = c.peak_rss_bytes;
    run.ok = c.ok();
    if (!run.ok) {
        // A child killed mid-write leaves its logs as .part files (jsonl_logs.h), or some
        // renamed and others not: a failed analysis leaves none.
        std::error_code ec;
        for (const char* name : report::JsonlLogs::names()) {
            std::filesystem::remove(dir / name, ec);
            std::filesystem::remove(dir / (std::string(name) + ".part"), ec);
        }
        run.error = c.failure("the analysis");
        return run;
    }
    report::Json doc = report::Json::parse(c.out, nullptr, false);
    if (!doc.is_object() || !doc.contains("network") || !doc.contains("behavior")) {
        run.ok = false;
        run.error = "the analysis printed no report";
        return run;
    }
    run.network = std::move(doc["network"]);
    run.behavior = std::move(doc["behavior"]);
    run.logs = doc.contains("logs") ? std::move(doc["logs"]) : report::Json::array();
    return run;
}

}  // namespace botscope::tasks
