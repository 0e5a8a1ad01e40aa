#pragma once
// Reading a report's JSON without trusting its shape: a missing key or a value of another
// type reads as null, an empty list or a default, never as an exception (a report may come
// from an older botscope, or be a file someone edited).

#include <cstdint>
#include <string>
#include <string_view>

#include "report/json_common.h"

namespace botscope::report::assess_detail {

/// `j[key]` when `j` is an object holding it, else null.
const Json& get(const Json& j, std::string_view key);

/// `get(get(j, a), b)`.
const Json& get(const Json& j, std::string_view a, std::string_view b);

/// The array at `j`, or an empty one.
const Json& list(const Json& j);

std::string text(const Json& j, std::string_view fallback = "");
std::uint64_t count(const Json& j);
double number(const Json& j);

/// "10.66.0.1:6667" from {"ip", "port"}.
std::string endpoint_text(const Json& ep);

/// Ports IRC servers listen on by convention (RFC 7194, and 7000 as networks of the era used
/// it): a C&C elsewhere is one an ISP would not find by watching the IRC ports.
bool standard_irc_port(std::uint64_t port);

/// Appends `value` to the array `out` unless it holds it already or is full (kMaxTraitItems).
void add_unique(Json& out, Json value);

}  // namespace botscope::report::assess_detail
