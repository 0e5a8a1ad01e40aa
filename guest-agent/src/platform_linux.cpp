// Linux side of platform.h: /proc for processes and sockets, fork/exec for spawning, getrandom
// for nonces. The agent is linked statically, so nothing here uses NSS (no getaddrinfo,
// getpwnam).
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "platform.h"
#include "protocol/sha256.h"

namespace botscope::guest {

namespace fs = std::filesystem;

std::string last_error_text() {
    int e = errno;
    return "errno " + std::to_string(e) + ": " + std::strerror(e);
}

bool random_bytes(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

OsInfo os_info() {
    OsInfo o;
    o.os = "linux";
    o.arch = "x86_64";
    struct utsname u {};
    if (uname(&u) == 0) {
        o.version = std::string(u.sysname) + ' ' + u.release + ' ' + u.version;
        o.arch = u.machine;
        o.hostname = u.nodename;
    }
    return o;
}

std::int64_t wall_clock_ms() {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::string set_wall_clock_ms(std::int64_t ms) {
    struct timespec ts {};
    ts.tv_sec = static_cast<time_t>(ms / 1000);
    ts.tv_nsec = static_cast<long>((ms % 1000) * 1'000'000);
    if (clock_settime(CLOCK_REALTIME, &ts) != 0)
        return last_error_text();
    return {};
}

std::uint32_t current_pid() {
    return static_cast<std::uint32_t>(getpid());
}

File::File() : h_(-1) {}
File::~File() {
    close();
}
File::File(File&& o) noexcept : h_(o.h_) {
    o.h_ = -1;
}
File& File::operator=(File&& o) noexcept {
    if (this != &o) {
        close();
        h_ = o.h_;
        o.h_ = -1;
    }
    return *this;
}

File File::create_new(const fs::path& p, std::string& error) {
    File f;
    // Executable, since the file may be the sample; O_EXCL|O_NOFOLLOW never reuses or follows
    // anything that already has this name.
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (fd < 0)
        error = last_error_text();
    f.h_ = fd;
    return f;
}

File File::open_read(const fs::path& p, std::string& error) {
    File f;
    int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        error = last_error_text();
        return f;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        error = "not a regular file";
        ::close(fd);
        return f;
    }
    f.h_ = fd;
    return f;
}

bool File::is_open() const {
    return h_ >= 0;
}

bool File::write_all(std::span<const std::uint8_t> data, std::string& error) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(static_cast<int>(h_), data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            error = last_error_text();
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

long long File::read(std::span<std::uint8_t> out) {
    for (;;) {
        ssize_t n = ::read(static_cast<int>(h_), out.data(), out.size());
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

long long File::size() const {
    struct stat st {};
    if (fstat(static_cast<int>(h_), &st) != 0)
        return -1;
    return st.st_size;
}

void File::close() {
    if (h_ >= 0)
        ::close(static_cast<int>(h_));
    h_ = -1;
}

std::string replace_file(const fs::path& from, const fs::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0)
        return last_error_text();
    return {};
}

namespace {

std::string read_small_file(const std::string& path, std::size_t max) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return {};
    std::string out;
    char buf[4096];
    while (out.size() < max) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (out.size() > max)
        out.resize(max);
    return out;
}

template <class T>
bool parse_num(std::string_view s, T& v, int base = 10) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// /proc/<pid>/stat: "pid (comm) state ppid ... starttime(22) ...". comm may contain spaces
// and parentheses, so fields are counted after the last ')'.
bool read_stat(std::uint32_t pid, std::uint32_t& ppid, std::uint64_t& start) {
    std::string s = read_small_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    auto close = s.rfind(')');
    if (close == std::string::npos)
        return false;
    std::string_view rest(s);
    rest.remove_prefix(close + 1);
    std::vector<std::string_view> f;
    std::size_t i = 0;
    while (i < rest.size() && f.size() < 21) {
        while (i < rest.size() && rest[i] == ' ')
            ++i;
        std::size_t j = i;
        while (j < rest.size() && rest[j] != ' ')
            ++j;
        if (j > i)
            f.push_back(rest.substr(i, j - i));
        i = j;
    }
    // f[0] = state (field 3), f[1] = ppid (field 4), f[19] = starttime (field 22). A zombie
    // (Z) or dead (X) process has exited: its parent just has not reaped it yet.
    if (f.size() < 20 || f[0] == "Z" || f[0] == "X")
        return false;
    return parse_num(f[1], ppid) && parse_num(f[19], start);
}

}  // namespace

std::vector<ProcBasic> list_processes() {
    std::vector<ProcBasic> out;
    std::error_code ec;
    for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
        std::uint32_t pid = 0;
        if (!parse_num(it->path().filename().native(), pid))
            continue;
        ProcBasic p;
        p.pid = pid;
        if (!read_stat(pid, p.ppid, p.start_key))
            continue;
        out.push_back(p);
    }
    return out;
}

void process_details(std::uint32_t pid, std::string& image, std::string& cmdline) {
    std::string base = "/proc/" + std::to_string(pid);
    char buf[4096];
    ssize_t n = ::readlink((base + "/exe").c_str(), buf, sizeof buf);
    image = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    cmdline = read_small_file(base + "/cmdline", 4096);
    while (!cmdline.empty() && cmdline.back() == '\0')
        cmdline.pop_back();
    for (auto& c : cmdline)
        if (c == '\0')
            c = ' ';
}

SpawnResult spawn_detached(const fs::path& exe, const std::vector<std::string>& args,
                           const fs::path& cwd) {
    SpawnResult r;
    // Everything the child needs is prepared before fork: after fork only async-signal-safe
    // calls are allowed (the agent has other threads).
    std::string exe_s = exe.native(), cwd_s = cwd.native();
    std::vector<char*> argv;
    argv.push_back(exe_s.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    char env_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char* envp[] = {env_path, nullptr};

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        r.error = last_error_text();
        return r;
    }
    pid_t pid = fork();
    if (pid < 0) {
        r.error = last_error_text();
        ::close(pipefd[0]);
        ::close(pipefd[1]);
        return r;
    }
    if (pid == 0) {
        setsid();
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        int e = 0;
        if (chdir(cwd_s.c_str()) == 0)
            execve(exe_s.c_str(), argv.data(), envp);
        e = errno;
        ssize_t w = ::write(pipefd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    ::close(pipefd[1]);
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(pipefd[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    ::close(pipefd[0]);
    if (n == static_cast<ssize_t>(sizeof child_errno)) {
        int status = 0;
        waitpid(pid, &status, 0);
        r.error = "errno " + std::to_string(child_errno) + ": " + std::strerror(child_errno);
        return r;
    }
    r.pid = static_cast<std::uint32_t>(pid);
    return r;
}

void reap_children(std::vector<std::pair<std::uint32_t, int>>& exited) {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        exited.emplace_back(static_cast<std::uint32_t>(pid), code);
    }
}

std::vector<std::uint32_t> kill_processes(const std::vector<std::uint32_t>& pids) {
    std::vector<std::uint32_t> killed;
    // Stop all first so none can start new children while the others are being killed.
    for (auto pid : pids)
        ::kill(static_cast<pid_t>(pid), SIGSTOP);
    for (auto pid : pids)
        if (::kill(static_cast<pid_t>(pid), SIGKILL) == 0)
            killed.push_back(pid);
    return killed;
}

namespace {

// One line of /proc/net/tcp{,6}: "sl local rem st tx:rx tr:when retr uid timeout inode".
// Addresses are hex in the kernel's (host, little-endian) byte order per 32-bit word.
void parse_net_tcp(const std::string& path, bool v6, std::vector<ListenSocket>& out,
                   std::map<std::uint64_t, std::size_t>& by_inode) {
    std::string text = read_small_file(path, 4 * 1024 * 1024);
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);  // column titles
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string sl, local, remote, st, txrx, trwhen, retr, uid, timeout, inode;
        if (!(ls >> sl >> local >> remote >> st >> txrx >> trwhen >> retr >> uid >> timeout >>
              inode))
            continue;
        if (st != "0A")  // TCP_LISTEN
            continue;
        auto colon = local.find(':');
        if (colon == std::string::npos)
            continue;
        std::string addr_hex = local.substr(0, colon);
        std::uint16_t port = 0;
        if (!parse_num(std::string_view(local).substr(colon + 1), port, 16))
            continue;
        std::uint8_t raw[16] = {};
        std::size_t words = v6 ? 4 : 1;
        if (addr_hex.size() != words * 8)
            continue;
        bool bad = false;
        for (std::size_t w = 0; w < words; ++w) {
            std::uint32_t v = 0;
            if (!parse_num(std::string_view(addr_hex).substr(w * 8, 8), v, 16))
                bad = true;
            std::memcpy(raw + 4 * w, &v, 4);  // back to network order on little-endian x86
        }
        if (bad)
            continue;
        char text_addr[INET6_ADDRSTRLEN] = {};
        inet_ntop(v6 ? AF_INET6 : AF_INET, raw, text_addr, sizeof text_addr);
        ListenSocket s;
        s.proto = v6 ? "tcp6" : "tcp";
        s.address = text_addr;
        s.port = port;
        std::uint64_t ino = 0;
        if (parse_num(inode, ino) && ino != 0)
            by_inode[ino] = out.size();
        out.push_back(s);
    }
}

}  // namespace

std::vector<ListenSocket> listening_sockets(std::string& error) {
    std::vector<ListenSocket> out;
    std::map<std::uint64_t, std::size_t> by_inode;
    if (access("/proc/net/tcp", R_OK) != 0) {
        error = "cannot read /proc/net/tcp: " + last_error_text();
        return out;
    }
    parse_net_tcp("/proc/net/tcp", false, out, by_inode);
    parse_net_tcp("/proc/net/tcp6", true, out, by_inode);
    if (by_inode.empty())
        return out;
    // Owner: the process holding an fd that links to "socket:[inode]".
    for (auto& p : list_processes()) {
        std::string dir = "/proc/" + std::to_string(p.pid) + "/fd";
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            char buf[64];
            ssize_t n = ::readlink(it->path().c_str(), buf, sizeof buf - 1);
            if (n <= 9)
                continue;
            std::string_view link(buf, static_cast<std::size_t>(n));
            if (!link.starts_with("socket:[") || link.back() != ']')
                continue;
            std::uint64_t ino = 0;
            if (!parse_num(link.substr(8, link.size() - 9), ino))
                continue;
            auto f = by_inode.find(ino);
            if (f != by_inode.end() && out[f->second].pid == 0)
                out[f->second].pid = p.pid;
        }
    }
    return out;
}

std::vector<AutostartEntry> autostart_entries(const fs::path& root) {
    // The places a Linux bot of the era persists through: init scripts, rc.local, cron, and
    // the newer systemd and XDG autostart folders. A file's value is its content hash.
    static const char* const kLocations[] = {
        "etc/init.d",        "etc/rc.local",      "etc/crontab",    "etc/cron.d",
        "etc/cron.hourly",   "etc/cron.daily",    "var/spool/cron", "etc/systemd/system",
        "etc/xdg/autostart", "etc/profile.d",     "etc/inittab",    "root/.bashrc",
        "root/.profile",     "etc/ld.so.preload",
    };
    std::vector<AutostartEntry> out;
    std::size_t visited = 0;
    auto add_file = [&](const fs::path& p, const std::string& location) {
        std::string data = read_small_file(p.native(), 1024 * 1024);
        AutostartEntry e;
        e.kind = "file";
        e.location = location;
        e.name = p.lexically_relative(root).generic_string();
        auto d =
            agent::proto::sha256({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
        e.value = "sha256:" + agent::proto::to_hex(d);
        out.push_back(std::move(e));
    };
    for (const char* loc : kLocations) {
        fs::path p = root / loc;
        std::error_code ec;
        auto st = fs::symlink_status(p, ec);
        if (ec)
            continue;
        if (fs::is_regular_file(st)) {
            add_file(p, loc);
        } else if (fs::is_directory(st)) {
            for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end;
                 it.increment(ec)) {
                if (++visited > 10'000)
                    return out;
                std::error_code e2;
                if (it->is_regular_file(e2) && !it->is_symlink(e2))
                    add_file(it->path(), loc);
                else if (it->is_symlink(e2)) {
                    AutostartEntry e;
                    e.kind = "link";
                    e.location = loc;
                    e.name = it->path().lexically_relative(root).generic_string();
                    e.value = fs::read_symlink(it->path(), e2).string();
                    out.push_back(std::move(e));
                }
            }
        }
    }
    return out;
}

std::string path_utf8(const fs::path& p) {
    return p.native();
}

fs::path path_from_utf8(const std::string& s) {
    return fs::path(s);
}

}  // namespace botscope::guest
