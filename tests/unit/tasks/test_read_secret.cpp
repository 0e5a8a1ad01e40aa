// The agent secret file: read only when no one but its owner can read it.

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tasks/agent_session.h"

namespace botscope::tasks::test_read_secret {

TEST_CASE("read_secret refuses a secret file that group or others can read") {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / "bs-secret-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    fs::path dir = tmpl;
    Machine m;
    m.name = "vm1";
    m.secret_file = dir / "agent.secret";
    std::ofstream(m.secret_file) << std::string(64, 'a') << "\n";

    for (mode_t mode : {0644, 0640, 0604, 0444}) {
        CAPTURE(mode);
        REQUIRE(::chmod(m.secret_file.c_str(), mode) == 0);
        auto r = read_secret(m);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "secret");
        const std::string& msg = r.error().message;
        CHECK(msg.find(m.secret_file.string()) != std::string::npos);
        char octal[32];
        std::snprintf(octal, sizeof octal, "mode %04o", static_cast<unsigned>(mode));
        CHECK_MESSAGE(msg.find(octal) != std::string::npos, msg);
        CHECK(msg.find("chmod 600 " + m.secret_file.string()) != std::string::npos);
    }
    for (mode_t mode : {0600, 0400, 0620}) {  // writable by the group is not a leak
        CAPTURE(mode);
        REQUIRE(::chmod(m.secret_file.c_str(), mode) == 0);
        auto r = read_secret(m);
        REQUIRE_MESSAGE(r.ok(), r.error().text());
        CHECK(r->size() == 32);
    }

    m.secret_file = dir / "missing.secret";
    auto missing = read_secret(m);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "secret");
    CHECK(missing.error().message.find("missing.secret") != std::string::npos);
    fs::remove_all(dir);
}

}  // namespace botscope::tasks::test_read_secret
