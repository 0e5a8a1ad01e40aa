#pragma once
// Small text helpers shared by the line-based protocol parsers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace botscope::util {

/// ASCII-only case-insensitive comparison (protocol keywords are ASCII).
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);

/// Strips spaces and tabs (and CR/LF) from both ends.
std::string_view trim(std::string_view s);

/// Splits on `sep`, dropping empty fields when `skip_empty`.
std::vector<std::string_view> split(std::string_view s, char sep, bool skip_empty = true);

/// Parses a whole decimal field with std::from_chars; nullopt unless all of `s` is a number
/// that fits.
std::optional<std::uint64_t> parse_u64(std::string_view s);

/// Copies at most `max` bytes of `s`; `truncated` is set when bytes were cut.
std::string bounded_copy(std::string_view s, std::size_t max, bool* truncated = nullptr);

/// The current time in UTC as ISO 8601 to the second ("2026-11-26T12:00:00Z").
std::string utc_now_iso8601();

}  // namespace botscope::util
