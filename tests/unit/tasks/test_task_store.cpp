// The task store on its real engines: SQLite in a temporary data directory, and PostgreSQL
// (a real server started by the test, tests/support/pg_server.h). The same cases run on both:
// the SQL must mean the same on each.

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <QSqlDatabase>
#include <QSqlQuery>

#include "support/pg_server.h"
#include "support/required.h"
#include "support/temp_dir.h"
#include "tasks/task_store.h"

namespace botscope::tasks::test_task_store {

namespace {

namespace fs = std::filesystem;

std::string fake_sha(int n) {
    char buf[65];
    std::snprintf(buf, sizeof buf, "%064x", n);
    return buf;
}

TaskStore open_store(const Config& config, const char* name = "test") {
    auto s = TaskStore::open(config, name);
    REQUIRE_MESSAGE(s.ok(), s.error().text());
    return std::move(s.value());
}

/// Every case, on one engine. `config` names a fresh, empty store.
void store_cases(const Config& config) {
    SUBCASE("a sample is queued once, under any name, unless forced") {
        auto s = open_store(config);
        auto a = s.enqueue(fake_sha(1), "/in/a", {}, 0, false);
        auto b = s.enqueue(fake_sha(1), "/in/b-copy", {}, 0, false);
        auto c = s.enqueue(fake_sha(2), "/in/c", {}, 0, false);
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        REQUIRE(c.ok());
        CHECK_FALSE(a->existing);
        CHECK(b->existing);
        CHECK(b->id == a->id);
        CHECK(c->id != a->id);
        auto forced = s.enqueue(fake_sha(1), "/in/a", {}, 0, true);
        REQUIRE(forced.ok());
        CHECK_FALSE(forced->existing);
        CHECK(forced->id != a->id);
        // A forced task does not hide the first from dedup.
        auto again = s.enqueue(fake_sha(1), "/in/a", {}, 0, false);
        REQUIRE(again.ok());
        CHECK(again->id == a->id);
        auto counts = s.counts();
        REQUIRE(counts.ok());
        CHECK(counts->pending == 3);
    }

    SUBCASE("claims: priority first, then age; a task asking for a machine waits for it") {
        auto s = open_store(config);
        TaskOptions on_b;
        on_b.machine = "B";
        auto low = s.enqueue(fake_sha(10), "/low", {}, 0, false);
        auto high = s.enqueue(fake_sha(11), "/high", {}, 5, false);
        auto for_b = s.enqueue(fake_sha(12), "/for-b", on_b, 9, false);
        REQUIRE((low.ok() && high.ok() && for_b.ok()));
        auto c1 = s.claim("me", "A", "linux");
        REQUIRE(c1.ok());
        REQUIRE(c1->has_value());
        CHECK((*c1.value()).id == high->id);
        CHECK((*c1.value()).state == TaskState::running);
        CHECK((*c1.value()).attempts == 1);
        CHECK((*c1.value()).machine == "A");
        auto c2 = s.claim("me", "A", "linux");
        REQUIRE(c2.ok());
        REQUIRE(c2->has_value());
        CHECK((*c2.value()).id == low->id);
        auto c3 = s.claim("me", "A", "linux");
        REQUIRE(c3.ok());
        CHECK_FALSE(c3->has_value());
        auto c4 = s.claim("me", "B", "linux");
        REQUIRE(c4.ok());
        REQUIRE(c4->has_value());
        CHECK((*c4.value()).id == for_b->id);
        CHECK((*c4.value()).options.machine == std::optional<std::string>("B"));
    }

    SUBCASE("the life of a task: stages, analysing, reported; only its owner moves it") {
        auto s = open_store(config);
        auto q = s.enqueue(fake_sha(20), "/x", {}, 0, false);
        REQUIRE(q.ok());
        auto c = s.claim("owner-1", "A", "linux");
        REQUIRE((c.ok() && c->has_value()));
        REQUIRE(s.set_stage(q->id, "owner-1", "revert").ok());
        CHECK(s.get(q->id).value()->stage == "revert");
        CHECK_FALSE(s.to_analysing(q->id, "someone-else").ok());
        REQUIRE(s.to_analysing(q->id, "owner-1").ok());
        CHECK(s.get(q->id).value()->state == TaskState::analysing);
        CHECK_FALSE(s.finish(q->id, "someone-else", true, "", "").ok());
        REQUIRE(s.finish(q->id, "owner-1", true, "", "", {{"revert", 1.5}, {"run", 10.0}}).ok());
        auto t = s.get(q->id).value();
        CHECK(t->state == TaskState::reported);
        CHECK(t->timings["revert"] == 1.5);
        CHECK(t->owner.empty());
        CHECK(t->finished_ms >= t->started_ms);
    }

    SUBCASE("a lost run goes back to the queue until the attempts are spent") {
        auto s = open_store(config);
        auto q = s.enqueue(fake_sha(30), "/y", {}, 0, false);
        REQUIRE(q.ok());
        REQUIRE(s.claim("o", "A", "linux").value().has_value());
        auto r1 = s.requeue(q->id, "o", "A", 2, "A failed at revert");
        REQUIRE_MESSAGE(r1.ok(), r1.error().text());
        CHECK(r1.value() == TaskState::pending);
        // A no longer gets it (unless no other machine is left to try it); B does.
        CHECK_FALSE(s.claim("o", "A", "linux").value().has_value());
        auto last_resort = s.claim("o", "A", "linux", {}, false);
        REQUIRE((last_resort.ok() && last_resort->has_value()));
        REQUIRE(s.requeue(q->id, "o", "A", 3, "A failed at revert", true).ok());
        auto b = s.claim("o", "B", "linux");
        REQUIRE((b.ok() && b->has_value()));
        CHECK((*b.value()).attempts == 2);
        // A run stopped by the user is not counted...
        auto r2 = s.requeue(q->id, "o", "", 2, "stopped", true);
        REQUIRE(r2.ok());
        CHECK(r2.value() == TaskState::pending);
        CHECK(s.get(q->id).value()->attempts == 1);
        // ...a lost one is, and the second is the last.
        REQUIRE(s.claim("o", "A", "linux").value().has_value());
        auto r3 = s.requeue(q->id, "o", "", 2, "interrupted");
        REQUIRE(r3.ok());
        CHECK(r3.value() == TaskState::failed);
        CHECK(s.get(q->id).value()->error == "interrupted");
    }

    SUBCASE("concurrent claims from many connections: every task exactly once") {
        {
            auto s = open_store(config);
            for (int i = 0; i < 120; ++i)
                REQUIRE(s.enqueue(fake_sha(1000 + i), "/many", {}, 0, false).ok());
        }
        std::mutex mu;
        std::multiset<std::int64_t> claimed;
        std::atomic<int> errors{0};
        std::vector<std::thread> threads;
        for (int w = 0; w < 6; ++w)
            threads.emplace_back([&, w] {
                auto s = TaskStore::open(config, "claimer");
                if (!s) {
                    ++errors;
                    return;
                }
                for (;;) {
                    auto c = s->claim("w" + std::to_string(w), "M" + std::to_string(w), "linux");
                    if (!c) {
                        ++errors;
                        return;
                    }
                    if (!c->has_value())
                        return;
                    std::lock_guard lock(mu);
                    claimed.insert((*c.value()).id);
                }
            });
        for (auto& t : threads)
            t.join();
        CHECK(errors == 0);
        CHECK(claimed.size() == 120);
        CHECK(std::set<std::int64_t>(claimed.begin(), claimed.end()).size() == 120);
    }

    SUBCASE("orphans: tasks of a controller whose process is gone, not of a live one") {
        auto s = open_store(config);
        const std::string live = new_controller_id();
        REQUIRE(s.register_controller(live).ok());
        auto q1 = s.enqueue(fake_sha(40), "/a", {}, 0, false);
        auto q2 = s.enqueue(fake_sha(41), "/b", {}, 0, false);
        REQUIRE((q1.ok() && q2.ok()));
        REQUIRE(s.claim(live, "B", "linux", q2->id).value().has_value());
        // A controller in a process of its own claims the first task, then dies without a
        // word, as under kill -9.
        pid_t child = ::fork();
        if (child == 0) {
            int rc = 1;
            {
                auto c = TaskStore::open(config, "child");
                std::string id = c ? new_controller_id() : "";
                if (c && c->register_controller(id) && c->claim(id, "A", "linux", q1->id).ok() &&
                    c->to_analysing(q1->id, id))
                    rc = 0;
            }
            ::_exit(rc);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        auto orphans = s.orphans(std::chrono::seconds(3600));
        REQUIRE(orphans.ok());
        REQUIRE(orphans->size() == 1);
        const TaskRecord& o = orphans->front();
        CHECK(o.id == q1->id);
        CHECK(o.state == TaskState::analysing);
        // The dead controller's row is gone; the live one's stays.
        auto ctl = s.controllers();
        REQUIRE(ctl.ok());
        REQUIRE(ctl->size() == 1);
        CHECK(ctl->front().id == live);
        auto took = s.take_over(o.id, o.owner, live);
        REQUIRE(took.ok());
        CHECK(took.value());
        auto twice = s.take_over(o.id, o.owner, live);
        REQUIRE(twice.ok());
        CHECK_FALSE(twice.value());
        CHECK(s.orphans(std::chrono::seconds(3600)).value().empty());
    }

    SUBCASE("a sample that needs a platform waits for a machine of it; the rest go anywhere") {
        auto s = open_store(config);
        TaskOptions pe;
        pe.platform = "windows";
        auto exe = s.enqueue(fake_sha(20), "/bot.exe", pe, 9, false);
        auto any = s.enqueue(fake_sha(21), "/notes.txt", {}, 0, false);
        REQUIRE((exe.ok() && any.ok()));
        auto on_linux = s.claim("o", "L", "linux");
        REQUIRE(on_linux.ok());
        REQUIRE(on_linux->has_value());
        CHECK(on_linux->value().id == any->id);  // the PE file's higher priority does not matter
        CHECK_FALSE(s.claim("o", "L", "linux").value().has_value());
        auto on_windows = s.claim("o", "W", "windows");
        REQUIRE(on_windows.ok());
        REQUIRE(on_windows->has_value());
        CHECK(on_windows->value().id == exe->id);
        CHECK(on_windows->value().options.platform == std::optional<std::string>("windows"));
        // No Windows machine left: only the tasks that need one fail.
        auto exe2 = s.enqueue(fake_sha(22), "/bot2.exe", pe, 0, false);
        auto elf = s.enqueue(fake_sha(23), "/bot.elf", {}, 0, false);
        REQUIRE((exe2.ok() && elf.ok()));
        auto failed = s.fail_pending({exe2->id, elf->id}, "no windows machine", "windows");
        REQUIRE(failed.ok());
        CHECK(failed.value() == 1);
        CHECK(s.get(exe2->id).value()->state == TaskState::failed);
        CHECK(s.get(elf->id).value()->state == TaskState::pending);
    }

    SUBCASE("get_many reads the tasks asked for, in chunks") {
        auto s = open_store(config);
        std::vector<std::int64_t> ids;
        for (int i = 0; i < 700; ++i) {
            auto q = s.enqueue(fake_sha(5000 + i), "/bulk", {}, 0, false);
            REQUIRE(q.ok());
            if (i % 2 == 0)
                ids.push_back(q->id);
        }
        auto got = s.get_many(ids);
        REQUIRE(got.ok());
        CHECK(got->size() == ids.size());
    }
}

}  // namespace

TEST_CASE("task store on SQLite") {
    testing::TempDir tmp("botscope-store");
    Config config;
    config.data_dir = tmp.path / "data";
    store_cases(config);
}

TEST_CASE("task store on SQLite: a store made before tasks had a platform gets the column") {
    testing::TempDir tmp("botscope-store");
    Config config;
    config.data_dir = tmp.path / "data";
    fs::create_directories(config.data_dir);
    {
        // The schema of the first release of the queue, with one task waiting in it.
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "old-store");
        db.setDatabaseName(QString::fromStdString((config.data_dir / "tasks.db").string()));
        REQUIRE(db.open());
        QSqlQuery q(db);
        REQUIRE(
            q.exec("CREATE TABLE tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 TEXT NOT "
                   "NULL, dedup TEXT UNIQUE, sample_path TEXT NOT NULL, options TEXT NOT "
                   "NULL, want TEXT, priority INTEGER NOT NULL DEFAULT 0, state TEXT NOT "
                   "NULL, attempts INTEGER NOT NULL DEFAULT 0, machine TEXT, avoid TEXT, "
                   "owner TEXT, stage TEXT, error TEXT, queued BIGINT NOT NULL, started "
                   "BIGINT, finished BIGINT, timings TEXT)"));
        REQUIRE(
            q.exec("INSERT INTO tasks (sha256, sample_path, options, state, queued) VALUES "
                   "('" +
                   QString::fromStdString(fake_sha(1)) + "', '/old', '{}', 'pending', 1)"));
        db.close();
    }
    QSqlDatabase::removeDatabase("old-store");
    auto s = open_store(config);
    auto claimed = s.claim("o", "W", "windows");
    REQUIRE_MESSAGE(claimed.ok(), claimed.error().text());
    REQUIRE(claimed->has_value());
    CHECK(claimed->value().sample_path == "/old");
    TaskOptions pe;
    pe.platform = "windows";
    REQUIRE(s.enqueue(fake_sha(2), "/new.exe", pe, 0, false).ok());
    CHECK_FALSE(s.claim("o", "L", "linux").value().has_value());
}

TEST_CASE("sample_platform: PE, ELF and scripts by their first bytes, anything else anywhere") {
    auto of = [](std::string bytes) {
        return sample_platform(
            std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    };
    std::string pe(0x80, '\0');
    pe[0] = 'M';
    pe[1] = 'Z';
    pe[0x3c] = 0x40;
    pe.replace(0x40, 4, std::string("PE\0\0", 4));
    CHECK(of(pe) == "windows");
    std::string dos_only = pe;
    dos_only[0x40] = 'X';
    CHECK(of(dos_only) == "");  // an MZ header alone is a DOS program or a document
    std::string far = pe;
    far[0x3d] = 0x7f;  // e_lfanew past the bytes read
    CHECK(of(far) == "");
    CHECK(of("MZ") == "");
    CHECK(of("\x7f"
             "ELF\x02\x01\x01") == "linux");
    CHECK(of("#!/bin/sh\necho hi\n") == "linux");
    CHECK(of("%PDF-1.4") == "");
    CHECK(of("") == "");
}

TEST_CASE("task store on SQLite: numbering continues after the folders of earlier tasks") {
    testing::TempDir tmp("botscope-store");
    Config config;
    config.data_dir = tmp.path / "data";
    fs::create_directories(config.data_dir / "tasks" / "41");
    fs::create_directories(config.data_dir / "tasks" / "7");
    auto s = open_store(config);
    auto q = s.enqueue(fake_sha(1), "/a", {}, 0, false);
    REQUIRE(q.ok());
    CHECK(q->id == 42);
}

TEST_CASE("task store on PostgreSQL") {
    std::string why;
    auto pg = testing::PgServer::start(&why);
    if (!pg) {
        if (testing::required("BOTSCOPE_VM_REQUIRED"))
            FAIL("PostgreSQL is needed here: " << why);
        MESSAGE("skipped: " << why);
        return;
    }
    testing::TempDir tmp("botscope-store");
    Config config;
    config.data_dir = tmp.path / "data";
    config.store.driver = "postgres";
    config.store.host = pg->socket_dir();
    config.store.port = static_cast<std::uint16_t>(pg->port());
    config.store.user = pg->user();
    config.store.database = pg->database();
    // Each subcase starts from an empty queue, as on SQLite.
    pg->psql("DROP TABLE IF EXISTS tasks; DROP TABLE IF EXISTS controllers;");
    store_cases(config);
}

TEST_CASE("store_sample: content-addressed, written once, the sample checked") {
    testing::TempDir tmp("botscope-store");
    fs::path a = tmp.path / "a.bin", b = tmp.path / "b.bin", empty = tmp.path / "empty";
    std::ofstream(a) << "MZ sample";
    std::ofstream(b) << "MZ sample";
    { std::ofstream touch(empty); }
    auto sa = store_sample(tmp.path / "data", a);
    auto sb = store_sample(tmp.path / "data", b);
    REQUIRE(sa.ok());
    REQUIRE(sb.ok());
    CHECK(sa->sha256 == sb->sha256);
    CHECK(sa->path == tmp.path / "data" / "samples" / sa->sha256);
    fs::remove(a);
    CHECK(fs::file_size(sa->path) == 9);  // the honeypot's copy may go; ours stays
    auto se = store_sample(tmp.path / "data", empty);
    REQUIRE_FALSE(se.ok());
    CHECK(se.error().code == "sample");
}

}  // namespace botscope::tasks::test_task_store
