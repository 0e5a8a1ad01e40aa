#pragma once
// fakenet's network side: one process per analysis network (`botscope fakenet run`), serving
// every guest on it. It owns the sockets the firewall redirects to (one TCP listener, one UDP
// socket, both on the host's address), finds each connection's original destination, detects
// its protocol by content and hands it to a service; it keeps one TaskSession per guest while a
// task runs there (begun and ended over the control socket, control.h), so that everything it
// records is attributed to the task by the guest's address and the time.
//
// Limits (ServiceLimits, each with a default): connections in all and per client address,
// bytes read per connection, output waiting per connection and in all, time to sniff a
// protocol, idle time. A limit hit closes that connection and is counted; others go on.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "fakenet/classify.h"
#include "fakenet/dns_responder.h"
#include "fakenet/firewall.h"
#include "fakenet/sandbox.h"
#include "fakenet/session.h"
#include "fakenet/task_records.h"
#include "util/result.h"

namespace botscope::fakenet {

struct ServiceLimits {
    std::size_t max_connections = 1024;         ///< open TCP connections in all
    std::size_t max_per_client = 512;           ///< ... from one address
    std::uint64_t max_bytes_in = 16u << 20;     ///< read from one connection, then closed
    std::uint64_t max_output = 256u << 10;      ///< waiting to be sent on one connection
    std::uint64_t max_output_total = 32u << 20; ///< ... on all connections together
    std::size_t max_sniff_bytes = kSniffLimit;  ///< read before the protocol must be decided
    Millis sniff_ms = 1500;                     ///< a silent client's protocol is then decided
    Millis idle_ms = 60'000;                    ///< a connection silent this long is closed
    Millis irc_idle_ms = 300'000;               ///< ... an IRC one (the server PINGs at 90 s)
    std::size_t max_tasks = 64;                 ///< task sessions at once
    std::size_t max_datagrams_per_wakeup = 512; ///< UDP read per wakeup, so TCP is not starved
};

struct ServiceConfig {
    Sandbox sandbox;
    Ipv4 listen = 0;  ///< where the sockets are bound; 0: sandbox.host
    std::uint16_t tcp_port = 65530;
    std::uint16_t udp_port = 65530;
    std::string bridge = "virbr-bs0";
    bool firewall = true;  ///< apply the table and the decoys at start (and on each task)
    std::filesystem::path control = "/run/botscope/fakenet.sock";
    std::filesystem::path lock = "/run/botscope/fakenet.lock";
    DnsPolicy dns;  ///< the default; a task may add names and NXDOMAINs
    RecordCaps caps;
    ServiceLimits limits;
};

/// Runs the service until SIGTERM, SIGINT or a "stop" request. Prints its state to stderr
/// (the daemon's log). Errors: another instance holds the lock, a port is taken, the control
/// socket cannot be made, the firewall cannot be applied.
util::Result<util::Done> run_service(const ServiceConfig& config);

}  // namespace botscope::fakenet
