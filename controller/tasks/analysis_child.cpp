#include "tasks/analysis_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "report/jsonl_logs.h"

namespace botscope::tasks {

namespace {

/// A report is about 1 MB at most (report/network_json.h); more is a broken child.
constexpr std::size_t kMaxReportBytes = 64u << 20;
/// The end of the child's stderr is kept for the error message.
constexpr std::size_t kMaxStderrBytes = 4096;

std::uint64_t resident_bytes(pid_t pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid));
    std::FILE* f = std::fopen(path, "r");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    return n == 2 ? static_cast<std::uint64_t>(resident) *
                        static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE))
                  : 0;
}

/// The last line the child wrote to stderr, for the task's error.
std::string last_line(std::string err) {
    while (!err.empty() && err.back() == '\n')
        err.pop_back();
    std::size_t nl = err.rfind('\n');
    return nl == std::string::npos ? err : err.substr(nl + 1);
}

}  // namespace

AnalysisRun analyse_in_child(const std::filesystem::path& analyzer,
                             const std::filesystem::path& pcap, const std::filesystem::path& dir,
                             const std::string& host, const AnalysisLimits& limits) {
    AnalysisRun run;
    std::vector<std::string> argv = {analyzer.string(), "analyze-pcap", pcap.string(), "--json",
                                     "--quiet",         "--logs",       dir.string()};
    if (!host.empty()) {
        argv.push_back("--host");
        argv.push_back(host);
    }
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);

    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        run.error = std::string("cannot start the analysis: pipe: ") + std::strerror(errno);
        return run;
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
        run.error = std::string("cannot start the analysis: pipe: ") + std::strerror(errno);
        ::close(out[0]);
        ::close(out[1]);
        return run;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        run.error = std::string("cannot start the analysis: fork: ") + std::strerror(errno);
        for (int fd : {out[0], out[1], err[0], err[1]})
            ::close(fd);
        return run;
    }
    if (pid == 0) {
        // Async-signal-safe calls only: the controller has threads.
        int null = ::open("/dev/null", O_RDONLY);
        if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0)
            ::_exit(126);
        // Nothing else of the controller's (the capture, the agent's socket, locks).
        ::syscall(SYS_close_range, 3u, ~0u, 0u);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);

    std::string stdout_text, stderr_text;
    auto deadline = std::chrono::steady_clock::now() + limits.timeout;
    bool open[2] = {true, true};
    std::string limit_hit;
    char buf[65536];
    while (open[0] || open[1]) {
        pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
        ::poll(fds, 2, 100);
        for (int i = 0; i < 2; ++i) {
            if (!open[i] || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                open[i] = false;
                continue;
            }
            std::string& dst = i == 0 ? stdout_text : stderr_text;
            dst.append(buf, static_cast<std::size_t>(n));
            if (i == 1 && dst.size() > 2 * kMaxStderrBytes)
                dst.erase(0, dst.size() - kMaxStderrBytes);
        }
        std::uint64_t rss = resident_bytes(pid);
        run.peak_rss_bytes = std::max(run.peak_rss_bytes, rss);
        if (stdout_text.size() > kMaxReportBytes) {
            limit_hit =
                "the analysis wrote a report over " + std::to_string(kMaxReportBytes >> 20) + " MB";
        } else if (rss > limits.memory_bytes) {
            limit_hit = "the analysis grew past analysis_memory_mb (" +
                        std::to_string(limits.memory_bytes >> 20) + " MB resident)";
        } else if (std::chrono::steady_clock::now() >= deadline) {
            limit_hit =
                "the analysis ran past analysis_timeout (" +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(limits.timeout).count()) +
                " s)";
        }
        if (!limit_hit.empty()) {
            ::kill(pid, SIGKILL);
            break;
        }
    }
    ::close(out[0]);
    ::close(err[0]);
    int status = 0;
    rusage ru{};
    while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    run.peak_rss_bytes =
        std::max(run.peak_rss_bytes, static_cast<std::uint64_t>(ru.ru_maxrss) << 10);
    run.ok = limit_hit.empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!run.ok) {
        // A child killed mid-write leaves its logs as .part files (jsonl_logs.h), or some
        // renamed and others not: a failed analysis leaves none.
        std::error_code ec;
        for (const char* name : report::JsonlLogs::names()) {
            std::filesystem::remove(dir / name, ec);
            std::filesystem::remove(dir / (std::string(name) + ".part"), ec);
        }
    }
    if (!limit_hit.empty()) {
        run.error = limit_hit + "; killed";
        return run;
    }
    if (WIFSIGNALED(status)) {
        run.error = "the analysis crashed (signal " + std::to_string(WTERMSIG(status)) + ", " +
                    ::strsignal(WTERMSIG(status)) + ")";
        return run;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string said = last_line(stderr_text);
        run.error = "the analysis failed (exit " + std::to_string(WEXITSTATUS(status)) + ")" +
                    (said.empty() ? "" : ": " + said);
        return run;
    }
    report::Json doc = report::Json::parse(stdout_text, nullptr, false);
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
