// YARA over a task's files in a child process (tasks/signature_scan.h), with the real
// `botscope signatures scan --jsonl`: a file that crashes or hangs the scan is reported as
// such, and the files after it are still scanned.

#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/temp_dir.h"
#include "tasks/signature_scan.h"

namespace test_signature_scan {

using namespace botscope::tasks;
using botscope::testing::TempDir;
namespace fs = std::filesystem;

namespace {

fs::path botscope_bin() {
    const char* bin = std::getenv("BOTSCOPE_BIN");
    REQUIRE_MESSAGE(bin != nullptr, "BOTSCOPE_BIN names the botscope binary (set by ctest)");
    return bin;
}

struct Hook {
    explicit Hook(const std::string& h) { ::setenv("BOTSCOPE_TEST_HOOK", h.c_str(), 1); }
    ~Hook() { ::unsetenv("BOTSCOPE_TEST_HOOK"); }
};

/// A rule tree and three files: the sample and two dropped files, the second with no match.
struct Files {
    TempDir dir{"botscope-sigscan"};
    std::vector<ScanTarget> targets;
    Files() {
        fs::create_directories(dir.path / "rules");
        fs::create_directories(dir.path / "files");
        dir.write("rules/bot.yar",
                  "rule bot_marker : bot {\n  meta:\n    family = \"test\"\n"
                  "  strings:\n    $a = \"BOT-MARKER\"\n  condition:\n    $a\n}\n");
        dir.write("sample", "...BOT-MARKER...");
        dir.write("files/aaaa", "dropped with BOT-MARKER");
        dir.write("files/bbbb", "dropped, plain");
        targets = {{"sample", dir.path / "sample", "sample"},
                   {"dropped", dir.path / "files/aaaa", "files/aaaa"},
                   {"dropped", dir.path / "files/bbbb", "files/bbbb"}};
    }
    std::vector<fs::path> trees() const { return {dir.path / "rules"}; }
};

}  // namespace

TEST_CASE("signature scan: the sample and each dropped file, with their matches") {
    Files f;
    auto part = scan_in_child(botscope_bin(), f.trees(), f.targets, {});
    INFO(part.dump());
    CHECK(part["status"] == "ok");
    CHECK(part["rules"]["rules"] == 1);
    REQUIRE(part["scans"].size() == 3);
    CHECK(part["scans"][0]["kind"] == "sample");
    CHECK(part["scans"][0]["file"] == "sample");
    CHECK(part["scans"][0]["status"] == "ok");
    CHECK(part["scans"][0]["matches"][0]["rule"] == "bot_marker");
    CHECK(part["scans"][0]["matches"][0]["meta"]["family"] == "test");
    CHECK(part["scans"][0]["matches"][0]["strings"][0]["offset"] == 3);
    CHECK(part["scans"][1]["file"] == "files/aaaa");
    CHECK(part["scans"][1]["matches"][0]["rule"] == "bot_marker");
    CHECK(part["scans"][2]["status"] == "ok");
    CHECK(part["scans"][2]["matches"].empty());
    CHECK(part["rules"]["warnings"].empty());
}

TEST_CASE("signature scan: the compiler's warnings about the rules reach the report") {
    Files f;
    f.dir.write("rules/slow.yar", "rule slow_one { strings: $x = \"x\" condition: $x }\n");
    auto part = scan_in_child(botscope_bin(), f.trees(), f.targets, {});
    INFO(part.dump());
    REQUIRE(part["rules"]["warnings"].size() == 1);
    CHECK(part["rules"]["warnings"][0].get<std::string>().find("slow.yar:1: warning:") !=
          std::string::npos);
}

TEST_CASE("signature scan: a crash on one file fails that scan only") {
    Files f;
    Hook hook("signatures-crash:aaaa");
    auto part = scan_in_child(botscope_bin(), f.trees(), f.targets, {});
    INFO(part.dump());
    CHECK(part["status"] == "ok");
    REQUIRE(part["scans"].size() == 3);
    CHECK(part["scans"][0]["status"] == "ok");
    CHECK(part["scans"][0]["matches"].size() == 1);
    CHECK(part["scans"][1]["status"] == "crashed");
    CHECK(part["scans"][1]["error"].get<std::string>().starts_with("the scan crashed (signal 6"));
    CHECK(part["scans"][2]["status"] == "ok");  // in a new child
}

TEST_CASE("signature scan: a hang on one file is cut and reported, and the rest scanned") {
    Files f;
    Hook hook("signatures-hang:sample");
    SignatureLimits limits;
    limits.per_file = std::chrono::seconds(1);
    limits.startup = std::chrono::seconds(2);
    auto part = scan_in_child(botscope_bin(), f.trees(), f.targets, limits);
    INFO(part.dump());
    REQUIRE(part["scans"].size() == 3);
    CHECK(part["scans"][0]["status"] == "hung");
    CHECK(part["scans"][0]["error"] == "the scan gave no result for 3 s; killed");
    CHECK(part["scans"][1]["matches"][0]["rule"] == "bot_marker");
    CHECK(part["scans"][2]["status"] == "ok");
}

TEST_CASE("signature scan: hostile files cannot start children without end") {
    Files f;
    Hook hook("signatures-crash:aaaa");
    SignatureLimits limits;
    limits.max_children = 1;
    auto part = scan_in_child(botscope_bin(), f.trees(), f.targets, limits);
    INFO(part.dump());
    CHECK(part["scans"][1]["status"] == "crashed");
    CHECK(part["scans"][2]["status"] == "not_scanned");
}

TEST_CASE("signature scan: rules that do not compile are named before anything runs") {
    Files f;
    f.dir.write("rules/broken.yar", "rule broken {\n  condition: nothing_here }\n");
    std::string e = check_rules(f.trees());
    CHECK(e.find("broken.yar:2: error: undefined identifier") != std::string::npos);
    CHECK(check_rules({f.dir.path / "no-such-dir"}).find("no such file") != std::string::npos);
    fs::remove(f.dir.path / "rules/broken.yar");
    CHECK(check_rules(f.trees()).empty());
}

}  // namespace test_signature_scan
