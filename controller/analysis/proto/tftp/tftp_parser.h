#pragma once
// TFTP packet parser (RFC 1350; options RFC 2347, blksize RFC 2348, timeout/tsize RFC 2349,
// windowsize RFC 7440). Pure functions over one UDP payload: a datagram is always whole, so
// the parser answers ok or error, never "need more".
//
// Limits (a value over its limit is cut to the limit and flagged, the packet still parses):
//   kMaxFilenameLength     512 bytes of the file name kept (RFC 2347 caps a whole request at
//                          512 bytes, but hostile clients send longer ones: path traversal,
//                          overflow attempts against TFTP servers)
//   kMaxModeLength          32 bytes of the transfer mode kept
//   kMaxOptions             16 option pairs kept per request or OACK; more sets `truncated`
//   kMaxOptionNameLength    64 bytes per option name kept
//   kMaxOptionValueLength   64 bytes per option value kept
//   kMaxErrorMessageLength 256 bytes of an ERROR message kept
// Time and memory are linear in the payload (at most 65,535 bytes): every loop consumes at
// least one byte per turn, and DATA payloads are returned as a view, never copied.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace botscope::analysis::tftp {

inline constexpr std::size_t kMaxFilenameLength = 512;
inline constexpr std::size_t kMaxModeLength = 32;
inline constexpr std::size_t kMaxOptions = 16;
inline constexpr std::size_t kMaxOptionNameLength = 64;
inline constexpr std::size_t kMaxOptionValueLength = 64;
inline constexpr std::size_t kMaxErrorMessageLength = 256;

/// The well-known TFTP server port; only the request goes there (RFC 1350 section 4).
inline constexpr std::uint16_t kTftpPort = 69;
/// Block size without a negotiated blksize option (RFC 1350).
inline constexpr std::uint32_t kDefaultBlockSize = 512;
/// Valid range of the blksize option (RFC 2348).
inline constexpr std::uint32_t kMinBlockSize = 8;
inline constexpr std::uint32_t kMaxBlockSize = 65464;

/// Opcodes of RFC 1350 and RFC 2347.
enum class Opcode : std::uint16_t {
    kRrq = 1,
    kWrq = 2,
    kData = 3,
    kAck = 4,
    kError = 5,
    kOack = 6,
};

/// True for the opcodes above.
bool is_known_opcode(std::uint16_t opcode);

/// True for the transfer modes of RFC 1350 (netascii, octet, mail), compared case-insensitively.
bool is_valid_mode(std::string_view mode);

/// One option name/value pair, raw bytes cut to their limits.
struct Option {
    std::string name;
    std::string value;
};

struct OptionList {
    std::vector<Option> items;
    /// More than kMaxOptions pairs, or a name or value cut to its limit.
    bool truncated = false;
    /// A name without a value, a string without its terminating NUL, or an empty name followed
    /// by more than NUL padding.
    bool malformed = false;
};

/// The first option named `name` (ASCII case-insensitive), or nullptr.
const Option* find_option(std::span<const Option> options, std::string_view name);

enum class PacketError : std::uint8_t {
    kNone,
    kTooShort,              ///< fewer bytes than the opcode's fixed fields
    kUnknownOpcode,         ///< opcode outside 1..6
    kUnterminatedFilename,  ///< RRQ/WRQ: no NUL after the file name
    kUnterminatedMode,      ///< RRQ/WRQ: no NUL after the mode
    kBadMode,               ///< RRQ/WRQ: mode is not netascii, octet or mail
};

/// Short stable name of an error, for weird details.
const char* packet_error_name(PacketError e);

/// One parsed TFTP datagram. Only the fields of its opcode are set.
struct Packet {
    PacketError error = PacketError::kNone;
    /// Raw opcode as sent (0 when the payload is shorter than two bytes).
    std::uint16_t opcode = 0;

    // RRQ / WRQ. On kBadMode (and kUnterminatedMode) the file name is still filled in, and on
    // kBadMode the raw mode too, so that a malformed request can be reported as sent.
    std::string filename;
    bool filename_truncated = false;
    std::string mode;
    bool mode_truncated = false;

    // DATA / ACK
    std::uint16_t block = 0;
    /// DATA payload: a view into the parsed buffer, valid only as long as that buffer.
    std::span<const std::uint8_t> data;

    // ERROR
    std::uint16_t error_code = 0;
    std::string error_message;
    bool error_message_truncated = false;
    /// The message lacked its NUL (seen from some embedded servers); the bytes are kept.
    bool error_message_unterminated = false;

    // RRQ / WRQ / OACK
    OptionList options;

    bool ok() const { return error == PacketError::kNone; }
    bool is_request() const {
        return opcode == static_cast<std::uint16_t>(Opcode::kRrq) ||
               opcode == static_cast<std::uint16_t>(Opcode::kWrq);
    }
};

/// Parses one TFTP datagram payload. Never throws; hostile input yields an error or flags.
Packet parse_packet(std::span<const std::uint8_t> payload);

/// Parses a run of NUL-terminated name/value strings (the tail of RRQ, WRQ and OACK).
OptionList parse_options(std::span<const std::uint8_t> bytes);

/// What the first bytes of a file look like: "pe" (MZ with "PE\0\0" at e_lfanew, or with
/// e_lfanew beyond `head` when `head` is only the start of a longer file), "mz" (any other MZ:
/// a DOS program or a stub too short to hold a PE header), "elf", "gzip", "zip", "cab", "rar",
/// "7z", or "" when unknown.
std::string sniff_file_kind(std::span<const std::uint8_t> head, bool head_is_whole_file);

}  // namespace botscope::analysis::tftp
