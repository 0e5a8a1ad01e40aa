#pragma once
// Choosing reports: the filters of `report list` and the searches of `report search`, over
// the Facts of each report (facts.h).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "review/facts.h"

namespace botscope::review {

/// `*` (any run) and `?` (one byte), ASCII case-insensitive, over the whole of `text`.
bool glob_match(std::string_view pattern, std::string_view text);

struct ListFilter {
    std::string family;            ///< glob over verdict.family.name; "" = any
    std::optional<double> since;   ///< reports finished at or after (epoch seconds)
    std::string level;             ///< clean, suspicious or malicious; "" = any
    std::optional<int> min_score;  ///< verdict.score at least this
};

/// `text` as --verdict takes it: a level name, or a score 0..10 meaning "at least"; false when
/// it is neither.
bool parse_verdict_filter(std::string_view text, ListFilter& out);

bool matches(const Facts& f, const ListFilter& filter);

enum class SearchField { kCnc, kDomain, kChannel, kNick, kSha256, kUrl, kYara };

struct SearchQuery {
    SearchField field = SearchField::kCnc;
    std::string value;
};

/// The search options and their fields: "--cnc" -> kCnc...; nullopt for another option.
std::optional<SearchField> search_field(std::string_view option);

/// What in `f` matches `q`, one line each ("cnc 10.66.0.1:6667 (irc.example.net)"); empty
/// when nothing does.
///   cnc      HOST: an address, address:port, or a C&C's DNS name (glob)
///   domain   a name the sample looked up (glob)
///   channel  an IRC channel (glob)
///   nick     a nick the sample used (glob), or the text of its nick pattern
///   sha256   the sample's, a download's or a dropped file's hash (exact)
///   url      a URL fetched, containing the text (case-insensitive)
///   yara     a YARA rule name that matched (glob)
std::vector<std::string> search(const Facts& f, const SearchQuery& q);

}  // namespace botscope::review
