// QuarantineStore on a real temporary directory.
#include "machinery/quarantine.h"
#include "support/temp_dir.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace quarantine_test {

using namespace botscope::machinery;
namespace fs = std::filesystem;

namespace {

using botscope::testing::TempDir;

void write(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

int files_in(const fs::path& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        n += e.path().filename().string().front() != '.';  // not the lock file
    return n;
}

}  // namespace

TEST_CASE("quarantine: two failures quarantine, persisted across store objects") {
    TempDir tmp{"bs-mach-quarantine"};
    auto dir = tmp.path / "machines";  // created on the first write
    {
        QuarantineStore store(dir);
        auto h0 = store.get("vm-01");
        REQUIRE(h0.ok());
        CHECK(h0->machine == "vm-01");
        CHECK(h0->consecutive_failures == 0);
        CHECK_FALSE(h0->quarantined);

        auto h1 = store.record_failure("vm-01", "revert timed out");
        REQUIRE_MESSAGE(h1.ok(), h1.error().text());
        CHECK(h1->consecutive_failures == 1);
        CHECK_FALSE(h1->quarantined);
        CHECK(h1->since.size() == 20);  // 2026-11-26T12:00:00Z

        auto h2 = store.record_failure("vm-01", "agent never said hello");
        REQUIRE(h2.ok());
        CHECK(h2->consecutive_failures == 2);
        CHECK(h2->quarantined);
        CHECK(h2->last_error == "agent never said hello");
    }
    QuarantineStore again(dir);  // a new process would see the same
    auto h = again.get("vm-01");
    REQUIRE(h.ok());
    CHECK(h->quarantined);
    CHECK(h->consecutive_failures == 2);
    CHECK(h->last_error == "agent never said hello");
    CHECK(h->since.back() == 'Z');
    CHECK(files_in(dir) == 1);  // vm-01.json only: no temporary files left behind
    CHECK(fs::exists(dir / "vm-01.json"));

    // A success does not lift a quarantine; only the operator does.
    REQUIRE(again.record_success("vm-01").ok());
    auto still = again.get("vm-01");
    REQUIRE(still.ok());
    CHECK(still->quarantined);
    CHECK(still->consecutive_failures == 0);

    REQUIRE(again.release("vm-01").ok());
    auto released = QuarantineStore(dir).get("vm-01");
    REQUIRE(released.ok());
    CHECK_FALSE(released->quarantined);
    CHECK(released->consecutive_failures == 0);
    CHECK(released->last_error.empty());
    CHECK_FALSE(fs::exists(dir / "vm-01.json"));
    CHECK(again.release("vm-01").ok());  // releasing a healthy machine is fine
}

TEST_CASE("quarantine: a success before the threshold resets the count") {
    TempDir tmp{"bs-mach-quarantine"};
    QuarantineStore store(tmp.path);
    REQUIRE(store.record_failure("vm-02", "x").ok());
    REQUIRE(store.record_success("vm-02").ok());
    auto reset = store.get("vm-02");
    REQUIRE(reset.ok());
    CHECK(reset->consecutive_failures == 0);
    CHECK(reset->since.empty());
    auto h = store.record_failure("vm-02", "y");
    REQUIRE(h.ok());
    CHECK(h->consecutive_failures == 1);
    CHECK_FALSE(h->quarantined);
    // Machines are independent.
    auto other = store.record_failure("vm-03", "z");
    REQUIRE(other.ok());
    CHECK(other->consecutive_failures == 1);

    QuarantineStore three(tmp.path / "t3", 3);
    REQUIRE(three.record_failure("a", "1").ok());
    CHECK_FALSE(three.record_failure("a", "2")->quarantined);
    CHECK(three.record_failure("a", "3")->quarantined);
    CHECK(QuarantineStore(tmp.path / "t0", 0).threshold() == 1);
}

TEST_CASE("quarantine: corrupt or hostile files are errors naming the file") {
    TempDir tmp{"bs-mach-quarantine"};
    QuarantineStore store(tmp.path);
    auto expect_corrupt = [&](const std::string& machine) {
        auto h = store.get(machine);
        REQUIRE_FALSE(h.ok());
        CHECK(h.error().code == "corrupt");
        CHECK_MESSAGE(
            h.error().message.find((tmp.path / (machine + ".json")).string()) != std::string::npos,
            h.error().message);
        // Counting on top of a corrupt file is refused too, and leaves it alone.
        auto f = store.record_failure(machine, "r");
        REQUIRE_FALSE(f.ok());
        CHECK(f.error().code == "corrupt");
    };
    write(tmp.path / "garbage.json", "{\"machine\": \"garbage\", \"consecutive_fail");
    expect_corrupt("garbage");
    write(tmp.path / "array.json", "[1,2,3]");
    expect_corrupt("array");
    write(tmp.path / "types.json",
          R"({"machine":"types","consecutive_failures":"two","quarantined":true,)"
          R"("last_error":"","since":""})");
    expect_corrupt("types");
    write(tmp.path / "negative.json",
          R"({"machine":"negative","consecutive_failures":-1,"quarantined":false,)"
          R"("last_error":"","since":""})");
    expect_corrupt("negative");
    write(tmp.path / "other.json",
          R"({"machine":"someone-else","consecutive_failures":1,"quarantined":false,)"
          R"("last_error":"","since":""})");
    expect_corrupt("other");
    write(tmp.path / "huge.json", std::string(QuarantineStore::kMaxFileBytes + 1, ' '));
    expect_corrupt("huge");
    fs::create_directory(tmp.path / "dir.json");
    expect_corrupt("dir");
    fs::create_symlink("/etc/passwd", tmp.path / "link.json");
    expect_corrupt("link");
    CHECK(fs::read_symlink(tmp.path / "link.json") == "/etc/passwd");

    // The operator's way out.
    REQUIRE(store.release("garbage").ok());
    CHECK(store.get("garbage").ok());
}

TEST_CASE("quarantine: machine names are checked before they become file names") {
    TempDir tmp{"bs-mach-quarantine"};
    QuarantineStore store(tmp.path);
    for (std::string bad : {std::string(""), std::string(".hidden"), std::string("../etc/x"),
                            std::string("a/b"), std::string("vm 1"), std::string("vm\n1"),
                            std::string("\xc3\xbc"), std::string(65, 'a')}) {
        CAPTURE(bad);
        auto g = store.get(bad);
        REQUIRE_FALSE(g.ok());
        CHECK(g.error().code == "bad_name");
        CHECK(store.record_failure(bad, "r").error().code == "bad_name");
        CHECK(store.record_success(bad).error().code == "bad_name");
        CHECK(store.release(bad).error().code == "bad_name");
    }
    CHECK(files_in(tmp.path) == 0);
    CHECK(store.record_failure("Vm-01.a_b", "r").ok());
    CHECK(store.record_failure(std::string(64, 'a'), "r").ok());
}

TEST_CASE("quarantine: odd reasons are stored, bounded; an unwritable directory is io") {
    TempDir tmp{"bs-mach-quarantine"};
    QuarantineStore store(tmp.path);
    std::string reason = "bad \xff\xfe bytes \"quoted\"\n" + std::string(5000, 'r');
    auto h = store.record_failure("vm", reason);
    REQUIRE_MESSAGE(h.ok(), h.error().text());
    auto back = store.get("vm");
    REQUIRE_MESSAGE(back.ok(), back.error().text());
    CHECK(back->last_error.size() <= QuarantineStore::kMaxReasonBytes);
    CHECK(back->last_error.rfind("bad \xef\xbf\xbd\xef\xbf\xbd bytes \"quoted\"\n", 0) == 0);
    CHECK(h->last_error == back->last_error);
    // Cut on a character boundary: 1023 ASCII bytes and a 3-byte character do not fit in 1024.
    auto cut = store.record_failure("vm", std::string(1023, 'x') + "\xe2\x82\xac");
    REQUIRE(cut.ok());
    CHECK(cut->last_error == std::string(1023, 'x'));

    write(tmp.path / "not-a-dir", "x");
    QuarantineStore blocked(tmp.path / "not-a-dir");
    auto f = blocked.record_failure("vm", "r");
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().code == "io");
    CHECK(f.error().message.find("not-a-dir") != std::string::npos);
}

}  // namespace quarantine_test
