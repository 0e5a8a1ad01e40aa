#pragma once
// Health of each analysis VM, persisted so that a quarantine survives a controller restart and
// is visible to `botscope vm list` in another process. A machine that fails `threshold` times in
// a row is quarantined until an operator releases it.
//
// One JSON file per machine, `<dir>/<machine>.json`, replaced atomically (temporary file, fsync,
// rename, fsync of the directory); a missing file means healthy. Updates from several processes
// are serialised by an flock on `<dir>/.lock` (machine names cannot start with a dot).
//
// Error codes: bad_name (machine name not [A-Za-z0-9._-]{1,64} or starts with '.'),
//              corrupt (the file is not what this store writes: the message names the file),
//              io (the directory or file cannot be read or written).

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "util/result.h"

namespace botscope::machinery {

/// The stored health of one machine.
struct MachineHealth {
    std::string machine;
    int consecutive_failures = 0;
    bool quarantined = false;
    std::string last_error;  ///< reason given with the latest failure (kept after a success)
    /// ISO-8601 UTC: when the quarantine began; while failing but not yet quarantined, when the
    /// run of failures began; empty when healthy.
    std::string since;
};

/// Failure counting and quarantine, one file per machine.
class QuarantineStore {
public:
    /// Longest failure reason stored; longer ones are cut.
    static constexpr std::size_t kMaxReasonBytes = 1024;
    /// Largest health file read; a bigger one is "corrupt".
    static constexpr std::size_t kMaxFileBytes = 64 * 1024;

    /// `dir` = <data>/machines; created on the first write. `threshold` < 1 counts as 1.
    explicit QuarantineStore(std::filesystem::path dir, int threshold = 2);

    /// The machine's health; a missing file is a healthy machine.
    util::Result<MachineHealth> get(const std::string& machine) const;
    /// Counts a failure; quarantines at `threshold` consecutive failures. Returns the new health.
    util::Result<MachineHealth> record_failure(const std::string& machine,
                                               const std::string& reason);
    /// Resets the failure count. A quarantined machine stays quarantined until release().
    util::Result<util::Done> record_success(const std::string& machine);
    /// Operator action: forget the machine's failures and lift its quarantine.
    util::Result<util::Done> release(const std::string& machine);

    /// Checks a machine name before it becomes a file name.
    static util::Result<util::Done> check_name(const std::string& machine);

    const std::filesystem::path& dir() const { return dir_; }
    int threshold() const { return threshold_; }

private:
    std::filesystem::path file_of(const std::string& machine) const;
    /// Read-modify-write of one machine's record under the store's locks; `change` returns
    /// whether anything changed (nothing is written otherwise).
    util::Result<MachineHealth> update(const std::string& machine,
                                       const std::function<bool(MachineHealth&)>& change);

    std::filesystem::path dir_;
    int threshold_;
    std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();  // movable store
};

}  // namespace botscope::machinery
