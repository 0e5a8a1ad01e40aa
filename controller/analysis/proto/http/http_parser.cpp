#include "analysis/proto/http/http_parser.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::analysis::http {

namespace {

constexpr std::array<std::string_view, 17> kKnownMethods = {
    "GET",      "POST",      "HEAD",  "PUT",  "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",   "LOCK",    "UNLOCK",  "SEARCH"};

constexpr std::string_view kVersionPrefix = "HTTP/1.";

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 7230 tchar.
bool is_tchar(char c) {
    if (c >= '0' && c <= '9')
        return true;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
    return kSpecials.find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// Control characters (tab included) never appear in a request target.
bool is_ctl(char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

// "HTTP/" DIGIT "." DIGIT; returns the "d.d" part.
std::optional<std::string_view> parse_version(std::string_view s) {
    if (s.size() != 8 || s.substr(0, 5) != "HTTP/")
        return std::nullopt;
    if (!is_digit(s[5]) || s[6] != '.' || !is_digit(s[7]))
        return std::nullopt;
    return s.substr(5);
}

}  // namespace

LineScan scan_line(std::span<const std::uint8_t> data) {
    auto lf = std::find(data.begin(), data.end(), std::uint8_t{'\n'});
    if (lf == data.end())
        return {};
    LineScan out;
    out.status = ParseStatus::kOk;
    out.consumed = static_cast<std::size_t>(lf - data.begin()) + 1;
    out.length = out.consumed - 1;
    if (out.length > 0 && data[out.length - 1] == '\r')
        --out.length;
    return out;
}

RequestLine parse_request_line(std::string_view line, bool line_cut) {
    RequestLine out;
    auto sp = line.find(' ');
    if (sp == std::string_view::npos || sp > kMaxMethodLength)
        return out;
    auto method = line.substr(0, sp);
    if (!is_token(method))
        return out;
    auto rest = line.substr(sp + 1);

    std::string_view target = rest;
    std::string_view version;
    auto last_sp = rest.rfind(' ');
    std::optional<std::string_view> parsed_version;
    if (last_sp != std::string_view::npos)
        parsed_version = parse_version(rest.substr(last_sp + 1));
    if (parsed_version) {
        target = rest.substr(0, last_sp);
        version = *parsed_version;
    } else if (line_cut) {
        // The version was beyond the cut; what we hold is the start of the target.
        out.target_cut = true;
    } else {
        // No version: HTTP/0.9 or not HTTP at all; neither is worth parsing here.
        return out;
    }
    if (target.empty() || target.front() == ' ')
        return out;
    if (std::any_of(target.begin(), target.end(), is_ctl))
        return out;

    out.status = ParseStatus::kOk;
    out.method = method;
    out.target = target;
    out.version = version;
    return out;
}

StatusLine parse_status_line(std::string_view line) {
    StatusLine out;
    if (line.size() < 12)
        return out;
    auto version = parse_version(line.substr(0, 8));
    if (!version || line[8] != ' ')
        return out;
    auto code_text = line.substr(9, 3);
    if (!std::all_of(code_text.begin(), code_text.end(), is_digit) || code_text[0] == '0')
        return out;
    if (line.size() > 12 && line[12] != ' ')
        return out;
    auto code = util::parse_u64(code_text);
    if (!code)
        return out;
    out.status = ParseStatus::kOk;
    out.version = *version;
    out.code = static_cast<std::uint16_t>(*code);
    out.reason = line.size() > 13 ? trim_ows(line.substr(13)) : std::string_view{};
    return out;
}

HeaderField parse_header_line(std::string_view line) {
    HeaderField out;
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
        return out;
    auto name = line.substr(0, colon);
    // Whitespace before the colon is tolerated (old servers sent it) but never inside the name.
    while (!name.empty() && is_ows(name.back()))
        name.remove_suffix(1);
    if (!is_token(name))
        return out;
    out.status = ParseStatus::kOk;
    out.name = name;
    out.value = trim_ows(line.substr(colon + 1));
    return out;
}

bool is_continuation_line(std::string_view line) {
    return !line.empty() && is_ows(line.front());
}

const char* chunk_size_error_name(ChunkSizeError e) {
    switch (e) {
        case ChunkSizeError::kNone:
            return "none";
        case ChunkSizeError::kEmpty:
            return "empty";
        case ChunkSizeError::kNotHex:
            return "not_hex";
        case ChunkSizeError::kNegative:
            return "negative";
        case ChunkSizeError::kOverflow:
            return "overflow";
        case ChunkSizeError::kTooLarge:
            return "too_large";
    }
    return "unknown";
}

ChunkSize parse_chunk_size_line(std::string_view line) {
    ChunkSize out;
    auto fail = [&out](ChunkSizeError e) {
        out.status = ParseStatus::kError;
        out.error = e;
        return out;
    };
    auto size_text = line;
    auto semi = line.find(';');
    if (semi != std::string_view::npos) {
        out.has_extension = true;
        size_text = line.substr(0, semi);
    }
    size_text = trim_ows(size_text);
    if (size_text.empty())
        return fail(ChunkSizeError::kEmpty);
    if (size_text.front() == '-')
        return fail(ChunkSizeError::kNegative);
    if (!std::all_of(size_text.begin(), size_text.end(), is_hex))
        return fail(ChunkSizeError::kNotHex);
    // Leading zeros are legal and must not count towards the 16-digit limit of a u64.
    auto first = size_text.find_first_not_of('0');
    if (first == std::string_view::npos) {
        out.status = ParseStatus::kOk;
        out.size = 0;
        return out;
    }
    size_text = size_text.substr(first);
    std::uint64_t value = 0;
    auto [ptr, ec] =
        std::from_chars(size_text.data(), size_text.data() + size_text.size(), value, 16);
    if (ec == std::errc::result_out_of_range)
        return fail(ChunkSizeError::kOverflow);
    if (ec != std::errc{} || ptr != size_text.data() + size_text.size())
        return fail(ChunkSizeError::kNotHex);
    out.size = value;
    if (value > kMaxChunkSize)
        return fail(ChunkSizeError::kTooLarge);
    out.status = ParseStatus::kOk;
    return out;
}

std::optional<std::uint64_t> parse_content_length(std::string_view value) {
    return util::parse_u64(trim_ows(value));
}

bool is_chunked_coding(std::string_view transfer_encoding) {
    auto codings = util::split(transfer_encoding, ',');
    // A trailing empty element ("chunked,") does not change the last real coding.
    for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
        auto coding = trim_ows(*it);
        if (coding.empty())
            continue;
        auto semi = coding.find(';');
        if (semi != std::string_view::npos)
            coding = trim_ows(coding.substr(0, semi));
        return util::iequals(coding, "chunked");
    }
    return false;
}

bool list_has_token(std::string_view list, std::string_view token) {
    for (auto item : util::split(list, ','))
        if (util::iequals(trim_ows(item), token))
            return true;
    return false;
}

bool is_known_method(std::string_view method) {
    return std::find(kKnownMethods.begin(), kKnownMethods.end(), method) != kKnownMethods.end();
}

const char* executable_kind_name(ExecutableKind k) {
    switch (k) {
        case ExecutableKind::kNone:
            return "";
        case ExecutableKind::kMz:
            return "mz";
        case ExecutableKind::kPe:
            return "pe";
        case ExecutableKind::kElf:
            return "elf";
    }
    return "";
}

ExecutableKind classify_executable(std::span<const std::uint8_t> prefix) {
    util::ByteReader r(prefix);
    auto magic = r.bytes(4);
    if (r.ok() && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F')
        return ExecutableKind::kElf;
    r = util::ByteReader(prefix);
    if (r.u8() != 'M' || r.u8() != 'Z' || !r.ok())
        return ExecutableKind::kNone;
    if (!r.seek(0x3c))
        return ExecutableKind::kMz;
    std::uint32_t e_lfanew = r.u32le();
    if (!r.ok() || !r.seek(e_lfanew))
        return ExecutableKind::kMz;
    auto sig = r.bytes(4);
    if (!r.ok())
        return ExecutableKind::kMz;
    if (sig[0] == 'P' && sig[1] == 'E' && sig[2] == 0 && sig[3] == 0)
        return ExecutableKind::kPe;
    return ExecutableKind::kMz;
}

ProbeResult probe_request(std::span<const std::uint8_t> first_bytes) {
    auto s = util::as_chars(first_bytes);
    if (s.empty())
        return ProbeResult::kNeedMore;

    auto sp = s.find(' ');
    if (sp == std::string_view::npos) {
        // Still inside the method: it must be the beginning of a known one.
        for (auto m : kKnownMethods)
            if (s.size() <= m.size() && m.substr(0, s.size()) == s)
                return ProbeResult::kNeedMore;
        return ProbeResult::kNoMatch;
    }
    if (!is_known_method(s.substr(0, sp)))
        return ProbeResult::kNoMatch;

    auto rest = s.substr(sp + 1);
    std::size_t target_len = 0;
    while (target_len < rest.size() && rest[target_len] != ' ') {
        if (is_ctl(rest[target_len]))
            return ProbeResult::kNoMatch;
        ++target_len;
    }
    if (target_len == rest.size()) {
        // No end of target yet; a long run of target bytes is enough (exploit URIs are
        // tens of kilobytes and would never reach the version inside a probe buffer).
        return target_len >= kProbeLongTarget ? ProbeResult::kMatch : ProbeResult::kNeedMore;
    }
    if (target_len == 0)
        return ProbeResult::kNoMatch;

    auto version = rest.substr(target_len + 1);
    auto n = std::min(version.size(), kVersionPrefix.size());
    if (version.substr(0, n) != kVersionPrefix.substr(0, n))
        return ProbeResult::kNoMatch;
    return n < kVersionPrefix.size() ? ProbeResult::kNeedMore : ProbeResult::kMatch;
}

ProbeResult probe_response(std::span<const std::uint8_t> first_bytes) {
    auto s = util::as_chars(first_bytes);
    if (s.empty())
        return ProbeResult::kNeedMore;
    auto n = std::min(s.size(), kVersionPrefix.size());
    if (s.substr(0, n) != kVersionPrefix.substr(0, n))
        return ProbeResult::kNoMatch;
    return n < kVersionPrefix.size() ? ProbeResult::kNeedMore : ProbeResult::kMatch;
}

}  // namespace botscope::analysis::http
