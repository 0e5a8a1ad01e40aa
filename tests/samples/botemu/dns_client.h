#pragma once
// The emulator's DNS client, pure part: query building and answer interpretation. The guest
// has no libc resolver (a static busybox system), and the emulator must see the answer itself
// to check it against the sandbox, so it asks the resolver directly over UDP (net.h sends).
//
// Answers are read with the analysis' DNS parser (analysis/proto/dns), which bounds the work:
// compression pointers must point backwards (no loops) and at most 16 are followed per name,
// every length is checked, at most 64 records are kept. On top of that an answer is taken only
// when it parsed cleanly: a truncated message, a name with a pointer problem, the TC bit or a
// record count the bytes do not hold make the whole answer fail, since a resolver that sends
// such a thing cannot be trusted for the rest either. CNAMEs are followed at most
// kMaxCnameHops times.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bounds.h"

namespace botscope::botemu {

inline constexpr std::uint16_t kQueryA = 1;
inline constexpr std::uint16_t kQueryMx = 15;

/// A name the emulator will query or connect to: 1-253 characters, dot-separated labels of
/// 1-63 letters, digits, '-' or '_', one trailing dot allowed; not a dotted quad.
bool is_valid_hostname(std::string_view name);

/// A recursive query (RD set) for `name` of type `qtype`, class IN; empty when the name is not
/// valid.
std::vector<std::uint8_t> build_query(std::uint16_t id, std::string_view name, std::uint16_t qtype);

struct MxHost {
    std::uint16_t preference = 0;
    std::string name;
};

struct DnsAnswer {
    enum class Status {
        kOk,        ///< addresses (A) or exchanges (MX) found
        kNoData,    ///< NXDOMAIN, or no record of the type for the name
        kMismatch,  ///< not the answer to this query (id, question): keep waiting
        kBad,       ///< malformed, truncated, or an error rcode
    };
    Status status = Status::kBad;
    std::string error;  ///< why, when not kOk
    /// A query: the addresses of the name (after CNAMEs), in answer order.
    std::vector<Ipv4> addresses;
    /// MX query: the exchanges named validly, by preference.
    std::vector<MxHost> exchanges;
};

/// Interprets `msg` as the answer to query `id` for `name`/`qtype`.
DnsAnswer parse_answer(std::span<const std::uint8_t> msg, std::uint16_t id, std::string_view name,
                       std::uint16_t qtype);

}  // namespace botscope::botemu
