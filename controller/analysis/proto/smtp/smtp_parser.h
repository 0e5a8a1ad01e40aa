#pragma once
// Pure SMTP parsing: lines, commands, replies, mail paths, base64 and SASL payloads, and a
// streaming parser for message content (RFC 5322 headers, MIME attachment names, hashes).
//
// Limits (a limit hit truncates the value and sets a flag; nothing here fails on size):
//   kMaxLineLength       4096  bytes buffered for one command or reply line. RFC 5321 allows
//                              512 for commands and 1000 for text lines; sloppy bots exceed both.
//   kMaxMimeLineLength   2048  bytes of one message line examined for headers and MIME
//                              boundaries; longer lines are still hashed and counted in full.
//   kMaxHeaderValue       512  bytes kept of one stored header value (after unfolding).
//   kMaxUnfoldedHeader   2048  bytes of one header (all its folded lines) examined for
//                              parameters such as boundary= and filename=.
//   kMaxHeaderLines      1000  header lines examined per header block (message or MIME part).
//   kMaxBoundaries         16  multipart boundaries tracked per message (nesting depth).
//   kMaxBoundaryLength    200  bytes of one boundary (RFC 2046 allows 70).
//   kMaxAttachments        64  attachment names kept per message.
//   kMaxFilenameLength    256  bytes kept of one attachment name.
//   kMaxAddressLength     256  bytes kept of one mail path (RFC 5321 allows 256).
//   kMaxBase64Input      4096  bytes of one base64 SASL payload decoded.
//   kMaxUserLength        256  bytes kept of a decoded SASL user name.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/line_assembler.h"
#include "util/hash.h"

namespace botscope::analysis::smtp {

inline constexpr std::size_t kMaxLineLength = 4096;
inline constexpr std::size_t kMaxMimeLineLength = 2048;
inline constexpr std::size_t kMaxHeaderValue = 512;
inline constexpr std::size_t kMaxUnfoldedHeader = 2048;
inline constexpr std::size_t kMaxHeaderLines = 1000;
inline constexpr std::size_t kMaxBoundaries = 16;
inline constexpr std::size_t kMaxBoundaryLength = 200;
inline constexpr std::size_t kMaxAttachments = 64;
inline constexpr std::size_t kMaxFilenameLength = 256;
inline constexpr std::size_t kMaxAddressLength = 256;
inline constexpr std::size_t kMaxBase64Input = 4096;
inline constexpr std::size_t kMaxUserLength = 256;

/// Commands this analyzer tells apart; everything else is kUnknown (a well-formed verb the
/// analyzer does not know), kExtension (an X... verb) or kInvalid (not a verb at all).
enum class Verb : std::uint8_t {
    kHelo,
    kEhlo,
    kMail,
    kRcpt,
    kData,
    kBdat,
    kRset,
    kVrfy,
    kExpn,
    kHelp,
    kNoop,
    kQuit,
    kAuth,
    kStartTls,
    kTurn,
    kEtrn,
    kAtrn,
    kSend,
    kSoml,
    kSaml,
    kExtension,
    kUnknown,
    kInvalid,
};

/// One client command line.
struct Command {
    Verb verb = Verb::kInvalid;
    std::string_view name;  ///< the verb as sent (may be empty for kInvalid)
    std::string_view arg;   ///< the rest, trimmed
};

/// Splits a command line into verb and argument. A verb is 1-20 characters, a letter first,
/// then letters, digits or '-'.
Command parse_command(std::string_view line);

/// Upper-case name of a verb ("MAIL"); "" for kExtension/kUnknown/kInvalid.
std::string_view verb_name(Verb v);

/// A MAIL FROM / RCPT TO path.
struct MailPath {
    std::string address;  ///< without angle brackets or source route; "" for the null path <>
    bool truncated = false;
};

/// Parses the argument of MAIL ("FROM:<a@b> SIZE=1") or RCPT ("TO:<a@b>"); `keyword` is "FROM"
/// or "TO". Tolerates the sloppy forms bots send ("FROM: <a@b>", "FROM:a@b"). nullopt when the
/// keyword or the colon is missing.
std::optional<MailPath> parse_mail_path(std::string_view arg, std::string_view keyword);

/// Strict base64 (RFC 4648 alphabet, padding optional only at the very end). nullopt on any
/// other character, misplaced padding, an impossible length, or input over kMaxBase64Input.
std::optional<std::string> base64_decode(std::string_view in);

/// Outcome of reading a user name out of a SASL payload; the password is never kept.
struct SaslUser {
    enum class Status : std::uint8_t { kOk, kBadBase64, kMalformed };
    Status status = Status::kOk;
    std::string user;  ///< bounded by kMaxUserLength
    bool truncated = false;
};

/// AUTH PLAIN: base64 of "authzid\0authcid\0password"; the user is authcid (authzid when
/// authcid is empty).
SaslUser sasl_plain_user(std::string_view base64);
/// AUTH LOGIN: base64 of the user name.
SaslUser sasl_login_user(std::string_view base64);
/// AUTH CRAM-MD5 response: base64 of "user hexdigest".
SaslUser sasl_cram_md5_user(std::string_view base64);

/// Value of parameter `key` in a structured header value ("multipart/mixed; boundary=x"):
/// quoted strings, RFC 2231 `key*=charset'lang'pct-encoded` and `key*0=`/`key*1*=`
/// continuations. nullopt when absent. Bounded by `max_len` (sets *truncated).
std::optional<std::string> mime_param(std::string_view header_value, std::string_view key,
                                      std::size_t max_len, bool* truncated = nullptr);

/// RFC 2047 encoded words ("=?ISO-8859-1?Q?Rechnung_M=E4rz.exe?=", "=?utf-8?B?...?=") in a
/// value decoded to UTF-8, as mailers of the era wrote attachment names; whitespace between
/// two encoded words goes. UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 (as Latin-1) are
/// decoded; a word in another charset, or malformed, is kept as written. At most `max_len`
/// bytes (sets *truncated).
std::string decode_encoded_words(std::string_view value, std::size_t max_len,
                                 bool* truncated = nullptr);

/// The RFC 5322 header fields a report shows (first occurrence of each, unfolded, bounded).
struct MessageHeaders {
    std::string from;
    std::string to;
    std::string cc;
    std::string subject;
    std::string message_id;
    std::string date;
    std::string x_mailer;
};

/// What MessageParser learned about one message.
struct MessageSummary {
    MessageHeaders headers;
    std::uint32_t header_count = 0;  ///< top-level header fields seen
    std::vector<std::string> attachments;
    std::uint64_t attachments_dropped = 0;
    std::uint64_t size = 0;  ///< bytes fed (after dot-unstuffing)
    std::string md5;
    std::string sha256;
    bool truncated = false;  ///< a header, boundary or name hit its limit
};

/// Streaming parser for the content of one message (what DATA or BDAT carries, already
/// dot-unstuffed). Hashes every byte; examines lines for the top-level headers, multipart
/// boundaries and part headers, and collects attachment names from Content-Disposition
/// filename= or Content-Type name=.
class MessageParser {
public:
    MessageParser() = default;

    void feed(std::span<const std::uint8_t> bytes);

    /// Ends the message (flushes a last unterminated line) and returns what was found. Call once.
    MessageSummary finish();

    std::uint64_t size() const { return hasher_.size(); }

private:
    enum class Block : std::uint8_t { kTopHeaders, kPartHeaders, kBody };

    void on_line(std::string_view line);
    void header_line(std::string_view line);
    void body_line(std::string_view line);
    void commit_header();
    void end_header_block();

    util::FileHasher hasher_;
    LineAssembler lines_{kMaxMimeLineLength};
    Block block_ = Block::kTopHeaders;
    std::size_t block_lines_ = 0;
    bool have_header_ = false;
    std::string name_;
    std::string value_;
    std::string part_name_;
    std::string part_filename_;
    std::vector<std::string> boundaries_;
    MessageSummary out_;
};

}  // namespace botscope::analysis::smtp
