#pragma once
// Bot commands as the IRC bots of 2004-2005 took them (SDBot, RBot/rxBot, Agobot): a '.' or
// '!' prefix, a verb (with the families' aliases), space-separated arguments. Parsing checks
// every argument, and refuses any command that names an address outside the sandbox before
// anything is done (gate.h).
//
//   .login PASSWORD
//   .ddos.syn TARGET PORT SECONDS      (.syn, .synflood)
//   .ddos.udp TARGET PORT SECONDS      (.udp, .udpflood; PORT 0 = random ports)
//   .ddos.ping TARGET SECONDS          (.icmpflood, .ddos.icmp)
//   .advscan MODULE THREADS DELAY MINUTES [RANGE] [-r] [-s] [-b]   (.scan, .asc)
//   .spam.start [COUNT]                (.spam, .email)
//   .download URL [DEST [RUN]]
//   .update URL [ID]
//   .quit                              (.die)
//
// Limits: at most kMaxCommandText characters and kMaxCommandArgs arguments; numbers are
// decimal (std::from_chars) within the ranges in bounds.h.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "bounds.h"
#include "url.h"

namespace botscope::botemu {

enum class Verb {
    kLogin,
    kSynFlood,
    kUdpFlood,
    kPingFlood,
    kScan,
    kSpam,
    kDownload,
    kUpdate,
    kQuit
};

/// A host as a command names it: an address (already checked against the sandbox) or a name,
/// checked once resolved.
struct HostRef {
    std::string text;
    std::optional<Ipv4> address;
};

struct LoginArgs {
    std::string password;
};
struct FloodArgs {
    HostRef target;
    std::uint16_t port = 0;  ///< UDP: 0 = random ports; ICMP: 0
    std::uint32_t seconds = 0;
};
struct ScanArgs {
    std::string module;
    std::uint16_t port = kDefaultScanPort;  ///< the module's trailing digits
    std::uint32_t threads = 0;
    std::uint32_t delay = 0;
    std::uint32_t minutes = 0;
    std::optional<fakenet::Subnet> range;  ///< nullopt: the bot's own /24 (default, or -b)
    bool random_order = false;             ///< -r
    bool silent = false;                   ///< -s (accepted; the emulator always replies)
};
struct SpamArgs {
    std::uint32_t count = static_cast<std::uint32_t>(kMaxSpamMessages);
};
struct DownloadArgs {
    Url url;
    std::string file_name;  ///< sanitised, from DEST or from the URL's path
    bool run = false;       ///< RUN was given; the emulator never runs anything
};
struct QuitArgs {};

using CommandArgs = std::variant<LoginArgs, FloodArgs, ScanArgs, SpamArgs, DownloadArgs, QuitArgs>;

struct ParsedCommand {
    enum class Status {
        kNotCommand,  ///< no '.' or '!' prefix, or too long
        kUnknown,     ///< a prefix but no verb the emulator knows: ignored
        kBadArgs,     ///< `error` is the usage line
        kRefused,     ///< names something outside the sandbox; `error` says what
        kOk,
    };
    Status status = Status::kNotCommand;
    Verb verb = Verb::kQuit;  ///< meaningful from kBadArgs on
    std::string name;         ///< the verb as typed, lower-cased, without its prefix
    CommandArgs args;         ///< when kOk
    std::string error;
};

ParsedCommand parse_command(std::string_view text);

/// The reply prefix of a verb's family: "[MAIN]", "[DDoS]", "[SCAN]", "[SPAM]", "[DOWNLOAD]",
/// "[UPDATE]".
std::string_view verb_tag(Verb v);

/// The port of an .advscan module: its trailing digits (lsass_445 -> 445, dcom135 -> 135),
/// kDefaultScanPort when it has none; nullopt when they are not a port (0, > 65535).
std::optional<std::uint16_t> module_port(std::string_view module);

}  // namespace botscope::botemu
