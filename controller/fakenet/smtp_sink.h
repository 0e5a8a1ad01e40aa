#pragma once
// The SMTP sink: a mail server that accepts every message and delivers none. Spam bots and
// mass-mailing worms get a complete, patient dialogue (ESMTP, pipelining, AUTH that accepts
// any password), so they send what they were built to send, and every message is recorded
// and, up to the recorder's count, stored.
//
// Limits:
//   kSmtpMaxLine     4096  bytes of a command line, its CR included (the analysis' SMTP line
//                          limit); a longer line is answered 500 and skipped up to its LF
//   kSmtpMaxErrors   20    error replies (5xx) per connection, then 421 and close (Postfix's
//                          smtpd_hard_error_limit), so junk cannot buy replies forever
//   SmtpConfig       message bytes kept, messages and recipients per connection
//   buffered() is at most kSmtpMaxLine + max_message_bytes (smtp_buffer_bound)
// A message whose DATA the client never ends is not recorded (the capture has it).

#include <cstddef>
#include <memory>
#include <string>

#include "fakenet/session.h"

namespace botscope::fakenet {

inline constexpr std::size_t kSmtpMaxLine = 4096;
inline constexpr std::size_t kSmtpMaxErrors = 20;

struct SmtpConfig {
    std::string hostname = "mail.sandbox.test";
    std::size_t max_message_bytes = 1 << 20;  ///< kept per message; the rest is counted
    std::size_t max_messages = 100;           ///< per connection
    std::size_t max_recipients = 100;         ///< per message
};

/// What an SMTP session may hold in its buffers at most.
std::size_t smtp_buffer_bound(const SmtpConfig& config);

/// on_open: `220 <hostname> ESMTP`. HELO/EHLO (EHLO lists SIZE, 8BITMIME, PIPELINING, AUTH
/// PLAIN LOGIN CRAM-MD5, HELP; no STARTTLS), AUTH PLAIN/LOGIN/CRAM-MD5 with or without an
/// initial response (any credentials: 235), MAIL FROM, RCPT TO (250, past max_recipients 452),
/// DATA (354; dot-unstuffing; ends at a line holding only "."; CRLF or bare LF line ends),
/// then 250 `queued as <n>` (n counts this connection's messages), RSET, NOOP, VRFY (252),
/// HELP (214), QUIT (221 and close); unknown verbs 500, known but unsupported ones (STARTTLS,
/// EXPN, BDAT...) 502, out of sequence 503, bad arguments 501. MAIL past max_messages: 421 and
/// close. HELO is not required. Pipelined commands are answered in order.
/// Per message, records "smtp": {"conn", "client", "server", "helo" (or null), "auth_user" (or
/// null), "mail_from", "rcpt" ([..]), "subject" (or null), "size" (bytes of the message, all of
/// them), "sha256" (of the kept bytes), "truncated" (bool: not all kept), "stored" (what
/// Recorder::store_message returned, or null when "")}. Wire text goes through
/// printable_text().
std::unique_ptr<TcpSession> make_smtp_session(const ConnInfo& conn, const SmtpConfig& config,
                                              Recorder& rec);

}  // namespace botscope::fakenet
