#include "harness.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

namespace botscope::agent::test {

namespace fs = std::filesystem;

namespace {
std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}
}  // namespace

const Env& Env::get() {
    static const Env e = [] {
        Env x;
        x.mode = env_or("BOTSCOPE_AGENT_MODE", "linux");
        x.agent_bin = env_or("BOTSCOPE_AGENT_BIN", "");
        x.sample_bin = env_or("BOTSCOPE_SAMPLE_BIN", "");
        x.wine = env_or("BOTSCOPE_WINE", "/usr/lib/wine/wine64");
        x.wineprefix = env_or("BOTSCOPE_WINEPREFIX", "");
        return x;
    }();
    return e;
}

std::string Env::missing() const {
    std::error_code ec;
    if (agent_bin.empty() || !fs::exists(agent_bin, ec))
        return "agent binary not built (" + agent_bin + ")";
    if (sample_bin.empty() || !fs::exists(sample_bin, ec))
        return "sample binary not built (" + sample_bin + ")";
    if (wine_mode() && access(wine.c_str(), X_OK) != 0)
        return "wine not installed (" + wine + ")";
    return {};
}

Scratch::Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "botscope-agent-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
        throw std::runtime_error("mkdtemp failed");
    root = tmpl;
    work = root / "work";
    watch = root / "watch";
    autoroot = root / "autoroot";
    store = root / "store";
    for (auto& d : {work, watch, autoroot, store})
        fs::create_directories(d);
    fs::create_directories(autoroot / "etc" / "init.d");
    std::ofstream(autoroot / "etc" / "init.d" / "existing") << "#!/bin/sh\n";
    secret.resize(32);
    std::ifstream("/dev/urandom", std::ios::binary)
        .read(reinterpret_cast<char*>(secret.data()), static_cast<std::streamsize>(secret.size()));
    secret_file = root / "secret";
    std::ofstream(secret_file) << proto::to_hex(secret) << "\n";
}

Scratch::~Scratch() {
    std::error_code ec;
    fs::remove_all(root, ec);
}

std::string AgentProcess::guest_path(const fs::path& p) const {
    if (!Env::get().wine_mode())
        return p.string();
    std::string s = "Z:" + p.string();
    std::replace(s.begin(), s.end(), '/', '\\');
    return s;
}

AgentProcess::AgentProcess(const Scratch& s, Transport t, const std::vector<std::string>& extra)
    : s_(s), transport_(t) {
    const Env& env = Env::get();
    std::vector<std::string> args;
    if (env.wine_mode())
        args.push_back(env.wine);
    args.push_back(env.agent_bin);
    args.push_back("--secret-file");
    args.push_back(guest_path(s.secret_file));
    args.insert(args.end(),
                {"--workdir", guest_path(s.work), "--watch", guest_path(s.work), "--watch",
                 guest_path(s.watch), "--autostart-root", guest_path(s.autoroot), "--auth-timeout",
                 "3000", "--frame-timeout", "2000", "--poll", "50"});
    if (t == Transport::kUnix) {
        unix_path_ = (s.root / ("agent-" + std::to_string(getpid()) + ".sock")).string();
        args.insert(args.end(), {"--unix", unix_path_});
        unix_path_.clear();  // set once the agent says it listens
    } else {
        args.insert(args.end(), {"--tcp", "127.0.0.1:0"});
    }
    args.insert(args.end(), extra.begin(), extra.end());

    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
        error_ = "pipe failed";
        return;
    }
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string prefix = "WINEPREFIX=" + env.wineprefix;
    log_ = s.root / ("agent-" + std::string(t == Transport::kUnix ? "unix" : "tcp") + ".log");
    pid_ = fork();
    if (pid_ == 0) {
        // The agent (and wine) may try to set the clock in the set_clock test: without
        // CAP_SYS_TIME it cannot touch the host's clock, whatever it does.
        prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0);
        setpgid(0, 0);
        dup2(out[1], 1);
        // Not ctest's stderr: wine's helper processes (services.exe, winedevice.exe) leave the
        // process group and inherit it; after a wineserver crash they linger, and ctest would
        // wait for them until the test's timeout. The destructor copies the log to stderr.
        int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log >= 0)
            dup2(log, 2);
        if (env.wine_mode()) {
            putenv(prefix.data());
            putenv(const_cast<char*>("WINEDEBUG=-all"));
            putenv(const_cast<char*>("WINEDLLOVERRIDES=mscoree,mshtml="));
        }
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(out[1]);
    // The startup line names the port (wine's first start creates the prefix: up to a minute).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    std::string line;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd p{out[0], POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        char buf[256];
        ssize_t n = read(out[0], buf, sizeof buf);
        if (n <= 0)
            break;
        line.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    auto at = line.find(" on ");
    if (at == std::string::npos || line.find('\n') == std::string::npos) {
        error_ = "agent did not start: '" + line + "'";
        return;
    }
    std::string where = line.substr(at + 4, line.find('\n') - at - 4);
    if (where.starts_with("unix ")) {
        unix_path_ = where.substr(5);
    } else {
        auto colon = where.rfind(':');
        port_ = static_cast<std::uint16_t>(std::atoi(where.c_str() + colon + 1));
    }
}

AgentProcess::~AgentProcess() {
    if (pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        int st = 0;
        waitpid(pid_, &st, 0);
    }
    if (std::FILE* f = std::fopen(log_.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
            std::fwrite(buf, 1, n, stderr);
        std::fclose(f);
    }
}

bool AgentProcess::alive() const {
    return pid_ > 0 && ::kill(pid_, 0) == 0 && waitpid(pid_, nullptr, WNOHANG) == 0;
}

Result<Client> AgentProcess::open(Options o) const {
    if (transport_ == Transport::kUnix)
        return Client::open_unix(unix_path_, o);
    return Client::open_tcp("127.0.0.1", port_, o);
}

Result<Client> AgentProcess::connect(Options o) const {
    return connect_with(s_.secret, o);
}

Result<Client> AgentProcess::connect_with(std::span<const std::uint8_t> secret, Options o) const {
    if (transport_ == Transport::kUnix)
        return Client::connect_unix(unix_path_, secret, o);
    return Client::connect_tcp("127.0.0.1", port_, secret, o);
}

Shared::Shared() {
    if (!Env::get().wine_mode())
        agents.push_back(std::make_unique<AgentProcess>(scratch, Transport::kUnix));
    agents.push_back(std::make_unique<AgentProcess>(scratch, Transport::kTcp));
}

Shared& Shared::get() {
    static Shared s;
    return s;
}

std::vector<std::string> tree_listing(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        out.push_back(it->path().lexically_relative(dir).string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace botscope::agent::test
