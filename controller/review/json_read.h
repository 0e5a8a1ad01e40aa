#pragma once
// Reading a report that came from a file: every member may be missing or of another type.
// nlohmann's const operator[] on a missing key is undefined behaviour and get<T>() on the wrong
// type throws, so every read goes through these.

#include <cstdint>
#include <string>
#include <string_view>

#include "report/json_common.h"

namespace botscope::review::json {

using report::Json;

/// j[key], or null when j is not an object or lacks the key.
inline const Json& at(const Json& j, std::string_view key) {
    static const Json kNull;
    if (!j.is_object())
        return kNull;
    auto it = j.find(key);
    return it == j.end() ? kNull : *it;
}

/// j[key] when it is an array, else an empty array.
inline const Json& list(const Json& j, std::string_view key) {
    static const Json kEmpty = Json::array();
    const Json& v = at(j, key);
    return v.is_array() ? v : kEmpty;
}

/// At most `max` bytes of `s`, never ending inside a UTF-8 sequence (which JSON writers refuse).
inline std::string cut(std::string_view s, std::size_t max) {
    if (s.size() <= max)
        return std::string(s);
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
        --n;
    return std::string(s.substr(0, n));
}

/// A string value itself (cut to `max`), "" for anything else.
inline std::string text(const Json& v, std::size_t max = 512) {
    return v.is_string() ? cut(v.get_ref<const std::string&>(), max) : std::string();
}

/// j[key] when it is a string (cut to `max` bytes), else "".
inline std::string str(const Json& j, std::string_view key, std::size_t max = 512) {
    return text(at(j, key), max);
}

/// Compact JSON; bytes that are not UTF-8 (never in a report botscope wrote) become U+FFFD
/// instead of an exception.
inline std::string dump(const Json& j, int indent = -1) {
    return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

/// j[key] as a finite number, else `fallback`.
inline double real(const Json& j, std::string_view key, double fallback = 0) {
    const Json& v = at(j, key);
    if (!v.is_number())
        return fallback;
    double d = v.get<double>();
    return d == d && d < 1e300 && d > -1e300 ? d : fallback;
}

/// j[key] as an integer in [lo, hi], else `fallback`.
inline std::int64_t integer(const Json& j, std::string_view key, std::int64_t lo, std::int64_t hi,
                            std::int64_t fallback) {
    const Json& v = at(j, key);
    if (v.is_number_unsigned()) {
        auto u = v.get<std::uint64_t>();
        return u <= static_cast<std::uint64_t>(hi) && static_cast<std::int64_t>(u) >= lo
                   ? static_cast<std::int64_t>(u)
                   : fallback;
    }
    if (v.is_number_integer()) {
        auto i = v.get<std::int64_t>();
        return i >= lo && i <= hi ? i : fallback;
    }
    return fallback;
}

}  // namespace botscope::review::json
