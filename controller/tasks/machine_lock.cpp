#include "tasks/machine_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "util/fd.h"

namespace botscope::tasks {

namespace {

namespace fs = std::filesystem;

using util::Fd;

std::string mode_text(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

util::Error dir_error(const fs::path& dir, const std::string& why) {
    return util::Error{"lock", "machine lock directory " + dir.string() + " " + why +
                                   ": remove it (botscope creates it as a directory of uid " +
                                   std::to_string(::geteuid()) + ", mode 0700)"};
}

// Empty when `st` is a lock directory nobody else can have prepared.
std::string unsafe_because(const struct stat& st) {
    if (S_ISLNK(st.st_mode))
        return "is a symbolic link";
    if (!S_ISDIR(st.st_mode))
        return "is not a directory";
    if (st.st_uid != ::geteuid())
        return "is owned by uid " + std::to_string(st.st_uid) + ", not by this user";
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return "is writable by group or others (mode " + mode_text(st.st_mode) + ")";
    return {};
}

util::Result<int> open_lock_dir(const fs::path& dir) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT)
            return util::Error{"lock",
                               "cannot inspect " + dir.string() + ": " + std::strerror(errno)};
        std::error_code ec;
        fs::create_directories(dir.parent_path(), ec);
        if (ec)
            return util::Error{"lock",
                               "cannot create " + dir.parent_path().string() + ": " + ec.message()};
        // EEXIST: another controller created it meanwhile; it is checked like any other.
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return util::Error{"lock",
                               "cannot create " + dir.string() + ": " + std::strerror(errno)};
        if (::lstat(dir.c_str(), &st) != 0)
            return util::Error{"lock",
                               "cannot inspect " + dir.string() + ": " + std::strerror(errno)};
    }
    if (auto why = unsafe_because(st); !why.empty())
        return dir_error(dir, why);
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.fd < 0)
        return util::Error{"lock", "cannot open " + dir.string() + ": " + std::strerror(errno)};
    // Checked again on what was opened: the path may have been swapped since the lstat.
    struct stat opened {};
    if (::fstat(fd.fd, &opened) != 0)
        return util::Error{"lock", "cannot inspect " + dir.string() + ": " + std::strerror(errno)};
    if (auto why = unsafe_because(opened); !why.empty())
        return dir_error(dir, why);
    return fd.release();
}

// Domain names are free text in libvirt: anything but [A-Za-z0-9._-] becomes '_'.
std::string lock_name(const std::string& domain) {
    std::string key = domain;
    for (char& c : key)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            c = '_';
    if (key.empty() || key[0] == '.')
        key.insert(0, "_");
    return key + ".lock";
}

}  // namespace

util::Result<MachineLock> MachineLock::try_lock(const Machine& machine,
                                                const std::filesystem::path& lock_dir) {
    auto dir = open_lock_dir(lock_dir);
    if (!dir)
        return dir.error();
    Fd dir_fd(dir.value());
    std::string name = lock_name(machine.domain);
    auto path = lock_dir / name;
    // O_NONBLOCK: a FIFO put there by root by mistake must not hang the controller.
    Fd fd(::openat(dir_fd.fd, name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                   0600));
    if (fd.fd < 0)
        return util::Error{"lock", "cannot open " + path.string() + ": " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0)
        return util::Error{"lock", "cannot inspect " + path.string() + ": " + std::strerror(errno)};
    if (!S_ISREG(st.st_mode))
        return util::Error{"lock", path.string() + " is not a regular file: remove it"};
    if (::flock(fd.fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err == EWOULDBLOCK)
            return util::Error{"busy", "machine " + machine.name + " (domain " + machine.domain +
                                           ") is running another task"};
        return util::Error{"lock", "cannot lock " + path.string() + ": " + std::strerror(err)};
    }
    return MachineLock(fd.release());
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
    release();
}

void MachineLock::release() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

}  // namespace botscope::tasks
