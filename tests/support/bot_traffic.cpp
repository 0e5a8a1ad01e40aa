#include "support/bot_traffic.h"

#include <algorithm>
#include <string>

namespace botscope::testing {

namespace {

using analysis::Direction;

Bytes tftp_request(std::string_view file) {
    Bytes b = {0, 1};
    b.insert(b.end(), file.begin(), file.end());
    b.push_back(0);
    for (char c : std::string_view("octet"))
        b.push_back(static_cast<std::uint8_t>(c));
    b.push_back(0);
    return b;
}

}  // namespace

Bytes fake_pe(std::size_t size) {
    Bytes b(size, 0);
    b[0] = 'M', b[1] = 'Z';
    b[0x3c] = 0x80;  // e_lfanew
    b[0x80] = 'P', b[0x81] = 'E';
    std::string note = "botscope test payload - inert, not a program";
    for (std::size_t i = 0; i < note.size() && 0x100 + i < size; ++i)
        b[0x100 + i] = static_cast<std::uint8_t>(note[i]);
    for (std::size_t i = 0x200; i < size; ++i)
        b[i] = static_cast<std::uint8_t>(i * 31);
    return b;
}

void emulate_bot_session(CaptureWriter& w, Timestamp start) {
    using F = BotFacts;
    const IpAddress guest = ip(F::kGuest);
    const IpAddress sink = ip(F::kSinkhole);
    Timestamp t = start;

    // 1. Resolve the C&C name; the sinkhole answers with its own address.
    Bytes sink_a(sink.bytes.begin(), sink.bytes.begin() + 4);
    w.add_ip(t, udp_packet({guest, 1035}, {sink, 53}, dns_message(0x1f2e, 0x0100, F::kCncName, 1)));
    w.add_ip(t + 2 * kMilli,
             udp_packet({sink, 53}, {guest, 1035},
                        dns_message(0x1f2e, 0x8180, F::kCncName, 1, {{1, 300, sink_a}})));
    t += 50 * kMilli;

    // 2. IRC on a non-standard port; lines split across segments as a slow bot sends them.
    TcpConversation irc(w, {guest, 1036}, {sink, F::kIrcPort}, t, 0x7ffffff0, 0x10000000);
    irc.handshake();
    irc.send(Direction::kResp,
             ":irc.b0tnet.example NOTICE AUTH :*** Looking up your hostname...\r\n");
    std::string login = std::string("PASS ") + F::kPassword + "\r\nNICK " + F::kNick +
                        "\r\nUSER nhmfkzq 0 0 :nhmfkzq\r\n";
    irc.send_segments(Direction::kOrig, login, 17);
    irc.send(Direction::kResp,
             std::string(":irc.b0tnet.example 001 ") + F::kNick +
                 " :Welcome to the b0tnet IRC Network\r\n:irc.b0tnet.example 376 " + F::kNick +
                 " :End of /MOTD command.\r\n");
    irc.send(Direction::kOrig, std::string("JOIN ") + F::kChannel + " " + F::kChannelKey + "\r\n");
    irc.send(Direction::kResp, std::string(":") + F::kNick +
                                   "!nhmfkzq@10.66.0.10 JOIN :" + F::kChannel +
                                   "\r\n:irc.b0tnet.example 332 " + F::kNick + " " + F::kChannel +
                                   " :\x03"
                                   "4" +
                                   F::kTopicCommand + "\x03\r\n:irc.b0tnet.example 333 " +
                                   F::kNick + " " + F::kChannel + " b0ss 1136073600\r\n");
    irc.send(Direction::kOrig, std::string("PRIVMSG ") + F::kChannel +
                                   " :[SCAN]: Random port scan started on 10.66.0.x:135 with a "
                                   "delay of 3 seconds for 0 minutes using 50 threads.\r\n");
    irc.advance(2 * kSecond);
    irc.send(Direction::kResp, std::string(":") + F::kOperator + "!boss@10.66.0.1 PRIVMSG " +
                                   F::kChannel + " :" + F::kDownloadCommand + "\r\n");
    irc.send(Direction::kOrig, std::string("PRIVMSG ") + F::kChannel +
                                   " :[DOWNLOAD]: Downloading URL: http://10.66.0.1/update.exe to: "
                                   "c:\\windows\\update.exe.\r\n");
    irc.send(Direction::kResp, std::string(":") + F::kOperator + "!boss@10.66.0.1 PRIVMSG " +
                                   F::kChannel + " :" + F::kSpamCommand + "\r\n");
    irc.send(Direction::kResp, std::string(":") + F::kOperator + "!boss@10.66.0.1 PRIVMSG " +
                                   F::kChannel + " :" + F::kFloodCommand + "\r\n");
    irc.send(Direction::kOrig, std::string("PRIVMSG ") + F::kChannel +
                                   " :[DDoS]: Flooding: (10.66.0.200:80) for 2 seconds.\r\n");
    irc.send(Direction::kResp, "PING :irc.b0tnet.example\r\n");
    irc.send(Direction::kOrig, "PONG :irc.b0tnet.example\r\n");
    t = irc.now() + 10 * kMilli;

    // 3. The download over HTTP, the response body cut into segments.
    TcpConversation http(w, {guest, 1037}, {sink, 80}, t);
    http.handshake();
    http.send(Direction::kOrig,
              "GET /update.exe HTTP/1.0\r\nHost: 10.66.0.1\r\nUser-Agent: Mozilla/4.0 "
              "(compatible)\r\n\r\n");
    Bytes body = fake_pe(4096);
    std::string resp =
        "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 4096\r\n\r\n";
    resp.append(body.begin(), body.end());
    http.send_segments(Direction::kResp, resp, 1460);
    http.close();
    t = http.now() + 10 * kMilli;

    // 4. The same worm fetches a copy over TFTP: the server answers from a new port.
    Bytes file = fake_pe(1300);
    w.add_ip(t, udp_packet({guest, 1038}, {sink, 69}, tftp_request(F::kTftpFile)));
    t += kMilli;
    std::uint16_t block = 1;
    for (std::size_t off = 0; off <= file.size(); off += 512, ++block) {
        std::size_t len = std::min<std::size_t>(512, file.size() - off);
        Bytes data = {0, 3};
        put16(data, block);
        data.insert(data.end(), file.begin() + static_cast<std::ptrdiff_t>(off),
                    file.begin() + static_cast<std::ptrdiff_t>(off + len));
        w.add_ip(t, udp_packet({sink, 3001}, {guest, 1038}, data));
        Bytes ack = {0, 4};
        put16(ack, block);
        w.add_ip(t + kMilli / 2, udp_packet({guest, 1038}, {sink, 3001}, ack));
        t += kMilli;
        if (len < 512)
            break;
    }

    // 5. A short spam run: an MX lookup per recipient domain, the exchange's address, then
    // one message to each server (the sandbox's DNS hands every name its own address).
    for (int m = 0; m < F::kSpamMessages; ++m) {
        std::string domain = "mail" + std::to_string(m) + ".example";
        std::string mx = "mx." + domain;
        IpAddress server = IpAddress::v4(10, 66, 0, static_cast<std::uint8_t>(50 + m));
        auto id = static_cast<std::uint16_t>(0x3000 + m);
        Bytes mx_rdata = {0, 10};
        Bytes mx_name = dns_name(mx);
        mx_rdata.insert(mx_rdata.end(), mx_name.begin(), mx_name.end());
        w.add_ip(t, udp_packet({guest, 1050}, {sink, 53}, dns_message(id, 0x0100, domain, 15)));
        w.add_ip(t + kMilli,
                 udp_packet({sink, 53}, {guest, 1050},
                            dns_message(id, 0x8180, domain, 15, {{15, 300, mx_rdata}})));
        Bytes a(server.bytes.begin(), server.bytes.begin() + 4);
        w.add_ip(t + 2 * kMilli,
                 udp_packet({guest, 1050}, {sink, 53}, dns_message(id + 0x100, 0x0100, mx, 1)));
        w.add_ip(t + 3 * kMilli, udp_packet({sink, 53}, {guest, 1050},
                                            dns_message(id + 0x100, 0x8180, mx, 1, {{1, 300, a}})));
        t += 5 * kMilli;

        TcpConversation smtp(w, {guest, static_cast<std::uint16_t>(1040 + m)}, {server, 25}, t);
        smtp.handshake();
        smtp.send(Direction::kResp, "220 " + mx + " ESMTP\r\n");
        smtp.send(Direction::kOrig, "HELO nhmfkzq\r\n");
        smtp.send(Direction::kResp, "250 " + mx + "\r\n");
        smtp.send(Direction::kOrig, "MAIL FROM:<pharmacy@shop.example>\r\n");
        smtp.send(Direction::kResp, "250 OK\r\n");
        smtp.send(Direction::kOrig, "RCPT TO:<victim" + std::to_string(m) + "@" + domain + ">\r\n");
        smtp.send(Direction::kResp, "250 OK\r\n");
        smtp.send(Direction::kOrig, "DATA\r\n");
        smtp.send(Direction::kResp, "354 go ahead\r\n");
        smtp.send(Direction::kOrig, std::string("From: pharmacy@shop.example\r\nTo: victim") +
                                        std::to_string(m) + "@" + domain + "\r\nSubject: " +
                                        F::kSpamSubject + "\r\n\r\nBest prices.\r\n.\r\n");
        smtp.send(Direction::kResp, "250 queued\r\n");
        smtp.send(Direction::kOrig, "QUIT\r\n");
        smtp.send(Direction::kResp, "221 bye\r\n");
        smtp.close();
        t = smtp.now() + 5 * kMilli;
    }

    // 6. The ddos.syn command at work: SYNs to the named address and port from 60 spoofed
    // sandbox addresses (10.66.0.140-199), 100 a second; nothing listens there.
    const IpAddress flood_target = ip(F::kFloodTarget);
    for (int i = 0; i < F::kFloodPackets; ++i) {
        auto n = static_cast<std::uint32_t>(i) * 2654435761u;
        IpAddress spoofed = IpAddress::v4(10, 66, 0, static_cast<std::uint8_t>(140 + n % 60));
        Endpoint src{spoofed, static_cast<std::uint16_t>(1024 + (n >> 8) % 60000)};
        w.add_ip(t, tcp_packet(src, {flood_target, F::kFloodPort}, n, 0, analysis::kTcpSyn, {}));
        t += 10 * kMilli;
    }

    // 7. The advscan command at work: SYNs to 135/tcp of sandbox addresses; two refuse.
    for (int i = 0; i < F::kScanTargets; ++i) {
        IpAddress target = IpAddress::v4(10, 66, 0, static_cast<std::uint8_t>(100 + i));
        Endpoint src{guest, static_cast<std::uint16_t>(2000 + i)};
        w.add_ip(t, tcp_packet(src, {target, F::kScanPort}, 0x1000 + static_cast<std::uint32_t>(i),
                               0, analysis::kTcpSyn, {}));
        if (i % 10 == 3)
            w.add_ip(t + kMilli, tcp_packet({target, F::kScanPort}, src, 0x9000,
                                            0x1001 + static_cast<std::uint32_t>(i),
                                            analysis::kTcpRst | analysis::kTcpAck, {}));
        t += 3 * kMilli;
    }
}

void spoofed_syn_flood(PcapStreamWriter& out, Timestamp start, const Endpoint& target,
                       std::uint64_t packets, std::uint64_t pps, std::uint64_t seed) {
    // splitmix64: fast, deterministic across platforms, good enough to spread addresses.
    auto next = [&seed] {
        std::uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    };
    Timestamp step = kSecond / static_cast<Timestamp>(std::max<std::uint64_t>(pps, 1));
    for (std::uint64_t i = 0; i < packets; ++i) {
        std::uint64_t r = next();
        Endpoint src{IpAddress::v4(10, static_cast<std::uint8_t>(r >> 8),
                                   static_cast<std::uint8_t>(r >> 16),
                                   static_cast<std::uint8_t>(r >> 24)),
                     static_cast<std::uint16_t>(1024 + (r >> 32) % 64000)};
        out.add_ip(start + static_cast<Timestamp>(i) * step,
                   tcp_packet(src, target, static_cast<std::uint32_t>(r >> 40), 0,
                              analysis::kTcpSyn, {}));
    }
}

}  // namespace botscope::testing
