#pragma once
// Splits a byte stream into lines with a bounded buffer, for the line-based protocols (SMTP,
// FTP). Gap-aware: after a hole in the stream the next fragment is marked as possibly not
// starting a line.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace botscope::analysis {

/// One piece of a line handed out by LineAssembler. A line longer than the assembler's limit
/// comes out as several fragments: the first with an empty terminator, the rest `continued`.
struct LineFragment {
    std::string_view text;        ///< without the terminator (one CR before the LF is stripped)
    std::string_view terminator;  ///< "\r\n", "\n", or "" when cut at the limit
    bool continued = false;       ///< not known to start a line (follows a cut, or a gap)
    bool after_gap = false;       ///< first fragment after a gap: may still be a whole line,
                                  ///< since segments (and so gaps) often end at line ends
};

/// Splits a byte stream into lines with a bounded buffer. Views returned by next() stay valid
/// until the next call on the same assembler.
class LineAssembler {
public:
    /// `max_line` bytes of text are buffered at most (the terminator does not count).
    explicit LineAssembler(std::size_t max_line) : max_(max_line == 0 ? 1 : max_line) {}

    /// Consumes bytes from the front of `data` up to the end of one line (or up to the limit)
    /// and returns that line; returns nullopt once `data` is used up without ending a line (the
    /// partial line is kept).
    std::optional<LineFragment> next(std::span<const std::uint8_t>& data);

    /// Hands out the buffered partial line, if any (end of stream).
    std::optional<LineFragment> flush();

    /// Drops the partial line; the bytes that follow are mid-line (after a gap), so the next
    /// fragment is marked `continued`.
    void drop_after_gap();

    std::size_t buffered() const { return buf_.size(); }

private:
    std::string buf_;
    std::size_t max_;
    bool continued_ = false;
    bool after_gap_ = false;
    bool clear_pending_ = false;
};

}  // namespace botscope::analysis
