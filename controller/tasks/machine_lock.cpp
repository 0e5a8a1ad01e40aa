#include "tasks/machine_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace botscope::tasks {

namespace {

constexpr const char* kLockDir = "/run/lock/botscope";

}  // namespace

util::Result<MachineLock> MachineLock::try_lock(const Machine& machine) {
    std::filesystem::path dir = kLockDir;
    std::error_code ec;
    if (std::filesystem::create_directories(dir, ec); ec)
        return util::Error{"lock", "cannot create " + dir.string() + ": " + ec.message()};
    // Domain names are free text in libvirt: anything but [A-Za-z0-9._-] becomes '_'.
    std::string key = machine.domain;
    for (char& c : key)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            c = '_';
    if (key.empty() || key[0] == '.')
        key.insert(0, "_");
    auto path = dir / (key + ".lock");
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return util::Error{"lock", "cannot open " + path.string() + ": " + std::strerror(errno)};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            return util::Error{"busy", "machine " + machine.name + " (domain " + machine.domain +
                                           ") is running another task"};
        return util::Error{"lock", "cannot lock " + path.string() + ": " + std::strerror(err)};
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
