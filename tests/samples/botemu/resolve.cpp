#include "resolve.h"

#include <algorithm>
#include <array>

#include "gate.h"

namespace botscope::botemu {

namespace {

constexpr std::uint16_t kDnsPort = 53;

}  // namespace

std::uint32_t draw(Rng& rng, std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
}

DnsAnswer lookup(Ipv4 resolver, std::string_view name, std::uint16_t qtype, Rng& rng,
                 net::Deadline deadline) {
    DnsAnswer out;
    out.status = DnsAnswer::Status::kBad;
    auto socket = net::udp_open();
    if (!socket) {
        out.error = socket.error().message;
        return out;
    }
    const auto id = static_cast<std::uint16_t>(draw(rng, 0, 0xFFFF));
    const auto query = build_query(id, name, qtype);
    if (query.empty()) {
        out.error = "bad name";
        return out;
    }
    out.error = "no answer from " + fakenet::format_ipv4(resolver);
    std::array<std::uint8_t, kMaxDnsDatagram> buf{};
    for (int attempt = 0; attempt < kDnsTries && net::Clock::now() < deadline; ++attempt) {
        if (auto sent = net::udp_send(socket.value(), resolver, kDnsPort, query); !sent) {
            out.error = sent.error().message;
            return out;
        }
        const net::Deadline wait = std::min(deadline, net::after_ms(kDnsTimeoutMs));
        while (auto d = net::udp_receive(socket.value(), buf, wait)) {
            if (d->from != resolver || d->port != kDnsPort)
                continue;
            DnsAnswer a = parse_answer(std::span(buf).first(d->size), id, name, qtype);
            if (a.status != DnsAnswer::Status::kMismatch)
                return a;
        }
    }
    return out;
}

util::Result<Ipv4> resolve_host(Ipv4 resolver, std::string_view host, Rng& rng,
                                net::Deadline deadline) {
    if (auto ip = fakenet::parse_ipv4(host)) {
        if (auto why = check_destination(*ip))
            return util::Error{"refused", *why};
        return *ip;
    }
    DnsAnswer a = lookup(resolver, host, kQueryA, rng, deadline);
    if (a.status != DnsAnswer::Status::kOk)
        return util::Error{"resolve", "cannot resolve " + std::string(host) + ": " + a.error};
    // Every address must be acceptable, not only the one used: a resolver that mixes foreign
    // addresses into its answers is not trusted at all.
    for (Ipv4 ip : a.addresses) {
        if (!check_destination(ip))
            continue;
        return util::Error{"refused",
                           std::string(host) + " resolved to " + fakenet::format_ipv4(ip) +
                               (in_sandbox(ip) ? ", not a host address of" : ", outside") +
                               " the sandbox " + kSandboxNet.to_string()};
    }
    return a.addresses.front();
}

}  // namespace botscope::botemu
