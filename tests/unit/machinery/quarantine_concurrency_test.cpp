// QuarantineStore under concurrent writers: threads with one store, threads with a store each
// (only the directory's flock orders them), and separate processes, while readers look on. No
// update may be lost, and no reader may ever see a half-written file.

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "machinery/quarantine.h"
#include "support/temp_dir.h"

namespace quarantine_concurrency_test {

using namespace botscope::machinery;
namespace fs = std::filesystem;

namespace {

using botscope::testing::TempDir;

constexpr int kNever = 1'000'000;  // threshold no test reaches: counts keep growing

// Long enough that a torn write would cut one short.
std::string reason_of(int writer) {
    return "writer " + std::to_string(writer) + " " + std::string(600, 'a' + writer % 26);
}

bool is_known_reason(const std::string& r, int writers) {
    for (int w = 0; w < writers; ++w)
        if (r == reason_of(w))
            return true;
    return false;
}

// Reads the machine's health until told to stop; counts reads and every failed one.
struct Watcher {
    std::atomic<bool> stop{false};
    std::atomic<int> reads{0};
    std::atomic<int> bad{0};
    std::string first_bad;
    std::thread thread;
    Watcher(const fs::path& dir, int writers) {
        thread = std::thread([this, dir, writers] {
            QuarantineStore store(dir, kNever);
            while (!stop) {
                auto h = store.get("vm");
                ++reads;
                bool ok = h.ok() &&
                          (h->consecutive_failures == 0 || is_known_reason(h->last_error, writers));
                if (!ok && bad++ == 0)
                    first_bad = h ? "reason: " + h->last_error.substr(0, 40) : h.error().text();
            }
        });
    }
    void finish() {
        stop = true;
        thread.join();
        CHECK(reads > 0);
        CHECK_MESSAGE(bad == 0, first_bad);
    }
};

int leftovers(const fs::path& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        n += e.path().filename().string().find(".tmp.") != std::string::npos;
    return n;
}

}  // namespace

TEST_CASE("quarantine: concurrent failures from threads are all counted, each exactly once") {
    TempDir tmp{"bs-mach-quarantine-mt"};
    constexpr int kThreads = 6, kEach = 25;
    bool shared_store = false;
    SUBCASE("one store shared by the threads") {
        shared_store = true;
    }
    SUBCASE("a store per thread: only the directory lock orders them") {
        shared_store = false;
    }
    CAPTURE(shared_store);

    QuarantineStore shared(tmp.path, kNever);
    Watcher watcher(tmp.path, kThreads);
    std::vector<std::vector<int>> counts(kThreads);
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            QuarantineStore own(tmp.path, kNever);
            QuarantineStore& store = shared_store ? shared : own;
            for (int i = 0; i < kEach; ++i) {
                auto h = store.record_failure("vm", reason_of(t));
                if (!h) {
                    errors[t] = h.error().text();
                    return;
                }
                counts[t].push_back(h->consecutive_failures);
            }
        });
    for (auto& t : threads)
        t.join();
    watcher.finish();
    for (const auto& e : errors)
        CHECK_MESSAGE(e.empty(), e);

    // Every update saw the one before it: the counts returned are 1..N, none twice.
    std::set<int> seen;
    for (const auto& c : counts)
        seen.insert(c.begin(), c.end());
    CHECK(seen.size() == kThreads * kEach);
    CHECK(*seen.begin() == 1);
    CHECK(*seen.rbegin() == kThreads * kEach);
    auto h = shared.get("vm");
    REQUIRE(h.ok());
    CHECK(h->consecutive_failures == kThreads * kEach);
    CHECK(leftovers(tmp.path) == 0);
}

TEST_CASE("quarantine: concurrent failures from processes are all counted") {
    TempDir tmp{"bs-mach-quarantine-mt"};
    constexpr int kProcesses = 4, kEach = 30;
    // The children are forked before the watcher's thread exists and wait for a byte on `go`:
    // a child forked while another thread held the allocator's lock would inherit it held (seen
    // under ASan: a child stuck on that lock while holding the store's, the others behind it).
    int go[2];
    REQUIRE(::pipe(go) == 0);
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; ++p) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // No doctest in the child: the exit code says how it went.
            ::close(go[1]);
            char c = 0;
            if (::read(go[0], &c, 1) != 1)
                ::_exit(2);
            QuarantineStore store(tmp.path, kNever);
            for (int i = 0; i < kEach; ++i)
                if (!store.record_failure("vm", reason_of(p)))
                    ::_exit(1);
            ::_exit(0);
        }
        children.push_back(pid);
    }
    ::close(go[0]);
    Watcher watcher(tmp.path, kProcesses);
    const char start[kProcesses] = {};
    REQUIRE(::write(go[1], start, sizeof start) == static_cast<ssize_t>(sizeof start));
    ::close(go[1]);
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    watcher.finish();
    auto h = QuarantineStore(tmp.path).get("vm");
    REQUIRE(h.ok());
    CHECK(h->consecutive_failures == kProcesses * kEach);
    CHECK(leftovers(tmp.path) == 0);
}

TEST_CASE("quarantine: successes racing failures: every failure counts from the state before it") {
    TempDir tmp{"bs-mach-quarantine-mt"};
    constexpr int kFailing = 4, kSucceeding = 2, kEach = 30;
    Watcher watcher(tmp.path, kFailing);
    std::vector<std::vector<int>> counts(kFailing);
    std::vector<std::string> errors(kFailing + kSucceeding);
    std::vector<std::thread> threads;
    for (int t = 0; t < kFailing + kSucceeding; ++t)
        threads.emplace_back([&, t] {
            QuarantineStore store(tmp.path, kNever);
            for (int i = 0; i < kEach; ++i) {
                if (t < kFailing) {
                    auto h = store.record_failure("vm", reason_of(t));
                    if (!h) {
                        errors[t] = h.error().text();
                        return;
                    }
                    counts[t].push_back(h->consecutive_failures);
                } else if (auto r = store.record_success("vm"); !r) {
                    errors[t] = r.error().text();
                    return;
                }
            }
        });
    for (auto& t : threads)
        t.join();
    watcher.finish();
    for (const auto& e : errors)
        CHECK_MESSAGE(e.empty(), e);

    // Serialised, the failures form runs 1, 2, ..., L between successes: a count n > 1 comes
    // from a failure that saw n - 1, so n - 1 was returned at least as often. Two failures
    // reading the same state would return the same n without a second n - 1.
    std::map<int, int> times;
    for (const auto& c : counts)
        for (int n : c)
            ++times[n];
    for (const auto& [n, k] : times) {
        if (n == 1)
            continue;
        int before = times.contains(n - 1) ? times.at(n - 1) : 0;
        CHECK_MESSAGE(before >= k, "count " << n << " returned " << k << " times, " << n - 1
                                            << " only " << before);
    }
    auto h = QuarantineStore(tmp.path).get("vm");
    REQUIRE(h.ok());
    if (h->consecutive_failures > 0)
        CHECK(times.count(h->consecutive_failures) == 1);
    else
        CHECK(h->since.empty());
    CHECK(leftovers(tmp.path) == 0);
}

}  // namespace quarantine_concurrency_test
