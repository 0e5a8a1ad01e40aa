#pragma once
// The spam run's pure parts: the messages (text, recipients) and the SMTP client dialogue as a
// state machine fed with server replies. The sockets are in actions.cpp.
//
// Reply lines: "250-text" (more follow) or "250 text" / "250"; anything else is not a reply.
// At most kMaxSmtpReplyLines lines per reply and kMaxSmtpLine bytes per line are read
// (actions.cpp enforces both while reading).

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bounds.h"

namespace botscope::botemu {

/// "mail-a.test" .. "mail-j.test": the recipient domains of every spam run.
std::vector<std::string> spam_domains();

struct MailMessage {
    std::string from;             ///< envelope and header sender
    std::vector<std::string> to;  ///< envelope and header recipients
    std::string subject;
    std::string message_id;  ///< without the angle brackets
    std::string date;        ///< RFC 2822 date
    std::string body;        ///< lines separated by "\n" or "\r\n"
};

/// Recipient `index` (0-based across the run) in `domain`: a local part from a fixed list of
/// names, numbered past its end.
std::string spam_recipient(std::size_t index, std::string_view domain);

/// Message number `index` of a run to `recipients`: From a fixed sender in .test, subject
/// "Cheap meds online", Message-ID from `token`, Date from `when`.
MailMessage spam_message(std::size_t index, std::vector<std::string> recipients,
                         std::string_view token, std::time_t when);

/// The message as sent after DATA: headers, blank line, body, CRLF line ends, lines starting
/// with '.' doubled (RFC 5321 4.5.2), ending with the "." line.
std::string format_message(const MailMessage& m);

/// "Tue, 06 Dec 2026 14:52:00 +0000" (UTC), computed without the C library's time zone
/// functions (the guest has no zone data).
std::string rfc2822_date(std::time_t t);

struct ReplyLine {
    std::uint16_t code = 0;
    bool more = false;  ///< "250-": another line of this reply follows
};
/// One reply line; nullopt when it does not start with a code 200-599 followed by ' ', '-' or
/// the end of the line (1xx is not used in SMTP).
std::optional<ReplyLine> parse_reply_line(std::string_view line);

/// One SMTP session delivering one message: the greeting, EHLO (HELO when EHLO is refused),
/// MAIL FROM, one RCPT TO per recipient, DATA, the message, QUIT.
class SmtpDialogue {
public:
    SmtpDialogue(std::string helo_name, MailMessage message);

    /// The server's complete reply (its last line's code). Returns the next thing to send
    /// (a command line with CRLF, or the formatted message); nullopt once the session is over.
    std::optional<std::string> on_reply(std::uint16_t code);

    bool delivered() const { return delivered_; }
    std::size_t accepted_recipients() const { return accepted_; }
    /// Why the message was not delivered ("" when it was, or while the session runs).
    const std::string& error() const { return error_; }

private:
    enum class State { kGreeting, kEhlo, kHelo, kMail, kRcpt, kData, kBody, kQuit, kOver };

    std::string quit(std::string why);

    std::string helo_name_;
    MailMessage message_;
    State state_ = State::kGreeting;
    std::size_t rcpt_ = 0;
    std::size_t accepted_ = 0;
    bool delivered_ = false;
    std::string error_;
};

}  // namespace botscope::botemu
