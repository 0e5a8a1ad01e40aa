#pragma once
// IRC sessions: which server a bot registers with, under which nick and password, which channels
// it joins, what it is told (topics, channel and private messages, DCC offers) and what it says.
//
// One IrcAnalyzer per TCP connection, chosen by `probe` on content, so any port works. The
// session record is written to the IrcResult at on_end. Limits (per session unless noted):
//   kMaxMessagesPerDirection  1000 received and 1000 sent messages; more are counted as dropped
//   kMaxNicks / kMaxChannels / kMaxDccOffers / kMaxCaps   64 / 64 / 64 / 32 entries
//   kMaxFieldLength   256 bytes for names, keys, passwords, prefixes, targets
//   kMaxTextLength    1024 bytes for message text (clean and raw each)
//   kMaxStoredTags    16 IRCv3 tags kept per message
//   kMaxSessions      4096 sessions per result; kMaxStoredMessages 200000 messages per result
//   kMaxInvalidLines  20 invalid lines before an unconfirmed stream is given up (20 in a row
//                     once confirmed)

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/proto/irc/irc_parser.h"
#include "analysis/types.h"

namespace botscope::analysis::irc {

inline constexpr std::size_t kMaxMessagesPerDirection = 1000;
inline constexpr std::size_t kMaxNicks = 64;
inline constexpr std::size_t kMaxChannels = 64;
inline constexpr std::size_t kMaxDccOffers = 64;
inline constexpr std::size_t kMaxCaps = 32;
inline constexpr std::size_t kMaxFieldLength = 256;
inline constexpr std::size_t kMaxTextLength = 1024;
inline constexpr std::size_t kMaxStoredTags = 16;
inline constexpr std::size_t kMaxSessions = 4096;
inline constexpr std::size_t kMaxStoredMessages = 200'000;
inline constexpr std::size_t kMaxInvalidLines = 20;
inline constexpr std::size_t kMaxPendingWeirds = 16;

/// Every anomaly this analyzer reports (analyzer name "irc"). Reported only once the stream is
/// confirmed as IRC; anomalies seen before that are held and reported at confirmation.
inline constexpr std::array<WeirdInfo, 8> kWeirds = {{
    {"irc_line_too_long", "a line exceeded kMaxLineLength; its start was parsed, the rest skipped"},
    {"irc_invalid_line", "a line that is not an IRC message (bad command, NUL, bare prefix)"},
    {"irc_invalid_nick", "NICK with characters no server accepts, or longer than kMaxNickLength"},
    {"irc_missing_param", "NICK, USER, PASS, JOIN, PRIVMSG, NOTICE... without its parameters"},
    {"irc_too_many_messages", "a session's received or sent message list is full"},
    {"irc_limit_reached", "a per-session list (nicks, channels, DCC offers, caps) is full"},
    {"irc_invalid_dcc", "a DCC SEND/CHAT offer whose address, port or size does not parse"},
    {"irc_too_many_invalid_lines", "kMaxInvalidLines invalid lines in a row: analysis stopped"},
}};

/// What the server answered to a nick the client asked for.
enum class NickStatus : std::uint8_t {
    kPending,   ///< no answer seen
    kAccepted,  ///< 001 with this nick, or the server echoed the NICK change
    kRejected,  ///< 431/432/433/436/437 for this nick
};

struct IrcNick {
    Timestamp ts = 0;
    std::string nick;
    bool valid = true;       ///< is_valid_nick
    bool by_server = false;  ///< the server gave it (001 with another nick, forced NICK change)
    NickStatus status = NickStatus::kPending;
    std::uint16_t reply = 0;  ///< the numeric that accepted (1) or rejected it
    Timestamp answered_ts = 0;
};

struct IrcChannel {
    Timestamp ts = 0;  ///< first JOIN sent (or seen, when by_server)
    std::string name;
    std::string key;  ///< empty when none was given
    bool has_key = false;
    std::uint32_t join_requests = 0;  ///< JOINs the client sent for it
    bool joined = false;              ///< the server confirmed (JOIN echo, 332, 353 or 366)
    Timestamp joined_ts = 0;
    bool by_server = false;  ///< joined without a JOIN from the client
    bool left = false;       ///< PART or KICK seen for the client
    bool kicked = false;
};

/// A message in either direction. For PRIVMSG/NOTICE/TOPIC/332 `text` is the message; for
/// other commands it is the parameters after the first, joined by spaces.
struct IrcMessage {
    Timestamp ts = 0;
    std::string command;      ///< upper-cased word or the 3-digit numeric
    std::string from;         ///< the prefix (nick!user@host or server); empty for client lines
    std::string target;       ///< channel or nick (PRIVMSG/NOTICE/TOPIC/332/KICK/INVITE), else the
                              ///< 1st param; empty for QUIT, AWAY and ERROR
    bool is_private = false;  ///< PRIVMSG/NOTICE to a nick rather than a channel
    std::string text;         ///< formatting codes and CTCP delimiters removed
    std::string text_raw;     ///< as sent
    std::string ctcp;         ///< CTCP command (VERSION, ACTION, DCC...), upper-cased
    std::string ctcp_args;
    std::string set_by;                   ///< 332 only: from the following 333
    std::optional<std::uint64_t> set_at;  ///< 332 only: epoch seconds from 333
    std::vector<Tag> tags;                ///< IRCv3 tags, at most kMaxStoredTags
    bool truncated = false;               ///< a field or the line hit its limit
};

struct IrcDcc {
    Timestamp ts = 0;
    bool sent = false;  ///< the bot offered it (else it was offered to the bot)
    std::string from;   ///< prefix of the offering side (empty when the bot sent it)
    std::string target;
    std::string type;      ///< SEND, TSEND, CHAT (upper-cased)
    std::string argument;  ///< file name for SEND
    IpAddress addr;
    std::uint16_t port = 0;
    std::optional<std::uint64_t> size;
};

struct IrcSession {
    FlowId flow = 0;
    Endpoint client;
    Endpoint server;
    Timestamp start = 0;
    Timestamp end = 0;
    Timestamp registered_ts = 0;  ///< 001 seen
    bool confirmed = false;
    bool registered = false;  ///< the server sent 001
    bool gave_up = false;
    bool roles_swapped = false;  ///< content showed the flow's responder is the client

    std::string server_name;  ///< 001's prefix, else the first server-like prefix
    std::optional<std::string> password;
    std::string nick;  ///< the nick the server accepted last, else the last one sent
    std::vector<IrcNick> nicks;
    std::uint64_t nicks_dropped = 0;
    std::optional<std::string> user;
    std::optional<std::string> realname;
    std::vector<IrcChannel> channels;
    std::uint64_t channels_dropped = 0;
    std::vector<std::string> caps_requested;
    std::uint64_t caps_dropped = 0;

    std::vector<IrcMessage> received;
    std::uint64_t received_dropped = 0;
    std::vector<IrcMessage> sent;
    std::uint64_t sent_dropped = 0;
    std::vector<IrcDcc> dcc;
    std::uint64_t dcc_dropped = 0;

    std::optional<std::string> quit_message;   ///< the client's QUIT reason
    std::optional<std::string> error_message;  ///< the server's ERROR text

    std::uint64_t client_lines = 0;
    std::uint64_t server_lines = 0;
    std::uint64_t invalid_lines = 0;
    std::uint64_t pings = 0;  ///< PINGs in either direction
    std::uint64_t pongs = 0;
    std::uint64_t gap_bytes = 0;
    std::map<std::uint16_t, std::uint64_t> numerics;  ///< server replies by code
};

/// The report's `irc` section.
struct IrcResult {
    std::vector<IrcSession> sessions;
    std::uint64_t sessions_dropped = 0;
    std::uint64_t stored_messages = 0;  ///< across sessions, for kMaxStoredMessages
};

/// Matches IRC by content on any port (see probe_client_line / probe_server_line): kMatch when
/// the originator's first line is an IRC client's or the responder's an IRC server's (or, for a
/// capture that starts mid-connection, the other way round); kNoMatch when a side is clearly
/// another protocol and nothing matched.
ProbeResult probe(const ProbeInput& in);

class IrcAnalyzer final : public StreamAnalyzer {
public:
    IrcAnalyzer(const AnalyzerContext& ctx, IrcResult& result);

    void on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) override;
    void on_gap(Direction dir, std::uint64_t len, Timestamp ts) override;
    void on_eof(Direction dir, Timestamp ts) override;
    void on_end(Timestamp ts) override;
    bool gave_up() const override { return gave_up_; }

    /// The session as built so far (tests; the result gets it at on_end).
    const IrcSession& session() const { return session_; }

private:
    struct Side {
        std::string buf;        ///< partial line, at most kMaxLineLength bytes
        bool skipping = false;  ///< dropping bytes up to the next LF (after a long line or gap)
    };
    struct PendingWeird {
        std::string_view name;
        Timestamp ts;
        std::string detail;
    };

    void feed(Direction dir, std::string_view data, Timestamp ts);
    void handle_line(Direction dir, std::string_view line, Timestamp ts, bool truncated);
    void client_message(const Message& m, Timestamp ts, bool truncated);
    void server_message(const Message& m, Timestamp ts, bool truncated);
    void decide_roles(Direction dir, const Message& m);
    void weird(std::string_view name, Timestamp ts, std::string_view detail = {});
    void confirm();
    void invalid_line(Timestamp ts, std::string_view detail);

    void add_nick(std::string_view nick, Timestamp ts, bool by_server);
    void answer_nick(std::string_view nick, NickStatus status, std::uint16_t reply, Timestamp ts);
    IrcChannel* find_channel(std::string_view name);
    IrcChannel* add_channel(std::string_view name, Timestamp ts);
    /// Neither NICK nor 001 seen: the capture began after the bot logged in.
    bool mid_session() const;
    /// A channel the client is evidently in, though the capture missed its JOIN.
    void join_unseen(std::string_view name, Timestamp ts);
    bool is_me(std::string_view nick) const;
    void record(std::vector<IrcMessage>& list, std::uint64_t& dropped, bool& warned, IrcMessage msg,
                Timestamp ts);
    IrcMessage make_message(const Message& m, Timestamp ts, bool truncated,
                            std::size_t target_index, std::size_t text_index) const;
    void record_dcc(const IrcMessage& msg, bool sent, Timestamp ts);

    AnalyzerContext ctx_;
    IrcResult& result_;
    IrcSession session_;
    Side sides_[2];
    Direction client_dir_ = Direction::kOrig;
    bool roles_decided_ = false;
    bool sent_nick_ = false;
    bool sent_user_ = false;
    bool nick_accepted_ = false;  ///< session_.nick came from the server, not the client
    bool gave_up_ = false;
    bool ended_ = false;
    bool warned_received_ = false;
    bool warned_sent_ = false;
    bool warned_limit_ = false;
    std::uint64_t consecutive_invalid_ = 0;
    std::vector<PendingWeird> pending_weirds_;
    std::string last_topic_channel_;  ///< the channel of the last 332, for the 333 after it
};

}  // namespace botscope::analysis::irc
