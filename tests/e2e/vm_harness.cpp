#include "vm_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>

extern char** environ;

namespace botscope::e2e {

namespace fs = std::filesystem;

namespace {

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

}  // namespace

std::string sample() {
    return env_or("BOTSCOPE_SAMPLE", "");
}

std::string secret_file() {
    return env_or("BOTSCOPE_TESTGUEST_DIR", "/var/lib/botscope/testguest") + "/agent.secret";
}

Run botscope(const std::vector<std::string>& args, std::chrono::seconds deadline) {
    Run r;
    std::vector<std::string> all = {env_or("BOTSCOPE_BIN", "botscope")};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        return r;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    pid_t pid = 0;
    auto start = std::chrono::steady_clock::now();
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
        ::close(out[0]);
        ::close(err[0]);
        r.err = "cannot run " + all[0];
        return r;
    }
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    bool killed = false;
    while (open_fds > 0) {
        auto left = deadline - (std::chrono::steady_clock::now() - start);
        if (left <= std::chrono::seconds(0) && !killed) {
            ::kill(pid, SIGKILL);
            killed = true;
        }
        if (::poll(fds, 2, 200) < 0)
            break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            char buf[65536];
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            } else {
                (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

Sandbox::Sandbox(const std::string& extra_main, const std::string& extra_machine) {
    std::random_device rd;
    root = fs::temp_directory_path() / ("botscope-e2e-" + std::to_string(rd()));
    fs::create_directories(root);
    config = root / "botscope.ini";
    data = root / "data";
    std::ofstream(config) << "[botscope]\n"
                          << "data_dir = " << data.string() << "\n"
                          << extra_main << "\n[testguest]\n"
                          << "domain = " << kDomain << "\n"
                          << "ip = 10.66.0.10\n"
                          << "secret_file = " << secret_file() << "\n"
                          << extra_machine << "\n";
}

Sandbox::~Sandbox() {
    std::error_code ec;
    fs::remove_all(root, ec);
}

std::vector<std::string> Sandbox::with(std::vector<std::string> args) const {
    args.push_back("--config");
    args.push_back(config.string());
    return args;
}

}  // namespace botscope::e2e
