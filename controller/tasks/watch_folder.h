#pragma once
// `botscope serve --watch DIR` (issue 13): which files in a drop folder are complete, so that
// each sample a honeypot stores there is queued once, and only once it is whole.
//
// Polling, not inotify: the caller calls poll() about every 500 ms. A file counts as complete
// once it is a non-empty regular file whose size and mtime have not changed for `settle` and
// that no process holds open for writing. The settle alone is not enough: a honeypot may pause
// longer than that in the middle of a download. The /proc scan for writers is the costly part,
// so it runs once per poll and only for files that are otherwise stable.
//
// Limits: at most `max_tracked` files are tracked (100000); files beyond are skipped until
// others vanish, and skipped() says how many were. Subfolders (with `recursive`) are followed at
// most kMaxWatchDepth deep. Symbolic links are never followed, neither to files nor to
// folders: every folder below DIR is opened with O_NOFOLLOW relative to its parent.
//
// The paths returned are DIR joined with the file's path below it. A caller that opens them
// should still use O_NOFOLLOW: the folder's writers may swap a file for a link at any time.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace botscope::tasks {

inline constexpr int kMaxWatchDepth = 32;

struct WatchOptions {
    std::chrono::milliseconds settle{2000};  ///< size and mtime unchanged this long
    bool recursive = false;
    std::string pattern;               ///< fnmatch(3) glob on the file name; empty = every file
    std::size_t max_tracked = 100000;  ///< files tracked at once; the rest wait their turn
};

/// What makes a file's content the same one: the same inode with the same size and mtime.
struct FileIdentity {
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
};

struct FileIdentityHash {
    std::size_t operator()(const FileIdentity& id) const;
};

class FolderWatch {
public:
    explicit FolderWatch(std::filesystem::path dir, WatchOptions options = {});

    /// Files that became complete since the last call (files present at the start count as
    /// new), sorted. Complete: a regular file (never a symlink, FIFO, device; never followed
    /// out of DIR), not empty, size and mtime unchanged for `settle`, and no process holds it
    /// open for writing (checked through /proc/<pid>/fd + /proc/<pid>/fdinfo flags when /proc
    /// is readable). Each file is reported once per content identity (device, inode, size,
    /// mtime): a file rewritten later is reported again, one merely renamed or hard-linked is
    /// not. Hidden files and folders (leading '.') and names ending in .part/.tmp (any case)
    /// are skipped: downloaders write there then rename.
    std::vector<std::filesystem::path> poll();

    /// An error reading DIR itself (gone, not a directory): empty when fine. While DIR cannot
    /// be read, what was tracked is kept, so that its coming back does not report it all again.
    const std::string& error() const { return error_; }

    /// Files not tracked in the last poll because `max_tracked` were already.
    std::size_t skipped() const { return skipped_; }

    /// Files tracked now (for tests of the bound).
    std::size_t tracked() const { return entries_.size(); }

private:
    struct Entry {
        FileIdentity id;
        std::chrono::steady_clock::time_point since;  ///< when `id` was first seen there
        bool reported = false;
        std::uint64_t seen = 0;  ///< the last poll that found the file
    };
    struct Found {
        std::string rel;
        FileIdentity id;
    };
    struct Settled {  // pointers into entries_: its nodes stay put when it grows
        const std::string* rel;
        Entry* entry;
    };
    using TimePoint = std::chrono::steady_clock::time_point;

    int scan(int dir_fd, const std::string& rel, int depth, std::vector<Found>& out) const;
    bool wanted_name(const char* name) const;
    /// Brings the entries up to what the scan found; those settled and not reported yet.
    std::vector<Settled> track(std::vector<Found>& found, TimePoint now);
    /// Of the settled files, those no process is writing, each content once.
    std::vector<std::filesystem::path> report(const std::vector<Settled>& settled);

    std::filesystem::path dir_;
    WatchOptions options_;
    std::string error_;
    std::size_t skipped_ = 0;
    std::uint64_t generation_ = 0;
    std::unordered_map<std::string, Entry> entries_;  ///< by path below DIR
    /// Identities reported and still present under some path: a rename is not news.
    std::unordered_set<FileIdentity, FileIdentityHash> reported_;
};

/// True when some process holds `path` open for writing (/proc scan). Exposed for tests.
bool open_for_writing(const std::filesystem::path& path);

}  // namespace botscope::tasks
