#pragma once
// Numeric replies of the line protocols that answer "ddd text" (SMTP, FTP): one parser of a
// reply line and one assembler of multi-line replies, shared by both analyzers, with the
// session's list of latest replies.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace botscope::analysis::reply {

struct ReplyLine {
    bool ok = false;
    std::uint16_t code = 0;
    bool more = false;  ///< "ddd-": more lines follow
    std::string_view text;
};

/// Parses a reply's first or last line: three digits, the first from `lowest_class` ('2' for
/// SMTP; '1' for FTP's preliminary replies) to '5', then ' ', '-' or the end of the line.
ReplyLine parse_line(std::string_view line, char lowest_class);

/// Collects the lines of one reply: at most `max_lines` texts of at most `max_text` bytes each,
/// the last line always kept (it says how the reply ended).
class Assembler {
public:
    enum class Inner : std::uint8_t {
        kCoded,  ///< SMTP (RFC 5321 4.2.1): every line is "ddd-text", the last "ddd text"
        kFree,   ///< FTP (RFC 959 4.2): lines after the first may be anything until "ddd text"
    };
    enum class Step : std::uint8_t {
        kMore,     ///< the reply goes on
        kDone,     ///< the reply is complete: code() and lines() hold it
        kInvalid,  ///< not a reply line (and not inside a reply that allows anything)
    };

    Assembler(char lowest_class, Inner inner, std::size_t max_lines, std::size_t max_text)
        : lowest_class_(lowest_class), inner_(inner), max_lines_(max_lines), max_text_(max_text) {}

    Step line(std::string_view line);
    /// The server's side had a gap: the reply in progress is lost.
    void reset() { active_ = false; }

    std::uint16_t code() const { return code_; }
    const std::vector<std::string>& lines() const { return lines_; }
    /// "250 OK": the code and the last line's text.
    std::string summary() const;

private:
    char lowest_class_;
    Inner inner_;
    std::size_t max_lines_;
    std::size_t max_text_;
    bool active_ = false;
    std::uint16_t code_ = 0;
    std::vector<std::string> lines_;
};

/// Adds `reply` (cut to `max_text`) to a session's latest replies, keeping the `max` newest.
void remember(std::vector<std::string>& last, std::string_view reply, std::size_t max,
              std::size_t max_text);

}  // namespace botscope::analysis::reply
