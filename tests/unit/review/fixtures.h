#pragma once
// The hand-written reports of reports/ (README.md there), and task stores made of them.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "report/json_common.h"
#include "support/temp_dir.h"

namespace review_fixtures {

namespace fs = std::filesystem;

inline fs::path fixture_path(const std::string& name) {
    return fs::path(BOTSCOPE_SOURCE_DIR) / "tests/unit/review/reports" / name;
}

inline std::string fixture_text(const std::string& name) {
    std::ifstream in(fixture_path(name), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline botscope::report::Json fixture(const std::string& name) {
    return botscope::report::Json::parse(fixture_text(name));
}

/// <dir>/tasks/<id>/report.json holding the fixture `name`.
inline void put_task(const fs::path& dir, const std::string& id, const std::string& name) {
    fs::create_directories(dir / "tasks" / id);
    std::ofstream(dir / "tasks" / id / "report.json", std::ios::binary) << fixture_text(name);
}

/// A store with the three bots as tasks 1-3 and the malformed report as task 4.
inline void make_store(const fs::path& dir) {
    put_task(dir, "1", "rbot-a.json");
    put_task(dir, "2", "rbot-b.json");
    put_task(dir, "3", "sdbot.json");
    put_task(dir, "4", "malformed.json");
}

}  // namespace review_fixtures
