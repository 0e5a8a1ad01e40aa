#include <doctest/doctest.h>

#include "fixtures.h"
#include "review/facts.h"
#include "review/report_file.h"

namespace test_facts {

using namespace botscope::review;
using namespace review_fixtures;

TEST_CASE("a report with verdict and traits: family, C&C by name, nick pattern, rules") {
    Facts f = extract_facts(fixture("rbot-a.json"));
    CHECK(f.kind == "task");
    CHECK(f.id == "1");
    CHECK(f.sample_name == "rbot-a.exe");
    CHECK(f.sample_sha256 == "aaaa000000000000000000000000000000000000000000000000000000000001");
    CHECK(f.time == 1793613660.0);  // finished
    CHECK(f.score == 8);
    CHECK(f.level == "malicious");
    CHECK(f.family == "rbot");
    REQUIRE(f.cnc.size() == 1);
    CHECK(f.cnc[0].endpoint() == "10.66.0.1:6667");
    // The sandbox's DNS gave the address: the name identifies the C&C.
    CHECK(f.cnc[0].sandbox_address);
    CHECK(f.cnc[0].key() == "irc.rbot.example:6667");
    REQUIRE(f.channels.size() == 1);
    CHECK(f.channels[0].name == "#rb0t");
    CHECK(f.channels[0].key == "k3y");
    CHECK(f.channels[0].server == "irc.rbot.example:6667");
    CHECK(f.nick_pattern == "^\\[USA\\|XP\\]-[0-9]{5}$");
    CHECK(f.yara == std::vector<std::string>{"RBot_Strings", "RBot_IRC_Reply"});
    CHECK(f.hashes.size() == 2);
    CHECK(f.urls == std::vector<std::string>{"http://10.66.0.1/up.exe"});
}

TEST_CASE("without traits, the C&C's name is the one resolved last before its connection") {
    // fakenet answers every name with its own address: only the time tells the C&C's name
    // from the mail exchange looked up later, or a name resolved long before.
    Json r = fixture("rbot-b.json");
    r["behavior"]["cnc"]["irc"][0]["start"] = 1793867000.5;
    r["network"]["dns"]["transactions"].insert(
        r["network"]["dns"]["transactions"].begin(),
        Json{{"ts", 1793866000.0},
             {"query", "old.example"},
             {"answers", {{{"type", "A"}, {"rdata", "10.66.0.1"}}}}});
    r["network"]["dns"]["transactions"][2]["answers"] = {{{"type", "A"}, {"rdata", "10.66.0.1"}}};
    Facts f = extract_facts(r);
    REQUIRE(f.cnc.size() == 1);
    CHECK(f.cnc[0].names == std::vector<std::string>{"irc.rbot.example"});
}

TEST_CASE("a report without traits: the same C&C from the behaviour and the DNS answers") {
    Facts f = extract_facts(fixture("rbot-b.json"));
    CHECK(!f.score);
    CHECK(f.level.empty());
    CHECK(f.family.empty());
    REQUIRE(f.cnc.size() == 1);
    CHECK(f.cnc[0].names == std::vector<std::string>{"irc.rbot.example"});  // lower-cased
    CHECK(f.cnc[0].key() == "irc.rbot.example:6667");
    REQUIRE(f.channels.size() == 2);
    CHECK(f.channels[0].key == "k\tey");
    CHECK(f.channels[1].name == "#rb0t-spam");
    CHECK(f.nicks == std::vector<std::string>{"[USA|XP]-54321"});
    CHECK(f.nick_pattern.empty());
    CHECK(f.domains == std::vector<std::string>{"irc.rbot.example", "mail.victim.example"});
    CHECK(f.urls ==
          std::vector<std::string>{"http://10.66.0.1/up.exe", "http://cfg.rbot.example/cfg.txt"});
    // The dropped copy of the sample is one hash, not two; a digest that is not one is left out.
    REQUIRE(f.hashes.size() == 2);
    CHECK(f.hashes[0].role == "sample");
    CHECK(f.hashes[1].role == "download");
}

TEST_CASE("a C&C dialled by address keeps its address; a pcap report is not the sandbox's") {
    Facts f = extract_facts(fixture("sdbot.json"));
    REQUIRE(f.cnc.size() == 1);
    CHECK(!f.cnc[0].sandbox_address);
    CHECK(f.cnc[0].key() == "192.0.2.50:8080");
    auto pcap = fixture("rbot-b.json");
    pcap["kind"] = "pcap";
    pcap.erase("task");
    pcap["source"] = {{"path", "/captures/x.pcap"}};
    Facts p = extract_facts(pcap);
    CHECK(p.sample_name == "x.pcap");
    CHECK(!p.cnc.at(0).sandbox_address);
}

TEST_CASE("members of the wrong type are ignored, never thrown over") {
    using botscope::report::Json;
    for (const char* text :
         {"null", "[]", "{\"kind\": 3}", "{\"task\": []}", "{\"traits\": {\"cnc\": 1}}",
          "{\"traits\": {\"cnc\": [{\"ip\": 1, \"port\": \"x\"}]}}",
          "{\"behavior\": {\"cnc\": {\"irc\": [{\"server\": {\"ip\": \"1.2.3.4\", \"port\": "
          "99999}}]}}}",
          "{\"verdict\": {\"score\": 11, \"family\": \"x\"}}",
          "{\"network\": {\"irc\": {\"sessions\": [{\"channels\": [1, null, {}]}]}}}"}) {
        Facts f = extract_facts(Json::parse(text));
        CHECK(!f.score);
    }
}

TEST_CASE("lists and texts are capped") {
    auto r = fixture("rbot-b.json");
    auto& t = r["network"]["dns"]["transactions"];
    for (int i = 0; i < 500; ++i)
        t.push_back({{"query", "n" + std::to_string(i) + ".example"}});
    r["network"]["irc"]["sessions"][0]["nick"] = std::string(10000, 'x') + "\xc3\xa9";
    Facts f = extract_facts(r);
    CHECK(f.domains.size() == kMaxItems);
    CHECK(f.nicks[0].size() == kMaxText);
    // Cut where a UTF-8 sequence starts, so the index can still be written.
    r["network"]["irc"]["sessions"][0]["nick"] = std::string(kMaxText - 1, 'x') + "\xc3\xa9";
    CHECK(extract_facts(r).nicks[0].size() == kMaxText - 1);
}

TEST_CASE("facts survive their index line") {
    for (const char* name : {"rbot-a.json", "rbot-b.json", "sdbot.json"}) {
        Facts f = extract_facts(fixture(name));
        auto back = facts_from_json(facts_to_json(f));
        REQUIRE(back);
        CHECK(facts_to_json(*back) == facts_to_json(f));
    }
    CHECK(!facts_from_json(botscope::report::Json::parse("{\"id\": \"\"}")));
    CHECK(!facts_from_json(botscope::report::Json::parse("[1]")));
}

TEST_CASE("reading a report: its folder or file, bounded, refused with a reason naming it") {
    CHECK(read_report(fixture_path("rbot-a.json")));
    auto missing = read_report("/nonexistent/report.json");
    CHECK(missing.error().code == "missing");
    auto malformed = read_report(fixture_path("malformed.json"));
    CHECK(malformed.error().code == "malformed");
    CHECK(malformed.error().message.find("malformed.json") != std::string::npos);
    CHECK(read_report(fixture_path("notareport.json")).error().code == "not_a_report");
    CHECK(read_report(fixture_path("rbot-a.json"), 100).error().code == "too_large");
    CHECK(read_report("/dev/null").error().code == "unreadable");
    botscope::testing::TempDir dir("review-read");
    dir.hand_written_reports = true;
    put_task(dir.path, "1", "sdbot.json");
    CHECK(read_report(dir.path / "tasks" / "1"));
}

}  // namespace test_facts
