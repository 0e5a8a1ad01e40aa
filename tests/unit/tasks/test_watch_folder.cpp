// FolderWatch on a temporary drop folder: a file is reported once it is whole (stable for the
// settle time and closed by its writer), once per content, and only the files a honeypot's
// sample could be (no links out, FIFOs, hidden or partial downloads).

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"
#include "tasks/watch_folder.h"

namespace botscope::tasks::test_watch_folder {

namespace {

namespace fs = std::filesystem;

using botscope::testing::TempDir;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kSettle = 150ms;
// Generous: the machine's two cores are shared with builds. Only the waits that expect
// nothing take their full length: a settled file shows at the next poll, 20 ms later.
constexpr auto kDeadline = 4s;
constexpr auto kQuiet = kSettle + 60ms;

WatchOptions fast(bool recursive = false, std::string pattern = {}) {
    WatchOptions o;
    o.settle = kSettle;
    o.recursive = recursive;
    o.pattern = std::move(pattern);
    return o;
}

// Everything reported while polling every 20 ms for `window`, repeats included.
std::vector<fs::path> collect(FolderWatch& w, Clock::duration window) {
    std::vector<fs::path> all;
    const auto end = Clock::now() + window;
    while (Clock::now() < end) {
        for (auto& p : w.poll())
            all.push_back(p);
        std::this_thread::sleep_for(20ms);
    }
    return all;
}

// Polls until `n` files were reported (or the deadline passed).
std::vector<fs::path> wait_for(FolderWatch& w, std::size_t n) {
    std::vector<fs::path> all;
    const auto end = Clock::now() + kDeadline;
    while (all.size() < n && Clock::now() < end) {
        for (auto& p : w.poll())
            all.push_back(p);
        if (all.size() < n)
            std::this_thread::sleep_for(20ms);
    }
    return all;
}

using Paths = std::vector<fs::path>;

// A child process writing `path` in two halves, the second only once told to: a honeypot
// pausing mid-download for longer than the settle time.
struct SlowWriter {
    pid_t pid = -1;
    int go = -1;
    explicit SlowWriter(const fs::path& path) {
        int ready[2], proceed[2];
        REQUIRE(::pipe(ready) == 0);
        REQUIRE(::pipe(proceed) == 0);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(ready[0]);
            ::close(proceed[1]);
            int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            bool ok = fd >= 0 && ::write(fd, "MZ first half ", 14) == 14;
            char c = ok ? 'y' : 'n';
            (void)!::write(ready[1], &c, 1);
            (void)!::read(proceed[0], &c, 1);
            ok = ok && ::write(fd, "second half", 11) == 11 && ::close(fd) == 0;
            ::_exit(ok ? 0 : 1);
        }
        ::close(ready[1]);
        ::close(proceed[0]);
        go = proceed[1];
        char c = 0;
        bool started = ::read(ready[0], &c, 1) == 1 && c == 'y';
        ::close(ready[0]);
        if (!started)
            finish();  // the destructor of a half-built writer does not run
        REQUIRE(started);
    }
    // Lets the child write the rest and close the file; its exit status.
    int finish() {
        if (pid < 0)
            return -1;
        (void)!::write(go, "g", 1);
        ::close(go);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    ~SlowWriter() { finish(); }
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("watch folder: a file written at once is reported once, after the settle time") {
    TempDir tmp{"bs-watch"};
    tmp.write("sample.exe", "MZ whole file");
    const auto start = Clock::now();
    FolderWatch w(tmp.path, fast());
    CHECK(w.poll().empty());  // present at the start: new, but not yet settled
    CHECK(wait_for(w, 1) == Paths{tmp.path / "sample.exe"});
    CHECK(Clock::now() - start >= kSettle);
    CHECK(w.error().empty());
    CHECK(collect(w, kQuiet).empty());
}

TEST_CASE("watch folder: a file held open for writing is not reported, though it pauses") {
    TempDir tmp{"bs-watch"};
    const auto path = tmp.path / "download.bin";
    SlowWriter writer(path);
    FolderWatch w(tmp.path, fast());
    // Three settle times without a change: only the open descriptor keeps it back.
    CHECK(collect(w, 3 * kSettle).empty());
    CHECK(open_for_writing(path));
    REQUIRE(writer.finish() == 0);
    CHECK_FALSE(open_for_writing(path));
    CHECK(wait_for(w, 1) == Paths{path});
    CHECK(read_all(path) == "MZ first half second half");
}

TEST_CASE("watch folder: open_for_writing tells writers from readers") {
    TempDir tmp{"bs-watch"};
    tmp.write("f", "data");
    const auto path = tmp.path / "f";
    CHECK_FALSE(open_for_writing(path));
    int reader = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(reader >= 0);
    CHECK_FALSE(open_for_writing(path));
    int appender = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    REQUIRE(appender >= 0);
    CHECK(open_for_writing(path));
    ::close(appender);
    CHECK_FALSE(open_for_writing(path));
    ::close(reader);
    CHECK_FALSE(open_for_writing(tmp.path / "absent"));
}

TEST_CASE("watch folder: a rewritten file is reported again; a renamed one is not") {
    TempDir tmp{"bs-watch"};
    tmp.write("bot.bin", "first version");
    FolderWatch w(tmp.path, fast());
    CHECK(wait_for(w, 1) == Paths{tmp.path / "bot.bin"});
    tmp.write("bot.bin", "second, longer version");  // the same inode, truncated and written
    CHECK(wait_for(w, 1) == Paths{tmp.path / "bot.bin"});
    fs::rename(tmp.path / "bot.bin", tmp.path / "bot.exe");
    CHECK(collect(w, kQuiet).empty());
    // The downloader's way: written under .part, then renamed to its name.
    tmp.write("next.exe.part", "MZ next");
    CHECK(collect(w, kQuiet).empty());
    fs::rename(tmp.path / "next.exe.part", tmp.path / "next.exe");
    CHECK(wait_for(w, 1) == Paths{tmp.path / "next.exe"});
}

TEST_CASE("watch folder: links, FIFOs, empty, hidden and partial files are not reported") {
    TempDir tmp{"bs-watch"};
    TempDir outside{"bs-watch-outside"};
    outside.write("secret", "not in the drop folder");
    fs::create_symlink(outside.path / "secret", tmp.path / "link.exe");
    fs::create_symlink(tmp.path / "missing", tmp.path / "dangling.exe");
    REQUIRE(::mkfifo((tmp.path / "pipe.exe").c_str(), 0600) == 0);
    tmp.write("empty.exe", "");
    tmp.write(".hidden.exe", "MZ");
    tmp.write("x.exe.part", "MZ");
    tmp.write("y.TMP", "MZ");
    tmp.write("real.exe", "MZ");
    FolderWatch w(tmp.path, fast());
    CHECK(wait_for(w, 1) == Paths{tmp.path / "real.exe"});
    CHECK(collect(w, kQuiet).empty());
}

TEST_CASE("watch folder: subfolders only when recursive, never through a link") {
    TempDir tmp{"bs-watch"};
    TempDir outside{"bs-watch-outside"};
    outside.write("elsewhere.exe", "MZ");
    fs::create_directories(tmp.path / "2024" / "05");
    fs::create_directories(tmp.path / ".staging");
    tmp.write("2024/05/deep.exe", "MZ");
    tmp.write(".staging/half.exe", "MZ");
    fs::create_directory_symlink(outside.path, tmp.path / "linked");
    tmp.write("top.exe", "MZ");

    FolderWatch flat(tmp.path, fast());
    CHECK(wait_for(flat, 1) == Paths{tmp.path / "top.exe"});
    CHECK(collect(flat, 150ms).empty());

    FolderWatch deep(tmp.path, fast(true));
    CHECK(wait_for(deep, 2) == Paths{tmp.path / "2024/05/deep.exe", tmp.path / "top.exe"});
    CHECK(collect(deep, 150ms).empty());
}

TEST_CASE("watch folder: the pattern filters on the file name") {
    TempDir tmp{"bs-watch"};
    fs::create_directory(tmp.path / "sub.exe");
    tmp.write("a.exe", "MZ");
    tmp.write("b.txt", "text");
    tmp.write("sub.exe/c.exe", "MZ");
    tmp.write("sub.exe/d.dll", "MZ");
    FolderWatch w(tmp.path, fast(true, "*.exe"));
    CHECK(wait_for(w, 2) == Paths{tmp.path / "a.exe", tmp.path / "sub.exe/c.exe"});
    CHECK(collect(w, kQuiet).empty());
}

TEST_CASE("watch folder: the folder vanishing, or not being one, is an error") {
    TempDir tmp{"bs-watch"};
    fs::create_directory(tmp.path / "drop");
    tmp.write("drop/a.exe", "MZ");
    tmp.write("plain", "a file");
    FolderWatch w(tmp.path / "drop", fast());
    CHECK(wait_for(w, 1) == Paths{tmp.path / "drop/a.exe"});
    CHECK(w.error().empty());
    fs::remove_all(tmp.path / "drop");
    CHECK(w.poll().empty());
    CHECK(w.error().find("No such file") != std::string::npos);
    CHECK(w.error().find((tmp.path / "drop").string()) != std::string::npos);

    FolderWatch file(tmp.path / "plain", fast());
    CHECK(file.poll().empty());
    CHECK(file.error().find("Not a directory") != std::string::npos);
}

TEST_CASE("watch folder: at most max_tracked files are tracked; the rest wait their turn") {
    TempDir tmp{"bs-watch"};
    tmp.write("a", "1");
    tmp.write("b", "2");
    tmp.write("c", "3");
    WatchOptions o = fast();
    o.max_tracked = 2;
    FolderWatch w(tmp.path, o);
    CHECK(w.poll().empty());
    CHECK(w.tracked() == 2);
    CHECK(w.skipped() == 1);
    const auto first = wait_for(w, 2);
    REQUIRE(first.size() == 2);
    fs::remove(first[0]);  // the vanished file's entry makes room for the third
    const auto third = wait_for(w, 1);
    REQUIRE(third.size() == 1);
    CHECK(third[0] != first[0]);
    CHECK(third[0] != first[1]);
    CHECK(w.tracked() == 2);
    CHECK(w.skipped() == 0);
}

}  // namespace botscope::tasks::test_watch_folder
