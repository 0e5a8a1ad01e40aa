#pragma once
// One task per VM at a time, across processes and data directories: an advisory lock on
// /run/lock/botscope/<domain>.lock held for the whole task (flock, so a crashed controller
// releases it). Keyed on the libvirt domain, not the machine's name in one configuration: two
// controllers with different data directories must not revert the same VM under each other.

#include <filesystem>
#include <string>

#include "tasks/config.h"
#include "util/result.h"

namespace botscope::tasks {

class MachineLock {
public:
    /// Takes the lock without waiting; Error{"busy"} when another task holds it.
    static util::Result<MachineLock> try_lock(const Machine& machine);
    MachineLock(MachineLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    MachineLock& operator=(MachineLock&& o) noexcept;
    MachineLock(const MachineLock&) = delete;
    MachineLock& operator=(const MachineLock&) = delete;
    ~MachineLock();

private:
    explicit MachineLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace botscope::tasks
