#pragma once
// Times as reports and users write them: ISO 8601 / RFC 3339 text to epoch seconds and back.

#include <optional>
#include <string>
#include <string_view>

namespace botscope::review {

/// "2026-12-07", "2026-12-07T13:47", "2026-12-07T13:47:38Z", "2026-12-07T13:47:38.250+01:00"
/// (a space instead of the T too) as UTC epoch seconds; a date alone is its midnight UTC, a
/// time without a zone is UTC. nullopt for anything else, or an impossible date or time.
std::optional<double> parse_time(std::string_view text);

/// RFC 3339 in UTC with milliseconds, as STIX wants it: "2026-12-07T13:47:38.250Z". Times
/// before 1970 or after 9999 are clamped to those bounds.
std::string format_time_ms(double epoch);

/// The same to the second: "2026-12-07T13:47:38Z".
std::string format_time(double epoch);

}  // namespace botscope::review
