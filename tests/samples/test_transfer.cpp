// The pure halves of the spam run (messages, the SMTP dialogue) and of the downloads (HTTP
// responses, the TFTP receiver).

#include <doctest/doctest.h>

#include "analysis/proto/tftp/tftp_parser.h"
#include "fetch.h"
#include "smtp.h"
#include "util/byte_reader.h"

namespace botscope::botemu::test_transfer {

namespace {

MailMessage example() {
    return spam_message(0, {"john@mail-a.test", "mary@mail-b.test"}, "12345.678", 0);
}

}  // namespace

TEST_CASE("smtp: ten recipient domains, distinct recipients") {
    auto d = spam_domains();
    REQUIRE(d.size() == 10);
    CHECK(d.front() == "mail-a.test");
    CHECK(d.back() == "mail-j.test");
    CHECK(spam_recipient(0, "mail-a.test") == "john@mail-a.test");
    CHECK(spam_recipient(1, "mail-b.test") == "mary@mail-b.test");
    CHECK(spam_recipient(12, "mail-c.test") == "john1@mail-c.test");
}

TEST_CASE("smtp: the message text") {
    std::string text = format_message(example());
    CHECK(
        text.starts_with("From: pharmacy@cheap-meds.botscope.test\r\n"
                         "To: john@mail-a.test, mary@mail-b.test\r\n"
                         "Subject: Cheap meds online\r\n"
                         "Message-ID: <12345.678.0@cheap-meds.botscope.test>\r\n"
                         "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    CHECK(text.find("\r\n\r\nBest prices") != std::string::npos);
    CHECK(text.find("\r\n....and much more!\r\n") != std::string::npos);  // dot-stuffed
    CHECK(text.ends_with("exists)\r\n.\r\n"));
    CHECK(text.find("\n\n") == std::string::npos);  // every line end is CR LF
    for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n')
            CHECK(text[i - 1] == '\r');
}

TEST_CASE("smtp: RFC 2822 dates without a time zone database") {
    CHECK(rfc2822_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
    CHECK(rfc2822_date(951782400) == "Tue, 29 Feb 2000 00:00:00 +0000");
    CHECK(rfc2822_date(1104537599) == "Fri, 31 Dec 2004 23:59:59 +0000");
    CHECK(rfc2822_date(1796572800) == "Sun, 06 Dec 2026 16:00:00 +0000");
    CHECK(rfc2822_date(-1) == "Wed, 31 Dec 1969 23:59:59 +0000");
}

TEST_CASE("smtp: reply lines") {
    CHECK(parse_reply_line("250 OK")->code == 250);
    CHECK(parse_reply_line("250-PIPELINING")->more);
    CHECK_FALSE(parse_reply_line("250 OK")->more);
    CHECK(parse_reply_line("354")->code == 354);
    for (const char* bad : {"", "25", "OK 250", "150 x", "600 x", "2500", "25a x", "250x"})
        CHECK_MESSAGE(!parse_reply_line(bad), std::string(bad));
}

TEST_CASE("smtp: a whole dialogue") {
    SmtpDialogue d("xp-12345", example());
    CHECK(d.on_reply(220) == "EHLO xp-12345\r\n");
    CHECK(d.on_reply(250) == "MAIL FROM:<pharmacy@cheap-meds.botscope.test>\r\n");
    CHECK(d.on_reply(250) == "RCPT TO:<john@mail-a.test>\r\n");
    CHECK(d.on_reply(250) == "RCPT TO:<mary@mail-b.test>\r\n");
    CHECK(d.on_reply(251) == "DATA\r\n");
    CHECK(d.on_reply(354) == format_message(example()));
    CHECK_FALSE(d.delivered());
    CHECK(d.on_reply(250) == "QUIT\r\n");
    CHECK(d.delivered());
    CHECK(d.accepted_recipients() == 2);
    CHECK(d.on_reply(221) == std::nullopt);
    CHECK(d.on_reply(221) == std::nullopt);
    CHECK(d.error().empty());
}

TEST_CASE("smtp: HELO after a refused EHLO, refused recipients, refusals") {
    SmtpDialogue helo("h", example());
    helo.on_reply(220);
    CHECK(helo.on_reply(502) == "HELO h\r\n");
    CHECK(helo.on_reply(250)->starts_with("MAIL FROM:"));
    helo.on_reply(250);                                             // RCPT 1
    CHECK(helo.on_reply(550) == "RCPT TO:<mary@mail-b.test>\r\n");  // 1 refused
    CHECK(helo.on_reply(250) == "DATA\r\n");
    helo.on_reply(354);
    helo.on_reply(250);
    CHECK(helo.delivered());
    CHECK(helo.accepted_recipients() == 1);

    SmtpDialogue nobody("h", example());
    nobody.on_reply(220);
    nobody.on_reply(250);
    nobody.on_reply(250);
    nobody.on_reply(550);
    CHECK(nobody.on_reply(550) == "QUIT\r\n");
    CHECK(nobody.error() == "every recipient refused");

    SmtpDialogue busy("h", example());
    CHECK(busy.on_reply(421) == "QUIT\r\n");
    CHECK(busy.error() == "connection refused with 421");
    CHECK_FALSE(busy.delivered());

    SmtpDialogue data("h", example());
    for (int code : {220, 250, 250, 250, 250})
        data.on_reply(static_cast<std::uint16_t>(code));
    CHECK(data.on_reply(554) == "QUIT\r\n");
    CHECK(data.error() == "DATA refused with 554");
}

TEST_CASE("http: the request and the response") {
    CHECK(build_get_request("update.botscope.test", 80, "/gate.php?id=12345&v=2") ==
          "GET /gate.php?id=12345&v=2 HTTP/1.0\r\nHost: update.botscope.test\r\n"
          "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n"
          "Accept: */*\r\nConnection: close\r\n\r\n");
    CHECK(build_get_request("10.66.0.1", 8080, "/").find("Host: 10.66.0.1:8080\r\n") !=
          std::string::npos);

    using S = HttpResponse::Status;
    std::string ok =
        "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
        "Content-Length: 4\r\n\r\nMZ\x90\x03";
    auto r = parse_http_response(util::as_bytes(ok), false);
    CHECK(r.status == S::kOk);
    CHECK(r.code == 200);
    CHECK(r.body.size() == 4);
    // Extra bytes past Content-Length are not part of the body.
    auto extra = parse_http_response(util::as_bytes(ok + "junk"), true);
    CHECK(extra.body.size() == 4);
    // Without Content-Length the body ends with the connection.
    std::string until_close = "HTTP/1.0 200 OK\n\nabc";
    CHECK(parse_http_response(util::as_bytes(until_close), false).status == S::kIncomplete);
    auto closed = parse_http_response(util::as_bytes(until_close), true);
    CHECK(closed.status == S::kOk);
    CHECK(util::as_chars(closed.body) == "abc");
    CHECK(parse_http_response(util::as_bytes("HTTP/1.0 404 Not Found\r\n\r\n"), true).code == 404);
}

TEST_CASE("http: broken responses") {
    using S = HttpResponse::Status;
    auto parse = [](std::string_view s, bool closed) {
        return parse_http_response(util::as_bytes(s), closed);
    };
    CHECK(parse("HTTP/1.0 200 OK\r\nContent-Le", false).status == S::kIncomplete);
    CHECK(parse("HTTP/1.0 200 OK\r\nContent-Le", true).error ==
          "connection closed inside the response header");
    CHECK(parse("", true).error == "connection closed before the status line");
    CHECK(parse("SSH-2.0-OpenSSH\r\n", true).error == "not an HTTP response");
    auto cut = parse("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc", true);
    CHECK(cut.error == "connection closed after 3 of 10 bytes");
    CHECK(cut.code == 200);  // a beacon still reports it
    CHECK(parse("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc", false).status ==
          S::kIncomplete);
    CHECK(parse("HTTP/1.0 200 OK\r\nContent-Length: x\r\n\r\n", true).error ==
          "bad Content-Length");
    CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", true).error ==
          "chunked response");
    std::string huge = "HTTP/1.0 200 OK\r\nX: " + std::string(kMaxHttpHeaderBytes, 'a');
    CHECK(parse(huge, false).error.starts_with("response header larger than"));
}

TEST_CASE("tftp: requests and acknowledgements") {
    auto rrq = build_tftp_rrq("bot.exe");
    auto p = analysis::tftp::parse_packet(rrq);
    REQUIRE(p.ok());
    CHECK(p.opcode == 1);
    CHECK(p.filename == "bot.exe");
    CHECK(p.mode == "octet");
    CHECK(build_tftp_ack(0x0102) == std::vector<std::uint8_t>{0, 4, 1, 2});
}

namespace {

std::vector<std::uint8_t> data_packet(std::uint16_t block, std::size_t size, std::uint8_t fill) {
    std::vector<std::uint8_t> p = {0, 3, static_cast<std::uint8_t>(block >> 8),
                                   static_cast<std::uint8_t>(block)};
    p.resize(4 + size, fill);
    return p;
}

}  // namespace

TEST_CASE("tftp: a transfer, with a repeated block and strays") {
    using Step = TftpReceiver::Step;
    TftpReceiver r;
    auto first = r.on_datagram(data_packet(1, 512, 'a'));
    CHECK(first.step == Step::kAck);
    CHECK(first.block == 1);
    auto again = r.on_datagram(data_packet(1, 512, 'a'));  // our ACK was lost
    CHECK(again.step == Step::kAck);
    CHECK(again.block == 1);
    CHECK(r.on_datagram(data_packet(3, 512, 'c')).step == Step::kIgnore);  // out of order
    CHECK(r.on_datagram(std::vector<std::uint8_t>{0, 4, 0, 1}).step == Step::kIgnore);  // an ACK
    CHECK(r.on_datagram(std::vector<std::uint8_t>{0, 9}).step == Step::kIgnore);        // junk
    CHECK(r.on_datagram(data_packet(2, 512, 'b')).step == Step::kAck);
    auto last = r.on_datagram(data_packet(3, 100, 'c'));
    CHECK(last.step == Step::kDone);
    CHECK(last.block == 3);
    CHECK(r.done());
    CHECK(r.data().size() == 1124);
    CHECK(r.data()[0] == 'a');
    CHECK(r.data()[1123] == 'c');
    CHECK(r.on_datagram(data_packet(4, 1, 'd')).step == Step::kIgnore);
}

TEST_CASE("tftp: errors, options, oversized blocks and files") {
    using Step = TftpReceiver::Step;
    TftpReceiver e;
    std::vector<std::uint8_t> error = {0, 5, 0, 1, 'n', 'o', 'p', 'e', 0};
    auto r = e.on_datagram(error);
    CHECK(r.step == Step::kFailed);
    CHECK(r.error == "TFTP error 1: nope");

    TftpReceiver o;
    CHECK(
        o.on_datagram(std::vector<std::uint8_t>{0, 6, 'b', 'l', 'k', 's', 'i', 'z', 'e', 0, '9', 0})
            .step == Step::kFailed);

    TftpReceiver big;
    CHECK(big.on_datagram(data_packet(1, 513, 'x')).step == Step::kFailed);

    TftpReceiver capped(1024);
    CHECK(capped.on_datagram(data_packet(1, 512, 'x')).step == Step::kAck);
    CHECK(capped.on_datagram(data_packet(2, 512, 'x')).step == Step::kAck);
    auto over = capped.on_datagram(data_packet(3, 1, 'x'));
    CHECK(over.step == Step::kFailed);
    CHECK(over.error == "file larger than 1 KB");
    CHECK(capped.data().size() == 1024);

    // A file of exactly the cap ends with an empty block.
    TftpReceiver exact(1024);
    exact.on_datagram(data_packet(1, 512, 'x'));
    exact.on_datagram(data_packet(2, 512, 'x'));
    CHECK(exact.on_datagram(data_packet(3, 0, 0)).step == Step::kDone);
}

}  // namespace botscope::botemu::test_transfer
