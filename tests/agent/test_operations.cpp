// Every operation of the real agent through the real client, over each transport of the mode
// (Linux: unix socket and TCP on 127.0.0.1; wine: TCP on 127.0.0.1).
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "harness.h"
#include "util/hash.h"

namespace test_operations {

using namespace botscope::agent;
using namespace botscope::agent::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("agents start") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        CHECK(a->startup_error() == "");
        REQUIRE(a->running());
    }
}

TEST_CASE("hello reports OS, versions and the guest clock") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        auto c = a->connect();
        REQUIRE_MESSAGE(c.ok(), c.error().text());
        auto h = c->hello();
        REQUIRE_MESSAGE(h.ok(), h.error().text());
        CHECK(h->os == (Env::get().wine_mode() ? "windows" : "linux"));
        CHECK(h->version == proto::kVersion);
        CHECK(h->agent_version == "0.1.0");
        CHECK(!h->os_version.empty());
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        CHECK(std::llabs(h->time_ms - now) < 60'000);
        // Several requests on one connection.
        CHECK(c->hello().ok());
    }
}

TEST_CASE("a full run: put, exec, process watch, dropped files, sockets, autostart, kill") {
    auto& sh = Shared::get();
    auto sample = read_file(Env::get().sample_bin);
    REQUIRE(!sample.empty());
    // The agents share one work directory: run them one after the other.
    for (auto& a : sh.agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        auto c = a->connect();
        REQUIRE_MESSAGE(c.ok(), c.error().text());
        const std::string exe = Env::get().wine_mode() ? "sample.exe" : "sample_bot";
        auto put = c->put(exe, sample);
        REQUIRE_MESSAGE(put.ok(), put.error().text());
        CHECK(put->size == sample.size());
        CHECK(put->sha256 == botscope::util::sha256_hex(sample));
        CHECK(read_file(sh.scratch.work / exe) == sample);

        auto w = c->watch_start();
        REQUIRE_MESSAGE(w.ok(), w.error().text());
        CHECK(w->processes > 0);

        auto pid =
            c->exec(exe, {a->guest_path(sh.scratch.watch), a->guest_path(sh.scratch.autoroot)});
        REQUIRE_MESSAGE(pid.ok(), pid.error().text());

        // The sample starts a child, drops a file, adds autostart and listens; give it time.
        ProcessList procs;
        std::vector<ListenSocket> socks;
        bool child_seen = false, listening = false;
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (std::chrono::steady_clock::now() < until && !(child_seen && listening)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            auto p = c->processes();
            REQUIRE_MESSAGE(p.ok(), p.error().text());
            procs = p.value();
            for (auto& e : procs.events)
                if (e.type == "start" && e.ppid == pid.value() && e.in_tree)
                    child_seen = true;
            auto s = c->sockets();
            REQUIRE_MESSAGE(s.ok(), s.error().text());
            socks = s->sockets;
            int port = 0;
            std::ifstream(sh.scratch.watch / "sample_port.txt") >> port;
            // Wine's GetExtendedTcpTable reports no owner (pid 0) for any socket, so under
            // wine the sample's socket is recognised by its port alone.
            for (auto& so : socks)
                if (port != 0 && so.port == port && so.address == "127.0.0.1" &&
                    (Env::get().wine_mode() || so.pid == pid.value()))
                    listening = true;
        }
        bool root_seen = false;
        for (auto& e : procs.events)
            if (e.type == "start" && e.pid == pid.value()) {
                root_seen = true;
                CHECK(e.image.find(exe) != std::string::npos);
                CHECK(e.cmdline.find(exe) != std::string::npos);
                CHECK(e.in_tree);
            }
        CHECK(root_seen);
        CHECK(child_seen);
        // The child's image and command line are read from the OS (Linux /proc, Windows the
        // process's PEB), not known to the agent beforehand.
        for (auto& e : procs.events)
            if (e.type == "start" && e.ppid == pid.value()) {
                CHECK(e.image.find(exe) != std::string::npos);
                CHECK(e.cmdline.find("child") != std::string::npos);
            }
        if (!listening)
            for (auto& so : socks)
                MESSAGE("listening: " << so.proto << " " << so.address << ":" << so.port << " pid "
                                      << so.pid << " " << so.image);
        CHECK(listening);
        for (auto& so : socks)
            if (so.pid == pid.value()) {
                CHECK(so.in_tree);
                CHECK(so.image.find(exe) != std::string::npos);
            }

        auto d = c->dropped();
        REQUIRE_MESSAGE(d.ok(), d.error().text());
        const DroppedFile* drop = nullptr;
        for (auto& f : d->files)
            if (f.path.find("sample_drop.bin") != std::string::npos)
                drop = &f;
        REQUIRE(drop != nullptr);
        CHECK(drop->status == "created");
        CHECK(drop->size > 0);
        CHECK(drop->sha256.size() == 64);
        // The sample itself was in the work directory before the watch began: not dropped.
        for (auto& f : d->files)
            CHECK(f.path.find(exe) == std::string::npos);

        auto got = c->fetch(drop->id, sh.scratch.store);
        REQUIRE_MESSAGE(got.ok(), got.error().text());
        CHECK(got->sha256 == drop->sha256);
        CHECK(got->stored == sh.scratch.store / drop->sha256);
        CHECK(read_file(got->stored) == read_file(sh.scratch.watch / "sample_drop.bin"));
        CHECK(!c->fetch(9999, sh.scratch.store).ok());

        auto as = c->autostart();
        REQUIRE_MESSAGE(as.ok(), as.error().text());
        // The sample adds one entry (a cron file on Linux, a Run value on Windows): it is
        // listed once, as added during the watch.
        std::vector<const AutostartEntry*> ours;
        for (auto& e : as->entries)
            if (e.name.find("botscope-sample") != std::string::npos ||
                e.name.find("botscope_sample_") != std::string::npos)
                ours.push_back(&e);
        REQUIRE(ours.size() == 1);
        CHECK(ours.front()->status == "added");
        for (auto& e : as->entries)
            CHECK(e.name.find("existing") == std::string::npos);  // there before the watch

        auto killed = c->kill();
        REQUIRE_MESSAGE(killed.ok(), killed.error().text());
        CHECK(std::find(killed->begin(), killed->end(), pid.value()) != killed->end());
        CHECK(killed->size() >= 2);  // the sample and its child
        // The agent notes the exits at its next look at the process table (every 50 ms here):
        // ask until it has, not after a guessed time.
        ProcessList after;
        bool exit_seen = false;
        until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        do {
            auto p = c->processes();
            REQUIRE_MESSAGE(p.ok(), p.error().text());
            after = p.value();
            for (auto& e : after.events)
                if (e.type == "exit" && e.pid == pid.value())
                    exit_seen = true;
            if (exit_seen && after.tree_alive.empty())
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        } while (std::chrono::steady_clock::now() < until);
        CHECK(after.tree_alive.empty());
        CHECK(exit_seen);

        // Clean up for the next transport's run.
        std::error_code ec;
        fs::remove(sh.scratch.watch / "sample_drop.bin", ec);
        fs::remove(sh.scratch.watch / "sample_port.txt", ec);
        fs::remove_all(sh.scratch.autoroot / "etc" / "cron.d", ec);
    }
}

TEST_CASE("exec refuses what is not a plain file of the work directory") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        auto c = a->connect();
        REQUIRE(c.ok());
        auto r = c->exec("no-such-file");
        CHECK(r.error().code == "not_found");
        r = c->exec("../../bin/sh");
        CHECK(r.error().code == "bad_name");
        r = c->exec("C:\\Windows\\system32\\cmd.exe");
        CHECK(r.error().code == "bad_name");
        CHECK(c->hello().ok());  // the session goes on after a refusal
    }
}

TEST_CASE("kill of a given pid and set_clock") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        auto c = a->connect();
        REQUIRE(c.ok());
        auto bad = c->set_clock(5);
        CHECK(bad.error().code == "bad_request");
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        // The test starts the agent without CAP_SYS_TIME, so the host clock cannot change: on
        // Linux the agent must report the OS's refusal; wine may report either.
        auto r = c->set_clock(now);
        if (Env::get().wine_mode())
            CHECK((r.ok() || r.error().code == "os_error"));
        else
            CHECK(r.error().code == "os_error");
        CHECK(c->kill(0).error().code == "bad_request");
        auto k = c->kill(4'000'000);  // no such process: nothing killed, no error
        REQUIRE(k.ok());
        CHECK(k->empty());
    }
}

TEST_CASE("put and fetch throughput (16 MiB)") {
    auto& sh = Shared::get();
    auto& a = *sh.agents.back();
    auto c = a.connect(Options{.connect_timeout = std::chrono::seconds(10),
                               .call_timeout = std::chrono::seconds(60)});
    REQUIRE(c.ok());
    std::vector<std::uint8_t> big(16 * 1024 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::uint8_t>(i * 2654435761u >> 13);
    REQUIRE(c->watch_start().ok());
    auto t0 = std::chrono::steady_clock::now();
    auto put = c->put("big.bin", big);
    auto t1 = std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(put.ok(), put.error().text());
    auto d = c->dropped();
    REQUIRE(d.ok());
    std::int64_t id = 0;
    for (auto& f : d->files)
        if (f.path.find("big.bin") != std::string::npos)
            id = f.id;
    REQUIRE(id != 0);
    auto t2 = std::chrono::steady_clock::now();
    auto got = c->fetch(id, sh.scratch.store);
    auto t3 = std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(got.ok(), got.error().text());
    CHECK(got->size == big.size());
    CHECK(got->sha256 == botscope::util::sha256_hex(big));
    auto mbps = [](std::chrono::steady_clock::duration d) {
        return 16.0 / std::chrono::duration<double>(d).count();
    };
    MESSAGE("put 16 MiB: " << mbps(t1 - t0) << " MiB/s, fetch: " << mbps(t3 - t2) << " MiB/s");
    fs::remove(sh.scratch.work / "big.bin");
    fs::remove(got->stored);
}

}  // namespace test_operations
