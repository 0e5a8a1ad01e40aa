#pragma once
// One task per machine at a time, across processes: an advisory lock on
// <data>/machines/<name>.lock held for the whole task (flock, so a crashed controller releases it).

#include <filesystem>
#include <string>

#include "util/result.h"

namespace botscope::tasks {

class MachineLock {
public:
    /// Takes the lock without waiting; Error{"busy"} when another task holds it.
    static util::Result<MachineLock> try_lock(const std::filesystem::path& machines_dir,
                                              const std::string& machine);
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
