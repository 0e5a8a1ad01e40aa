#pragma once
// The services' contract with the network side (service.cpp): a service is a pure state
// machine, bytes and a monotonic clock in, bytes and records out. It never touches a socket, a
// timer or the wall clock, so each one is unit-tested and fuzzed without a network.
//
// The network side owns the sockets and enforces the limits that span services (connections,
// bytes per connection, idle time); each service bounds its own buffers and says how much it
// holds (buffered()).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fakenet/sandbox.h"

namespace botscope::fakenet {

/// Records keep their keys in the order written (the report shows them as they are).
using Json = nlohmann::ordered_json;

/// Monotonic milliseconds. Services take the time as a parameter so that tests drive it.
using Millis = std::int64_t;

struct Endpoint {
    Ipv4 ip = 0;
    std::uint16_t port = 0;
    std::string to_string() const;  ///< "10.66.0.10:1025"
    bool operator==(const Endpoint&) const = default;
};

/// One connection (or, for UDP, one datagram's addresses) as the guest made it.
struct ConnInfo {
    std::uint64_t id = 0;  ///< unique per fakenet process; records name it as "conn"
    Endpoint client;       ///< the guest's address and port
    Endpoint original;     ///< where the guest sent it, before the host redirected it to fakenet
};

/// What a service hands back: bytes to send, in order, and whether to close once they are sent.
struct Output {
    std::string data;
    bool close = false;
};

/// Where services put what they saw. The implementation stamps each record with the wall
/// clock, attributes it to the task of the guest, keeps it within the task's caps and streams
/// it to the task's log; services only describe.
class Recorder {
public:
    virtual ~Recorder() = default;
    /// One record. `kind` is one of: dns, irc, smtp, http, tftp, tcp, udp (documented with each
    /// service); `fields` is a JSON object.
    virtual void record(std::string_view kind, Json fields) = 0;
    /// A mail message the SMTP sink accepted (at most kMaxMessageBytes of it). Returns where it
    /// was stored, relative to the task's folder ("mail/003.eml"), or "" when it was not (past
    /// the store's count, or no task folder).
    virtual std::string store_message(std::string_view message) = 0;
};

/// One TCP connection of one protocol. The network side creates it once the protocol is known
/// (classify.h), replays the bytes it already read, then feeds it as data arrives.
class TcpSession {
public:
    virtual ~TcpSession() = default;
    /// The connection is handed over (a banner for protocols where the server speaks first).
    virtual void on_open(Millis now, Output& out) {
        (void)now;
        (void)out;
    }
    /// Bytes from the client, as they came (any split).
    virtual void on_data(std::string_view data, Millis now, Output& out) = 0;
    /// Called every ~100 ms: timers (the IRC operator's script, PINGs, retransmissions).
    virtual void on_tick(Millis now, Output& out) {
        (void)now;
        (void)out;
    }
    /// The connection ended (either side, or a limit). No further calls follow.
    virtual void on_close(Millis now) { (void)now; }
    /// Bytes the session holds in its own buffers, for the memory accounting.
    virtual std::size_t buffered() const { return 0; }
};

}  // namespace botscope::fakenet
