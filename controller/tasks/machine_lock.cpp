#include "tasks/machine_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace botscope::tasks {

util::Result<MachineLock> MachineLock::try_lock(const std::filesystem::path& machines_dir,
                                                const std::string& machine) {
    std::error_code ec;
    std::filesystem::create_directories(machines_dir, ec);
    if (ec)
        return util::Error{"data_dir",
                           "cannot create " + machines_dir.string() + ": " + ec.message()};
    auto path = machines_dir / (machine + ".lock");
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return util::Error{"data_dir",
                           "cannot open " + path.string() + ": " + std::strerror(errno)};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            return util::Error{"busy", "machine " + machine + " is running another task"};
        return util::Error{"data_dir", "cannot lock " + path.string() + ": " + std::strerror(err)};
    }
    return MachineLock(fd);
}

MachineLock& MachineLock::operator=(MachineLock&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

MachineLock::~MachineLock() {
    if (fd_ >= 0)
        ::close(fd_);
}

}  // namespace botscope::tasks
