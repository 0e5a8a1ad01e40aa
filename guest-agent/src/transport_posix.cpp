// Linux transports. A socket and the virtio-serial port are both file descriptors, read and
// written with poll() against the caller's deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "transport.h"

namespace botscope::guest {

namespace {

int ms_until(Deadline d) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
    if (left <= 0)
        return 0;
    return left > 60'000 ? 60'000 : static_cast<int>(left);
}

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&&) = delete;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

class FdStream : public Stream {
public:
    FdStream(Fd fd, std::string peer, std::string address = {})
        : fd_(std::move(fd)), peer_(std::move(peer)), address_(std::move(address)) {
        int fl = fcntl(fd_.get(), F_GETFL);
        fcntl(fd_.get(), F_SETFL, fl | O_NONBLOCK);
    }

    Io read_some(std::uint8_t* p, std::size_t n, std::size_t& got, Deadline d) override {
        for (;;) {
            ssize_t r = ::read(fd_.get(), p, n);
            if (r > 0) {
                got = static_cast<std::size_t>(r);
                return Io::kOk;
            }
            if (r == 0)
                return Io::kEof;
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return Io::kError;
            if (Io w = wait(POLLIN, d); w != Io::kOk)
                return w;
        }
    }

    Io write_all(const std::uint8_t* p, std::size_t n, Deadline d) override {
        while (n > 0) {
            ssize_t r = ::send(fd_.get(), p, n, MSG_NOSIGNAL);
            if (r < 0 && errno == ENOTSOCK)
                r = ::write(fd_.get(), p, n);
            if (r > 0) {
                p += r;
                n -= static_cast<std::size_t>(r);
                continue;
            }
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                return Io::kError;
            if (Io w = wait(POLLOUT, d); w != Io::kOk)
                return w;
        }
        return Io::kOk;
    }

    std::string peer() const override { return peer_; }
    std::string address() const override { return address_; }
    void abort() override { ::shutdown(fd_.get(), SHUT_RDWR); }

    void finish() override {
        ::shutdown(fd_.get(), SHUT_WR);
        Deadline d = Clock::now() + std::chrono::milliseconds(300);
        std::uint8_t buf[4096];
        for (std::size_t total = 0; total < (1u << 20);) {
            std::size_t got = 0;
            if (read_some(buf, sizeof buf, got, d) != Io::kOk)
                return;
            total += got;
        }
    }

private:
    Io wait(short events, Deadline d) {
        for (;;) {
            int left = ms_until(d);
            if (left == 0 && Clock::now() >= d)
                return Io::kTimeout;
            pollfd pfd{fd_.get(), events, 0};
            int r = ::poll(&pfd, 1, left);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return Io::kError;
            if (r == 0)
                continue;  // re-check the deadline
            if (pfd.revents & (POLLERR | POLLNVAL))
                return Io::kError;
            return Io::kOk;  // readable, writable or hung up: the next call tells which
        }
    }

    Fd fd_;
    std::string peer_, address_;
};

class SocketListener : public Listener {
public:
    SocketListener(Fd fd, std::string where) : fd_(std::move(fd)), where_(std::move(where)) {}

    std::unique_ptr<Stream> next(std::string& error) override {
        for (;;) {
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            int c =
                ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&from), &from_len, SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                    continue;
                error = std::string("accept: ") + std::strerror(errno);
                return nullptr;
            }
            int one = 1;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            char host[NI_MAXHOST] = {};
            if ((from.ss_family != AF_INET && from.ss_family != AF_INET6) ||
                getnameinfo(reinterpret_cast<sockaddr*>(&from), from_len, host, sizeof host,
                            nullptr, 0, NI_NUMERICHOST) != 0)
                host[0] = '\0';
            return std::make_unique<FdStream>(Fd(c), where_, host);
        }
    }
    bool concurrent() const override { return true; }
    std::string where() const override { return where_; }

private:
    Fd fd_;
    std::string where_;
};

class VirtioListener : public Listener {
public:
    VirtioListener(std::string dev, std::string name)
        : dev_(std::move(dev)), name_(std::move(name)) {}

    std::unique_ptr<Stream> next(std::string& error) override {
        pace_reopen(last_);
        // The port stays the agent's for its whole life; after a session ends (the host closed
        // its socket, or a protocol error) it is reopened, which drops half-read frames.
        for (int attempt = 0;; ++attempt) {
            int fd = ::open(dev_.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
            if (fd >= 0)
                return std::make_unique<FdStream>(Fd(fd), "virtio " + dev_);
            if (attempt > 600) {
                error = "cannot open " + dev_ + ": " + std::strerror(errno);
                return nullptr;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
    }
    bool concurrent() const override { return false; }
    std::string where() const override { return "virtio " + name_ + " (" + dev_ + ")"; }

private:
    std::string dev_, name_;
    Clock::time_point last_{};
};

}  // namespace

bool transport_init(std::string&) {
    // A peer that goes away mid-write must give EPIPE, not kill the agent.
    signal(SIGPIPE, SIG_IGN);
    return true;
}

std::unique_ptr<Listener> listen_tcp(const std::string& addr_port, std::string& error) {
    std::string host;
    std::string port_s;
    if (!addr_port.empty() && addr_port[0] == '[') {
        auto close = addr_port.find("]:");
        if (close == std::string::npos) {
            error = "expected [IPv6]:PORT";
            return nullptr;
        }
        host = addr_port.substr(1, close - 1);
        port_s = addr_port.substr(close + 2);
    } else {
        auto colon = addr_port.rfind(':');
        if (colon == std::string::npos) {
            error = "expected ADDR:PORT";
            return nullptr;
        }
        host = addr_port.substr(0, colon);
        port_s = addr_port.substr(colon + 1);
    }
    std::uint16_t port = 0;
    auto [p, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
    if (ec != std::errc() || p != port_s.data() + port_s.size()) {
        error = "bad port " + port_s;
        return nullptr;
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
        family = AF_INET6;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        len = sizeof *a6;
    } else {
        error = "not a numeric address: " + host;
        return nullptr;
    }
    Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return nullptr;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        ::listen(fd.get(), 8) != 0) {
        error = "bind/listen " + addr_port + ": " + std::strerror(errno);
        return nullptr;
    }
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
    std::uint16_t real_port = family == AF_INET
                                  ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                                  : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    std::string where =
        "tcp " + (family == AF_INET6 ? "[" + host + "]" : host) + ":" + std::to_string(real_port);
    return std::make_unique<SocketListener>(std::move(fd), where);
}

std::unique_ptr<Listener> listen_unix(const std::string& path, std::string& error) {
    sockaddr_un sa{};
    if (path.empty() || path.size() >= sizeof sa.sun_path) {
        error = "unix socket path empty or too long";
        return nullptr;
    }
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return nullptr;
    }
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    // Owner-only: the socket is for the controller.
    mode_t old = umask(077);
    int br = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    umask(old);
    if (br != 0 || ::listen(fd.get(), 8) != 0) {
        error = "bind/listen " + path + ": " + std::strerror(errno);
        return nullptr;
    }
    return std::make_unique<SocketListener>(std::move(fd), "unix " + path);
}

std::unique_ptr<Listener> open_virtio(const std::string& name, std::string& error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::directory_iterator it("/sys/class/virtio-ports", ec), end; !ec && it != end;
         it.increment(ec)) {
        std::ifstream in(it->path() / "name");
        std::string n;
        std::getline(in, n);
        if (n == name)
            return std::make_unique<VirtioListener>("/dev/" + it->path().filename().string(), name);
    }
    error = "no virtio-serial port named " + name + " under /sys/class/virtio-ports";
    return nullptr;
}

}  // namespace botscope::guest
