#pragma once
// Pure IRC line and message parsing: bytes in, values out. No state, no allocation beyond the
// returned values, never throws.
//
// Limits (a limit hit truncates and sets a flag; it never fails the parse):
//   kMaxLineLength     4096 bytes per line, CR included, LF not. RFC 1459 says 512, IRCv3 tags
//                      add up to 8191, real servers and bots stay far below 4096. Longer lines
//                      are cut at the limit; the analyzer skips the rest of the line.
//   kMaxParams         32 parameters (RFC: 15). Parameters past the 31st stay together, unsplit,
//                      in the last one.
//   kMaxTags           32 IRCv3 message tags per line; further tags are skipped (flag).
//   kMaxCommandLength  32 bytes for a word command; longer is not IRC.
//   kMaxNickLength     64 bytes for a nick to count as valid (servers allow 9 to 30).
//   kProbeMaxLine      1024 bytes: a first line longer than this, still unterminated, is not IRC.
//
// Grammar accepted (tolerant where real clients and bots are sloppy):
//   line    = [ "@" tags SP ] [ ":" prefix SP ] command *( SP param ) [ SP ":" trailing ]
//   SP      = one or more spaces or tabs; leading and trailing whitespace is ignored
//   command = 1*32 letters / 3 digits
//   line end: LF, with an optional CR before it (bare-LF clients exist)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/types.h"

namespace botscope::analysis::irc {

inline constexpr std::size_t kMaxLineLength = 4096;
inline constexpr std::size_t kMaxParams = 32;
inline constexpr std::size_t kMaxTags = 32;
inline constexpr std::size_t kMaxCommandLength = 32;
inline constexpr std::size_t kMaxNickLength = 64;
inline constexpr std::size_t kProbeMaxLine = 1024;

// ---------------------------------------------------------------------------------------------
// Lines

enum class LineStatus : std::uint8_t {
    kOk,          ///< `line` is one complete line (line end removed), `consumed` includes the LF
    kIncomplete,  ///< no LF yet and fewer than kMaxLineLength bytes: need more data
    kTooLong,     ///< no LF within kMaxLineLength bytes: `line` is the first kMaxLineLength bytes
};

struct LineResult {
    LineStatus status = LineStatus::kIncomplete;
    std::string_view line;     ///< without CR LF
    std::size_t consumed = 0;  ///< bytes of the input this line used (0 when incomplete)
};

/// Finds the first line of `data`. With kTooLong, `consumed` is kMaxLineLength: the caller
/// skips up to the next LF.
LineResult extract_line(std::string_view data, std::size_t max_line = kMaxLineLength);

/// Removes one trailing CR (the CR of CR LF); a bare-LF line is left as it is.
std::string_view strip_cr(std::string_view line);

// ---------------------------------------------------------------------------------------------
// Messages

/// One IRCv3 tag, value unescaped (`\:` `\s` `\\` `\r` `\n`).
struct Tag {
    std::string key;
    std::string value;
};

/// `nick!user@host` or a server name. Views into the parsed line.
struct Prefix {
    std::string_view raw;
    std::string_view
        nick;  ///< the whole prefix when it has no '!' or '@' (a server or a bare nick)
    std::string_view user;
    std::string_view host;

    /// No user or host part and a dot in the name: a server, not a client.
    bool looks_like_server() const;
};

/// A parsed line. Views point into the line handed to parse_message, which must outlive it.
struct Message {
    std::string_view tags_raw;  ///< without the '@'; empty when there were no tags
    std::vector<Tag> tags;      ///< at most kMaxTags
    bool tags_truncated = false;
    Prefix prefix;                         ///< raw is empty when the line had no prefix
    std::string_view command;              ///< as sent (case kept); compare with util::iequals
    std::vector<std::string_view> params;  ///< at most kMaxParams, trailing last
    bool has_trailing = false;             ///< the last param came after " :"
    bool params_truncated = false;         ///< more than kMaxParams: the last param holds the rest

    bool is_numeric() const;
    /// The numeric reply code, or 0 for a word command.
    std::uint16_t numeric() const;
    /// Parameter `i`, or an empty view when there are fewer.
    std::string_view param(std::size_t i) const { return i < params.size() ? params[i] : ""; }
};

enum class ParseStatus : std::uint8_t {
    kOk,
    kEmpty,    ///< blank or whitespace-only line: not an error, nothing to do
    kInvalid,  ///< not an IRC message; `error` says why
};

struct ParseResult {
    ParseStatus status = ParseStatus::kInvalid;
    Message msg;
    std::string_view error;  ///< static text
};

/// Parses one line (line end already removed).
ParseResult parse_message(std::string_view line);

/// Splits a prefix into nick, user and host.
Prefix parse_prefix(std::string_view raw);

/// Parses an IRCv3 tag block (without the '@'), keeping at most kMaxTags tags.
std::vector<Tag> parse_tags(std::string_view raw, bool* truncated = nullptr);

// ---------------------------------------------------------------------------------------------
// Names

/// Nick characters as servers accept them, widened to what bots use: letters, digits,
/// `-[]\`^_{|}` and bytes >= 0x80 (UTF-8 nicks). At most kMaxNickLength bytes, not empty.
/// A leading digit or '-' is left to the server to refuse.
bool is_valid_nick(std::string_view nick);

/// Channel names start with '#', '&', '+' or '!' and contain no space, comma, BEL or NUL.
bool is_channel_name(std::string_view name);

/// RFC 1459 case mapping: ASCII letters plus `[]\~` == `{}|^`.
bool nick_equal(std::string_view a, std::string_view b);

// ---------------------------------------------------------------------------------------------
// Text

/// Removes mIRC colour and format codes: \x02 \x0F \x16 \x1D \x1F \x11 \x1E, \x03 with up to two
/// digits and an optional comma and up to two digits, \x04 with up to six hex digits and an
/// optional comma and up to six hex digits. Other bytes (CTCP \x01 included) are kept.
std::string strip_formatting(std::string_view text);

/// A CTCP request or reply: the text starts with \x01. The closing \x01 is optional (some bots
/// leave it out).
struct Ctcp {
    std::string_view command;  ///< e.g. VERSION, ACTION, DCC (case as sent)
    std::string_view args;     ///< after the first space, may be empty
    std::string_view body;     ///< everything between the delimiters
};

std::optional<Ctcp> parse_ctcp(std::string_view text);

/// A DCC offer (`DCC SEND file ip port [size]`, `DCC CHAT chat ip port`, TSEND likewise).
struct DccOffer {
    std::string_view type;      ///< SEND, CHAT, TSEND (case as sent)
    std::string_view argument;  ///< file name for SEND (quotes removed), "chat" for CHAT
    IpAddress addr;
    std::uint16_t port = 0;
    std::optional<std::uint64_t> size;
};

enum class DccStatus : std::uint8_t {
    kOk,
    kNotOffer,  ///< a DCC request that carries no address (RESUME, ACCEPT...) or an unknown type
    kInvalid,   ///< an offer whose address, port or size does not parse; `error` says which
};

struct DccResult {
    DccStatus status = DccStatus::kInvalid;
    DccOffer offer;
    std::string_view error;
};

/// Parses the arguments of a CTCP DCC request (the text after "DCC ").
DccResult parse_dcc(std::string_view args);

/// The 32-bit decimal address DCC uses (network order as an integer) as an IPv4 address.
IpAddress dcc_ipv4(std::uint32_t value);

// ---------------------------------------------------------------------------------------------
// Probe

/// Does the first line of one direction look like IRC? Client lines: NICK, USER (>= 4 params),
/// PASS, CAP (LS/REQ/END/LIST), JOIN of a channel, after optional @tags. Server lines: a prefix
/// followed by a numeric or NOTICE/PRIVMSG/CAP/PING/MODE/ERROR, or an unprefixed NOTICE, PING or
/// ERROR with parameters. kNeedMore while the first line is unterminated and could still match.
ProbeResult probe_client_line(std::string_view data);
ProbeResult probe_server_line(std::string_view data);

}  // namespace botscope::analysis::irc
