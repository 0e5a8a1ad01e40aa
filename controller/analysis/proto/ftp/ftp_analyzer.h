#pragma once
// FTP control connections: the greeting, the login (user name, whether a password was sent,
// whether it worked; never the password), every command with its reply, the files retrieved
// and stored, and the data-channel endpoints announced by PORT/EPRT or by the replies to
// PASV/EPSV, so that the data connection carrying each file can be found later. Bots fetch
// their updates and spread their copies over FTP: RETR names matter most.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/engine/stream_digest.h"
#include "analysis/line_session.h"
#include "analysis/proto/ftp/ftp_parser.h"
#include "analysis/reply_assembler.h"
#include "analysis/types.h"

namespace botscope::analysis::ftp {

// Limits (defaults documented here, where a reader of the report looks for them):
/// Sessions kept in one result; later ones are only counted.
inline constexpr std::size_t kMaxSessions = 4096;
/// Commands logged per session.
inline constexpr std::size_t kMaxCommandsPerSession = 500;
/// File transfers (RETR/STOR/STOU/APPE and listings) kept per session.
inline constexpr std::size_t kMaxTransfersPerSession = 500;
/// Data-channel announcements (PORT/EPRT/PASV/EPSV) kept per session.
inline constexpr std::size_t kMaxDataChannelsPerSession = 500;
/// Distinct user names kept per session (password-guessing bots try many).
inline constexpr std::size_t kMaxUsers = 32;
/// Most recent final reply lines kept per session.
inline constexpr std::size_t kMaxLastReplies = 5;
/// Lines kept of one multi-line reply (the rest are read and dropped).
inline constexpr std::size_t kMaxReplyLines = 32;
/// Commands awaiting a reply; beyond this replies can no longer be paired.
inline constexpr std::size_t kMaxPendingCommands = 1024;
/// Invalid lines (either direction) after which the analyzer gives up on the stream.
inline constexpr std::size_t kMaxInvalidLines = 20;

/// Every weird this analyzer reports.
inline constexpr std::array<WeirdInfo, 12> kWeirds = {{
    {"ftp_line_too_long", "a command or reply line exceeded kMaxLineLength; the rest was skipped"},
    {"ftp_invalid_command", "a client line is not a three- or four-letter FTP verb"},
    {"ftp_invalid_reply", "a server line does not start a reply with a three-digit code"},
    {"ftp_unexpected_reply", "a server reply arrived with no command awaiting one"},
    {"ftp_bad_port_command", "PORT or EPRT does not carry a valid address and port"},
    {"ftp_bad_pasv_reply", "a 227 or 229 reply does not carry a valid address or port"},
    {"ftp_port_address_mismatch",
     "PORT/EPRT names an address other than the client's (FTP bounce, or NAT)"},
    {"ftp_pasv_address_mismatch",
     "a PASV reply names an address other than the server's (NAT, or a third host)"},
    {"ftp_command_limit", "a session sent more commands than kept"},
    {"ftp_transfer_limit", "a session had more transfers than kept"},
    {"ftp_data_channel_limit", "a session announced more data channels than kept"},
    {"ftp_session_limit", "the result had more sessions than kept"},
}};

/// One client command and the final reply it got.
struct FtpCommandRecord {
    Timestamp ts = 0;
    std::string command;      ///< verb as sent, bounded
    std::string arg;          ///< bounded; empty for PASS and ACCT (see arg_hidden)
    bool arg_hidden = false;  ///< a credential was sent and deliberately not kept
    std::uint16_t reply = 0;  ///< final reply; 0 when none was seen
    std::string reply_text;
};

/// A data-channel endpoint as announced on the control connection.
struct FtpDataChannel {
    Timestamp ts = 0;      ///< of the command (PORT/EPRT) or of the reply (PASV/EPSV)
    std::string command;   ///< "PORT", "EPRT", "PASV" or "EPSV"
    bool passive = false;  ///< the client connects to the server (PASV/EPSV)
    Endpoint endpoint;     ///< where the data connection goes
    std::uint16_t reply = 0;
    bool address_mismatch = false;  ///< not the control connection's peer address
};

/// One RETR/STOR/STOU/APPE (or a listing: LIST/NLST/MLSD, which also use a data connection).
struct FtpTransfer {
    Timestamp ts = 0;        ///< of the command
    Timestamp reply_ts = 0;  ///< of the final reply (the data connection lies in between)
    std::string command;
    std::string name;  ///< the path as sent; for STOU the name the server chose
    bool name_truncated = false;
    bool listing = false;           ///< LIST/NLST/MLSD: a directory listing, not a file
    std::uint16_t preliminary = 0;  ///< the 1xx reply (150/125) when the transfer started
    std::uint16_t reply = 0;        ///< final reply: 226/250 done, 4xx/5xx failed
    std::string reply_text;
    std::optional<std::uint64_t> size;  ///< announced in the 150 reply "(N bytes)"
    std::uint64_t offset = 0;           ///< from a preceding REST (resumed transfer)
    std::string type;                   ///< TYPE in effect ("I", "A"...)
    /// The data channel in effect when the server first answered the command (replies come in
    /// order, so a PASV reply is always seen before the transfer's); none: the default port.
    std::optional<FtpDataChannel> data;
    /// The data connection itself, when the capture holds it: matched by the endpoint of
    /// `data` (or the default port) and its time, its bytes hashed as they stream by.
    std::optional<FlowId> data_flow;
    std::uint64_t data_bytes = 0;
    std::string md5;  ///< of the data connection's bytes; empty when none or a gap
    std::string sha256;
    bool data_complete = false;  ///< the data connection closed normally without gaps
    std::string file_kind;       ///< "pe", "mz", "elf" or ""
};

/// One FTP control connection.
struct FtpSession : LineSession {
    std::string user;                ///< the user that logged in, else the last one tried
    std::vector<std::string> users;  ///< distinct user names tried, in order
    std::uint64_t users_dropped = 0;
    std::uint64_t login_attempts = 0;  ///< USER commands
    std::uint64_t login_failures = 0;  ///< 530 (or other 4xx/5xx) to USER/PASS
    bool password_sent = false;
    bool logged_in = false;         ///< a 230 (or 202) answered USER/PASS/ACCT
    std::uint16_t login_reply = 0;  ///< the last reply to USER/PASS/ACCT
    std::string syst;               ///< reply text to SYST
    std::string type;               ///< last TYPE argument
    std::string cwd;                ///< last CWD argument
    std::string pwd;                ///< directory from the last 257 reply to PWD
    bool auth_tls = false;          ///< AUTH TLS/SSL was issued
    bool tls = false;               ///< the connection switched to TLS; parsing stopped there
    std::vector<FtpCommandRecord> commands;
    std::vector<FtpTransfer> transfers;
    std::uint64_t transfers_seen = 0;
    std::uint64_t transfers_dropped = 0;
    std::vector<FtpDataChannel> data_channels;
    std::uint64_t data_channels_dropped = 0;
};

/// The `ftp` section of the network report.
struct FtpResult {
    std::vector<FtpSession> sessions;
    std::uint64_t sessions_seen = 0;
    std::uint64_t sessions_dropped = 0;
    std::uint64_t transfers_seen = 0;  ///< over every session, kept or not
};

/// Says whether a stream is FTP. The client's first command decides (USER, AUTH TLS/SSL, FEAT,
/// SYST, OPTS, HOST, CLNT mean FTP; HELO/EHLO/MAIL FROM: mean SMTP). Until the client speaks,
/// a greeting (`220 `, `220-`, or `120`) decides only when its text names FTP software (FTP,
/// FileZilla, Serv-U) and nothing of SMTP; otherwise the probe waits. A client speaking first
/// with no greeting is not taken (IRC clients send USER too).
ProbeResult probe(const ProbeInput& in);

class FtpAnalyzer final : public StreamAnalyzer {
public:
    /// `streams` are the engine's digested data connections: a session's transfers are
    /// matched with those already closed when it is logged.
    FtpAnalyzer(const AnalyzerContext& ctx, FtpResult& result,
                const DataStreams* streams = nullptr);

    void on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) override;
    void on_gap(Direction dir, std::uint64_t len, Timestamp ts) override;
    void on_eof(Direction dir, Timestamp ts) override;
    void on_end(Timestamp ts) override;
    bool gave_up() const override { return invalid_ >= kMaxInvalidLines; }

private:
    enum class Pending : std::uint8_t {
        kGreeting,
        kUser,
        kPass,
        kPort,
        kPasv,  ///< PASV or EPSV
        kTransfer,
        kRest,
        kSyst,
        kPwd,
        kAuth,
        kRein,
        kOther,
    };
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

    struct PendingEntry {
        Pending kind = Pending::kOther;
        std::size_t command = kNone;              ///< index into session_.commands
        std::size_t transfer = kNone;             ///< into session_.transfers
        std::size_t channel = kNone;              ///< into session_.data_channels (PORT/EPRT)
        std::optional<FtpDataChannel> announced;  ///< PORT/EPRT: in effect once accepted
        std::string verb;                         ///< PASV/EPSV: which one
        bool channel_taken = false;               ///< transfer: the data channel has been claimed
    };

    void client_data(std::span<const std::uint8_t> data, Timestamp ts);
    void command_line(std::string_view line, Timestamp ts);
    void server_data(std::span<const std::uint8_t> data, Timestamp ts);
    void server_line(std::string_view line, Timestamp ts);
    void complete_reply(std::uint16_t code, Timestamp ts);
    void answer(PendingEntry& e, std::uint16_t code, Timestamp ts);

    std::size_t log_command(const Command& c, Timestamp ts);
    void push_pending(PendingEntry e);
    void add_user(std::string_view user);
    void data_channel_command(const Command& c, std::size_t command, Timestamp ts);
    void passive_reply(const PendingEntry& e, std::uint16_t code, Timestamp ts);
    std::size_t add_channel(FtpDataChannel ch, Timestamp ts);
    void transfer_command(const Command& c, std::size_t command, Timestamp ts);
    void take_channel(PendingEntry& e);

    void note_valid(bool command);
    void note_invalid(std::string_view weird, std::string_view detail, Timestamp ts);
    void weird(std::string_view name, Timestamp ts, std::string_view detail = {});

    AnalyzerContext ctx_;
    const DataStreams* streams_;
    FtpResult& result_;
    FtpSession session_;

    LineAssembler client_lines_{kMaxLineLength};
    LineAssembler server_lines_{kMaxLineLength};
    bool await_tls_ = false;  ///< AUTH TLS/SSL sent, answer not yet seen
    bool client_tls_ = false;
    bool server_tls_ = false;

    std::deque<PendingEntry> pending_;
    bool pending_overflow_ = false;
    reply::Assembler replies_{'1', reply::Assembler::Inner::kFree, kMaxReplyLines, kMaxReplyText};

    std::optional<FtpDataChannel> current_channel_;
    std::uint64_t rest_offset_ = 0;
    bool command_limit_reported_ = false;
    bool transfer_limit_reported_ = false;
    bool channel_limit_reported_ = false;

    std::size_t valid_commands_ = 0;
    std::size_t valid_replies_ = 0;
    std::size_t invalid_ = 0;
    bool ended_ = false;
};

/// Fills each transfer's data-connection fields from the digested FTP data connections
/// (matched by the announced endpoint and time). Called once every flow has ended.
void attach_data_streams(FtpResult& result, const DataStreams& streams);
/// The same for one session; `used` marks the streams already matched (one per stream).
void attach_data_streams(FtpSession& session, const DataStreams& streams, std::vector<bool>& used);

}  // namespace botscope::analysis::ftp
