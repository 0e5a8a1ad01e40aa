#pragma once
// HTTP/1.x message pieces: request and status lines, header lines, chunk-size lines, body
// framing values, executable sniffing and the content probe. Pure functions over one line or a
// prefix of bytes; the per-connection state machine lives in http_analyzer.
//
// Limits (hitting one yields a truncated value plus a flag, never a failure):
//   kMaxLineLength     8192  bytes kept of one start, header, trailer or chunk-size line; the
//                            rest of a longer line is skipped (Apache's default is 8190)
//   kMaxHeaders         100  header lines per message that are looked at for stored fields;
//                            framing headers after that are still honoured
//   kMaxUriLength      2048  bytes of a request target stored (truncated flag beyond)
//   kMaxFieldLength     512  bytes of any other stored header value or reason phrase
//   kMaxMethodLength     32  bytes of a method token (longer is not a request line)
//   kMaxChunkSize  2^31 - 1  a larger chunk size is hostile: negative as a 32-bit int, the
//                            shape of the 2002 Apache chunked-encoding exploits
//   kSniffBytes        4096  body prefix kept to recognise executables (e_lfanew must point
//                            inside it for a PE verdict)
//   kMaxSmallBody       512  a body this short (and no executable) is kept whole as text:
//                            a C&C server's reply to a polling bot is a short command list
//   kProbeLongTarget     64  request-target bytes after a known method that are enough for the
//                            probe to match before the version arrives (long-URI exploits)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "analysis/analyzer.h"

namespace botscope::analysis::http {

inline constexpr std::size_t kMaxLineLength = 8192;
inline constexpr std::size_t kMaxHeaders = 100;
inline constexpr std::size_t kMaxUriLength = 2048;
inline constexpr std::size_t kMaxFieldLength = 512;
inline constexpr std::size_t kMaxMethodLength = 32;
inline constexpr std::uint64_t kMaxChunkSize = 0x7fffffff;
inline constexpr std::size_t kSniffBytes = 4096;
inline constexpr std::size_t kMaxSmallBody = 512;
inline constexpr std::size_t kProbeLongTarget = 64;

/// What a parser says about its input: usable, malformed, or needs more bytes to tell.
enum class ParseStatus : std::uint8_t { kOk, kError, kIncomplete };

/// Where the next line ends in a run of bytes. Lines end at LF; one CR before it is dropped.
struct LineScan {
    ParseStatus status = ParseStatus::kIncomplete;  ///< kIncomplete: no LF in the input
    std::size_t length = 0;    ///< bytes of the line before its terminator (CR excluded)
    std::size_t consumed = 0;  ///< bytes up to and including the LF (0 when incomplete)
};
LineScan scan_line(std::span<const std::uint8_t> data);

/// A request line: `METHOD SP target SP HTTP/d.d`. Views point into the parsed line.
struct RequestLine {
    ParseStatus status = ParseStatus::kError;
    std::string_view method;
    std::string_view target;
    std::string_view version;  ///< "1.1"; empty when the line was cut before the version
    bool target_cut = false;   ///< the line was cut: `target` is only its beginning
};
/// `line_cut` says the caller kept only the first kMaxLineLength bytes of a longer line; the
/// method and the start of the target are then still reported.
RequestLine parse_request_line(std::string_view line, bool line_cut = false);

/// A status line: `HTTP/d.d SP 3DIGIT [SP reason]`.
struct StatusLine {
    ParseStatus status = ParseStatus::kError;
    std::string_view version;  ///< "1.0"
    std::uint16_t code = 0;
    std::string_view reason;
};
StatusLine parse_status_line(std::string_view line);

/// `name: value` with the value trimmed. kError when there is no colon or the name is not a
/// token.
struct HeaderField {
    ParseStatus status = ParseStatus::kError;
    std::string_view name;
    std::string_view value;
};
HeaderField parse_header_line(std::string_view line);

/// True for an obsolete folded line (starts with SP or HT) that continues the previous header.
bool is_continuation_line(std::string_view line);

/// Why a chunk-size line was rejected.
enum class ChunkSizeError : std::uint8_t {
    kNone,
    kEmpty,
    kNotHex,
    kNegative,
    kOverflow,
    kTooLarge
};
const char* chunk_size_error_name(ChunkSizeError e);

/// `hex-size [; extensions]`. kTooLarge still reports the parsed size.
struct ChunkSize {
    ParseStatus status = ParseStatus::kError;
    std::uint64_t size = 0;
    bool has_extension = false;
    ChunkSizeError error = ChunkSizeError::kNone;
};
ChunkSize parse_chunk_size_line(std::string_view line);

/// A Content-Length value: decimal digits only (surrounding whitespace allowed).
std::optional<std::uint64_t> parse_content_length(std::string_view value);

/// True when the last coding of a Transfer-Encoding list is `chunked` (RFC 7230 3.3.3).
bool is_chunked_coding(std::string_view transfer_encoding);

/// True when a comma-separated header list holds `token` (case-insensitive), e.g. Expect.
bool list_has_token(std::string_view list, std::string_view token);

/// Method tokens the probe accepts: RFC 7231, PATCH, WebDAV (exploited over HTTP by bots).
bool is_known_method(std::string_view method);

/// Executable kinds recognised at the start of a body.
enum class ExecutableKind : std::uint8_t { kNone, kMz, kPe, kElf };
/// "pe", "mz", "elf", or "" for kNone.
const char* executable_kind_name(ExecutableKind k);
/// MZ with "PE\0\0" at e_lfanew (inside `prefix`) is kPe, MZ alone kMz, "\x7fELF" kElf.
ExecutableKind classify_executable(std::span<const std::uint8_t> prefix);

/// Does a client's first bytes look like a request line (`known-method SP target SP HTTP/1.`)?
/// kNeedMore while the bytes are a consistent but too short prefix.
ProbeResult probe_request(std::span<const std::uint8_t> first_bytes);
/// Does a server's first bytes start with `HTTP/1.`?
ProbeResult probe_response(std::span<const std::uint8_t> first_bytes);

}  // namespace botscope::analysis::http
