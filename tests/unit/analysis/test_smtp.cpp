// SMTP: the line assembler, commands, replies, mail paths, base64 and SASL, MIME parameters,
// the message parser, the probe, and the analyzer fed directly (whole, split at every byte,
// pipelined, with gaps, TLS, hostile input and limits).

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/proto/smtp/smtp_analyzer.h"
#include "analysis/proto/smtp/smtp_parser.h"
#include "util/hash.h"

namespace test_smtp {

using namespace botscope::analysis;
using namespace botscope::analysis::smtp;

namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

constexpr Timestamp kSec = 1'000'000'000;

FlowInfo test_flow() {
    FlowInfo f;
    f.id = 11;
    f.transport = Transport::kTcp;
    f.orig = {IpAddress::v4(10, 0, 0, 5), 1470};
    f.resp = {IpAddress::v4(198, 51, 100, 25), 25};
    f.start = 1000 * kSec;
    return f;
}

struct Harness {
    Weirds weirds;
    SmtpResult result;
    AnalyzerContext ctx;
    std::unique_ptr<SmtpAnalyzer> analyzer;

    Harness() : ctx{test_flow(), &weirds} {
        analyzer = std::make_unique<SmtpAnalyzer>(ctx, result);
    }

    /// Each piece comes from its own heap buffer so ASan sees over-reads.
    void feed(Direction dir, std::string_view s, Timestamp ts = 1001 * kSec) {
        std::vector<std::uint8_t> copy(s.begin(), s.end());
        analyzer->on_data(dir, copy, ts);
    }
    void client(std::string_view s) { feed(Direction::kOrig, s); }
    void server(std::string_view s) { feed(Direction::kResp, s); }
    const SmtpSession& end() {
        analyzer->on_end(2000 * kSec);
        REQUIRE(result.sessions.size() == 1);
        return result.sessions[0];
    }
};

/// A literal with embedded NULs, whole.
template <std::size_t N>
std::string raw(const char (&s)[N]) {
    return std::string(s, N - 1);
}

std::vector<std::string_view> lines_of(std::string_view s) {
    std::vector<std::string_view> out;
    std::span<const std::uint8_t> data = bytes(s);
    LineAssembler la(64);
    while (auto f = la.next(data))
        out.push_back(f->text);
    return out;
}

/// Dot-stuffs message content for the wire (RFC 5321 4.5.2).
std::string stuff(std::string_view content) {
    std::string out;
    bool line_start = true;
    for (char c : content) {
        if (line_start && c == '.')
            out += '.';
        out += c;
        line_start = c == '\n';
    }
    return out;
}

const std::string kContent =
    "From: \"Bot\" <bot@example.org>\r\n"
    "To: <alice@victim.example>\r\n"
    "Subject: Cheap\r\n"
    " pills\r\n"
    "Date: Mon, 5 Oct 2009 11:36:07 +0530\r\n"
    "Message-ID: <1@example.org>\r\n"
    "X-Mailer: SpamKit 1.0\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed;\r\n"
    "\tboundary=\"==b1\"\r\n"
    "\r\n"
    "--==b1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    ".leading dot line\r\n"
    "Hello\r\n"
    "--==b1\r\n"
    "Content-Type: application/octet-stream; name=\"x.exe\"\r\n"
    "Content-Disposition: attachment;\r\n"
    "\tfilename=\"update.exe\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "TVqQAAMAAAAEAAAA\r\n"
    "--==b1--\r\n";

struct Turn {
    Direction dir;
    std::string text;
};

std::vector<Turn> bot_script() {
    return {
        {Direction::kResp, "220-mx.example.net ESMTP Exim 4.69\r\n220 No spam please\r\n"},
        {Direction::kOrig, "EHLO bot-pc\r\n"},
        {Direction::kResp,
         "250-mx.example.net Hello\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"},
        {Direction::kOrig, "AUTH LOGIN\r\n"},
        {Direction::kResp, "334 VXNlcm5hbWU6\r\n"},
        {Direction::kOrig, "Ym90QGV4YW1wbGUub3Jn\r\n"},
        {Direction::kResp, "334 UGFzc3dvcmQ6\r\n"},
        {Direction::kOrig, "aHVudGVyMg==\r\n"},
        {Direction::kResp, "235 Authentication succeeded\r\n"},
        // Pipelined: four commands in one segment, four replies in one segment.
        {Direction::kOrig,
         "MAIL FROM:<bot@example.org>\r\nRCPT TO:<alice@victim.example>\r\n"
         "RCPT TO:<nobody@victim.example>\r\nDATA\r\n"},
        {Direction::kResp, "250 OK\r\n250 Accepted\r\n550 No such user\r\n354 Go ahead\r\n"},
        {Direction::kOrig, stuff(kContent) + ".\r\n"},
        {Direction::kResp, "250 OK id=1Mugho-0003Dg-Un\r\n"},
        {Direction::kOrig, "QUIT\r\n"},
        {Direction::kResp, "221 bye\r\n"},
    };
}

void check_bot_session(const SmtpSession& s, const Weirds& weirds) {
    CHECK(s.flow == 11);
    CHECK(s.orig.port == 1470);
    CHECK(s.banner_code == 220);
    CHECK(s.banner == "mx.example.net ESMTP Exim 4.69\nNo spam please");
    CHECK(s.helo_command == "EHLO");
    CHECK(s.helo == "bot-pc");
    CHECK(s.extensions == std::vector<std::string>{"PIPELINING", "AUTH PLAIN LOGIN", "HELP"});
    CHECK_FALSE(s.starttls);
    REQUIRE(s.auth.size() == 1);
    CHECK(s.auth[0].mechanism == "LOGIN");
    CHECK(s.auth[0].user == "bot@example.org");
    CHECK(s.auth[0].reply == 235);
    REQUIRE(s.messages.size() == 1);
    const SmtpMessage& m = s.messages[0];
    CHECK(m.mail_from == "bot@example.org");
    CHECK(m.mail_from_reply == 250);
    REQUIRE(m.recipients.size() == 2);
    CHECK(m.recipients[0].address == "alice@victim.example");
    CHECK(m.recipients[0].reply == 250);
    CHECK(m.recipients[1].address == "nobody@victim.example");
    CHECK(m.recipients[1].reply == 550);
    CHECK(m.data);
    CHECK(m.data_complete);
    CHECK(m.data_reply == 354);
    CHECK(m.reply == 250);
    CHECK(m.reply_text == "OK id=1Mugho-0003Dg-Un");
    CHECK(m.status == MessageStatus::kDelivered);
    CHECK(m.headers.from == "\"Bot\" <bot@example.org>");
    CHECK(m.headers.to == "<alice@victim.example>");
    CHECK(m.headers.subject == "Cheap pills");
    CHECK(m.headers.message_id == "<1@example.org>");
    CHECK(m.headers.date == "Mon, 5 Oct 2009 11:36:07 +0530");
    CHECK(m.headers.x_mailer == "SpamKit 1.0");
    CHECK(m.attachments == std::vector<std::string>{"update.exe"});
    CHECK(m.size == kContent.size());
    CHECK(m.md5 == botscope::util::md5_hex(bytes(kContent)));
    CHECK(m.sha256 == botscope::util::sha256_hex(bytes(kContent)));
    CHECK_FALSE(m.gaps);
    CHECK(s.quit);
    CHECK(s.last_replies.back() == "221 bye");
    CHECK(s.invalid_lines == 0);
    CHECK(weirds.entries().empty());
    // Every command got its own reply despite pipelining.
    REQUIRE(s.commands.size() == 7);
    CHECK(s.commands[0].command == "EHLO");
    CHECK(s.commands[0].reply == 250);
    CHECK(s.commands[1].command == "AUTH");
    CHECK(s.commands[1].arg == "LOGIN");
    CHECK(s.commands[1].reply == 235);
    CHECK(s.commands[4].reply == 550);
    CHECK(s.commands[5].command == "DATA");
    CHECK(s.commands[5].reply == 354);
    CHECK(s.commands[6].reply == 221);
}

}  // namespace

// ---- parser ----

TEST_CASE("smtp LineAssembler splits CRLF and LF lines and holds partial ones") {
    CHECK(lines_of("a\r\nb\nc\r\n") == std::vector<std::string_view>{"a", "b", "c"});

    LineAssembler la(64);
    std::string first = "HEL";
    std::span<const std::uint8_t> d = bytes(first);
    CHECK_FALSE(la.next(d));
    CHECK(d.empty());
    CHECK(la.buffered() == 3);
    std::string second = "O x\r";
    d = bytes(second);
    CHECK_FALSE(la.next(d));
    std::string third = "\nNEXT";
    d = bytes(third);
    auto f = la.next(d);
    REQUIRE(f);
    CHECK(f->text == "HELO x");
    CHECK(f->terminator == "\r\n");
    CHECK_FALSE(f->continued);
    CHECK_FALSE(la.next(d));
    auto rest = la.flush();
    REQUIRE(rest);
    CHECK(rest->text == "NEXT");
    CHECK(rest->terminator.empty());
}

TEST_CASE("smtp LineAssembler cuts over-long lines and marks the tail continued") {
    LineAssembler la(8);
    std::string s = "0123456789ABCDEFGHIJ\r\nok\r\n";
    std::span<const std::uint8_t> d = bytes(s);
    std::vector<LineFragment> frags;
    std::vector<std::string> texts;
    while (auto f = la.next(d)) {
        frags.push_back(*f);
        texts.emplace_back(f->text);
    }
    REQUIRE(frags.size() == 4);
    CHECK(texts[0] == "01234567");
    CHECK(frags[0].terminator.empty());
    CHECK_FALSE(frags[0].continued);
    CHECK(texts[1] == "89ABCDEF");
    CHECK(frags[1].continued);
    CHECK(texts[2] == "GHIJ");
    CHECK(frags[2].continued);
    CHECK(frags[2].terminator == "\r\n");
    CHECK(texts[3] == "ok");
    CHECK_FALSE(frags[3].continued);

    // A line of exactly the limit is not cut: the newline does not count.
    LineAssembler exact(4);
    std::string e = "ABCD\nX\n";
    d = bytes(e);
    auto a = exact.next(d);
    REQUIRE(a);
    CHECK(a->text == "ABCD");
    CHECK(a->terminator == "\n");
}

TEST_CASE("smtp LineAssembler after a gap skips to the next line start") {
    LineAssembler la(64);
    std::string s = "MAIL FR";
    std::span<const std::uint8_t> d = bytes(s);
    CHECK_FALSE(la.next(d));
    la.drop_after_gap();
    CHECK(la.buffered() == 0);
    std::string t = "OM:<x>\r\nQUIT\r\n";
    d = bytes(t);
    auto f = la.next(d);
    REQUIRE(f);
    CHECK(f->continued);
    CHECK(f->after_gap);
    auto g = la.next(d);
    REQUIRE(g);
    CHECK(g->text == "QUIT");
    CHECK_FALSE(g->continued);
    CHECK_FALSE(g->after_gap);
}

TEST_CASE("smtp parse_command") {
    auto c = parse_command("MAIL FROM:<a@b> SIZE=10");
    CHECK(c.verb == Verb::kMail);
    CHECK(c.name == "MAIL");
    CHECK(c.arg == "FROM:<a@b> SIZE=10");
    CHECK(parse_command("ehlo  host ").verb == Verb::kEhlo);
    CHECK(parse_command("ehlo  host ").arg == "host");
    CHECK(parse_command("STARTTLS").verb == Verb::kStartTls);
    CHECK(parse_command("XEXCH50 1 2").verb == Verb::kExtension);
    CHECK(parse_command("GET / HTTP/1.0").verb == Verb::kUnknown);
    CHECK(parse_command("\x16\x03\x01").verb == Verb::kInvalid);
    CHECK(parse_command("").verb == Verb::kInvalid);
    CHECK(parse_command("123").verb == Verb::kInvalid);
    CHECK(verb_name(Verb::kRcpt) == "RCPT");
}

TEST_CASE("smtp parse_mail_path tolerates what bots send") {
    CHECK(parse_mail_path("FROM:<a@b.example>", "FROM")->address == "a@b.example");
    CHECK(parse_mail_path("From: <a@b.example> SIZE=123", "FROM")->address == "a@b.example");
    CHECK(parse_mail_path("FROM:a@b.example BODY=8BITMIME", "FROM")->address == "a@b.example");
    CHECK(parse_mail_path("FROM:<>", "FROM")->address.empty());
    CHECK(parse_mail_path("TO:<@relay.example,@r2.example:joe@c.example>", "TO")->address ==
          "joe@c.example");
    CHECK(parse_mail_path("to : <x@y>", "TO")->address == "x@y");
    CHECK_FALSE(parse_mail_path("<a@b>", "FROM"));
    CHECK_FALSE(parse_mail_path("FROMAGE:<a@b>", "FROM"));
    CHECK_FALSE(parse_mail_path("TO:<a@b>", "FROM"));
    auto p = parse_mail_path("TO:<" + std::string(1000, 'a') + "@b>", "TO");
    REQUIRE(p);
    CHECK(p->address.size() == kMaxAddressLength);
    CHECK(p->truncated);
}

TEST_CASE("smtp base64_decode is strict") {
    // RFC 4648 section 10 vectors.
    CHECK(base64_decode("") == std::string());
    CHECK(base64_decode("Zg==") == std::string("f"));
    CHECK(base64_decode("Zm8=") == std::string("fo"));
    CHECK(base64_decode("Zm9v") == std::string("foo"));
    CHECK(base64_decode("Zm9vYg==") == std::string("foob"));
    CHECK(base64_decode("Zm9vYmE=") == std::string("fooba"));
    CHECK(base64_decode("Zm9vYmFy") == std::string("foobar"));
    CHECK(base64_decode("Zm9vYg") == std::string("foob"));  // unpadded
    CHECK_FALSE(base64_decode("Zm9v!"));
    CHECK_FALSE(base64_decode("Zg=a"));
    CHECK_FALSE(base64_decode("Z"));
    CHECK_FALSE(base64_decode("Zg==="));
    CHECK_FALSE(base64_decode("Zm9=="));
    CHECK_FALSE(base64_decode("Zm 9v"));
    CHECK_FALSE(base64_decode(std::string(kMaxBase64Input + 4, 'A')));
}

TEST_CASE("smtp SASL user names, never passwords") {
    auto p = sasl_plain_user("AGFsaWNlAHMzY3JldA==");  // "\0alice\0s3cret"
    CHECK(p.status == SaslUser::Status::kOk);
    CHECK(p.user == "alice");
    CHECK(sasl_plain_user("YWRtaW4AYWxpY2UAczNjcmV0").user == "alice");  // authzid admin
    CHECK(sasl_plain_user("Zm9v").status == SaslUser::Status::kMalformed);
    CHECK(sasl_plain_user("%%%").status == SaslUser::Status::kBadBase64);
    CHECK(sasl_login_user("Ym90QGV4YW1wbGUub3Jn").user == "bot@example.org");
    CHECK(sasl_login_user("not base64!").status == SaslUser::Status::kBadBase64);
    CHECK(sasl_cram_md5_user("Ym9iIDAxMjM0NTY3ODlhYmNkZWY=").user == "bob");
    CHECK(sasl_cram_md5_user("Zm9v").status == SaslUser::Status::kMalformed);
}

TEST_CASE("smtp mime_param") {
    CHECK(mime_param("multipart/mixed; boundary=\"----=_Next;Part\"", "boundary", 200) ==
          std::string("----=_Next;Part"));
    CHECK(mime_param("multipart/mixed;\tBOUNDARY=abc ; charset=x", "boundary", 200) ==
          std::string("abc"));
    CHECK(mime_param("attachment; filename=\"a\\\"b.exe\"", "filename", 200) ==
          std::string("a\"b.exe"));
    CHECK(mime_param("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", "filename", 200) ==
          std::string("r\xC3\xA9sum\xC3\xA9.pdf"));
    CHECK(mime_param("attachment; filename*0=\"long\"; filename*1=\"name.exe\"", "filename", 200) ==
          std::string("longname.exe"));
    CHECK(mime_param("attachment; filename*0*=UTF-8''a%20; filename*1=b", "filename", 200) ==
          std::string("a b"));
    CHECK_FALSE(mime_param("text/plain; charset=us-ascii", "name", 200));
    CHECK_FALSE(mime_param("text/plain; filename=x", "name", 200));
    CHECK_FALSE(mime_param("text/plain", "name", 200));
    CHECK_FALSE(mime_param("text/plain; name", "name", 200));
    bool cut = false;
    CHECK(mime_param("a; name=" + std::string(300, 'n'), "name", 256, &cut)->size() == 256);
    CHECK(cut);
}

TEST_CASE("smtp decode_encoded_words: RFC 2047 names of the era, and what stays as written") {
    CHECK(decode_encoded_words("=?ISO-8859-1?Q?Rechnung_M=E4rz.exe?=", 256) ==
          "Rechnung M\xC3\xA4rz.exe");
    CHECK(decode_encoded_words("=?utf-8?B?0YHRh9C10YIuZXhl?=", 256) ==
          "\xD1\x81\xD1\x87\xD0\xB5\xD1\x82.exe");
    // Whitespace between encoded words goes; around plain text it stays.
    CHECK(decode_encoded_words("=?us-ascii?Q?in?= \t =?us-ascii?Q?voice?= .exe", 256) ==
          "invoice .exe");
    CHECK(decode_encoded_words("a =?windows-1252?q?=FC?= b", 256) == "a \xC3\xBC b");
    CHECK(decode_encoded_words("=?utf-8*en?Q?x?=", 256) == "x");
    // Unknown charsets and malformed words are kept as written.
    CHECK(decode_encoded_words("=?koi8-r?B?0MnT2M3P?=", 256) == "=?koi8-r?B?0MnT2M3P?=");
    CHECK(decode_encoded_words("=?utf-8?B?***?=", 256) == "=?utf-8?B?***?=");
    CHECK(decode_encoded_words("=?utf-8?Q?bad=Z1?=", 256) == "=?utf-8?Q?bad=Z1?=");
    CHECK(decode_encoded_words("=?utf-8?X?x?=", 256) == "=?utf-8?X?x?=");
    CHECK(decode_encoded_words("=?utf-8?Q?unterminated", 256) == "=?utf-8?Q?unterminated");
    CHECK(decode_encoded_words("plain.exe", 256) == "plain.exe");
    // Cut at the limit, never inside a character.
    bool cut = false;
    CHECK(decode_encoded_words("=?iso-8859-1?Q?aaa=E4?=", 4, &cut) == "aaa");
    CHECK(cut);
}

TEST_CASE("smtp MessageParser: an attachment named in RFC 2047 is listed decoded") {
    const std::string msg =
        "Subject: Rechnung\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\n"
        "Content-Type: application/octet-stream; name=\"=?ISO-8859-1?Q?M=E4rz.zip?=\"\r\n"
        "Content-Disposition: attachment;\r\n"
        "\tfilename=\"=?ISO-8859-1?B?UmVjaG51bmdfTeRyei5leGU=?=\"\r\n\r\n"
        "MZ\r\n"
        "--b--\r\n";
    MessageParser p;
    p.feed(bytes(msg));
    auto s = p.finish();
    CHECK(s.attachments == std::vector<std::string>{"Rechnung_M\xC3\xA4rz.exe"});
}

TEST_CASE("smtp MessageParser: headers, folding, attachments, hashes") {
    for (std::size_t split = 1; split < kContent.size(); ++split) {
        MessageParser p;
        p.feed(bytes(std::string_view(kContent).substr(0, split)));
        p.feed(bytes(std::string_view(kContent).substr(split)));
        const MessageSummary s = p.finish();
        CHECK(s.headers.subject == "Cheap pills");
        CHECK(s.attachments == std::vector<std::string>{"update.exe"});
        CHECK(s.size == kContent.size());
        CHECK(s.md5 == botscope::util::md5_hex(bytes(kContent)));
        if (s.attachments.size() != 1)
            break;
    }
}

TEST_CASE("smtp MessageParser: nested multipart, name= only, and a body without blank line") {
    const std::string msg =
        "Subject: nested\n"
        "Content-Type: multipart/mixed; boundary=outer\n"
        "\n"
        "--outer\n"
        "Content-Type: multipart/alternative; boundary=\"outer-inner\"\n"
        "\n"
        "--outer-inner\n"
        "Content-Type: text/plain\n"
        "\n"
        "Content-Type: text/plain; name=\"not-a-header.txt\"\n"
        "--outer-inner--\n"
        "--outer\n"
        "Content-Type: application/x-msdownload; name=\"bot.exe\"\n"
        "\n"
        "MZ\n"
        "--outer--\n";
    MessageParser p;
    p.feed(bytes(msg));
    auto s = p.finish();
    CHECK(s.headers.subject == "nested");
    CHECK(s.attachments == std::vector<std::string>{"bot.exe"});

    MessageParser q;
    q.feed(bytes("Subject: hi\r\nthis line is no header\r\nFrom: not@header\r\n"));
    auto t = q.finish();
    CHECK(t.headers.subject == "hi");
    CHECK(t.headers.from.empty());
    CHECK(t.header_count == 1);
}

TEST_CASE("smtp MessageParser bounds attachments and header values") {
    std::string msg = "Subject: " + std::string(5000, 's') + "\r\n" +
                      "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
    for (std::size_t i = 0; i < kMaxAttachments + 5; ++i)
        msg += "--b\r\nContent-Disposition: attachment; filename=f" + std::to_string(i) +
               ".exe\r\n\r\nx\r\n";
    msg += "--b--\r\n";
    MessageParser p;
    p.feed(bytes(msg));
    auto s = p.finish();
    CHECK(s.truncated);
    CHECK(s.headers.subject.size() == kMaxHeaderValue);
    CHECK(s.attachments.size() == kMaxAttachments);
    CHECK(s.attachments_dropped == 5);
    CHECK(s.attachments.front() == "f0.exe");
}

// ---- probe ----

TEST_CASE("smtp probe") {
    auto run = [](std::string_view orig, std::string_view resp) {
        ProbeInput in{bytes(orig), bytes(resp), nullptr};
        return probe(in);
    };
    CHECK(run("", "") == ProbeResult::kNeedMore);
    CHECK(run("", "220 mx.example.net ESMTP Postfix\r\n") == ProbeResult::kMatch);
    CHECK(run("", "220-xc90.websitewelcome.com ESMTP Exim 4.69 #1\r\n") == ProbeResult::kMatch);
    CHECK(run("", "220 host ready\r\n") == ProbeResult::kNeedMore);
    CHECK(run("EHLO GP\r\n", "220 host ready\r\n") == ProbeResult::kMatch);
    CHECK(run("helo x\r\n", "220 host ready\r\n") == ProbeResult::kMatch);
    CHECK(run("EHL", "220 host ready\r\n") == ProbeResult::kNeedMore);
    CHECK(run("EHLO GP\r\n", "") == ProbeResult::kMatch);
    CHECK(run("EHLO", "") == ProbeResult::kNeedMore);
    CHECK(run("", "22") == ProbeResult::kNeedMore);
    // FTP servers greet with 220 too.
    CHECK(run("", "220 ProFTPD 1.3.5 Server\r\n") == ProbeResult::kNoMatch);
    CHECK(run("", "220-FileZilla Server 0.9.60 beta\r\n") == ProbeResult::kNoMatch);
    CHECK(run("USER anonymous\r\n", "220 host ready\r\n") == ProbeResult::kNoMatch);
    CHECK(run("AUTH TLS\r\n", "220 host ready\r\n") == ProbeResult::kNoMatch);
    CHECK(run("USER x\r\n", "220 mail.example.com ESMTP\r\n") == ProbeResult::kNoMatch);
    // Both words in the banner: wait for the client.
    CHECK(run("", "220 mail.example.com FTP server ready\r\n") == ProbeResult::kNeedMore);
    CHECK(run("EHLO a\r\n", "220 mail.example.com FTP server ready\r\n") == ProbeResult::kMatch);
    // A client saying something else to a server that names itself SMTP: still SMTP.
    CHECK(run("GET / HTTP/1.0\r\n", "220 mx ESMTP\r\n") == ProbeResult::kMatch);
    CHECK(run("GET / HTTP/1.0\r\n", "220 host ready\r\n") == ProbeResult::kNoMatch);
    // Other protocols.
    CHECK(run("NICK bot\r\nUSER a b c :d\r\n", "") == ProbeResult::kNoMatch);
    CHECK(run("NICK bot\r\n", ":irc.example NOTICE AUTH :hi\r\n") == ProbeResult::kNoMatch);
    CHECK(run("GET / HTTP/1.1\r\n", "") == ProbeResult::kNoMatch);
    CHECK(run("", "HTTP/1.1 200 OK\r\n") == ProbeResult::kNoMatch);
    CHECK(run("", "SSH-2.0-OpenSSH\r\n") == ProbeResult::kNoMatch);
    CHECK(run("", "200 mx ESMTP\r\n") == ProbeResult::kMatch);
    CHECK(run("", "120 ready soon\r\n") == ProbeResult::kNoMatch);
    CHECK(run("EHLO x\r\n", "554 go away\r\n") == ProbeResult::kMatch);
}

// ---- analyzer ----

TEST_CASE("smtp analyzer: a bot's authenticated, pipelined delivery") {
    Harness h;
    for (const auto& t : bot_script())
        h.feed(t.dir, t.text);
    check_bot_session(h.end(), h.weirds);
    CHECK(h.result.sessions_seen == 1);
    CHECK(h.result.messages_seen == 1);
    CHECK(h.result.messages_stored == 1);
    CHECK(h.result.recipients_seen == 2);
}

TEST_CASE("smtp analyzer: every split position of every turn gives the same facts") {
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
        const SmtpSession& s = h.end();
        REQUIRE(s.messages.size() == 1);
        CHECK(s.messages[0].md5 == botscope::util::md5_hex(bytes(kContent)));
        CHECK(s.auth[0].user == "bot@example.org");
        CHECK(s.messages[0].recipients[1].reply == 550);
        CHECK(h.weirds.entries().empty());
        if (s.messages[0].md5 != botscope::util::md5_hex(bytes(kContent))) {
            FAIL("split at " << split);
            break;
        }
    }
}

TEST_CASE("smtp analyzer: byte-at-a-time delivery") {
    Harness h;
    for (const auto& t : bot_script())
        for (char c : t.text)
            h.feed(t.dir, std::string_view(&c, 1));
    check_bot_session(h.end(), h.weirds);
}

TEST_CASE("smtp analyzer: the replayed probe window order (client before server) still pairs") {
    // The engine may hand over the client's buffered bytes before the server's.
    Harness h;
    h.client("EHLO a\r\nMAIL FROM:<s@x>\r\nRCPT TO:<r@y>\r\nQUIT\r\n");
    h.server("220 mx ESMTP\r\n250 mx\r\n250 ok\r\n551 no relay\r\n221 bye\r\n");
    const auto& s = h.end();
    CHECK(s.banner == "mx ESMTP");
    REQUIRE(s.messages.size() == 1);
    CHECK(s.messages[0].recipients[0].reply == 551);
    CHECK(s.messages[0].status == MessageStatus::kAborted);
}

TEST_CASE("smtp analyzer: dot-stuffing, bare LF, RSET and several messages") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("HELO spambot\r\n");
    h.server("250 hi\r\n");
    h.client("MAIL FROM:<a@x>\r\n");
    h.server("250 ok\r\n");
    h.client("RSET\r\n");
    h.server("250 reset\r\n");
    h.client("MAIL FROM:<>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    h.server("250 ok\r\n250 ok\r\n354 go\r\n");
    h.client("Subject: one\n\n..dot\n...\n.\n");
    h.server("250 queued\r\n");
    h.client("MAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nDATA\r\n");
    h.server("250 ok\r\n250 ok\r\n354 go\r\n");
    h.client("Subject: two\r\n\r\nbody\r\n.\r\n");
    h.server("452 mailbox full\r\n");
    h.client("QUIT\r\n");
    const auto& s = h.end();
    CHECK(s.helo_command == "HELO");
    CHECK(s.helo == "spambot");
    REQUIRE(s.messages.size() == 3);
    CHECK(s.messages[0].status == MessageStatus::kAborted);
    CHECK_FALSE(s.messages[0].data);
    CHECK(s.messages[1].mail_from.empty());
    CHECK(s.messages[1].status == MessageStatus::kDelivered);
    CHECK(s.messages[1].headers.subject == "one");
    const std::string unstuffed = "Subject: one\n\n.dot\n..\n";
    CHECK(s.messages[1].size == unstuffed.size());
    CHECK(s.messages[1].md5 == botscope::util::md5_hex(bytes(unstuffed)));
    CHECK(s.messages[2].status == MessageStatus::kRejected);
    CHECK(s.messages[2].reply == 452);
    CHECK(s.messages[2].reply_text == "mailbox full");
    CHECK(s.messages_seen == 3);
    CHECK(s.quit);
}

TEST_CASE("smtp analyzer: DATA refused before content leaves data mode") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    h.server("250 hi\r\n250 ok\r\n550 unknown\r\n554 no valid recipients\r\n");
    h.client("QUIT\r\n");
    h.server("221 bye\r\n");
    const auto& s = h.end();
    REQUIRE(s.messages.size() == 1);
    CHECK(s.messages[0].status == MessageStatus::kRejected);
    CHECK(s.messages[0].data_reply == 554);
    CHECK_FALSE(s.messages[0].data);
    CHECK(s.quit);
    CHECK(s.commands.back().command == "QUIT");
    CHECK(s.commands.back().reply == 221);
}

TEST_CASE("smtp analyzer: AUTH PLAIN on the line and on the next line; bad base64") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\n");
    h.server("250 mx\r\n");
    h.client("AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
    h.server("535 bad credentials\r\n");
    h.client("AUTH PLAIN\r\n");
    h.server("334 \r\n");
    h.client("YWRtaW4AYWxpY2UAczNjcmV0\r\n");
    h.server("235 ok\r\n");
    h.client("AUTH LOGIN\r\n");
    h.server("334 VXNlcm5hbWU6\r\n");
    h.client("@@@not base64@@@\r\n");
    h.server("334 UGFzc3dvcmQ6\r\n");
    h.client("c2VjcmV0\r\n");
    h.server("535 no\r\n");
    h.client("AUTH CRAM-MD5\r\n");
    h.server("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
    h.client("Ym9iIDAxMjM0NTY3ODlhYmNkZWY=\r\n");
    h.server("235 ok\r\n");
    h.client("MAIL FROM:<alice@x>\r\n");
    h.server("250 ok\r\n");
    const auto& s = h.end();
    REQUIRE(s.auth.size() == 4);
    CHECK(s.auth[0].mechanism == "PLAIN");
    CHECK(s.auth[0].user == "alice");
    CHECK(s.auth[0].reply == 535);
    CHECK(s.auth[1].user == "alice");
    CHECK(s.auth[1].reply == 235);
    CHECK(s.auth[2].mechanism == "LOGIN");
    CHECK(s.auth[2].user.empty());
    CHECK(s.auth[3].mechanism == "CRAM-MD5");
    CHECK(s.auth[3].user == "bob");
    CHECK(h.weirds.count("smtp_bad_base64") == 1);
    // The initial response never reaches the command log.
    CHECK(s.commands[1].arg == "PLAIN");
    for (const auto& c : s.commands)
        CHECK(c.arg.find("AGFsaWNl") == std::string::npos);
    REQUIRE(s.messages.size() == 1);
    CHECK(s.messages[0].mail_from == "alice@x");
    CHECK(s.messages[0].mail_from_reply == 250);
}

TEST_CASE("smtp analyzer: STARTTLS accepted stops parsing") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\n");
    h.server("250-mx\r\n250 STARTTLS\r\n");
    h.client("STARTTLS\r\n");
    h.server(raw("220 go ahead\r\n\x16\x03\x03\x00\x10"));
    h.client(raw("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\nMAIL FROM:<x@y>\r\n"));
    h.server(raw("\x17\x03\x03\x00\x05hello\r\n"));
    const auto& s = h.end();
    CHECK(s.starttls);
    CHECK(s.tls);
    CHECK(s.messages.empty());
    CHECK(s.invalid_lines == 0);
    CHECK(s.commands.size() == 2);
    CHECK(s.commands[1].reply == 220);
    CHECK(h.weirds.entries().empty());
}

TEST_CASE("smtp analyzer: STARTTLS refused, the session goes on in clear") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\nSTARTTLS\r\n");
    h.server("250 mx\r\n454 TLS not available\r\n");
    h.client("MAIL FROM:<x@y>\r\n");
    h.server("250 ok\r\n");
    const auto& s = h.end();
    CHECK(s.starttls);
    CHECK_FALSE(s.tls);
    REQUIRE(s.messages.size() == 1);
    CHECK(s.messages[0].mail_from_reply == 250);
}

TEST_CASE("smtp analyzer: BDAT chunks carry raw bytes") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n");
    h.server("250-mx\r\n250 CHUNKING\r\n250 ok\r\n250 ok\r\n");
    const std::string part1 = "Subject: chunked\r\n\r\n.\r\nQUIT\r\n";  // not commands
    const std::string part2 = "tail";
    h.client("BDAT " + std::to_string(part1.size()) + "\r\n" + part1);
    h.client("BDAT " + std::to_string(part2.size()) + " LAST\r\n" + part2);
    h.server("250 chunk\r\n250 delivered\r\n");
    h.client("QUIT\r\n");
    const auto& s = h.end();
    REQUIRE(s.messages.size() == 1);
    const auto& m = s.messages[0];
    CHECK(m.headers.subject == "chunked");
    CHECK(m.size == part1.size() + part2.size());
    CHECK(m.md5 == botscope::util::md5_hex(bytes(part1 + part2)));
    CHECK(m.status == MessageStatus::kDelivered);
    CHECK(m.reply == 250);
    CHECK(s.invalid_lines == 0);
    CHECK(s.quit);
}

TEST_CASE("smtp analyzer: a gap inside DATA drops the hashes; a lost dot ends at the reply") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    h.server("250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    h.client("Subject: gap\r\n\r\nfirst part");
    h.analyzer->on_gap(Direction::kOrig, 500, 1002 * kSec);
    h.client("rest of a line\r\n.\r\n");
    // The dot line after the gap-cut line still ends the message.
    h.server("250 ok\r\n");
    h.client("MAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nDATA\r\n");
    h.server("250 ok\r\n250 ok\r\n354 go\r\n");
    h.client("Subject: lost dot\r\n\r\nbody\r\n");
    h.analyzer->on_gap(Direction::kOrig, 3, 1003 * kSec);  // ".\r\n" never captured
    h.server("250 queued\r\n");
    h.client("QUIT\r\n");
    h.server("221 bye\r\n");
    const auto& s = h.end();
    REQUIRE(s.messages.size() == 2);
    CHECK(s.messages[0].gaps);
    CHECK(s.messages[0].md5.empty());
    CHECK(s.messages[0].headers.subject == "gap");
    CHECK(s.messages[0].status == MessageStatus::kDelivered);
    CHECK(s.messages[1].gaps);
    CHECK(s.messages[1].status == MessageStatus::kDelivered);
    CHECK(s.messages[1].reply_text == "queued");
    CHECK(s.quit);
    CHECK(s.commands.back().reply == 221);
    CHECK(h.weirds.count("smtp_data_gap") == 2);
}

TEST_CASE("smtp analyzer: a server gap mid-reply does not derail later replies") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\n");
    h.server("250-mx\r\n250-PIPEL");
    h.analyzer->on_gap(Direction::kResp, 20, 1002 * kSec);
    h.server("INING\r\n250 HELP\r\n");
    h.client("NOOP\r\n");
    h.server("250 ok\r\n");
    const auto& s = h.end();
    REQUIRE(s.commands.size() == 2);
    CHECK(s.commands[0].reply == 250);
    CHECK(s.commands[1].reply == 250);
}

TEST_CASE("smtp analyzer: over-long command line") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\n");
    h.server("250 mx\r\n");
    h.client("MAIL FROM:<" + std::string(kMaxLineLength * 2, 'a') + ">\r\nNOOP\r\n");
    h.server("500 line too long\r\n250 ok\r\n");
    const auto& s = h.end();
    CHECK(h.weirds.count("smtp_line_too_long") == 1);
    CHECK(s.messages.empty());
    REQUIRE(s.commands.size() == 2);
    CHECK(s.commands[1].command == "NOOP");
    CHECK(s.commands[1].reply == 250);
    CHECK(s.invalid_lines == 0);
}

TEST_CASE("smtp analyzer: out of sequence and malformed commands") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\nRCPT TO:<x@y>\r\nMAIL <x@y>\r\nBDAT lots\r\nFOO bar\r\nXCLIENT ADDR=1\r\n");
    h.server("250 mx\r\n503 need MAIL\r\n501 syntax\r\n501 syntax\r\n500 unknown\r\n250 ok\r\n");
    h.server("250 surprise\r\n");
    const auto& s = h.end();
    CHECK(h.weirds.count("smtp_command_out_of_sequence") == 1);
    CHECK(h.weirds.count("smtp_bad_path") == 1);
    CHECK(h.weirds.count("smtp_bad_bdat") == 1);
    CHECK(h.weirds.count("smtp_invalid_command") == 1);
    CHECK(h.weirds.count("smtp_unexpected_reply") == 1);
    CHECK(s.invalid_lines == 1);
    CHECK(s.recipients_seen == 1);
    CHECK(s.messages.empty());
    CHECK(s.commands.back().reply == 250);
}

TEST_CASE("smtp analyzer: weirds wait for confirmation, and it gives up on garbage") {
    Harness h;
    h.server("220 hello\r\n");
    for (int i = 0; i < 30; ++i)
        h.client("\x01\x02garbage line\r\n");
    CHECK(h.analyzer->gave_up());
    const auto& s = h.end();
    CHECK(s.gave_up);
    CHECK(s.invalid_lines == kMaxInvalidLines);
    CHECK(h.weirds.entries().empty());  // never confirmed as SMTP
}

TEST_CASE("smtp analyzer: recipient and message limits") {
    Harness h;
    h.server("220 mx ESMTP\r\n");
    h.client("EHLO a\r\n");
    h.server("250 mx\r\n");
    std::string client = "MAIL FROM:<spam@x>\r\n";
    std::string server = "250 ok\r\n";
    for (std::size_t i = 0; i < kMaxRecipientsPerMessage + 10; ++i) {
        client += "RCPT TO:<v" + std::to_string(i) + "@y>\r\n";
        server += "250 ok\r\n";
    }
    client += "RSET\r\n";
    server += "250 reset\r\n";
    for (std::size_t i = 0; i < kMaxMessagesPerSession + 5; ++i) {
        client += "MAIL FROM:<spam@x>\r\nRCPT TO:<w@y>\r\nDATA\r\nSubject: s\r\n\r\nbuy\r\n.\r\n";
        server += "250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n";
    }
    h.client(client);
    h.server(server);
    const auto& s = h.end();
    CHECK(s.messages.size() == kMaxMessagesPerSession);
    CHECK(s.messages_seen == kMaxMessagesPerSession + 6);
    CHECK(s.messages_dropped == 6);
    CHECK(s.messages[0].recipients.size() == kMaxRecipientsPerMessage);
    CHECK(s.messages[0].recipients_dropped == 10);
    CHECK(s.messages[0].recipients.back().reply == 250);
    CHECK(s.messages[1].status == MessageStatus::kDelivered);
    CHECK(s.messages.back().status == MessageStatus::kDelivered);
    CHECK(h.weirds.count("smtp_too_many_recipients") == 1);
    CHECK(h.weirds.count("smtp_message_limit") == 1);
    CHECK(h.result.messages_dropped == 6);
    CHECK(h.result.messages_seen == kMaxMessagesPerSession + 6);
}

TEST_CASE("smtp analyzer: the per-result message limit") {
    Weirds weirds;
    SmtpResult result;
    AnalyzerContext ctx{test_flow(), &weirds};
    const std::size_t sessions = kMaxMessagesPerResult / kMaxMessagesPerSession + 1;
    std::string client = "EHLO a\r\n";
    std::string server = "220 mx ESMTP\r\n250 mx\r\n";
    for (std::size_t i = 0; i < kMaxMessagesPerSession; ++i) {
        client += "MAIL FROM:<spam@x>\r\n";
        server += "250 ok\r\n";
    }
    for (std::size_t i = 0; i < sessions; ++i) {
        SmtpAnalyzer a(ctx, result);
        a.on_data(Direction::kResp, bytes(server), 1);
        a.on_data(Direction::kOrig, bytes(client), 1);
        a.on_end(2);
    }
    CHECK(result.sessions.size() == sessions);
    CHECK(result.messages_stored == kMaxMessagesPerResult);
    CHECK(result.messages_dropped == kMaxMessagesPerSession);
    CHECK(result.sessions.back().messages.empty());
    CHECK(result.messages_seen == sessions * kMaxMessagesPerSession);
}

TEST_CASE("smtp analyzer: a missing greeting, unterminated last line, no reply at all") {
    Harness h;
    h.client("EHLO late\r\n");
    h.server("250-mx\r\n250 SIZE 100\r\n");
    h.client("MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    h.server("250 ok\r\n250 ok\r\n354 go\r\n");
    h.client("Subject: cut\r\n\r\npartial body");
    h.analyzer->on_eof(Direction::kOrig, 1005 * kSec);
    const auto& s = h.end();
    CHECK(s.banner_code == 0);
    CHECK(s.extensions == std::vector<std::string>{"SIZE 100"});
    REQUIRE(s.messages.size() == 1);
    CHECK(s.messages[0].status == MessageStatus::kIncomplete);
    CHECK_FALSE(s.messages[0].data_complete);
    CHECK(s.messages[0].headers.subject == "cut");
    CHECK(s.messages[0].size == std::string("Subject: cut\r\n\r\npartial body").size());
}

TEST_CASE("smtp analyzer: hostile input never breaks it") {
    // Deterministic pseudo-random bytes mixed with protocol fragments, in odd pieces.
    std::uint32_t x = 2463534242u;
    auto rnd = [&] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    };
    const std::string_view pieces[] = {
        "220 ",     "EHLO x\r\n",           "DATA\r\n", ".\r\n", "354 go\r\n", "AUTH PLAIN\r\n",
        "334 \r\n", "BDAT 99999999999\r\n", "\r\n",     "-",     "250-"};
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

TEST_CASE("smtp weird table names are unique and prefixed") {
    for (std::size_t i = 0; i < kWeirds.size(); ++i) {
        CHECK(kWeirds[i].name.substr(0, 5) == "smtp_");
        CHECK_FALSE(kWeirds[i].description.empty());
        for (std::size_t j = i + 1; j < kWeirds.size(); ++j)
            CHECK(kWeirds[i].name != kWeirds[j].name);
    }
}

}  // namespace test_smtp
