#pragma once
// The emulator's only way onto the network. Every function here that can put a packet on the
// wire checks its destination with the gate (gate.h) itself, and a raw packet's source too, so
// nothing outside the sandbox is ever sent to whatever the caller did. The one datagram sent
// before the C&C is known is the DNS query to the resolver, which the gate checked first.
//
// All TCP sockets are non-blocking and every wait has a deadline. Socket code shared by Linux
// and Windows is in net.cpp; what differs (raw sockets, the resolver, where downloads go) is in
// host_posix.cpp and host_windows.cpp.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bounds.h"
#include "util/result.h"

namespace botscope::botemu::net {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline after_ms(std::int64_t ms) {
    return Clock::now() + std::chrono::milliseconds(ms);
}

/// A socket handle, closed when destroyed.
class Socket {
public:
    static constexpr std::intptr_t kInvalid = -1;
    Socket() = default;
    explicit Socket(std::intptr_t handle) : handle_(handle) {}
    ~Socket();
    Socket(Socket&& other) noexcept : handle_(other.handle_) { other.handle_ = kInvalid; }
    Socket& operator=(Socket&& other) noexcept;
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    bool valid() const { return handle_ != kInvalid; }
    std::intptr_t handle() const { return handle_; }

private:
    std::intptr_t handle_ = kInvalid;
};

/// Starts the socket library (Winsock on Windows); the error says why not.
util::Result<util::Done> startup();

/// The address this machine would send from to reach `dst`, from a connected UDP socket's
/// local address: connecting a UDP socket only picks a route, it sends nothing.
std::optional<Ipv4> route_source(Ipv4 dst);

util::Result<Socket> udp_open();
/// One datagram to dst:port. Error code "refused" when the gate refuses `dst`.
util::Result<util::Done> udp_send(const Socket& s, Ipv4 dst, std::uint16_t port,
                                  std::span<const std::uint8_t> data);

struct Datagram {
    Ipv4 from = 0;
    std::uint16_t port = 0;
    std::size_t size = 0;  ///< bytes written to the buffer (a longer datagram is cut)
};
/// Waits until `deadline` for one datagram; nullopt on timeout or error.
std::optional<Datagram> udp_receive(const Socket& s, std::span<std::uint8_t> buffer,
                                    Deadline deadline);

/// A TCP connection to dst:port established by `deadline`. Error codes: "refused" (the gate
/// refuses `dst`), "local_outside" (this machine's address toward `dst` is outside the
/// sandbox: checked before connecting, and again on the connected socket), "connect" (no
/// connection: refused, unreachable, timed out).
util::Result<Socket> tcp_connect(Ipv4 dst, std::uint16_t port, Deadline deadline);

std::optional<Ipv4> local_address(const Socket& s);

/// Sends all of `data` by `deadline`; false when the connection failed or stalled.
bool send_all(const Socket& s, std::string_view data, Deadline deadline);

enum class Received { kData, kClosed, kTimeout, kError };
/// Waits until `deadline` for data, and appends what is there (at most `max` bytes) to `out`.
Received receive(const Socket& s, std::string& out, std::size_t max, Deadline deadline);

struct SweepResult {
    std::size_t attempted = 0;
    std::size_t answered = 0;  ///< connections that completed (the host answered the SYN)
};
/// Non-blocking connects to each target's `port`, at most `in_flight` at once, each given
/// `timeout_ms`; every connection is closed as soon as it completes or fails: nothing is sent
/// on it. Targets the gate refuses are skipped. Stops starting new ones at `deadline`.
SweepResult connect_sweep(const std::vector<Ipv4>& targets, std::uint16_t port,
                          std::size_t in_flight, int timeout_ms, Deadline deadline);

/// Raw IPv4 packets with their own headers (IP_HDRINCL): Linux as root only.
class RawSender {
public:
    /// nullopt when raw sockets are unavailable (not root, or Windows).
    static std::optional<RawSender> open();
    /// Sends one packet from packet.h. Refused (false) unless its destination passes the gate
    /// and its (spoofed) source is inside the sandbox.
    bool send(std::span<const std::uint8_t> packet) const;

private:
    explicit RawSender(Socket s) : socket_(std::move(s)) {}
    Socket socket_;
};

/// Windows floods without raw sockets: a plain UDP burst from the bot's own address is sent
/// instead of a spoofed one (SYN and ICMP floods are refused there). False on Linux, where a
/// bot that is not root says "raw sockets unavailable" for every flood.
extern const bool kPlainUdpFallback;

/// The resolver to use without --resolver, as written: Linux, the first nameserver of
/// /etc/resolv.conf (nullopt when there is none); Windows, which has no such file,
/// kDefaultResolver.
std::optional<std::string> system_resolver();

/// Saves a download as `name` (already sanitised: no separators) in /tmp or %TEMP%, never
/// following a link there. Returns the path.
util::Result<std::string> save_download(std::string_view name, std::span<const std::uint8_t> data);

}  // namespace botscope::botemu::net
