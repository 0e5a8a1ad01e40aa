#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "fixtures.h"
#include "review/ioc.h"
#include "review/ioc_format.h"

namespace test_ioc {

using namespace botscope::review;
using namespace review_fixtures;
using botscope::report::Json;

std::vector<Facts> store() {
    std::vector<Facts> out;
    for (const char* name : {"rbot-a.json", "rbot-b.json", "sdbot.json"})
        out.push_back(extract_facts(fixture(name)));
    return out;
}

const Indicator* find(const IocSet& s, const std::string& type, const std::string& value) {
    for (const auto& i : s.indicators)
        if (i.type == type && i.value == value)
            return &i;
    return nullptr;
}

const std::string kA = "aaaa000000000000000000000000000000000000000000000000000000000001";
const std::string kB = "aaaa000000000000000000000000000000000000000000000000000000000002";
const std::string kSd = "aaaa000000000000000000000000000000000000000000000000000000000003";

TEST_CASE("two samples sharing a C&C name are one botnet, the third another") {
    IocSet s = collect_iocs(store());
    CHECK(s.reports == 3);
    REQUIRE(s.clusters.size() == 2);
    CHECK(s.clusters[0].samples == std::vector<std::string>{kA, kB});
    CHECK(s.clusters[0].families == std::set<std::string>{"rbot"});
    CHECK(s.clusters[0].links.at("cnc irc.rbot.example:6667").size() == 2);
    CHECK(s.clusters[0].links.at("irc_channel #rb0t on irc.rbot.example:6667").size() == 2);
    CHECK(s.clusters[1].samples == std::vector<std::string>{kSd});
    CHECK(s.samples.at(kB).cluster == 1);
    CHECK(s.samples.at(kSd).cluster == 2);
}

TEST_CASE("indicators: first and last seen, samples, context; no sandbox address") {
    IocSet s = collect_iocs(store());
    const Indicator* domain = find(s, "cnc_domain", "irc.rbot.example");
    REQUIRE(domain);
    CHECK(domain->samples.size() == 2);
    CHECK(domain->first_seen == 1793613660.0);  // 2026-11-02T10:01:00Z, rbot-a finished
    CHECK(domain->last_seen == 1793865660.0);   // 2026-11-05T08:01:00Z, rbot-b finished
    CHECK(domain->clusters == std::set<int>{1});
    CHECK(!find(s, "cnc", "10.66.0.1:6667"));  // fakenet's, as the sandbox's DNS gave it
    REQUIRE(find(s, "cnc", "192.0.2.50:8080"));
    const Indicator* channel = find(s, "irc_channel", "#rb0t");
    REQUIRE(channel);
    CHECK(channel->context.at("key") == std::set<std::string>{"k3y", "k\tey"});
    CHECK(find(s, "irc_nick_pattern", "^\\[USA\\|XP\\]-[0-9]{5}$"));
    CHECK(find(s, "irc_nick", "[USA|XP]-54321"));
    CHECK(!find(s, "irc_nick", "[USA|XP]-12345"));  // rbot-a's pattern stands for it
    const Indicator* download =
        find(s, "sha256", "dddd000000000000000000000000000000000000000000000000000000000001");
    REQUIRE(download);
    CHECK(download->samples.size() == 2);
    CHECK(download->context.at("role") == std::set<std::string>{"download"});
    CHECK(find(s, "md5", "fedcba9876543210fedcba9876543210"));
}

TEST_CASE("--since leaves out the reports before it") {
    IocSet s = collect_iocs(store(), 1793750400.0);  // 2026-11-04
    CHECK(s.reports == 2);
    CHECK(find(s, "cnc_domain", "irc.rbot.example")->samples.size() == 1);
    CHECK(!find(s, "irc_nick_pattern", "^\\[USA\\|XP\\]-[0-9]{5}$"));
}

TEST_CASE("CSV: a header, RFC 4180 quoting, a row per cluster") {
    auto facts = store();
    facts[2].nicks = {"a,\"b\""};
    std::string csv = ioc_csv(collect_iocs(facts));
    CHECK(
        csv.rfind("type,value,protocol,first_seen,last_seen,samples,clusters,families,context\r\n",
                  0) == 0);
    CHECK(csv.find("\r\nirc_nick,\"a,\"\"b\"\"\",,2026-11-10T12:00:45Z,") != std::string::npos);
    CHECK(csv.find("\r\ncnc_domain,irc.rbot.example,irc,2026-11-02T10:01:00Z,"
                   "2026-11-05T08:01:00Z,2,1,rbot,port=6667\r\n") != std::string::npos);
    CHECK(csv.find("\r\ncluster,2,") != std::string::npos);
}

TEST_CASE("JSON: every indicator, sample and cluster") {
    Json j = Json::parse(ioc_json(collect_iocs(store())));
    CHECK(j["schema"] == "botscope.ioc/1");
    CHECK(j["reports"] == 3);
    CHECK(j["clusters"].size() == 2);
    CHECK(j["samples"].size() == 3);
    CHECK(j["indicators"].size() == collect_iocs(store()).indicators.size());
}

TEST_CASE("Zeek intel: the header, four tab-separated fields, Zeek's types only") {
    std::string z = ioc_zeek_intel(collect_iocs(store()));
    CHECK(z.rfind("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n", 0) == 0);
    std::set<std::string> lines;
    std::size_t pos = z.find('\n') + 1;
    while (pos < z.size()) {
        std::string line = z.substr(pos, z.find('\n', pos) - pos);
        pos += line.size() + 1;
        CHECK(std::count(line.begin(), line.end(), '\t') == 3);
        std::string type = line.substr(line.find('\t') + 1);
        type = type.substr(0, type.find('\t'));
        CHECK(
            std::set<std::string>{"Intel::ADDR", "Intel::DOMAIN", "Intel::URL", "Intel::FILE_HASH"}
                .count(type) == 1);
        CHECK(line.find("\tbotscope\t") != std::string::npos);
        lines.insert(line.substr(0, line.find('\t', line.find('\t') + 1)));
    }
    CHECK(lines.count("192.0.2.50\tIntel::ADDR"));
    CHECK(!lines.count("10.66.0.1\tIntel::ADDR"));
    CHECK(lines.count("irc.rbot.example\tIntel::DOMAIN"));
    CHECK(lines.count("10.66.0.1/up.exe\tIntel::URL"));
    CHECK(lines.count("cfg.rbot.example/cfg.txt\tIntel::URL"));
    CHECK(lines.count(kA + "\tIntel::FILE_HASH"));
    CHECK(lines.count("0123456789abcdef0123456789abcdef\tIntel::FILE_HASH"));
    // The channel key's tab and the nick's escape stay inside meta.desc.
    CHECK(z.find("channel #rb0t key k?ey key k3y") != std::string::npos);
    CHECK(z.find("nick sd?[2J0wned") != std::string::npos);
    CHECK(z.find('\x1b') == std::string::npos);
}

TEST_CASE("STIX: valid identifiers, references inside the bundle, the same bytes twice") {
    CHECK(stix_uuid("test") == "1f7f032a-f89c-5336-b21c-4983789fce54");
    std::string text = ioc_stix(collect_iocs(store()));
    CHECK(text == ioc_stix(collect_iocs(store())));
    Json b = Json::parse(text);
    CHECK(b["type"] == "bundle");
    const std::regex id(
        "^[a-z][a-z0-9-]+[a-z0-9]--[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-"
        "[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    const std::regex ms("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$");
    CHECK(std::regex_match(b["id"].get<std::string>(), id));
    std::set<std::string> ids;
    std::map<std::string, int> types;
    for (const auto& o : b["objects"]) {
        CHECK(std::regex_match(o["id"].get<std::string>(), id));
        CHECK(std::regex_match(o["created"].get<std::string>(), ms));
        CHECK(o["modified"] >= o["created"]);
        ids.insert(o["id"].get<std::string>());
        ++types[o["type"].get<std::string>()];
    }
    for (const auto& o : b["objects"])
        if (o["type"] == "relationship") {
            CHECK(ids.count(o["source_ref"].get<std::string>()));
            CHECK(ids.count(o["target_ref"].get<std::string>()));
        }
    CHECK(types["malware"] == 4);         // three samples and the rbot family
    CHECK(types["infrastructure"] == 4);  // two botnets, a C&C each
    CHECK(text.find("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref."
                    "value = '192.0.2.50' AND network-traffic:dst_port = 8080]") !=
          std::string::npos);
    CHECK(text.find("[domain-name:value = 'irc.rbot.example']") != std::string::npos);
    // Nothing to export: a bundle without objects, still valid.
    Json empty = Json::parse(ioc_stix(collect_iocs({})));
    CHECK(!empty.contains("objects"));
}

TEST_CASE("STIX patterns quote what a report may hold") {
    auto facts = store();
    facts[0].urls = {"http://x.example/a'b\\c"};
    std::string text = ioc_stix(collect_iocs(facts));
    CHECK(text.find(R"([url:value = 'http://x.example/a\\'b\\\\c'])") != std::string::npos);
}

}  // namespace test_ioc
