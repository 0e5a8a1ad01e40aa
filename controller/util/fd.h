#pragma once
// A file descriptor closed when it goes out of scope.

#include <unistd.h>

namespace botscope::util {

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
    /// Hands the descriptor over: it is no longer closed here.
    int release() {
        int f = fd;
        fd = -1;
        return f;
    }
};

}  // namespace botscope::util
