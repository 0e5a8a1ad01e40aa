#include "tasks/watch_folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>

#include "util/fd.h"

namespace botscope::tasks {

namespace {

namespace fs = std::filesystem;

using util::Fd;

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// Takes over `fd` (closed here also when fdopendir fails).
DirPtr open_dir_fd(int fd) {
    if (fd < 0)
        return nullptr;
    DIR* d = ::fdopendir(fd);
    if (d == nullptr)
        ::close(fd);
    return DirPtr(d);
}

FileIdentity identity_of(const struct stat& st) {
    return FileIdentity{
        static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
        static_cast<std::uint64_t>(st.st_size),
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

bool all_digits(const char* s) {
    if (*s == '\0')
        return false;
    for (; *s != '\0'; ++s)
        if (!std::isdigit(static_cast<unsigned char>(*s)))
            return false;
    return true;
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
    if (s.size() < suffix.size())
        return false;
    return std::equal(suffix.begin(), suffix.end(), s.end() - suffix.size(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
    });
}

using DevIno = std::pair<std::uint64_t, std::uint64_t>;

// The open flags of descriptor `fd` of a process, from its fdinfo ("flags:\t0100002", octal);
// -1 when unreadable (the process or the descriptor is gone).
long fd_flags(int pid_dir, const char* fd) {
    std::string path = std::string("fdinfo/") + fd;
    Fd info(::openat(pid_dir, path.c_str(), O_RDONLY | O_CLOEXEC));
    if (info.fd < 0)
        return -1;
    char buf[512];
    ssize_t n = ::read(info.fd, buf, sizeof buf - 1);
    if (n <= 0)
        return -1;
    std::string_view text(buf, static_cast<std::size_t>(n));
    auto at = text.find("flags:");
    if (at == std::string_view::npos)
        return -1;
    text.remove_prefix(at + 6);
    while (!text.empty() && (text.front() == '\t' || text.front() == ' '))
        text.remove_prefix(1);
    long flags = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), flags, 8);
    return ec == std::errc{} ? flags : -1;
}

// Of `files`, those that some process holds open for writing. Processes whose /proc entries
// cannot be read (another user's, when not root) count as not writing: a best effort, on top
// of the settle time.
std::set<DevIno> held_for_writing(const std::set<DevIno>& files) {
    std::set<DevIno> held;
    if (files.empty())
        return held;
    DirPtr proc = open_dir_fd(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!proc)
        return held;
    while (dirent* p = ::readdir(proc.get())) {
        if (!all_digits(p->d_name))
            continue;
        Fd pid_dir(::openat(::dirfd(proc.get()), p->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (pid_dir.fd < 0)
            continue;
        DirPtr fds = open_dir_fd(::openat(pid_dir.fd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fds)
            continue;
        while (dirent* f = ::readdir(fds.get())) {
            if (!all_digits(f->d_name))
                continue;
            // stat follows the magic link to the open file itself, also one since deleted.
            struct stat st {};
            if (::fstatat(::dirfd(fds.get()), f->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
                continue;
            DevIno key{static_cast<std::uint64_t>(st.st_dev),
                       static_cast<std::uint64_t>(st.st_ino)};
            if (!files.contains(key) || held.contains(key))
                continue;
            long flags = fd_flags(pid_dir.fd, f->d_name);
            if (flags >= 0 && (flags & O_ACCMODE) != O_RDONLY)
                held.insert(key);
        }
    }
    return held;
}

}  // namespace

std::size_t FileIdentityHash::operator()(const FileIdentity& id) const {
    std::size_t h = std::hash<std::uint64_t>{}(id.ino);
    auto mix = [&h](std::uint64_t v) {
        h ^= std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    };
    mix(id.dev);
    mix(id.size);
    mix(static_cast<std::uint64_t>(id.mtime_ns));
    return h;
}

FolderWatch::FolderWatch(std::filesystem::path dir, WatchOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

bool FolderWatch::wanted_name(const char* name) const {
    if (name[0] == '.')
        return false;
    std::string_view n(name);
    if (ends_with_nocase(n, ".part") || ends_with_nocase(n, ".tmp"))
        return false;
    return options_.pattern.empty() || ::fnmatch(options_.pattern.c_str(), name, 0) == 0;
}

// Appends the wanted non-empty regular files below `dir_fd` (which it takes over) to `out`.
// Returns 0, or the errno that kept the folder from being read to its end.
int FolderWatch::scan(int dir_fd, const std::string& rel, int depth,
                      std::vector<Found>& out) const {
    DirPtr dir = open_dir_fd(dir_fd);
    if (!dir)
        return errno;
    errno = 0;
    while (dirent* e = ::readdir(dir.get())) {
        const char* name = e->d_name;
        // Also "." and "..", and hidden folders: downloaders stage files there too.
        if (name[0] == '.')
            continue;
        bool maybe_dir = e->d_type == DT_DIR || e->d_type == DT_UNKNOWN;
        bool maybe_file = e->d_type == DT_REG || e->d_type == DT_UNKNOWN;
        if (!(maybe_dir && options_.recursive) && !(maybe_file && wanted_name(name)))
            continue;
        struct stat st {};
        if (::fstatat(::dirfd(dir.get()), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;  // gone meanwhile
        std::string path = rel.empty() ? std::string(name) : rel + "/" + name;
        if (S_ISDIR(st.st_mode) && options_.recursive && depth < kMaxWatchDepth) {
            // O_NOFOLLOW: a folder swapped for a link since the fstatat is not entered. A
            // subfolder that cannot be read is left out; its files count as vanished.
            scan(
                ::openat(::dirfd(dir.get()), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                path, depth + 1, out);
        } else if (S_ISREG(st.st_mode) && st.st_size > 0 && wanted_name(name)) {
            out.push_back(Found{std::move(path), identity_of(st)});
        }
        errno = 0;
    }
    return errno;
}

std::vector<FolderWatch::Settled> FolderWatch::track(std::vector<Found>& found, TimePoint now) {
    std::vector<Found*> fresh;
    for (auto& f : found) {
        auto it = entries_.find(f.rel);
        if (it == entries_.end()) {
            fresh.push_back(&f);
            continue;
        }
        if (it->second.id != f.id)
            it->second = Entry{f.id, now, reported_.contains(f.id)};
        it->second.seen = generation_;
    }
    // Vanished files make room before new ones count against the bound. reported_ still holds
    // their identities: a file renamed since the last poll is found under its new name below.
    std::erase_if(entries_, [this](const auto& kv) { return kv.second.seen != generation_; });
    for (Found* f : fresh) {
        if (entries_.size() >= options_.max_tracked) {
            ++skipped_;
            continue;
        }
        entries_.emplace(std::move(f->rel),
                         Entry{f->id, now, reported_.contains(f->id), generation_});
    }
    std::vector<Settled> settled;
    for (auto& [rel, e] : entries_)
        if (!e.reported && now - e.since >= options_.settle)
            settled.push_back(Settled{&rel, &e});
    return settled;
}

std::vector<std::filesystem::path> FolderWatch::report(const std::vector<Settled>& settled) {
    std::set<DevIno> candidates;
    for (const auto& s : settled)
        candidates.insert({s.entry->id.dev, s.entry->id.ino});
    const auto writing = held_for_writing(candidates);
    std::vector<fs::path> complete;
    for (const auto& s : settled) {
        // A writer that merely paused keeps `since`: once it closes the file unchanged, the
        // file is complete at once.
        if (writing.contains({s.entry->id.dev, s.entry->id.ino}))
            continue;
        s.entry->reported = true;
        if (reported_.insert(s.entry->id).second)  // the same content twice: the first name
            complete.push_back(dir_ / *s.rel);
    }
    // Only identities still present are remembered: the bound on entries bounds this too.
    reported_.clear();
    for (const auto& [rel, e] : entries_)
        if (e.reported)
            reported_.insert(e.id);
    std::sort(complete.begin(), complete.end());
    return complete;
}

std::vector<std::filesystem::path> FolderWatch::poll() {
    ++generation_;
    skipped_ = 0;
    int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    std::vector<Found> found;
    if (int err = fd < 0 ? errno : scan(fd, "", 0, found); err != 0) {
        error_ = "cannot read the watched folder " + dir_.string() + ": " + std::strerror(err);
        return {};
    }
    error_.clear();
    return report(track(found, std::chrono::steady_clock::now()));
}

bool open_for_writing(const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    DevIno key{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
    return held_for_writing({key}).contains(key);
}

}  // namespace botscope::tasks
