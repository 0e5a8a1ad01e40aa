#pragma once
// One task per VM at a time, across processes and data directories: an advisory lock on
// <lock dir>/<domain>.lock held for the whole task (flock, so a crashed controller releases
// it). Keyed on the libvirt domain, not the machine's name in one configuration: two
// controllers with different data directories must not revert the same VM under each other.
//
// The lock directory belongs to this user alone (mode 0700): in a directory others can write,
// a local user could hold a lock forever, unlink it under a running task, or plant a symlink.
// One that is not ours, or that group or others can write, is refused rather than repaired.
//
// Error codes: busy (another task holds the lock), lock (the directory or file is unusable:
// the message names it and what to do).

#include <filesystem>
#include <string>

#include "tasks/config.h"
#include "util/result.h"

namespace botscope::tasks {

/// Where the machine locks live; created (with /run/botscope) when absent.
inline const std::filesystem::path kMachineLockDir = "/run/botscope/locks";

class MachineLock {
public:
    /// Takes the lock without waiting; Error{"busy"} when another task holds it. `lock_dir` is
    /// for tests: every controller of a host must use the same one.
    static util::Result<MachineLock> try_lock(
        const Machine& machine, const std::filesystem::path& lock_dir = kMachineLockDir);
    MachineLock(MachineLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    MachineLock& operator=(MachineLock&& o) noexcept;
    MachineLock(const MachineLock&) = delete;
    MachineLock& operator=(const MachineLock&) = delete;
    ~MachineLock();
    /// Lets the machine go before the end of the scope.
    void release();

private:
    explicit MachineLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace botscope::tasks
