#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <fstream>

#include "fixtures.h"
#include "review/index.h"

namespace test_index {

using namespace botscope::review;
using namespace review_fixtures;

std::vector<std::string> ids(const Index& index) {
    std::vector<std::string> out;
    for (const auto& f : index.tasks)
        out.push_back(f.id);
    return out;
}

bool warned(const Index& index, const std::string& part) {
    for (const auto& w : index.warnings)
        if (w.find(part) != std::string::npos)
            return true;
    return false;
}

/// Makes `file` look written `seconds` from now.
void touch(const fs::path& file, int seconds) {
    fs::last_write_time(file, fs::file_time_type::clock::now() + std::chrono::seconds(seconds));
}

TEST_CASE("no tasks folder: an empty index, nothing written") {
    botscope::testing::TempDir dir("review-index");
    dir.hand_written_reports = true;
    auto index = load_index(dir.path);
    REQUIRE(index);
    CHECK(index->tasks.empty());
    CHECK(!fs::exists(index_path(dir.path)));
}

TEST_CASE("built from the folders, a malformed report left out with a warning naming it") {
    botscope::testing::TempDir dir("review-index");
    dir.hand_written_reports = true;
    make_store(dir.path);
    fs::create_directories(dir.path / "tasks" / "5");  // still running: no report yet
    fs::create_directories(dir.path / "tasks" / "notes");
    auto index = load_index(dir.path);
    REQUIRE(index);
    CHECK(ids(index.value()) == std::vector<std::string>{"1", "2", "3"});
    CHECK(index->read == 4);
    CHECK(index->saved);
    CHECK(warned(index.value(), "tasks/4/report.json: not valid JSON"));
    CHECK(index->warnings.size() == 1);

    // Read again: every line from the index, only the malformed report tried again.
    auto again = load_index(dir.path);
    REQUIRE(again);
    CHECK(again->read == 1);
    CHECK(!again->saved);
    CHECK(ids(again.value()) == ids(index.value()));
    CHECK(again->tasks[0].family == "rbot");
}

TEST_CASE("a task added without the index, or a report rewritten, is read again") {
    botscope::testing::TempDir dir("review-index");
    dir.hand_written_reports = true;
    put_task(dir.path, "1", "rbot-a.json");
    REQUIRE(load_index(dir.path));
    put_task(dir.path, "7", "sdbot.json");
    touch(dir.path / "tasks" / "7" / "report.json", -60);  // older than the index, yet new to it
    auto index = load_index(dir.path);
    REQUIRE(index);
    CHECK(ids(index.value()) == std::vector<std::string>{"1", "7"});
    CHECK(index->read == 1);
    CHECK(index->tasks[1].id == "7");  // the folder's name, not the report's task.id

    put_task(dir.path, "1", "rbot-b.json");
    touch(dir.path / "tasks" / "1" / "report.json", 10);
    index = load_index(dir.path);
    CHECK(index->read == 1);
    CHECK(index->tasks[0].sample_name == "rbot-b.exe");

    fs::remove_all(dir.path / "tasks" / "7");
    index = load_index(dir.path);
    CHECK(ids(index.value()) == std::vector<std::string>{"1"});
    CHECK(index->saved);
}

TEST_CASE("update_index remakes the task's line whatever the times say") {
    botscope::testing::TempDir dir("review-index");
    dir.hand_written_reports = true;
    put_task(dir.path, "1", "rbot-a.json");
    REQUIRE(load_index(dir.path));
    put_task(dir.path, "1", "sdbot.json");
    touch(dir.path / "tasks" / "1" / "report.json", -3600);
    CHECK(load_index(dir.path)->tasks[0].sample_name == "rbot-a.exe");
    auto index = update_index(dir.path, "1");
    REQUIRE(index);
    CHECK(index->tasks[0].sample_name == "sd.exe");
    CHECK(load_index(dir.path)->tasks[0].sample_name == "sd.exe");
}

TEST_CASE("a damaged index is rebuilt from the folders, with a warning") {
    botscope::testing::TempDir dir("review-index");
    dir.hand_written_reports = true;
    put_task(dir.path, "1", "rbot-a.json");
    put_task(dir.path, "2", "sdbot.json");
    REQUIRE(load_index(dir.path));
    for (const char* damage : {"{\"index\": \"botscope.index/1\"}\n{\"id\": \"1\", \"sampl",
                               "{\"index\": \"botscope.index/0\"}\n",
                               "{\"index\": \"botscope.index/1\"}\n{\"id\": \"x\", \"sample\": {}}",
                               "\x01\x02 not json at all"}) {
        std::ofstream(index_path(dir.path), std::ios::binary) << damage;
        touch(index_path(dir.path), 60);
        auto index = load_index(dir.path);
        REQUIRE(index);
        CHECK_MESSAGE((ids(index.value()) == std::vector<std::string>{"1", "2"}), damage);
        CHECK(warned(index.value(), "rebuilt from the task folders"));
        CHECK(index->saved);
    }
}

TEST_CASE("a read-only store is read, and says its index was not saved") {
    if (::geteuid() == 0)
        return;  // root writes anyway
    botscope::testing::TempDir dir("review-index");
    dir.hand_written_reports = true;
    put_task(dir.path, "1", "rbot-a.json");
    fs::permissions(dir.path / "tasks", fs::perms::owner_read | fs::perms::owner_exec);
    auto index = load_index(dir.path);
    fs::permissions(dir.path / "tasks", fs::perms::owner_all);
    REQUIRE(index);
    CHECK(ids(index.value()) == std::vector<std::string>{"1"});
    CHECK(warned(index.value(), "index not saved"));
}

}  // namespace test_index
