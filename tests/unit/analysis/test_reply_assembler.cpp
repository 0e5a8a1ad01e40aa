// The numeric replies SMTP and FTP share (analysis/reply_assembler.h): the line parser, the
// two ways a multi-line reply goes on, its caps, and the session's latest replies.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analysis/reply_assembler.h"

namespace test_reply_assembler {

using namespace botscope::analysis::reply;
using Step = Assembler::Step;

TEST_CASE("reply lines: three digits of the allowed classes, then a space, a dash or the end") {
    auto r = parse_line("250-PIPELINING", '2');
    CHECK(r.ok);
    CHECK(r.code == 250);
    CHECK(r.more);
    CHECK(r.text == "PIPELINING");
    r = parse_line("354 End data with <CR><LF>.<CR><LF>", '2');
    CHECK(r.ok);
    CHECK_FALSE(r.more);
    CHECK(parse_line("221", '2').ok);
    CHECK_FALSE(parse_line("22", '2').ok);
    CHECK_FALSE(parse_line("2x0 hi", '2').ok);
    CHECK_FALSE(parse_line("250/hi", '2').ok);
    CHECK_FALSE(parse_line(":irc.example NOTICE AUTH", '2').ok);
    // SMTP has no 1xx replies; FTP's 150 says a transfer starts.
    CHECK_FALSE(parse_line("150 opening", '2').ok);
    CHECK(parse_line("150 opening", '1').ok);
    CHECK(parse_line("150 opening", '1').code == 150);
    CHECK_FALSE(parse_line("650 nope", '1').ok);
    CHECK_FALSE(parse_line(" MDTM", '1').ok);
}

TEST_CASE("SMTP: every line of a reply is coded; a line that is not is refused inside one too") {
    Assembler a('2', Assembler::Inner::kCoded, 32, 512);
    CHECK(a.line("250-mail.example") == Step::kMore);
    CHECK(a.line("250-PIPELINING") == Step::kMore);
    CHECK(a.line("just text") == Step::kInvalid);
    CHECK(a.line("250 8BITMIME") == Step::kDone);
    CHECK(a.code() == 250);
    CHECK(a.lines() == std::vector<std::string>{"mail.example", "PIPELINING", "8BITMIME"});
    CHECK(a.summary() == "250 8BITMIME");
    // The next reply starts afresh.
    CHECK(a.line("354") == Step::kDone);
    CHECK(a.summary() == "354");
    CHECK(a.lines().size() == 1);
}

TEST_CASE("FTP: inside a multi-line reply anything goes until the code and a space") {
    Assembler a('1', Assembler::Inner::kFree, 32, 512);
    CHECK(a.line("211-Features:") == Step::kMore);
    CHECK(a.line(" MDTM") == Step::kMore);
    CHECK(a.line("212 not the end") == Step::kMore);
    CHECK(a.line("211-still not") == Step::kMore);
    CHECK(a.line("211 End") == Step::kDone);
    CHECK(a.code() == 211);
    CHECK(a.lines().front() == "Features:");
    CHECK(a.lines().back() == "End");
    CHECK(a.lines().size() == 5);
    CHECK(a.line("not a reply") == Step::kInvalid);
}

TEST_CASE("a reply longer than the caps keeps its first lines, its last, and cut texts") {
    for (auto inner : {Assembler::Inner::kCoded, Assembler::Inner::kFree}) {
        Assembler a('2', inner, 4, 8);
        CHECK(a.line("250-first line, long") == Step::kMore);
        for (int i = 0; i < 100; ++i)
            CHECK(a.line("250-x" + std::to_string(i)) == Step::kMore);
        CHECK(a.line("250 last") == Step::kDone);
        REQUIRE(a.lines().size() == 4);
        CHECK(a.lines().front() == "first li");
        CHECK(a.lines().back() == "last");
        CHECK(a.summary() == "250 last");
    }
}

TEST_CASE("a gap ends the reply in progress: the next line starts a new one") {
    Assembler a('1', Assembler::Inner::kFree, 32, 512);
    CHECK(a.line("220-Welcome") == Step::kMore);
    a.reset();
    CHECK(a.line("331 Password required") == Step::kDone);
    CHECK(a.code() == 331);
    CHECK(a.lines() == std::vector<std::string>{"Password required"});
}

TEST_CASE("the latest replies: the newest kept, each cut to its length") {
    std::vector<std::string> last;
    for (int i = 0; i < 7; ++i)
        remember(last, "250 reply " + std::to_string(i), 5, 11);
    CHECK(last == std::vector<std::string>{"250 reply 2", "250 reply 3", "250 reply 4",
                                           "250 reply 5", "250 reply 6"});
    remember(last, "421 shutting down now", 5, 11);
    CHECK(last.back() == "421 shuttin");
}

}  // namespace test_reply_assembler
