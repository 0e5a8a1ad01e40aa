// terminal_safe: what guest and capture text may put on the operator's terminal.

#include <doctest/doctest.h>

#include <string>

#include "util/terminal_text.h"

namespace test_terminal_text {

using botscope::util::terminal_safe;

namespace {

// No byte a terminal acts on: C0, DEL, and the lead byte 0xC2 of a C1 control or any raw
// 0x80..0x9F byte.
bool has_raw_control(const std::string& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F && (i == 0 || s[i - 1] == '\xc2')))
            return true;
    }
    return false;
}

}  // namespace

TEST_CASE("terminal_safe: C0, DEL and ESC sequences are escaped") {
    CHECK(terminal_safe("plain text, C:\\Windows\\x.exe") == "plain text, C:\\Windows\\x.exe");
    CHECK(terminal_safe("\x1b]0;owned\x07\x1b[2J") == "\\x1b]0;owned\\x07\\x1b[2J");
    CHECK(terminal_safe("a\r\nb\tc\x7f") == "a\\x0d\\x0ab\\x09c\\x7f");
    CHECK(terminal_safe(std::string("nul\0x", 5)) == "nul\\x00x");
}

TEST_CASE("terminal_safe: C1 controls, encoded or raw, and invalid UTF-8 are escaped") {
    CHECK(terminal_safe("\xc2\x9b"
                        "31m") == "\\xc2\\x9b31m");  // CSI as U+009B
    CHECK(terminal_safe("\x9d"
                        "0;t\x9c") == "\\x9d0;t\\x9c");  // 8-bit OSC ... ST
    CHECK(terminal_safe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d") ==
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d");  // valid UTF-8 is kept
    CHECK(terminal_safe("\xc2\xa0") == "\xc2\xa0");      // U+00A0 is printable
    CHECK(terminal_safe("\xc0\x9b") == "\\xc0\\x9b");    // overlong ESC
    CHECK(terminal_safe("\xe0\x80\x9b") == "\\xe0\\x80\\x9b");
    CHECK(terminal_safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // surrogate
    CHECK(terminal_safe("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
    CHECK(terminal_safe("\xe2\x82") == "\\xe2\\x82");                    // cut short
    CHECK(terminal_safe("\xff\xfe") == "\\xff\\xfe");
    // Bidirectional overrides would reorder what follows them on screen.
    CHECK(terminal_safe("evil\xe2\x80\xaegnp.exe") == "evil\\xe2\\x80\\xaegnp.exe");
    CHECK(terminal_safe("\xe2\x81\xa6x\xe2\x81\xa9") == "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");
}

TEST_CASE("terminal_safe: every byte string comes out without a raw control") {
    std::string all;
    for (int i = 0; i < 256; ++i)
        all.push_back(static_cast<char>(i));
    for (int a = 0x80; a < 0x100; ++a)
        for (int b = 0x80; b < 0xA0; ++b) {
            all.push_back(static_cast<char>(a));
            all.push_back(static_cast<char>(b));
        }
    std::string out = terminal_safe(all);
    CHECK_FALSE(has_raw_control(out));
    CHECK(out.find('\x1b') == std::string::npos);
}

TEST_CASE("terminal_safe: output is cut at the limit and says so") {
    CHECK(terminal_safe(std::string(200, 'a'), 10) == std::string(10, 'a') + "...");
    CHECK(terminal_safe(std::string(10, 'a'), 10) == std::string(10, 'a'));
    CHECK(terminal_safe(std::string(20, '\x1b'), 8) == "\\x1b\\x1b...");
}

TEST_CASE("terminal_safe_lines: line breaks stay, everything else is escaped per line") {
    using botscope::util::terminal_safe_lines;
    CHECK(terminal_safe_lines("no machine:\n  vm1: \x1b[31mbusy\r") ==
          "no machine:\n  vm1: \\x1b[31mbusy\\x0d");
    CHECK(terminal_safe_lines("a\n\nb\n") == "a\n\nb\n");
    CHECK(terminal_safe_lines("") == "");
    CHECK(terminal_safe_lines("\xc2\x9b") == "\\xc2\\x9b");
}

}  // namespace test_terminal_text
