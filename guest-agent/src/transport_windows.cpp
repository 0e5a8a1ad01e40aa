// Windows transports: a winsock TCP listener, and the virtio-serial port
// (\\.\Global\<name>, from the virtio-win vioserial driver) opened for overlapped I/O so that
// every read and write has a deadline.
// winsock2.h must come before windows.h; the blank lines keep clang-format from sorting them.
#include <winsock2.h>

#include <ws2tcpip.h>

#include <windows.h>

#include <charconv>
#include <cstring>
#include <thread>

#include "transport.h"

namespace botscope::guest {

namespace {

DWORD ms_until(Deadline d) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
    if (left <= 0)
        return 0;
    return left > 60'000 ? 60'000 : static_cast<DWORD>(left);
}

// "1.2.3.4:5" or "[::1]:5". IPv4 is parsed here; IPv6 goes through WSAStringToAddressA
// (inet_pton is Vista+), which also fills in the scope.
bool parse_addr_port(const std::string& s, sockaddr_storage& ss, int& len, int& family) {
    std::string host, port_s;
    if (!s.empty() && s[0] == '[') {
        auto close = s.find("]:");
        if (close == std::string::npos)
            return false;
        host = s.substr(1, close - 1);
        port_s = s.substr(close + 2);
        family = AF_INET6;
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string::npos)
            return false;
        host = s.substr(0, colon);
        port_s = s.substr(colon + 1);
        family = AF_INET;
    }
    std::uint16_t port = 0;
    auto [pe, pec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
    if (pec != std::errc() || pe != port_s.data() + port_s.size() || port_s.empty())
        return false;
    if (family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        std::uint8_t b[4];
        const char* p = host.data();
        const char* end = host.data() + host.size();
        for (int i = 0; i < 4; ++i) {
            auto [np, ec] = std::from_chars(p, end, b[i]);
            if (ec != std::errc() || np == p)
                return false;
            p = np;
            if (i < 3) {
                if (p == end || *p != '.')
                    return false;
                ++p;
            }
        }
        if (p != end)
            return false;
        a->sin_family = AF_INET;
        std::memcpy(&a->sin_addr, b, 4);
        a->sin_port = htons(port);
        len = sizeof *a;
        return true;
    }
    int l = sizeof ss;
    if (WSAStringToAddressA(host.data(), AF_INET6, nullptr, reinterpret_cast<sockaddr*>(&ss), &l) !=
        0)
        return false;
    reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
    len = l;
    return true;
}

class SocketStream : public Stream {
public:
    SocketStream(SOCKET s, std::string peer, std::string address)
        : s_(s), peer_(std::move(peer)), address_(std::move(address)) {
        u_long nb = 1;
        ioctlsocket(s_, FIONBIO, &nb);
    }
    ~SocketStream() override { closesocket(s_); }
    SocketStream(const SocketStream&) = delete;
    SocketStream& operator=(const SocketStream&) = delete;

    Io read_some(std::uint8_t* p, std::size_t n, std::size_t& got, Deadline d) override {
        for (;;) {
            int r = recv(s_, reinterpret_cast<char*>(p),
                         static_cast<int>(std::min<std::size_t>(n, 1 << 20)), 0);
            if (r > 0) {
                got = static_cast<std::size_t>(r);
                return Io::kOk;
            }
            if (r == 0)
                return Io::kEof;
            if (WSAGetLastError() != WSAEWOULDBLOCK)
                return Io::kError;
            if (Io w = wait(true, d); w != Io::kOk)
                return w;
        }
    }

    Io write_all(const std::uint8_t* p, std::size_t n, Deadline d) override {
        while (n > 0) {
            int r = send(s_, reinterpret_cast<const char*>(p),
                         static_cast<int>(std::min<std::size_t>(n, 1 << 20)), 0);
            if (r > 0) {
                p += r;
                n -= static_cast<std::size_t>(r);
                continue;
            }
            if (WSAGetLastError() != WSAEWOULDBLOCK)
                return Io::kError;
            if (Io w = wait(false, d); w != Io::kOk)
                return w;
        }
        return Io::kOk;
    }

    void finish() override {
        shutdown(s_, SD_SEND);
        Deadline d = Clock::now() + std::chrono::milliseconds(300);
        std::uint8_t buf[4096];
        for (std::size_t total = 0; total < (1u << 20);) {
            std::size_t got = 0;
            if (read_some(buf, sizeof buf, got, d) != Io::kOk)
                return;
            total += got;
        }
    }

    std::string peer() const override { return peer_; }
    std::string address() const override { return address_; }
    void abort() override { shutdown(s_, SD_BOTH); }

private:
    Io wait(bool for_read, Deadline d) {
        for (;;) {
            if (Clock::now() >= d)
                return Io::kTimeout;
            // One set only: a reset or closed connection shows as readable (recv then fails)
            // or writable (send fails). Listing the socket in an except set as well made
            // wine 8's wineserver abort (sock.c complete_async_poll assertion) when both fired.
            fd_set set;
            FD_ZERO(&set);
            FD_SET(s_, &set);
            DWORD ms = ms_until(d);
            timeval tv{static_cast<long>(ms / 1000), static_cast<long>((ms % 1000) * 1000)};
            int r = select(0, for_read ? &set : nullptr, for_read ? nullptr : &set, nullptr, &tv);
            if (r == SOCKET_ERROR)
                return Io::kError;
            if (r > 0)
                return Io::kOk;
        }
    }

    SOCKET s_;
    std::string peer_, address_;
};

class TcpListener : public Listener {
public:
    TcpListener(SOCKET s, std::string where) : s_(s), where_(std::move(where)) {}
    ~TcpListener() override { closesocket(s_); }
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;

    std::unique_ptr<Stream> next(std::string& error) override {
        for (;;) {
            sockaddr_storage from{};
            int from_len = sizeof from;
            SOCKET c = accept(s_, reinterpret_cast<sockaddr*>(&from), &from_len);
            if (c == INVALID_SOCKET) {
                int e = WSAGetLastError();
                if (e == WSAECONNRESET || e == WSAEINTR || e == WSAEMFILE)
                    continue;
                error = "accept failed: WSA error " + std::to_string(e);
                return nullptr;
            }
            // Not inherited by the samples the agent starts.
            SetHandleInformation(reinterpret_cast<HANDLE>(c), HANDLE_FLAG_INHERIT, 0);
            BOOL one = TRUE;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one),
                       sizeof one);
            char host[NI_MAXHOST] = {};
            if ((from.ss_family != AF_INET && from.ss_family != AF_INET6) ||
                getnameinfo(reinterpret_cast<sockaddr*>(&from), from_len, host, sizeof host,
                            nullptr, 0, NI_NUMERICHOST) != 0)
                host[0] = '\0';
            return std::make_unique<SocketStream>(c, where_, host);
        }
    }
    bool concurrent() const override { return true; }
    std::string where() const override { return where_; }

private:
    SOCKET s_;
    std::string where_;
};

class SerialStream : public Stream {
public:
    SerialStream(HANDLE h, std::string peer) : h_(h), peer_(std::move(peer)) {
        ev_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    }
    ~SerialStream() override {
        CloseHandle(ev_);
        CloseHandle(h_);
    }
    SerialStream(const SerialStream&) = delete;
    SerialStream& operator=(const SerialStream&) = delete;

    Io read_some(std::uint8_t* p, std::size_t n, std::size_t& got, Deadline d) override {
        DWORD done = 0;
        Io r = io(true, p, static_cast<DWORD>(std::min<std::size_t>(n, 1 << 20)), done, d);
        if (r == Io::kOk && done == 0)
            return Io::kEof;
        got = done;
        return r;
    }

    Io write_all(const std::uint8_t* p, std::size_t n, Deadline d) override {
        while (n > 0) {
            DWORD done = 0;
            Io r = io(false, const_cast<std::uint8_t*>(p),
                      static_cast<DWORD>(std::min<std::size_t>(n, 1 << 20)), done, d);
            if (r != Io::kOk)
                return r;
            p += done;
            n -= done;
        }
        return Io::kOk;
    }

    std::string peer() const override { return peer_; }

private:
    Io io(bool read, std::uint8_t* p, DWORD n, DWORD& done, Deadline d) {
        OVERLAPPED ov{};
        ov.hEvent = ev_;
        ResetEvent(ev_);
        BOOL ok = read ? ReadFile(h_, p, n, nullptr, &ov) : WriteFile(h_, p, n, nullptr, &ov);
        if (!ok && GetLastError() != ERROR_IO_PENDING)
            return Io::kError;
        if (WaitForSingleObject(ev_, ms_until(d)) != WAIT_OBJECT_0) {
            CancelIo(h_);
            GetOverlappedResult(h_, &ov, &done, TRUE);
            return Io::kTimeout;
        }
        if (!GetOverlappedResult(h_, &ov, &done, FALSE))
            return Io::kError;
        return Io::kOk;
    }

    HANDLE h_;
    HANDLE ev_;
    std::string peer_;
};

// A name is the port's name under the vioserial driver; a path (Wine: Z:\dev\vport1p1, the
// Linux port itself, which Wine opens as a plain device) is opened as it is.
std::string serial_path(const std::string& name) {
    if (name.find('\\') != std::string::npos || name.find(':') != std::string::npos)
        return name;
    return "\\\\.\\Global\\" + name;
}

class SerialListener : public Listener {
public:
    explicit SerialListener(std::string name) : name_(std::move(name)) {}

    std::unique_ptr<Stream> next(std::string& error) override {
        pace_reopen(last_);
        std::string path = serial_path(name_);
        for (int attempt = 0;; ++attempt) {
            HANDLE h = CreateFileA(path.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                   OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
            if (h != INVALID_HANDLE_VALUE)
                return std::make_unique<SerialStream>(h, "virtio " + name_);
            if (attempt > 600) {
                error = "cannot open " + path + ": Win32 error " + std::to_string(GetLastError());
                return nullptr;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
    }
    bool concurrent() const override { return false; }
    std::string where() const override { return "virtio " + serial_path(name_); }

private:
    std::string name_;
    Clock::time_point last_{};
};

}  // namespace

bool transport_init(std::string& error) {
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        error = "WSAStartup failed";
        return false;
    }
    return true;
}

std::unique_ptr<Listener> listen_tcp(const std::string& addr_port, std::string& error) {
    sockaddr_storage ss{};
    int len = 0;
    int family = AF_INET;
    if (!parse_addr_port(addr_port, ss, len, family)) {
        error = "not a numeric ADDR:PORT or [IPv6]:PORT: " + addr_port;
        return nullptr;
    }
    SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, 0);
    if (s == INVALID_SOCKET) {
        error = "socket failed: WSA error " + std::to_string(WSAGetLastError());
        return nullptr;
    }
    SetHandleInformation(reinterpret_cast<HANDLE>(s), HANDLE_FLAG_INHERIT, 0);
    // Exclusive: no other process in the guest may bind the same port and steal connections.
    BOOL one = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&one), sizeof one);
    if (bind(s, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(s, 8) != 0) {
        error = "bind/listen " + addr_port + ": WSA error " + std::to_string(WSAGetLastError());
        closesocket(s);
        return nullptr;
    }
    sockaddr_storage bound{};
    int blen = sizeof bound;
    getsockname(s, reinterpret_cast<sockaddr*>(&bound), &blen);
    char text[128] = {};
    DWORD tlen = sizeof text;
    WSAAddressToStringA(reinterpret_cast<sockaddr*>(&bound), static_cast<DWORD>(blen), nullptr,
                        text, &tlen);
    return std::make_unique<TcpListener>(s, std::string("tcp ") + text);
}

std::unique_ptr<Listener> listen_unix(const std::string&, std::string& error) {
    error = "--unix is for Linux (tests); use --tcp or the virtio port on Windows";
    return nullptr;
}

std::unique_ptr<Listener> open_virtio(const std::string& name, std::string& error) {
    std::string path = serial_path(name);
    HANDLE h = CreateFileA(path.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
        error = "cannot open " + path +
                " (virtio-serial driver and channel present?): Win32 error " +
                std::to_string(GetLastError());
        return nullptr;
    }
    CloseHandle(h);
    return std::make_unique<SerialListener>(name);
}

}  // namespace botscope::guest
