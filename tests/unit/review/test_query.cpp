#include <doctest/doctest.h>

#include "fixtures.h"
#include "review/query.h"

namespace test_query {

using namespace botscope::review;
using namespace review_fixtures;

TEST_CASE("globs: * and ?, whole text, any case") {
    CHECK(glob_match("*.rbot.example", "IRC.rbot.example"));
    CHECK(glob_match("#rb0t", "#RB0T"));
    CHECK(glob_match("[USA|XP]-?????", "[USA|XP]-12345"));
    CHECK(!glob_match("[USA|XP]-????", "[USA|XP]-12345"));
    CHECK(!glob_match("#rb0t", "#rb0t-spam"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("a*b*c", "aXXbYYbc"));
    CHECK(!glob_match("a*b*c", "aXXbYYb"));
    // A pattern made to backtrack stays fast: one star is remembered at a time.
    CHECK(!glob_match(std::string(100, '*') + "b", std::string(100000, 'a')));
}

Facts a() {
    return extract_facts(fixture("rbot-a.json"));
}
Facts b() {
    return extract_facts(fixture("rbot-b.json"));
}
Facts sd() {
    return extract_facts(fixture("sdbot.json"));
}

std::vector<std::string> find(const Facts& f, SearchField field, const std::string& v) {
    return search(f, {field, v});
}

TEST_CASE("--cnc: an address, address:port or name of a C&C") {
    CHECK(find(a(), SearchField::kCnc, "10.66.0.1") ==
          std::vector<std::string>{"irc C&C 10.66.0.1:6667 (irc.rbot.example)"});
    CHECK(!find(b(), SearchField::kCnc, "irc.rbot.example").empty());
    CHECK(!find(b(), SearchField::kCnc, "irc.rbot.example:6667").empty());
    CHECK(find(b(), SearchField::kCnc, "irc.rbot.example:6668").empty());
    CHECK(!find(sd(), SearchField::kCnc, "192.0.2.50:8080").empty());
    CHECK(find(sd(), SearchField::kCnc, "10.66.0.1").empty());
}

TEST_CASE("the other searches") {
    CHECK(find(b(), SearchField::kDomain, "mail.*").size() == 1);
    CHECK(find(a(), SearchField::kDomain, "mail.*").empty());
    CHECK(find(a(), SearchField::kChannel, "#rb0t") ==
          std::vector<std::string>{"channel #rb0t key k3y on irc.rbot.example:6667"});
    CHECK(find(b(), SearchField::kChannel, "#rb0t*").size() == 2);
    CHECK(find(b(), SearchField::kNick, "[usa|xp]-*").size() == 1);
    // Without a literal nick matching, the pattern's text is searched.
    CHECK(find(a(), SearchField::kNick, "USA\\|XP") ==
          std::vector<std::string>{"nick pattern ^\\[USA\\|XP\\]-[0-9]{5}$"});
    CHECK(find(b(), SearchField::kSha256,
               "dddd000000000000000000000000000000000000000000000000000000000001")
              .size() == 1);
    CHECK(find(sd(), SearchField::kSha256,
               "dddd000000000000000000000000000000000000000000000000000000000001")
              .empty());
    CHECK(find(b(), SearchField::kUrl, "CFG.TXT").size() == 1);
    CHECK(find(a(), SearchField::kYara, "rbot_*").size() == 2);
    CHECK(find(b(), SearchField::kYara, "*").empty());
}

TEST_CASE("list filters: family, time, level or score") {
    ListFilter f;
    CHECK(matches(b(), f));
    f.family = "rb*";
    CHECK(matches(a(), f));
    CHECK(!matches(b(), f));
    ListFilter since;
    since.since = 1793836800.0;  // 2026-11-05
    CHECK(!matches(a(), since));
    CHECK(matches(b(), since));
    ListFilter v;
    REQUIRE(parse_verdict_filter("malicious", v));
    CHECK(matches(a(), v));
    CHECK(!matches(sd(), v));
    ListFilter s;
    REQUIRE(parse_verdict_filter("9", s));
    CHECK(!matches(a(), s));
    REQUIRE(parse_verdict_filter("8", s));
    CHECK(matches(a(), s));
    CHECK(!matches(b(), s));  // no verdict: no score
    for (const char* bad : {"", "11", "-1", "evil", "5x"})
        CHECK(!parse_verdict_filter(bad, s));
}

}  // namespace test_query
