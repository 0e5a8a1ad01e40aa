#pragma once
// A botscope child process under limits: what the controller runs on the sample's data (the
// analysis of its capture, YARA over its files) runs so, and whatever that data makes the
// child do (hang, crash, grow without end) ends the child, not the controller.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace botscope::tasks {

struct ChildLimits {
    std::chrono::milliseconds timeout{600'000};  ///< the whole run
    /// When set: the longest wait for the next line on stdout (a child reports per item).
    std::chrono::milliseconds idle{0};
    std::uint64_t memory_bytes = 2048ull << 20;  ///< resident size, checked 10 times a second
    std::size_t max_stdout = 64u << 20;
    // How the messages name the child and its settings, e.g. "the analysis",
    // "analysis_timeout", "analysis_memory_mb".
    std::string what = "the child";
    std::string timeout_setting = "timeout";
    std::string memory_setting = "memory";
};

struct ChildRun {
    std::string start_error;  ///< not started: why
    std::string out;          ///< stdout, at most max_stdout bytes
    std::string err_tail;     ///< the end of stderr
    enum class Limit { kNone, kOutput, kMemory, kTimeout, kIdle };
    Limit limit = Limit::kNone;  ///< the limit that ended it (killed)
    std::string limit_hit;       ///< that limit, for people
    int status = 0;              ///< as wait4 gives it
    std::uint64_t peak_rss_bytes = 0;

    /// Exited by itself with status 0.
    bool ok() const;
    /// One line saying how it ended when not ok(), naming the child as `what` ("the analysis"):
    /// the limit hit, the signal, or the exit code with the last line of stderr.
    std::string failure(const std::string& what) const;
};

/// Runs argv[0] with argv, stdin from /dev/null and no other descriptor of the controller's.
/// `on_output`, when given, sees stdout as it arrives.
ChildRun run_child(const std::vector<std::string>& argv, const ChildLimits& limits,
                   const std::function<void(std::string_view)>& on_output = {});

}  // namespace botscope::tasks
