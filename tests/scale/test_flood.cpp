// A 2,000,000-packet SYN flood (300,000 under the sanitizers) from random spoofed sources, as
// a bot's `.ddos.syn` fills the capture cap: `analyze-pcap -o DIR` must find one flood with the
// right numbers, keep report.json under 1 MB, stay under 256 MB of peak RSS, and log every flow.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>

#include "support/bot_traffic.h"
#include "support/temp_dir.h"

using namespace botscope::testing;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

#ifdef BOTSCOPE_SANITIZED
// The sanitizer stage looks for memory errors, not scale, and runs 20 times slower: 14 min for
// the full flood on two busy cores. The plain build, which tools/check runs first, has it all.
constexpr std::uint64_t kPackets = 300'000;
#else
constexpr std::uint64_t kPackets = 2'000'000;
#endif
constexpr std::uint64_t kRate = 100'000;  // packets per second: 20 s of flood
const Endpoint kTarget = ep("10.66.0.200", 80);

using botscope::testing::TempDir;

struct ChildRun {
    int status = -1;
    long max_rss_kb = 0;
};

/// Runs argv with stdout and stderr to `log`; its peak RSS comes from wait4.
ChildRun run_child(const std::vector<std::string>& argv, const fs::path& log) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        std::vector<char*> args;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ChildRun r;
    rusage ru{};
    REQUIRE(::wait4(pid, &r.status, 0, &ru) == pid);
    r.max_rss_kb = ru.ru_maxrss;
    return r;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a spoofed SYN flood of 2,000,000 packets: one finding, a bounded report, flat memory") {
    const char* bin = std::getenv("BOTSCOPE_BIN");
    REQUIRE_MESSAGE(bin != nullptr, "BOTSCOPE_BIN names the botscope binary (set by ctest)");
    TempDir tmp{"botscope-scale"};
    fs::path pcap = tmp.path / "flood.pcap";
    {
        PcapStreamWriter out(pcap);
        spoofed_syn_flood(out, kT0, kTarget, kPackets, kRate);
    }
    fs::path out = tmp.path / "out";
    ChildRun run = run_child(
        {bin, "analyze-pcap", pcap.string(), "--quiet", "--host", "10.66.0.10", "-o", out.string()},
        tmp.path / "log.txt");
    MESSAGE("peak RSS of analyze-pcap: " << run.max_rss_kb / 1024 << " MB");
    const std::string said = slurp(tmp.path / "log.txt");
    INFO("analyze-pcap said: " << said);
    REQUIRE(WIFEXITED(run.status));
    REQUIRE(WEXITSTATUS(run.status) == 0);
#ifndef BOTSCOPE_SANITIZED
    // Under ASan the shadow memory and the quarantine of freed blocks are not the program's:
    // the bound is checked in the plain build, which tools/check runs first.
    CHECK(run.max_rss_kb < 256 * 1024);
#endif

    fs::path report_path = out / "report.json";
    REQUIRE(fs::exists(report_path));
    CHECK(fs::file_size(report_path) < 1'000'000);
    Json report = Json::parse(slurp(report_path));
    const Json& net = report["network"];
    CHECK(net["capture"]["packets"] == kPackets);

    const Json& floods = report["behavior"]["floods"];
    REQUIRE(floods.size() == 1);
    const Json& f = floods[0];
    CHECK(f["kind"] == "syn");
    CHECK(f["target"] == "10.66.0.200");
    CHECK(f["packets"] == kPackets);
    CHECK(f["events"] == kPackets);
    CHECK(f["peak_pps"] == doctest::Approx(static_cast<double>(kRate)));
    CHECK(f["mean_pps"].get<double>() == doctest::Approx(static_cast<double>(kRate)).epsilon(0.01));
    CHECK(f["ports"] == Json::array({80}));
    CHECK(f["sources_estimated"] == true);
    CHECK(f["spoofed_sources"] == f["sources"]);

    // Every flow in the log, each line an object, as many as the report counts. Under the
    // sanitizers, where nlohmann's parser runs 50 times slower, one line in 64 is parsed whole
    // and the others are checked for their shape and their source.
    std::ifstream log(out / "flows.jsonl");
    REQUIRE(log);
    std::string line;
    std::uint64_t lines = 0, parsed = 0, ids = 0, to_target = 0;
    std::uint64_t last_bad = 0;
    std::unordered_set<std::string> sources;
    const std::string orig_key = R"("orig":{"ip":")";
    while (std::getline(log, line)) {
        ++lines;
#ifdef BOTSCOPE_SANITIZED
        if (lines % 64 != 1) {
            std::size_t at = line.find(orig_key);
            std::size_t end = at == std::string::npos ? at : line.find('"', at + orig_key.size());
            if (line.empty() || line.front() != '{' || line.back() != '}' ||
                end == std::string::npos) {
                last_bad = lines;
                continue;
            }
            sources.insert(line.substr(at + orig_key.size(), end - at - orig_key.size()));
            continue;
        }
#endif
        ++parsed;
        Json j = Json::parse(line, nullptr, false);
        if (!j.is_object()) {
            last_bad = lines;
            continue;
        }
        sources.insert(j["orig"]["ip"].get<std::string>());
        ids += j["id"].is_number_unsigned();
        to_target += j["resp"]["ip"] == "10.66.0.200" && j["resp"]["port"] == 80 &&
                     j["state"] == "S0" && j["orig_packets"] == 1;
    }
    CHECK(last_bad == 0);
    CHECK(lines == net["flows"]["count"].get<std::uint64_t>());
    CHECK(parsed > 0);
    CHECK(ids == parsed);
    CHECK(to_target == parsed);
    // Random ports on random sources collide now and then: one flow per SYN, nearly.
    CHECK(lines >= kPackets - 100);
    // The estimate against the exact count of distinct sources in the log: within 3.2 standard
    // errors of the sketch (1.6 %).
    MESSAGE("distinct sources: " << sources.size() << ", estimated " << f["sources"]);
    CHECK(f["sources"].get<double>() ==
          doctest::Approx(static_cast<double>(sources.size())).epsilon(0.052));
    // Every log is written, the protocols' empty (a SYN flood carries no payload), and the
    // findings' log holds the flood.
    const Json& logs = report["logs"];
    REQUIRE(logs.size() == 10);
    CHECK(logs[0]["name"] == "flows.jsonl");
    CHECK(logs[0]["records"] == lines);
    for (std::size_t i = 1; i + 1 < logs.size(); ++i) {
        CHECK(logs[i]["records"] == 0);
        CHECK(fs::file_size(out / logs[i]["name"].get<std::string>()) == 0);
    }
    CHECK(logs[9]["name"] == "behavior.jsonl");
    CHECK(logs[9]["records"] == 1);
    std::ifstream behavior(out / "behavior.jsonl");
    std::string finding;
    REQUIRE(std::getline(behavior, finding));
    const Json logged = Json::parse(finding);
    CHECK(logged["section"] == "floods");
    CHECK(logged["index"] == 0);
    CHECK(logged["target"] == f["target"]);
    CHECK(logged["packets"] == f["packets"]);
}
