// botscope's own rules (signatures/static, signatures/network): each hits a synthetic file or
// stream holding what it targets, and none hits the machine's own binaries or the project's.
// A rule added without a positive case here fails the first test.

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "yara/yara.h"

namespace test_signatures {

using namespace botscope::yara;
namespace fs = std::filesystem;

namespace {

const fs::path kSignatures = fs::path(BOTSCOPE_SOURCE_DIR) / "signatures";

std::shared_ptr<const RuleSet> compiled(const char* folder, Target target) {
    std::vector<Diagnostic> diags;
    auto set = RuleSet::compile({kSignatures / folder}, target, diags);
    for (const auto& d : diags)
        INFO(d.text());
    REQUIRE(set != nullptr);
    return set;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// UTF-16LE, as Windows programs keep many of their strings.
std::string wide(const std::string& s) {
    std::string w;
    for (char c : s) {
        w += c;
        w += '\0';
    }
    return w;
}

/// What each rule targets, as a file would hold it: strings among filler bytes.
std::string file_with(const std::vector<std::string>& strings) {
    std::string f = "MZ" + std::string(200, '\0');
    for (const auto& s : strings)
        f += s + std::string(17, '\0');
    return f;
}

const std::map<std::string, std::string>& static_positives() {
    static const std::map<std::string, std::string> p = {
        {"static:botscope_agobot_phatbot",
         file_with({"bot.about", "bot.execute", "ddos.synflood", "harvest.cdkeys"})},
        {"static:botscope_rbot_rxbot",
         file_with({wide("[SCAN]:"), wide("[DDoS]:"), wide("[MAIN]:"), "advscan", "lsass_445"})},
        {"static:botscope_sobig_f",
         file_with({"Please see the attached file for details.", "Re: That movie", "Re: Approved",
                    "your_document.pif", "thank_you.pif", "movie0045.pif"})},
        {"static:botscope_sdbot",
         file_with({"cpu: %dMHz. ram: %dKB total, %dKB free.", "os: Windows %s (%d.%d, build %d).",
                    "uptime: %dd %dh %dm", "connection type: %s (%s).",
                    "sending %d udp packets to: %s. packet size: %d, delay: %d[ms]."})},
        {"static:botscope_spybot", file_with({"startkeylogger", "listprocesses", "killprocess",
                                              "Software\\KaZaA\\LocalContent", "dir0", "012345:"})},
        {"static:botscope_mytob", file_with({"*DETECTED* Online User Violation",
                                             "Your Account is Suspended For Security Reasons",
                                             "We have temporarily suspended your email account"})},
        {"static:botscope_zotob",
         file_with({"botzor.exe", wide("B-O-T-Z-O-R"), "\\pipe\\browser", "haha.exe"})},
        {"static:botscope_bozori", file_with({"wintbp.exe", wide("botzor.exe"), "svnlitup32.exe",
                                              "mousebm.exe", "csm.exe", "pnpsrv.exe"})},
    };
    return p;
}

const std::map<std::string, std::string>& network_positives() {
    static const std::map<std::string, std::string> p = {
        {"network:botscope_irc_rbot_commands",
         ":b0ss!b@h TOPIC #bots :.advscan lsass_445 50 3 0 10.66.0.x -s\r\n"},
        {"network:botscope_irc_rbot_replies",
         "PRIVMSG #bots :[DDoS]: Done with SYN flood to 10.66.0.200\r\n"},
        {"network:botscope_irc_agobot_commands",
         ":op!o@h PRIVMSG #x :.ddos.synflood 10.66.0.200 80 30 \r\n"},
        {"network:botscope_irc_sdbot_commands",
         ":b0ss!b@h PRIVMSG #sd :!udp 10.66.0.200 1000 4096 0\r\n"},
        {"network:botscope_irc_sdbot_replies",
         "PRIVMSG #sd :sending 1000 udp packets to: 10.66.0.200. packet size: 4096, delay: "
         "0[ms].\r\n"},
        {"network:botscope_irc_spybot_commands", ":op!o@h PRIVMSG #spy :startkeylogger\r\n"},
        {"network:botscope_http_gate_checkin",
         "GET /gate.php?id=4711&v=2 HTTP/1.0\r\nHost: cc.botscope.test\r\n\r\n"},
        {"network:botscope_http_bot_report",
         "GET /img/stat.asp?uid=0a1b2c3d&os=WinXP&ver=1.2 HTTP/1.1\r\nHost: "
         "cc.botscope.test\r\n\r\n"},
    };
    return p;
}

/// Every rule of `set` has a positive; each positive matches its rule and no other.
void each_rule_hits_its_case(const RuleSet& set,
                             const std::map<std::string, std::string>& positives) {
    auto shared = std::shared_ptr<const RuleSet>(&set, [](const RuleSet*) {});
    Scanner scanner(shared, std::chrono::seconds(10));
    for (const auto& name : set.rule_names()) {
        CAPTURE(name);
        auto p = positives.find(name);
        REQUIRE_MESSAGE(p != positives.end(), "no positive case for " << name);
        auto r = scanner.scan(bytes_of(p->second), {});
        REQUIRE(r.status == ScanResult::Status::kOk);
        REQUIRE(r.matches.size() == 1);
        CHECK(r.matches[0].ns + ":" + r.matches[0].rule == name);
        CHECK(r.matches[0].meta.contains("description"));
        CHECK(r.matches[0].meta.contains("family"));
        CHECK(r.matches[0].meta.contains("severity"));
    }
    CHECK(positives.size() == set.rules());
}

}  // namespace

TEST_CASE("signatures: every botscope rule hits a file or stream holding what it targets") {
    auto files = compiled("static", Target::kFiles);
    auto streams = compiled("network", Target::kStreams);
    CHECK(files->rules() >= 8);
    CHECK(streams->rules() >= 8);
    each_rule_hits_its_case(*files, static_positives());
    each_rule_hits_its_case(*streams, network_positives());

    // The bundled emulator imitates an rxBot, strings included, in both of its builds.
    for (const char* emu :
         {"tests/samples/botscope-botemu", "tests/samples/windows/botscope-botemu.exe"}) {
        const fs::path f = fs::path(BOTSCOPE_BINARY_DIR) / emu;
        if (!fs::exists(f))
            continue;
        CAPTURE(f);
        Scanner s(files, std::chrono::seconds(10));
        auto r = s.scan_file(f, Externals::of(f));
        REQUIRE(r.matches.size() == 1);
        CHECK(r.matches[0].rule == "botscope_rbot_rxbot");
    }

    // Half of what a rule asks for is not enough.
    Scanner scanner(files, std::chrono::seconds(10));
    auto r = scanner.scan(bytes_of(file_with({"bot.about", "ddos.synflood", "[SCAN]:", "advscan",
                                              "Re: Approved", "thank_you.pif"})),
                          {});
    CHECK(r.matches.empty());
    // The same for the families added since: one part of each, never enough on its own.
    for (const auto& half : std::vector<std::vector<std::string>>{
             {"cpu: %dMHz. ram: %dKB total, %dKB free.", "uptime: %dd %dh %dm", "rndnick"},
             {"startkeylogger", "killprocess", "My Shared Folder", "012345:"},
             {"*DETECTED* Online User Violation", "Members Support", "WINDOWS SYSTEM"},
             {"Mail transaction failed. Partial message is available.",
              "The message contains Unicode characters and has been sent as a binary attachment.",
              "WINDOWS SYSTEM"},
             {"botzor.exe", "haha.exe", "\\pipe\\browser"},
             {"B-O-T-Z-O-R", "Botzor2005"},
             {"wintbp.exe", "botzor.exe", "csm.exe", "svnlitup32.exe"},
             {"winpnp.exe", "botzor.exe", "csm.exe", "svnlitup32.exe", "mousebm.exe"}}) {
        CAPTURE(half[0]);
        CHECK(scanner.scan(bytes_of(file_with(half)), {}).matches.empty());
    }
    // Whole rule sets without the MZ a Windows program starts with are not programs.
    auto no_mz = static_positives().at("static:botscope_zotob");
    no_mz[0] = 'X';
    CHECK(scanner.scan(bytes_of(no_mz), {}).matches.empty());
    Scanner net(streams, std::chrono::seconds(10));
    // A person talking about a command is not a command ordered.
    r = net.scan(bytes_of("PRIVMSG #help :what does advscan do?\r\n"
                          "PRIVMSG #help :see http://example.org/ddos.syn.html\r\n"),
                 {});
    CHECK(r.matches.empty());
    r = net.scan(bytes_of("PRIVMSG #help :how do I !udp a game server? ping 10.0.0.1 is fine\r\n"
                          "PRIVMSG #help :the keylogger talk: startkeylogger is a spybot thing\r\n"
                          "PRIVMSG #help :sending 3 pings to a friend\r\n"),
                 {});
    CHECK(r.matches.empty());
    // Ordinary browsing: an id and a version on an ordinary page, an OS that is not Windows, a
    // gate script without a bot's id.
    r = net.scan(
        bytes_of("GET /index.php?id=42&v=3 HTTP/1.1\r\nHost: shop.example\r\n\r\n"
                 "GET /view.php?uid=7a7a7a&os=linux&ver=2 HTTP/1.1\r\nHost: a.example\r\n\r\n"
                 "GET /gate.php?lang=en&v=2 HTTP/1.1\r\nHost: zoo.example\r\n\r\n"
                 "GET /search?q=gate.php%3Fid%3D1%26os%3Dxp HTTP/1.1\r\nHost: s.example\r\n\r\n"),
        {});
    CHECK(r.matches.empty());
}

TEST_CASE("signatures: no botscope rule hits the machine's programs or the project's own") {
    auto files = compiled("static", Target::kFiles);
    auto streams = compiled("network", Target::kStreams);
    Scanner on_files(files, std::chrono::seconds(30));
    Scanner on_streams(streams, std::chrono::seconds(30));
    // Bounded: the first files of each folder in name order, so the case stays fast and the
    // same from run to run.
    std::vector<fs::path> benign;
    auto take = [&benign](const fs::path& dir, std::size_t n, const std::string& ext = {}) {
        std::vector<fs::path> found;
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_regular_file(ec) && (ext.empty() || it->path().extension() == ext))
                found.push_back(it->path());
        std::sort(found.begin(), found.end());
        found.resize(std::min(found.size(), n));
        benign.insert(benign.end(), found.begin(), found.end());
    };
    take("/usr/bin", 400);
    take("/usr/sbin", 100);
    // Windows programs: wine's own PE builds (tools/setup installs wine64).
    take("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows", 300, ".dll");
    take("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows", 100, ".exe");
    const fs::path build = fs::path(BOTSCOPE_BINARY_DIR);
    for (const char* own : {"controller/cli/botscope", "guest-agent/botscope-agent",
                            "guest-agent/windows/botscope-agent.exe"})
        if (fs::exists(build / own))
            benign.push_back(build / own);
    CHECK(benign.size() > 400);
    std::size_t scanned = 0;
    for (const auto& f : benign) {
        CAPTURE(f);
        auto r = on_files.scan_file(f, Externals::of(f));
        if (r.status == ScanResult::Status::kError)
            continue;  // unreadable or over the size cap
        ++scanned;
        CHECK(r.matches.empty());
        auto s = on_streams.scan_file(f, Externals::of(f));
        CHECK(s.matches.empty());
    }
    CHECK(scanned > 400);
}

}  // namespace test_signatures
