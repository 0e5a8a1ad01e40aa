#pragma once
// The host side of the sandbox's isolation: one nftables table owned by botscope per analysis
// network, and the decoy addresses.
//
// The table (family inet, so IPv6 is covered too), for packets arriving on the bridge:
//   - prerouting (nat): every TCP and UDP destination, whatever the address and port, is
//     DNAT-ed to fakenet's listeners on the host's address; while fakenet runs, ICMP echo
//     requests to any address go to the host, which answers them (a bot that pings before it
//     acts sees a live internet). Broadcast and multicast are not redirected.
//   - input: from the bridge, only what was redirected to fakenet's ports (and replies to
//     connections the host itself opened) is accepted; everything else, IPv6 included, is
//     dropped. libvirtd, sshd, the controller: the guest reaches none of them.
//   - forward: nothing from or to the bridge is forwarded, whatever the host's ip_forward says.
// Deny by default: the table stays when fakenet stops, so a guest then reaches nothing at all.
// It is replaced atomically (one nftables transaction), never touches another table, and
// remove_firewall() deletes exactly it.
//
// The decoys: every sandbox address that is not the host's or a guest's, added to the bridge as
// a /32, so that the host answers ARP for it and a worm sweeping its own /24 sends SYNs (which
// the table then redirects) rather than unanswered ARP requests.

#include <cstdint>
#include <string>

#include "fakenet/sandbox.h"
#include "util/result.h"

namespace botscope::fakenet {

struct FirewallSpec {
    std::string bridge = "virbr-bs0";
    Sandbox sandbox;
    std::uint16_t tcp_port = 0;  ///< fakenet's TCP listener on sandbox.host
    std::uint16_t udp_port = 0;  ///< fakenet's UDP socket on sandbox.host
    bool answer_ping = false;    ///< fakenet runs: the host answers echo requests to any address
};

/// "botscope_virbr_bs0": the table's name for a bridge.
std::string table_name(const std::string& bridge);

/// The ruleset text (what apply_firewall loads), for reading and for tests.
std::string firewall_ruleset(const FirewallSpec& spec);

/// Creates or replaces the table, atomically. Errors name nftables' own message.
util::Result<util::Done> apply_firewall(const FirewallSpec& spec);

/// Deletes the table; a missing table is fine.
util::Result<util::Done> remove_firewall(const std::string& bridge);

/// Is the table there?
bool firewall_present(const std::string& bridge);

struct FirewallCounters {
    std::uint64_t dropped_in = 0;  ///< packets from the guests to the host, dropped
    std::uint64_t forwarded = 0;   ///< packets from or to the bridge seen in forward (dropped)
    std::uint64_t redirected = 0;  ///< connections and datagrams DNAT-ed to fakenet
};

/// The table's counters; an error when the table is missing.
util::Result<FirewallCounters> firewall_counters(const std::string& bridge);

/// Adds the decoy addresses missing from the bridge; returns how many were added. The spec's
/// guests that are held as decoys are released first (release_guest_decoys).
util::Result<std::size_t> ensure_decoys(const FirewallSpec& spec);

/// Removes the spec's guests' addresses from the bridge's decoys. A guest's address held as a
/// decoy (made from a configuration that did not know that guest: one fakenet and firewall
/// serve every controller of the host) makes the host drop that guest's ARP requests as coming
/// from one of its own addresses, and the guest reaches nothing. Returns how many.
util::Result<std::size_t> release_guest_decoys(const FirewallSpec& spec);

/// Removes the /32 addresses of the sandbox's subnet from the bridge (all but the host's own
/// address): the decoys. Returns how many were removed.
util::Result<std::size_t> remove_decoys(const FirewallSpec& spec);

/// The whole ruleset of the host as nftables lists it, without botscope's table: what a test
/// compares before and after, to show the table leaves the rest alone.
util::Result<std::string> ruleset_without_ours(const std::string& bridge);

}  // namespace botscope::fakenet
