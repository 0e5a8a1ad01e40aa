#pragma once
// The catch-all: every TCP connection no other service claims (unknown protocols, TLS, a
// worm's exploit payload against a decoy port) and every UDP datagram nobody answers. It
// answers nothing, so a scanner sees an open port and sends what it sends; the record keeps
// where it went and how it began.
//
// Limits:
//   kKeepBytes  256    first bytes kept for the record
//   kMaxBytes   1 MiB  bytes read on one connection before it is closed

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fakenet/classify.h"
#include "fakenet/session.h"

namespace botscope::fakenet {

inline constexpr std::size_t kKeepBytes = 256;
inline constexpr std::size_t kMaxBytes = 1 << 20;

/// Wire bytes as record text: printable ASCII (0x20-0x7e) as it is, every other byte as
/// `\xNN`, so a record is always valid ASCII whatever the guest sent.
std::string printable_text(std::string_view bytes);

/// printable_text() of a value, or null when there is none.
Json printable_or_null(const std::optional<std::string>& bytes);

/// The fields every connection's record starts with: {"conn", "client", "server"} (the
/// guest's endpoint, and where it sent the connection before the host redirected it).
Json connection_fields(const ConnInfo& conn);

/// Any other TCP connection: reads and discards, keeping the first kKeepBytes bytes for the
/// record; closes after kMaxBytes. Records "tcp" once, when the connection ends (on_close):
/// {"conn", "client", "server", "protocol" (protocol_name(detected): "raw", "tls"), "bytes"
/// (all received), "first" (the kept bytes through printable_text), "first_hex" (the same
/// bytes as lower-case hex)}. buffered() is at most kKeepBytes.
std::unique_ptr<TcpSession> make_raw_session(const ConnInfo& conn, Protocol detected,
                                             Recorder& rec);

/// Any other UDP datagram: records "udp" {"client", "server", "bytes", "first", "first_hex"},
/// with the first kKeepBytes bytes as for TCP.
void record_udp(const Endpoint& client, const Endpoint& original,
                std::span<const std::uint8_t> data, Recorder& rec);

}  // namespace botscope::fakenet
