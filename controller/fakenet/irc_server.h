#pragma once
// fakenet's IRC server, which plays the botmaster. INetSim's and FakeNet-NG's IRC servers greet
// and log; a dormant bot shows its floods, scans and spam only when someone commands it. Here
// an operator (nick from the script, user "admin", host "sandbox.test", op in every channel)
// replays an operator script (operator_script.h) to each bot that joins a channel, and every
// line the bot says back is recorded.
//
// One server per task: its own clients, nicks, channels and players. Pure state machine
// against session.h: each session's on_data() and on_tick() advance the server's clock (the
// operator's steps, PINGs) and drain what the server queued for that connection.
//
// Lines are cut and parsed with the analysis' irc::extract_line() and irc::parse_message().
// Limits (named, each hit handled as an ircd would):
//   kIrcMaxLine              512 bytes per client line (CR LF included); longer: 417, skipped
//   kIrcMaxQueue             64 KiB queued for one connection; past it the connection is
//                            closed ("Max SendQ exceeded"): a client that never reads
//   IrcConfig::max_clients   64 connections per server; past it: ERROR and close
//   kIrcMaxChannels          64 channels per server; kIrcMaxChannelsPerClient 20 per client;
//                            past either: 405
//   kIrcMaxPlayers           8 players per server (one per bot, from its first JOIN)
//   kIrcMaxTargets           4 targets per PRIVMSG or NOTICE (more are ignored)
//   kIrcPingIdle             90 s without a line: the server PINGs; 90 s more: closed
//   kIrcMaxHeard             32 lines a bot said kept per player for `expect`
//   kMaxChannelName          50 bytes per channel name; nicks kMaxOperatorNick (30) bytes,
//                            longer ones are cut (as ircds did)
// Timestamps in 329/333 are a fixed 2006-01-01 epoch plus the monotonic clock: services have
// no wall clock.
//
// Records (kind "irc", keys in this order; "conn" is ConnInfo::id):
//   {"event":"register","conn","client","server","pass" (or null),"nick","user","realname"}
//   {"event":"nick","conn","old","new"}
//   {"event":"join","conn","nick","channel","key" (or null)}
//   {"event":"operator","conn","nick","via" ("topic"|"privmsg"|"notice"),"to","text","step"}
//   {"event":"bot","conn","nick","command" ("PRIVMSG"|"NOTICE"),"to","text"}
//   {"event":"quit","conn","nick" (or null),"reason"}  when the connection ends, for any reason

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "fakenet/operator_script.h"
#include "fakenet/sandbox.h"
#include "fakenet/session.h"

namespace botscope::fakenet {

inline constexpr std::size_t kIrcMaxLine = 512;
inline constexpr std::size_t kIrcMaxQueue = 64 * 1024;
inline constexpr std::size_t kIrcMaxChannels = 64;
inline constexpr std::size_t kIrcMaxChannelsPerClient = 20;
inline constexpr std::size_t kIrcMaxPlayers = 8;
inline constexpr std::size_t kIrcMaxTargets = 4;
inline constexpr Millis kIrcPingIdle = 90'000;
inline constexpr std::size_t kIrcMaxHeard = 32;

struct IrcConfig {
    std::string server_name = "irc.sandbox.test";
    std::string network = "botscope";
    Sandbox sandbox;                       ///< for $TARGET, $SINKHOLE, $SUBNET, $NETWORK
    std::optional<OperatorScript> script;  ///< nullopt: a plain server that commands nobody
    std::size_t max_clients = 64;          ///< per IrcServer; past it: ERROR + close
};

/// The server's state; defined in irc_server.cpp.
class IrcState;

/// One per task: its own channels, nicks and operator.
class IrcServer {
public:
    IrcServer(IrcConfig config, Recorder& rec);
    ~IrcServer();
    IrcServer(const IrcServer&) = delete;
    IrcServer& operator=(const IrcServer&) = delete;

    /// A new client connection. The session refers to this server, which must outlive it (the
    /// network side destroys a task's sessions before its server).
    std::unique_ptr<TcpSession> accept(const ConnInfo& conn);

    /// Scripts' progress, for the report: per bot, which steps ran. {"script" (name or null),
    /// "operator" (nick), "players": [{"conn","nick","channel","guest","state" ("running",
    /// "finished", "bot left"),"steps_run","steps_total","steps": [{"step","line","kind",
    /// "at_ms" (since the bot joined), and "text" for what was sent; for expect "result"
    /// ("matched" with "heard", or "timed_out"); "result":"refused"/"skipped" with "reason"
    /// for a line not sent}]}], "players_refused" (bots past kIrcMaxPlayers)}.
    Json summary() const;

    /// Connections the server holds now (those closed are forgotten).
    std::size_t connections() const;

private:
    std::unique_ptr<IrcState> state_;
};

}  // namespace botscope::fakenet
