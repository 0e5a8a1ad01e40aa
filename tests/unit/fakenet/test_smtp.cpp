#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "fakenet/smtp_sink.h"
#include "memory_recorder.h"
#include "util/byte_reader.h"
#include "util/hash.h"

namespace botscope::fakenet::test_smtp {

using testing::MemoryRecorder;
using testing::keys;

namespace {

const ConnInfo kConn{9, {0x0A42000Au, 1040}, {0x0A420063u, 25}};

/// One SMTP connection driven by the test.
struct Client {
    MemoryRecorder rec;
    SmtpConfig config;
    std::unique_ptr<TcpSession> session;
    std::string banner;
    bool closed = false;

    explicit Client(SmtpConfig c = {}) : config(std::move(c)) {
        session = make_smtp_session(kConn, config, rec);
        Output out;
        session->on_open(0, out);
        banner = out.data;
    }
    /// Sends `data` (in pieces of `piece` bytes, 0 for all at once) and returns the replies.
    std::string send(std::string_view data, std::size_t piece = 0) {
        std::string replies;
        while (!data.empty()) {
            const std::size_t n = piece == 0 ? data.size() : std::min(piece, data.size());
            Output out;
            session->on_data(data.substr(0, n), 0, out);
            CHECK(session->buffered() <= smtp_buffer_bound(config));
            replies += out.data;
            closed = closed || out.close;
            data.remove_prefix(n);
        }
        return replies;
    }
    std::vector<Json> mails() const { return rec.of("smtp"); }
};

std::vector<std::string> lines(const std::string& replies) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < replies.size()) {
        auto end = replies.find("\r\n", start);
        REQUIRE(end != std::string::npos);
        out.push_back(replies.substr(start, end - start));
        start = end + 2;
    }
    return out;
}

/// Reply codes, one per final line (multi-line replies count once).
std::vector<int> codes(const std::string& replies) {
    std::vector<int> out;
    for (const auto& l : lines(replies))
        if (l.size() < 4 || l[3] != '-')
            out.push_back(std::stoi(l.substr(0, 3)));
    return out;
}

const std::string kSession =
    "EHLO bot.local\r\n"
    "AUTH LOGIN\r\n"
    "dXNlckBleGFtcGxlLmNvbQ==\r\n"  // user@example.com
    "c2VjcmV0\r\n"                  // secret
    "MAIL FROM:<spam@bot.local>\r\n"
    "RCPT TO:<a@victim.test>\r\n"
    "RCPT TO:<b@victim.test>\r\n"
    "DATA\r\n"
    "From: spam@bot.local\r\n"
    "Subject: Cheap meds\r\n"
    "\r\n"
    "..leading dot line\r\n"
    ".\r\n"
    "QUIT\r\n";

// What the message is after dot-unstuffing.
const std::string kMessage =
    "From: spam@bot.local\r\n"
    "Subject: Cheap meds\r\n"
    "\r\n"
    ".leading dot line\r\n";

}  // namespace

TEST_CASE("smtp: a whole dialogue, pipelined, in one read or one byte at a time") {
    for (std::size_t piece : {0, 1, 7}) {
        CAPTURE(piece);
        Client c;
        CHECK(c.banner == "220 mail.sandbox.test ESMTP\r\n");
        const std::string replies = c.send(kSession, piece);
        CHECK(lines(replies) == std::vector<std::string>{
                                    "250-mail.sandbox.test",
                                    "250-SIZE",
                                    "250-8BITMIME",
                                    "250-PIPELINING",
                                    "250-AUTH PLAIN LOGIN CRAM-MD5",
                                    "250 HELP",
                                    "334 VXNlcm5hbWU6",
                                    "334 UGFzc3dvcmQ6",
                                    "235 Authentication successful",
                                    "250 Ok",
                                    "250 Ok",
                                    "250 Ok",
                                    "354 End data with <CR><LF>.<CR><LF>",
                                    "250 Ok: queued as 1",
                                    "221 mail.sandbox.test Bye",
                                });
        CHECK(c.closed);
        REQUIRE(c.mails().size() == 1);
        const Json m = c.mails()[0];
        CHECK(keys(m) == std::vector<std::string>{"conn", "client", "server", "helo", "auth_user",
                                                  "mail_from", "rcpt", "subject", "size", "sha256",
                                                  "truncated", "stored"});
        CHECK(m["conn"] == 9);
        CHECK(m["client"] == "10.66.0.10:1040");
        CHECK(m["server"] == "10.66.0.99:25");
        CHECK(m["helo"] == "bot.local");
        CHECK(m["auth_user"] == "user@example.com");
        CHECK(m["mail_from"] == "spam@bot.local");
        CHECK(m["rcpt"] == Json::array({"a@victim.test", "b@victim.test"}));
        CHECK(m["subject"] == "Cheap meds");
        CHECK(m["size"] == kMessage.size());
        CHECK(m["sha256"] == util::sha256_hex(util::as_bytes(kMessage)));
        CHECK(m["truncated"] == false);
        CHECK(m["stored"] == "mail/001.eml");
        REQUIRE(c.rec.messages.size() == 1);
        CHECK(c.rec.messages[0] == kMessage);
        // Nothing is read after QUIT.
        CHECK(c.send("NOOP\r\n").empty());
    }
}

TEST_CASE("smtp: AUTH PLAIN and CRAM-MD5, with and without an initial response") {
    {
        Client c;
        // "\0bot\0pw"
        CHECK(codes(c.send("EHLO x\r\nAUTH PLAIN AGJvdABwdw==\r\n")) == std::vector<int>{250, 235});
        c.send("MAIL FROM:<>\r\nRCPT TO:<x@y>\r\nDATA\r\n.\r\n");
        REQUIRE(c.mails().size() == 1);
        CHECK(c.mails()[0]["auth_user"] == "bot");
        CHECK(c.mails()[0]["mail_from"] == "");
        CHECK(c.mails()[0]["subject"].is_null());
        CHECK(c.mails()[0]["size"] == 0);
    }
    {
        Client c;
        CHECK(c.send("AUTH PLAIN\r\n") == "334 \r\n");
        CHECK(c.send("AGJvdABwdw==\r\n") == "235 Authentication successful\r\n");
        CHECK(codes(c.send("AUTH PLAIN AGJvdABwdw==\r\n")) == std::vector<int>{503});
    }
    {
        Client c;
        CHECK(c.send("AUTH CRAM-MD5\r\n") == "334 PDE4OTYuNjk3MTcwOTUyQHNhbmRib3gudGVzdD4=\r\n");
        // "joe 3dbc88f0624776a737b39093f6eb6427"
        c.send("am9lIDNkYmM4OGYwNjI0Nzc2YTczN2IzOTA5M2Y2ZWI2NDI3\r\n");
        c.send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\n");
        CHECK(c.mails().at(0)["auth_user"] == "joe");
    }
    {
        Client c;
        CHECK(codes(c.send("AUTH LOGIN\r\n*\r\n")) == std::vector<int>{334, 501});
        CHECK(codes(c.send("AUTH KERBEROS_V4\r\n")) == std::vector<int>{504});
        // Any payload is accepted; a user that does not decode is simply not known.
        CHECK(codes(c.send("AUTH LOGIN !!!notbase64\r\nwhatever\r\n")) ==
              std::vector<int>{334, 235});
        c.send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n.\r\n");
        CHECK(c.mails().at(0)["auth_user"].is_null());
        CHECK(c.mails().at(0)["helo"].is_null());
    }
}

TEST_CASE("smtp: sequence errors, unknown and unsupported commands") {
    Client c;
    CHECK(codes(c.send("RCPT TO:<a@b>\r\n")) == std::vector<int>{503});
    CHECK(codes(c.send("DATA\r\n")) == std::vector<int>{503});
    CHECK(codes(c.send("MAIL FROM:<a@b>\r\nMAIL FROM:<c@d>\r\n")) == std::vector<int>{250, 503});
    CHECK(codes(c.send("DATA\r\n")) == std::vector<int>{503});  // no recipient yet
    CHECK(codes(c.send("MAIL FROM a@b\r\n")) == std::vector<int>{503});
    CHECK(codes(c.send("RSET\r\nMAIL FROM a@b\r\n")) == std::vector<int>{250, 501});
    CHECK(codes(c.send("MAIL FROM:<a@b>\r\nRCPT <x>\r\n")) == std::vector<int>{250, 501});
    CHECK(codes(c.send("RSET\r\nRCPT TO:<x@y>\r\n")) == std::vector<int>{250, 503});
    CHECK(codes(c.send("NOOP\r\nVRFY root\r\nHELP\r\n")) == std::vector<int>{250, 252, 214});
    CHECK(codes(c.send("STARTTLS\r\nEXPN list\r\nXFOO\r\nFROB\r\n\r\n")) ==
          std::vector<int>{502, 502, 500, 500, 500});
    CHECK(codes(c.send("HELO x\r\n")) == std::vector<int>{250});
    CHECK_FALSE(c.closed);
    CHECK(c.mails().empty());
}

TEST_CASE("smtp: an over-long line is refused and skipped to its end") {
    Client c;
    // The tail of the long line holds a QUIT that must not be obeyed.
    const std::string longline = std::string(kSmtpMaxLine + 10, 'A') + "QUIT\r\n";
    CHECK(lines(c.send(longline)) == std::vector<std::string>{"500 Line too long"});
    CHECK_FALSE(c.closed);
    CHECK(c.session->buffered() <= kSmtpMaxLine);
    // Much longer, a byte at a time, then a normal command is answered.
    const std::string huge = std::string(3 * kSmtpMaxLine, 'B') + "\r\nNOOP\r\n";
    CHECK(codes(c.send(huge, 1)) == std::vector<int>{500, 250});
    // A line of exactly the limit (its CR included) is still a command; one more byte is not.
    const std::string edge = "NOOP " + std::string(kSmtpMaxLine - 6, 'x');
    CHECK(codes(c.send(edge + "\r\n")) == std::vector<int>{250});
    CHECK(codes(c.send(edge + "y\r\n")) == std::vector<int>{500});
}

TEST_CASE("smtp: junk earns 20 errors, then 421 and close") {
    Client c;
    std::string junk;
    for (int i = 0; i < 50; ++i)
        junk += std::string("\x90\x90\xeb\x1f\x00\xff\r\n", 8);
    const auto got = codes(c.send(junk));
    REQUIRE(got.size() == kSmtpMaxErrors);
    for (std::size_t i = 0; i + 1 < got.size(); ++i)
        CHECK(got[i] == 500);
    CHECK(got.back() == 421);
    CHECK(c.closed);
}

TEST_CASE("smtp: limits on recipients, message size and messages") {
    SmtpConfig cfg;
    cfg.max_recipients = 2;
    cfg.max_message_bytes = 20;
    cfg.max_messages = 2;
    Client c(cfg);
    CHECK(codes(c.send("HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@x>\r\nRCPT TO:<2@x>\r\n"
                       "RCPT TO:<3@x>\r\n")) == std::vector<int>{250, 250, 250, 250, 452});
    const std::string body = "Subject: hi\r\n\r\nbody past the kept bytes\r\n";
    CHECK(codes(c.send("DATA\r\n" + body + ".\r\n")) == std::vector<int>{354, 250});
    auto m = c.mails().at(0);
    CHECK(m["rcpt"].size() == 2);
    CHECK(m["size"] == body.size());
    CHECK(m["truncated"] == true);
    CHECK(m["sha256"] == util::sha256_hex(util::as_bytes(body.substr(0, 20))));
    CHECK(c.rec.messages.at(0) == body.substr(0, 20));
    CHECK(m["subject"] == "hi");

    CHECK(codes(c.send("MAIL FROM:<a@b>\r\nRCPT TO:<1@x>\r\nDATA\r\nx\r\n.\r\n")) ==
          std::vector<int>{250, 250, 354, 250});
    CHECK(c.mails().size() == 2);
    CHECK(c.mails()[1]["stored"] == "mail/002.eml");
    CHECK(codes(c.send("MAIL FROM:<a@b>\r\n")) == std::vector<int>{421});
    CHECK(c.closed);
}

TEST_CASE("smtp: the recorder's full store gives a null \"stored\"") {
    Client c;
    c.rec.keep_messages = 0;
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n");
    CHECK(c.mails().at(0)["stored"].is_null());
}

TEST_CASE("smtp: DATA ends on bare-LF lines too, and dots are unstuffed only at line start") {
    Client c;
    c.send("MAIL FROM:<a@b>\n");
    c.send("RCPT TO:<c@d>\n");
    const std::string replies = c.send("DATA\nline one\n..two\nthree . four\n.\r\r\n.\nNOOP\n");
    CHECK(codes(replies) == std::vector<int>{354, 250, 250});
    CHECK(c.rec.messages.at(0) == "line one\n.two\nthree . four\n\r\r\n");
}

TEST_CASE("smtp: a message left open is not recorded") {
    Client c;
    c.send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nhalf a mess");
    c.session->on_close(0);
    CHECK(c.mails().empty());
}

TEST_CASE("smtp: binary wire text is escaped in the record") {
    Client c;
    c.send(
        std::string("HELO \xC3\x28\x01\r\nMAIL FROM:<\xff@x>\r\nRCPT TO:<y@z>\r\n"
                    "DATA\r\nSubject: \xfe\r\n\r\n.\r\n"));
    auto m = c.mails().at(0);
    CHECK(m["helo"] == "\\xc3(\\x01");
    CHECK(m["mail_from"] == "\\xff@x");
    CHECK(m["subject"] == "\\xfe");
    CHECK_NOTHROW((void)m.dump());
}

}  // namespace botscope::fakenet::test_smtp
