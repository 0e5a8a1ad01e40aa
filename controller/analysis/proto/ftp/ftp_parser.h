#pragma once
// Pure FTP control-channel parsing (RFC 959, 2228, 2428, 3659): commands with Telnet codes
// stripped, reply lines, and the data-channel endpoints of PORT/EPRT and of the 227/229
// replies to PASV/EPSV.
//
// Limits (a limit hit truncates the value and sets a flag; nothing here fails on size):
//   kMaxLineLength   4096  bytes buffered for one command or reply line (RFC 959 sets none;
//                          real paths stay well below).
//   kMaxArgLength     512  bytes kept of one command argument (a path or a user name).
//   kMaxReplyText     512  bytes kept of one reply text.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "analysis/line_assembler.h"
#include "analysis/types.h"

namespace botscope::analysis::ftp {

inline constexpr std::size_t kMaxLineLength = 4096;
inline constexpr std::size_t kMaxArgLength = 512;
inline constexpr std::size_t kMaxReplyText = 512;

/// Commands this analyzer acts on; other well-formed verbs are kOther (known) or kUnknown.
enum class Verb : std::uint8_t {
    kUser,
    kPass,
    kAcct,
    kPort,
    kEprt,
    kPasv,
    kEpsv,
    kRetr,
    kStor,
    kStou,
    kAppe,
    kList,
    kNlst,
    kMlsd,
    kRest,
    kType,
    kCwd,
    kPwd,
    kSyst,
    kAuth,
    kRein,
    kQuit,
    kOther,    ///< a known verb that needs no special handling (NOOP, FEAT, SIZE...)
    kUnknown,  ///< three or four letters, but not a verb this parser knows
    kInvalid,  ///< not a verb at all
};

/// One client command line.
struct Command {
    Verb verb = Verb::kInvalid;
    std::string_view name;  ///< the verb as sent
    std::string_view arg;   ///< the rest, trimmed of the separating space and of CR/LF
};

/// Removes Telnet command sequences (IAC ...) that clients put before ABOR and the like;
/// IAC IAC stands for a literal 0xFF byte.
std::string strip_telnet(std::string_view line);

/// Splits a command line; a verb is 3 or 4 ASCII letters (RFC 959), case-insensitive.
Command parse_command(std::string_view line);

/// PORT h1,h2,h3,h4,p1,p2 (each 0-255).
std::optional<Endpoint> parse_port(std::string_view arg);

/// EPRT <d>af<d>address<d>port<d> (RFC 2428), af 1 = IPv4, 2 = IPv6.
std::optional<Endpoint> parse_eprt(std::string_view arg);

/// The first six comma-separated numbers in a 227 reply ("Entering Passive Mode
/// (192,0,2,7,195,80)"; servers differ on the parentheses).
std::optional<Endpoint> parse_pasv_reply(std::string_view text);

/// The port of a 229 reply: "(|||6446|)" with any delimiter (RFC 2428).
std::optional<std::uint16_t> parse_epsv_reply(std::string_view text);

/// The quoted directory of a 257 reply (`257 "/a ""b"""` -> `/a "b"`), bounded.
std::optional<std::string> parse_quoted_path(std::string_view text);

/// The size many servers announce in a 150 reply: "... (1320211 bytes)".
std::optional<std::uint64_t> parse_transfer_size(std::string_view text);

/// The name a STOU reply announces ("FILE: name", RFC 1123 4.1.2.9).
std::optional<std::string_view> parse_stou_name(std::string_view text);

}  // namespace botscope::analysis::ftp
