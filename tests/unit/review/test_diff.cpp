#include <doctest/doctest.h>

#include <algorithm>

#include "fixtures.h"
#include "review/diff.h"

namespace test_diff {

using namespace botscope::review;
using namespace review_fixtures;

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_CASE("two variants: same C&C, other commands and behaviours") {
    auto d = diff_reports(fixture("rbot-a.json"), fixture("rbot-b.json"));
    REQUIRE(d.size() == 5);
    const auto& verdict = d[0];
    CHECK(has(verdict.only_a, "family rbot"));
    CHECK(has(verdict.only_a, "capability dos"));
    const auto& cnc = d[1];
    CHECK(has(cnc.both, "irc C&C irc.rbot.example:6667"));
    CHECK(has(cnc.only_b, "channel #rb0t-spam"));
    CHECK(has(cnc.only_a, "nick pattern ^\\[USA\\|XP\\]-[0-9]{5}$"));
    const auto& commands = d[2];
    CHECK(commands.both == std::vector<std::string>{".download http://10.66.0.1/up.exe"});
    CHECK(commands.only_a == std::vector<std::string>{".ddos.syn 10.66.0.200 80 30"});
    CHECK(commands.only_b == std::vector<std::string>{".spam.start 100"});
    const auto& behaviours = d[3];
    CHECK(has(behaviours.only_a, "syn flood on 10.66.0.200 ports 80"));
    CHECK(has(behaviours.only_b, "spam subject \"Cheap meds\""));
    CHECK(has(behaviours.both, "download http://10.66.0.1/up.exe"));
    const auto& files = d[4];
    CHECK(has(files.both,
              "download dddd000000000000000000000000000000000000000000000000000000000001"));
    CHECK(files.only_b ==
          std::vector<std::string>{
              "sample aaaa000000000000000000000000000000000000000000000000000000000002"});
    CHECK(has(files.only_a, "yara RBot_Strings"));

    auto j = diff_to_json(d, "1", "2");
    CHECK(j["same"] == false);
    CHECK(j["sections"]["commands"]["only_b"][0] == ".spam.start 100");
}

TEST_CASE("a report against itself: no difference; text escaped for the terminal") {
    auto d = diff_reports(fixture("sdbot.json"), fixture("sdbot.json"));
    CHECK(diff_to_json(d, "3", "3")["same"] == true);
    auto text = diff_text(diff_reports(fixture("sdbot.json"), fixture("rbot-a.json")), "3", "1");
    CHECK(text.find("  - nick sd\\x1b[2J0wned\n") != std::string::npos);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find("commands: 0 in both\n") != std::string::npos);
}

}  // namespace test_diff
