#include "analysis/proto/tftp/tftp_parser.h"

#include <algorithm>
#include <array>

#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::analysis::tftp {

namespace {

// Reads up to the next NUL and skips the NUL; false (nothing consumed) when there is none.
bool read_cstring(util::ByteReader& r, std::string_view& out) {
    auto rest = r.rest();
    auto nul = std::find(rest.begin(), rest.end(), std::uint8_t{0});
    if (nul == rest.end())
        return false;
    out = util::as_chars(r.bytes(static_cast<std::size_t>(nul - rest.begin())));
    r.skip(1);
    return true;
}

bool all_zero(std::span<const std::uint8_t> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

bool starts_with(std::span<const std::uint8_t> head, std::span<const std::uint8_t> magic) {
    return head.size() >= magic.size() && std::equal(magic.begin(), magic.end(), head.begin());
}

}  // namespace

bool is_known_opcode(std::uint16_t opcode) {
    return opcode >= 1 && opcode <= 6;
}

bool is_valid_mode(std::string_view mode) {
    return util::iequals(mode, "netascii") || util::iequals(mode, "octet") ||
           util::iequals(mode, "mail");
}

const Option* find_option(std::span<const Option> options, std::string_view name) {
    for (const auto& o : options)
        if (util::iequals(o.name, name))
            return &o;
    return nullptr;
}

const char* packet_error_name(PacketError e) {
    switch (e) {
        case PacketError::kNone:
            return "none";
        case PacketError::kTooShort:
            return "too_short";
        case PacketError::kUnknownOpcode:
            return "unknown_opcode";
        case PacketError::kUnterminatedFilename:
            return "unterminated_filename";
        case PacketError::kUnterminatedMode:
            return "unterminated_mode";
        case PacketError::kBadMode:
            return "bad_mode";
    }
    return "unknown";
}

OptionList parse_options(std::span<const std::uint8_t> bytes) {
    OptionList out;
    util::ByteReader r(bytes);
    while (r.remaining() > 0) {
        std::string_view name;
        if (!read_cstring(r, name)) {
            out.malformed = true;
            break;
        }
        if (name.empty()) {
            // Some clients pad requests with NULs; anything else after an empty name is junk.
            if (!all_zero(r.rest()))
                out.malformed = true;
            break;
        }
        std::string_view value;
        if (!read_cstring(r, value)) {
            out.malformed = true;
            break;
        }
        if (out.items.size() >= kMaxOptions) {
            out.truncated = true;
            continue;  // keep scanning so a malformed tail is still noticed
        }
        bool cut = false;
        Option o;
        o.name = util::bounded_copy(name, kMaxOptionNameLength, &cut);
        o.value = util::bounded_copy(value, kMaxOptionValueLength, &cut);
        if (cut)
            out.truncated = true;
        out.items.push_back(std::move(o));
    }
    return out;
}

Packet parse_packet(std::span<const std::uint8_t> payload) {
    Packet p;
    util::ByteReader r(payload);
    if (r.remaining() < 2) {
        p.error = PacketError::kTooShort;
        return p;
    }
    p.opcode = r.u16be();
    if (!is_known_opcode(p.opcode)) {
        p.error = PacketError::kUnknownOpcode;
        return p;
    }
    switch (static_cast<Opcode>(p.opcode)) {
        case Opcode::kRrq:
        case Opcode::kWrq: {
            std::string_view filename;
            if (!read_cstring(r, filename)) {
                p.filename = util::bounded_copy(util::as_chars(r.rest()), kMaxFilenameLength,
                                                &p.filename_truncated);
                p.error = PacketError::kUnterminatedFilename;
                return p;
            }
            p.filename = util::bounded_copy(filename, kMaxFilenameLength, &p.filename_truncated);
            std::string_view mode;
            if (!read_cstring(r, mode)) {
                p.mode =
                    util::bounded_copy(util::as_chars(r.rest()), kMaxModeLength, &p.mode_truncated);
                p.error = PacketError::kUnterminatedMode;
                return p;
            }
            p.mode = util::bounded_copy(mode, kMaxModeLength, &p.mode_truncated);
            if (!is_valid_mode(mode)) {
                p.error = PacketError::kBadMode;
                return p;
            }
            p.options = parse_options(r.rest());
            return p;
        }
        case Opcode::kData:
            if (r.remaining() < 2) {
                p.error = PacketError::kTooShort;
                return p;
            }
            p.block = r.u16be();
            p.data = r.rest();
            return p;
        case Opcode::kAck:
            // Bytes after the block number are ignored: some stacks pad short datagrams.
            if (r.remaining() < 2) {
                p.error = PacketError::kTooShort;
                return p;
            }
            p.block = r.u16be();
            return p;
        case Opcode::kError: {
            if (r.remaining() < 2) {
                p.error = PacketError::kTooShort;
                return p;
            }
            p.error_code = r.u16be();
            std::string_view message;
            if (!read_cstring(r, message)) {
                message = util::as_chars(r.rest());
                p.error_message_unterminated = true;
            }
            p.error_message =
                util::bounded_copy(message, kMaxErrorMessageLength, &p.error_message_truncated);
            return p;
        }
        case Opcode::kOack:
            p.options = parse_options(r.rest());
            return p;
    }
    p.error = PacketError::kUnknownOpcode;
    return p;
}

std::string sniff_file_kind(std::span<const std::uint8_t> head, bool head_is_whole_file) {
    static constexpr std::array<std::uint8_t, 2> kMz{'M', 'Z'};
    static constexpr std::array<std::uint8_t, 4> kPe{'P', 'E', 0, 0};
    static constexpr std::array<std::uint8_t, 4> kElf{0x7f, 'E', 'L', 'F'};
    static constexpr std::array<std::uint8_t, 2> kGzip{0x1f, 0x8b};
    static constexpr std::array<std::uint8_t, 4> kZip{'P', 'K', 3, 4};
    static constexpr std::array<std::uint8_t, 4> kCab{'M', 'S', 'C', 'F'};
    static constexpr std::array<std::uint8_t, 4> kRar{'R', 'a', 'r', '!'};
    static constexpr std::array<std::uint8_t, 6> k7z{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c};
    // The DOS header's e_lfanew field: where the PE header starts.
    static constexpr std::size_t kLfanewOffset = 0x3c;

    if (starts_with(head, kMz)) {
        util::ByteReader r(head);
        if (!r.seek(kLfanewOffset))
            return "mz";
        std::uint32_t lfanew = r.u32le();
        if (!r.ok())
            return "mz";
        if (lfanew > head.size() || head.size() - lfanew < kPe.size()) {
            // A PE header beyond what was kept cannot be checked; MZ with a far e_lfanew is how
            // Windows executables with a long DOS stub start, so it is reported as one.
            return head_is_whole_file ? "mz" : "pe";
        }
        if (!r.seek(lfanew))
            return "mz";
        return starts_with(r.rest(), kPe) ? "pe" : "mz";
    }
    if (starts_with(head, kElf))
        return "elf";
    if (starts_with(head, kGzip))
        return "gzip";
    if (starts_with(head, kZip))
        return "zip";
    if (starts_with(head, kCab))
        return "cab";
    if (starts_with(head, kRar))
        return "rar";
    if (starts_with(head, k7z))
        return "7z";
    return "";
}

}  // namespace botscope::analysis::tftp
