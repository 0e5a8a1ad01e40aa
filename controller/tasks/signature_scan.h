#pragma once
// YARA over a task's files (the sample, the files it dropped), in a child process:
// `botscope signatures scan --jsonl`. The files are the sample's, so a scan that crashes or hangs
// libyara on one of them ends that child: the file is reported as such and the files after it
// are scanned in a new child. The controller compiles the rules first (check_rules), so that a
// broken rule file stops a task before its VM runs, not after.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "report/json_common.h"

namespace botscope::tasks {

struct ScanTarget {
    std::string kind;            ///< "sample", "dropped"
    std::filesystem::path path;  ///< on the host
    std::string stored;          ///< as the report names it, relative to the task folder
};

struct SignatureLimits {
    std::chrono::seconds per_file{60};
    std::uint64_t memory_bytes = 1024ull << 20;
    /// Children started at most (each crash or hang takes one): bounds a run of hostile files.
    int max_children = 8;
    /// Time for a child to compile the rules before its first line (a large published set
    /// takes a while); a child with no line for per_file + startup is taken as hung.
    std::chrono::seconds startup{30};
};

/// The dropped files the guest part lists as stored (files/<sha256>), each content once.
std::vector<ScanTarget> dropped_targets(const std::filesystem::path& task_dir,
                                        const report::Json& guest);

/// Compiles the trees in this process; empty when they compile, else the first error (file,
/// line, message) and how many there are.
std::string check_rules(const std::vector<std::filesystem::path>& trees);

/// The report's `signatures` part: the rules, and for each target its status (ok, timeout,
/// error, crashed, hung, not_scanned) and matches.
report::Json scan_in_child(const std::filesystem::path& botscope,
                           const std::vector<std::filesystem::path>& trees,
                           const std::vector<ScanTarget>& targets, const SignatureLimits& limits);

}  // namespace botscope::tasks
