#include "support/pg_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "support/process.h"

namespace botscope::testing {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;  // initdb takes about 1 s, a start well under that
constexpr int kLogTailLines = 20;

// The newest /usr/lib/postgresql/<version>/bin with the programs used here; empty when none.
fs::path find_bin_dir() {
    std::error_code ec;
    fs::path best;
    int best_version = -1;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        const std::string name = e.path().filename().string();
        int version = 0;
        auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), version);
        if (err != std::errc{} || end != name.data() + name.size() || version <= best_version)
            continue;
        const fs::path bin = e.path() / "bin";
        bool complete = true;
        for (const char* prog : {"initdb", "pg_ctl", "postgres", "psql"})
            complete = complete && ::access((bin / prog).c_str(), X_OK) == 0;
        if (complete) {
            best = bin;
            best_version = version;
        }
    }
    return best;
}

// A TCP port nobody listens on now: the socket file's name only, but one that a server
// started later with TCP on would also find free.
int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        ::close(s);
    return port > 0 ? port : 55432;
}

std::string log_tail(const fs::path& log) {
    std::ifstream in(log);
    std::deque<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
        if (lines.size() > kLogTailLines)
            lines.pop_front();
    }
    if (lines.empty())
        return "";
    std::string text = "\nthe server log's last lines:";
    for (const auto& l : lines)
        text += "\n  " + l;
    return text;
}

std::string outcome(const Run& r) {
    std::string text = "exit " + std::to_string(r.exit_code);
    if (!r.err.empty())
        text += ": " + r.err;
    else if (!r.out.empty())
        text += ": " + r.out;
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    return text;
}

// A value for postgresql.conf, single-quoted.
std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("''") : std::string(1, c);
    return q + "'";
}

}  // namespace

bool PgServer::installed() {
    return !find_bin_dir().empty();
}

std::unique_ptr<PgServer> PgServer::start(std::string* why) {
    auto fail = [why](const std::string& text) {
        if (why != nullptr)
            *why = text;
        return nullptr;
    };
    std::unique_ptr<PgServer> s(new PgServer());
    s->bin_dir_ = find_bin_dir();
    if (s->bin_dir_.empty())
        return fail(
            "PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin with "
            "initdb, pg_ctl, postgres and psql (Debian package postgresql)");
    s->as_postgres_ = ::geteuid() == 0;
    const passwd* pw = s->as_postgres_ ? ::getpwnam("postgres") : nullptr;
    if (s->as_postgres_ && pw == nullptr)
        return fail("the server cannot run as root, and there is no user postgres to run it");

    // /tmp rather than TMPDIR: the postgres user must be able to walk to the folder, and the
    // socket's path must stay within sun_path's 108 bytes.
    std::string pattern = "/tmp/botscope-pg-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        return fail("cannot create a folder " + pattern + ": " + std::strerror(errno));
    s->folder_ = pattern;
    s->socket_dir_ = s->folder_ / "pg";
    s->data_dir_ = s->socket_dir_ / "data";
    s->log_ = s->socket_dir_ / "server.log";
    s->port_ = free_port();
    if (::chmod(s->folder_.c_str(), 0755) != 0 || ::mkdir(s->socket_dir_.c_str(), 0700) != 0 ||
        (pw != nullptr && ::chown(s->socket_dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0))
        return fail("cannot prepare " + s->socket_dir_.string() + ": " + std::strerror(errno));

    if (auto r = s->run({"initdb", "-D", s->data_dir_.string(), "-U", "postgres", "--auth=trust",
                         "--no-locale", "--encoding=UTF8", "--no-sync"});
        r.exit_code != 0)
        return fail("initdb failed (" + outcome(r) + ")");
    if (auto err = s->configure(); !err.empty())
        return fail(err);
    s->started_ = true;  // from here on, the destructor stops whatever pg_ctl left running
    if (auto r = s->run({"pg_ctl", "-D", s->data_dir_.string(), "-l", s->log_.string(), "-w", "-t",
                         "60", "start"});
        r.exit_code != 0)
        return fail("the PostgreSQL server did not start (pg_ctl " + outcome(r) + ")" +
                    log_tail(s->log_));
    try {
        s->psql_on("postgres", "create database botscope");
    } catch (const std::exception& e) {
        return fail(std::string("cannot create the database botscope: ") + e.what() +
                    log_tail(s->log_));
    }
    return s;
}

// The folder's own settings, appended to what initdb wrote (the last one wins).
std::string PgServer::configure() const {
    std::ofstream conf(data_dir_ / "postgresql.conf", std::ios::app);
    conf << "\n# botscope test server (tests/support/pg_server.h)\n"
         << "listen_addresses = ''\n"
         << "unix_socket_directories = " << quoted(socket_dir_.string()) << "\n"
         << "port = " << port_ << "\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
    conf.close();
    if (!conf)
        return "cannot write " + (data_dir_ / "postgresql.conf").string();
    return {};
}

// Runs one of the server's programs as the server's user, in the server's folder (the
// caller's working folder may be closed to that user, and pg_ctl needs to read it).
Run PgServer::run(const std::vector<std::string>& argv) const {
    std::vector<std::string> full;
    if (as_postgres_)
        full = {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"};
    full.insert(full.end(), {"env", "-C", socket_dir_.string(), (bin_dir_ / argv[0]).string()});
    full.insert(full.end(), argv.begin() + 1, argv.end());
    return run_process(full, kDeadline);
}

std::string PgServer::conninfo() const {
    return "host=" + socket_dir() + " port=" + std::to_string(port_) + " user=" + user() +
           " dbname=" + database();
}

std::string PgServer::psql_on(const std::string& database, const std::string& sql) const {
    Run r = run_process(
        {(bin_dir_ / "psql").string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
         socket_dir(), "-p", std::to_string(port_), "-U", user(), "-d", database, "-c", sql},
        kDeadline);
    if (r.exit_code != 0)
        throw std::runtime_error("psql failed (" + outcome(r) + ")");
    return r.out;
}

bool PgServer::stop(const char* mode) const {
    return run({"pg_ctl", "-D", data_dir_.string(), "-m", mode, "-w", "-t", "30", "stop"})
               .exit_code == 0;
}

PgServer::~PgServer() {
    try {
        if (started_ && !stop("fast") && !stop("immediate")) {
            // The postmaster's pid is the first line of postmaster.pid.
            std::ifstream in(data_dir_ / "postmaster.pid");
            long pid = 0;
            if (in >> pid && pid > 1)
                ::kill(static_cast<pid_t>(pid), SIGKILL);
        }
        if (!folder_.empty()) {
            std::error_code ec;
            fs::remove_all(folder_, ec);
        }
    } catch (...) {
        // A destructor at the end of a test: what is left in /tmp is all the harm.
    }
}

}  // namespace botscope::testing
