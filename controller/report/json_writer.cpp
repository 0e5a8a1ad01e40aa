#include "report/json_writer.h"

#include <charconv>
#include <cmath>

namespace botscope::report {

namespace {

/// The UTF-8 sequence at the start of `s` (RFC 3629: no overlongs, no surrogates, nothing
/// above U+10FFFF): its length when valid, else the length of its longest valid prefix (at
/// least 1), which is replaced by one U+FFFD as Unicode recommends and nlohmann does.
std::size_t utf8_sequence(std::string_view s, bool& valid) {
    auto b = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char c = b(0);
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    valid = false;
    if (c < 0x80) {
        valid = true;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 1;
    }
    for (std::size_t i = 1; i < n; ++i) {
        if (i >= s.size())
            return i;
        unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xbf;
        if (b(i) < min || b(i) > max)
            return i;
    }
    valid = true;
    return n;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            // The common case: a run of plain ASCII copied at once.
            std::size_t j = i + 1;
            while (j < s.size()) {
                auto d = static_cast<unsigned char>(s[j]);
                if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\')
                    break;
                ++j;
            }
            out.append(s.substr(i, j - i));
            i = j;
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; ++i; continue;
            case '\\': out += "\\\\"; ++i; continue;
            case '\n': out += "\\n"; ++i; continue;
            case '\r': out += "\\r"; ++i; continue;
            case '\t': out += "\\t"; ++i; continue;
            case '\b': out += "\\b"; ++i; continue;
            case '\f': out += "\\f"; ++i; continue;
            default: break;
        }
        if (c < 0x20) {
            out += "\\u00";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
            ++i;
            continue;
        }
        bool valid;
        std::size_t n = utf8_sequence(s.substr(i), valid);
        if (valid) {
            out.append(s.substr(i, n));
        } else {
            out += "\xef\xbf\xbd";
        }
        i += n;
    }
    out.push_back('"');
}

void JsonWriter::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    int d = depth_ < kMaxDepth ? depth_ : kMaxDepth - 1;
    if (more_[d])
        out_.push_back(',');
    more_[d] = true;
}

JsonWriter& JsonWriter::begin_object() {
    separate();
    out_.push_back('{');
    ++depth_;
    if (depth_ < kMaxDepth)
        more_[depth_] = false;
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    out_.push_back('}');
    --depth_;
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    separate();
    out_.push_back('[');
    ++depth_;
    if (depth_ < kMaxDepth)
        more_[depth_] = false;
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    out_.push_back(']');
    --depth_;
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
    separate();
    out_.push_back('"');
    out_.append(name);
    out_ += "\":";
    after_key_ = true;
    return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
}

JsonWriter& JsonWriter::number(std::uint64_t v) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

JsonWriter& JsonWriter::number(std::int64_t v) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

JsonWriter& JsonWriter::number(double v) {
    if (!std::isfinite(v))
        return null();
    separate();
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
    separate();
    out_ += v ? "true" : "false";
    return *this;
}

JsonWriter& JsonWriter::null() {
    separate();
    out_ += "null";
    return *this;
}

JsonWriter& JsonWriter::timestamp(analysis::Timestamp ts) {
    separate();
    // Integer arithmetic, rounded to the microsecond: the same bytes on every run.
    std::int64_t us = ts >= 0 ? (ts + 500) / 1000 : -((-ts + 500) / 1000);
    std::int64_t whole = us / 1'000'000;
    std::int64_t frac = us % 1'000'000;
    if (us < 0) {
        out_.push_back('-');
        whole = -whole;
        frac = -frac;
    }
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, whole);
    out_.append(buf, r.ptr);
    out_.push_back('.');
    char f[6];
    for (int i = 5; i >= 0; --i) {
        f[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
    }
    out_.append(f, 6);
    return *this;
}

JsonWriter& JsonWriter::endpoint(const analysis::Endpoint& ep) {
    begin_object();
    char text[analysis::IpAddress::kTextSize];
    key("ip").string(std::string_view(text, ep.addr.format(text)));
    key("port").number(static_cast<std::uint64_t>(ep.port));
    return end_object();
}

}  // namespace botscope::report
