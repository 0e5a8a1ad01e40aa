// MachineLock on a temporary lock directory: one holder at a time across threads and
// processes, released when its holder goes away, and a directory another user could have
// prepared is refused.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "support/temp_dir.h"
#include "tasks/machine_lock.h"

namespace botscope::tasks::test_machine_lock {

namespace {

namespace fs = std::filesystem;

using botscope::testing::TempDir;

Machine machine(const std::string& domain) {
    Machine m;
    m.name = "vm-" + domain;
    m.domain = domain;
    return m;
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// A child process that takes the lock, reports through a pipe, then waits to be killed.
struct Holder {
    pid_t pid = -1;
    explicit Holder(const Machine& m, const fs::path& dir) {
        int p[2];
        REQUIRE(::pipe(p) == 0);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(p[0]);
            auto lock = MachineLock::try_lock(m, dir);
            char c = lock ? 'y' : 'n';
            (void)!::write(p[1], &c, 1);
            for (;;)
                ::pause();
        }
        ::close(p[1]);
        char c = 0;
        bool locked = ::read(p[0], &c, 1) == 1 && c == 'y';
        ::close(p[0]);
        if (!locked)
            kill();  // the destructor of a half-built Holder does not run
        REQUIRE(locked);
    }
    void kill() {
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
    }
    ~Holder() {
        if (pid > 0)
            kill();
    }
};

}  // namespace

TEST_CASE("machine lock: one holder at a time; released on close") {
    TempDir tmp{"bs-machine-lock"};
    auto dir = tmp.path / "locks";
    auto m = machine("botscope-testguest");
    std::optional<MachineLock> first;
    {
        auto l = MachineLock::try_lock(m, dir);
        REQUIRE_MESSAGE(l.ok(), l.error().text());
        first.emplace(std::move(l.value()));
    }
    CHECK(mode_of(dir) == 0700);  // created private
    CHECK(fs::is_regular_file(dir / "botscope-testguest.lock"));

    auto second = MachineLock::try_lock(m, dir);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == "busy");
    CHECK(second.error().message.find("vm-botscope-testguest") != std::string::npos);

    // Another thread is refused as well: the lock belongs to the open file, not the thread.
    std::string from_thread;
    std::thread([&] {
        auto t = MachineLock::try_lock(m, dir);
        from_thread = t ? "locked" : t.error().code;
    }).join();
    CHECK(from_thread == "busy");

    // Another domain is another lock, also with a name that needs cleaning.
    auto other = MachineLock::try_lock(machine("../other domain"), dir);
    REQUIRE_MESSAGE(other.ok(), other.error().text());
    CHECK(fs::is_regular_file(dir / "_.._other_domain.lock"));

    first.reset();
    auto again = MachineLock::try_lock(m, dir);
    CHECK_MESSAGE(again.ok(), (again ? "" : again.error().text()));
}

TEST_CASE("machine lock: another process holding it refuses us; killing it releases it") {
    TempDir tmp{"bs-machine-lock"};
    auto dir = tmp.path / "locks";
    auto m = machine("guest-a");
    Holder holder(m, dir);
    auto refused = MachineLock::try_lock(m, dir);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "busy");
    holder.kill();  // SIGKILL: no destructor runs, the kernel drops the flock
    auto taken = MachineLock::try_lock(m, dir);
    CHECK_MESSAGE(taken.ok(), (taken ? "" : taken.error().text()));
}

TEST_CASE("machine lock: a lock directory others could have prepared is refused") {
    TempDir tmp{"bs-machine-lock"};
    auto m = machine("guest-b");

    SUBCASE("a symbolic link to a directory") {
        fs::create_directory(tmp.path / "elsewhere");
        REQUIRE(::chmod((tmp.path / "elsewhere").c_str(), 0700) == 0);
        fs::create_directory_symlink(tmp.path / "elsewhere", tmp.path / "locks");
        auto r = MachineLock::try_lock(m, tmp.path / "locks");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "lock");
        CHECK(r.error().message.find("is a symbolic link") != std::string::npos);
        CHECK(r.error().message.find((tmp.path / "locks").string()) != std::string::npos);
        CHECK(fs::is_empty(tmp.path / "elsewhere"));
    }
    SUBCASE("a regular file") {
        std::ofstream(tmp.path / "locks") << "x";
        auto r = MachineLock::try_lock(m, tmp.path / "locks");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("is not a directory") != std::string::npos);
    }
    SUBCASE("a directory group or others can write") {
        fs::create_directory(tmp.path / "locks");
        for (mode_t mode : {0770, 0703, 01777}) {
            CAPTURE(mode);
            REQUIRE(::chmod((tmp.path / "locks").c_str(), mode) == 0);
            auto r = MachineLock::try_lock(m, tmp.path / "locks");
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().code == "lock");
            CHECK(r.error().message.find("writable by group or others") != std::string::npos);
        }
        CHECK(fs::is_empty(tmp.path / "locks"));
    }
    SUBCASE("a directory owned by another user") {
        if (::geteuid() != 0)
            return;  // only root can give a directory away
        fs::create_directory(tmp.path / "locks");
        REQUIRE(::chmod((tmp.path / "locks").c_str(), 0700) == 0);
        REQUIRE(::chown((tmp.path / "locks").c_str(), 65534, 65534) == 0);
        auto r = MachineLock::try_lock(m, tmp.path / "locks");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("is owned by uid 65534") != std::string::npos);
    }
    SUBCASE("a lock file that is a symbolic link is not followed") {
        fs::create_directory(tmp.path / "locks");
        REQUIRE(::chmod((tmp.path / "locks").c_str(), 0700) == 0);
        fs::create_symlink(tmp.path / "victim", tmp.path / "locks" / "guest-b.lock");
        auto r = MachineLock::try_lock(m, tmp.path / "locks");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "lock");
        CHECK_FALSE(fs::exists(tmp.path / "victim"));
    }
    SUBCASE("an existing private directory of ours is used as it is") {
        fs::create_directory(tmp.path / "locks");
        REQUIRE(::chmod((tmp.path / "locks").c_str(), 0755) == 0);  // readable is fine
        auto r = MachineLock::try_lock(m, tmp.path / "locks");
        CHECK_MESSAGE(r.ok(), (r ? "" : r.error().text()));
        CHECK(mode_of(tmp.path / "locks") == 0755);
    }
}

}  // namespace botscope::tasks::test_machine_lock
