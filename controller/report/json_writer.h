#pragma once
// A streaming JSON writer for records written by the million (the JSON-lines logs): appends
// to a string, no document tree, no allocation beyond the string's growth. nlohmann/json
// stays for the report's small objects and for parsing.
//
// Strings from the wire are written as nlohmann's dump with error_handler_t::replace does:
// every byte that is not part of valid UTF-8 becomes U+FFFD, so a line always parses.

#include <cstdint>
#include <string>
#include <string_view>

#include "analysis/types.h"

namespace botscope::report {

class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    /// An object member's name: a literal of ours (not escaped).
    JsonWriter& key(std::string_view name);

    JsonWriter& string(std::string_view s);
    JsonWriter& number(std::uint64_t v);
    JsonWriter& number(std::int64_t v);
    /// Shortest round-trip form; NaN and infinities (never meaningful here) are null.
    JsonWriter& number(double v);
    JsonWriter& boolean(bool v);
    JsonWriter& null();
    /// Capture time as epoch seconds with microseconds (as ts_json and Zeek write it).
    JsonWriter& timestamp(analysis::Timestamp ts);
    /// {"ip": "...", "port": N}
    JsonWriter& endpoint(const analysis::Endpoint& ep);

private:
    void separate();

    std::string& out_;
    // Whether the next value at each depth needs a comma before it (depth is small: records
    // are a few levels deep; deeper nesting just keeps the last slot).
    static constexpr int kMaxDepth = 32;
    bool more_[kMaxDepth] = {};
    int depth_ = 0;
    bool after_key_ = false;
};

/// Appends `s` as a JSON string literal, with invalid UTF-8 replaced by U+FFFD.
void append_json_string(std::string& out, std::string_view s);

}  // namespace botscope::report
