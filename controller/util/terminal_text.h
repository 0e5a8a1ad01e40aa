#pragma once
// Text from a guest or a capture, made fit for the operator's terminal.

#include <string>
#include <string_view>

namespace botscope::util {

/// `s` made safe to print on a terminal: C0 controls, DEL, C1 controls (U+0080..U+009F), the
/// bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069) and every byte that is
/// not part of valid UTF-8 become `\xNN` escapes of their bytes, so that text from a guest or a
/// capture cannot move the cursor, rewrite the screen or the window title, or reorder what the
/// operator reads. Other text, backslashes included, is kept as it is. Output stops once it has
/// reached `max_bytes`, marked by "...".
std::string terminal_safe(std::string_view s, std::size_t max_bytes = std::string::npos);

/// terminal_safe() for a message of several lines composed by botscope itself: each line is
/// escaped, the line breaks between them are kept.
std::string terminal_safe_lines(std::string_view s);

}  // namespace botscope::util
