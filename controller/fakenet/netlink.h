#pragma once
// The two things fakenet asks the kernel over netlink, without a library for either:
//   - conntrack: where a redirected UDP datagram was originally sent (TCP has SO_ORIGINAL_DST;
//     UDP has no socket option for a DNAT-ed destination, so the connection's original tuple is
//     looked up by its reply tuple);
//   - the decoy addresses: /32 addresses on the analysis bridge, so that the host answers ARP
//     for every address of the sandbox that is not a guest.
// Every call has a receive deadline and returns a value; nothing throws.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fakenet/session.h"
#include "util/result.h"

namespace botscope::fakenet {

/// Looks up the original destination of a UDP datagram that arrived at `local` from `client`
/// after a DNAT. nullopt when conntrack has no such connection (the datagram was not redirected)
/// or cannot be asked.
class ConntrackLookup {
public:
    ConntrackLookup();
    ~ConntrackLookup();
    ConntrackLookup(const ConntrackLookup&) = delete;
    ConntrackLookup& operator=(const ConntrackLookup&) = delete;

    std::optional<Endpoint> original_udp(const Endpoint& client, const Endpoint& local);
    /// Why the last lookup failed ("" after a success).
    const std::string& last_error() const { return error_; }

private:
    int fd_ = -1;
    std::uint32_t seq_ = 0;
    std::string error_;
};

/// Deletes the conntrack entries of every connection a sandbox address opened (original source
/// inside `subnet`). A connection's NAT is decided by its first packet and kept by its entry:
/// without this, a ping or a datagram that repeats an earlier one (a guest reverted to the
/// same snapshot repeats its ports and ICMP ids) would still be redirected after the rules
/// changed. Returns how many were deleted.
util::Result<std::size_t> flush_conntrack(const Subnet& subnet);

/// The interface's index, or 0 when it does not exist.
unsigned interface_index(const std::string& name);

/// The IPv4 addresses on an interface, with their prefix lengths.
util::Result<std::vector<std::pair<Ipv4, int>>> interface_addresses(const std::string& name);

/// Adds each address as a /32 to the interface; those already there are left alone.
/// Returns how many were added.
util::Result<std::size_t> add_host_addresses(const std::string& name,
                                             const std::vector<Ipv4>& addresses);

/// Removes the given /32 addresses from the interface (absent ones are fine). Returns how many
/// were removed.
util::Result<std::size_t> remove_host_addresses(const std::string& name,
                                                const std::vector<Ipv4>& addresses);

}  // namespace botscope::fakenet
