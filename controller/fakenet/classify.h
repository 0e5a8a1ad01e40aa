#pragma once
// Which service gets a TCP connection, decided by what the client sends first, not by the port
// it sent it to: bots ran IRC on 8080 and 443, HTTP on 6667. Every decision reuses the
// analysis' probes (HTTP request line, IRC registration line, DNS plausibility, the SMTP/FTP
// opener list), so fakenet and the report agree on what a stream was.
//
// Limits:
//   kSniffLimit  2048  bytes after which classify_client() never asks for more: every probe
//                      decides within this (IRC gives up on a first line past 1024 bytes, HTTP
//                      matches a known method and 64 target bytes, a DNS question name is at
//                      most 255 bytes), so a client that keeps a probe undecided cannot make
//                      the network side buffer more.
// Ports matter only where the client may say nothing: servers that speak first (SMTP), and a
// silent client on an IRC port past the sniff deadline.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace botscope::fakenet {

inline constexpr std::size_t kSniffLimit = 2048;

enum class Protocol : std::uint8_t { kUnknown, kHttp, kIrc, kSmtp, kDns, kTls, kRaw };

/// "http", "irc", "smtp", "dns", "tls", "raw", "unknown".
const char* protocol_name(Protocol p);

struct Classification {
    Protocol protocol = Protocol::kUnknown;
    bool need_more = false;  ///< undecided: wait for more bytes or for the sniff deadline
};

/// The first bytes a client sent on a TCP connection to original port `port`. need_more: wait
/// for more bytes (or for the sniff deadline, then call again with `waited` = true, which
/// always decides: kRaw when nothing matches, kIrc for a silent client on an IRC port). With
/// kSniffLimit bytes or more it always decides too.
/// Detected by content: an HTTP request line, an IRC client registration line (NICK, USER,
/// PASS, CAP, JOIN), a TLS ClientHello record header (0x16 0x03 0x00-0x04), DNS over TCP (a
/// 2-byte length and a plausible query), an SMTP client that does not wait for the banner
/// (EHLO, HELO, MAIL FROM:).
Classification classify_client(std::string_view first, std::uint16_t port, bool waited);

/// Protocols in which the server speaks first, by the original port: SMTP on 25, 465, 587 and
/// 2525. The network side opens these at once (their banner) instead of sniffing.
std::optional<Protocol> server_first(std::uint16_t port);

/// IRC's ports as the era's ircds listened on them (6660-6669, 7000): where a silent client
/// past the sniff deadline gets the IRC server, whose on_open sends NOTICE AUTH as ircds did.
bool is_irc_port(std::uint16_t port);

}  // namespace botscope::fakenet
