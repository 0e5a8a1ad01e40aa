#pragma once
// The index of task reports: <data>/tasks/index.jsonl, beside the task folders. Its first line
// is {"index": "botscope.index/1"}, then one line per task with its Facts (facts.h), in task
// order. Every command that reviews reports reads it instead of every report.json.
//
// The task folders stay the truth. The index is brought up to date from them on every read:
// rebuilt when it is missing, damaged or of another version, and a task's line (re)made when
// its report.json is newer than the index or has no line (a task that ended while the index
// could not be written). A report that cannot be read is left out with a warning naming it, and
// is tried again next time. The file is written atomically, under a lock
// (<data>/tasks/index.lock), so that tasks ending together do not lose each other's lines.

#include <filesystem>
#include <string>
#include <vector>

#include "review/facts.h"
#include "util/result.h"

namespace botscope::review {

inline constexpr const char* kIndexSchema = "botscope.index/1";

/// The index holds one line per task; a line past this is not ours (each is a few KiB).
inline constexpr std::size_t kMaxIndexLine = 1u << 20;
/// Nor is an index past this: rebuilt from the folders instead.
inline constexpr std::size_t kMaxIndexBytes = 1u << 30;

struct Index {
    std::vector<Facts> tasks;  ///< in task id order
    /// Reports left out (named, with the reason), an index that had to be rebuilt, an index
    /// that could not be saved.
    std::vector<std::string> warnings;
    std::size_t read = 0;  ///< reports read from their folders this time
    bool saved = false;    ///< the file was written this time
};

/// <data>/tasks/index.jsonl
std::filesystem::path index_path(const std::filesystem::path& data_dir);

/// The index, brought up to date with the task folders first (see above). No tasks folder is
/// an empty index; an error only when the tasks folder cannot be listed.
util::Result<Index> load_index(const std::filesystem::path& data_dir);

/// After task `id` wrote its report: its line is (re)made whatever the times say, and the index
/// brought up to date as load_index does.
util::Result<Index> update_index(const std::filesystem::path& data_dir, const std::string& id);

}  // namespace botscope::review
