#pragma once
// What a finished report concludes: the behavioural signatures, the verdict (score, family,
// classification) and the traits an ISP can match in its own traffic (reports/README.md,
// "The verdict and the traits").
//
// Everything here reads the report's JSON, not the analysis's structures, so that a capture
// analysed elsewhere, a task's report and a report written by an older botscope are judged by
// the same rules. The report is ours but its strings come from the sample: every list this
// writes is capped (kMaxTraitItems) and every string is one the report already bounded.

#include <cstddef>
#include <string>
#include <vector>

#include "report/json_common.h"

namespace botscope::report {

/// Entries kept in each list of `traits` and of a signature's evidence.
inline constexpr std::size_t kMaxTraitItems = 50;

/// {"verdict": {...}, "traits": {...}} for `report` (either kind: pcap or task).
Json assess(const Json& report);

/// Appends `verdict` and `traits` to `report` (the caller adds them where the report's order
/// puts them: after `behavior`, or after `signatures` in a task's report).
void add_assessment(Json& report);

/// The named conclusions drawn from the behaviour, the guest and YARA: [{name, severity (1 to
/// 5), description, evidence: [text]}], most severe first.
Json behaviour_signatures(const Json& report);

/// What an ISP can match in its own traffic to find hosts infected by this sample: C&C
/// endpoints and names, IRC nicks (and their pattern), channels and keys, HTTP check-ins,
/// scanned ports, floods, spam, URLs and hashes.
Json traits(const Json& report);

/// A regular expression (ECMAScript, anchored) that every one of `nicks` matches, generalised
/// the way bot nicks vary: a run of three or more digits, or a position where the nicks
/// differ, becomes a character class with the lengths seen; the rest stays literal.
/// "[JPN|XP|SP2]-12345" gives ^\[JPN\|XP\|SP2\]-\d{5}$. Empty when `nicks` is, or when they
/// have more than four shapes (nothing an ISP could match without matching everyone).
std::string nick_pattern(const std::vector<std::string>& nicks);

}  // namespace botscope::report
