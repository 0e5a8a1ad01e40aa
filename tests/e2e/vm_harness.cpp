#include "vm_harness.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "support/report_check.h"

namespace botscope::e2e {

namespace fs = std::filesystem;

namespace {

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

}  // namespace

std::string sample() {
    return env_or("BOTSCOPE_SAMPLE", "");
}

std::string botemu() {
    return env_or("BOTSCOPE_BOTEMU", "");
}

std::string secret_file() {
    return env_or("BOTSCOPE_TESTGUEST_DIR", "/var/lib/botscope/testguest") + "/agent.secret";
}

std::string secret_file2() {
    return env_or("BOTSCOPE_TESTGUEST2_DIR", "/var/lib/botscope/testguest2") + "/agent.secret";
}

std::string forger() {
    return env_or("BOTSCOPE_FORGER", "");
}

Run botscope(const std::vector<std::string>& args, std::chrono::seconds deadline) {
    std::vector<std::string> all = {env_or("BOTSCOPE_BIN", "botscope")};
    all.insert(all.end(), args.begin(), args.end());
    return testing::run_process(all, deadline);
}

nlohmann::json parse_json(const Run& r) {
    INFO("stdout: " << r.out.substr(0, 2000));
    INFO("stderr: " << r.err);
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    return j;
}

bool wait_for_stage(const fs::path& task_dir, const std::string& stage) {
    for (int i = 0; i < 1200; ++i) {
        std::ifstream log(task_dir / "task.log");
        std::string text((std::istreambuf_iterator<char>(log)), {});
        if (text.find(" " + stage + "\n") != std::string::npos)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

Sandbox::Sandbox(const std::string& extra_main, const std::string& extra_machine,
                 const std::string& extra_sections) {
    std::random_device rd;
    root = fs::temp_directory_path() / ("botscope-e2e-" + std::to_string(rd()));
    fs::create_directories(root);
    config = root / "botscope.ini";
    data = root / "data";
    std::ofstream(config) << "[botscope]\n"
                          << "data_dir = " << data.string() << "\n"
                          << extra_main << "\n[testguest]\n"
                          << "domain = " << kDomain << "\n"
                          << "ip = 10.66.0.10\n"
                          << "secret_file = " << secret_file() << "\n"
                          << extra_machine << "\n"
                          << extra_sections << "\n";
}

Sandbox::~Sandbox() {
    // The tasks' folders under data/: their reports, logs and fakenet.jsonl, failed tasks too.
    botscope::testing::check_reports_before_removal(root);
    std::error_code ec;
    fs::remove_all(root, ec);
}

std::vector<std::string> Sandbox::with(std::vector<std::string> args) const {
    args.push_back("--config");
    args.push_back(config.string());
    return args;
}

}  // namespace botscope::e2e
