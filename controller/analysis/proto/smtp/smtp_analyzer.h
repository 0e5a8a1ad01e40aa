#pragma once
// SMTP sessions: greeting, HELO/EHLO, STARTTLS, AUTH user names, and per message the envelope,
// the recipients the server accepted, the headers, attachment names, size and hashes. Spam
// bots send many messages per connection and many connections, so every list is bounded and
// every cut is counted.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/line_session.h"
#include "analysis/proto/smtp/smtp_parser.h"
#include "analysis/reply_assembler.h"
#include "analysis/types.h"

namespace botscope::analysis::smtp {

// Limits (defaults documented here, where a reader of the report looks for them):
/// Sessions kept in one result; later ones are only counted.
inline constexpr std::size_t kMaxSessions = 4096;
/// Messages (MAIL transactions) kept per session.
inline constexpr std::size_t kMaxMessagesPerSession = 100;
/// Messages kept over all sessions of one result.
inline constexpr std::size_t kMaxMessagesPerResult = 5000;
/// Recipients kept per message.
inline constexpr std::size_t kMaxRecipientsPerMessage = 1000;
/// Recipients kept per session, over all its messages.
inline constexpr std::size_t kMaxRecipientsPerSession = 5000;
/// Commands logged per session.
inline constexpr std::size_t kMaxCommandsPerSession = 256;
/// Bytes kept of a logged command's argument.
inline constexpr std::size_t kMaxCommandArg = 256;
/// AUTH attempts kept per session (password-guessing bots make many).
inline constexpr std::size_t kMaxAuthAttempts = 32;
/// Most recent final reply lines kept per session.
inline constexpr std::size_t kMaxLastReplies = 5;
/// Bytes kept of one reply text (banner, last replies, message reply).
inline constexpr std::size_t kMaxReplyText = 512;
/// Lines kept of one multi-line reply (the rest are read and dropped).
inline constexpr std::size_t kMaxReplyLines = 32;
/// EHLO extensions kept, and bytes of each.
inline constexpr std::size_t kMaxExtensions = 32;
inline constexpr std::size_t kMaxExtensionLength = 128;
/// Commands awaiting a reply (pipelining); beyond this replies can no longer be paired.
inline constexpr std::size_t kMaxPendingCommands = 4096;
/// Invalid lines (either direction) after which the analyzer gives up on the stream.
inline constexpr std::size_t kMaxInvalidLines = 20;

/// Every weird this analyzer reports.
inline constexpr std::array<WeirdInfo, 14> kWeirds = {{
    {"smtp_line_too_long", "a command or reply line exceeded kMaxLineLength; the rest was skipped"},
    {"smtp_invalid_command", "a client line is not a well-formed or known SMTP command"},
    {"smtp_invalid_reply", "a server line does not start with a three-digit reply code"},
    {"smtp_unexpected_reply", "a server reply arrived with no command awaiting one"},
    {"smtp_bad_base64", "an AUTH payload is not valid base64"},
    {"smtp_bad_sasl", "a decoded AUTH payload does not have its mechanism's shape"},
    {"smtp_bad_path", "MAIL or RCPT lacks the FROM:/TO: keyword"},
    {"smtp_command_out_of_sequence", "RCPT or DATA without a preceding MAIL"},
    {"smtp_bad_bdat", "BDAT without a valid chunk size"},
    {"smtp_too_many_recipients", "a message had more recipients than kept; the rest were counted"},
    {"smtp_message_limit", "a session or result had more messages than kept"},
    {"smtp_session_limit", "the result had more sessions than kept"},
    {"smtp_data_gap", "part of a message's content was not captured; its hashes are omitted"},
    {"smtp_message_truncated", "a header, MIME boundary or attachment name hit its limit"},
}};

/// One RCPT TO and the server's answer.
struct SmtpRecipient {
    std::string address;
    std::uint16_t reply = 0;  ///< 0: no reply seen
    bool truncated = false;
};

enum class MessageStatus : std::uint8_t {
    kIncomplete,  ///< the connection ended before the server's final answer
    kDelivered,   ///< the content was accepted (2xx after the final dot or BDAT LAST)
    kRejected,    ///< MAIL, DATA or the content was refused (4xx/5xx)
    kAborted,     ///< RSET, HELO, a new MAIL or QUIT before the content was sent
};

std::string_view status_name(MessageStatus s);

/// One mail transaction (MAIL FROM ... final reply).
struct SmtpMessage {
    Timestamp ts = 0;       ///< of the MAIL command
    std::string mail_from;  ///< "" for the null sender <>
    bool mail_from_truncated = false;
    std::uint16_t mail_from_reply = 0;
    std::vector<SmtpRecipient> recipients;
    std::uint64_t recipients_dropped = 0;
    bool data = false;             ///< DATA accepted (or BDAT) and content followed
    bool data_complete = false;    ///< the terminating "." (or BDAT LAST) was seen
    std::uint16_t data_reply = 0;  ///< reply to the DATA command itself (354 expected)
    std::uint16_t reply = 0;       ///< final reply to the content
    std::string reply_text;
    MessageStatus status = MessageStatus::kIncomplete;
    MessageHeaders headers;
    std::uint32_t header_count = 0;
    std::vector<std::string> attachments;
    std::uint64_t attachments_dropped = 0;
    std::uint64_t size = 0;  ///< content bytes after dot-unstuffing
    std::string md5;         ///< empty when content was missing (gaps) or never sent
    std::string sha256;
    bool gaps = false;
    bool truncated = false;  ///< some header, boundary or name was cut at its limit
};

/// One client command and the final reply code it got.
struct SmtpCommandRecord {
    Timestamp ts = 0;
    std::string command;  ///< verb as sent, bounded
    std::string arg;      ///< bounded; for AUTH only the mechanism, never credentials
    std::uint16_t reply = 0;
};

/// One AUTH exchange. Only the user name is kept; passwords are never stored.
struct SmtpAuthAttempt {
    Timestamp ts = 0;
    std::string mechanism;
    std::string user;  ///< empty when the mechanism carries none or it was not seen
    bool user_truncated = false;
    std::uint16_t reply = 0;  ///< 235 on success
};

/// One TCP connection spoken as SMTP.
struct SmtpSession : LineSession {
    std::string helo;                     ///< argument of the first HELO/EHLO
    std::string helo_command;             ///< "HELO" or "EHLO"; empty when none was sent
    std::vector<std::string> extensions;  ///< from the EHLO reply
    bool starttls = false;                ///< STARTTLS was issued
    bool tls = false;                     ///< the connection switched to TLS; parsing stopped there
    std::vector<SmtpAuthAttempt> auth;
    std::uint64_t auth_dropped = 0;
    std::vector<SmtpMessage> messages;
    std::uint64_t messages_seen = 0;  ///< every MAIL command, kept or not
    std::uint64_t messages_dropped = 0;
    std::uint64_t recipients_seen = 0;  ///< every RCPT command, kept or not
    std::vector<SmtpCommandRecord> commands;
};

/// The `smtp` section of the network report.
struct SmtpResult {
    std::vector<SmtpSession> sessions;
    std::uint64_t sessions_seen = 0;
    std::uint64_t sessions_dropped = 0;
    std::uint64_t messages_seen = 0;     ///< over every session, kept or not
    std::uint64_t messages_stored = 0;   ///< held in `sessions`
    std::uint64_t messages_dropped = 0;  ///< cut at the per-session or per-result limit
    std::uint64_t recipients_seen = 0;
};

/// Says whether a stream is SMTP. The client's first command decides (HELO/EHLO/MAIL FROM:
/// means SMTP; USER, AUTH TLS/SSL, FEAT, SYST, OPTS, HOST, CLNT mean FTP). Until the client speaks,
/// a greeting `220 ` / `220-` decides only when its text names SMTP software (SMTP, ESMTP, Postfix,
/// Sendmail, Exim, mail) and nothing of FTP; otherwise the probe waits. A client that opens with
/// HELO/EHLO while the server is silent is SMTP as well.
ProbeResult probe(const ProbeInput& in);

class SmtpAnalyzer final : public StreamAnalyzer {
public:
    SmtpAnalyzer(const AnalyzerContext& ctx, SmtpResult& result);

    void on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) override;
    void on_gap(Direction dir, std::uint64_t len, Timestamp ts) override;
    void on_eof(Direction dir, Timestamp ts) override;
    void on_end(Timestamp ts) override;
    bool gave_up() const override { return invalid_ >= kMaxInvalidLines; }

private:
    enum class ClientMode : std::uint8_t { kCommand, kAuth, kData, kBdat, kAwaitTls, kTls };
    enum class AuthStep : std::uint8_t { kNone, kLoginUser, kLoginPassword, kPlain, kCram, kDone };
    enum class Pending : std::uint8_t {
        kGreeting,
        kHelo,
        kEhlo,
        kMail,
        kRcpt,
        kData,
        kDataEnd,
        kBdat,
        kBdatLast,
        kAuth,
        kStartTls,
        kOther,
    };
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

    struct PendingEntry {
        Pending kind = Pending::kOther;
        std::size_t command = kNone;  ///< index into session_.commands
        std::size_t message = kNone;  ///< index into session_.messages
        std::size_t rcpt = kNone;     ///< index into that message's recipients
        std::size_t auth = kNone;     ///< index into session_.auth
        std::uint64_t txn = 0;
    };

    /// The mail transaction in progress (kept even when its record was dropped at a limit).
    struct Transaction {
        bool open = false;
        std::uint64_t id = 0;
        std::size_t index = kNone;  ///< into session_.messages
        bool data_started = false;
        bool data_complete = false;
        bool recipients_limit_reported = false;
    };

    void client_data(std::span<const std::uint8_t> data, Timestamp ts);
    void client_fragment(const LineFragment& f, Timestamp ts);
    void command_line(std::string_view line, Timestamp ts);
    void auth_line(std::string_view line, Timestamp ts);
    void data_line(const LineFragment& f, Timestamp ts);
    void server_data(std::span<const std::uint8_t> data, Timestamp ts);
    void server_line(std::string_view line, Timestamp ts);
    void complete_reply(std::uint16_t code, Timestamp ts);
    void answer(const PendingEntry& e, std::uint16_t code, Timestamp ts);

    std::size_t log_command(const Command& c, Timestamp ts);
    void push_pending(Pending kind, std::size_t command, std::size_t message = kNone,
                      std::size_t rcpt = kNone, std::size_t auth = kNone);
    SmtpMessage* message_at(std::size_t index);
    void start_transaction(std::string_view arg, std::size_t command, Timestamp ts);
    void abort_transaction();
    void add_recipient(std::string_view arg, std::size_t command, Timestamp ts);
    void start_data();
    void feed_body(std::string_view bytes);
    void finish_body(bool complete);
    void end_data(Timestamp ts);
    void end_bdat_chunk();
    void start_auth(std::string_view arg, std::size_t command, Timestamp ts);
    void set_auth_user(const SaslUser& u, Timestamp ts);
    void switch_to_tls();

    void note_valid(bool command);
    void note_invalid(std::string_view weird, std::string_view detail, Timestamp ts);
    void weird(std::string_view name, Timestamp ts, std::string_view detail = {});

    AnalyzerContext ctx_;
    SmtpResult& result_;
    SmtpSession session_;

    LineAssembler client_lines_{kMaxLineLength};
    LineAssembler server_lines_{kMaxLineLength};
    ClientMode mode_ = ClientMode::kCommand;
    bool server_tls_ = false;

    std::deque<PendingEntry> pending_;
    bool pending_overflow_ = false;
    reply::Assembler replies_{'2', reply::Assembler::Inner::kCoded, kMaxReplyLines, kMaxReplyText};

    Transaction txn_;
    std::uint64_t next_txn_ = 0;
    std::optional<MessageParser> body_;
    bool body_content_ = false;  ///< any content byte since DATA
    bool body_gap_ = false;
    std::uint64_t bdat_remaining_ = 0;
    bool bdat_last_ = false;
    std::size_t recipients_stored_ = 0;
    bool message_limit_reported_ = false;

    AuthStep auth_step_ = AuthStep::kNone;
    std::size_t auth_index_ = kNone;

    std::size_t valid_commands_ = 0;
    std::size_t valid_replies_ = 0;
    std::size_t invalid_ = 0;
    bool ended_ = false;
};

}  // namespace botscope::analysis::smtp
