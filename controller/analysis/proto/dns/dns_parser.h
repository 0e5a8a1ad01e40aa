#pragma once
// DNS message parser (RFC 1035 wire format, with RFC 3597 rendering of unknown types).
//
// Pure functions over one message's bytes. Every input is hostile: nothing here throws, reads
// out of bounds, or does work beyond a bound that depends on the limits below. A limit hit
// yields a truncated value plus a flag (NameIssue bits), never a failure of the whole message.
//
// Limits (defaults follow Suricata's DNS parser where it has one):
//   kMaxNameLength        1025  presentation-form characters kept per name; longer is cut
//   kMaxLabels            255   labels kept per name
//   kMaxPointerHops       16    compression pointers followed per name
//   (loop rule)                 a pointer must point strictly before every byte already read
//                               for this name, so a walk always terminates
//   kMaxQuestions         8     questions kept per message (the rest are skipped)
//   kMaxRecordsPerMessage 64    resource records kept per message (the rest are counted)
//   kMaxRdataText         512   characters of rendered rdata kept per record
//   kMaxHexBytes          32    bytes shown in the generic `\# len hex` rendering
//   (pointers)                  a pointer into the 12-byte header or past the end is refused

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/types.h"

namespace botscope::analysis::dns {

inline constexpr std::size_t kMaxNameLength = 1025;
inline constexpr std::size_t kMaxLabels = 255;
inline constexpr std::size_t kMaxPointerHops = 16;
inline constexpr std::size_t kMaxQuestions = 8;
inline constexpr std::size_t kMaxRecordsPerMessage = 64;
inline constexpr std::size_t kMaxRdataText = 512;
inline constexpr std::size_t kMaxHexBytes = 32;
/// Characters of an offending name kept for a weird's detail.
inline constexpr std::size_t kMaxIssueNameLength = 128;

/// Size of the fixed DNS header.
inline constexpr std::size_t kHeaderSize = 12;

/// Well-known record types the analyzer refers to by name.
enum RrType : std::uint16_t {
    kTypeA = 1,
    kTypeNs = 2,
    kTypeCname = 5,
    kTypeSoa = 6,
    kTypePtr = 12,
    kTypeHinfo = 13,
    kTypeMx = 15,
    kTypeTxt = 16,
    kTypeAaaa = 28,
    kTypeLoc = 29,
    kTypeSrv = 33,
    kTypeNaptr = 35,
    kTypeOpt = 41,
    kTypeAny = 255,
};

/// Response codes the analyzer refers to by name.
enum Rcode : std::uint8_t { kRcodeNoError = 0, kRcodeServFail = 2, kRcodeNxDomain = 3 };

/// Problems found while reading one name; several may be set at once.
enum NameIssue : std::uint8_t {
    kNameTooLong = 1 << 0,      ///< more than kMaxNameLength characters; text cut
    kTooManyLabels = 1 << 1,    ///< more than kMaxLabels labels; text cut
    kPointerLoop = 1 << 2,      ///< a pointer pointed forward or into the name itself
    kTooManyPointers = 1 << 3,  ///< more than kMaxPointerHops pointers
    kBadLabelType = 1 << 4,     ///< label type 0x40 or 0x80 (obsolete/reserved)
    kBadPointer = 1 << 5,       ///< a pointer into the header or past the end, or a label there
};

/// The result of reading one (possibly compressed) name.
struct ParsedName {
    /// Presentation form: labels joined by '.', '.' and '\' inside labels escaped with '\',
    /// other bytes outside printable ASCII as `\DDD`; the root is ".". Cut when a limit is hit.
    std::string text;
    /// Offset just after the name's in-place bytes (after the first pointer, if any): where
    /// the next field starts. Meaningful only when `found_end`.
    std::size_t end = 0;
    /// Labels in the name as read (at most kMaxLabels + 1).
    std::size_t labels = 0;
    /// NameIssue bits.
    std::uint8_t issues = 0;
    /// False when the name's in-place bytes ran past the end of the data, so the fields after
    /// it cannot be located.
    bool found_end = false;
    /// True when the text is complete (no issue, end found).
    bool complete() const { return found_end && issues == 0; }
};

/// Reads the name starting at `offset` in `msg` (the whole message, since pointers are
/// offsets from its first byte).
ParsedName read_name(std::span<const std::uint8_t> msg, std::size_t offset);

struct DnsHeader {
    std::uint16_t id = 0;
    bool qr = false;  ///< true for a response
    std::uint8_t opcode = 0;
    bool aa = false;
    bool tc = false;
    bool rd = false;
    bool ra = false;
    bool z = false;
    bool ad = false;
    bool cd = false;
    std::uint8_t rcode = 0;
    std::uint16_t qdcount = 0;
    std::uint16_t ancount = 0;
    std::uint16_t nscount = 0;
    std::uint16_t arcount = 0;
};

/// Reads the fixed header; nullopt when fewer than kHeaderSize bytes.
std::optional<DnsHeader> parse_header(std::span<const std::uint8_t> msg);

struct DnsQuestion {
    std::string name;
    std::uint8_t name_issues = 0;
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
};

enum class Section : std::uint8_t { kAnswer, kAuthority, kAdditional };

const char* section_name(Section s);

struct DnsRecord {
    Section section = Section::kAnswer;
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t rclass = 0;  ///< for OPT: the requester's UDP payload size
    std::uint32_t ttl = 0;     ///< for OPT: extended rcode, version and flags
    std::uint16_t rdlength = 0;
    /// Rendered rdata: address, name, `pref exchange`, quoted TXT strings, SOA/SRV/NAPTR
    /// fields, or `\# len hex` (RFC 3597) for other types and for rdata that does not fit its
    /// type. At most kMaxRdataText characters.
    std::string rdata;
    /// The address of an A or AAAA record with well-formed rdata.
    std::optional<IpAddress> address;
    /// NameIssue bits of the owner name and of names inside the rdata.
    std::uint8_t name_issues = 0;
    /// The rdata did not match its type's layout (wrong length, name overrunning rdlength).
    bool bad_rdata = false;
};

enum class ParseStatus : std::uint8_t {
    kOk,         ///< every section the header announced was read (maybe with limits hit)
    kTruncated,  ///< the bytes ended before the announced sections did; what was read is kept
    kMalformed,  ///< unreadable structure (short header, bad label type, wild pointer)
};

struct DnsMessage {
    ParseStatus status = ParseStatus::kOk;
    bool header_ok = false;  ///< false only when the message is shorter than the header
    DnsHeader header;
    std::vector<DnsQuestion> questions;  ///< at most kMaxQuestions
    std::vector<DnsRecord> records;      ///< answer, authority, additional in wire order
    std::uint32_t questions_dropped = 0;
    std::uint32_t records_dropped = 0;  ///< announced records beyond kMaxRecordsPerMessage
    std::uint8_t name_issues = 0;       ///< union of every name's issues
    std::uint32_t bad_rdata = 0;        ///< records whose rdata did not fit their type
    /// What stopped the parse or the first bad rdata, for a weird's detail; empty when clean.
    std::string problem;
    /// The first name that had an issue (at most kMaxIssueNameLength characters).
    std::string issue_name;
};

/// Parses a whole DNS message (a UDP payload or one TCP frame without its length prefix).
DnsMessage parse_message(std::span<const std::uint8_t> msg);

/// Renders one record's rdata (the bytes [rdata_offset, rdata_offset + rdlength) of `msg`)
/// into `rec.rdata`, `rec.address`, `rec.bad_rdata` and `rec.name_issues`, using
/// `rec.type`, `rec.rclass` and `rec.ttl`.
void render_rdata(std::span<const std::uint8_t> msg, std::size_t rdata_offset, DnsRecord& rec);

/// "A", "AAAA", "MX"...; unknown types as "TYPE<n>" (RFC 3597).
std::string type_name(std::uint16_t type);
/// "IN", "CH", "HS", "NONE", "ANY"; unknown as "CLASS<n>".
std::string class_name(std::uint16_t cls);
/// "NOERROR", "NXDOMAIN"...; unknown as "RCODE<n>".
std::string rcode_name(std::uint8_t rcode);
/// "QUERY", "IQUERY", "STATUS", "NOTIFY", "UPDATE", "DSO"; unknown as "OPCODE<n>".
std::string opcode_name(std::uint8_t opcode);
/// True when `type` has a mnemonic in the table (used to judge plausibility).
bool known_type(std::uint16_t type);

/// How a probe judges some first bytes.
enum class Plausibility : std::uint8_t { kNo, kNeedMore, kYes };

/// Whether `data` (the start of a message, possibly cut short by the caller's view) looks like
/// a DNS message: sane header (qdcount 1..4, known opcode, counts that fit a 16-bit message,
/// no answers in a plain query), and a well-formed first question of a known type and class.
/// `whole` says that `data` is the complete message (a UDP payload); otherwise a prefix that
/// ends inside the question answers kNeedMore.
Plausibility check_plausible(std::span<const std::uint8_t> data, bool whole);

/// Outcome of cutting one length-prefixed message (DNS over TCP, RFC 1035 4.2.2) from a buffer.
struct TcpFrame {
    enum class Status : std::uint8_t { kOk, kIncomplete, kError } status = Status::kIncomplete;
    std::span<const std::uint8_t> message;  ///< when kOk
    std::size_t consumed = 0;               ///< when kOk or kError: bytes to drop
    std::size_t need = 0;                   ///< when kIncomplete: total bytes the frame needs
};

/// Cuts the first frame from `buf`. A zero length is kError (consumes the 2 length bytes).
TcpFrame frame_tcp(std::span<const std::uint8_t> buf);

}  // namespace botscope::analysis::dns
