#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/engine.h"
#include "report/atomic_file.h"
#include "report/network_json.h"
#include "report/summary.h"
#include "support/bot_traffic.h"
#include "support/report_check.h"

namespace test_network_json {

using namespace botscope;
using namespace botscope::testing;
namespace fs = std::filesystem;

namespace {

std::string bot_session_report() {
    CaptureWriter w;
    emulate_bot_session(w, 1'136'073'600 * kSecond);
    analysis::Engine e(w.link_type());
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    analysis::detect::BehaviorResult behavior;
    auto net = e.finish(&behavior);
    set_file_facts(net.capture);
    return report::dump(report::pcap_report("x.pcap", net, behavior));
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

// That the same capture gives byte-identical reports is checked across two processes, where it
// can fail (address-dependent ordering, clocks, process ids): tests/cli, cli_deterministic.
TEST_CASE("a pcap report has the schema, its kind and every network section") {
    auto j = report::Json::parse(bot_session_report());
    CHECK(j["schema"] == report::kSchema);
    CHECK(j["kind"] == "pcap");
    for (const char* key :
         {"capture", "hosts", "flows", "dns", "http", "smtp", "irc", "tftp", "anomalies"}) {
        CAPTURE(key);
        CHECK(j["network"].contains(key));
    }
}

TEST_CASE("a pcap report matches reports/report.schema.json; a renamed key does not") {
    const std::string text = bot_session_report();
    std::string problems = report_schema_problems(text);
    CHECK_MESSAGE(problems.empty(), problems);

    // The check has teeth: a key renamed deep in a record, or a stable code changed, is named
    // by its path.
    auto j = report::Json::parse(text);
    REQUIRE_FALSE(j["network"]["flows"]["list"].empty());
    auto& flow = j["network"]["flows"]["list"][0];
    flow["protocol"] = flow["proto"];
    flow.erase("proto");
    REQUIRE_FALSE(j["behavior"]["floods"].empty());
    j["behavior"]["floods"][0]["kind"] = "smurf";
    problems = report_schema_problems(report::dump(j));
    CHECK_MESSAGE(problems.find("$.network.flows.list[0]: missing 'proto'") != std::string::npos,
                  problems);
    CHECK_MESSAGE(
        problems.find("$.network.flows.list[0]: unexpected key 'protocol'") != std::string::npos,
        problems);
    CHECK_MESSAGE(
        problems.find("$.behavior.floods[0].kind: 'smurf' is not one of") != std::string::npos,
        problems);
}

TEST_CASE("the summary names the C&C server, nick, channel, commands and downloads") {
    std::string s = report::text_summary("bot.pcap", report::Json::parse(bot_session_report()));
    CHECK(s.find("10.66.0.1:7000") != std::string::npos);
    CHECK(s.find(BotFacts::kNick) != std::string::npos);
    CHECK(s.find(BotFacts::kChannel) != std::string::npos);
    CHECK(s.find(BotFacts::kTopicCommand) != std::string::npos);
    CHECK(s.find(BotFacts::kDownloadCommand) != std::string::npos);
    CHECK(s.find("/update.exe") != std::string::npos);
    CHECK(s.find(BotFacts::kTftpFile) != std::string::npos);
    CHECK(s.find(BotFacts::kSpamSubject) != std::string::npos);
}

TEST_CASE("invalid UTF-8 from the wire never breaks the JSON: each bad byte becomes U+FFFD") {
    report::Json j;
    j["text"] = std::string("bad \xff\xfe utf8 \xc3\xa9");  // two bad bytes, then a valid é
    std::string out = report::dump(j);
    CHECK(report::Json::parse(out)["text"].get<std::string>() ==
          "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9");
}

TEST_CASE("atomic writes leave either the whole file or nothing") {
    char tmpl[] = "/tmp/botscope-atomic-XXXXXX";
    fs::path dir = mkdtemp(tmpl);
    fs::path target = dir / "report.json";
    CHECK(report::write_file_atomic(target.string(), "first").empty());
    CHECK(slurp(target) == "first");
    CHECK(report::write_file_atomic(target.string(), "second").empty());
    CHECK(slurp(target) == "second");
    CHECK(fs::status(target).permissions() == (fs::perms::owner_read | fs::perms::owner_write |
                                               fs::perms::group_read | fs::perms::others_read));
    std::string err = report::write_file_atomic((dir / "missing" / "r.json").string(), "x");
    CHECK(err.find("missing/r.json") != std::string::npos);
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
        ++entries;
    CHECK(entries == 1);  // no temporary files left behind
    fs::remove_all(dir);
}

}  // namespace test_network_json
