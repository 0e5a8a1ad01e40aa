#include <array>
#include <charconv>
#include <cmath>

#include "analysis/detect/config.h"

namespace botscope::analysis::detect {

namespace {

/// How a threshold is stored; durations are given and shown in seconds.
enum class Kind : std::uint8_t { kCount, kReal, kDuration };

struct Field {
    ThresholdInfo info;
    Kind kind;
    void* (*locate)(Config&);
};

template <auto Group, auto Member>
void* member_of(Config& c) {
    return &((c.*Group).*Member);
}

constexpr Field kFields[] = {
    {{"flood.min_packets", "packets", "SYN, UDP or ICMP packets an episode needs to be a flood"},
     Kind::kCount,
     &member_of<&Config::flood, &FloodConfig::min_packets>},
    {{"flood.min_peak_pps", "packets/s", "busiest second of a flood episode, at least"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::min_peak_pps>},
    {{"flood.idle_gap", "seconds", "a flood episode ends after this long without its packets"},
     Kind::kDuration,
     &member_of<&Config::flood, &FloodConfig::idle_gap>},
    {{"flood.syn_max_handshake_share", "share",
      "SYN flood: share of SYNs that completed a handshake, at most"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::syn_max_handshake_share>},
    {{"flood.min_packets_per_port", "packets",
      "SYN/UDP flood: packets per destination port, at least (fewer: a port scan)"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::min_packets_per_port>},
    {{"flood.min_sources_any_port", "sources",
      "SYN/UDP flood: or this many sources, whatever the ports"},
     Kind::kCount,
     &member_of<&Config::flood, &FloodConfig::min_sources_any_port>},
    {{"flood.udp_min_mean_bytes", "bytes",
      "UDP flood: or datagrams this large on average, whatever the ports"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::udp_min_mean_bytes>},
    {{"flood.min_reflectors", "sources",
      "reflection: distinct sources sending from one port, at least"},
     Kind::kCount,
     &member_of<&Config::flood, &FloodConfig::min_reflectors>},
    {{"flood.reflection_min_port_share", "share",
      "reflection: share of the flood from that one source port, at least"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::reflection_min_port_share>},
    {{"flood.synack_min_peak_pps", "packets/s",
      "SYN-ACK reflection: busiest second, at least (below: backscatter)"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::synack_min_peak_pps>},
    {{"flood.udp_max_reply_share", "share", "UDP flood: replies per packet sent, at most"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::udp_max_reply_share>},
    {{"flood.connect_min_handshakes", "connections",
      "connect flood: completed handshakes, at least"},
     Kind::kCount,
     &member_of<&Config::flood, &FloodConfig::connect_min_handshakes>},
    {{"flood.connect_min_peak_per_second", "connections/s",
      "connect flood: busiest second, at least"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::connect_min_peak_per_second>},
    {{"flood.http_min_requests", "requests", "HTTP flood: requests to one server, at least"},
     Kind::kCount,
     &member_of<&Config::flood, &FloodConfig::http_min_requests>},
    {{"flood.http_min_peak_per_second", "requests/s", "HTTP flood: busiest second, at least"},
     Kind::kReal,
     &member_of<&Config::flood, &FloodConfig::http_min_peak_per_second>},
    {{"scan.min_addresses", "addresses",
      "horizontal scan: addresses probed on one port without a productive answer"},
     Kind::kCount,
     &member_of<&Config::scan, &ScanConfig::min_addresses>},
    {{"scan.min_ports", "ports",
      "vertical scan: ports of one address probed without a productive answer"},
     Kind::kCount,
     &member_of<&Config::scan, &ScanConfig::min_ports>},
    {{"scan.min_unproductive_share", "share",
      "share of a scanner's probes that got no payload answer, at least"},
     Kind::kReal,
     &member_of<&Config::scan, &ScanConfig::min_unproductive_share>},
    {{"spam.min_servers", "servers", "spam run: distinct SMTP servers reached, at least"},
     Kind::kCount,
     &member_of<&Config::spam, &SpamConfig::min_servers>},
    {{"spam.min_messages", "messages", "spam run: or this many messages"},
     Kind::kCount,
     &member_of<&Config::spam, &SpamConfig::min_messages>},
    {{"spam.min_recipient_domains", "domains", "spam run: or this many recipient domains"},
     Kind::kCount,
     &member_of<&Config::spam, &SpamConfig::min_recipient_domains>},
    {{"beacon.min_requests", "requests", "HTTP beacon: requests to one server and URI pattern"},
     Kind::kCount,
     &member_of<&Config::beacon, &BeaconConfig::min_requests>},
    {{"beacon.min_period", "seconds", "HTTP beacon: shortest period"},
     Kind::kDuration,
     &member_of<&Config::beacon, &BeaconConfig::min_period>},
    {{"beacon.max_period", "seconds", "HTTP beacon: longest period"},
     Kind::kDuration,
     &member_of<&Config::beacon, &BeaconConfig::max_period>},
    {{"beacon.max_jitter", "share",
      "HTTP beacon: mean absolute deviation of the intervals over their median, at most"},
     Kind::kReal,
     &member_of<&Config::beacon, &BeaconConfig::max_jitter>},
    {{"command.window", "seconds", "a behaviour is tied to a command starting this long after it"},
     Kind::kDuration,
     &member_of<&Config::command, &CommandConfig::window>},
};

constexpr auto kInfos = [] {
    std::array<ThresholdInfo, std::size(kFields)> a{};
    for (std::size_t i = 0; i < a.size(); ++i)
        a[i] = kFields[i].info;
    return a;
}();

const Field* find(std::string_view name) {
    for (const auto& f : kFields)
        if (f.info.name == name)
            return &f;
    return nullptr;
}

}  // namespace

std::span<const ThresholdInfo> thresholds() {
    return kInfos;
}

double threshold_value(const Config& config, std::string_view name) {
    const Field* f = find(name);
    if (!f)
        return 0;
    void* p = f->locate(const_cast<Config&>(config));
    switch (f->kind) {
        case Kind::kCount:
            return static_cast<double>(*static_cast<std::uint64_t*>(p));
        case Kind::kReal:
            return *static_cast<double*>(p);
        case Kind::kDuration:
            return static_cast<double>(*static_cast<Timestamp*>(p)) / 1e9;
    }
    return 0;
}

std::string set_threshold(Config& config, std::string_view name, std::string_view value) {
    const Field* f = find(name);
    if (!f)
        return "unknown threshold '" + std::string(name) + "'";
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(v) || v < 0)
        return "threshold " + std::string(name) + " needs a number >= 0, not '" +
               std::string(value) + "'";
    void* p = f->locate(config);
    switch (f->kind) {
        case Kind::kCount:
            if (v != std::floor(v) || v > 1e15)
                return "threshold " + std::string(name) + " needs a whole number";
            *static_cast<std::uint64_t*>(p) = static_cast<std::uint64_t>(v);
            return {};
        case Kind::kReal:
            *static_cast<double*>(p) = v;
            return {};
        case Kind::kDuration:
            if (v > 1e6)
                return "threshold " + std::string(name) + " is at most 1000000 seconds";
            *static_cast<Timestamp*>(p) = static_cast<Timestamp>(v * 1e9);
            return {};
    }
    return {};
}

}  // namespace botscope::analysis::detect
