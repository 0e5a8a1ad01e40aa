#pragma once
// The DNS sinkhole: every name exists and points at fakenet, except the names a task declares
// dead. Answers are authoritative and minimal, shaped so that resolvers and bots take them:
// the question echoed byte for byte (0x20 case randomisation survives), one answer record,
// an SOA in the authority section when there is no answer (so a negative answer is cached and
// a client falls back from AAAA to A).
//
// Limits and choices:
//   only the first question is read and answered (qdcount > 1: the first is answered and
//   echoed alone, as most servers do); qdcount 0 is FORMERR
//   names are read with the analysis' bounded read_name (16 pointer hops, strictly backward
//   pointers, 255 labels, 1025 characters); a question name that has any issue, is
//   unterminated or is longer than 255 wire bytes is FORMERR
//   responses fit 512 bytes (the largest possible answer is under 400 bytes, whatever the
//   name); with an EDNS0 OPT in the query an OPT is added and up to min(its size, 4096) is
//   allowed; a response over its limit is cut to the question with TC set
//   DNS over TCP: kMaxTcpMessage bytes per message, kMaxTcpMessages messages per connection;
//   a zero or larger length closes the connection

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "fakenet/sandbox.h"
#include "fakenet/session.h"

namespace botscope::fakenet {

inline constexpr std::size_t kMaxUdpResponse = 512;
inline constexpr std::size_t kMaxEdnsResponse = 4096;
inline constexpr std::size_t kMaxTcpMessage = 16 * 1024;
inline constexpr std::size_t kMaxTcpMessages = 64;
/// What a DNS-over-TCP session holds at most: one message and its length prefix.
inline constexpr std::size_t kMaxDnsTcpBuffered = 2 + kMaxTcpMessage;

struct DnsPolicy {
    Ipv4 sinkhole = 0x0A420001u;        ///< every A answer by default
    std::map<std::string, Ipv4> names;  ///< lower-case name -> address (sandbox only; the
                                        ///< loader of the policy checks that)
    std::set<std::string> nxdomain;     ///< lower-case names answered NXDOMAIN, with every
                                        ///< name below them (a dead C&C)
    std::uint32_t ttl = 300;
};

/// Answers one DNS query message (a UDP payload, or one TCP frame without its length):
///   A      the name's address from `names`, else the sinkhole
///   AAAA   NOERROR, no answer, an SOA (clients fall back to IPv4)
///   MX     `mail.<name>` preference 10, its A in the additional section
///   PTR    `host-a-b-c-d.sandbox.test` for d.c.b.a.in-addr.arpa (else as "others")
///   TXT    "v=spf1 -all"
///   NS     `ns1.sandbox.test`, its A in the additional section
///   others NOERROR, no answer, an SOA (CNAME, SOA, ANY and unknown types)
/// A name in `nxdomain` or below one is NXDOMAIN for every type. A class other than IN or ANY
/// is REFUSED; an opcode other than QUERY is NOTIMP. Copies id, opcode, RD; sets QR, RA, and
/// AA on NOERROR and NXDOMAIN.
/// nullopt: nothing to send (a response, not a query, or shorter than a header). Every query
/// answered records one "dns" record: {"conn", "client", "server", "transport", "id", "name",
/// "type", "rcode", "answers"}; "name" and "type" are null when the question could not be read
/// (a FORMERR), "answers" holds the answer section's rdata as text.
std::optional<std::string> answer_dns(std::span<const std::uint8_t> query, const DnsPolicy& policy,
                                      const ConnInfo& conn, std::string_view transport,
                                      Recorder& rec);

/// DNS over TCP: frames (2-byte length, at most kMaxTcpMessage per message, at most
/// kMaxTcpMessages per connection, then close) and answers each with answer_dns under a copy of
/// `policy` taken now.
std::unique_ptr<TcpSession> make_dns_tcp_session(const ConnInfo& conn, const DnsPolicy& policy,
                                                 Recorder& rec);

}  // namespace botscope::fakenet
