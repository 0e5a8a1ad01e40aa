#pragma once
// Thresholds of the behaviour detectors. Every one has a name (used by `--threshold NAME=VALUE`
// and echoed in the report) and a documented default, listed in kThresholds (thresholds.cpp).
//
// The defaults are set for a sandbox run: a bot commanded to flood or scan does so for seconds
// to minutes, against few targets, from the one analysed host; ordinary browsing, name lookups
// and mail delivery must stay below every threshold.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/types.h"

namespace botscope::analysis::detect {

inline constexpr Timestamp kSecond = 1'000'000'000;

struct FloodConfig {
    /// SYN, UDP or ICMP packets an episode needs before it is a flood.
    std::uint64_t min_packets = 100;
    /// ... and its busiest second (calendar seconds of capture time) must reach this rate.
    double min_peak_pps = 50;
    /// An episode ends when its target gets nothing of that kind for this long.
    Timestamp idle_gap = 10 * kSecond;
    /// SYN flood: at most this share of the SYNs may lead to a completed handshake.
    double syn_max_handshake_share = 0.2;
    /// SYN and UDP floods: packets per distinct destination port, at least; below it the
    /// packets spread over ports like a port scan's probes, which the scan detector reports...
    double min_packets_per_port = 4;
    /// ... unless they come from this many distinct sources (a scan comes from one host; the
    /// random-port floods of bots spoof their sources)...
    std::uint64_t min_sources_any_port = 16;
    /// ... or, for UDP, are datagrams this large on average (bytes on the wire; a scan's
    /// probes are small, a flood's are filled).
    double udp_min_mean_bytes = 100;
    /// Reflection: a flood whose packets come from this many distinct sources, this share of
    /// them from one source port (DNS 53, NTP 123, SSDP 1900, HTTP 80...), is reflected by
    /// those servers, which answer requests forged in the target's name.
    std::uint64_t min_reflectors = 10;
    double reflection_min_port_share = 0.9;
    /// SYN-ACK reflection: its busiest second, at least. Backscatter (SYN-ACKs from servers
    /// that someone flooded in our name) has the same shape and reaches a host at a trickle.
    double synack_min_peak_pps = 200;
    /// UDP flood: replies from the target per packet sent, at most (a DNS server answering a
    /// burst of lookups is not flooded).
    double udp_max_reply_share = 0.5;
    /// Connect flood: completed handshakes in the episode, and the peak per second.
    std::uint64_t connect_min_handshakes = 100;
    double connect_min_peak_per_second = 20;
    /// HTTP flood: requests to one server, and the peak per second.
    std::uint64_t http_min_requests = 100;
    double http_min_peak_per_second = 20;
};

struct ScanConfig {
    /// Horizontal: distinct addresses probed on one port without a productive answer.
    std::uint64_t min_addresses = 5;
    /// Vertical: distinct ports of one address probed without a productive answer.
    std::uint64_t min_ports = 10;
    /// Share of a scanner's probes that must be unproductive (no payload answered): browsing
    /// or a spam run talks to many hosts, but they answer.
    double min_unproductive_share = 0.5;
};

struct SpamConfig {
    /// A spam run: one client's SMTP sessions reaching this many distinct servers, or carrying
    /// this many messages, or this many distinct recipient domains.
    std::uint64_t min_servers = 3;
    std::uint64_t min_messages = 20;
    std::uint64_t min_recipient_domains = 10;
};

struct BeaconConfig {
    /// Requests from one client to one server and URI pattern, at least.
    std::uint64_t min_requests = 4;
    /// Shortest and longest period considered (a page load is not a beacon).
    Timestamp min_period = 1 * kSecond;
    Timestamp max_period = 3600 * kSecond;
    /// Jitter (mean absolute deviation of the intervals / their median), at most.
    double max_jitter = 0.2;
};

struct CommandConfig {
    /// A behaviour is tied to a command when it starts within this long after it.
    Timestamp window = 120 * kSecond;
};

struct Config {
    /// The analysed host(s): the sandbox's guest. Empty: inferred (see behavior.h).
    std::vector<IpAddress> hosts;
    FloodConfig flood;
    ScanConfig scan;
    SpamConfig spam;
    BeaconConfig beacon;
    CommandConfig command;
};

/// One named threshold, for the command line, the documentation and the report.
struct ThresholdInfo {
    std::string_view name;         ///< "flood.min_packets"
    std::string_view unit;         ///< "packets", "seconds", "share"...
    std::string_view description;  ///< one line
};

/// Every threshold, in a stable order.
std::span<const ThresholdInfo> thresholds();

/// The value of a threshold in `config` (seconds for durations).
double threshold_value(const Config& config, std::string_view name);

/// Sets `name` from `value` text; an error message naming the problem, or empty.
std::string set_threshold(Config& config, std::string_view name, std::string_view value);

}  // namespace botscope::analysis::detect
