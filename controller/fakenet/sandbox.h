#pragma once
// The sandbox's addresses: the analysis network, the host's address on it (where fakenet
// listens, and what every name resolves to), the guests, and the decoys (every other address
// of the network, which the host answers ARP for so that a worm sweeping its /24 shows SYNs,
// not only unanswered ARP requests).
//
// Everything fakenet says to a guest, and every address an operator script names, stays inside
// `subnet`: foreign_addresses() is the one check that scripts, DNS overrides and rewritten
// captures pass through.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botscope::fakenet {

/// IPv4 addresses are host-order integers here; formatting and parsing are below.
using Ipv4 = std::uint32_t;

/// Strict dotted quad ("10.66.0.1"): four decimal octets, no leading zeros beyond "0".
std::optional<Ipv4> parse_ipv4(std::string_view text);
std::string format_ipv4(Ipv4 ip);

struct Subnet {
    Ipv4 base = 0;
    int prefix = 32;
    bool contains(Ipv4 ip) const;
    bool contains(const Subnet& other) const;
    Ipv4 first() const { return base; }
    Ipv4 last() const;
    std::string to_string() const;  ///< "10.66.0.0/24"
    /// "10.66.0.0/24"; the base must have no host bits.
    static std::optional<Subnet> parse(std::string_view text);
};

struct Sandbox {
    Subnet subnet{0x0A420000u, 24};  ///< 10.66.0.0/24
    Ipv4 host = 0x0A420001u;         ///< 10.66.0.1: the bridge's address, $SINKHOLE
    Ipv4 target = 0x0A4200C8u;       ///< 10.66.0.200: what operator scripts attack, $TARGET
    std::vector<Ipv4> guests;        ///< the configured guests' addresses

    bool contains(Ipv4 ip) const { return subnet.contains(ip); }
    bool is_guest(Ipv4 ip) const;
    /// Every address of the subnet but its network and broadcast addresses, the host and the
    /// guests: the host answers ARP for these. Empty for subnets wider than /16.
    std::vector<Ipv4> decoys() const;
    /// "10.66.0.x": the subnet as IRC bots name a range, for /24 and /16 ("10.66.x.x").
    std::string range_pattern() const;
};

/// Every IPv4 address, range or network named in `text` that is not inside the sandbox: four
/// parts in any base inet_aton() accepts (1.2.3.4, 0x0a.0x42.0.01), a "0x" number
/// (0x0a420001), wildcard ranges ("10.66.0.x", "10.66.*.*", "10.x.x.x") and CIDR
/// ("10.66.0.0/16"), also inside URLs. Bare decimals and one- or two-dot numbers are counts,
/// ports, delays and versions ("167772161", "1.5", "2.0"), not addresses. Each finding is the
/// token as written. Empty when everything named is inside.
std::vector<std::string> foreign_addresses(std::string_view text, const Sandbox& sandbox);

}  // namespace botscope::fakenet
