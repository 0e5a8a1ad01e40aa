#pragma once
// Running the real `botscope` command against the real test guest (vm-templates/testguest):
// a child process with a deadline, and a fresh configuration and data folder per test.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"

namespace botscope::e2e {

using Run = testing::Run;

/// Runs $BOTSCOPE_BIN with `args`; kills it after `deadline` (the test then fails on the exit
/// code, it does not hang).
Run botscope(const std::vector<std::string>& args,
             std::chrono::seconds deadline = std::chrono::seconds(240));

/// The JSON a command printed; fails the test (with its output) when it is not JSON.
nlohmann::json parse_json(const Run& r);

/// Waits until the task folder's task.log names `stage` as started (each stage is logged as it
/// starts), for up to two minutes; false when it never did.
bool wait_for_stage(const std::filesystem::path& task_dir, const std::string& stage);

/// A temporary folder holding botscope.ini and data/, removed at the end.
struct Sandbox {
    explicit Sandbox(const std::string& extra_main = "", const std::string& extra_machine = "",
                     const std::string& extra_sections = "");
    ~Sandbox();
    std::vector<std::string> with(std::vector<std::string> args) const;  ///< + --config
    std::filesystem::path root, config, data;
};

/// The bundled sample (tests/e2e/netprobe.sh).
std::string sample();
/// The bundled bot emulator (tests/samples), static Linux build.
std::string botemu();
/// The test guest's secret file.
std::string secret_file();
/// The second test guest's secret file (`testguest/build --name testguest2`).
std::string secret_file2();
/// The forging sample (tests/e2e/forger.cpp), static Linux build.
std::string forger();

constexpr const char* kDomain = "botscope-testguest";
constexpr const char* kDomain2 = "botscope-testguest2";

}  // namespace botscope::e2e
