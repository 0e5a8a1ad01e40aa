#include "netns.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace botscope::fakenet::live {

namespace {

std::vector<char*> argv_of(std::vector<std::string>& args) {
    std::vector<char*> v;
    for (auto& a : args)
        v.push_back(a.data());
    v.push_back(nullptr);
    return v;
}

}  // namespace

Child::Child(const std::vector<std::string>& argv_in, const std::string& log_file) {
    std::vector<std::string> args = argv_in;
    auto argv = argv_of(args);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    if (::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0)
        pid_ = pid;
    posix_spawn_file_actions_destroy(&fa);
}

Child& Child::operator=(Child&& o) noexcept {
    if (this != &o) {
        stop();
        pid_ = o.pid_;
        o.pid_ = -1;
    }
    return *this;
}

Child::~Child() {
    stop();
}

bool Child::alive() const {
    if (pid_ <= 0)
        return false;
    int st = 0;
    return ::waitpid(pid_, &st, WNOHANG) == 0;
}

int Child::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0)
        return -1;
    ::kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + grace;
    int st = 0;
    for (;;) {
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_ || r < 0)
            break;
        if (std::chrono::steady_clock::now() > end) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &st, 0);
            pid_ = -1;
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Netns::Netns() {
    const std::string id = std::to_string(::getpid());
    host_ = "bs-fn-h" + id;
    guest_ = "bs-fn-g" + id;
    const std::vector<std::vector<std::string>> steps = {
        {"ip", "netns", "add", host_},
        {"ip", "netns", "add", guest_},
        {"ip", "-n", host_, "link", "set", "lo", "up"},
        {"ip", "-n", guest_, "link", "set", "lo", "up"},
        {"ip", "-n", host_, "link", "add", kBridge, "type", "bridge"},
        {"ip", "-n", host_, "addr", "add", "10.66.0.1/24", "dev", kBridge},
        {"ip", "-n", host_, "link", "set", kBridge, "up"},
        {"ip", "-n", host_, "link", "add", "h0", "type", "veth", "peer", "name", kGuestIf, "netns",
         guest_},
        {"ip", "-n", host_, "link", "set", "h0", "master", kBridge},
        {"ip", "-n", host_, "link", "set", "h0", "up"},
        {"ip", "-n", guest_, "addr", "add", "10.66.0.10/24", "dev", kGuestIf},
        {"ip", "-n", guest_, "link", "set", kGuestIf, "up"},
        {"ip", "-n", guest_, "route", "add", "default", "via", "10.66.0.1"},
    };
    for (const auto& s : steps) {
        Run r = run(s, std::chrono::seconds(10));
        if (r.exit_code != 0) {
            error_ = "setting up the namespaces failed at";
            for (const auto& a : s)
                error_ += " " + a;
            error_ += ": " + r.err;
            return;
        }
    }
}

Netns::~Netns() {
    for (const auto& ns : {guest_, host_})
        if (!ns.empty())
            run({"ip", "netns", "del", ns}, std::chrono::seconds(10));
}

std::vector<std::string> Netns::exec(const std::string& ns, std::vector<std::string> argv) const {
    std::vector<std::string> all = {"ip", "netns", "exec", ns};
    all.insert(all.end(), argv.begin(), argv.end());
    return all;
}

void in_ns(const std::string& ns, const std::function<void()>& fn) {
    std::string error;
    std::thread t([&] {
        int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
            error = "cannot enter namespace " + ns + ": " + std::strerror(errno);
            if (fd >= 0)
                ::close(fd);
            return;
        }
        ::close(fd);
        fn();
    });
    t.join();
    if (!error.empty())
        throw std::runtime_error(error);
}

std::string netns_unavailable() {
    if (::geteuid() != 0)
        return "not root";
    Run r = run({"ip", "netns", "list"}, std::chrono::seconds(5));
    if (r.exit_code != 0)
        return "ip netns is not available: " + r.err;
    return "";
}

std::uint64_t peak_rss_kb(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::strtoull(line.c_str() + 6, nullptr, 10);
    return 0;
}

}  // namespace botscope::fakenet::live
