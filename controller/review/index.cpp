#include "review/index.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>

#include "report/atomic_file.h"
#include "review/json_read.h"
#include "review/report_file.h"

namespace botscope::review {

namespace fs = std::filesystem;

namespace {

/// An exclusive flock on <tasks>/index.lock, released on destruction; fd -1 when the folder
/// cannot hold one (read-only): the index is then read but not saved.
struct Lock {
    int fd = -1;
    std::string error;
    explicit Lock(const fs::path& tasks) {
        fd =
            ::open((tasks / "index.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 && ::flock(fd, LOCK_EX) != 0) {
            ::close(fd);
            fd = -1;
        }
        if (fd < 0)
            error = (tasks / "index.lock").string() + ": " + std::strerror(errno);
    }
    ~Lock() {
        if (fd >= 0)
            ::close(fd);
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
};

std::optional<std::uint64_t> task_number(const std::string& name) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
    if (name.empty() || ec != std::errc() || p != name.data() + name.size())
        return std::nullopt;
    return v;
}

struct Stored {
    std::map<std::uint64_t, Facts> by_id;
    bool valid = false;
    std::string problem;  ///< why an index that exists is not used; "" when it is, or is absent
    fs::file_time_type mtime;
};

/// Fills `s` from the index's lines; false (with s.problem) at the first line that is not ours.
bool parse_lines(std::string_view text, Stored& s) {
    std::size_t line_no = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        std::string where = "line " + std::to_string(line_no);
        if (line.size() > kMaxIndexLine) {
            s.problem = where + " is too long";
            return false;
        }
        Json j = Json::parse(line, nullptr, false);
        if (line_no == 1) {
            if (json::str(j, "index") != kIndexSchema) {
                s.problem = std::string("is not a ") + kIndexSchema + " index";
                return false;
            }
            continue;
        }
        auto f = facts_from_json(j);
        auto id = f ? task_number(f->id) : std::nullopt;
        if (!id) {
            s.problem = where + " is not a task's entry";
            return false;
        }
        s.by_id[*id] = std::move(*f);
    }
    return true;
}

Stored read_index(const fs::path& file) {
    Stored s;
    auto text = read_bounded(file, kMaxIndexBytes);
    if (!text) {
        if (text.error().code != "missing")
            s.problem = text.error().message;
        return s;
    }
    std::error_code ec;
    s.mtime = fs::last_write_time(file, ec);
    s.valid = !ec && parse_lines(text.value(), s);
    if (!s.valid)
        s.by_id.clear();
    return s;
}

struct TaskDir {
    std::uint64_t id = 0;
    fs::path report;
    fs::file_time_type mtime;
};

/// Task folders (numeric names) that hold a report.json, in id order. A folder without one is a
/// task still running.
util::Result<std::vector<TaskDir>> list_tasks(const fs::path& tasks) {
    std::map<std::uint64_t, TaskDir> found;
    std::error_code ec;
    for (fs::directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec)) {
        auto id = task_number(it->path().filename().string());
        std::error_code e2;
        if (!id || !it->is_directory(e2))
            continue;
        fs::path report = it->path() / "report.json";
        auto mtime = fs::last_write_time(report, e2);
        if (!e2)
            found[*id] = {*id, report, mtime};
    }
    if (ec)
        return util::Error{"data_dir", "cannot list " + tasks.string() + ": " + ec.message()};
    std::vector<TaskDir> out;
    for (auto& [id, t] : found)
        out.push_back(std::move(t));
    return out;
}

std::string serialise(const std::vector<Facts>& tasks) {
    std::string out = json::dump(Json{{"index", kIndexSchema}}) + "\n";
    for (const auto& f : tasks)
        out += json::dump(facts_to_json(f)) + "\n";
    return out;
}

void save(const fs::path& file, const Lock& lock, Index& index) {
    if (lock.fd < 0) {
        index.warnings.push_back("index not saved: " + lock.error);
        return;
    }
    std::string err = report::write_file_atomic(file.string(), serialise(index.tasks));
    if (!err.empty())
        index.warnings.push_back("index not saved: " + err);
    else
        index.saved = true;
}

util::Result<Index> refresh(const fs::path& data_dir, const std::string& force_id) {
    Index index;
    const fs::path tasks = data_dir / "tasks";
    std::error_code ec;
    if (!fs::is_directory(tasks, ec))
        return index;
    Lock lock(tasks);
    const fs::path file = index_path(data_dir);
    Stored stored = read_index(file);
    if (!stored.problem.empty())
        index.warnings.push_back("index " + file.string() + " " + stored.problem +
                                 ": rebuilt from the task folders");
    auto dirs = list_tasks(tasks);
    if (!dirs)
        return dirs.error();
    // Saved when a line was added, remade or dropped; a report that still cannot be read (and
    // had no line) changes nothing.
    bool changed = !stored.valid;
    std::size_t kept = 0;
    for (const auto& d : dirs.value()) {
        auto it = stored.by_id.find(d.id);
        if (it != stored.by_id.end() && d.mtime <= stored.mtime &&
            std::to_string(d.id) != force_id) {
            index.tasks.push_back(std::move(it->second));
            ++kept;
            continue;
        }
        ++index.read;
        auto r = read_report(d.report);
        if (!r) {
            index.warnings.push_back("skipped " + r.error().message);
            continue;
        }
        Facts f = extract_facts(r.value());
        f.id = std::to_string(d.id);  // the folder names the task, whatever its report says
        index.tasks.push_back(std::move(f));
        changed = true;
    }
    if (changed || kept != stored.by_id.size())
        save(file, lock, index);
    return index;
}

}  // namespace

fs::path index_path(const fs::path& data_dir) {
    return data_dir / "tasks" / "index.jsonl";
}

util::Result<Index> load_index(const fs::path& data_dir) {
    return refresh(data_dir, "");
}

util::Result<Index> update_index(const fs::path& data_dir, const std::string& id) {
    return refresh(data_dir, id);
}

}  // namespace botscope::review
