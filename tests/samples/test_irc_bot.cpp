// The bot's side of IRC: registration, the join, the topic, logins, who gets replies.

#include <doctest/doctest.h>

#include "irc_bot.h"

namespace botscope::botemu::test_irc_bot {

namespace {

// Digits 00001, 00002, ... so that nicks are predictable.
IrcBot make_bot() {
    return IrcBot([n = 0]() mutable {
        std::string d = std::to_string(++n);
        return std::string(kNickDigits - d.size(), '0') + d;
    });
}

// A bot that has registered and joined.
IrcBot joined_bot() {
    IrcBot bot = make_bot();
    bot.on_line(":irc.sandbox.test 001 [USA|XP|SP2]-00001 :Welcome");
    bot.on_line(":[USA|XP|SP2]-00001!bsbot@10.66.0.10 JOIN #bs-botnet");
    return bot;
}

std::vector<std::string> verbs(const Reaction& r) {
    std::vector<std::string> out;
    for (const auto& c : r.commands)
        out.push_back(c.command.name);
    return out;
}

}  // namespace

TEST_CASE("irc: registration, nick collisions, join, PING") {
    IrcBot bot = make_bot();
    CHECK(bot.greeting() == std::vector<std::string>{"PASS bs-srvpass", "NICK [USA|XP|SP2]-00001",
                                                     "USER bsbot 0 0 :botscope emulator"});
    CHECK(bot.digits() == "00001");
    auto taken = bot.on_line(":irc.sandbox.test 433 * [USA|XP|SP2]-00001 :Nickname is in use");
    CHECK(taken.send == std::vector<std::string>{"NICK [USA|XP|SP2]-00002"});
    CHECK(bot.nick() == "[USA|XP|SP2]-00002");
    CHECK(bot.digits() == "00002");
    auto welcome = bot.on_line(":irc.sandbox.test 001 [USA|XP|SP2]-00002 :Welcome to botscope");
    CHECK(welcome.send == std::vector<std::string>{"JOIN #bs-botnet bs-key"});
    CHECK(bot.registered());
    CHECK_FALSE(bot.joined());
    auto join = bot.on_line(":[usa|xp|sp2]-00002!bsbot@10.66.0.10 JOIN :#BS-botnet");
    CHECK(join.joined);
    CHECK(bot.joined());
    CHECK_FALSE(bot.on_line(":irc.sandbox.test 366 [USA|XP|SP2]-00002 #bs-botnet :End").joined);
    CHECK(bot.on_line("PING :irc.sandbox.test").send ==
          std::vector<std::string>{"PONG :irc.sandbox.test"});
    // The server may change the bot's nick; a nick that is not one is not taken.
    bot.on_line(":[USA|XP|SP2]-00002!bsbot@10.66.0.10 NICK :[DEU|XP]-1");
    CHECK(bot.nick() == "[DEU|XP]-1");
    bot.on_line(":[DEU|XP]-1!bsbot@10.66.0.10 NICK :bad nick!");
    CHECK(bot.nick() == "[DEU|XP]-1");
    // Once registered, a 433 changes nothing.
    CHECK(bot.on_line(":s 433 * x :in use").send.empty());
}

TEST_CASE("irc: a server that takes every nick is given up") {
    IrcBot bot = make_bot();
    Reaction r;
    for (int i = 0; i <= kMaxNickRetries; ++i)
        r = bot.on_line(":s 433 * n :Nickname is in use");
    CHECK(r.give_up);
}

TEST_CASE("irc: the topic runs without login, commands split on '|'") {
    IrcBot bot = make_bot();
    bot.on_line(":s 001 [USA|XP|SP2]-00001 :hi");
    auto r =
        bot.on_line(":s 332 [USA|XP|SP2]-00001 #bs-botnet :.advscan lsass_445 50 3 0 10.66.0.x -s");
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].via == CommandRequest::Via::kTopic);
    CHECK(r.commands[0].reply_to == "#bs-botnet");
    CHECK(r.commands[0].text == ".advscan lsass_445 50 3 0 10.66.0.x -s");
    CHECK(r.commands[0].command.status == ParsedCommand::Status::kOk);

    auto many = bot.on_line(
        ":b0ss!admin@sandbox.test TOPIC #bs-botnet :\x02.ddos.syn 10.66.0.200 "
        "80 3\x02 | welcome | !login bs-letmein | .spam.start | .x | .quit | "
        ".scan a 1 0 0 | .update tftp://10.66.0.1/b.exe | .dl");
    CHECK(verbs(many) ==
          std::vector<std::string>{"ddos.syn", "spam.start", "quit", "scan"});  // at most 4
    CHECK(bot.on_line(":s 332 x #other :.ddos.syn 10.66.0.200 80 3").commands.empty());
    // A topic naming a foreign address is passed on refused (and answered in the channel).
    auto foreign = bot.on_line(":s 332 x #bs-botnet :.ddos.syn 192.0.2.1 80 3");
    REQUIRE(foreign.commands.size() == 1);
    CHECK(foreign.commands[0].command.status == ParsedCommand::Status::kRefused);
}

TEST_CASE("irc: private and channel commands need a login first") {
    IrcBot bot = joined_bot();
    const std::string op = ":b0ss!admin@sandbox.test PRIVMSG ";
    CHECK(bot.on_line(op + "#bs-botnet :.ddos.syn 10.66.0.200 80 3").commands.empty());
    CHECK(bot.on_line(op + "#bs-botnet :.login wrong").send.empty());
    CHECK_FALSE(bot.logged_in("b0ss"));

    auto login = bot.on_line(op + "#bs-botnet :!login bs-letmein");
    CHECK(login.send == std::vector<std::string>{"PRIVMSG #bs-botnet :[MAIN]: Password accepted."});
    CHECK(bot.logged_in("B0SS"));

    auto channel = bot.on_line(op + "#bs-botnet :.ddos.syn 10.66.0.200 80 3");
    REQUIRE(channel.commands.size() == 1);
    CHECK(channel.commands[0].reply_to == "#bs-botnet");
    CHECK(channel.commands[0].from == "b0ss");
    CHECK(channel.commands[0].via == CommandRequest::Via::kChannel);

    auto priv = bot.on_line(op + "[USA|XP|SP2]-00001 :.ddos.ping 10.66.0.200 3");
    REQUIRE(priv.commands.size() == 1);
    CHECK(priv.commands[0].reply_to == "b0ss");
    CHECK(priv.commands[0].via == CommandRequest::Via::kPrivate);

    // Refused and malformed commands of a logged-in user are passed on, to be answered.
    CHECK(bot.on_line(op + "#bs-botnet :.ddos.syn 192.0.2.1 80 3").commands.size() == 1);
    CHECK(bot.on_line(op + "#bs-botnet :.ddos.syn").commands.size() == 1);
    // Chatter, unknown verbs, other channels and other nicks are not.
    CHECK(bot.on_line(op + "#bs-botnet :hello bots").commands.empty());
    CHECK(bot.on_line(op + "#bs-botnet :.format c:").commands.empty());
    CHECK(bot.on_line(op + "#elsewhere :.ddos.syn 10.66.0.200 80 3").commands.empty());
    CHECK(bot.on_line(op + "someone :.ddos.syn 10.66.0.200 80 3").commands.empty());
    CHECK(
        bot.on_line(":other!x@y PRIVMSG #bs-botnet :.ddos.syn 10.66.0.200 80 3").commands.empty());
    // A private login is answered privately.
    CHECK(bot.on_line(":other!x@y PRIVMSG [USA|XP|SP2]-00001 :.login bs-letmein").send ==
          std::vector<std::string>{"PRIVMSG other :[MAIN]: Password accepted."});
}

TEST_CASE("irc: logins follow NICK and end with PART, QUIT and KICK") {
    IrcBot bot = joined_bot();
    bot.on_line(":b0ss!a@h PRIVMSG #bs-botnet :.login bs-letmein");
    bot.on_line(":b0ss!a@h NICK :boss2");
    CHECK_FALSE(bot.logged_in("b0ss"));
    CHECK(bot.logged_in("boss2"));
    bot.on_line(":boss2!a@h PART #bs-botnet");
    CHECK_FALSE(bot.logged_in("boss2"));
    bot.on_line(":b0ss!a@h PRIVMSG #bs-botnet :.login bs-letmein");
    bot.on_line(":b0ss!a@h QUIT :bye");
    CHECK_FALSE(bot.logged_in("b0ss"));
    bot.on_line(":b0ss!a@h PRIVMSG #bs-botnet :.login bs-letmein");
    bot.on_line(":op!a@h KICK #bs-botnet b0ss :out");
    CHECK_FALSE(bot.logged_in("b0ss"));

    // At most kMaxLoggedIn nicks are remembered; the oldest goes first.
    for (std::size_t i = 0; i <= kMaxLoggedIn; ++i)
        bot.on_line(":u" + std::to_string(i) + "!a@h PRIVMSG #bs-botnet :.login bs-letmein");
    CHECK_FALSE(bot.logged_in("u0"));
    CHECK(bot.logged_in("u" + std::to_string(kMaxLoggedIn)));
}

TEST_CASE("irc: a kicked bot rejoins a few times; junk lines are ignored") {
    IrcBot bot = joined_bot();
    for (int i = 0; i < kMaxRejoins; ++i) {
        auto r = bot.on_line(":op!a@h KICK #bs-botnet [USA|XP|SP2]-00001 :out");
        CHECK(r.send == std::vector<std::string>{"JOIN #bs-botnet bs-key"});
        CHECK_FALSE(bot.joined());
    }
    CHECK(bot.on_line(":op!a@h KICK #bs-botnet [USA|XP|SP2]-00001 :out").send.empty());
    for (const char* junk : {"", ":", "\x01\x02\x03", ": PRIVMSG", "PRIVMSG", "001", ":x 332",
                             ":x TOPIC", ":x KICK #bs-botnet"})
        CHECK_MESSAGE(bot.on_line(junk).commands.empty(), std::string(junk));
}

TEST_CASE("irc: replies are one clean line") {
    CHECK(privmsg("#bs-botnet", "[DDoS]: Done.") == "PRIVMSG #bs-botnet :[DDoS]: Done.");
    CHECK(privmsg("x", std::string("a\r\nQUIT :x\0y", 12)) == "PRIVMSG x :a??QUIT :x?y");
    CHECK(privmsg("x", std::string(1000, 'a')).size() == std::string("PRIVMSG x :").size() + 400);
}

}  // namespace botscope::botemu::test_irc_bot
