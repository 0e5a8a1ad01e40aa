#include "tasks/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace botscope::tasks {

namespace {

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

std::string last_line(std::string err) {
    while (!err.empty() && err.back() == '\n')
        err.pop_back();
    std::size_t nl = err.rfind('\n');
    return nl == std::string::npos ? err : err.substr(nl + 1);
}

std::string seconds_text(std::chrono::milliseconds d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

bool ChildRun::ok() const {
    return start_error.empty() && limit_hit.empty() && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

std::string ChildRun::failure(const std::string& what) const {
    if (!start_error.empty())
        return start_error;
    if (!limit_hit.empty())
        return limit_hit + "; killed";
    if (WIFSIGNALED(status))
        return what + " crashed (signal " + std::to_string(WTERMSIG(status)) + ", " +
               ::strsignal(WTERMSIG(status)) + ")";
    std::string said = last_line(err_tail);
    return what + " failed (exit " + std::to_string(WEXITSTATUS(status)) + ")" +
           (said.empty() ? "" : ": " + said);
}

ChildRun run_child(const std::vector<std::string>& argv_in, const ChildLimits& limits,
                   const std::function<void(std::string_view)>& on_output) {
    ChildRun run;
    std::vector<std::string> argv = argv_in;
    std::vector<char*> args;
    for (auto& a : argv)
        args.push_back(a.data());
    args.push_back(nullptr);

    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        run.start_error = "cannot start " + limits.what + ": pipe: " + std::strerror(errno);
        return run;
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
        run.start_error = "cannot start " + limits.what + ": pipe: " + std::strerror(errno);
        ::close(out[0]);
        ::close(out[1]);
        return run;
    }
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        run.start_error = "cannot start " + limits.what + ": fork: " + std::strerror(errno);
        for (int fd : {out[0], out[1], err[0], err[1]})
            ::close(fd);
        return run;
    }
    if (pid == 0) {
        // Async-signal-safe calls only: the controller has threads.
        // A controller killed outright takes its children along: the next one analyses the
        // task again, and two analyses must not write one folder.
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent)
            ::_exit(126);
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

    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + limits.timeout;
    auto last_line_at = Clock::now();
    bool open[2] = {true, true};
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
            std::string_view got(buf, static_cast<std::size_t>(n));
            if (i == 0) {
                run.out.append(got);
                if (got.find('\n') != std::string_view::npos)
                    last_line_at = Clock::now();
                if (on_output)
                    on_output(got);
            } else {
                run.err_tail.append(got);
                if (run.err_tail.size() > 2 * kMaxStderrBytes)
                    run.err_tail.erase(0, run.err_tail.size() - kMaxStderrBytes);
            }
        }
        std::uint64_t rss = resident_bytes(pid);
        run.peak_rss_bytes = std::max(run.peak_rss_bytes, rss);
        const auto now = Clock::now();
        if (run.out.size() > limits.max_stdout) {
            run.limit = ChildRun::Limit::kOutput;
            run.limit_hit = limits.what + " wrote over " + std::to_string(limits.max_stdout >> 20) +
                            " MB of output";
        } else if (rss > limits.memory_bytes) {
            run.limit = ChildRun::Limit::kMemory;
            run.limit_hit = limits.what + " grew past " + limits.memory_setting + " (" +
                            std::to_string(limits.memory_bytes >> 20) + " MB resident)";
        } else if (now >= deadline) {
            run.limit = ChildRun::Limit::kTimeout;
            run.limit_hit = limits.what + " ran past " + limits.timeout_setting + " (" +
                            seconds_text(limits.timeout) + ")";
        } else if (limits.idle.count() > 0 && now - last_line_at >= limits.idle) {
            run.limit = ChildRun::Limit::kIdle;
            run.limit_hit = limits.what + " gave no result for " + seconds_text(limits.idle);
        }
        if (!run.limit_hit.empty()) {
            ::kill(pid, SIGKILL);
            break;
        }
    }
    ::close(out[0]);
    ::close(err[0]);
    rusage ru{};
    while (::wait4(pid, &run.status, 0, &ru) < 0 && errno == EINTR) {
    }
    run.peak_rss_bytes =
        std::max(run.peak_rss_bytes, static_cast<std::uint64_t>(ru.ru_maxrss) << 10);
    return run;
}

}  // namespace botscope::tasks
