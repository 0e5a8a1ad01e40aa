#include "support/report_check.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include <doctest/doctest.h>

namespace botscope::testing {

namespace fs = std::filesystem;

namespace {

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// Runs the validator; its output, and a line of ours when it failed without saying why
/// (python3 or jsonschema missing, a crash).
std::string run_validator(const fs::path& path, bool tree) {
    std::string cmd =
        "/usr/bin/python3 " +
        quoted((fs::path(BOTSCOPE_SOURCE_DIR) / "tools" / "validate-report").string()) +
        " --quiet --sample-over " + std::to_string(kSchemaSampleLines) + (tree ? " --tree " : " ") +
        quoted(path.string()) + " 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (!p)
        return "cannot run tools/validate-report";
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
        out.append(buf, n);
    const int status = ::pclose(p);
    if (status == 0)
        return {};
    if (out.empty())
        out = "tools/validate-report failed with status " + std::to_string(status) + "\n";
    return out;
}

}  // namespace

std::string schema_problems(const fs::path& path, bool tree) {
    return run_validator(path, tree);
}

std::string report_schema_problems(std::string_view report_json) {
    char pattern[] = "/tmp/botscope-report-XXXXXX";
    const int fd = ::mkstemp(pattern);
    if (fd < 0)
        return "cannot create a temporary file for the report";
    ::close(fd);
    // Named .json so that the validator takes it for a report.
    const fs::path file = std::string(pattern) + ".json";
    std::error_code ec;
    fs::rename(pattern, file, ec);
    { std::ofstream(file, std::ios::binary) << report_json; }
    std::string problems = run_validator(file, false);
    fs::remove(file, ec);
    fs::remove(pattern, ec);
    return problems;
}

bool holds_reports(const fs::path& dir) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        if (p.filename() == "report.json" || p.extension() == ".jsonl")
            return true;
    }
    return false;
}

void check_reports_before_removal(const fs::path& dir) {
    if (!holds_reports(dir))
        return;
    const std::string problems = schema_problems(dir, true);
    if (problems.empty())
        return;
    if (doctest::is_running_in_test) {
        const std::string why =
            "a report or log made by this test does not match its schema:\n" + problems;
        FAIL_CHECK(why);
        return;
    }
    std::fprintf(stderr, "a report or log made by the tests does not match its schema:\n%s",
                 problems.c_str());
    std::_Exit(1);
}

}  // namespace botscope::testing
