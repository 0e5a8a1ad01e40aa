// Spam runs on generated captures run through the real engine: servers, messages, recipients
// and domains (case-insensitive), top lists, MX lookups and whether they preceded each
// connection, the rate; a run's start whose connections mostly went unanswered, which is no
// port-25 scan; ordinary mail and a zero-duration capture as controls.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "analysis/detect/spam.h"
#include "analysis/engine.h"
#include "support/pcapgen.h"

namespace test_detect_spam {

using namespace botscope::analysis;
using botscope::analysis::detect::BehaviorResult;
using botscope::analysis::detect::Config;
using botscope::analysis::detect::detect_spam;
using botscope::analysis::detect::MailCounter;
using botscope::analysis::detect::SpamConfig;
using botscope::analysis::detect::SpamRun;
using namespace botscope::testing;

namespace {

const char* const kResolver = "10.66.0.1";

NetworkResult analyze(const CaptureWriter& w) {
    Engine e(kLinkEthernet);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    return e.finish();
}

/// The whole analysis with `host` as the analysed host, detectors included.
NetworkResult analyze_host(const CaptureWriter& w, const std::string& host, BehaviorResult& b) {
    Config config;
    config.hosts.push_back(ip(host));
    Engine e(kLinkEthernet, config);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    return e.finish(&b);
}

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes mx_rdata(std::string_view exchange) {
    return concat(Bytes{0, 10}, dns_name(exchange));
}

Bytes a_rdata(const IpAddress& addr) {
    return Bytes(addr.bytes.begin(), addr.bytes.begin() + 4);
}

/// A query from `client` and its answer 50 ms later; returns the time after the answer.
Timestamp lookup(CaptureWriter& w, Timestamp ts, const std::string& client, std::uint16_t port,
                 std::uint16_t id, std::string_view name, std::uint16_t qtype,
                 const std::vector<DnsRecord>& answers) {
    w.add_ip(ts,
             udp_packet(ep(client, port), ep(kResolver, 53), dns_message(id, 0x0100, name, qtype)));
    w.add_ip(ts + 50 * kMilli, udp_packet(ep(kResolver, 53), ep(client, port),
                                          dns_message(id, 0x8180, name, qtype, answers)));
    return ts + 100 * kMilli;
}

/// An MX answer for `domain` naming `exchange`, with the exchange's A record in the
/// additional section (as resolvers volunteer it); dns_message cannot write one.
Bytes mx_with_glue(std::uint16_t id, std::string_view domain, std::string_view exchange,
                   const IpAddress& addr) {
    auto put16 = [](Bytes& b, std::uint16_t v) {
        b.push_back(static_cast<std::uint8_t>(v >> 8));
        b.push_back(static_cast<std::uint8_t>(v & 0xff));
    };
    Bytes b;
    for (std::uint16_t v : {id, std::uint16_t{0x8180}, std::uint16_t{1}, std::uint16_t{1},
                            std::uint16_t{0}, std::uint16_t{1}})
        put16(b, v);
    b = concat(b, dns_name(domain));
    put16(b, 15);
    put16(b, 1);
    // Answer: the question's name (pointer), MX, IN, TTL 300.
    put16(b, 0xc00c);
    put16(b, 15);
    put16(b, 1);
    put16(b, 0);
    put16(b, 300);
    Bytes rdata = mx_rdata(exchange);
    put16(b, static_cast<std::uint16_t>(rdata.size()));
    b = concat(b, rdata);
    // Additional: the exchange spelled out, A, IN, TTL 300.
    b = concat(b, dns_name(exchange));
    put16(b, 1);
    put16(b, 1);
    put16(b, 0);
    put16(b, 300);
    put16(b, 4);
    return concat(b, a_rdata(addr));
}

struct Message {
    std::string from;
    std::vector<std::string> to;
    std::string subject;
    int final_reply = 250;
};

/// One SMTP session from `client` to `server`:25 carrying `messages`; returns the time of
/// its last packet.
Timestamp smtp_session(CaptureWriter& w, const std::string& client, std::uint16_t port,
                       const std::string& server, Timestamp start,
                       const std::vector<Message>& messages, Timestamp step = kMilli) {
    TcpConversation c(w, ep(client, port), ep(server, 25), start);
    c.set_step(step);
    c.handshake();
    c.send(Direction::kResp, "220 mail.example ESMTP Postfix\r\n");
    c.send(Direction::kOrig, "HELO bot\r\n");
    c.send(Direction::kResp, "250 mail.example\r\n");
    for (const Message& m : messages) {
        c.send(Direction::kOrig, "MAIL FROM:<" + m.from + ">\r\n");
        c.send(Direction::kResp, "250 2.1.0 Ok\r\n");
        for (const auto& to : m.to) {
            c.send(Direction::kOrig, "RCPT TO:<" + to + ">\r\n");
            c.send(Direction::kResp, "250 2.1.5 Ok\r\n");
        }
        c.send(Direction::kOrig, "DATA\r\n");
        c.send(Direction::kResp, "354 End data with <CR><LF>.<CR><LF>\r\n");
        c.send(Direction::kOrig,
               "From: <" + m.from + ">\r\nSubject: " + m.subject + "\r\n\r\nBuy now\r\n.\r\n");
        c.send(Direction::kResp, std::to_string(m.final_reply) + " done\r\n");
    }
    c.send(Direction::kOrig, "QUIT\r\n");
    c.send(Direction::kResp, "221 Bye\r\n");
    c.close();
    return c.now() - step;
}

const std::string kBot = "10.66.0.5";

/// Five messages to server `i`'s domain: two recipients each (one of them spelled in capitals,
/// so it is the same recipient) plus one shared address.
std::vector<Message> batch(int i, bool reject_last) {
    std::vector<Message> out;
    for (int m = 0; m < 5; ++m) {
        Message msg;
        msg.from =
            m == 0 ? "Sender0@Spam.Example" : "sender" + std::to_string(m % 2) + "@spam.example";
        std::string user = "user" + std::to_string(m);
        std::string domain = "d" + std::to_string(i) + ".example";
        std::string upper_domain = "D" + std::to_string(i) + ".EXAMPLE";
        msg.to = {user + "@" + domain, "USER" + std::to_string(m) + "@" + upper_domain,
                  "all@common.example"};
        msg.subject = m % 2 == 0 ? "Cheap pills" : "Re: hello";
        if (reject_last && m == 4)
            msg.final_reply = 554;
        out.push_back(msg);
    }
    return out;
}

std::string server_ip(int i) {
    return "198.51.100." + std::to_string(10 + i);
}

struct SpamCapture {
    CaptureWriter w;
    Timestamp start = 0;
    Timestamp end = 0;
};

// Five servers, 25 messages. Servers 0 and 1: MX, then an A lookup of the exchange, then the
// connection. Server 2: MX with the exchange's address as glue. Server 3: MX before, but the
// exchange's address arrives only after the connection. Server 4: no DNS at all. A bystander
// looks up an MX record too.
SpamCapture spam_capture() {
    SpamCapture cap;
    CaptureWriter& w = cap.w;
    Timestamp t = kT0;
    t = lookup(w, t, "10.66.0.9", 5000, 99, "other.example", 15,
               {{15, 300, mx_rdata("mx.other.example")}});
    for (int i = 0; i < 5; ++i) {
        std::string domain = "d" + std::to_string(i) + ".example";
        std::string exchange = "mx." + domain;
        IpAddress addr = ip(server_ip(i));
        auto id = static_cast<std::uint16_t>(100 + i);
        auto port = static_cast<std::uint16_t>(3000 + i);
        if (i <= 1 || i == 3)
            t = lookup(w, t, kBot, port, id, domain, 15, {{15, 300, mx_rdata(exchange)}});
        if (i <= 1)
            t = lookup(w, t, kBot, port, static_cast<std::uint16_t>(id + 50), exchange, 1,
                       {{1, 300, a_rdata(addr)}});
        if (i == 2) {
            w.add_ip(t, udp_packet(ep(kBot, port), ep(kResolver, 53),
                                   dns_message(id, 0x0100, domain, 15)));
            w.add_ip(t + 50 * kMilli, udp_packet(ep(kResolver, 53), ep(kBot, port),
                                                 mx_with_glue(id, domain, exchange, addr)));
            t += 100 * kMilli;
        }
        if (i == 0)
            cap.start = t;
        Timestamp last = smtp_session(w, kBot, static_cast<std::uint16_t>(1100 + i), server_ip(i),
                                      t, batch(i, i == 4));
        t = last + kSecond;
        if (i == 3)
            t = lookup(w, t, kBot, port, static_cast<std::uint16_t>(id + 50), exchange, 1,
                       {{1, 300, a_rdata(addr)}});
        cap.end = last;
        t += 9 * kSecond;
    }
    return cap;
}

}  // namespace

TEST_CASE("spam: a run to five servers is counted exactly") {
    SpamCapture cap = spam_capture();
    NetworkResult net = analyze(cap.w);
    REQUIRE(net.smtp.sessions.size() == 5);

    std::uint64_t dropped = 0;
    auto runs = detect_spam(net, SpamConfig{}, {}, MailCounter{}, dropped);
    CHECK(dropped == 0);
    REQUIRE(runs.size() == 1);
    const SpamRun& r = runs[0];
    CHECK(r.client == ip(kBot));
    CHECK(r.sessions == 5);
    CHECK(r.servers == 5);
    REQUIRE(r.server_list.size() == 5);
    for (int i = 0; i < 5; ++i) {
        CHECK(r.server_list[static_cast<std::size_t>(i)].addr == ip(server_ip(i)));
        CHECK(r.server_list[static_cast<std::size_t>(i)].port == 25);
    }
    CHECK(r.messages == 25);
    CHECK(r.messages_accepted == 24);
    // 5 users per server domain (capitals are the same recipient) plus the shared one.
    CHECK(r.recipients == 26);
    CHECK(r.recipient_domains == 6);
    REQUIRE(r.top_domains.size() == 6);
    CHECK(r.top_domains[0].value == "d0.example");
    CHECK(r.top_domains[0].count == 5);
    CHECK(r.top_domains[4].value == "d4.example");
    CHECK(r.top_domains[5].value == "common.example");
    CHECK(r.top_domains[5].count == 1);
    REQUIRE(r.senders.size() == 2);
    CHECK(r.senders[0].value == "sender0@spam.example");
    CHECK(r.senders[0].count == 15);
    CHECK(r.senders[1].value == "sender1@spam.example");
    CHECK(r.senders[1].count == 10);
    REQUIRE(r.subjects.size() == 2);
    CHECK(r.subjects[0].value == "Cheap pills");
    CHECK(r.subjects[0].count == 15);
    CHECK(r.subjects[1].count == 10);
    CHECK(r.mx_lookups == 4);        // servers 0..3; the bystander's is not the bot's
    CHECK(r.servers_after_mx == 3);  // 0 and 1 (A lookup), 2 (glue); 3's A came too late
    CHECK(r.start == cap.start);
    CHECK(r.end == cap.end);
    REQUIRE(r.messages_per_minute.has_value());
    const double minutes = to_seconds(cap.end - cap.start) / 60.0;
    CHECK(*r.messages_per_minute == doctest::Approx(25.0 / minutes).epsilon(0.01));
    CHECK(r.evidence.flows_total == 5);
    CHECK(r.evidence.flows.size() == 5);
    CHECK(std::is_sorted(r.evidence.flows.begin(), r.evidence.flows.end()));
    CHECK_FALSE(r.command.has_value());
}

TEST_CASE("spam: each threshold alone makes a run, and the same capture gives the same run") {
    SpamCapture cap = spam_capture();
    NetworkResult net = analyze(cap.w);
    std::uint64_t dropped = 0;

    SpamConfig servers_only{5, 1000, 1000};
    CHECK(detect_spam(net, servers_only, {}, MailCounter{}, dropped).size() == 1);
    SpamConfig messages_only{1000, 25, 1000};
    CHECK(detect_spam(net, messages_only, {}, MailCounter{}, dropped).size() == 1);
    SpamConfig domains_only{1000, 1000, 6};
    CHECK(detect_spam(net, domains_only, {}, MailCounter{}, dropped).size() == 1);
    SpamConfig none{6, 26, 7};
    CHECK(detect_spam(net, none, {}, MailCounter{}, dropped).empty());

    auto a = detect_spam(analyze(cap.w), SpamConfig{}, {}, MailCounter{}, dropped);
    auto b = detect_spam(analyze(cap.w), SpamConfig{}, {}, MailCounter{}, dropped);
    REQUIRE(a.size() == 1);
    REQUIRE(b.size() == 1);
    CHECK(a[0].top_domains.size() == b[0].top_domains.size());
    CHECK(a[0].evidence.flows == b[0].evidence.flows);
    CHECK(dropped == 0);
}

TEST_CASE("spam: a server counts as found by MX only when DNS gave its address first") {
    const IpAddress server = ip("192.0.2.50");
    const std::vector<Message> one = {{"x@spam.example", {"u@victim.example"}, "Hi"}};
    SpamConfig any{1, 1, 1};
    enum class Case { kGlue, kALookup, kABeforeMx, kAAfterConnect, kOtherAddress, kOtherClient };
    auto run = [&](Case c) {
        CaptureWriter w;
        Timestamp t = kT0;
        const std::string client = c == Case::kOtherClient ? "10.66.0.77" : kBot;
        const std::vector<DnsRecord> a = {
            {1, 300, a_rdata(c == Case::kOtherAddress ? ip("192.0.2.51") : server)}};
        const std::vector<DnsRecord> mx = {{15, 300, mx_rdata("MX.Victim.Example")}};
        if (c == Case::kABeforeMx)
            t = lookup(w, t, kBot, 3000, 2, "mx.victim.example", 1, a);
        if (c == Case::kGlue) {
            w.add_ip(t, udp_packet(ep(kBot, 3000), ep(kResolver, 53),
                                   dns_message(1, 0x0100, "victim.example", 15)));
            w.add_ip(t + kMilli,
                     udp_packet(ep(kResolver, 53), ep(kBot, 3000),
                                mx_with_glue(1, "victim.example", "mx.victim.example", server)));
            t += 2 * kMilli;
        } else {
            t = lookup(w, t, client, 3000, 1, "victim.example", 15, mx);
        }
        if (c == Case::kALookup || c == Case::kOtherAddress || c == Case::kOtherClient)
            t = lookup(w, t, client, 3000, 2, "mx.victim.example", 1, a);
        t = smtp_session(w, kBot, 1400, "192.0.2.50", t, one) + kSecond;
        if (c == Case::kAAfterConnect)
            lookup(w, t, kBot, 3000, 2, "mx.victim.example", 1, a);
        NetworkResult net = analyze(w);
        std::uint64_t dropped = 0;
        auto runs = detect_spam(net, any, {}, MailCounter{}, dropped);
        REQUIRE(runs.size() == 1);
        CHECK(runs[0].mx_lookups == (c == Case::kOtherClient ? 0 : 1));
        return runs[0].servers_after_mx;
    };
    CHECK(run(Case::kGlue) == 1);
    CHECK(run(Case::kALookup) == 1);  // the MX names the exchange in capitals
    CHECK(run(Case::kABeforeMx) == 0);
    CHECK(run(Case::kAAfterConnect) == 0);
    CHECK(run(Case::kOtherAddress) == 0);
    CHECK(run(Case::kOtherClient) == 0);
}

TEST_CASE("spam: ordinary mail (one client, one server, two messages) is no spam run") {
    CaptureWriter w;
    Timestamp t = lookup(w, kT0, "10.66.0.20", 4000, 7, "example.org", 15,
                         {{15, 300, mx_rdata("mail.example.org")}});
    std::vector<Message> mail = {{"alice@example.com", {"bob@example.org"}, "Lunch?", 250},
                                 {"alice@example.com", {"carol@example.org"}, "Minutes", 250}};
    smtp_session(w, "10.66.0.20", 1200, "192.0.2.25", t + kSecond, mail);
    NetworkResult net = analyze(w);
    REQUIRE(net.smtp.sessions.size() == 1);
    std::uint64_t dropped = 0;
    CHECK(detect_spam(net, SpamConfig{}, {}, MailCounter{}, dropped).empty());
    CHECK(dropped == 0);
}

TEST_CASE("spam: everything at one timestamp gives a run without a rate") {
    CaptureWriter w;
    std::vector<Message> many;
    for (int m = 0; m < 20; ++m)
        many.push_back({"x@spam.example", {"u" + std::to_string(m) + "@victim.example"}, "Hi"});
    smtp_session(w, kBot, 1300, "203.0.113.25", kT0, many, 0);
    NetworkResult net = analyze(w);
    std::uint64_t dropped = 0;
    auto runs = detect_spam(net, SpamConfig{}, {}, MailCounter{}, dropped);
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].messages == 20);
    CHECK(runs[0].start == runs[0].end);
    CHECK_FALSE(runs[0].messages_per_minute.has_value());
    CHECK(runs[0].servers_after_mx == 0);
}

TEST_CASE("spam: a run past the SMTP and DNS results' caps keeps its counts") {
    // More MX lookups than the DNS result keeps, then more sessions than the SMTP result
    // keeps, each to its own server with one accepted message to its own domain.
    constexpr std::size_t kLookups = dns::kMaxTransactions + 100;
    constexpr std::size_t kSessions = smtp::kMaxSessions + 400;
    CaptureWriter w;
    Timestamp t = kT0;
    for (std::size_t i = 0; i < kLookups; ++i) {
        const std::string domain = "d" + std::to_string(i) + ".example";
        t = lookup(w, t, kBot, static_cast<std::uint16_t>(10000 + i % 1000),
                   static_cast<std::uint16_t>(i), domain, 15,
                   {{15, 300, mx_rdata("mx." + domain)}});
    }
    for (std::size_t i = 0; i < kSessions; ++i) {
        const std::string server =
            "198.18." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
        Message m{"boss@spam.example",
                  {"u" + std::to_string(i) + "@d" + std::to_string(i) + ".example"},
                  "Cheap meds"};
        t = smtp_session(w, kBot, static_cast<std::uint16_t>(2000 + i), server, t, {m}) + kMilli;
    }
    BehaviorResult b;
    NetworkResult net = analyze_host(w, kBot, b);
    CHECK(net.smtp.sessions.size() == smtp::kMaxSessions);
    CHECK(net.dns.transactions.size() == dns::kMaxTransactions);
    REQUIRE(b.spam_runs.size() == 1);
    const SpamRun& run = b.spam_runs[0];
    CHECK(run.sessions == kSessions);
    CHECK(run.messages == kSessions);
    CHECK(run.messages_accepted == kSessions);
    CHECK(run.mx_lookups == kLookups);
    CHECK(run.evidence.flows_total == kSessions);
    CHECK(run.end > run.start + (kSessions - 1) * 20 * kMilli);
    // Distinct servers, recipients and domains: estimates within 3.2 standard errors.
    CHECK(run.estimated);
    const auto near = [](std::uint64_t v) {
        return doctest::Approx(static_cast<double>(v)).epsilon(0.052);
    };
    CHECK(static_cast<double>(run.servers) == near(kSessions));
    CHECK(static_cast<double>(run.recipients) == near(kSessions));
    CHECK(static_cast<double>(run.recipient_domains) == near(kSessions));
}

TEST_CASE("spam: through the engine, a run the results kept whole has exact counts") {
    // The same run as above, with the counter fed as records close: it adds nothing to what
    // the kept records say, and estimates nothing.
    SpamCapture cap = spam_capture();
    BehaviorResult b;
    analyze_host(cap.w, kBot, b);
    REQUIRE(b.spam_runs.size() == 1);
    const SpamRun& r = b.spam_runs[0];
    CHECK_FALSE(r.estimated);
    CHECK(r.sessions == 5);
    CHECK(r.servers == 5);
    CHECK(r.messages == 25);
    CHECK(r.messages_accepted == 24);
    CHECK(r.recipients == 26);
    CHECK(r.recipient_domains == 6);
    CHECK(r.mx_lookups == 4);
    CHECK(r.start == cap.start);
    CHECK(r.end == cap.end);
    CHECK(r.evidence.flows_total == 5);
}

TEST_CASE("spam: an empty result gives nothing") {
    NetworkResult net;
    std::uint64_t dropped = 0;
    CHECK(detect_spam(net, SpamConfig{}, {}, MailCounter{}, dropped).empty());
}

TEST_CASE("spam: the start of a run (MX lookups, then port 25 of many exchanges) is no scan") {
    // A bot told to spam looks up the MX of 8 domains, then connects to all 8 exchanges within
    // a second; 2 refuse at once with 421, 6 never answer before the capture ends.
    CaptureWriter w;
    Timestamp t = kT0;
    std::vector<std::string> exchanges;
    for (int d = 0; d < 8; ++d) {
        std::string domain = "d" + std::to_string(d) + ".example";
        std::string exchange = "mx." + domain;
        exchanges.push_back("198.18." + std::to_string(d) + ".25");
        auto id = static_cast<std::uint16_t>(100 + d);
        w.add_ip(
            t, udp_packet(ep(kBot, 4100), ep(kResolver, 53), dns_message(id, 0x0100, domain, 15)));
        w.add_ip(t + 50 * kMilli,
                 udp_packet(ep(kResolver, 53), ep(kBot, 4100),
                            mx_with_glue(id, domain, exchange, ip(exchanges.back()))));
        t += 100 * kMilli;
    }
    for (int d = 0; d < 8; ++d) {
        Endpoint bot = ep(kBot, static_cast<std::uint16_t>(3000 + d));
        Endpoint server = ep(exchanges[static_cast<std::size_t>(d)], 25);
        Timestamp at = t + d * 100 * kMilli;
        if (d < 2) {
            TcpConversation c(w, bot, server, at);
            c.handshake();
            c.send(Direction::kResp,
                   "421 mx.d" + std::to_string(d) + ".example ESMTP too busy, try later\r\n");
            c.close();
        } else {
            w.add_ip(at, tcp_packet(bot, server, 1, 0, kTcpSyn, {}));
            w.add_ip(at + 3 * kSecond, tcp_packet(bot, server, 1, 0, kTcpSyn, {}));
        }
    }
    BehaviorResult b;
    NetworkResult net = analyze_host(w, kBot, b);
    CHECK(net.smtp.sessions.size() == 2);
    CHECK(b.scans.empty());
    REQUIRE(b.spam_runs.size() == 1);
    const SpamRun& run = b.spam_runs[0];
    CHECK(run.client == ip(kBot));
    CHECK(run.sessions == 2);
    CHECK(run.servers == 8);
    CHECK(run.unanswered_servers == 6);
    CHECK(run.mx_lookups == 8);
    CHECK(run.servers_after_mx == 8);
    CHECK(run.messages == 0);
    CHECK(run.attempted);
    CHECK(run.evidence.flows_total == 8);

    // The same connections without the lookups: a port-25 scan, as before.
    CaptureWriter w2;
    for (int d = 0; d < 8; ++d)
        w2.add_ip(t + d * 100 * kMilli,
                  tcp_packet(ep(kBot, static_cast<std::uint16_t>(3000 + d)),
                             ep(exchanges[static_cast<std::size_t>(d)], 25), 1, 0, kTcpSyn, {}));
    BehaviorResult b2;
    analyze_host(w2, kBot, b2);
    CHECK(b2.spam_runs.empty());
    REQUIRE(b2.scans.size() == 1);
    CHECK(b2.scans[0].kind == "horizontal");
    CHECK(b2.scans[0].targets == 8);
}

}  // namespace test_detect_spam
