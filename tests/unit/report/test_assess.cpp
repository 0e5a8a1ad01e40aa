// The verdict and the traits drawn from a report: each signature from the finding it names,
// the score's levels, the family and its confidence, the classification, and a nick pattern
// that matches every nick seen and little else.

#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "report/assess.h"

namespace botscope::report::test_assess {

namespace {

bool matches(const std::string& pattern, const std::string& s) {
    return std::regex_search(s, std::regex(pattern, std::regex::ECMAScript));
}

std::vector<std::string> names(const Json& signatures) {
    std::vector<std::string> out;
    for (const auto& s : signatures)
        out.push_back(s["name"].get<std::string>());
    return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

Json endpoint(const char* ip, int port) {
    return {{"ip", ip}, {"port", port}};
}

Json irc_cnc(int port, int commands) {
    return {{"flow", 2},
            {"client", endpoint("10.66.0.10", 1036)},
            {"server", endpoint("10.66.0.1", port)},
            {"server_name", "irc.example"},
            {"nick", "[JPN|XP|SP2]-12345"},
            {"channels", {"#bots"}},
            {"commands", commands}};
}

Json report_with(Json behavior) {
    return {{"schema", "botscope.report/1"}, {"kind", "pcap"}, {"behavior", std::move(behavior)}};
}

Json kinds(const Json& list) {
    Json out = Json::array();
    for (const auto& c : list)
        out.push_back(c["kind"]);
    return out;
}

}  // namespace

TEST_CASE("a report with nothing to hold against the sample is clean, with empty traits") {
    Json a = assess(report_with(Json::object()));
    CHECK(a["verdict"]["score"] == 0);
    CHECK(a["verdict"]["level"] == "clean");
    CHECK(a["verdict"]["family"].is_null());
    CHECK(a["verdict"]["signatures"].empty());
    CHECK(a["verdict"]["classification"]["spreading"].empty());
    CHECK(a["traits"]["cnc"].empty());
    CHECK(a["traits"]["irc"].is_null());
    CHECK(a["traits"]["spam"].is_null());
    // Not a report at all: the same, not an exception.
    CHECK(assess(Json("garbage"))["verdict"]["score"] == 0);
    CHECK(assess(Json{{"behavior", {{"floods", "not a list"}}}})["verdict"]["score"] == 0);
}

TEST_CASE("IRC is a C&C once orders arrive over it; a port off IRC's is noted") {
    Json chat = assess(report_with({{"cnc", {{"irc", {irc_cnc(6667, 0)}}}}}));
    auto n = names(chat["verdict"]["signatures"]);
    CHECK(has(n, "irc_session"));
    CHECK_FALSE(has(n, "irc_cnc"));
    CHECK(chat["verdict"]["level"] == "suspicious");
    CHECK(chat["verdict"]["classification"]["capabilities"].empty());

    Json bot = assess(report_with({{"cnc", {{"irc", {irc_cnc(8080, 3)}}}}}));
    n = names(bot["verdict"]["signatures"]);
    CHECK(has(n, "irc_cnc"));
    CHECK(has(n, "irc_cnc_nonstandard_port"));
    CHECK(bot["verdict"]["score"] == 9);
    CHECK(bot["verdict"]["level"] == "malicious");
    CHECK(kinds(bot["verdict"]["classification"]["capabilities"]) == Json{"irc_bot"});
    const Json& cnc = bot["traits"]["cnc"][0];
    CHECK(cnc["protocol"] == "irc");
    CHECK(cnc["ip"] == "10.66.0.1");
    CHECK(cnc["port"] == 8080);
    CHECK(cnc["nonstandard_port"] == true);
    std::string ev = bot["verdict"]["signatures"][0]["evidence"][0];
    CHECK(ev.find("10.66.0.1:8080 (irc.example) as [JPN|XP|SP2]-12345 #bots, 3 commands") !=
          std::string::npos);
}

TEST_CASE("floods, scans and spam are named by kind and port, and classify the sample") {
    Json behavior = {{"analysed_hosts", {"10.66.0.10"}},
                     {"floods",
                      {{{"kind", "udp"},
                        {"target", "10.66.0.200"},
                        {"ports", {53}},
                        {"packets", 300},
                        {"peak_pps", 150.0},
                        {"sources", 1}}}},
                     {"scans",
                      {{{"kind", "horizontal"},
                        {"scanner", "10.66.0.10"},
                        {"transport", "tcp"},
                        {"ports", {{{"port", 445}, {"targets", 40}}}},
                        {"targets", 40},
                        {"peak_probes_per_second", 40.0}},
                       {{"kind", "vertical"},
                        {"scanner", "10.66.0.10"},
                        {"transport", "tcp"},
                        {"ports", {{{"port", 21}, {"targets", 1}}}},
                        {"targets", 1}}}},
                     {"spam_runs",
                      {{{"client", "10.66.0.10"},
                        {"messages", 12},
                        {"servers", 4},
                        {"mx_lookups", 4},
                        {"subjects", {{{"value", "hello"}, {"count", 12}}}},
                        {"senders", {{{"value", "a@b.example"}, {"count", 12}}}}}}}};
    Json a = assess(report_with(behavior));
    auto n = names(a["verdict"]["signatures"]);
    CHECK(has(n, "dos_udp_flood"));
    CHECK(has(n, "worm_scan_445"));
    CHECK(has(n, "port_scan"));
    CHECK(has(n, "spam_run"));
    CHECK(a["verdict"]["score"] == 10);
    CHECK(kinds(a["verdict"]["classification"]["spreading"]) == Json{"network_worm"});
    CHECK(kinds(a["verdict"]["classification"]["capabilities"]) == Json{"dos", "spam_relay"});
    CHECK(a["traits"]["scans"][0]["port"] == 445);
    CHECK(a["traits"]["scans"][0]["targets"] == 40);
    CHECK(a["traits"]["floods"][0]["kind"] == "udp");
    CHECK(a["traits"]["spam"]["messages"] == 12);
    CHECK(a["traits"]["spam"]["servers_after_mx"] == 0);
    CHECK(a["traits"]["spam"]["subjects"] == Json{"hello"});
}

TEST_CASE("the guest's evidence: autostart, a listener off loopback, and no more") {
    Json r = report_with(Json::object());
    r["guest"] = {{"autostart",
                   {{{"kind", "run"},
                     {"location", "HKLM\\...\\Run"},
                     {"name", "svc"},
                     {"value", "C:\\svc.exe"},
                     {"status", "added"}}}},
                  {"listening",
                   {{{"proto", "tcp"}, {"address", "127.0.0.1"}, {"port", 80}, {"in_tree", true}},
                    {{"proto", "tcp"}, {"address", "0.0.0.0"}, {"port", 113}, {"in_tree", false}},
                    {{"proto", "tcp"},
                     {"address", "0.0.0.0"},
                     {"port", 2745},
                     {"in_tree", true},
                     {"image", "svc.exe"},
                     {"pid", 7}}}}};
    Json a = assess(r);
    auto n = names(a["verdict"]["signatures"]);
    CHECK(n == std::vector<std::string>{"autostart_added", "listening_backdoor"});
    const Json& listeners = a["verdict"]["signatures"][1]["evidence"];
    REQUIRE(listeners.size() == 1);
    CHECK(listeners[0] == "tcp 0.0.0.0:2745 by svc.exe (pid 7)");
    CHECK(a["verdict"]["score"] == 5);
    CHECK(a["verdict"]["level"] == "suspicious");
    CHECK(kinds(a["verdict"]["classification"]["capabilities"]) == Json{"backdoor"});
}

TEST_CASE("the family: YARA on the sample is sure, on a dropped file less, by syntax least") {
    Json rbot_match = {{"rule", "botscope_rbot_rxbot"},
                       {"namespace", "static"},
                       {"tags", {"bot"}},
                       {"meta", {{"family", "RBot"}, {"severity", 8}}}};
    Json sobig_match = {{"rule", "botscope_sobig_f"},
                        {"namespace", "static"},
                        {"tags", {"massmailer"}},
                        {"meta", {{"family", "Sobig"}, {"severity", 7}}}};
    Json r = report_with(Json::object());
    r["signatures"] = {{"status", "ok"},
                       {"scans",
                        {{{"kind", "dropped"}, {"file", "files/ab"}, {"matches", {rbot_match}}},
                         {{"kind", "sample"}, {"file", "sample"}, {"matches", {sobig_match}}}}}};
    Json v = assess(r)["verdict"];
    CHECK(v["family"]["name"] == "sobig");
    CHECK(v["family"]["confidence"] == "high");
    CHECK(has(names(v["signatures"]), "yara_match"));
    CHECK(v["signatures"][0]["severity"] == 4);  // meta severity 8 of 10
    CHECK(kinds(v["classification"]["spreading"]) == Json{"mass_mailer"});

    r["signatures"]["scans"].erase(1);
    CHECK(assess(r)["verdict"]["family"]["confidence"] == "medium");
    CHECK(assess(r)["verdict"]["family"]["name"] == "rbot");

    // A file the capture carried counts as a dropped one does.
    Json pcap = report_with(Json::object());
    pcap["network"] = {
        {"signatures",
         {{"files", {{{"protocol", "tftp"}, {"name", "x.exe"}, {"matches", {sobig_match}}}}}}}};
    Json pv = assess(pcap)["verdict"];
    CHECK(pv["family"]["name"] == "sobig");
    CHECK(pv["family"]["confidence"] == "medium");
    CHECK(pv["signatures"][0]["evidence"][0] == "static:botscope_sobig_f (Sobig) on tftp x.exe");

    Json ago = report_with(
        {{"commands",
          {{{"verb", "login"}, {"text", ".login x"}, {"via", "irc"}},
           {{"verb", "harvest.cdkeys"}, {"text", ".harvest.cdkeys"}, {"via", "irc"}}}}});
    Json g = assess(ago)["verdict"];
    CHECK(g["family"]["name"] == "agobot");
    CHECK(g["family"]["confidence"] == "low");
    CHECK(has(names(g["signatures"]), "steals_information"));
    CHECK(kinds(g["classification"]["capabilities"]) == Json{"infostealer"});
}

TEST_CASE("a mass mailer is told from a spam relay by the program its mail carries") {
    Json r = report_with(Json::object());
    r["network"] = {{"smtp",
                     {{"sessions",
                       {{{"resp", endpoint("10.66.0.50", 25)},
                         {"messages", {{{"attachments", {{{"name", "details.pif"}}}}}}}},
                        {{"resp", endpoint("10.66.0.51", 25)},
                         {"messages", {{{"attachments", {{{"name", "invoice.pdf"}}}}}}}}}}}}};
    Json spreading = assess(r)["verdict"]["classification"]["spreading"];
    REQUIRE(spreading.size() == 1);
    CHECK(spreading[0]["kind"] == "mass_mailer");
    CHECK(spreading[0]["evidence"] == Json{"mail to 10.66.0.50:25 carries details.pif"});
}

TEST_CASE("traits: names resolved to the C&C, channels with keys, hashes of what was fetched") {
    Json cnc = irc_cnc(6667, 1);
    cnc["start"] = 100.0;
    Json r = report_with({{"cnc", {{"irc", {cnc}}}},
                          {"downloads",
                           {{{"protocol", "http"},
                             {"url", "http://10.66.0.1/u.exe"},
                             {"name", "u.exe"},
                             {"sha256", "aa"},
                             {"md5", "bb"}},
                            {{"protocol", "tftp"}, {"name", "w.exe"}, {"sha256", nullptr}}}}});
    r["network"] = {
        {"dns",
         {{"names",
           {{{"name", "irc.evil.example"}, {"addresses", {"10.66.0.1"}}},
            {{"name", "other.example"}, {"addresses", {"10.66.0.2"}}}}},
          // A sinkhole answers every name with its own address: the C&C's name is the one
          // resolved last before the connection, not the mail exchange looked up after it.
          {"transactions",
           {{{"ts", 10.0},
             {"query", "old.example"},
             {"answers", {{{"type", "A"}, {"rdata", "10.66.0.1"}}}}},
            {{"ts", 50.0},
             {"query", "irc.evil.example"},
             {"answers", {{{"type", "A"}, {"rdata", "10.66.0.1"}}}}},
            {{"ts", 60.0},
             {"query", "other.example"},
             {"answers", {{{"type", "A"}, {"rdata", "10.66.0.2"}}}}},
            {{"ts", 150.0},
             {"query", "mx.mail.example"},
             {"answers", {{{"type", "A"}, {"rdata", "10.66.0.1"}}}}}}}}},
        {"irc",
         {{"sessions",
           {{{"nick", "[JPN|XP|SP2]-12345"},
             {"nicks", {{{"nick", "[JPN|XP|SP2]-12345"}}, {{"nick", "[USA|2K|SP4]-99121"}}}},
             {"user", "bot"},
             {"password", "pw"},
             {"channels",
              {{{"name", "#bots"}, {"key", "k3y"}}, {{"name", "#x"}, {"key", nullptr}}}}}}}}}};
    r["task"] = {{"sample", {{"path", "/honeypot/x/sample.exe"}, {"sha256", "cc"}, {"md5", "dd"}}}};
    Json t = assess(r)["traits"];
    CHECK(t["cnc"][0]["names"] == Json{"irc.evil.example"});
    CHECK(t["dns_names"] == Json{"irc.evil.example", "other.example"});
    CHECK(t["irc"]["nicks"] == Json{"[JPN|XP|SP2]-12345", "[USA|2K|SP4]-99121"});
    CHECK(t["irc"]["channels"] ==
          Json::parse(R"([{"name":"#bots","key":"k3y"},{"name":"#x","key":null}])"));
    CHECK(t["irc"]["passwords"] == Json{"pw"});
    std::string p = t["irc"]["nick_pattern"];
    CHECK(matches(p, "[JPN|XP|SP2]-12345"));
    CHECK(matches(p, "[USA|2K|SP4]-99121"));
    CHECK(t["urls"] == Json{"http://10.66.0.1/u.exe"});
    REQUIRE(t["hashes"].size() == 2);
    CHECK(t["hashes"][0] ==
          Json::parse(R"({"role":"sample","name":"sample.exe","sha256":"cc","md5":"dd"})"));
    CHECK(t["hashes"][1]["role"] == "download");
}

TEST_CASE("nick patterns: random digits and varying parts generalise, the rest stays literal") {
    CHECK(nick_pattern({"[JPN|XP|SP2]-12345"}) == "^\\[JPN\\|XP\\|SP2\\]-\\d{5}$");
    CHECK(nick_pattern({"[JPN|XP|SP2]-12345", "[USA|XP|SP2]-123456"}) ==
          "^\\[[A-Z]{3}\\|XP\\|SP2\\]-\\d{5,6}$");
    CHECK(nick_pattern({"bot07"}) == "^bot07$");
    CHECK(nick_pattern({"Abc123", "xyZ999"}) == "^[A-Za-z]{3}\\d{3}$");
    CHECK(nick_pattern({}).empty());
    CHECK(nick_pattern({"a", "1", "a-", "-1", "a.b"}).empty());  // five shapes: nothing to match

    std::vector<std::string> nicks = {"[DEU|2K|SP4]-00042", "[JPN|XP|SP2]-31337",
                                      "[USA|XP|SP1]-77001", "unrelated_nick"};
    std::string p = nick_pattern(nicks);
    REQUIRE_FALSE(p.empty());
    for (const auto& n : nicks)
        CHECK_MESSAGE(matches(p, n), p << " misses " << n);
    CHECK_FALSE(matches(p, "[JPN|XP|SP2]-12"));
    CHECK_FALSE(matches(p, "x[JPN|XP|SP2]-31337"));
    CHECK_FALSE(matches(p, "Mozilla"));
    // Bytes a regex would read as syntax or as controls stay literal.
    std::string odd = nick_pattern({"a.b*c\x01"});
    CHECK(matches(odd, "a.b*c\x01"));
    CHECK_FALSE(matches(odd, "axbbc\x01"));
}

}  // namespace botscope::report::test_assess
