#pragma once
// Bot commands: recognising them in what a C&C server sent, and tying each to the behaviour
// that followed it.
//
// A command is a line whose first word starts with one of the prefixes 2005-era bots used
// (. ! @ $ % & ~ -) followed by a letter: ".ddos.syn 198.51.100.10 80 60", "!spam.start",
// ".advscan dcom135 50 3 0 -r -s". Its verb (the first word without the prefix, lower-cased)
// gives its category by keywords (command_category); its arguments may name the target:
// an address (a trailing ".x" or ".*" octet names a range), a port (a number, or the digits
// ending an exploit module's name such as dcom135 or lsass445) or a URL.

#include <string>
#include <string_view>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

inline constexpr std::size_t kMaxCommandArgs = 16;
inline constexpr std::size_t kMaxCommandText = 512;

/// Splits a command line; false when `text` is not a command.
bool parse_command(std::string_view text, std::string& verb, std::vector<std::string>& args);

/// "flood", "scan", "spam", "download" or "other".
const char* command_category(std::string_view verb);

/// What a command's arguments name.
struct CommandTargets {
    std::vector<IpAddress> addresses;
    /// Address prefixes from wildcards ("10.66.0.x" → 10.66.0.0 with 3 octets).
    std::vector<std::pair<IpAddress, int>> prefixes;
    std::vector<std::uint16_t> ports;
    std::vector<std::string> urls;
};
CommandTargets command_targets(const BotCommand& c);

/// Commands the bot received: over IRC (topics, channel and private messages) and over HTTP
/// (the lines of a short reply kept whole, http::kMaxSmallBody, that is not a page, a style
/// sheet, a script or an image: a polling bot's command list). Fed with each IRC session and
/// HTTP transaction as it closes, so that none is missed past the results' memory caps; keeps
/// the first kMaxCommands and counts the rest.
struct CommandCollector {
    void irc(const irc::IrcSession& s);
    void http(const http::HttpTransaction& t);
    /// The commands in time order; `total_dropped` gains those past kMaxCommands.
    std::vector<BotCommand> take(std::uint64_t& total_dropped);

    std::vector<BotCommand> list;
    std::uint64_t dropped = 0;
};

/// Ties each finding in `b` to the command before it (within config.command.window) whose
/// category fits and whose named target, if any, matches; fills both directions.
void match_commands(BehaviorResult& b);

}  // namespace botscope::analysis::detect
