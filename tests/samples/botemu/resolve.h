#pragma once
// Name resolution over the network: the queries of dns_client.h sent to the sandbox's resolver
// (UDP port 53), kDnsTries tries of kDnsTimeoutMs each, and the gate applied to the answer.

#include <random>
#include <string_view>

#include "dns_client.h"
#include "net.h"
#include "util/result.h"

namespace botscope::botemu {

using Rng = std::mt19937_64;

/// A number in [lo, hi] from `rng`.
std::uint32_t draw(Rng& rng, std::uint32_t lo, std::uint32_t hi);

/// Asks `resolver` for `name`/`qtype`, never past `deadline`. Answers to other queries (id,
/// question) and datagrams from anyone but the resolver's port 53 are ignored.
DnsAnswer lookup(Ipv4 resolver, std::string_view name, std::uint16_t qtype, Rng& rng,
                 net::Deadline deadline);

/// The address to connect to for `host` (a dotted quad or a name): the name's first A record.
/// Error codes: "refused" when any address the name resolved to is outside the sandbox
/// (message: "NAME resolved to X, outside the sandbox 10.66.0.0/24"), "resolve" otherwise
/// (message: "cannot resolve NAME: why").
util::Result<Ipv4> resolve_host(Ipv4 resolver, std::string_view host, Rng& rng,
                                net::Deadline deadline);

}  // namespace botscope::botemu
