#pragma once
// Running the real `botscope` command against the real test guest (vm-templates/testguest):
// a child process with a deadline, and a fresh configuration and data folder per test.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace botscope::e2e {

struct Run {
    int exit_code = -1;
    std::string out, err;
    double seconds = 0;
};

/// Runs $BOTSCOPE_BIN with `args`; kills it after `deadline` (the test then fails on the exit
/// code, it does not hang).
Run botscope(const std::vector<std::string>& args,
             std::chrono::seconds deadline = std::chrono::seconds(240));

/// A temporary folder holding botscope.ini and data/, removed at the end.
struct Sandbox {
    explicit Sandbox(const std::string& extra_main = "", const std::string& extra_machine = "");
    ~Sandbox();
    std::vector<std::string> with(std::vector<std::string> args) const;  ///< + --config
    std::filesystem::path root, config, data;
};

/// The bundled sample (tests/e2e/netprobe.sh).
std::string sample();
/// The test guest's secret file.
std::string secret_file();

constexpr const char* kDomain = "botscope-testguest";

}  // namespace botscope::e2e
