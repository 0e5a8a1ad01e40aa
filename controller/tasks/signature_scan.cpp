#include "tasks/signature_scan.h"

#include <algorithm>

#include "tasks/child_process.h"
#include "yara/yara.h"

namespace botscope::tasks {

namespace fs = std::filesystem;
using report::Json;

std::vector<ScanTarget> dropped_targets(const fs::path& task_dir, const Json& guest) {
    std::vector<ScanTarget> out;
    if (!guest.is_object() || !guest.contains("dropped") || !guest["dropped"].is_object())
        return out;
    const Json& files = guest["dropped"].value("files", Json::array());
    if (!files.is_array())
        return out;
    for (const auto& d : files) {
        if (!d.is_object() || !d.contains("stored") || !d["stored"].is_string())
            continue;
        std::string stored = d["stored"].get<std::string>();
        bool seen = std::any_of(out.begin(), out.end(),
                                [&stored](const ScanTarget& t) { return t.stored == stored; });
        if (!seen)
            out.push_back({"dropped", task_dir / stored, stored});
    }
    return out;
}

std::string check_rules(const std::vector<fs::path>& trees) {
    std::vector<yara::Diagnostic> diags;
    bool ok = true;
    for (auto target : {yara::Target::kFiles, yara::Target::kStreams})
        ok &= yara::RuleSet::compile(trees, target, diags) != nullptr;
    if (ok)
        return {};
    auto errors = std::count_if(diags.begin(), diags.end(),
                                [](const yara::Diagnostic& d) { return d.error; });
    for (const auto& d : diags)
        if (d.error)
            return d.text() + (errors > 1 ? " (and " + std::to_string(errors - 1) + " more)" : "");
    return "the rules do not compile";
}

Json scan_in_child(const fs::path& botscope, const std::vector<fs::path>& trees,
                   const std::vector<ScanTarget>& targets, const SignatureLimits& limits) {
    Json part = {{"status", "ok"}, {"scans", Json::array()}};
    std::vector<Json> results(targets.size());
    std::size_t next = 0;
    int children = 0;
    while (next < targets.size()) {
        if (children++ == limits.max_children) {
            for (std::size_t i = next; i < targets.size(); ++i)
                results[i] = {{"status", "not_scanned"},
                              {"error", "left out: " + std::to_string(limits.max_children) +
                                            " scan children ended early before it"}};
            break;
        }
        std::vector<std::string> argv = {botscope.string(),
                                         "signatures",
                                         "scan",
                                         "--jsonl",
                                         "--no-default",
                                         "--timeout",
                                         std::to_string(limits.per_file.count())};
        for (const auto& t : trees) {
            argv.push_back("--rules");
            argv.push_back(t.string());
        }
        for (std::size_t i = next; i < targets.size(); ++i)
            argv.push_back(fs::absolute(targets[i].path).string());
        ChildLimits child;
        child.idle = limits.per_file + limits.startup;
        child.timeout = child.idle * static_cast<long>(targets.size() - next + 1);
        child.memory_bytes = limits.memory_bytes;
        child.max_stdout = 16u << 20;
        child.what = "the scan";
        child.timeout_setting = "its timeout";
        child.memory_setting = "its memory limit";
        ChildRun run = run_child(argv, child);

        // Complete lines only: the first is the rules', then one per file in order.
        std::size_t done = 0;
        bool header = false;
        std::size_t pos = 0;
        for (std::size_t nl; (nl = run.out.find('\n', pos)) != std::string::npos; pos = nl + 1) {
            Json j = Json::parse(run.out.substr(pos, nl - pos), nullptr, false);
            if (!j.is_object())
                break;
            if (!header) {
                header = true;
                part["rules"] = j;
                continue;
            }
            if (next + done >= targets.size())
                break;
            j.erase("file");
            results[next + done++] = std::move(j);
        }
        if (run.ok() && next + done == targets.size())
            break;
        if (!header) {
            // Before any file: the rules or the child itself; nothing was scanned.
            part["status"] = "error";
            part["error"] = run.failure("the scan");
            for (std::size_t i = next; i < targets.size(); ++i)
                results[i] = {{"status", "not_scanned"}, {"error", part["error"]}};
            break;
        }
        // The file being scanned when the child ended is the one that ended it.
        const std::size_t culprit = next + done;
        if (culprit < targets.size()) {
            using Limit = ChildRun::Limit;
            const char* status = run.limit == Limit::kIdle || run.limit == Limit::kTimeout ? "hung"
                                 : run.limit == Limit::kNone ? "crashed"
                                                             : "error";
            results[culprit] = {{"status", status}, {"error", run.failure("the scan")}};
        }
        next = culprit + 1;
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
        Json entry = {{"kind", targets[i].kind}, {"file", targets[i].stored}};
        for (auto& [k, v] : results[i].items())
            entry[k] = std::move(v);
        part["scans"].push_back(std::move(entry));
    }
    return part;
}

}  // namespace botscope::tasks
