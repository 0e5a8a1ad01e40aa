#pragma once
// Operator scripts: what fakenet's IRC server says to a bot once it joins, playing the
// botmaster (signatures/operator/*.txt, format in signatures/operator/README.md).
//
// A script is checked once, when it is loaded, so that nothing it can make the server say
// names an address outside the sandbox: every text is searched with foreign_addresses()
// (sandbox.h) with its variables removed and again expanded with placeholder values. The IRC
// server checks each line once more after expansion with the bot's real values, right before
// it sends it.
//
// Limits (a script past one is refused, with the file and line):
//   kMaxScriptBytes    64 KiB per script file
//   kMaxScriptSteps    1000 steps (wait and expect lines count)
//   kMaxStepText       400 bytes of text after expansion (an IRC line must stay under 512)
//   kMaxStepSeconds    600 s per wait or expect
//   kMaxScriptSeconds  3600 s of waits and expect timeouts in all
// Texts hold no control characters but mIRC's formatting codes (0x02 0x03 0x0F 0x16 0x1D 0x1F)
// and tabs.
//
// script_from_capture() turns the commands a bot received in a captured session into a script
// (`botscope operator from-pcap`), every address rewritten to a sandbox address.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/detect/behavior.h"
#include "fakenet/sandbox.h"
#include "fakenet/session.h"
#include "util/result.h"

namespace botscope::fakenet {

inline constexpr std::size_t kMaxScriptBytes = 64 * 1024;
inline constexpr std::size_t kMaxScriptSteps = 1000;
inline constexpr std::size_t kMaxStepText = 400;
inline constexpr Millis kMaxStepMillis = 600'000;
inline constexpr Millis kMaxScriptMillis = 3'600'000;
/// An expect line without its own timeout waits this long.
inline constexpr Millis kDefaultExpectMillis = 10'000;
/// IRC servers of the era allowed nicks of 9 to 30 bytes; the IRC server announces 30.
inline constexpr std::size_t kMaxOperatorNick = 30;
/// Channel names the IRC server accepts (and $CHANNEL expands to) are at most this long.
inline constexpr std::size_t kMaxChannelName = 50;

/// A nick the IRC server accepts and an `operator` line may name: analysis irc::is_valid_nick()
/// (letters, digits and the bots' - [ ] \ ` ^ _ { | }), at most kMaxOperatorNick bytes, not
/// starting with a digit or '-'.
bool is_acceptable_nick(std::string_view nick);

struct OperatorStep {
    enum class Kind { kTopic, kSay, kMsg, kNotice, kWait, kExpect } kind = Kind::kSay;
    std::string text;   ///< as written, variables unexpanded ($$ still doubled)
    Millis millis = 0;  ///< kWait: the pause; kExpect: the timeout
    int line = 0;       ///< 1-based line in the script file
};

/// "topic", "say", "msg", "notice", "wait", "expect".
const char* step_kind_name(OperatorStep::Kind kind);

struct OperatorScript {
    std::string name;
    std::string nick = "b0ss";
    std::vector<OperatorStep> steps;

    /// The waits and expect timeouts added up: how long the script runs at most.
    Millis total_millis() const;
};

/// Parses and checks a script. `name` goes into error messages ("default.txt:12: ..."). Error
/// codes: "operator_too_large", "operator_syntax", "operator_limit", "operator_variable",
/// "operator_foreign_address".
util::Result<OperatorScript> parse_operator_script(std::string_view text, std::string_view name,
                                                   const Sandbox& sandbox);

struct OperatorVars {
    std::string nick, channel;
    Ipv4 guest = 0;
};

/// Expands $TARGET $SINKHOLE $SUBNET (sandbox.range_pattern(): "10.66.0.x") $NETWORK
/// ("10.66.0.0/24") $GUEST (the bot's address) $NICK $CHANNEL, and $$ -> $. A name that is no
/// variable is left as written (parse_operator_script() refuses those).
std::string expand_operator_text(std::string_view text, const Sandbox&, const OperatorVars&);

/// Finds a script: NAME (letters, digits, '-', '_') in `dir` (NAME.txt), or a path to a file.
/// Error codes: "operator_not_found", "operator_unreadable", and parse_operator_script()'s.
util::Result<OperatorScript> load_operator_script(std::string_view name_or_path,
                                                  const std::filesystem::path& dir,
                                                  const Sandbox& sandbox);

/// `botscope operator from-pcap`: where the commands came from, for the script's header.
struct CaptureOrigin {
    std::string capture;  ///< the file as named on the command line
    std::string sha256;   ///< of the file
    /// The bot whose commands are taken; empty: the client of the first IRC session that
    /// received a command.
    std::optional<analysis::IpAddress> host;
};

/// What script_from_capture() wrote and why.
struct CaptureScript {
    std::string text;       ///< the script, ready to write
    OperatorScript script;  ///< `text` parsed back (proof that it loads)
    /// Each distinct rewritten address or range with what replaced it, in order of first use.
    std::vector<std::pair<std::string, std::string>> rewrites;
    std::size_t commands = 0;  ///< commands replayed
    std::size_t skipped = 0;   ///< commands left out (named in comments in `text`)
};

/// Longest pause between two replayed commands: a botmaster who came back after an hour
/// would otherwise stall the task.
inline constexpr Millis kMaxReplayGap = 60'000;

/// Turns the IRC commands one bot received (behavior.commands with via "irc", in order, with
/// their timing) into an operator script: a topic command received first becomes the `topic`
/// at join, channel commands `say`, private ones `msg`, later topics `topic`, with `wait`
/// lines for the gaps (each at most kMaxReplayGap). Every foreign IPv4 address becomes a
/// decoy of the sandbox (the first distinct one $TARGET, then 10.66.0.201, .202 ...), every
/// foreign range $SUBNET, a URL's foreign host address $SINKHOLE; host names stay (fakenet's
/// DNS answers them with the sinkhole). Commands that cannot be replayed (control characters,
/// too long) are named in comments. Error codes: "operator_no_commands" (nothing to replay),
/// "operator_no_host" (`origin.host` received none), or the parse error of a script that
/// would not load (a bug: the result is always checked).
util::Result<CaptureScript> script_from_capture(const analysis::detect::BehaviorResult& behavior,
                                                const CaptureOrigin& origin,
                                                const Sandbox& sandbox);

}  // namespace botscope::fakenet
