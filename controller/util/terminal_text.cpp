#include "util/terminal_text.h"

#include "util/text.h"

namespace botscope::util {

namespace {

// Length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0 when it is not one.
std::size_t utf8_length(std::string_view s) {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char c = b(0);
    std::size_t n = c < 0x80                 ? 1
                    : c >= 0xC2 && c <= 0xDF ? 2
                    : c >= 0xE0 && c <= 0xEF ? 3
                    : c >= 0xF0 && c <= 0xF4 ? 4
                                             : 0;
    if (n == 0 || s.size() < n)
        return 0;
    for (std::size_t i = 1; i < n; ++i)
        if ((b(i) & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F) || (c == 0xF0 && b(1) < 0x90) ||
        (c == 0xF4 && b(1) > 0x8F))
        return 0;
    return n;
}

// A valid sequence that a terminal would act on rather than show.
bool is_control(std::string_view seq) {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(seq[i]); };
    if (seq.size() == 1)
        return b(0) < 0x20 || b(0) == 0x7F;
    if (seq.size() == 2)
        return b(0) == 0xC2 && b(1) <= 0x9F;  // C1: U+0080..U+009F
    if (seq.size() == 3 && b(0) == 0xE2 && b(1) == 0x80)
        return b(2) >= 0xAA && b(2) <= 0xAE;  // U+202A..U+202E
    if (seq.size() == 3 && b(0) == 0xE2 && b(1) == 0x81)
        return b(2) >= 0xA6 && b(2) <= 0xA9;  // U+2066..U+2069
    return false;
}

}  // namespace

std::string terminal_safe(std::string_view s, std::size_t max_bytes) {
    std::string out;
    auto escape = [&](std::string_view bytes) {
        for (unsigned char c : bytes) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        }
    };
    while (!s.empty()) {
        if (out.size() >= max_bytes) {
            out += "...";
            break;
        }
        std::size_t n = utf8_length(s);
        if (n == 0)
            escape(s.substr(0, 1));  // resynchronise on the next byte
        else if (is_control(s.substr(0, n)))
            escape(s.substr(0, n));
        else
            out.append(s.substr(0, n));
        s.remove_prefix(n == 0 ? 1 : n);
    }
    return out;
}

std::string terminal_safe_lines(std::string_view s) {
    std::string out;
    bool first = true;
    for (auto line : split(s, '\n', /*skip_empty=*/false)) {
        if (!first)
            out += '\n';
        first = false;
        out += terminal_safe(line);
    }
    return out;
}

}  // namespace botscope::util
