#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "fakenet/irc_server.h"
#include "fakenet/operator_script.h"
#include "unit/fakenet/memory_recorder.h"

namespace botscope::fakenet::test_irc_server {

namespace {

using testing::MemoryRecorder;

constexpr Ipv4 kGuest = 0x0A42000Au;  // 10.66.0.10

ConnInfo conn_info(std::uint64_t id, Ipv4 client = kGuest, std::uint16_t port = 1030) {
    return ConnInfo{id, Endpoint{client, port}, Endpoint{0xC6336414u, 6667}};  // 198.51.100.20
}

/// One client connection, driven as the network side would. What other clients make the
/// server send it arrives when its own session runs: lines() and text() tick it first.
struct Peer {
    std::unique_ptr<TcpSession> s;
    std::string got;
    bool closed = false;
    Millis last = 0;

    void open(Millis now) {
        Output o;
        s->on_open(last = now, o);
        take(o);
    }
    void send(std::string_view data, Millis now) {
        Output o;
        s->on_data(data, last = now, o);
        take(o);
    }
    void tick(Millis now) {
        Output o;
        s->on_tick(last = now, o);
        take(o);
    }
    void take(const Output& o) {
        got += o.data;
        closed |= o.close;
    }
    /// The lines received since the last call.
    std::vector<std::string> lines() {
        if (s)
            tick(last);
        std::vector<std::string> out;
        std::size_t pos = 0;
        while (true) {
            auto end = got.find("\r\n", pos);
            if (end == std::string::npos)
                break;
            out.push_back(got.substr(pos, end - pos));
            pos = end + 2;
        }
        got.erase(0, pos);
        return out;
    }
    /// All lines received since the last call, joined with '\n'.
    std::string text() {
        std::string t;
        for (auto& l : lines())
            t += l + "\n";
        return t;
    }
};

struct Net {
    MemoryRecorder rec;
    std::unique_ptr<IrcServer> server;
    std::uint64_t next_id = 100;

    explicit Net(std::optional<OperatorScript> script = std::nullopt,
                 std::size_t max_clients = 64) {
        IrcConfig c;
        c.script = std::move(script);
        c.max_clients = max_clients;
        server = std::make_unique<IrcServer>(std::move(c), rec);
    }
    Peer connect(Ipv4 client = kGuest) {
        Peer p;
        std::uint64_t id = next_id++;
        p.s = server->accept(conn_info(id, client, static_cast<std::uint16_t>(1000 + id)));
        return p;
    }
    /// A registered client with this nick.
    Peer bot(std::string_view nick, Millis now = 0, Ipv4 client = kGuest) {
        Peer p = connect(client);
        p.send("NICK " + std::string(nick) + "\r\nUSER bot 0 0 :a bot\r\n", now);
        REQUIRE_MESSAGE(p.got.find(" 001 ") != std::string::npos, p.got);
        p.got.clear();
        return p;
    }
    std::vector<std::string> records(std::string_view event) const {
        std::vector<std::string> out;
        for (const auto& j : rec.of("irc"))
            if (j["event"] == event)
                out.push_back(j.dump());
        return out;
    }
};

OperatorScript script(std::string_view text) {
    auto r = parse_operator_script(text, "test.txt", Sandbox{});
    REQUIRE_MESSAGE(r, r.error().text());
    return std::move(r.value());
}

bool has(const std::string& text, std::string_view what) {
    return text.find(what) != std::string::npos;
}

std::size_t count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("irc server: registration with PASS, welcome, LUSERS, MOTD and user mode") {
    Net net;
    Peer p = net.connect();
    p.open(0);
    CHECK(p.text() == ":irc.sandbox.test NOTICE AUTH :*** Looking up your hostname...\n");
    p.send("PASS h4x0r\r\nNICK [USA|XP|SP2]-48213\r\nUSER nhmfkzq 0 0 :nhmfkzq bot\r\n", 10);
    auto lines = p.lines();
    REQUIRE(lines.size() == 13);
    CHECK(lines[0] ==
          ":irc.sandbox.test 001 [USA|XP|SP2]-48213 :Welcome to the botscope IRC "
          "Network [USA|XP|SP2]-48213!nhmfkzq@10.66.0.10");
    CHECK(lines[4] ==
          ":irc.sandbox.test 005 [USA|XP|SP2]-48213 CHANTYPES=# PREFIX=(ov)@+ "
          "NETWORK=botscope CASEMAPPING=rfc1459 NICKLEN=30 :are supported by this "
          "server");
    const char* codes[] = {"001", "002", "003", "004", "005", "251",
                           "252", "254", "255", "375", "372", "376"};
    for (std::size_t i = 0; i < 12; ++i)
        CHECK_MESSAGE(lines[i].find(std::string(" ") + codes[i] + " ") != std::string::npos,
                      lines[i]);
    CHECK(lines[12] == ":[USA|XP|SP2]-48213 MODE [USA|XP|SP2]-48213 :+i");
    REQUIRE(net.records("register").size() == 1);
    CHECK(net.records("register")[0] ==
          R"({"event":"register","conn":100,"client":"10.66.0.10:1100",)"
          R"("server":"198.51.100.20:6667","pass":"h4x0r","nick":"[USA|XP|SP2]-48213",)"
          R"("user":"nhmfkzq","realname":"nhmfkzq bot"})");
    // A client that already spoke gets no NOTICE AUTH from a late on_open.
    p.open(20);
    CHECK(p.text().empty());
}

TEST_CASE("irc server: registration without PASS, before-registration errors, bot nicks") {
    Net net;
    Peer p = net.connect();
    p.send("JOIN #x\r\nUSER a b\r\n", 0);
    CHECK(p.text() ==
          ":irc.sandbox.test 451 * :You have not registered\n"
          ":irc.sandbox.test 461 * USER :Not enough parameters\n");
    p.send("NICK {DEU}|^-x\r\nUSER u 0 * :r\r\n", 1);
    CHECK(has(p.text(), " 001 {DEU}|^-x "));
    CHECK(net.records("register")[0] ==
          R"({"event":"register","conn":100,"client":"10.66.0.10:1100",)"
          R"("server":"198.51.100.20:6667","pass":null,"nick":"{DEU}|^-x","user":"u",)"
          R"("realname":"r"})");
    p.send("FOO bar\r\nUSER again 0 0 :x\r\nPASS late\r\n", 2);
    CHECK(p.text() ==
          ":irc.sandbox.test 421 {DEU}|^-x FOO :Unknown command\n"
          ":irc.sandbox.test 462 {DEU}|^-x :You may not reregister\n"
          ":irc.sandbox.test 462 {DEU}|^-x :You may not reregister\n");
}

TEST_CASE("irc server: nick collisions (RFC 1459 case), invalid nicks, nick changes") {
    Net net;
    Peer a = net.bot("[USA|XP|SP2]-48213");
    Peer b = net.connect();
    // {}| are the lower case of []\ under rfc1459: the same nick.
    b.send("NICK {usa\\xp\\sp2}-48213\r\n", 1);
    CHECK(b.text() == ":irc.sandbox.test 433 * {usa\\xp\\sp2}-48213 :Nickname is already in use\n");
    b.send("NICK b0ss\r\n", 2);  // the operator's
    CHECK(has(b.text(), " 433 * b0ss "));
    b.send("NICK 9lives\r\nNICK -dash\r\nNICK a,b\r\nNICK\r\n", 3);
    CHECK(b.text() ==
          ":irc.sandbox.test 432 * 9lives :Erroneous nickname\n"
          ":irc.sandbox.test 432 * -dash :Erroneous nickname\n"
          ":irc.sandbox.test 432 * a,b :Erroneous nickname\n"
          ":irc.sandbox.test 431 * :No nickname given\n");
    b.send("NICK [DEU|2K]-777\r\nUSER x 0 0 :x\r\n", 4);
    CHECK(has(b.text(), " 001 [DEU|2K]-777 "));
    // A nick longer than NICKLEN is cut, as ircds did.
    Peer c = net.connect();
    c.send("NICK " + std::string(40, 'n') + "\r\nUSER x 0 0 :x\r\n", 5);
    CHECK(has(c.text(), " 001 " + std::string(30, 'n') + " "));

    a.send("JOIN #c\r\n", 6);
    b.send("JOIN #c\r\n", 6);
    a.lines();
    b.lines();
    b.send("NICK [DEU|2K]-778\r\n", 7);
    std::string line = ":[DEU|2K]-777!x@10.66.0.10 NICK :[DEU|2K]-778\n";
    CHECK(b.text() == line);
    CHECK(a.text() == line);
    CHECK(net.records("nick") ==
          std::vector<std::string>{
              R"({"event":"nick","conn":101,"old":"[DEU|2K]-777","new":"[DEU|2K]-778"})"});
    b.send("NICK [USA|XP|SP2]-48213\r\n", 8);
    CHECK(has(b.text(), " 433 [DEU|2K]-778 [USA|XP|SP2]-48213 "));
}

TEST_CASE("irc server: JOIN with keys recorded, several channels, NAMES with the operator") {
    Net net;
    Peer a = net.bot("[USA]-1");
    a.send("JOIN #b0tz,&local,#open s3cr3t,k2\r\n", 1);
    std::string t = a.text();
    CHECK(has(t,
              ":[USA]-1!bot@10.66.0.10 JOIN :#b0tz\n"
              ":irc.sandbox.test 353 [USA]-1 = #b0tz :@b0ss [USA]-1\n"
              ":irc.sandbox.test 366 [USA]-1 #b0tz :End of /NAMES list.\n"));
    CHECK(has(t, " JOIN :&local\n"));
    CHECK(has(t, " JOIN :#open\n"));
    CHECK_FALSE(has(t, " 332 "));  // nobody set a topic: a plain server commands nobody
    CHECK(net.records("join") ==
          std::vector<std::string>{
              R"({"event":"join","conn":100,"nick":"[USA]-1","channel":"#b0tz","key":"s3cr3t"})",
              R"({"event":"join","conn":100,"nick":"[USA]-1","channel":"&local","key":"k2"})",
              R"({"event":"join","conn":100,"nick":"[USA]-1","channel":"#open","key":null})"});
    Peer b = net.bot("[DEU]-2");
    b.send("JOIN #B0TZ wrong-key-is-fine\r\n", 2);
    CHECK(has(b.text(), ":irc.sandbox.test 353 [DEU]-2 = #b0tz :@b0ss [USA]-1 [DEU]-2\n"));
    CHECK(a.text() == ":[DEU]-2!bot@10.66.0.10 JOIN :#b0tz\n");
    b.send("JOIN nochannel\r\nJOIN #b0tz\r\n", 3);  // joining twice: nothing
    CHECK(b.text() == ":irc.sandbox.test 403 [DEU]-2 nochannel :No such channel\n");
    b.send("NAMES #b0tz\r\n", 4);
    CHECK(b.text() ==
          ":irc.sandbox.test 353 [DEU]-2 = #b0tz :@b0ss [USA]-1 [DEU]-2\n"
          ":irc.sandbox.test 366 [DEU]-2 #b0tz :End of /NAMES list.\n");
    b.send("PART #b0tz :bye\r\n", 5);
    CHECK(a.text() == ":[DEU]-2!bot@10.66.0.10 PART #b0tz :bye\n");
    CHECK(has(b.text(), "PART #b0tz :bye"));
    b.send("PART #b0tz\r\nPART #none\r\n", 6);
    CHECK(b.text() ==
          ":irc.sandbox.test 442 [DEU]-2 #b0tz :You're not on that channel\n"
          ":irc.sandbox.test 403 [DEU]-2 #none :No such channel\n");
    a.send("JOIN 0\r\n", 7);
    CHECK(count(a.text(), " PART ") == 3);
}

TEST_CASE("irc server: TOPIC, MODE, USERHOST, WHO, WHOIS, ISON, LIST, AWAY, CAP") {
    Net net;
    Peer a = net.bot("[USA]-1");
    Peer b = net.bot("[DEU]-2");
    a.send("JOIN #c\r\n", 1);
    b.send("JOIN #c\r\n", 1);
    a.lines();
    b.lines();
    a.send("TOPIC #c\r\n", 2);
    CHECK(a.text() == ":irc.sandbox.test 331 [USA]-1 #c :No topic is set.\n");
    a.send("TOPIC #c :.advscan x 1 1 0 -b\r\n", 3000);
    CHECK(a.text() == ":[USA]-1!bot@10.66.0.10 TOPIC #c :.advscan x 1 1 0 -b\n");
    CHECK(b.text() == ":[USA]-1!bot@10.66.0.10 TOPIC #c :.advscan x 1 1 0 -b\n");
    b.send("TOPIC #c\r\n", 4000);
    CHECK(b.text() ==
          ":irc.sandbox.test 332 [DEU]-2 #c :.advscan x 1 1 0 -b\n"
          ":irc.sandbox.test 333 [DEU]-2 #c [USA]-1!bot@10.66.0.10 1136073603\n");
    a.send(
        "MODE #c\r\nMODE #c +k s3cret\r\nMODE #c\r\nMODE #c b\r\nMODE [USA]-1\r\n"
        "MODE [USA]-1 +x\r\nMODE [DEU]-2\r\nMODE nobody\r\n",
        5000);
    CHECK(a.text() ==
          ":irc.sandbox.test 324 [USA]-1 #c +nt\n"
          ":irc.sandbox.test 329 [USA]-1 #c 1136073600\n"
          ":irc.sandbox.test 324 [USA]-1 #c +ntk s3cret\n"
          ":irc.sandbox.test 329 [USA]-1 #c 1136073600\n"
          ":irc.sandbox.test 368 [USA]-1 #c :End of channel ban list\n"
          ":irc.sandbox.test 221 [USA]-1 +i\n"
          ":irc.sandbox.test 502 [USA]-1 :Cannot change mode for other users\n"
          ":irc.sandbox.test 401 [USA]-1 nobody :No such nick/channel\n");
    a.send("USERHOST [DEU]-2 b0ss nobody\r\nISON b0ss nobody [deu]-2\r\n", 6000);
    CHECK(a.text() ==
          ":irc.sandbox.test 302 [USA]-1 :[DEU]-2=+bot@10.66.0.10 b0ss*=+admin@sandbox.test\n"
          ":irc.sandbox.test 303 [USA]-1 :b0ss [DEU]-2\n");
    a.send("WHO #c\r\n", 6000);
    CHECK(a.text() ==
          ":irc.sandbox.test 352 [USA]-1 #c admin sandbox.test irc.sandbox.test b0ss H*@ :0 "
          "botmaster\n"
          ":irc.sandbox.test 352 [USA]-1 #c bot 10.66.0.10 irc.sandbox.test [USA]-1 H :0 a bot\n"
          ":irc.sandbox.test 352 [USA]-1 #c bot 10.66.0.10 irc.sandbox.test [DEU]-2 H :0 a bot\n"
          ":irc.sandbox.test 315 [USA]-1 #c :End of /WHO list.\n");
    a.send("WHOIS [DEU]-2\r\nWHOIS nobody\r\n", 6000);
    CHECK(a.text() ==
          ":irc.sandbox.test 311 [USA]-1 [DEU]-2 bot 10.66.0.10 * :a bot\n"
          ":irc.sandbox.test 312 [USA]-1 [DEU]-2 irc.sandbox.test :botscope\n"
          ":irc.sandbox.test 318 [USA]-1 [DEU]-2 :End of /WHOIS list.\n"
          ":irc.sandbox.test 401 [USA]-1 nobody :No such nick/channel\n"
          ":irc.sandbox.test 318 [USA]-1 nobody :End of /WHOIS list.\n");
    a.send("LIST\r\n", 6000);
    CHECK(a.text() ==
          ":irc.sandbox.test 321 [USA]-1 Channel :Users  Name\n"
          ":irc.sandbox.test 322 [USA]-1 #c 3 :.advscan x 1 1 0 -b\n"
          ":irc.sandbox.test 323 [USA]-1 :End of /LIST\n");
    a.send("AWAY :gone\r\nAWAY\r\nCAP LS 302\r\nCAP REQ :multi-prefix\r\nCAP END\r\n", 6000);
    CHECK(a.text() ==
          ":irc.sandbox.test 306 [USA]-1 :You have been marked as being away\n"
          ":irc.sandbox.test 305 [USA]-1 :You are no longer marked as being away\n"
          ":irc.sandbox.test CAP [USA]-1 LS :\n"
          ":irc.sandbox.test CAP [USA]-1 NAK :multi-prefix\n");
    Peer outsider = net.bot("[FRA]-3");
    outsider.send("TOPIC #c :mine\r\nJOIN\r\n", 7000);
    CHECK(outsider.text() ==
          ":irc.sandbox.test 442 [FRA]-3 #c :You're not on that channel\n"
          ":irc.sandbox.test 461 [FRA]-3 JOIN :Not enough parameters\n");
}

TEST_CASE("irc server: PRIVMSG and NOTICE between clients, to the operator, recorded") {
    Net net;
    Peer a = net.bot("[USA]-1");
    Peer b = net.bot("[DEU]-2");
    a.send("JOIN #c\r\n", 1);
    b.send("JOIN #c\r\n", 1);
    a.lines();
    b.lines();
    a.send("PRIVMSG #c :[SCAN]: Port scan started\r\n", 2);
    CHECK(a.text().empty());  // not echoed to the sender
    CHECK(b.text() == ":[USA]-1!bot@10.66.0.10 PRIVMSG #c :[SCAN]: Port scan started\n");
    a.send("NOTICE [deu]-2 :psst\r\nPRIVMSG b0ss :\x01VERSION\x01\r\n", 3);
    CHECK(b.text() == ":[USA]-1!bot@10.66.0.10 NOTICE [DEU]-2 :psst\n");
    CHECK(a.text().empty());  // the operator answers nothing
    a.send(
        "PRIVMSG nobody :x\r\nNOTICE nobody :x\r\nPRIVMSG #nochan :x\r\nPRIVMSG\r\n"
        "PRIVMSG #c\r\n",
        4);
    CHECK(a.text() ==
          ":irc.sandbox.test 401 [USA]-1 nobody :No such nick/channel\n"
          ":irc.sandbox.test 403 [USA]-1 #nochan :No such channel\n"
          ":irc.sandbox.test 411 [USA]-1 :No recipient given (PRIVMSG)\n"
          ":irc.sandbox.test 412 [USA]-1 :No text to send\n");
    Peer outside = net.bot("[FRA]-3");
    outside.send("PRIVMSG #c :hi\r\n", 5);
    CHECK(outside.text() == ":irc.sandbox.test 404 [FRA]-3 #c :Cannot send to channel\n");
    auto bots = net.records("bot");
    REQUIRE(bots.size() == 7);
    CHECK(bots[0] == R"({"event":"bot","conn":100,"nick":"[USA]-1","command":"PRIVMSG","to":"#c",)"
                     R"("text":"[SCAN]: Port scan started"})");
    CHECK(bots[1] ==
          R"({"event":"bot","conn":100,"nick":"[USA]-1","command":"NOTICE","to":"[deu]-2",)"
          R"("text":"psst"})");
    CHECK(bots[2] ==
          R"({"event":"bot","conn":100,"nick":"[USA]-1","command":"PRIVMSG","to":"b0ss",)"
          R"("text":"\u0001VERSION\u0001"})");
}

TEST_CASE("irc server: PING and PONG both ways; an idle client is pinged, then dropped") {
    Net net;
    Peer a = net.bot("[USA]-1", 1000);
    a.send("PING :irc.b0tnet.example\r\nPING\r\n", 1000);
    CHECK(a.text() ==
          ":irc.sandbox.test PONG irc.sandbox.test :irc.b0tnet.example\n"
          ":irc.sandbox.test 409 [USA]-1 :No origin specified\n");
    a.tick(1000 + kIrcPingIdle - 1);
    CHECK(a.text().empty());
    a.tick(1000 + kIrcPingIdle);
    CHECK(a.text() == "PING :irc.sandbox.test\n");
    a.send("PONG :irc.sandbox.test\r\n", 1000 + kIrcPingIdle + 10);
    a.tick(1000 + 2 * kIrcPingIdle);
    CHECK(a.text().empty());
    a.tick(1000 + 2 * kIrcPingIdle + 10);
    CHECK(a.text() == "PING :irc.sandbox.test\n");
    CHECK_FALSE(a.closed);
    a.tick(1000 + 3 * kIrcPingIdle + 10);
    CHECK(a.text() == "ERROR :Closing Link: 10.66.0.10 (Ping timeout: 90 seconds)\n");
    CHECK(a.closed);
    a.s->on_close(1000 + 3 * kIrcPingIdle + 20);
    CHECK(net.records("quit") ==
          std::vector<std::string>{
              R"({"event":"quit","conn":100,"nick":"[USA]-1","reason":"Ping timeout"})"});
    CHECK(net.server->connections() == 0);
}

TEST_CASE("irc server: QUIT is broadcast, closes, and every end is recorded once") {
    Net net;
    Peer a = net.bot("[USA]-1");
    Peer b = net.bot("[DEU]-2");
    a.send("JOIN #c\r\n", 1);
    b.send("JOIN #c\r\n", 1);
    a.lines();
    b.lines();
    b.send("QUIT :reboot\r\nPRIVMSG #c :ignored after QUIT\r\n", 2);
    CHECK(b.text() == "ERROR :Closing Link: 10.66.0.10 (Quit: reboot)\n");
    CHECK(b.closed);
    CHECK(a.text() == ":[DEU]-2!bot@10.66.0.10 QUIT :Quit: reboot\n");
    b.s->on_close(3);
    b.s.reset();  // no second quit record from the destructor
    Peer c = net.connect();
    c.send("NICK half", 4);  // never registered, then the connection drops
    c.s->on_close(5);
    a.s.reset();  // the network side destroys a session without on_close: still recorded
    CHECK(net.records("quit") ==
          std::vector<std::string>{
              R"({"event":"quit","conn":101,"nick":"[DEU]-2","reason":"reboot"})",
              R"({"event":"quit","conn":102,"nick":null,"reason":"Connection closed"})",
              R"({"event":"quit","conn":100,"nick":"[USA]-1","reason":"Connection closed"})"});
    CHECK(net.server->connections() == 0);
}

TEST_CASE("irc server: a client in channels with long names departs cleanly") {
    // Names past the small-string buffer live on the heap: leaving must not read a name it
    // just erased (found by fuzz_fakenet_irc; ASan sees it here too).
    Net net;
    Peer a = net.bot("[USA]-1");
    Peer b = net.bot("[DEU]-2");
    const std::string c1 = "#a-channel-name-long-enough-for-the-heap";
    const std::string c2 = "#another-channel-name-for-the-heap-too";
    a.send("JOIN " + c1 + "," + c2 + "\r\n", 1);
    b.send("JOIN " + c1 + "," + c2 + "\r\n", 1);
    a.lines();
    b.send("QUIT\r\n", 2);
    CHECK(a.text() == ":[DEU]-2!bot@10.66.0.10 QUIT :Client Quit\n");  // once, not per channel
    a.send("NAMES " + c1 + "\r\n", 3);
    CHECK(has(a.text(), " = " + c1 + " :@b0ss [USA]-1\n"));
    a.send("QUIT\r\n", 4);
    a.s->on_close(4);
    Peer c = net.bot("[FRA]-3");
    c.send("LIST\r\n", 5);
    CHECK(c.text() ==
          ":irc.sandbox.test 321 [FRA]-3 Channel :Users  Name\n"
          ":irc.sandbox.test 323 [FRA]-3 :End of /LIST\n");  // empty channels are gone
}

TEST_CASE("irc server: the operator plays its script on a driven clock") {
    Net net(
        script("operator m4ster\n"
               "topic .advscan lsass_445 50 3 0 $SUBNET -s\n"
               "wait 2\n"
               "say .login bs-letmein $NICK\n"
               "expect [MAIN] 5\n"
               "msg .ddos.syn $TARGET 80 3\n"
               "notice hello $GUEST\n"
               "wait 1.5\n"
               "topic .update tftp://$SINKHOLE/bot.exe in $CHANNEL\n"));
    Peer a = net.bot("[USA|XP|SP2]-48213", 10'000);
    a.send("JOIN #b0tz s3cr3t\r\n", 10'000);
    std::string join = a.text();
    CHECK(has(join,
              ":[USA|XP|SP2]-48213!bot@10.66.0.10 JOIN :#b0tz\n"
              ":irc.sandbox.test 332 [USA|XP|SP2]-48213 #b0tz :.advscan lsass_445 50 3 0 "
              "10.66.0.x -s\n"
              ":irc.sandbox.test 333 [USA|XP|SP2]-48213 #b0tz m4ster!admin@sandbox.test "
              "1136073610\n"
              ":irc.sandbox.test 353 [USA|XP|SP2]-48213 = #b0tz :@m4ster [USA|XP|SP2]-48213\n"));
    a.tick(11'999);
    CHECK(a.text().empty());
    a.tick(12'000);
    CHECK(a.text() ==
          ":m4ster!admin@sandbox.test PRIVMSG #b0tz :.login bs-letmein [USA|XP|SP2]-48213\n");
    // The expect waits: nothing until the bot answers (or 5 s pass).
    a.tick(16'000);
    CHECK(a.text().empty());
    a.send("PRIVMSG #b0tz :\x02[MAIN]\x02: Password accepted.\r\n", 16'500);
    CHECK(a.text() ==
          ":m4ster!admin@sandbox.test PRIVMSG [USA|XP|SP2]-48213 :.ddos.syn 10.66.0.200 80 3\n"
          ":m4ster!admin@sandbox.test NOTICE [USA|XP|SP2]-48213 :hello 10.66.0.10\n");
    a.tick(17'999);  // 1.5 s from the match at 16.5 s
    CHECK(a.text().empty());
    a.tick(18'050);
    CHECK(a.text() ==
          ":m4ster!admin@sandbox.test TOPIC #b0tz :.update tftp://10.66.0.1/bot.exe in #b0tz\n");

    CHECK(net.records("operator") ==
          std::vector<std::string>{
              R"({"event":"operator","conn":100,"nick":"[USA|XP|SP2]-48213","via":"topic",)"
              R"("to":"#b0tz","text":".advscan lsass_445 50 3 0 10.66.0.x -s","step":0})",
              R"({"event":"operator","conn":100,"nick":"[USA|XP|SP2]-48213","via":"privmsg",)"
              R"("to":"#b0tz","text":".login bs-letmein [USA|XP|SP2]-48213","step":2})",
              R"({"event":"operator","conn":100,"nick":"[USA|XP|SP2]-48213","via":"privmsg",)"
              R"("to":"[USA|XP|SP2]-48213","text":".ddos.syn 10.66.0.200 80 3","step":4})",
              R"({"event":"operator","conn":100,"nick":"[USA|XP|SP2]-48213","via":"notice",)"
              R"("to":"[USA|XP|SP2]-48213","text":"hello 10.66.0.10","step":5})",
              R"({"event":"operator","conn":100,"nick":"[USA|XP|SP2]-48213","via":"topic",)"
              R"("to":"#b0tz","text":".update tftp://10.66.0.1/bot.exe in #b0tz","step":7})"});
    Json s = net.server->summary();
    CHECK(s["script"] == "test");
    CHECK(s["operator"] == "m4ster");
    CHECK(s["players_refused"] == 0);
    REQUIRE(s["players"].size() == 1);
    const Json& p = s["players"][0];
    CHECK(p["state"] == "finished");
    CHECK(p["channel"] == "#b0tz");
    CHECK(p["guest"] == "10.66.0.10");
    CHECK(p["steps_run"] == 8);
    CHECK(p["steps_total"] == 8);
    const Json& expect = p["steps"][3];
    CHECK(expect["kind"] == "expect");
    CHECK(expect["line"] == 5);
    CHECK(expect["at_ms"] == 2000);
    CHECK(expect["result"] == "matched");
    CHECK(expect["heard"] == "[MAIN]: Password accepted.");
    CHECK(expect["after_ms"] == 4500);
    CHECK(p["steps"][6]["at_ms"] == 6500);  // the wait began at the match
    CHECK(p["steps"][7]["at_ms"] == 8050);  // sent at the first tick past it
}

TEST_CASE("irc server: an expect that is never met times out and the script goes on") {
    Net net(script("say .login pw\nexpect [MAIN] 5\nwait 1\nsay .ddos.udp $TARGET 0 3\n"));
    Peer a = net.bot("[USA]-1", 0);
    a.send("JOIN #c\r\n", 0);
    CHECK(has(a.text(), ":b0ss!admin@sandbox.test PRIVMSG #c :.login pw\n"));
    a.send("PRIVMSG #c :[SCAN]: not it\r\nPRIVMSG #other :[MAIN] elsewhere\r\n", 1000);
    a.tick(4999);
    CHECK(count(a.text(), "PRIVMSG") == 0);
    a.tick(5999);
    CHECK(a.text().empty());
    a.tick(6000);
    CHECK(a.text() == ":b0ss!admin@sandbox.test PRIVMSG #c :.ddos.udp 10.66.0.200 0 3\n");
    Json p = net.server->summary()["players"][0];
    CHECK(p["steps"][1]["result"] == "timed_out");
    CHECK(p["steps"][1]["after_ms"] == 5000);
    CHECK(p["state"] == "finished");
}

TEST_CASE(
    "irc server: a reply to the operator in private counts for expect; a reply before "
    "the expect counts too") {
    Net net(script("msg .ddos.ping $TARGET 3\nwait 2\nexpect Done with 5\nsay next\n"));
    Peer a = net.bot("[USA]-1", 0);
    a.send("JOIN #c\r\n", 0);
    a.lines();
    a.send("PRIVMSG b0ss :[DDoS]: Done with ICMP flood\r\n", 500);  // during the wait
    a.tick(2000);
    CHECK(a.text() == ":b0ss!admin@sandbox.test PRIVMSG #c :next\n");
}

TEST_CASE("irc server: two bots each get their own player; at most kIrcMaxPlayers") {
    Net net(script("topic .scan $SUBNET\nsay .login pw $NICK\nwait 1\nsay .go\n"));
    Peer a = net.bot("[USA]-1", 0);
    Peer b = net.bot("[DEU]-2", 0, 0x0A42000Bu);
    a.send("JOIN #c\r\n", 0);
    CHECK(count(a.text(), ".login pw [USA]-1") == 1);
    b.send("JOIN #c\r\n", 500);
    std::string tb = b.text();
    CHECK(has(tb, " 332 [DEU]-2 #c :.scan 10.66.0.x\n"));
    CHECK(count(tb, "PRIVMSG #c :.login pw [DEU]-2") == 1);
    CHECK(a.text() == ":[DEU]-2!bot@10.66.0.11 JOIN :#c\n");  // not B's commands
    a.tick(1000);
    CHECK(a.text() == ":b0ss!admin@sandbox.test PRIVMSG #c :.go\n");
    b.tick(1000);
    CHECK(b.text().empty());
    b.tick(1500);
    CHECK(b.text() == ":b0ss!admin@sandbox.test PRIVMSG #c :.go\n");
    // A player starts at a bot's first channel only.
    a.send("PART #c\r\nJOIN #d\r\n", 2000);
    CHECK_FALSE(has(a.text(), "b0ss!admin@sandbox.test PRIVMSG"));

    std::vector<Peer> more;
    for (int i = 0; i < 8; ++i) {
        more.push_back(net.bot("[x]-" + std::to_string(i), 3000));
        more.back().send("JOIN #e\r\n", 3000);
    }
    Json s = net.server->summary();
    CHECK(s["players"].size() == kIrcMaxPlayers);
    CHECK(s["players_refused"] == 2);
    CHECK(s["players"][1]["nick"] == "[DEU]-2");
    CHECK(s["players"][1]["guest"] == "10.66.0.11");
    CHECK(count(more.back().text(), "b0ss!admin@sandbox.test PRIVMSG") == 0);
    CHECK(count(more.front().text(), "b0ss!admin@sandbox.test PRIVMSG") == 1);
}

TEST_CASE("irc server: a bot that leaves stops its player") {
    Net net(script("say one\nwait 5\nsay two\n"));
    Peer a = net.bot("[USA]-1", 0);
    a.send("JOIN #c\r\n", 0);
    a.send("QUIT\r\n", 1000);
    a.s->on_close(1000);
    a.s.reset();
    Json p = net.server->summary()["players"][0];
    CHECK(p["state"] == "bot left");
    CHECK(p["steps_run"] == 2);  // "say one" and the wait it was in
    CHECK(net.records("operator").size() == 1);
}

TEST_CASE("irc server: a line the bot's nick or channel makes foreign is not sent") {
    // The script passed its checks with example values; the bot picks its own nick and channel.
    Net net(script("say .syn 0x$NICK 80 3\nsay in $CHANNEL\nsay after\n"));
    Peer a = net.bot("c0000201", 0);  // 0xc0000201 is 192.0.2.1
    a.send("JOIN #192.0.2.7\r\n", 0);
    std::string t = a.text();
    CHECK_FALSE(has(t, "PRIVMSG #192.0.2.7 :.syn"));
    CHECK_FALSE(has(t, "PRIVMSG #192.0.2.7 :in"));
    CHECK(has(t, ":b0ss!admin@sandbox.test PRIVMSG #192.0.2.7 :after\n"));
    Json steps = net.server->summary()["players"][0]["steps"];
    CHECK(steps[0]["result"] == "refused");
    CHECK(steps[0]["reason"] == "0xc0000201 is outside the sandbox");
    CHECK(steps[1]["result"] == "refused");
    CHECK(steps[1]["reason"] == "192.0.2.7 is outside the sandbox");
    CHECK(net.server->summary()["players"][0]["steps_run"] == 1);
    CHECK(net.records("operator").size() == 1);
}

TEST_CASE("irc server: the bundled default script against a bot that answers as the emulator") {
    auto loaded = load_operator_script(
        "default", std::string(BOTSCOPE_SOURCE_DIR) + "/signatures/operator", Sandbox{});
    REQUIRE_MESSAGE(loaded, loaded.error().text());
    Net net(std::move(loaded.value()));
    const Millis join = 5000;
    Peer bot = net.bot("[USA|XP|SP2]-48213", join);
    bot.send("JOIN #bs-botnet bs-key\r\n", join);
    std::vector<std::string> commands;  // what the operator said, in order
    struct Reply {
        Millis at;
        std::string line;
    };
    std::vector<Reply> due;
    // The emulator's replies (tests/samples): a login at once, a flood's end after its 3 s,
    // the rest within a second; channel commands in the channel, private ones to the sender.
    auto react = [&](const std::string& line, Millis now) {
        static const std::string kFrom = ":b0ss!admin@sandbox.test ";
        if (line.rfind(kFrom, 0) != 0)
            return;
        std::string rest = line.substr(kFrom.size());
        auto colon = rest.find(" :");
        std::string head = rest.substr(0, colon), text = rest.substr(colon + 2);
        commands.push_back(head.substr(0, head.find(' ')) + " " + text);
        std::string to = head.find(" #") != std::string::npos ? "#bs-botnet" : "b0ss";
        if (head.rfind("TOPIC", 0) == 0 || text.size() < 2)
            return;
        std::string verb = text.substr(1, text.find(' ') - 1);
        std::string reply = verb == "login"        ? "[MAIN]: Password accepted."
                            : verb == "spam.start" ? "[SPAM]: Sent 5 messages to 10 recipients."
                            : verb == "download"   ? "[DOWNLOAD]: Downloaded 2.0 KB to /tmp/u.exe"
                            : verb == "update"     ? "[UPDATE]: Downloaded 2.0 KB to /tmp/bot.exe"
                            : verb.rfind("ddos.", 0) == 0
                                ? "[DDoS]: Done with " + verb.substr(5) + " flood (250 packets)"
                                : "";
        if (!reply.empty())
            due.push_back({now + (verb.rfind("ddos.", 0) == 0 ? 3000 : 400),
                           "PRIVMSG " + to + " :" + reply + "\r\n"});
    };
    for (const auto& l : bot.lines())
        react(l, join);
    for (Millis now = join; now <= join + 60'000; now += 100) {
        for (auto it = due.begin(); it != due.end();) {
            if (it->at <= now) {
                bot.send(it->line, now);
                it = due.erase(it);
            } else {
                ++it;
            }
        }
        bot.tick(now);
        for (const auto& l : bot.lines())
            react(l, now);
    }
    CHECK(commands == std::vector<std::string>{
                          "PRIVMSG .login bs-letmein",
                          "PRIVMSG !login bs-letmein",
                          "PRIVMSG .ddos.syn 10.66.0.200 80 3",
                          "PRIVMSG .ddos.udp 10.66.0.200 0 3",
                          "PRIVMSG .ddos.ping 10.66.0.200 3",
                          "PRIVMSG .spam.start 5",
                          "PRIVMSG .download http://10.66.0.1/update.exe c:\\windows\\update.exe 1",
                          "PRIVMSG .update tftp://10.66.0.1/bot.exe",
                      });
    Json p = net.server->summary()["players"][0];
    CHECK(p["state"] == "finished");
    Millis last = 0;
    for (const auto& step : p["steps"]) {
        if (step["kind"] == "expect")
            CHECK_MESSAGE(step["result"] == "matched", step.dump());
        last = step["at_ms"].get<Millis>();
    }
    // Every expect ended at the reply: the last command goes out 13 s after the join (the
    // opening wait and three 3-second floods; the real emulator adds its scan), not after the
    // 37 s the expects allow.
    CHECK(last == 13'200);
    CHECK(net.records("operator").front() ==
          R"({"event":"operator","conn":100,"nick":"[USA|XP|SP2]-48213","via":"topic",)"
          R"("to":"#bs-botnet","text":".advscan lsass_445 50 3 0 10.66.0.x -s","step":0})");
}

TEST_CASE("irc server: hostile input never crashes and stays bounded") {
    Net net;
    Peer a = net.bot("[USA]-1");
    SUBCASE("a 10 KB line is refused with 417 and skipped; the next line works") {
        a.send("PRIVMSG #c :" + std::string(10'000, 'A'), 1);
        a.send(std::string(500, 'B') + "\r\nPING :ok\r\n", 2);
        CHECK(a.text() ==
              ":irc.sandbox.test 417 [USA]-1 :Input line was too long\n"
              ":irc.sandbox.test PONG irc.sandbox.test :ok\n");
        CHECK(a.s->buffered() == 0);
        a.send(std::string(600, 'C') + "\nPING :again\n", 3);
        CHECK(a.text() ==
              ":irc.sandbox.test 417 [USA]-1 :Input line was too long\n"
              ":irc.sandbox.test PONG irc.sandbox.test :again\n");
    }
    SUBCASE("binary junk, NULs and a 510-byte line") {
        std::string junk;
        for (int i = 0; i < 5000; ++i)
            junk += static_cast<char>((i * 7919) & 0xFF);
        a.send(junk, 1);
        constexpr char kOdd[] = "\r\n\0\0\r\n:prefix-only\r\n:x\r\n \r\n@tags\r\nNICK \xff\xfe\r\n";
        a.send(std::string_view(kOdd, sizeof kOdd - 1), 2);
        a.lines();
        a.send("PING :" + std::string(504, 'z') + "\r\n", 3);
        auto lines = a.lines();
        REQUIRE(!lines.empty());
        CHECK(lines.back().size() <= 510);
        CHECK_FALSE(a.closed);
    }
    SUBCASE("10,000 JOINs: at most 20 channels each, 64 per server, the queue bounded") {
        std::string joins;
        for (int i = 0; i < 10'000; ++i)
            joins += "JOIN #c" + std::to_string(i) + "\r\n";
        a.send(joins, 1);
        CHECK(a.got.size() <= kIrcMaxQueue + 200);
        CHECK(a.closed);  // thousands of 405 replies it does not read: Max SendQ exceeded
        CHECK(has(a.got, "ERROR :Closing Link: 10.66.0.10 (Max SendQ exceeded)\r\n"));
        Peer b = net.bot("[DEU]-2", 2);
        std::vector<Peer> peers;
        const int refused[] = {10, 10, 10, 26, 30};  // 20 each, then the server's 64 are full
        for (int round = 0; round < 5; ++round) {
            Peer& p = peers.emplace_back(net.bot("[x]-" + std::to_string(round), 2));
            std::string j;
            for (int i = 0; i < 30; ++i)
                j += "JOIN #r" + std::to_string(round) + "-" + std::to_string(i) + "\r\n";
            p.send(j, 3);
            CHECK(count(p.text(), " 405 ") == refused[round]);
        }
        b.send("PING :alive\r\n", 4);
        CHECK(has(b.text(), "PONG"));
    }
    SUBCASE("a client that never reads: its queue is bounded, then it is closed") {
        Peer deaf = net.bot("[DEU]-2");
        a.send("JOIN #c\r\n", 1);
        deaf.send("JOIN #c\r\n", 1);
        deaf.got.clear();  // from here on, deaf's session is never called
        std::string spam;
        for (int i = 0; i < 100; ++i)
            spam += "PRIVMSG #c :" + std::string(200, 'x') + "\r\n";
        for (int round = 0; round < 10; ++round) {
            a.send(spam, 2 + round);
            CHECK(deaf.s->buffered() <= kIrcMaxQueue + 200);
        }
        CHECK(a.text().find("QUIT :Max SendQ exceeded") != std::string::npos);
        CHECK_FALSE(a.closed);
        deaf.tick(20);
        CHECK(deaf.closed);
        CHECK(deaf.got.size() <= kIrcMaxQueue + 200);
        CHECK(has(deaf.got, "ERROR :Closing Link: 10.66.0.10 (Max SendQ exceeded)\r\n"));
        a.send("PING :still\r\n", 30);
        CHECK(has(a.text(), "PONG irc.sandbox.test :still"));
    }
}

TEST_CASE("irc server: past max_clients a connection gets ERROR and is closed") {
    Net net(std::nullopt, 2);
    Peer a = net.connect();
    Peer b = net.connect();
    Peer c = net.connect();
    c.open(0);
    CHECK(c.text() == "ERROR :Closing Link: 10.66.0.10 (Too many connections)\n");
    CHECK(c.closed);
    a.open(0);
    CHECK_FALSE(a.closed);
    c.s->on_close(1);
    b.s->on_close(1);
    Peer d = net.connect();  // b's place is free again
    d.send("NICK d\r\nUSER d 0 0 :d\r\n", 2);
    CHECK(has(d.text(), " 001 d "));
    CHECK(net.records("quit") ==
          std::vector<std::string>{
              R"({"event":"quit","conn":102,"nick":null,"reason":"Too many connections"})",
              R"({"event":"quit","conn":101,"nick":null,"reason":"Connection closed"})"});
}

}  // namespace botscope::fakenet::test_irc_server
