#include "net.h"

#include <algorithm>

#include "gate.h"
#include "sockets.h"

namespace botscope::botemu::net {

namespace {

enum class Ready { kYes, kTimeout, kError };

timeval until(Deadline deadline) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    if (left.count() < 0)
        left = std::chrono::microseconds(0);
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(left.count() / 1'000'000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>(left.count() % 1'000'000);
    return tv;
}

// Waits until `s` can be read (or written), or has failed, or `deadline` passes.
Ready wait_for(std::intptr_t handle, bool write, Deadline deadline) {
    const sys::Native s = sys::native(handle);
    if (!sys::fits_fd_set(s))
        return Ready::kError;
    while (true) {
        fd_set ready, failed;
        FD_ZERO(&ready);
        FD_ZERO(&failed);
        FD_SET(s, &ready);
        FD_SET(s, &failed);
        timeval tv = until(deadline);
        int n = select(sys::select_width(s), write ? nullptr : &ready, write ? &ready : nullptr,
                       &failed, &tv);
        if (n > 0)
            return Ready::kYes;
        if (n == 0)
            return Ready::kTimeout;
        if (!sys::would_block())
            return Ready::kError;
    }
}

util::Error error(std::string code, std::string message) {
    return util::Error{std::move(code), std::move(message)};
}

int socket_error(sys::Native s) {
    int err = 0;
    sys::Length len = sizeof err;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &len) != 0)
        return -1;
    return err;
}

// A non-blocking TCP socket with a connect to dst:port under way (or already done).
struct Started {
    Socket socket;
    bool done = false;    ///< connected at once
    bool failed = false;  ///< refused at once (or no socket)
};

Started start_connect(Ipv4 dst, std::uint16_t port) {
    Started r;
    r.socket = Socket(static_cast<std::intptr_t>(socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)));
    if (!r.socket.valid() || !sys::set_nonblocking(sys::native(r.socket.handle()))) {
        r.failed = true;
        return r;
    }
    sockaddr_in sa = sys::ipv4_address(dst, port);
    if (connect(sys::native(r.socket.handle()), reinterpret_cast<const sockaddr*>(&sa),
                sizeof sa) == 0)
        r.done = true;
    else if (!sys::connect_pending())
        r.failed = true;
    return r;
}

std::string outside_local(std::optional<Ipv4> local) {
    return "this machine's address " + (local ? fakenet::format_ipv4(*local) : "(none)") +
           " is outside the sandbox";
}

}  // namespace

Socket::~Socket() {
    if (valid())
        sys::close_native(sys::native(handle_));
}

Socket& Socket::operator=(Socket&& other) noexcept {
    if (this != &other) {
        if (valid())
            sys::close_native(sys::native(handle_));
        handle_ = other.handle_;
        other.handle_ = kInvalid;
    }
    return *this;
}

std::optional<Ipv4> route_source(Ipv4 dst) {
    Socket s(static_cast<std::intptr_t>(socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)));
    if (!s.valid())
        return std::nullopt;
    sockaddr_in sa = sys::ipv4_address(dst, 9);  // any port: nothing is sent
    if (connect(sys::native(s.handle()), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0)
        return std::nullopt;
    return local_address(s);
}

std::optional<Ipv4> local_address(const Socket& s) {
    sockaddr_in sa{};
    sys::Length len = sizeof sa;
    if (getsockname(sys::native(s.handle()), reinterpret_cast<sockaddr*>(&sa), &len) != 0 ||
        sa.sin_family != AF_INET)
        return std::nullopt;
    return ntohl(sa.sin_addr.s_addr);
}

util::Result<Socket> udp_open() {
    Socket s(static_cast<std::intptr_t>(socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)));
    if (!s.valid())
        return error("socket", "no UDP socket");
    return s;
}

util::Result<util::Done> udp_send(const Socket& s, Ipv4 dst, std::uint16_t port,
                                  std::span<const std::uint8_t> data) {
    if (auto why = check_destination(dst))
        return error("refused", *why);
    sockaddr_in sa = sys::ipv4_address(dst, port);
    auto n =
        sendto(sys::native(s.handle()), reinterpret_cast<const char*>(data.data()),
               static_cast<int>(data.size()), 0, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    if (n < 0 || static_cast<std::size_t>(n) != data.size())
        return error("send", "UDP send failed (error " + std::to_string(sys::last_error()) + ")");
    return util::Done{};
}

std::optional<Datagram> udp_receive(const Socket& s, std::span<std::uint8_t> buffer,
                                    Deadline deadline) {
    if (wait_for(s.handle(), false, deadline) != Ready::kYes)
        return std::nullopt;
    sockaddr_in from{};
    sys::Length len = sizeof from;
    auto n = recvfrom(sys::native(s.handle()), reinterpret_cast<char*>(buffer.data()),
                      static_cast<int>(buffer.size()), 0, reinterpret_cast<sockaddr*>(&from), &len);
    Datagram d;
    if (n < 0 && sys::datagram_cut())
        n = static_cast<decltype(n)>(buffer.size());
    if (n < 0 || from.sin_family != AF_INET)
        return std::nullopt;
    d.from = ntohl(from.sin_addr.s_addr);
    d.port = ntohs(from.sin_port);
    d.size = static_cast<std::size_t>(n);
    return d;
}

util::Result<Socket> tcp_connect(Ipv4 dst, std::uint16_t port, Deadline deadline) {
    if (auto why = check_destination(dst))
        return error("refused", *why);
    if (auto src = route_source(dst); !src || !in_sandbox(*src))
        return error("local_outside", outside_local(src));
    Started c = start_connect(dst, port);
    const std::string where = fakenet::format_ipv4(dst) + ":" + std::to_string(port);
    if (c.failed)
        return error("connect", "connection to " + where + " failed");
    if (!c.done) {
        Ready r = wait_for(c.socket.handle(), true, deadline);
        if (r != Ready::kYes)
            return error("connect", "connection to " + where + " timed out");
        if (int err = socket_error(sys::native(c.socket.handle())); err != 0)
            return error("connect",
                         "connection to " + where + " failed (error " + std::to_string(err) + ")");
    }
    if (auto local = local_address(c.socket); !local || !in_sandbox(*local))
        return error("local_outside", outside_local(local));
    return std::move(c.socket);
}

bool send_all(const Socket& s, std::string_view data, Deadline deadline) {
    while (!data.empty()) {
        if (wait_for(s.handle(), true, deadline) != Ready::kYes)
            return false;
        auto n = send(sys::native(s.handle()), data.data(), static_cast<int>(data.size()),
                      sys::kSendFlags);
        if (n < 0) {
            if (sys::would_block())
                continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

Received receive(const Socket& s, std::string& out, std::size_t max, Deadline deadline) {
    switch (wait_for(s.handle(), false, deadline)) {
        case Ready::kYes:
            break;
        case Ready::kTimeout:
            return Received::kTimeout;
        case Ready::kError:
            return Received::kError;
    }
    char buf[4096];
    auto n = recv(sys::native(s.handle()), buf, static_cast<int>(std::min(sizeof buf, max)), 0);
    if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        return Received::kData;
    }
    if (n == 0)
        return Received::kClosed;
    return sys::would_block() ? Received::kTimeout : Received::kError;
}

SweepResult connect_sweep(const std::vector<Ipv4>& targets, std::uint16_t port,
                          std::size_t in_flight, int timeout_ms, Deadline deadline) {
    SweepResult result;
    if (targets.empty() || in_flight == 0)
        return result;
    if (auto src = route_source(targets.front()); !src || !in_sandbox(*src))
        return result;
    struct Pending {
        Socket socket;
        Deadline until;
    };
    std::vector<Pending> pending;
    std::size_t next = 0;
    while (!pending.empty() || (next < targets.size() && Clock::now() < deadline)) {
        while (pending.size() < in_flight && next < targets.size() && Clock::now() < deadline) {
            const Ipv4 target = targets[next++];
            if (check_destination(target))
                continue;
            ++result.attempted;
            Started c = start_connect(target, port);
            if (c.done)
                ++result.answered;
            else if (!c.failed && sys::fits_fd_set(sys::native(c.socket.handle())))
                pending.push_back({std::move(c.socket), after_ms(timeout_ms)});
        }
        if (pending.empty())
            continue;
        fd_set ready, failed;
        FD_ZERO(&ready);
        FD_ZERO(&failed);
        int width = 0;
        Deadline first = pending.front().until;
        for (const auto& p : pending) {
            const sys::Native s = sys::native(p.socket.handle());
            FD_SET(s, &ready);
            FD_SET(s, &failed);
            width = std::max(width, sys::select_width(s));
            first = std::min(first, p.until);
        }
        timeval tv = until(first);
        if (select(width, nullptr, &ready, &failed, &tv) < 0 && !sys::would_block())
            break;
        const Deadline now = Clock::now();
        std::erase_if(pending, [&](const Pending& p) {
            const sys::Native s = sys::native(p.socket.handle());
            if (FD_ISSET(s, &ready) && socket_error(s) == 0) {
                ++result.answered;
                return true;
            }
            return FD_ISSET(s, &ready) || FD_ISSET(s, &failed) || now >= p.until;
        });
    }
    return result;
}

}  // namespace botscope::botemu::net
