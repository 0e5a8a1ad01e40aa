#include "analysis/line_assembler.h"

#include <algorithm>

#include "util/byte_reader.h"

namespace botscope::analysis {

std::optional<LineFragment> LineAssembler::next(std::span<const std::uint8_t>& data) {
    if (clear_pending_) {
        buf_.clear();
        clear_pending_ = false;
    }
    if (data.empty())
        return std::nullopt;
    const std::size_t room = max_ - std::min(max_, buf_.size());
    // The newline itself does not count against the limit, hence room + 1.
    const std::size_t scan = std::min(data.size(), room + 1);
    const std::string_view chars = util::as_chars(data.first(scan));
    const bool was_continued = continued_;
    const bool was_gap = after_gap_;
    after_gap_ = false;
    if (auto nl = chars.find('\n'); nl != std::string_view::npos) {
        std::string_view text;
        if (buf_.empty()) {
            text = chars.substr(0, nl);
        } else {
            buf_.append(chars.substr(0, nl));
            text = buf_;
            clear_pending_ = true;
        }
        std::string_view term = "\n";
        if (!text.empty() && text.back() == '\r') {
            text.remove_suffix(1);
            term = "\r\n";
        }
        data = data.subspan(nl + 1);
        continued_ = false;
        return LineFragment{text, term, was_continued, was_gap};
    }
    if (data.size() > room) {
        buf_.append(chars.substr(0, room));
        data = data.subspan(room);
        clear_pending_ = true;
        continued_ = true;
        return LineFragment{buf_, "", was_continued, was_gap};
    }
    buf_.append(chars);
    data = {};
    after_gap_ = was_gap;
    return std::nullopt;
}

std::optional<LineFragment> LineAssembler::flush() {
    if (clear_pending_) {
        buf_.clear();
        clear_pending_ = false;
    }
    if (buf_.empty())
        return std::nullopt;
    LineFragment f{buf_, "", continued_, after_gap_};
    clear_pending_ = true;
    continued_ = false;
    after_gap_ = false;
    return f;
}

void LineAssembler::drop_after_gap() {
    buf_.clear();
    clear_pending_ = false;
    continued_ = true;
    after_gap_ = true;
}

}  // namespace botscope::analysis
