// botscope fakenet: the fake internet on the analysis network, as a service.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/fakenet_daemon.h"
#include "cli/options.h"
#include "fakenet/control.h"
#include "fakenet/firewall.h"
#include "fakenet/netlink.h"
#include "fakenet/service.h"
#include "tasks/fakenet_session.h"

namespace botscope::cli {

namespace {

namespace fs = std::filesystem;
using fakenet::Json;
using namespace std::chrono_literals;

constexpr const char* kHelp =
    "usage: botscope fakenet start | run | stop | status | down [--json] [--config FILE]\n"
    "\n"
    "The fake internet of the analysis network: a DNS sinkhole, an IRC server that plays the\n"
    "botmaster, SMTP, HTTP and TFTP sinks and a catch-all for every other address and port,\n"
    "behind an nftables table that redirects everything the guests send to it and keeps them\n"
    "off the host. One instance serves every guest on the network; `botscope submit` starts it\n"
    "when it is not running.\n"
    "\n"
    "  start     start it in the background (nothing to do when it runs), print its status\n"
    "  run       run it in the foreground (its log on stderr)\n"
    "  stop      stop it; the firewall table stays, so the guests then reach nothing\n"
    "  status    is it running, its ports, the firewall's counters, the tasks it serves\n"
    "  down      stop it and remove the firewall table and the decoy addresses\n"
    "  --json    print the status as JSON\n" CONFIG_OPTIONS_HELP
    "\n"
    "exit codes: 0 done, 2 usage, 3 configuration unreadable, 7 fakenet not running (status)\n"
    "            or not started (start; its log says why)\n";

constexpr std::size_t kMaxLogBytes = 16u << 20;  ///< a bigger log is moved to <log>.1 at start

fakenet::ServiceConfig service_config(const tasks::Config& c) {
    fakenet::ServiceConfig s;
    const auto& f = c.fakenet;
    s.sandbox = f.sandbox;
    s.listen = f.listen;
    s.tcp_port = f.tcp_port;
    s.udp_port = f.udp_port;
    s.bridge = f.bridge;
    s.firewall = f.firewall;
    s.control = f.control;
    s.lock = f.lock;
    s.dns.sinkhole = f.sandbox.host;
    s.dns.names = f.dns_names;
    s.dns.nxdomain = f.dns_nxdomain;
    s.caps.mail_keep = f.mail_keep;
    return s;
}

std::string tail(const fs::path& file, std::size_t lines) {
    std::ifstream in(file);
    std::vector<std::string> all;
    std::string l;
    while (std::getline(in, l)) {
        all.push_back(l);
        if (all.size() > lines)
            all.erase(all.begin());
    }
    std::string out;
    for (const auto& x : all)
        out += "  " + x + "\n";
    return out;
}

util::Result<Json> status_of(const tasks::Config& c) {
    auto r = fakenet::control_call(c.fakenet.control, {{"op", "status"}}, 5s);
    if (!r)
        return r.error();
    if (!r->value("ok", false))
        return util::Error{"protocol", r->value("error", "fakenet refused the request")};
    return r.value();
}

std::string mib(std::uint64_t kb) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kb) / 1024.0);
    return buf;
}

void print_firewall(const tasks::Config& c) {
    const std::string t = fakenet::table_name(c.fakenet.bridge);
    if (!c.fakenet.firewall) {
        std::printf("firewall  off in the configuration\n");
        return;
    }
    auto counters = fakenet::firewall_counters(c.fakenet.bridge);
    if (!counters) {
        std::printf("firewall  table %s: absent (guests on %s are not redirected)\n", t.c_str(),
                    c.fakenet.bridge.c_str());
        return;
    }
    std::printf("firewall  table %s on %s: redirected %llu, dropped %llu, forwarded %llu\n",
                t.c_str(), c.fakenet.bridge.c_str(),
                static_cast<unsigned long long>(counters->redirected),
                static_cast<unsigned long long>(counters->dropped_in),
                static_cast<unsigned long long>(counters->forwarded));
}

void print_status(const Json& s) {
    std::printf("fakenet   running (pid %lld since %s), botscope %s\n",
                static_cast<long long>(s.value("pid", 0)), s.value("started", "?").c_str(),
                s.value("version", "?").c_str());
    std::printf("listening %s tcp %d udp %d for %s\n", s.value("listen", "?").c_str(),
                s.value("tcp_port", 0), s.value("udp_port", 0), s.value("subnet", "?").c_str());
    // The daemon's own view: it may run in another network namespace than this command.
    const Json& fw = s.contains("firewall") ? s["firewall"] : Json::object();
    const std::string bridge = fw.value("bridge", "?");
    if (!fw.value("enabled", false))
        std::printf("firewall  off in the configuration\n");
    else if (!fw.value("present", false))
        std::printf("firewall  table %s: absent (guests on %s are not redirected)\n",
                    fakenet::table_name(bridge).c_str(), bridge.c_str());
    else
        std::printf("firewall  table %s on %s: redirected %llu, dropped %llu, forwarded %llu; "
                    "%llu decoy addresses\n",
                    fakenet::table_name(bridge).c_str(), bridge.c_str(),
                    static_cast<unsigned long long>(fw.value("redirected", 0ull)),
                    static_cast<unsigned long long>(fw.value("dropped_in", 0ull)),
                    static_cast<unsigned long long>(fw.value("forwarded", 0ull)),
                    static_cast<unsigned long long>(fw.value("decoys", 0ull)));
    const Json& k = s.contains("connections") ? s["connections"] : Json::object();
    std::printf("traffic   %llu connections (%llu open, %llu refused, %llu closed by a limit), "
                "%llu datagrams\n",
                static_cast<unsigned long long>(k.value("total", 0ull)),
                static_cast<unsigned long long>(k.value("open", 0ull)),
                static_cast<unsigned long long>(k.value("refused", 0ull)),
                static_cast<unsigned long long>(k.value("closed_by_limit", 0ull)),
                static_cast<unsigned long long>(s.value("datagrams", 0ull)));
    if (!s.contains("tasks") || s["tasks"].empty())
        std::printf("tasks     none\n");
    for (const auto& t : s.value("tasks", Json::array()))
        std::printf("task      %s on %s since %s: %llu records\n", t.value("task", "?").c_str(),
                    t.value("guest", "?").c_str(), t.value("began", "?").c_str(),
                    static_cast<unsigned long long>(t.value("records", 0ull)));
    std::printf("memory    %s\n", mib(s.value("rss_kb", 0ull)).c_str());
}

bool wait_until_stopped(const tasks::Config& c, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        // The instance holds its lock for its whole life.
        int fd = ::open(c.fakenet.lock.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return true;
        bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
        ::close(fd);
        if (free)
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

int stop(const tasks::Config& c) {
    auto r = fakenet::control_call(c.fakenet.control, {{"op", "stop"}}, 5s);
    if (!r) {
        std::printf("fakenet   not running\n");
        return kExitOk;
    }
    if (!wait_until_stopped(c, 10s)) {
        std::fprintf(stderr, "botscope fakenet: it did not stop within 10 s (lock %s)\n",
                     c.fakenet.lock.c_str());
        return kExitFakenet;
    }
    std::printf("fakenet   stopped\n");
    return kExitOk;
}

int down(const tasks::Config& c) {
    if (int rc = stop(c); rc != kExitOk)
        return rc;
    auto spec = tasks::firewall_spec(c);
    if (auto r = fakenet::remove_firewall(c.fakenet.bridge); !r) {
        std::fprintf(stderr, "botscope fakenet: %s\n", r.error().message.c_str());
        return kExitOutput;
    }
    std::printf("firewall  table %s removed\n", fakenet::table_name(c.fakenet.bridge).c_str());
    // Connections redirected before keep their NAT in conntrack: forget them with the table.
    if (auto f = fakenet::flush_conntrack(c.fakenet.sandbox.subnet); !f)
        std::fprintf(stderr, "botscope fakenet: %s\n", f.error().message.c_str());
    auto d = fakenet::remove_decoys(spec);
    if (!d) {
        if (d.error().code != "no_interface") {
            std::fprintf(stderr, "botscope fakenet: %s\n", d.error().message.c_str());
            return kExitOutput;
        }
    } else {
        std::printf("decoys    %zu addresses removed from %s\n", d.value(),
                    c.fakenet.bridge.c_str());
    }
    return kExitOk;
}

}  // namespace

util::Result<FakenetStart> ensure_fakenet(const tasks::Config& c) {
    if (auto s = status_of(c))
        return FakenetStart{s.value(), false};
    std::error_code ec;
    fs::create_directories(c.fakenet.log_file.parent_path(), ec);
    if (fs::file_size(c.fakenet.log_file, ec) > kMaxLogBytes)
        fs::rename(c.fakenet.log_file, c.fakenet.log_file.string() + ".1", ec);
    int log = ::open(c.fakenet.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (log < 0)
        return util::Error{"fakenet", "cannot write " + c.fakenet.log_file.string() + ": " +
                                          std::strerror(errno)};
    std::vector<std::string> args = {"botscope", "fakenet", "run"};
    if (!c.source.empty()) {
        args.push_back("--config");
        args.push_back(fs::absolute(c.source).string());
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log);
        return util::Error{"fakenet", std::string("fork: ") + std::strerror(errno)};
    }
    if (pid == 0) {
        // Detached twice over: its own session, and no parent to wait for it.
        ::setsid();
        if (::fork() != 0)
            ::_exit(0);
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(log, 1);
        ::dup2(log, 2);
        // Nothing else the caller had open may live on in the daemon: an inherited lock or
        // pipe would be held for as long as fakenet runs (`flock F botscope submit` would keep
        // F locked, `botscope submit | tee` would never see its end).
        ::close_range(3, ~0U, 0);
        ::chdir("/");
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv("/proc/self/exe", argv.data());
        ::_exit(127);
    }
    ::close(log);
    int st = 0;
    ::waitpid(pid, &st, 0);
    util::Error last{"fakenet", "no answer"};
    for (int i = 0; i < 150; ++i) {
        std::this_thread::sleep_for(100ms);
        auto s = status_of(c);
        if (s)
            return FakenetStart{s.value(), true};
        last = s.error();
    }
    return util::Error{"fakenet", "fakenet did not start within 15 s (" + last.message +
                                      "); the end of " + c.fakenet.log_file.string() + ":\n" +
                                      tail(c.fakenet.log_file, 8)};
}

int fakenet(int argc, char** argv) {
    tasks::ConfigSources sources;
    bool json = false;
    std::string sub;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kHelp, stdout);
            return kExitOk;
        }
        if (a == "--json") {
            json = true;
        } else if (int used = parse_config_option(argc, argv, i, sources); used != 0) {
            if (used < 0)
                return kExitUsage;
        } else if (sub.empty() && !a.empty() && a[0] != '-') {
            sub = a;
        } else {
            std::fprintf(stderr, "botscope fakenet: unexpected %s\n\n%s", argv[i], kHelp);
            return kExitUsage;
        }
    }
    if (sub != "start" && sub != "run" && sub != "stop" && sub != "status" && sub != "down") {
        std::fprintf(stderr, "botscope fakenet: %s\n\n%s",
                     sub.empty() ? "which? start, run, stop, status or down"
                                 : ("unknown subcommand " + sub).c_str(),
                     kHelp);
        return kExitUsage;
    }
    auto config = tasks::load_config(sources);
    if (!config) {
        std::fprintf(stderr, "botscope fakenet: %s\n", config.error().message.c_str());
        return kExitInput;
    }
    const tasks::Config& c = config.value();
    if (sub == "run") {
        auto r = fakenet::run_service(service_config(c));
        if (!r) {
            std::fprintf(stderr, "botscope fakenet: %s\n", r.error().message.c_str());
            return kExitFakenet;
        }
        return kExitOk;
    }
    if (sub == "stop")
        return stop(c);
    if (sub == "down")
        return down(c);
    if (sub == "start") {
        auto r = ensure_fakenet(c);
        if (!r) {
            std::fprintf(stderr, "botscope fakenet: %s\n", r.error().message.c_str());
            return kExitFakenet;
        }
        if (json) {
            std::printf("%s\n", r->status.dump(2).c_str());
        } else {
            if (!r->started)
                std::printf("(already running)\n");
            print_status(r->status);
        }
        return kExitOk;
    }
    auto s = status_of(c);
    if (json) {
        Json out = s ? s.value() : Json{{"ok", false}, {"error", s.error().message}};
        std::printf("%s\n", out.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
        return s ? kExitOk : kExitFakenet;
    }
    if (!s) {
        std::printf("fakenet   not running (%s)\n", s.error().message.c_str());
        print_firewall(c);
        return kExitFakenet;
    }
    print_status(s.value());
    return kExitOk;
}

}  // namespace botscope::cli
