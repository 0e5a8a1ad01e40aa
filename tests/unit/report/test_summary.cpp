// The printed summary of a task: whatever the guest or the capture put in the report, nothing
// reaches the operator's terminal as a control, and long lists end in "... and N more".

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "report/summary.h"

namespace botscope::report::test_summary {

namespace {

// OSC that retitles the window, a C1 CSI (U+009B) that clears the screen, the same as a raw
// 8-bit byte, a bidi override, and a byte that is not UTF-8.
const std::string kHostile =
    "x\x1b]0;owned\x07y\xc2\x9b"
    "2J\x9b"
    "2J\xe2\x80\xae\xff\r\nz";

Json hostile_report(std::size_t copies) {
    const std::string& h = kHostile;
    Json listening = Json::array(), autostart = Json::array(), events = Json::array(),
         files = Json::array(), names = Json::array(), channels = Json::array(),
         received = Json::array(), tx = Json::array(), scans = Json::array();
    for (std::size_t i = 0; i < copies; ++i) {
        listening.push_back({{"proto", h}, {"address", h}, {"port", 6667}, {"image", h}});
        autostart.push_back({{"kind", h}, {"location", h}, {"value", h}});
        events.push_back({{"type", "start"}, {"pid", 100 + i}, {"image", h}, {"cmdline", h}});
        files.push_back({{"path", h}, {"status", h}, {"size", 1}});
        names.push_back({{"name", h}, {"queries", 1}, {"addresses", {h}}});
        channels.push_back({{"name", h}, {"key", h}, {"joined", true}});
        received.push_back(
            {{"command", "PRIVMSG"}, {"from", h}, {"target", h}, {"text", h}, {"ts", 1.0}});
        tx.push_back({{"request", {{"method", h}, {"host", h}, {"uri", h}}},
                      {"response", {{"status", 200}}}});
        // Rule names come from rule files, the scanned file's name from the guest.
        scans.push_back(
            {{"file", h}, {"status", "ok"}, {"matches", {{{"namespace", h}, {"rule", h}}}}});
    }
    Json ep = {{"ip", "10.66.0.10"}, {"port", 1025}};
    return {
        {"task",
         {{"id", "7"},
          {"machine", {{"name", "vm1"}, {"domain", "d"}, {"snapshot", "clean"}}},
          {"status", "failed"},
          {"error", {{"stage", "agent"}, {"message", h}}},
          {"sample", {{"path", h}, {"size", 3}, {"sha256", "ab"}}},
          {"stages", {{"revert", 1.0}}}}},
        {"guest",
         {{"processes", {{"events", events}}},
          {"dropped", {{"files", files}}},
          {"listening", listening},
          {"autostart", autostart}}},
        {"fakenet", {{"status", "error"}, {"error", h}}},
        {"signatures", {{"status", "ok"}, {"scans", scans}}},
        {"network",
         {{"capture", {{"format", "pcap"}, {"packets", 0}}},
          {"hosts", {{"count", 1}}},
          {"flows", {{"count", 0}, {"list", Json::array()}}},
          {"dns", {{"names", names}}},
          {"irc",
           {{"sessions",
             {{{"client", ep},
               {"server", ep},
               {"server_name", h},
               {"nick", h},
               {"password", h},
               {"channels", channels},
               {"received", received},
               {"dcc", {{{"type", h}, {"argument", h}, {"ip", h}, {"port", 1}}}}}}}}},
          {"http", {{"transactions", tx}}},
          {"smtp",
           {{"sessions",
             {{{"resp", {{"ip", "10.66.0.1"}}},
               {"messages", {{{"rcpt_to", {"a@b"}}, {"headers", {{"subject", h}}}}}}}}}}}}},
    };
}

}  // namespace

TEST_CASE("task summary: guest and capture text comes out escaped, never raw") {
    std::string s = task_summary("/data/tasks/7/report.json", hostile_report(2));
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        REQUIRE_MESSAGE((c == '\n' || (c >= 0x20 && c < 0x7f)), "raw byte " << int(c) << " in\n"
                                                                            << s);
    }
    CHECK(s.find("x\\x1b]0;owned\\x07y\\xc2\\x9b2J\\x9b2J\\xe2\\x80\\xae\\xff\\x0d\\x0az") !=
          std::string::npos);
    // Every kind of line shows the text, escaped.
    std::vector<std::string> lines;
    for (std::size_t b = 0, e; b < s.size(); b = e + 1) {
        e = s.find('\n', b);
        lines.push_back(s.substr(b, e - b));
    }
    for (std::string label : {"failed", "sample", "process", "dropped", "listening", "autostart",
                              "fakenet", "yara", "dns", "irc", "http"}) {
        CAPTURE(label);
        auto line = std::find_if(lines.begin(), lines.end(),
                                 [&](const std::string& l) { return l.rfind(label, 0) == 0; });
        REQUIRE(line != lines.end());
        CHECK(line->find("x\\x1b]0;owned") != std::string::npos);
    }
    CHECK(s.find("subject \"x\\x1b") != std::string::npos);
    CHECK(s.find("DCC x\\x1b") != std::string::npos);
}

TEST_CASE("task summary: long guest and capture lists are capped with a count of the rest") {
    std::string s = task_summary("/data/tasks/7/report.json", hostile_report(20));
    auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
            ++n;
        return n;
    };
    // processes, dropped files, listening sockets, autostart entries, YARA matches, DNS
    // names, IRC channels and messages, HTTP transactions: 8 shown of 20 each.
    CHECK(count("... and 12 more") == 9);
    CHECK(count("  channel ") == 8);
    CHECK(count("PRIVMSG") == 8);
    CHECK(s.size() < 16 * 1024);
}

TEST_CASE("pcap summary: the same download repeated is one line with its count") {
    Json d1 = {{"url", "http://10.66.0.1/u.exe"}, {"kind", "pe"}, {"size", 4096}, {"sha256", "aa"}};
    Json d2 = {{"url", "http://10.66.0.1/v.exe"}, {"kind", "pe"}, {"size", 512}, {"sha256", "bb"}};
    Json downloads = Json::array();
    for (int i = 0; i < 300; ++i)
        downloads.push_back(i % 100 == 7 ? d2 : d1);
    Json report = {{"network",
                    {{"capture", {{"format", "pcap"}, {"packets", 0}}},
                     {"hosts", {{"count", 1}}},
                     {"flows", {{"count", 0}, {"list", Json::array()}}}}},
                   {"behavior", {{"downloads", downloads}}}};
    std::string text = text_summary("x.pcap", report);
    auto count = [&text](const std::string& what) {
        std::size_t n = 0;
        for (std::size_t at = text.find(what); at != std::string::npos;
             at = text.find(what, at + 1))
            ++n;
        return n;
    };
    CHECK(count("download ") == 2);
    CHECK(count("u.exe pe 4096 bytes sha256 aa x297") == 1);
    CHECK(count("v.exe pe 512 bytes sha256 bb x3") == 1);
}

TEST_CASE("summaries of malformed reports print what they can and never read past the JSON") {
    // Shapes a report read from a file could take instead of the right one: missing parts,
    // parts of the wrong type, references to findings that are not there.
    const char* const reports[] = {
        R"(null)",
        R"({})",
        R"({"network": 5})",
        R"({"network": {"capture": "x", "flows": {"list": 3}, "irc": {"sessions": [1]}}})",
        R"({"network": {}, "behavior": {"floods": [{"kind": "syn"}, {"reflection": 1}, 7],
            "cnc": {"irc": [{"start": "x"}], "http_beacons": [{}]}, "remote_shells": [{}],
            "commands": [{"followed_by": [{"section": "floods", "index": 99}, 3]}]}})",
        R"({"task": 1, "guest": {"processes": 2}, "network": {"dns": {"names": [4]}}})",
        R"({"network": {"capture": {"packets": -1, "bytes": 1e300, "first_ts": 1e300,
            "last_ts": -5, "duration": "x"}, "hosts": {"count": -3.5}},
            "behavior": {"floods": [{"ports": ["a", -1, 1e30], "ts": 1e99}],
            "scans": [{"target_ranges": [1, null]}]}})",
    };
    for (const char* text : reports) {
        INFO(text);
        const Json r = Json::parse(text);
        CHECK_NOTHROW((void)text_summary("x.pcap", r));
        CHECK_NOTHROW((void)task_summary("report.json", r));
    }
}

TEST_CASE("pcap summary: a command followed by the same download again and again says it once") {
    Json d = {{"url", "http://10.66.0.1/u.exe"}, {"kind", "pe"}, {"size", 4096}, {"sha256", "aa"}};
    Json downloads = Json::array();
    Json followed = Json::array();
    for (int i = 0; i < 120; ++i) {
        downloads.push_back(d);
        followed.push_back({{"section", "downloads"}, {"index", i}, {"delay", 1.0 * i}});
    }
    followed.push_back({{"section", "floods"}, {"index", 0}, {"delay", 0.5}});
    Json flood = {{"kind", "syn"}, {"target", "10.66.0.200"}, {"events", 500}};
    Json command = {{"ts", 1.0},
                    {"where", "channel"},
                    {"target", "#b0tz"},
                    {"text", ".download http://10.66.0.1/u.exe"},
                    {"followed_by", followed}};
    Json report = {{"network",
                    {{"capture", {{"format", "pcap"}, {"packets", 0}}},
                     {"hosts", {{"count", 1}}},
                     {"flows", {{"count", 0}, {"list", Json::array()}}}}},
                   {"behavior",
                    {{"downloads", downloads},
                     {"floods", Json::array({flood})},
                     {"commands", Json::array({command})}}}};
    std::string text = text_summary("x.pcap", report);
    INFO(text);
    CHECK(text.find("-> download http://10.66.0.1/u.exe x120 (+0.0 s to +119.0 s)") !=
          std::string::npos);
    CHECK(text.find("-> syn flood on 10.66.0.200, 500 events (+0.5 s)") != std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') < 20);
}

TEST_CASE("pcap summary: grouped downloads, cut lists and estimates read as such") {
    // What the report writes past its budgets: a download entry standing for 40 transfers, a
    // command's reference carrying its count, a reference past the listed floods, lists cut
    // with NAME_omitted, a spam run counted past the SMTP caps.
    Json d = {{"url", "http://10.66.0.1/u.exe"},
              {"kind", "pe"},
              {"size", 4096},
              {"sha256", "aa"},
              {"count", 40}};
    Json command = {
        {"ts", 1.0},
        {"where", "channel"},
        {"target", "#b0tz"},
        {"text", ".download http://10.66.0.1/u.exe"},
        {"followed_by", Json::array({{{"section", "downloads"},
                                      {"index", 0},
                                      {"delay", 0.5},
                                      {"count", 40},
                                      {"last_delay", 39.5}},
                                     {{"section", "floods"}, {"index", 70}, {"delay", 2.0}}})},
        {"followed_by_omitted", 3}};
    Json run = {{"client", "10.66.0.5"}, {"messages", 5000},          {"servers", 4410},
                {"recipients", 4890},    {"recipient_domains", 4700}, {"estimated", true}};
    Json report = {{"network",
                    {{"capture", {{"format", "pcap"}, {"packets", 0}}},
                     {"hosts", {{"count", 1}}},
                     {"flows", {{"count", 0}, {"list", Json::array()}}}}},
                   {"behavior",
                    {{"downloads", Json::array({d})},
                     {"floods", Json::array({{{"kind", "syn"}, {"target", "10.66.0.200"}}})},
                     {"floods_omitted", 90},
                     {"spam_runs", Json::array({run})},
                     {"commands", Json::array({command})},
                     {"commands_omitted", 9}}}};
    std::string text = text_summary("x.pcap", report);
    INFO(text);
    CHECK(text.find("u.exe pe 4096 bytes sha256 aa x40") != std::string::npos);
    CHECK(text.find("-> download http://10.66.0.1/u.exe x40 (+0.5 s to +39.5 s)") !=
          std::string::npos);
    CHECK(text.find("-> floods #70 (in behavior.jsonl) (+2.0 s)") != std::string::npos);
    CHECK(text.find("-> 3 more, in behavior.jsonl") != std::string::npos);
    CHECK(text.find("... and 90 more") != std::string::npos);
    CHECK(text.find("10 received; of the 1 in the report, 0 without a behaviour seen") !=
          std::string::npos);
    CHECK(text.find("5000 message(s) to about 4410 server(s), about 4890 recipient(s) in about "
                    "4700 domain(s)") != std::string::npos);
}

TEST_CASE(
    "pcap summary: a reflection, an attempted spam run and a remote shell say what they are") {
    Json flood = {{"kind", "udp"},
                  {"target", "10.66.0.10"},
                  {"ports", Json::array({1024})},
                  {"ports_total", 900},
                  {"events", 1500},
                  {"duration", 1.5},
                  {"peak_events_per_second", 1000.0},
                  {"sources", 300},
                  {"spoofed_sources", 300},
                  {"reflection", {{"port", 53}, {"reflectors", 300}}}};
    Json run = {{"client", "10.66.0.5"},   {"messages", 0},          {"servers", 8},
                {"recipients", 0},         {"recipient_domains", 0}, {"subjects", Json::array()},
                {"unanswered_servers", 6}, {"attempted", true}};
    Json shell = {
        {"connect_back", false},
        {"shell", {{"ip", "10.66.0.10"}, {"port", 4444}}},
        {"controller", {{"ip", "10.66.0.5"}, {"port", 3001}}},
        {"commands", 3},
        {"fetches",
         Json::array({{{"tool", "tftp"}, {"host", "10.66.0.5"}, {"file", "msblast.exe"}}})},
        {"download_execute", true}};
    Json report = {{"network",
                    {{"capture", {{"format", "pcap"}, {"packets", 0}}},
                     {"hosts", {{"count", 1}}},
                     {"flows", {{"count", 0}, {"list", Json::array()}}}}},
                   {"behavior",
                    {{"floods", Json::array({flood})},
                     {"spam_runs", Json::array({run})},
                     {"remote_shells", Json::array({shell})}}}};
    std::string text = text_summary("x.pcap", report);
    INFO(text);
    CHECK(text.find("UDP flood on 10.66.0.10:1024,...: 1500 packets") != std::string::npos);
    CHECK(text.find("reflected by 300 servers from port 53") != std::string::npos);
    CHECK(text.find("(300 spoofed)") == std::string::npos);  // reflectors are real senders
    CHECK(text.find("6 server(s) never answered (attempted: nothing accepted)") !=
          std::string::npos);
    CHECK(text.find("bind shell on 10.66.0.10:4444 from 10.66.0.5:3001, 3 command(s), fetched "
                    "msblast.exe by tftp from 10.66.0.5, then started it") != std::string::npos);
}

}  // namespace botscope::report::test_summary
