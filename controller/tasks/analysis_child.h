#pragma once
// The analysis of a task's capture, in a child process: `botscope analyze-pcap PCAP --json
// --logs DIR`. The capture is the sample's doing, so whatever it makes the analysis do (hang,
// crash, grow without end) ends that child, fails the task's analysis stage with the reason,
// and leaves the controller (and the pool of machines it serves) running.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "report/json_common.h"

namespace botscope::tasks {

struct AnalysisLimits {
    std::chrono::milliseconds timeout{600'000};
    std::uint64_t memory_bytes = 2048ull << 20;  ///< resident size, checked 10 times a second
};

struct AnalysisRun {
    bool ok = false;
    std::string error;  ///< one line: the limit hit, the signal, or the child's own message
    report::Json network;
    report::Json behavior;
    report::Json logs;  ///< the logs written into the task folder
    std::uint64_t peak_rss_bytes = 0;
};

/// Runs `analyzer analyze-pcap pcap --json --quiet --logs dir [--host host] --no-default
/// [--rules TREE]...`: the streams are matched against the network rules of `rule_trees`
/// (the task's own, Config::rule_trees), none when it is empty.
AnalysisRun analyse_in_child(const std::filesystem::path& analyzer,
                             const std::filesystem::path& pcap, const std::filesystem::path& dir,
                             const std::string& host, const AnalysisLimits& limits,
                             const std::vector<std::filesystem::path>& rule_trees = {});

}  // namespace botscope::tasks
