#pragma once
// One line of progress on stderr, redrawn in place, shown only on a terminal (a script reading
// stderr gets messages, not escape sequences).

#include <unistd.h>

#include <cstdio>
#include <string>

namespace botscope::cli {

class StatusLine {
public:
    explicit StatusLine(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO)) {}
    ~StatusLine() { clear(); }
    StatusLine(const StatusLine&) = delete;
    StatusLine& operator=(const StatusLine&) = delete;

    bool enabled() const { return enabled_; }
    void show(const std::string& text) {
        if (!enabled_)
            return;
        std::fprintf(stderr, "\r\033[K%s", text.c_str());
        shown_ = true;
    }
    void clear() {
        if (shown_)
            std::fputs("\r\033[K", stderr);
        shown_ = false;
    }

private:
    bool enabled_;
    bool shown_ = false;
};

}  // namespace botscope::cli
