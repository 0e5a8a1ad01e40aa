#include "fakenet/classify.h"

#include <algorithm>
#include <array>
#include <span>

#include "analysis/greeting_probe.h"
#include "analysis/proto/dns/dns_parser.h"
#include "analysis/proto/http/http_parser.h"
#include "analysis/proto/irc/irc_parser.h"
#include "util/byte_reader.h"

namespace botscope::fakenet {

namespace {

using analysis::ProbeResult;

// A TLS record carrying a handshake (0x16) with a 3.x version: SSL 3.0 to TLS 1.3 all put
// 0x03 0x00-0x04 here, and the bots' own "encrypted" C&C links of the era never did.
ProbeResult probe_tls(std::span<const std::uint8_t> b) {
    if (b.empty())
        return ProbeResult::kNeedMore;
    if (b[0] != 0x16)
        return ProbeResult::kNoMatch;
    if (b.size() < 2)
        return ProbeResult::kNeedMore;
    if (b[1] != 0x03)
        return ProbeResult::kNoMatch;
    if (b.size() < 3)
        return ProbeResult::kNeedMore;
    return b[2] <= 0x04 ? ProbeResult::kMatch : ProbeResult::kNoMatch;
}

// RFC 1035 4.2.2 framing, then the same plausibility test the analysis gives DNS over TCP.
ProbeResult probe_dns_tcp(std::span<const std::uint8_t> b) {
    if (b.size() < 2)
        return ProbeResult::kNeedMore;
    const std::size_t len = (std::size_t{b[0]} << 8) | b[1];
    if (len < analysis::dns::kHeaderSize + 5)
        return ProbeResult::kNoMatch;  // shorter than a header and a root question
    const auto body = b.subspan(2, std::min(len, b.size() - 2));
    switch (analysis::dns::check_plausible(body, body.size() == len)) {
        case analysis::dns::Plausibility::kYes:
            return ProbeResult::kMatch;
        case analysis::dns::Plausibility::kNeedMore:
            return ProbeResult::kNeedMore;
        case analysis::dns::Plausibility::kNo:
            return ProbeResult::kNoMatch;
    }
    return ProbeResult::kNoMatch;
}

ProbeResult probe_smtp_client(std::string_view s) {
    switch (analysis::greeting::classify_client(s)) {
        case analysis::greeting::Speaker::kSmtp:
            return ProbeResult::kMatch;
        case analysis::greeting::Speaker::kEmpty:
        case analysis::greeting::Speaker::kPartial:
            return ProbeResult::kNeedMore;
        case analysis::greeting::Speaker::kFtp:
        case analysis::greeting::Speaker::kOther:
            return ProbeResult::kNoMatch;
    }
    return ProbeResult::kNoMatch;
}

}  // namespace

const char* protocol_name(Protocol p) {
    switch (p) {
        case Protocol::kHttp:
            return "http";
        case Protocol::kIrc:
            return "irc";
        case Protocol::kSmtp:
            return "smtp";
        case Protocol::kDns:
            return "dns";
        case Protocol::kTls:
            return "tls";
        case Protocol::kRaw:
            return "raw";
        case Protocol::kUnknown:
            return "unknown";
    }
    return "unknown";
}

bool is_irc_port(std::uint16_t port) {
    return (port >= 6660 && port <= 6669) || port == 7000;
}

std::optional<Protocol> server_first(std::uint16_t port) {
    switch (port) {
        case 25:
        case 465:
        case 587:
        case 2525:
            return Protocol::kSmtp;
        default:
            return std::nullopt;
    }
}

Classification classify_client(std::string_view first, std::uint16_t port, bool waited) {
    const auto bytes = util::as_bytes(first);
    // Order only matters for ties, which the probes' disjoint first bytes rule out; TLS and
    // HTTP come first because they decide on the fewest bytes.
    const std::array<std::pair<Protocol, ProbeResult>, 5> verdicts{{
        {Protocol::kTls, probe_tls(bytes)},
        {Protocol::kHttp, analysis::http::probe_request(bytes)},
        {Protocol::kIrc, analysis::irc::probe_client_line(first)},
        {Protocol::kSmtp, probe_smtp_client(first)},
        {Protocol::kDns, probe_dns_tcp(bytes)},
    }};
    bool undecided = false;
    for (const auto& v : verdicts) {
        if (v.second == ProbeResult::kMatch)
            return {v.first, false};
        undecided = undecided || v.second == ProbeResult::kNeedMore;
    }
    if (undecided && !waited && first.size() < kSniffLimit)
        return {Protocol::kUnknown, true};
    if (first.empty() && is_irc_port(port))
        return {Protocol::kIrc, false};
    return {Protocol::kRaw, false};
}

}  // namespace botscope::fakenet
