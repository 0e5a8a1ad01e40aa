#include "analysis/reply_assembler.h"

#include "util/text.h"

namespace botscope::analysis::reply {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

ReplyLine parse_line(std::string_view line, char lowest_class) {
    ReplyLine r;
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
        return r;
    if (line[0] < lowest_class || line[0] > '5')
        return r;
    r.code =
        static_cast<std::uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
    if (line.size() == 3) {
        r.ok = true;
        return r;
    }
    if (line[3] != ' ' && line[3] != '-')
        return r;
    r.more = line[3] == '-';
    r.text = util::trim(line.substr(4));
    r.ok = true;
    return r;
}

Assembler::Step Assembler::line(std::string_view line) {
    if (active_ && inner_ == Inner::kFree) {
        const ReplyLine r = parse_line(line, lowest_class_);
        if (r.ok && !r.more && r.code == code_) {
            active_ = false;
            std::string text = util::bounded_copy(r.text, max_text_);
            if (lines_.size() < max_lines_)
                lines_.push_back(std::move(text));
            else
                lines_.back() = std::move(text);
            return Step::kDone;
        }
        if (lines_.size() + 1 < max_lines_)
            lines_.push_back(util::bounded_copy(util::trim(line), max_text_));
        return Step::kMore;
    }
    const ReplyLine r = parse_line(line, lowest_class_);
    if (!r.ok)
        return Step::kInvalid;
    if (!active_) {
        lines_.clear();
        code_ = r.code;
    }
    if (lines_.size() < max_lines_)
        lines_.push_back(util::bounded_copy(r.text, max_text_));
    else
        lines_.back() = util::bounded_copy(r.text, max_text_);
    active_ = r.more;
    if (r.more)
        return Step::kMore;
    code_ = r.code;  // a coded reply's last line decides its code
    return Step::kDone;
}

std::string Assembler::summary() const {
    std::string s = std::to_string(code_);
    if (!lines_.empty() && !lines_.back().empty())
        s += ' ' + lines_.back();
    return s;
}

void remember(std::vector<std::string>& last, std::string_view reply, std::size_t max,
              std::size_t max_text) {
    if (max == 0)
        return;
    if (last.size() >= max)
        last.erase(last.begin());
    last.push_back(util::bounded_copy(reply, max_text));
}

}  // namespace botscope::analysis::reply
