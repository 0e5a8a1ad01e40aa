#pragma once
// The safety gate: the one place that decides whether an address may be used. Startup checks
// the resolver, the C&C's address and the bot's own address with it; every command checks its
// targets with it; and every function in net.h that puts a packet on the wire checks its
// destination (and a raw packet's source) with it again, so that no caller can forget.

#include <optional>
#include <string>
#include <string_view>

#include "bounds.h"
#include "util/result.h"

namespace botscope::botemu {

/// Inside kSandboxNet (network and broadcast addresses included).
bool in_sandbox(Ipv4 ip);

/// nullopt when `ip` may be a destination: inside the sandbox and neither its network nor its
/// broadcast address (a flood to the broadcast address would hit every guest). Otherwise why
/// not, for a reply: "192.0.2.1 is outside the sandbox".
std::optional<std::string> check_destination(Ipv4 ip);

/// nullopt when `text` names no address, range or network outside the sandbox in any form
/// fakenet's foreign_addresses() recognises (dotted, hex, octal, wildcards, CIDR, inside URLs);
/// otherwise the first one: "192.0.2.1 is outside the sandbox". Commands pass through this
/// before their arguments are even parsed.
std::optional<std::string> check_text(std::string_view text);

/// The /24 holding `ip` (what "-b" and the default of .advscan sweep).
fakenet::Subnet own_net(Ipv4 ip);

/// A scan range as bots wrote it: "10.66.0.x", "10.66.0.*", "10.66.0.0/24" (any prefix of 24
/// or longer) or one address. It must lie inside the sandbox. Errors: code "refused" (with
/// the reply text) or "bad_range".
util::Result<fakenet::Subnet> parse_scan_range(std::string_view text);

/// "10.66.0.x" for a /24, "10.66.0.7" for one address, else "10.66.0.128/25".
std::string range_text(const fakenet::Subnet& net);

/// The first `nameserver` of a resolv.conf text, as written (comments and other lines
/// skipped); nullopt when there is none.
std::optional<std::string> first_nameserver(std::string_view resolv_conf);

/// The address of sandbox host number `host` (1-254): kSandboxNet's base plus `host`.
Ipv4 sandbox_host(std::uint32_t host);

}  // namespace botscope::botemu
