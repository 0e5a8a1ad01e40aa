// IRC: the line parser, the message parser, text helpers, DCC, the probe, and the analyzer fed
// directly (whole, split at every byte, with gaps, hostile input and limits).

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/proto/irc/irc_analyzer.h"
#include "analysis/proto/irc/irc_parser.h"
#include "util/byte_reader.h"

namespace test_irc {

using namespace botscope::analysis;
using namespace botscope::analysis::irc;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

constexpr Timestamp kSec = 1'000'000'000;

FlowInfo test_flow() {
    FlowInfo f;
    f.id = 7;
    f.transport = Transport::kTcp;
    f.orig = {IpAddress::v4(10, 0, 0, 5), 1042};
    f.resp = {IpAddress::v4(198, 51, 100, 7), 6667};
    f.start = 1000 * kSec;
    return f;
}

struct Harness {
    Weirds weirds;
    IrcResult result;
    AnalyzerContext ctx;
    IrcAnalyzer analyzer;

    Harness() : ctx{test_flow(), &weirds}, analyzer(ctx, result) {}

    void client(std::string_view s, Timestamp ts = 1001 * kSec) {
        analyzer.on_data(Direction::kOrig, bytes(s), ts);
    }
    void server(std::string_view s, Timestamp ts = 1001 * kSec) {
        analyzer.on_data(Direction::kResp, bytes(s), ts);
    }
    const IrcSession& end() {
        analyzer.on_end(2000 * kSec);
        // Every anomaly reported comes from the protocol's one table.
        for (const auto& item : weirds.entries()) {
            const std::string& name = item.first;
            CAPTURE(name);
            CHECK(item.second.analyzer == "irc");
            CHECK(std::any_of(kWeirds.begin(), kWeirds.end(),
                              [&](const WeirdInfo& w) { return w.name == name; }));
        }
        REQUIRE(result.sessions.size() == 1);
        return result.sessions[0];
    }
};

// A 2005-style bot session: the bot registers, loses its first nick, joins a keyed channel
// whose topic is a command, obeys a private order and offers a DCC.
const std::string kBotClient =
    "PASS s3cr3t\r\n"
    "NICK [JPN|XP|SP2]-04821\r\n"
    "USER bot 0 0 :[JPN|XP|SP2]-04821\r\n"
    "NICK {USA}^`_\\-04821\r\n"
    "JOIN #b0tn3t,#spam k3y\r\n"
    "PRIVMSG #b0tn3t :\x02[DDoS]\x02 flooding 198.51.100.10:80\r\n"
    "PRIVMSG boss :\x01"
    "DCC SEND \"bot copy.exe\" 3232235777 4444 65536\x01\r\n";
const std::string kBotServer =
    ":irc.evil.example NOTICE AUTH :*** Looking up your hostname...\r\n"
    ":irc.evil.example 433 * [JPN|XP|SP2]-04821 :Nickname is already in use.\r\n"
    ":irc.evil.example 001 {USA}^`_\\-04821 :Welcome to the botnet\r\n"
    ":{USA}^`_\\-04821!bot@10.0.0.5 JOIN :#b0tn3t\r\n"
    ":irc.evil.example 332 {USA}^`_\\-04821 #b0tn3t :.ddos.syn 198.51.100.10 80 60\r\n"
    ":irc.evil.example 333 {USA}^`_\\-04821 #b0tn3t boss!boss@203.0.113.9 1136073600\r\n"
    ":boss!boss@203.0.113.9 PRIVMSG {USA}^`_\\-04821 :\x03"
    "04,01.advscan dcom135 100 5 0 -r\x0F\r\n"
    "PING :irc.evil.example\r\n";

void check_bot_session(const IrcSession& s) {
    CHECK(s.confirmed);
    CHECK(s.registered);
    CHECK(s.server_name == "irc.evil.example");
    REQUIRE(s.password);
    CHECK(*s.password == "s3cr3t");
    REQUIRE(s.nicks.size() == 2);
    CHECK(s.nicks[0].nick == "[JPN|XP|SP2]-04821");
    CHECK(s.nicks[0].status == NickStatus::kRejected);
    CHECK(s.nicks[0].reply == 433);
    CHECK(s.nicks[1].nick == "{USA}^`_\\-04821");
    CHECK(s.nicks[1].status == NickStatus::kAccepted);
    CHECK(s.nick == "{USA}^`_\\-04821");
    REQUIRE(s.user);
    CHECK(*s.user == "bot");
    CHECK(*s.realname == "[JPN|XP|SP2]-04821");

    REQUIRE(s.channels.size() == 2);
    CHECK(s.channels[0].name == "#b0tn3t");
    CHECK(s.channels[0].key == "k3y");
    CHECK(s.channels[0].joined);
    CHECK(s.channels[1].name == "#spam");
    CHECK_FALSE(s.channels[1].has_key);
    CHECK_FALSE(s.channels[1].joined);

    // Received: the AUTH notice, the topic (with who set it) and the private order.
    REQUIRE(s.received.size() == 3);
    const auto& topic = s.received[1];
    CHECK(topic.command == "332");
    CHECK(topic.target == "#b0tn3t");
    CHECK(topic.text == ".ddos.syn 198.51.100.10 80 60");
    CHECK(topic.set_by == "boss!boss@203.0.113.9");
    CHECK(topic.set_at == 1136073600u);
    const auto& order = s.received[2];
    CHECK(order.command == "PRIVMSG");
    CHECK(order.from == "boss!boss@203.0.113.9");
    CHECK(order.is_private);
    CHECK(order.text == ".advscan dcom135 100 5 0 -r");
    CHECK(order.text_raw ==
          "\x03"
          "04,01.advscan dcom135 100 5 0 -r\x0F");

    // Sent: every client command; the bot's report has its bold codes removed.
    REQUIRE(s.sent.size() == 7);
    CHECK(s.sent[5].command == "PRIVMSG");
    CHECK(s.sent[5].target == "#b0tn3t");
    CHECK(s.sent[5].text == "[DDoS] flooding 198.51.100.10:80");
    CHECK_FALSE(s.sent[5].is_private);

    REQUIRE(s.dcc.size() == 1);
    CHECK(s.dcc[0].sent);
    CHECK(s.dcc[0].type == "SEND");
    CHECK(s.dcc[0].argument == "bot copy.exe");
    CHECK(s.dcc[0].addr.to_string() == "192.168.1.1");
    CHECK(s.dcc[0].port == 4444);
    CHECK(s.dcc[0].size == 65536u);
    CHECK(s.pings == 1);
    CHECK(s.numerics.at(1) == 1);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parser

TEST_CASE("irc: extract_line handles CRLF, bare LF, incomplete and over-long lines") {
    auto r = extract_line("NICK a\r\nUSER");
    CHECK(r.status == LineStatus::kOk);
    CHECK(r.line == "NICK a");
    CHECK(r.consumed == 8);
    r = extract_line("NICK a\nX");
    CHECK(r.line == "NICK a");
    CHECK(r.consumed == 7);
    CHECK(extract_line("NICK a").status == LineStatus::kIncomplete);
    r = extract_line(std::string(20, 'x'), 10);
    CHECK(r.status == LineStatus::kTooLong);
    CHECK(r.line.size() == 10);
    r = extract_line(std::string(10, 'x') + "\n", 10);
    CHECK(r.status == LineStatus::kOk);  // exactly at the limit is fine
}

TEST_CASE("irc: prefix, command and params, with every character bots put in nicks") {
    auto r = parse_message(
        ":[JPN|XP|SP2]-04821!~bot@host-1.example PRIVMSG #chan :.ddos.syn 198.51.100.10 80 60");
    REQUIRE(r.status == ParseStatus::kOk);
    CHECK(r.msg.prefix.nick == "[JPN|XP|SP2]-04821");
    CHECK(r.msg.prefix.user == "~bot");
    CHECK(r.msg.prefix.host == "host-1.example");
    CHECK(r.msg.command == "PRIVMSG");
    REQUIRE(r.msg.params.size() == 2);
    CHECK(r.msg.params[1] == ".ddos.syn 198.51.100.10 80 60");
    CHECK(r.msg.has_trailing);

    r = parse_message(":irc.example.net 001 {USA}`^_\\|-1 :Welcome");
    REQUIRE(r.status == ParseStatus::kOk);
    CHECK(r.msg.prefix.looks_like_server());
    CHECK(r.msg.numeric() == 1);
    CHECK(r.msg.param(0) == "{USA}`^_\\|-1");
}

TEST_CASE("irc: extra leading and inner whitespace (Zeek irc-whitespace)") {
    auto r = parse_message("    JOIN      #BROTEST");
    REQUIRE(r.status == ParseStatus::kOk);
    CHECK(r.msg.command == "JOIN");
    REQUIRE(r.msg.params.size() == 1);
    CHECK(r.msg.params[0] == "#BROTEST");

    r = parse_message(" PRIVMSG          #BROTEST      :test");
    REQUIRE(r.status == ParseStatus::kOk);
    CHECK(r.msg.param(0) == "#BROTEST");
    CHECK(r.msg.param(1) == "test");

    r = parse_message("USER brotest * * * * * ");
    REQUIRE(r.status == ParseStatus::kOk);
    CHECK(r.msg.params.size() == 6);
    CHECK_FALSE(r.msg.has_trailing);

    CHECK(parse_message("   \t ").status == ParseStatus::kEmpty);
    CHECK(parse_message("\r").status == ParseStatus::kEmpty);
}

TEST_CASE("irc: IRCv3 tags are parsed and unescaped") {
    auto r = parse_message(
        "@time=2025-07-28T20:48:30.026Z;msg=a\\sb\\:c\\\\d;flag :ircd1.local CAP * ACK :x");
    REQUIRE(r.status == ParseStatus::kOk);
    REQUIRE(r.msg.tags.size() == 3);
    CHECK(r.msg.tags[0].key == "time");
    CHECK(r.msg.tags[0].value == "2025-07-28T20:48:30.026Z");
    CHECK(r.msg.tags[1].value == "a b;c\\d");
    CHECK(r.msg.tags[2].key == "flag");
    CHECK(r.msg.tags[2].value.empty());
    CHECK(r.msg.prefix.nick == "ircd1.local");
    CHECK(r.msg.command == "CAP");

    std::string many = "@";
    for (int i = 0; i < 40; ++i)
        many += "k" + std::to_string(i) + "=v;";
    many += " PING :x";
    r = parse_message(many);
    REQUIRE(r.status == ParseStatus::kOk);
    CHECK(r.msg.tags.size() == kMaxTags);
    CHECK(r.msg.tags_truncated);
}

TEST_CASE("irc: lines that are not IRC are invalid") {
    CHECK(parse_message(":only.a.prefix").status == ParseStatus::kInvalid);
    CHECK(parse_message(":").status == ParseStatus::kInvalid);
    CHECK(parse_message("@a=b").status == ParseStatus::kInvalid);
    CHECK(parse_message("HTTP/1.1 200 OK").status == ParseStatus::kInvalid);
    CHECK(parse_message("12 two digits").status == ParseStatus::kInvalid);
    CHECK(parse_message("1234 four digits").status == ParseStatus::kInvalid);
    CHECK(parse_message(std::string_view("NICK a\0b", 8)).status == ParseStatus::kInvalid);
    CHECK(parse_message(":pre\x01x NOTICE a :b").status == ParseStatus::kInvalid);
    CHECK(parse_message(std::string(kMaxCommandLength + 1, 'A')).status == ParseStatus::kInvalid);
    CHECK(parse_message("map").status == ParseStatus::kOk);  // unknown commands are fine
}

TEST_CASE("irc: parameters past the limit stay together in the last one") {
    std::string line = "MODE";
    for (int i = 0; i < 40; ++i)
        line += " p" + std::to_string(i);
    auto r = parse_message(line);
    REQUIRE(r.status == ParseStatus::kOk);
    REQUIRE(r.msg.params.size() == kMaxParams);
    CHECK(r.msg.params_truncated);
    CHECK(r.msg.params.back().substr(0, 7) == "p31 p32");
}

TEST_CASE("irc: nick validity and RFC 1459 case mapping") {
    CHECK(is_valid_nick("[JPN|XP|SP2]-04821"));
    CHECK(is_valid_nick("{USA}"));
    CHECK(is_valid_nick("a^b-c|d\\e`f_g"));
    CHECK_FALSE(is_valid_nick("!!!!"));
    CHECK_FALSE(is_valid_nick(""));
    CHECK_FALSE(is_valid_nick("a b"));
    CHECK_FALSE(is_valid_nick(std::string(kMaxNickLength + 1, 'a')));
    CHECK(nick_equal("[JPN]\\x~", "{jpn}|X^"));
    CHECK_FALSE(nick_equal("abc", "abd"));
    CHECK(is_channel_name("#b0tn3t"));
    CHECK(is_channel_name("&local"));
    CHECK_FALSE(is_channel_name("nick"));
    CHECK_FALSE(is_channel_name("#a,b"));
}

TEST_CASE("irc: mIRC colour and format codes are removed") {
    CHECK(strip_formatting("\x02"
                           "bold\x02 \x1Ditalic\x1D \x1Funder\x1F\x16rev\x0F\x11mono") ==
          "bold italic underrev"
          "mono");
    CHECK(strip_formatting("\x03"
                           "04,12red\x03 plain") == "red plain");
    CHECK(strip_formatting("\x03"
                           "4hi") == "hi");
    CHECK(strip_formatting("\x03"
                           "123") == "3");  // two digits at most
    CHECK(strip_formatting("\x03"
                           "4,text") == ",text");  // comma without digits stays
    CHECK(strip_formatting("\x03"
                           ",5x") == ",5x");  // no foreground: nothing eaten
    CHECK(strip_formatting("\x04"
                           "FF0000,00ff00hex") == "hex");
    CHECK(strip_formatting("\x03") == "");
    CHECK(strip_formatting("\x01VERSION\x01") == "\x01VERSION\x01");
}

TEST_CASE("irc: CTCP requests") {
    auto c = parse_ctcp("\x01VERSION\x01");
    REQUIRE(c);
    CHECK(c->command == "VERSION");
    CHECK(c->args.empty());
    c = parse_ctcp(
        "\x01"
        "ACTION waves at you\x01");
    REQUIRE(c);
    CHECK(c->command == "ACTION");
    CHECK(c->args == "waves at you");
    c = parse_ctcp("\x01PING 12345");  // no closing delimiter
    REQUIRE(c);
    CHECK(c->args == "12345");
    CHECK_FALSE(parse_ctcp("\x01\x01"));
    CHECK_FALSE(parse_ctcp("plain text"));
}

TEST_CASE("irc: DCC offers") {
    auto r = parse_dcc("SEND ssh.trace 167772167 59130 1320211");
    REQUIRE(r.status == DccStatus::kOk);
    CHECK(r.offer.argument == "ssh.trace");
    CHECK(r.offer.addr.to_string() == "10.0.0.7");
    CHECK(r.offer.port == 59130);
    CHECK(r.offer.size == 1320211u);

    r = parse_dcc("CHAT chat 167772167 59214");
    REQUIRE(r.status == DccStatus::kOk);
    CHECK(r.offer.type == "CHAT");
    CHECK(r.offer.argument == "chat");
    CHECK_FALSE(r.offer.size);

    r = parse_dcc("SEND \"my file.exe\" 3232235777 4444 100");
    REQUIRE(r.status == DccStatus::kOk);
    CHECK(r.offer.argument == "my file.exe");
    CHECK(r.offer.addr.to_string() == "192.168.1.1");

    r = parse_dcc("SEND my file.exe 3232235777 4444 100");  // unquoted spaces
    REQUIRE(r.status == DccStatus::kOk);
    CHECK(r.offer.argument == "my file.exe");
    CHECK(r.offer.size == 100u);

    r = parse_dcc("SEND x.exe 192.0.2.1 4444");  // dotted address, no size
    REQUIRE(r.status == DccStatus::kOk);
    CHECK(r.offer.addr.to_string() == "192.0.2.1");

    CHECK(parse_dcc("SEND f 4294967296 1 2").status == DccStatus::kInvalid);
    CHECK(parse_dcc("SEND f 1 70000 2").status == DccStatus::kInvalid);
    CHECK(parse_dcc("SEND f 1 2 -5").status == DccStatus::kInvalid);
    CHECK(parse_dcc("SEND f").status == DccStatus::kInvalid);
    CHECK(parse_dcc("SEND \"unterminated 1 2 3").status == DccStatus::kInvalid);
    CHECK(parse_dcc("RESUME f 4444 100").status == DccStatus::kNotOffer);
    CHECK(dcc_ipv4(0xC6336407u).to_string() == "198.51.100.7");
}

// ---------------------------------------------------------------------------------------------
// Probe

TEST_CASE("irc: probe claims IRC by content and leaves HTTP, SMTP and FTP alone") {
    auto probe_of = [](std::string_view orig, std::string_view resp) {
        ProbeInput in;
        in.orig = bytes(orig);
        in.resp = bytes(resp);
        return probe(in);
    };
    CHECK(probe_of("NICK [JPN|XP|SP2]-04821\r\nUSER a 0 0 :b\r\n", "") == ProbeResult::kMatch);
    CHECK(probe_of("USER xxxxx +iw xxxxx :Xxxxxx Xxxx\r\n", "") == ProbeResult::kMatch);
    CHECK(probe_of("PASS oauth:abc\r\n", "") == ProbeResult::kMatch);
    CHECK(probe_of("CAP LS 302\r\n", "") == ProbeResult::kMatch);
    CHECK(probe_of("CAP REQ :twitch.tv/tags twitch.tv/commands\r\n", "") == ProbeResult::kMatch);
    CHECK(probe_of("@label=1 JOIN #chan key\n", "") == ProbeResult::kMatch);
    CHECK(probe_of("    NICK      brotest\r\n", "") == ProbeResult::kMatch);
    CHECK(probe_of("", ":irc.example NOTICE AUTH :*** Looking up your hostname...\r\n") ==
          ProbeResult::kMatch);
    CHECK(probe_of("", "NOTICE AUTH :*** Looking up your hostname\r\n") == ProbeResult::kMatch);
    CHECK(probe_of("", ":leguin.freenode.net 001 brotest :Welcome\r\n") == ProbeResult::kMatch);
    CHECK(probe_of("", "PING :1234\r\n") == ProbeResult::kMatch);
    CHECK(probe_of("", "@time=x :tmi.twitch.tv CAP * ACK :a\r\n") == ProbeResult::kMatch);

    // Other line protocols.
    CHECK(probe_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "") == ProbeResult::kNoMatch);
    CHECK(probe_of("", "HTTP/1.1 200 OK\r\n") == ProbeResult::kNoMatch);
    CHECK(probe_of("EHLO client\r\n", "220 mx ESMTP\r\n") == ProbeResult::kNoMatch);
    CHECK(probe_of("", "220 mx.example ESMTP Postfix\r\n") == ProbeResult::kNoMatch);
    CHECK(probe_of("", "220 (vsFTPd 2.0.5)\r\n") == ProbeResult::kNoMatch);
    CHECK(probe_of("USER anonymous\r\n", "220 FTP ready\r\n") == ProbeResult::kNoMatch);
    CHECK(probe_of("USER anonymous\r\n", "") == ProbeResult::kNoMatch);
    CHECK(probe_of("NICK !!!!\r\n", "") == ProbeResult::kNoMatch);
    CHECK(probe_of("", ":x 1234 y\r\n") == ProbeResult::kNoMatch);
    CHECK(probe_of("\x16\x03\x01\x02\x00", "") == ProbeResult::kNoMatch);  // TLS

    // The server as the flow's originator (capture started mid-connection).
    CHECK(probe_of(":irc.example 001 bot :Welcome\r\n", "") == ProbeResult::kMatch);
    CHECK(probe_of("", "NICK bot\r\n") == ProbeResult::kMatch);

    // Too little to tell.
    CHECK(probe_of("", "") == ProbeResult::kNeedMore);
    CHECK(probe_of("NI", "") == ProbeResult::kNeedMore);
    CHECK(probe_of("NICK bo", "") == ProbeResult::kNeedMore);
    CHECK(probe_of("", ":irc.example.n") == ProbeResult::kNeedMore);
    CHECK(probe_of("", ":irc.example 00") == ProbeResult::kNeedMore);
    CHECK(probe_of("GE", "") == ProbeResult::kNoMatch);
    CHECK(probe_of(std::string(kProbeMaxLine + 1, 'N'), "") == ProbeResult::kNoMatch);
}

// ---------------------------------------------------------------------------------------------
// Analyzer

TEST_CASE("irc: a bot session fed whole") {
    Harness h;
    h.client(kBotClient);
    h.server(kBotServer);
    check_bot_session(h.end());
    CHECK(h.weirds.entries().empty());
}

TEST_CASE("irc: the same session split at every byte position gives the same facts") {
    std::string_view c = kBotClient;
    std::string_view s = kBotServer;
    for (std::size_t i = 0; i <= c.size(); ++i) {
        CAPTURE(i);
        Harness h;
        h.client(c.substr(0, i));
        h.client(c.substr(i));
        h.server(s);
        check_bot_session(h.end());
    }
    for (std::size_t i = 0; i <= s.size(); ++i) {
        CAPTURE(i);
        Harness h;
        h.client(c);
        h.server(s.substr(0, i));
        h.server(s.substr(i));
        check_bot_session(h.end());
    }
}

TEST_CASE("irc: one byte at a time") {
    Harness h;
    for (char ch : kBotClient)
        h.client(std::string_view(&ch, 1));
    for (char ch : kBotServer)
        h.server(std::string_view(&ch, 1));
    check_bot_session(h.end());
}

TEST_CASE("irc: whitespace, bare LF and a last line without a line end") {
    Harness h;
    h.client("USER brotest * * * * * \n    NICK brotest\n");
    h.server(":sendak.freenode.net 001 brotest :Welcome\n");
    h.client(
        "    JOIN      #BROTEST\n PRIVMSG          #BROTEST      :test\n    QUIT      quitting");
    h.analyzer.on_eof(Direction::kOrig, 1002 * kSec);
    const auto& s = h.end();
    CHECK(s.nick == "brotest");
    CHECK(*s.user == "brotest");
    REQUIRE(s.channels.size() == 1);
    CHECK(s.channels[0].name == "#BROTEST");
    REQUIRE(s.quit_message);
    CHECK(*s.quit_message == "quitting");
    CHECK(s.sent.back().command == "QUIT");
    CHECK(s.server_name == "sendak.freenode.net");
}

TEST_CASE("irc: nick in use then accepted, invalid nick reported (Zeek irc-more-commands)") {
    Harness h;
    h.client("CAP LS\r\nPASS test\r\nNICK tim\r\nUSER tim tim 127.0.0.1 :Tim\r\n");
    h.server(
        ":ircd1.local NOTICE * :*** Looking up your hostname...\r\n"
        ":ircd1.local 433 * tim :Nickname is already in use.\r\n");
    h.client("CAP REQ :multi-prefix\r\nNICK tim_\r\n");
    h.server("PING :A`xWtyV^\\T\r\n:ircd1.local 001 tim_ :Welcome tim_!tim@172.16.238.1\r\n");
    h.client("NICK !!!!\r\n");
    h.server(
        ":ircd1.local 432 tim_ !!!! :Erroneous Nickname\r\n"
        ":tim!tim@netadmin.local KICK #testing tim_ :\r\n"
        ":tim!tim@netadmin.local INVITE tim_ :#testing\r\n");
    const auto& s = h.end();
    REQUIRE(s.nicks.size() == 3);
    CHECK(s.nicks[0].status == NickStatus::kRejected);
    CHECK(s.nicks[1].nick == "tim_");
    CHECK(s.nicks[1].status == NickStatus::kAccepted);
    CHECK(s.nicks[2].nick == "!!!!");
    CHECK_FALSE(s.nicks[2].valid);
    CHECK(s.nicks[2].status == NickStatus::kRejected);
    CHECK(s.nicks[2].reply == 432);
    CHECK(s.nick == "tim_");
    CHECK(*s.password == "test");
    CHECK(*s.realname == "Tim");
    REQUIRE(s.caps_requested.size() == 1);
    CHECK(s.caps_requested[0] == "multi-prefix");
    CHECK(h.weirds.count("irc_invalid_nick") == 1);
    // KICK and INVITE addressed to the bot are received messages.
    REQUIRE(s.received.size() == 3);
    CHECK(s.received[1].command == "KICK");
    CHECK(s.received[2].command == "INVITE");
    CHECK(s.received[2].target == "#testing");
}

TEST_CASE("irc: JOIN with comma lists and keys, server-side joins, parts and kicks") {
    Harness h;
    h.client("NICK bot\r\nUSER b 0 0 :b\r\nJOIN #a,#b,&c key1,,key3\r\nJOIN :\r\nJOIN 0\r\n");
    h.server(
        ":srv.example 001 bot :hi\r\n"
        ":bot!b@h JOIN #a\r\n"
        ":bot!b@h JOIN #forced\r\n"
        ":other!o@h JOIN #b\r\n"
        ":srv.example 366 bot &c :End of /NAMES list.\r\n"
        ":op!o@h KICK #a bot :bye\r\n");
    h.client("PART #forced\r\n");
    const auto& s = h.end();
    REQUIRE(s.channels.size() == 4);
    CHECK(s.channels[0].name == "#a");
    CHECK(s.channels[0].key == "key1");
    CHECK(s.channels[0].joined);
    CHECK(s.channels[0].kicked);
    CHECK(s.channels[1].name == "#b");
    CHECK_FALSE(s.channels[1].has_key);
    CHECK_FALSE(s.channels[1].joined);  // someone else joined it
    CHECK(s.channels[2].name == "&c");
    CHECK(s.channels[2].key == "key3");
    CHECK(s.channels[2].joined);
    CHECK(s.channels[3].name == "#forced");
    CHECK(s.channels[3].by_server);
    CHECK(s.channels[3].left);
    CHECK(h.weirds.entries().empty());
}

TEST_CASE("irc: CTCP VERSION and ACTION, DCC offered to the bot, topic changes") {
    Harness h;
    h.client("NICK bot\r\nUSER b 0 0 :b\r\n");
    h.server(
        ":op!o@h PRIVMSG bot :\x01VERSION\x01\r\n"
        ":op!o@h PRIVMSG #c :\x01"
        "ACTION !download http://x/y.exe\x01\r\n"
        ":op!o@h PRIVMSG bot :\x01"
        "DCC CHAT chat 3325256711 5000\x01\r\n"
        ":op!o@h PRIVMSG bot :\x01"
        "DCC SEND x 999999999999 5000 1\x01\r\n"
        ":op!o@h TOPIC #c :.spam.start http://x/list.txt\r\n");
    h.client("NOTICE op :\x01VERSION mIRC v6.16\x01\r\n");
    const auto& s = h.end();
    REQUIRE(s.received.size() == 5);
    CHECK(s.received[0].ctcp == "VERSION");
    CHECK(s.received[0].text == "VERSION");
    CHECK(s.received[1].ctcp == "ACTION");
    CHECK(s.received[1].ctcp_args == "!download http://x/y.exe");
    CHECK_FALSE(s.received[1].is_private);
    CHECK(s.received[4].command == "TOPIC");
    CHECK(s.received[4].text == ".spam.start http://x/list.txt");
    REQUIRE(s.dcc.size() == 1);
    CHECK_FALSE(s.dcc[0].sent);
    CHECK(s.dcc[0].type == "CHAT");
    CHECK(s.dcc[0].from == "op!o@h");
    CHECK(s.dcc[0].addr.to_string() == "198.51.100.7");
    CHECK(h.weirds.count("irc_invalid_dcc") == 1);
    REQUIRE(s.sent.size() == 3);
    CHECK(s.sent[2].ctcp_args == "mIRC v6.16");
}

TEST_CASE("irc: IRCv3 tags on server lines are kept with the message") {
    Harness h;
    h.client("CAP REQ :twitch.tv/tags\r\nPASS oauth:x\r\nNICK THE-USER\r\n");
    h.server(
        "@time=2025-07-28T20:51:05.978Z :tmi.twitch.tv 001 THE-USER :Welcome, XXXX!\r\n"
        "@msg-id=host_on :tmi.twitch.tv NOTICE #THE-USER :Now hosting x.\r\n");
    const auto& s = h.end();
    CHECK(s.confirmed);
    CHECK(s.server_name == "tmi.twitch.tv");
    REQUIRE(s.received.size() == 1);
    REQUIRE(s.received[0].tags.size() == 1);
    CHECK(s.received[0].tags[0].key == "msg-id");
    CHECK(s.received[0].tags[0].value == "host_on");
}

TEST_CASE("irc: a gap drops the partial line and resynchronises on the next line end") {
    Harness h;
    h.client("NICK bot\r\nUSER b 0 0 :b\r\nPRIVMSG #c :before gap");
    h.analyzer.on_gap(Direction::kOrig, 100, 1002 * kSec);
    h.client("tail of a lost line\r\nPRIVMSG #c :after gap\r\n");
    const auto& s = h.end();
    REQUIRE(s.sent.size() == 3);
    CHECK(s.sent[2].text == "after gap");
    CHECK(s.gap_bytes == 100);
}

TEST_CASE("irc: an over-long line is cut, reported, and the stream goes on") {
    Harness h;
    h.client("NICK bot\r\nUSER b 0 0 :b\r\n");
    std::string longline = "PRIVMSG #c :" + std::string(kMaxLineLength + 500, 'A') + "\r\n";
    // Feed in pieces so the limit is crossed inside on_data and across calls.
    for (std::size_t i = 0; i < longline.size(); i += 1000)
        h.client(longline.substr(i, 1000));
    h.client("PRIVMSG #c :next\r\n");
    const auto& s = h.end();
    CHECK(h.weirds.count("irc_line_too_long") == 1);
    REQUIRE(s.sent.size() == 4);
    CHECK(s.sent[2].truncated);
    CHECK(s.sent[2].text.size() == kMaxTextLength);
    CHECK(s.sent[3].text == "next");
}

TEST_CASE("irc: garbage before confirmation gives up silently") {
    Harness h;
    for (std::size_t i = 0; i < kMaxInvalidLines; ++i) {
        CHECK_FALSE(h.analyzer.gave_up());
        static constexpr char kJunk[] = "\x16\x03\x01 binary\0junk\n";
        h.client(std::string_view(kJunk, sizeof kJunk - 1));
    }
    CHECK(h.analyzer.gave_up());
    const auto& s = h.end();
    CHECK_FALSE(s.confirmed);
    CHECK(s.gave_up);
    CHECK(s.invalid_lines == kMaxInvalidLines);
    CHECK(h.weirds.entries().empty());
}

TEST_CASE("irc: anomalies before confirmation are reported once it is confirmed") {
    Harness h;
    h.client("NICK !!!!\r\n@@@ ???\r\n");
    CHECK(h.weirds.entries().empty());
    h.server(":irc.example 432 * !!!! :Erroneous Nickname\r\n");
    CHECK(h.weirds.count("irc_invalid_nick") == 1);
    CHECK(h.weirds.count("irc_invalid_line") == 1);
}

TEST_CASE("irc: a confirmed stream gives up after 20 invalid lines in a row only") {
    Harness h;
    h.client("NICK bot\r\nUSER b 0 0 :b\r\n");
    for (std::size_t i = 0; i < kMaxInvalidLines * 2; ++i) {
        h.client("!!garbage!!\r\n");
        if (i % 2 == 0)
            h.client("PRIVMSG #c :ok\r\n");  // interleaved valid lines reset
    }
    CHECK_FALSE(h.analyzer.gave_up());
    for (std::size_t i = 0; i < kMaxInvalidLines; ++i)
        h.client("!!garbage!!\r\n");
    CHECK(h.analyzer.gave_up());
    h.client("PRIVMSG #c :ignored\r\n");
    const auto& s = h.end();
    CHECK(s.gave_up);
    CHECK(h.weirds.count("irc_too_many_invalid_lines") == 1);
    CHECK(s.sent.back().text == "ok");
}

TEST_CASE("irc: message lists are bounded with a dropped counter") {
    Harness h;
    h.client("NICK bot\r\nUSER b 0 0 :b\r\n");
    std::string burst;
    for (std::size_t i = 0; i < kMaxMessagesPerDirection + 25; ++i)
        burst += ":op!o@h PRIVMSG #c :.ddos.syn 198.51.100.10 80 " + std::to_string(i) + "\r\n";
    h.server(burst);
    const auto& s = h.end();
    CHECK(s.received.size() == kMaxMessagesPerDirection);
    CHECK(s.received_dropped == 25);
    CHECK(h.weirds.count("irc_too_many_messages") == 1);
}

TEST_CASE("irc: nick and channel lists are bounded") {
    Harness h;
    h.client("USER b 0 0 :b\r\n");
    for (std::size_t i = 0; i < kMaxNicks + 3; ++i)
        h.client("NICK n" + std::to_string(i) + "\r\n");
    for (std::size_t i = 0; i < kMaxChannels + 2; ++i)
        h.client("JOIN #c" + std::to_string(i) + "\r\n");
    const auto& s = h.end();
    CHECK(s.nicks.size() == kMaxNicks);
    CHECK(s.nicks_dropped == 3);
    CHECK(s.channels.size() == kMaxChannels);
    CHECK(s.channels_dropped == 2);
    CHECK(s.nick == "n" + std::to_string(kMaxNicks + 2));  // still the last one sent
    CHECK(h.weirds.count("irc_limit_reached") == 1);
}

TEST_CASE("irc: content decides which side is the client") {
    Harness h;
    // The flow's originator is the server here (capture started mid-connection).
    h.analyzer.on_data(Direction::kOrig, bytes(":irc.example 001 bot :Welcome\r\n"), kSec);
    h.analyzer.on_data(Direction::kResp, bytes("JOIN #x\r\n"), kSec);
    const auto& s = h.end();
    CHECK(s.roles_swapped);
    CHECK(s.client.port == 6667);  // the flow's responder
    CHECK(s.client.addr.to_string() == "198.51.100.7");
    CHECK(s.nick == "bot");
    REQUIRE(s.channels.size() == 1);
    CHECK(s.channels[0].name == "#x");
}

TEST_CASE("irc: on_end writes one record, and sessions are bounded") {
    Weirds w;
    IrcResult result;
    AnalyzerContext ctx{test_flow(), &w};
    {
        IrcAnalyzer a(ctx, result);
        a.on_data(Direction::kOrig, bytes("NICK a\r\n"), kSec);
        a.on_end(2 * kSec);
        a.on_end(3 * kSec);  // a second call changes nothing
    }
    REQUIRE(result.sessions.size() == 1);
    CHECK(result.sessions[0].end == 2 * kSec);
    CHECK(result.sessions[0].flow == 7);
    CHECK(result.sessions[0].start == 1000 * kSec);
    for (std::size_t i = 1; i < kMaxSessions + 5; ++i) {
        IrcAnalyzer a(ctx, result);
        a.on_end(kSec);
    }
    CHECK(result.sessions.size() == kMaxSessions);
    CHECK(result.sessions_dropped == 5);
}

TEST_CASE("irc: hostile bytes never crash and memory stays bounded") {
    // A deterministic byte soup with IRC-ish pieces mixed in, fed in odd-sized chunks.
    std::string soup;
    std::uint32_t x = 12345;
    const char* pieces[] = {":",         "@",        " ",     "\r\n",   "\n", "\x01",
                            "DCC SEND ", "PRIVMSG ", "NICK ", "JOIN #", ",",  "\x03",
                            "332 ",      "333 ",     "001 ",  "\"",     "!"};
    for (int i = 0; i < 20000; ++i) {
        x = x * 1103515245u + 12345u;
        if (x % 3 == 0)
            soup += pieces[(x >> 8) % (sizeof pieces / sizeof *pieces)];
        else
            soup.push_back(static_cast<char>(x >> 16));
    }
    Harness h;
    std::size_t pos = 0;
    for (std::size_t n = 1; pos < soup.size(); n = n * 7 % 997 + 1) {
        auto piece = std::string_view(soup).substr(pos, n);
        h.analyzer.on_data(pos % 2 ? Direction::kOrig : Direction::kResp, bytes(piece), kSec);
        pos += piece.size();
    }
    const auto& s = h.end();
    CHECK(s.received.size() <= kMaxMessagesPerDirection);
    CHECK(s.sent.size() <= kMaxMessagesPerDirection);
    for (const auto& m : s.received)
        CHECK(m.text_raw.size() <= kMaxTextLength);
}

TEST_CASE("probe: a capture that starts mid-line on both sides is still IRC") {
    using botscope::analysis::ProbeInput;
    using botscope::analysis::ProbeResult;
    std::string client = "can stopped.\r\nPRIVMSG #scan :[SCAN]: done\r\n";
    std::string server =
        "0.66.0.3 PRIVMSG #scan :.scan.stop\r\n:h4x0r!h4x@10.66.0.3 PRIVMSG #scan :.ddos.syn "
        "10.66.0.5 80 60\r\n";
    ProbeInput in{botscope::util::as_bytes(client), botscope::util::as_bytes(server), nullptr};
    CHECK(botscope::analysis::irc::probe(in) == ProbeResult::kMatch);
    std::string smtp_server = "220 mx ESMTP\r\n250 ok\r\n";
    std::string smtp_client = "EHLO x\r\nMAIL FROM:<a@b>\r\n";
    ProbeInput smtp{botscope::util::as_bytes(smtp_client), botscope::util::as_bytes(smtp_server),
                    nullptr};
    CHECK(botscope::analysis::irc::probe(smtp) == ProbeResult::kNoMatch);
}

TEST_CASE("probe: a capture taken mid-session that opens with relayed user lines is IRC") {
    using botscope::analysis::ProbeInput;
    using botscope::analysis::ProbeResult;
    auto probe_server = [](std::string server) {
        std::string none;
        ProbeInput in{botscope::util::as_bytes(none), botscope::util::as_bytes(server), nullptr};
        return botscope::analysis::irc::probe(in);
    };
    for (const char* line : {":h4x0r!h4x@10.66.0.3 JOIN :#b0tz\r\n",
                             ":h4x0r!h4x@10.66.0.3 PART #b0tz :later\r\n",
                             ":h4x0r!h4x@10.66.0.3 QUIT :Ping timeout\r\n",
                             ":h4x0r!h4x@10.66.0.3 NICK h5x0r\r\n",
                             ":h4x0r!h4x@10.66.0.3 TOPIC #b0tz :.scan.start\r\n",
                             ":h4x0r!h4x@10.66.0.3 KICK #b0tz [USA]-1 :out\r\n"}) {
        CAPTURE(line);
        CHECK(probe_server(line) == ProbeResult::kMatch);
    }
    // Only behind a user's prefix: the same words from a bare name are not enough.
    CHECK(probe_server(":irc.example JOIN :#b0tz\r\n") == ProbeResult::kNoMatch);
    CHECK(probe_server(":h4x0r!h4x@10.66.0.3 GET / HTTP/1.1\r\n") == ProbeResult::kNoMatch);
    CHECK(probe_server(":h4x0r!h4x@10.66.0.3 JO") == ProbeResult::kNeedMore);
}

}  // namespace test_irc
