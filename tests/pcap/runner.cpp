// pcap_case_runner: runs one pcap regression case. It generates the case's capture, runs the
// real CLI on it and checks the facts listed in the case's expected.json (format in
// tests/pcap/README.md).
//
//   pcap_case_runner CASE_DIR BOTSCOPE_BINARY   check a case (exit 0 all facts hold, 1 not)
//   pcap_case_runner --write CASE FILE           write a case's capture, to look at it
//   pcap_case_runner --list                      list the cases that have a generator

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pcap/cases.h"

namespace {

namespace fs = std::filesystem;
namespace cases = botscope::testing::pcap_cases;
using Json = nlohmann::json;

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitSetup = 2;

/// A broken case or environment, as opposed to a fact that does not hold.
struct SetupError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A directory under the system's temporary directory, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "botscope-pcap-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw SetupError("cannot create a temporary directory under " + pattern);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

/// Runs `command` through the shell and returns its standard output; its standard error goes
/// to ours so that the CLI's warnings show in the test log.
std::string run_command(const std::string& command) {
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr)
        throw SetupError("cannot run: " + command);
    std::string out;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
        out.append(buf, n);
    int status = ::pclose(pipe);
    if (status == -1)
        throw SetupError("cannot wait for: " + command);
    if (!WIFEXITED(status))
        throw SetupError("killed by a signal (" + std::to_string(WTERMSIG(status)) +
                         "): " + command);
    if (WEXITSTATUS(status) != 0)
        throw SetupError("exit code " + std::to_string(WEXITSTATUS(status)) + ": " + command);
    return out;
}

/// What tools/validate-report says about the folder `dir`, empty when every file is valid.
std::string schema_problems(const fs::path& dir) {
    const std::string command = "/usr/bin/python3 " +
                                shell_quote(BOTSCOPE_SOURCE_DIR "/tools/validate-report") +
                                " --quiet " + shell_quote(dir.string()) + " 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr)
        throw SetupError("cannot run: " + command);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
        out.append(buf, n);
    const int status = ::pclose(pipe);
    if (status != 0 && out.empty())
        out = "exit status " + std::to_string(status) + ": " + command + "\n";
    return status == 0 ? std::string() : out;
}

Json read_json_file(const fs::path& path) {
    std::ifstream in(path);
    if (!in)
        throw SetupError("cannot read " + path.string());
    try {
        return Json::parse(in);
    } catch (const Json::parse_error& e) {
        throw SetupError(path.string() + ": " + e.what());
    }
}

std::string brief(const Json& j) {
    std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
    constexpr std::size_t kMax = 600;
    if (s.size() > kMax)
        s = s.substr(0, kMax) + "...";
    return s;
}

/// Whether `actual` has everything `expected` has: objects by key (extra keys in `actual` are
/// fine), arrays element by element with the same length, anything else by equality.
bool subset_match(const Json& expected, const Json& actual) {
    if (expected.is_object()) {
        if (!actual.is_object())
            return false;
        for (const auto& [key, value] : expected.items()) {
            auto it = actual.find(key);
            if (it == actual.end() || !subset_match(value, *it))
                return false;
        }
        return true;
    }
    if (expected.is_array()) {
        if (!actual.is_array() || actual.size() != expected.size())
            return false;
        for (std::size_t i = 0; i < expected.size(); ++i)
            if (!subset_match(expected[i], actual[i]))
                return false;
        return true;
    }
    return expected == actual;
}

struct Outcome {
    bool ok = false;
    std::string detail;  // what was found, when the fact does not hold
};

/// Checks one fact against the report; throws SetupError for a malformed fact.
Outcome check_fact(const Json& fact, const Json& report) {
    if (!fact.is_object() || !fact.contains("path") || !fact["path"].is_string())
        throw SetupError("a fact needs a \"path\" string: " + brief(fact));
    std::optional<std::string> kind;
    for (const auto& [key, value] : fact.items()) {
        if (key == "path" || key == "note")
            continue;
        if (key != "equals" && key != "count" && key != "contains" && key != "at_least")
            throw SetupError("unknown key \"" + key + "\" in fact " + brief(fact));
        if (kind)
            throw SetupError("a fact checks one thing: " + brief(fact));
        kind = key;
    }
    if (!kind)
        throw SetupError("a fact needs equals, count, contains or at_least: " + brief(fact));

    Json::json_pointer pointer;
    try {
        pointer = Json::json_pointer(fact["path"].get<std::string>());
    } catch (const Json::exception& e) {
        throw SetupError("bad path in " + brief(fact) + ": " + e.what());
    }
    if (!report.contains(pointer))
        return {false, "the path does not exist"};
    const Json& actual = report.at(pointer);
    const Json& want = fact[*kind];

    if (*kind == "equals") {
        if (actual == want)
            return {true, {}};
        return {false, "actual " + brief(actual)};
    }
    if (*kind == "count") {
        if (!want.is_number_unsigned())
            throw SetupError("count needs a number: " + brief(fact));
        if (!actual.is_array())
            return {false, "not an array: " + brief(actual)};
        if (actual.size() == want.get<std::size_t>())
            return {true, {}};
        return {false, "actual count " + std::to_string(actual.size())};
    }
    if (*kind == "contains") {
        if (!actual.is_array())
            return {false, "not an array: " + brief(actual)};
        for (const Json& element : actual)
            if (subset_match(want, element))
                return {true, {}};
        return {false, "no element matches; actual " + brief(actual)};
    }
    // at_least
    if (!want.is_number())
        throw SetupError("at_least needs a number: " + brief(fact));
    if (!actual.is_number())
        return {false, "not a number: " + brief(actual)};
    if (actual.get<double>() >= want.get<double>())
        return {true, {}};
    return {false, "actual " + brief(actual)};
}

void describe_failure(const Json& fact, const Outcome& o) {
    std::string kind;
    for (const char* k : {"equals", "count", "contains", "at_least"})
        if (fact.contains(k))
            kind = k;
    std::printf("FAIL %s %s %s\n     %s\n", fact["path"].get<std::string>().c_str(), kind.c_str(),
                brief(fact[kind]).c_str(), o.detail.c_str());
    if (fact.contains("note"))
        std::printf("     (%s)\n", fact["note"].is_string()
                                       ? fact["note"].get<std::string>().c_str()
                                       : brief(fact["note"]).c_str());
}

int run_case(const fs::path& case_dir, const std::string& botscope) {
    fs::path dir = fs::absolute(case_dir).lexically_normal();
    if (dir.filename().empty())
        dir = dir.parent_path();  // given with a trailing slash
    const std::string name = dir.filename().string();
    const cases::CaseGenerator* gen = cases::find_case(name);
    if (gen == nullptr)
        throw SetupError("no generator for case '" + name + "' in cases.cpp");

    const Json expected = read_json_file(case_dir / "expected.json");
    if (!expected.is_object() || !expected.contains("facts") || !expected["facts"].is_array())
        throw SetupError("expected.json needs a \"facts\" array");
    // A case that asserts nothing would pass whatever the CLI reports.
    if (expected["facts"].empty())
        throw SetupError("expected.json has no facts: a case must assert at least one");

    cases::CaseCapture capture = gen->generate();
    if (expected.contains("format")) {
        auto format = cases::parse_file_format(expected["format"].get<std::string>());
        if (!format)
            throw SetupError("unknown format " + brief(expected["format"]));
        capture.format = *format;
    }

    TempDir tmp;
    const fs::path file =
        tmp.path() /
        (name + (capture.format == botscope::testing::FileFormat::kPcapng ? ".pcapng" : ".pcap"));
    capture.writer.write(file, capture.format);
    // The report and its logs are also written, for their schemas (reports/README.md).
    const fs::path out = tmp.path() / "out";
    const std::string command = shell_quote(botscope) + " analyze-pcap " +
                                shell_quote(file.string()) + " --json --quiet -o " +
                                shell_quote(out.string());
    const std::size_t facts = expected["facts"].size();

    // A CLI that fails or prints something other than JSON fails every fact of the case.
    Json report;
    try {
        const std::string output = run_command(command);
        try {
            report = Json::parse(output);
        } catch (const Json::parse_error& e) {
            throw SetupError(std::string("the CLI's output is not JSON: ") + e.what());
        }
    } catch (const SetupError& e) {
        std::printf("FAIL %s\n0 passed, %zu failed\n", e.what(), facts);
        return kExitFail;
    }

    int passed = 0;
    int failed = 0;
    for (const Json& fact : expected["facts"]) {
        Outcome o = check_fact(fact, report);
        if (o.ok) {
            ++passed;
            continue;
        }
        ++failed;
        describe_failure(fact, o);
    }
    if (std::string problems = schema_problems(out); !problems.empty()) {
        ++failed;
        std::printf("FAIL the report or a log does not match its schema:\n%s", problems.c_str());
    }
    std::printf("%s: %d packets\n", name.c_str(), static_cast<int>(capture.writer.frames().size()));
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? kExitPass : kExitFail;
}

int write_case(const std::string& name, const fs::path& out) {
    const cases::CaseGenerator* gen = cases::find_case(name);
    if (gen == nullptr)
        throw SetupError("no generator for case '" + name + "'");
    cases::CaseCapture capture = gen->generate();
    capture.writer.write(out, capture.format);
    return kExitPass;
}

constexpr const char* kUsage =
    "usage: pcap_case_runner CASE_DIR BOTSCOPE_BINARY\n"
    "       pcap_case_runner --write CASE FILE\n"
    "       pcap_case_runner --list\n";

}  // namespace

int main(int argc, char** argv) {
    try {
        std::vector<std::string> args(argv + 1, argv + argc);
        if (args.size() == 1 && args[0] == "--list") {
            for (const auto& c : cases::all_cases())
                std::printf("%.*s\n", static_cast<int>(c.name.size()), c.name.data());
            return kExitPass;
        }
        if (args.size() == 3 && args[0] == "--write")
            return write_case(args[1], args[2]);
        if (args.size() == 2 && !args[0].starts_with("-"))
            return run_case(args[0], args[1]);
        std::fputs(kUsage, stderr);
        return kExitSetup;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pcap_case_runner: %s\n", e.what());
        return kExitSetup;
    }
}
