#pragma once
// Byte streams between the agent and the controller. Every transport ends up as a Stream (a
// connected socket or the opened virtio-serial port), so the session code is one path for all.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "platform.h"

namespace botscope::guest {

enum class Io : std::uint8_t { kOk, kEof, kTimeout, kError };

class Stream {
public:
    virtual ~Stream() = default;
    /// Reads at least one byte (up to `n`) before `deadline`.
    virtual Io read_some(std::uint8_t* p, std::size_t n, std::size_t& got, Deadline deadline) = 0;
    /// Writes all `n` bytes before `deadline`.
    virtual Io write_all(const std::uint8_t* p, std::size_t n, Deadline deadline) = 0;
    /// Ends the session politely: stops sending and reads what the peer still sends for a
    /// moment, so that the last (error) response is not lost to a connection reset caused by
    /// unread input.
    virtual void finish() {}
    /// A description for the log ("tcp 127.0.0.1:40000", "virtio /dev/vport0p1").
    virtual std::string peer() const = 0;
    /// The peer's numeric address (a connected socket: "10.66.0.1", "::1"); empty otherwise.
    virtual std::string address() const { return {}; }
    /// Ends the session from another thread: its reads and writes fail from now on. The stream
    /// stays valid until its owner destroys it.
    virtual void abort() {}
};

/// Hands out streams: accepted connections, or the serial port (re)opened.
class Listener {
public:
    virtual ~Listener() = default;
    /// Blocks until the next stream; nullptr on a fatal error (set in `error`).
    virtual std::unique_ptr<Stream> next(std::string& error) = 0;
    /// Whether several streams may be served at the same time (sockets yes, a serial port no).
    virtual bool concurrent() const = 0;
    /// Where it listens, for the startup line.
    virtual std::string where() const = 0;
};

/// Paces the reopening of a serial port (virtio on Linux and Windows): with no host connected,
/// reads return end-of-file at once, so without a pause the agent would spin. The pause is also
/// the delay of the first answer after a VM revert (the host connects while the agent waits
/// here), so it is short: 20 reopens a second cost next to nothing. (poll() cannot wait for a
/// host instead: an unconnected port reports POLLHUP at once, like one whose host hung up.)
inline void pace_reopen(Clock::time_point& last) {
    constexpr auto kReopenPace = std::chrono::milliseconds(50);
    auto since = Clock::now() - last;
    if (since < kReopenPace)
        std::this_thread::sleep_for(kReopenPace - since);
    last = Clock::now();
}

/// "--tcp ADDR:PORT" (IPv4 or [IPv6]); port 0 picks a free port.
std::unique_ptr<Listener> listen_tcp(const std::string& addr_port, std::string& error);
/// "--unix PATH" (Linux): listens on a unix socket, the way the host side of a libvirt
/// virtio-serial channel looks to the controller.
std::unique_ptr<Listener> listen_unix(const std::string& path, std::string& error);
/// The virtio-serial port with this name.
std::unique_ptr<Listener> open_virtio(const std::string& name, std::string& error);

/// Called once at startup (Windows: WSAStartup).
bool transport_init(std::string& error);

}  // namespace botscope::guest
