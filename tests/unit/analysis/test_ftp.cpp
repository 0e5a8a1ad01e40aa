// FTP: Telnet stripping, commands, replies, PORT/EPRT/PASV/EPSV endpoints, the probe (and its
// agreement with the SMTP probe), and the analyzer fed directly (whole, split at every byte,
// with gaps, TLS, hostile input and limits).

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/proto/ftp/ftp_analyzer.h"
#include "analysis/proto/ftp/ftp_parser.h"
#include "analysis/proto/smtp/smtp_analyzer.h"

namespace test_ftp {

using namespace botscope::analysis;
using namespace botscope::analysis::ftp;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

template <std::size_t N>
std::string raw(const char (&s)[N]) {
    return std::string(s, N - 1);
}

constexpr Timestamp kSec = 1'000'000'000;

FlowInfo test_flow() {
    FlowInfo f;
    f.id = 21;
    f.transport = Transport::kTcp;
    f.orig = {IpAddress::v4(10, 0, 0, 5), 1042};
    f.resp = {IpAddress::v4(198, 51, 100, 21), 21};
    f.start = 1000 * kSec;
    return f;
}

struct Harness {
    Weirds weirds;
    FtpResult result;
    AnalyzerContext ctx;
    std::unique_ptr<FtpAnalyzer> analyzer;

    Harness() : ctx{test_flow(), &weirds} { analyzer = std::make_unique<FtpAnalyzer>(ctx, result); }

    /// Each piece comes from its own heap buffer so ASan sees over-reads.
    void feed(Direction dir, std::string_view s, Timestamp ts = 1001 * kSec) {
        std::vector<std::uint8_t> copy(s.begin(), s.end());
        analyzer->on_data(dir, copy, ts);
    }
    void client(std::string_view s, Timestamp ts = 1001 * kSec) { feed(Direction::kOrig, s, ts); }
    void server(std::string_view s, Timestamp ts = 1001 * kSec) { feed(Direction::kResp, s, ts); }
    const FtpSession& end() {
        analyzer->on_end(2000 * kSec);
        REQUIRE(result.sessions.size() == 1);
        return result.sessions[0];
    }
};

struct Turn {
    Direction dir;
    std::string text;
};

// A 2005-style infection: the victim fetches the worm from the bot's own FTP server the way
// Windows ftp.exe does, then an upload in passive mode with a restart, and a listing.
std::vector<Turn> bot_script() {
    return {
        {Direction::kResp, "220 StnyFtpd 0wns j0\r\n"},
        {Direction::kOrig, "USER 1\r\n"},
        {Direction::kResp, "331 Password required\r\n"},
        {Direction::kOrig, "PASS 1\r\n"},
        {Direction::kResp, "230 User logged in.\r\n"},
        {Direction::kOrig, "SYST\r\n"},
        {Direction::kResp, "215 UNIX Type: L8\r\n"},
        {Direction::kOrig, "TYPE I\r\n"},
        {Direction::kResp, "200 Type set to I.\r\n"},
        {Direction::kOrig, "PWD\r\n"},
        {Direction::kResp, "257 \"/pub \"\"x\"\"\" is current directory.\r\n"},
        {Direction::kOrig, "CWD /pub\r\n"},
        {Direction::kResp, "250 CWD command successful.\r\n"},
        {Direction::kOrig, "PORT 10,0,0,5,4,1\r\n"},
        {Direction::kResp, "200 PORT command successful.\r\n"},
        {Direction::kOrig, "RETR eraseme_53212.exe\r\n"},
        {Direction::kResp,
         "150 Opening BINARY mode data connection for eraseme_53212.exe (65536 bytes).\r\n"},
        {Direction::kResp, "226 Transfer complete.\r\n"},
        {Direction::kOrig, "PASV\r\n"},
        {Direction::kResp, "227 Entering Passive Mode (198,51,100,21,195,80).\r\n"},
        {Direction::kOrig, "REST 100\r\n"},
        {Direction::kResp, "350 Restarting at 100.\r\n"},
        {Direction::kOrig, "STOR upload.bin\r\n"},
        {Direction::kResp, "150 Ok to send data.\r\n226 Transfer complete.\r\n"},
        {Direction::kOrig, "EPSV\r\n"},
        {Direction::kResp, "229 Entering Extended Passive Mode (|||6446|)\r\n"},
        {Direction::kOrig, "LIST\r\n"},
        {Direction::kResp, "150 Here comes the directory listing.\r\n226 Directory send OK.\r\n"},
        {Direction::kOrig, "HELP\r\n"},
        {Direction::kResp,
         "214-The following commands are recognized.\r\n ABOR ACCT ALLO\r\n"
         "214 Help OK.\r\n"},
        {Direction::kOrig, "QUIT\r\n"},
        {Direction::kResp, "221 Goodbye.\r\n"},
    };
}

void check_bot_session(const FtpSession& s, const Weirds& weirds) {
    CHECK(s.flow == 21);
    CHECK(s.banner_code == 220);
    CHECK(s.banner == "StnyFtpd 0wns j0");
    CHECK(s.user == "1");
    CHECK(s.users == std::vector<std::string>{"1"});
    CHECK(s.password_sent);
    CHECK(s.logged_in);
    CHECK(s.login_reply == 230);
    CHECK(s.login_attempts == 1);
    CHECK(s.login_failures == 0);
    CHECK(s.syst == "UNIX Type: L8");
    CHECK(s.type == "I");
    CHECK(s.pwd == "/pub \"x\"");
    CHECK(s.cwd == "/pub");
    CHECK_FALSE(s.tls);

    REQUIRE(s.transfers.size() == 3);
    const FtpTransfer& get = s.transfers[0];
    CHECK(get.command == "RETR");
    CHECK(get.name == "eraseme_53212.exe");
    CHECK(get.preliminary == 150);
    CHECK(get.reply == 226);
    CHECK(get.reply_text == "Transfer complete.");
    CHECK(get.size == std::optional<std::uint64_t>(65536));
    CHECK(get.type == "I");
    CHECK(get.offset == 0);
    CHECK_FALSE(get.listing);
    REQUIRE(get.data);
    CHECK(get.data->command == "PORT");
    CHECK_FALSE(get.data->passive);
    CHECK(get.data->endpoint.addr == IpAddress::v4(10, 0, 0, 5));
    CHECK(get.data->endpoint.port == 1025);
    CHECK(get.data->reply == 200);

    const FtpTransfer& put = s.transfers[1];
    CHECK(put.command == "STOR");
    CHECK(put.name == "upload.bin");
    CHECK(put.offset == 100);
    CHECK(put.reply == 226);
    CHECK_FALSE(put.size);
    REQUIRE(put.data);
    CHECK(put.data->passive);
    CHECK(put.data->endpoint.addr == IpAddress::v4(198, 51, 100, 21));
    CHECK(put.data->endpoint.port == 50000);

    const FtpTransfer& list = s.transfers[2];
    CHECK(list.listing);
    REQUIRE(list.data);
    CHECK(list.data->command == "EPSV");
    CHECK(list.data->endpoint.addr == IpAddress::v4(198, 51, 100, 21));
    CHECK(list.data->endpoint.port == 6446);

    REQUIRE(s.data_channels.size() == 3);
    CHECK(s.data_channels[0].command == "PORT");
    CHECK(s.data_channels[1].command == "PASV");
    CHECK(s.data_channels[1].reply == 227);
    CHECK(s.data_channels[2].command == "EPSV");

    REQUIRE(s.commands.size() == 15);
    CHECK(s.commands[1].command == "PASS");
    CHECK(s.commands[1].arg.empty());
    CHECK(s.commands[1].arg_hidden);
    CHECK(s.commands[1].reply == 230);
    CHECK(s.commands[13].command == "HELP");
    CHECK(s.commands[13].reply == 214);
    CHECK(s.commands[13].reply_text == "Help OK.");
    CHECK(s.commands[14].reply == 221);
    CHECK(s.last_replies.back() == "221 Goodbye.");
    CHECK(s.quit);
    CHECK(s.invalid_lines == 0);
    CHECK(weirds.entries().empty());
}

}  // namespace

// ---- parser ----

TEST_CASE("ftp strip_telnet") {
    CHECK(strip_telnet(raw("\xff\xf4\xff\xf2"
                           "ABOR")) == "ABOR");
    CHECK(strip_telnet(raw("\xff\xfb\x01USER a")) == "USER a");
    CHECK(strip_telnet(raw("RETR a\xff\xff"
                           "b")) == raw("RETR a\xff"
                                        "b"));
    CHECK(strip_telnet(raw("NOOP\xff")) == "NOOP");
    CHECK(strip_telnet(raw("\xff\xfd")) == "");
}

TEST_CASE("ftp parse_command") {
    auto c = parse_command("retr my file .exe\r\n");
    CHECK(c.verb == Verb::kRetr);
    CHECK(c.name == "retr");
    CHECK(c.arg == "my file .exe");  // spaces inside a path are kept
    CHECK(parse_command("CWD /a").verb == Verb::kCwd);
    CHECK(parse_command("XPWD").verb == Verb::kPwd);
    CHECK(parse_command("XSHA1 f").verb == Verb::kOther);
    CHECK(parse_command("FOOB x").verb == Verb::kUnknown);
    CHECK(parse_command("GET / HTTP/1.0").verb == Verb::kUnknown);
    CHECK(parse_command("AB").verb == Verb::kInvalid);
    CHECK(parse_command("TOOLONG x").verb == Verb::kInvalid);
    CHECK(parse_command("12AB").verb == Verb::kInvalid);
    CHECK(parse_command("").verb == Verb::kInvalid);
    CHECK(parse_command(raw("\x16\x03\x01")).verb == Verb::kInvalid);
}

TEST_CASE("ftp PORT and EPRT") {
    auto p = parse_port(" 192,168,1,2,7,138 ");
    REQUIRE(p);
    CHECK(p->addr == IpAddress::v4(192, 168, 1, 2));
    CHECK(p->port == 7 * 256 + 138);
    CHECK_FALSE(parse_port("192,168,1,2,7"));
    CHECK_FALSE(parse_port("192,168,1,256,7,1"));
    CHECK_FALSE(parse_port("192,168,1,2,7,1,9"));
    CHECK_FALSE(parse_port("a,b,c,d,e,f"));
    CHECK_FALSE(parse_port(""));

    auto e = parse_eprt("|1|132.235.1.2|6275|");
    REQUIRE(e);
    CHECK(e->addr == IpAddress::v4(132, 235, 1, 2));
    CHECK(e->port == 6275);
    auto e6 = parse_eprt("!2!1080::8:800:200C:417A!5282!");
    REQUIRE(e6);
    CHECK(e6->addr.v6);
    CHECK(e6->port == 5282);
    CHECK_FALSE(parse_eprt("|2|132.235.1.2|6275|"));  // family says v6, address is v4
    CHECK_FALSE(parse_eprt("|3|132.235.1.2|6275|"));
    CHECK_FALSE(parse_eprt("|1|132.235.1.2|70000|"));
    CHECK_FALSE(parse_eprt("|1|132.235.1.2|6275"));
    CHECK_FALSE(parse_eprt("|1|not.an.ip|6275|"));
}

TEST_CASE("ftp PASV and EPSV replies") {
    auto p = parse_pasv_reply("Entering Passive Mode (192,168,1,2,195,80).");
    REQUIRE(p);
    CHECK(p->addr == IpAddress::v4(192, 168, 1, 2));
    CHECK(p->port == 50000);
    CHECK(parse_pasv_reply("=10,0,0,1,4,1")->port == 1025);
    CHECK(parse_pasv_reply("Passive 10, 0, 0, 1, 4, 1 ok")->addr == IpAddress::v4(10, 0, 0, 1));
    CHECK(parse_pasv_reply("mode 2 of 3 (10,0,0,1,4,1)")->port == 1025);
    CHECK_FALSE(parse_pasv_reply("Entering Passive Mode (300,0,0,1,4,1)"));
    CHECK_FALSE(parse_pasv_reply("Entering Passive Mode"));
    CHECK_FALSE(parse_pasv_reply("(1,2,3,4,5)"));
    CHECK(parse_epsv_reply("Entering Extended Passive Mode (|||6446|)") == 6446);
    CHECK(parse_epsv_reply("ok (!!!1025!)") == 1025);
    CHECK_FALSE(parse_epsv_reply("Entering Extended Passive Mode (||6446|)"));
    CHECK_FALSE(parse_epsv_reply("(|||0|)"));
    CHECK_FALSE(parse_epsv_reply("(|||99999|)"));
    CHECK_FALSE(parse_epsv_reply("(|||6446"));
}

TEST_CASE("ftp quoted paths, sizes and STOU names") {
    CHECK(parse_quoted_path("\"/home/bot\" is cwd") == std::string("/home/bot"));
    CHECK(parse_quoted_path("\"a\"\"b\" ok") == std::string("a\"b"));
    CHECK_FALSE(parse_quoted_path("no quotes"));
    CHECK_FALSE(parse_quoted_path("\"unterminated"));
    CHECK(parse_quoted_path("\"" + std::string(2000, 'p') + "\"")->size() == kMaxArgLength);
    CHECK(parse_transfer_size("Opening BINARY mode data connection for a.exe (1320211 bytes).") ==
          std::optional<std::uint64_t>(1320211));
    CHECK(parse_transfer_size("Opening (mode 3) for a (12 bytes)") ==
          std::optional<std::uint64_t>(12));
    CHECK_FALSE(parse_transfer_size("Opening data connection."));
    CHECK(parse_stou_name("FILE: x123.tmp") == std::optional<std::string_view>("x123.tmp"));
    CHECK_FALSE(parse_stou_name("Transfer complete."));
}

// ---- probe ----

TEST_CASE("ftp probe") {
    auto run = [](std::string_view orig, std::string_view resp) {
        ProbeInput in{bytes(orig), bytes(resp), nullptr};
        return probe(in);
    };
    CHECK(run("", "") == ProbeResult::kNeedMore);
    CHECK(run("", "220 (vsFTPd 3.0.3)\r\n") == ProbeResult::kMatch);
    CHECK(run("", "220-FileZilla Server 0.9.60 beta\r\n") == ProbeResult::kMatch);
    CHECK(run("", "220 Microsoft FTP Service\r\n") == ProbeResult::kMatch);
    CHECK(run("", "220 StnyFtpd 0wns j0\r\n") == ProbeResult::kMatch);
    CHECK(run("", "220 Reptile welcomes you\r\n") == ProbeResult::kNeedMore);
    CHECK(run("USER 1\r\n", "220 Reptile welcomes you\r\n") == ProbeResult::kMatch);
    CHECK(run("user anonymous\r\n", "220 ready\r\n") == ProbeResult::kMatch);
    CHECK(run("AUTH TLS\r\n", "220 ready\r\n") == ProbeResult::kMatch);
    CHECK(run("OPTS UTF8 ON\r\n", "220 ready\r\n") == ProbeResult::kMatch);
    CHECK(run("US", "220 ready\r\n") == ProbeResult::kNeedMore);
    CHECK(run("", "120 ready in 5 minutes\r\n") == ProbeResult::kNeedMore);
    CHECK(run("USER x\r\n", "120 ready in 5 minutes\r\n") == ProbeResult::kMatch);
    // A client alone: USER is also IRC's.
    CHECK(run("USER a b c :d\r\n", "") == ProbeResult::kNeedMore);
    CHECK(run("NICK x\r\n", "") == ProbeResult::kNoMatch);
    // SMTP.
    CHECK(run("", "220 mx ESMTP Postfix\r\n") == ProbeResult::kNoMatch);
    CHECK(run("EHLO x\r\n", "220 ready\r\n") == ProbeResult::kNoMatch);
    CHECK(run("EHLO x\r\n", "220 ftp.example.com FTP ready\r\n") == ProbeResult::kNoMatch);
    CHECK(run("", "220 mail.example.com FTP server ready\r\n") == ProbeResult::kNeedMore);
    // Others.
    CHECK(run("", "SSH-2.0-OpenSSH\r\n") == ProbeResult::kNoMatch);
    CHECK(run("GET / HTTP/1.1\r\n", "") == ProbeResult::kNoMatch);
    CHECK(run("", ":irc.example NOTICE AUTH :hi\r\n") == ProbeResult::kNoMatch);
}

TEST_CASE("ftp and smtp probes never both claim a stream") {
    const std::vector<std::string> clients = {
        "",           "U",        "USER 1\r\n",   "EHLO x\r\n",     "HEL",
        "MAIL FROM:", "QUIT\r\n", "AUTH TLS\r\n", "AUTH LOGIN\r\n", "GET /\r\n",
        "HOST a\r\n"};
    const std::vector<std::string> servers = {"",
                                              "2",
                                              "220 ready\r\n",
                                              "220-ESMTP\r\n",
                                              "220 ProFTPD\r\n",
                                              "220 mail FTP\r\n",
                                              "120 soon\r\n",
                                              "421 busy\r\n",
                                              "554 no\r\n",
                                              ":irc NOTICE\r\n"};
    for (const auto& c : clients) {
        for (const auto& s : servers) {
            ProbeInput in{bytes(c), bytes(s), nullptr};
            const bool both =
                probe(in) == ProbeResult::kMatch && smtp::probe(in) == ProbeResult::kMatch;
            CHECK_MESSAGE(!both, "client=" << c << " server=" << s);
        }
    }
}

// ---- analyzer ----

TEST_CASE("ftp analyzer: a worm download from a bot's FTP server") {
    Harness h;
    for (const auto& t : bot_script())
        h.feed(t.dir, t.text);
    check_bot_session(h.end(), h.weirds);
    CHECK(h.result.sessions_seen == 1);
    CHECK(h.result.transfers_seen == 3);
}

TEST_CASE("ftp analyzer: every split position of every turn gives the same facts") {
    const auto script = bot_script();
    std::size_t longest = 0;
    for (const auto& t : script)
        longest = std::max(longest, t.text.size());
    for (std::size_t split = 1; split < longest; ++split) {
        Harness h;
        for (const auto& t : script) {
            const std::string_view s = t.text;
            const std::size_t at = std::min(split, s.size());
            h.feed(t.dir, s.substr(0, at));
            h.feed(t.dir, s.substr(at));
        }
        const FtpSession& s = h.end();
        REQUIRE(s.transfers.size() == 3);
        CHECK(s.transfers[0].name == "eraseme_53212.exe");
        CHECK(s.transfers[0].reply == 226);
        CHECK((s.transfers[1].data && s.transfers[1].data->endpoint.port == 50000));
        CHECK(s.commands[13].reply_text == "Help OK.");
        CHECK(h.weirds.entries().empty());
    }
}

TEST_CASE("ftp analyzer: byte-at-a-time delivery") {
    Harness h;
    for (const auto& t : bot_script())
        for (char c : t.text)
            h.feed(t.dir, std::string_view(&c, 1));
    check_bot_session(h.end(), h.weirds);
}

TEST_CASE("ftp analyzer: anonymous login keeps no e-mail password; failures are counted") {
    Harness h;
    h.server("220-Welcome\r\n220 to the FTP\r\n");
    h.client("USER root\r\n");
    h.server("331 Password required\r\n");
    h.client("PASS toor\r\n");
    h.server("530 Login incorrect.\r\n");
    h.client("USER admin\r\n");
    h.server("331 Password required\r\n");
    h.client("PASS admin\r\n");
    h.server("530 Login incorrect.\r\n");
    h.client("USER anonymous\r\n");
    h.server("331 Guest login ok, send your e-mail as password\r\n");
    h.client("PASS bot@infected.example\r\n");
    h.server("230 Guest login ok.\r\n");
    h.client("USER other\r\n");
    h.server("530 Already logged in\r\n");
    const auto& s = h.end();
    CHECK(s.banner == "Welcome\nto the FTP");
    CHECK(s.users == std::vector<std::string>{"root", "admin", "anonymous", "other"});
    CHECK(s.user == "anonymous");
    CHECK(s.logged_in);
    CHECK(s.login_attempts == 4);
    CHECK(s.login_failures == 3);
    CHECK(s.password_sent);
    for (const auto& c : s.commands) {
        CHECK(c.arg.find("toor") == std::string::npos);
        CHECK(c.arg.find("infected") == std::string::npos);
    }
}

TEST_CASE("ftp analyzer: user name limit") {
    Harness h;
    h.server("220 FTP\r\n");
    for (std::size_t i = 0; i < kMaxUsers + 8; ++i) {
        h.client("USER u" + std::to_string(i) + "\r\nPASS x\r\n");
        h.server("331 pw\r\n530 no\r\n");
    }
    const auto& s = h.end();
    CHECK(s.users.size() == kMaxUsers);
    CHECK(s.users_dropped == 8);
    CHECK(s.login_failures == kMaxUsers + 8);
    CHECK_FALSE(s.logged_in);
}

TEST_CASE("ftp analyzer: FTP bounce, NAT'd PASV and malformed announcements") {
    Harness h;
    h.server("220 FTP\r\n");
    h.client("USER a\r\nPASS b\r\n");
    h.server("331 pw\r\n230 ok\r\n");
    h.client("PORT 203,0,113,9,0,25\r\n");
    h.server("200 ok\r\n");
    h.client("PORT 1,2,3\r\n");
    h.server("501 bad\r\n");
    h.client("PASV\r\n");
    h.server("227 Entering Passive Mode (192,168,0,10,19,137)\r\n");
    h.client("PASV\r\n");
    h.server("227 Entering Passive Mode (nonsense)\r\n");
    h.client("EPRT |1|10.0.0.5|2000|\r\n");
    h.server("500 no EPRT\r\n");
    h.client("RETR x\r\n");
    h.server("425 no data connection\r\n");
    const auto& s = h.end();
    CHECK(h.weirds.count("ftp_port_address_mismatch") == 1);
    CHECK(h.weirds.count("ftp_bad_port_command") == 1);
    CHECK(h.weirds.count("ftp_pasv_address_mismatch") == 1);
    CHECK(h.weirds.count("ftp_bad_pasv_reply") == 1);
    REQUIRE(s.data_channels.size() == 3);
    CHECK(s.data_channels[0].address_mismatch);
    CHECK(s.data_channels[0].endpoint.port == 25);
    CHECK(s.data_channels[1].address_mismatch);
    CHECK(s.data_channels[2].command == "EPRT");
    CHECK(s.data_channels[2].reply == 500);
    REQUIRE(s.transfers.size() == 1);
    // The refused EPRT did not replace the PASV channel in effect.
    REQUIRE(s.transfers[0].data);
    CHECK(s.transfers[0].data->command == "PASV");
    CHECK(s.transfers[0].data->endpoint.port == 19 * 256 + 137);
    CHECK(s.transfers[0].reply == 425);
}

TEST_CASE("ftp analyzer: a channel serves one transfer; STOU takes the server's name") {
    Harness h;
    h.server("220 FTP\r\n");
    h.client("USER a\r\nPASS b\r\nPASV\r\nSTOU\r\nNLST\r\n");
    h.server("331 pw\r\n230 ok\r\n227 =10,0,0,9,4,2\r\n150 FILE: x777.tmp\r\n226 ok\r\n");
    h.server("150 listing\r\n226 done\r\n");
    const auto& s = h.end();
    REQUIRE(s.transfers.size() == 2);
    CHECK(s.transfers[0].command == "STOU");
    CHECK(s.transfers[0].name == "x777.tmp");
    REQUIRE(s.transfers[0].data);
    CHECK(s.transfers[0].data->endpoint.port == 1026);
    CHECK(s.transfers[0].data->address_mismatch);
    CHECK_FALSE(s.transfers[1].data);  // default data port
    CHECK(s.transfers[1].listing);
}

TEST_CASE("ftp analyzer: Telnet codes before ABOR; ABOR during a transfer") {
    Harness h;
    h.server("220 FTP\r\n");
    h.client("USER a\r\nPASS b\r\nRETR big.iso\r\n");
    h.server("331 pw\r\n230 ok\r\n150 opening (999999 bytes)\r\n");
    h.client(
        raw("\xff\xf4\xff\xf2"
            "ABOR\r\n"));
    h.server("426 Transfer aborted\r\n226 ABOR successful\r\n");
    const auto& s = h.end();
    REQUIRE(s.transfers.size() == 1);
    CHECK(s.transfers[0].reply == 426);
    CHECK(s.transfers[0].size == std::optional<std::uint64_t>(999999));
    REQUIRE(s.commands.size() == 4);
    CHECK(s.commands[3].command == "ABOR");
    CHECK(s.commands[3].reply == 226);
    CHECK(s.invalid_lines == 0);
}

TEST_CASE("ftp analyzer: AUTH TLS accepted stops parsing") {
    Harness h;
    h.server("220 FTP\r\n");
    h.client("AUTH TLS\r\n");
    h.server(raw("234 Proceed with negotiation.\r\n\x16\x03\x03\x00\x10"));
    h.client(raw("\x16\x03\x01\x02\x00 garbage\r\nUSER x\r\n"));
    const auto& s = h.end();
    CHECK(s.auth_tls);
    CHECK(s.tls);
    CHECK(s.users.empty());
    CHECK(s.invalid_lines == 0);
    CHECK(h.weirds.entries().empty());
}

TEST_CASE("ftp analyzer: AUTH TLS refused, the session goes on in clear") {
    Harness h;
    h.server("220 FTP\r\n");
    h.client("AUTH TLS\r\nUSER x\r\n");
    h.server("530 TLS not available\r\n331 pw\r\n");
    const auto& s = h.end();
    CHECK(s.auth_tls);
    CHECK_FALSE(s.tls);
    CHECK(s.users == std::vector<std::string>{"x"});
    CHECK(s.login_reply == 331);
}

TEST_CASE("ftp analyzer: gaps") {
    Harness h;
    h.server("220 FTP\r\n");
    h.client("USER a\r\nRE");
    h.analyzer->on_gap(Direction::kOrig, 40, 1002 * kSec);
    h.client("TR lost.exe\r\n");  // the tail of a cut line: skipped
    h.analyzer->on_gap(Direction::kOrig, 12, 1003 * kSec);
    h.client("RETR kept.exe\r\n");  // the gap ended at a line end: a whole command
    // The reply to the lost command was lost too; after the server's gap a reply line is kept.
    h.server("331 pw\r\n150 go\r\n");
    h.analyzer->on_gap(Direction::kResp, 30, 1004 * kSec);
    h.server("226 done\r\n");
    const auto& s = h.end();
    REQUIRE(s.transfers.size() == 1);
    CHECK(s.transfers[0].name == "kept.exe");
    CHECK(s.transfers[0].preliminary == 150);
    CHECK(s.transfers[0].reply == 226);
    CHECK(s.invalid_lines == 0);
}

TEST_CASE("ftp analyzer: over-long lines, garbage, confirmation and giving up") {
    {
        Harness h;
        h.server("220 FTP\r\n");
        h.client("USER a\r\n");
        h.server("331 pw\r\n");
        h.client("CWD " + std::string(kMaxLineLength * 2, 'd') + "\r\nPWD\r\n");
        h.server("500 too long\r\n257 \"/\"\r\n");
        const auto& s = h.end();
        CHECK(h.weirds.count("ftp_line_too_long") == 1);
        CHECK(s.pwd == "/");
        CHECK(s.cwd.empty());
    }
    {
        Harness h;
        h.server("220 hello\r\n");
        for (int i = 0; i < 30; ++i)
            h.client(raw("\x01\x02 garbage\r\n"));
        CHECK(h.analyzer->gave_up());
        const auto& s = h.end();
        CHECK(s.gave_up);
        CHECK(s.invalid_lines == kMaxInvalidLines);
        CHECK(h.weirds.entries().empty());  // never confirmed as FTP
    }
    {
        Harness h;
        h.server("220 FTP\r\n");
        h.client("NOOP\r\n");
        h.server("200 ok\r\nthis is no reply\r\n250 surprise\r\n");
        const auto& s = h.end();
        CHECK(h.weirds.count("ftp_invalid_reply") == 1);
        CHECK(h.weirds.count("ftp_unexpected_reply") == 1);
        CHECK(s.invalid_lines == 1);
    }
}

TEST_CASE("ftp analyzer: command and transfer limits") {
    Harness h;
    h.server("220 FTP\r\n");
    std::string client;
    std::string server;
    for (std::size_t i = 0; i < kMaxTransfersPerSession + 10; ++i) {
        client += "RETR f" + std::to_string(i) + "\r\n";
        server += "550 no such file\r\n";
    }
    h.client(client);
    h.server(server);
    const auto& s = h.end();
    CHECK(s.commands.size() == kMaxCommandsPerSession);
    CHECK(s.commands_seen == kMaxTransfersPerSession + 10);
    CHECK(s.commands_dropped == s.commands_seen - kMaxCommandsPerSession);
    CHECK(s.transfers.size() == kMaxTransfersPerSession);
    CHECK(s.transfers_dropped == 10);
    CHECK(s.transfers.back().reply == 550);
    CHECK(h.weirds.count("ftp_command_limit") == 1);
    CHECK(h.weirds.count("ftp_transfer_limit") == 1);
}

TEST_CASE("ftp analyzer: a missing greeting, 120 then 220, and an unterminated last line") {
    {
        Harness h;
        h.client("USER late\r\n");
        h.server("331 pw\r\n");
        h.client("PASS x\r\n");
        h.server("230 ok\r\n");
        const auto& s = h.end();
        CHECK(s.banner_code == 0);
        CHECK(s.logged_in);
    }
    {
        Harness h;
        h.server("120 ready in 1 minute\r\n220 ready\r\n");
        h.client("USER a\r\nQUIT");
        h.server("331 pw\r\n221 bye");
        h.analyzer->on_eof(Direction::kOrig, 1005 * kSec);
        h.analyzer->on_eof(Direction::kResp, 1005 * kSec);
        const auto& s = h.end();
        CHECK(s.banner_code == 220);
        CHECK(s.quit);
        REQUIRE(s.commands.size() == 2);
        CHECK(s.commands[1].reply == 221);
    }
}

TEST_CASE("ftp analyzer: hostile input never breaks it") {
    std::uint32_t x = 88172645u;
    auto rnd = [&] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    };
    const std::string_view pieces[] = {
        "220 ",       "USER x\r\n", "PASV\r\n", "227 (1,2,3,4,5,6)\r\n", "RETR a\r\n",  "150 ",
        "226 ok\r\n", "211-",       "\r\n",     "PORT 1,2,3,4,5,6\r\n",  "AUTH TLS\r\n"};
    for (int round = 0; round < 200; ++round) {
        Harness h;
        for (int i = 0; i < 60; ++i) {
            std::string chunk;
            if (rnd() % 3 == 0) {
                chunk = pieces[rnd() % std::size(pieces)];
            } else {
                chunk.resize(rnd() % 40);
                for (auto& c : chunk)
                    c = static_cast<char>(rnd());
            }
            const auto dir = rnd() % 2 ? Direction::kOrig : Direction::kResp;
            if (rnd() % 17 == 0)
                h.analyzer->on_gap(dir, rnd() % 100, 1);
            else
                h.feed(dir, chunk);
        }
        h.analyzer->on_eof(Direction::kOrig, 2);
        h.analyzer->on_end(3);
        REQUIRE(h.result.sessions.size() == 1);
        CHECK(h.result.sessions[0].commands.size() <= kMaxCommandsPerSession);
    }
}

TEST_CASE("ftp weird table names are unique and prefixed") {
    for (std::size_t i = 0; i < kWeirds.size(); ++i) {
        CHECK(kWeirds[i].name.substr(0, 4) == "ftp_");
        CHECK_FALSE(kWeirds[i].description.empty());
        for (std::size_t j = i + 1; j < kWeirds.size(); ++j)
            CHECK(kWeirds[i].name != kWeirds[j].name);
    }
}

}  // namespace test_ftp
