// The engine and the pcap source on captures written by pcapgen: file formats, link types,
// flows, hosts, and hostile files.

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/engine.h"
#include "analysis/engine/flow_table.h"
#include "analysis/pcap_source.h"
#include "support/pcapgen.h"
#include "support/temp_dir.h"

namespace test_engine {

using namespace botscope::analysis;
using namespace botscope::testing;
namespace fs = std::filesystem;

namespace {

/// A scratch directory removed at the end of the test.
using botscope::testing::TempDir;

void simple_session(CaptureWriter& w) {
    TcpConversation c(w, ep("192.0.2.10", 1030), ep("198.51.100.5", 6667), kT0 + 123456789);
    c.handshake();
    c.send(Direction::kOrig, "hello\r\n");
    c.send(Direction::kResp, "world\r\n");
    c.close();
    w.add_ip(kT0 + 2 * kSecond,
             udp_packet(ep("192.0.2.10", 3000), ep("198.51.100.6", 9), bytes_of("u")));
}

const FlowRecord* find_flow(const NetworkResult& r, Transport t) {
    for (const auto& f : r.flows)
        if (f.transport == t)
            return &f;
    return nullptr;
}

}  // namespace

TEST_CASE("every file format and byte order gives the same analysis") {
    TempDir tmp{"botscope-test"};
    CaptureWriter w;
    simple_session(w);
    struct Case {
        FileFormat fmt;
        const char* format;
        const char* order;
        const char* precision;
    };
    for (auto c : {Case{FileFormat::kPcapLeUsec, "pcap", "little-endian", "microsecond"},
                   Case{FileFormat::kPcapBeUsec, "pcap", "big-endian", "microsecond"},
                   Case{FileFormat::kPcapLeNsec, "pcap", "little-endian", "nanosecond"},
                   Case{FileFormat::kPcapBeNsec, "pcap", "big-endian", "nanosecond"},
                   Case{FileFormat::kPcapng, "pcapng", "little-endian", "nanosecond"}}) {
        CAPTURE(c.format);
        CAPTURE(c.order);
        CAPTURE(c.precision);
        // pcapng misnamed .pcap must work too: the content decides, not the name.
        fs::path file = tmp.path / "capture.pcap";
        w.write(file, c.fmt);
        auto out = analyze_capture_file(file.string());
        REQUIRE(out.error == CaptureError::kNone);
        const NetworkResult& r = out.result;
        CHECK(r.capture.format == c.format);
        CHECK(r.capture.byte_order == c.order);
        CHECK(r.capture.ts_precision == c.precision);
        CHECK(r.capture.link_name == "ethernet");
        CHECK(r.capture.packets == w.frames().size());
        CHECK_FALSE(r.capture.truncated);
        bool ns = std::string(c.precision) == "nanosecond";
        CHECK(r.capture.first_ts == (ns ? kT0 + 123456789 : kT0 + 123456000));
        REQUIRE(r.flows.size() == 2);
        const FlowRecord* tcp = find_flow(r, Transport::kTcp);
        REQUIRE(tcp);
        CHECK(tcp->orig.to_string() == "192.0.2.10:1030");
        CHECK(tcp->resp.to_string() == "198.51.100.5:6667");
        CHECK(tcp->state == "SF");
        CHECK(tcp->payload_bytes[0] == 7);
        CHECK(tcp->payload_bytes[1] == 7);
        CHECK(tcp->packets[0] == 6);  // SYN, ACK, data, ack, FIN, last ACK
        CHECK(tcp->packets[1] == 4);
        const FlowRecord* udp = find_flow(r, Transport::kUdp);
        REQUIRE(udp);
        CHECK(udp->resp.port == 9);
        CHECK(r.hosts.size() == 3);
    }
}

TEST_CASE("every supported link type gives the same flows") {
    TempDir tmp{"botscope-test"};
    for (int lt : {kLinkEthernet, kLinkSll, kLinkSll2, kLinkRaw, kLinkNull, kLinkLoop, kLinkIpv4}) {
        CAPTURE(lt);
        CaptureWriter w(lt);
        simple_session(w);
        fs::path file = tmp.path / "l.pcap";
        w.write(file, FileFormat::kPcapLeUsec);
        auto out = analyze_capture_file(file.string());
        REQUIRE(out.error == CaptureError::kNone);
        // libpcap reports LINKTYPE_RAW (101) as DLT_RAW (12 on Linux).
        CHECK(out.result.capture.link_name == link_type_name(lt));
        CHECK(out.result.flows.size() == 2);
        CHECK(out.result.capture.decode_errors == 0);
        const FlowRecord* tcp = find_flow(out.result, Transport::kTcp);
        REQUIRE(tcp);
        CHECK(tcp->state == "SF");
    }
}

TEST_CASE("a truncated capture yields everything before the break, marked truncated") {
    TempDir tmp{"botscope-test"};
    CaptureWriter w;
    simple_session(w);
    auto bytes = w.bytes(FileFormat::kPcapLeUsec);
    fs::path file = tmp.path / "cut.pcap";
    {
        std::ofstream out(file, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size() - 30));
    }
    auto out = analyze_capture_file(file.string());
    REQUIRE(out.error == CaptureError::kNone);
    CHECK(out.result.capture.truncated);
    CHECK_FALSE(out.result.capture.truncation_reason.empty());
    CHECK(out.result.capture.packets == w.frames().size() - 1);
    CHECK(find_flow(out.result, Transport::kTcp) != nullptr);
}

TEST_CASE("missing, empty, short and foreign files give a clear error") {
    TempDir tmp{"botscope-test"};
    auto write = [&](const char* name, std::string_view content) {
        fs::path p = tmp.path / name;
        std::ofstream(p, std::ios::binary) << content;
        return p.string();
    };
    auto missing = analyze_capture_file((tmp.path / "nope.pcap").string());
    CHECK(missing.error == CaptureError::kNotFound);
    CHECK(missing.message.find("nope.pcap") != std::string::npos);

    CHECK(analyze_capture_file(write("empty.pcap", "")).error == CaptureError::kEmpty);
    CHECK(analyze_capture_file(write("short.pcap", "\xd4\xc3")).error == CaptureError::kNotCapture);
    auto text = analyze_capture_file(write("notes.txt", "this is not a capture file at all\n"));
    CHECK(text.error == CaptureError::kNotCapture);
    CHECK(text.message.find("not a pcap") != std::string::npos);
    // A pcap magic number followed by a cut file header.
    CHECK(
        analyze_capture_file(write("hdr.pcap", std::string("\xd4\xc3\xb2\xa1\x02\x00", 6))).error ==
        CaptureError::kBadHeader);
    CHECK(analyze_capture_file(tmp.path.string()).error == CaptureError::kUnreadable);

    CaptureWriter w(147);  // LINKTYPE_USER0
    w.add_frame(kT0, bytes_of("xx"));
    fs::path user = tmp.path / "user.pcap";
    w.write(user);
    auto u = analyze_capture_file(user.string());
    CHECK(u.error == CaptureError::kUnsupportedLink);
}

TEST_CASE("TCP states follow Zeek's conn_state") {
    CaptureWriter w;
    // A SYN nobody answers, a SYN answered by RST, and a reset established session.
    w.add_ip(kT0, tcp_packet(ep("10.0.0.2", 2000), ep("10.0.0.9", 445), 1, 0, kTcpSyn, {}));
    w.add_ip(kT0 + 1, tcp_packet(ep("10.0.0.2", 2001), ep("10.0.0.9", 139), 1, 0, kTcpSyn, {}));
    w.add_ip(kT0 + 2,
             tcp_packet(ep("10.0.0.9", 139), ep("10.0.0.2", 2001), 0, 2, kTcpRst | kTcpAck, {}));
    TcpConversation c(w, ep("10.0.0.2", 2002), ep("10.0.0.9", 80), kT0 + 3);
    c.handshake();
    c.send(Direction::kOrig, "x");
    c.reset(Direction::kResp);

    Engine e(kLinkEthernet);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    NetworkResult r = e.finish();
    REQUIRE(r.flows.size() == 3);
    CHECK(r.flows[0].state == "S0");
    CHECK(r.flows[1].state == "REJ");
    CHECK(r.flows[2].state == "RSTR");
}

TEST_CASE("flows expire on capture time and memory follows live flows") {
    Engine e(kLinkEthernet);
    CaptureWriter w;
    // 1,000 answered UDP exchanges, one per 100 ms: under the 60 s timeout, swept once a
    // second, at most 611 can be live at once. Then 1,000 datagrams nobody answers: attempts,
    // which go after 10 s, so the live flows fall to at most 111.
    for (int i = 0; i < 2000; ++i) {
        auto src = ep("10.0.0.2", static_cast<std::uint16_t>(10000 + i));
        Timestamp t = kT0 + i * 100 * kMilli;
        w.add_ip(t, udp_packet(src, ep("10.0.0.1", 7), bytes_of("ping")));
        if (i < 1000)
            w.add_ip(t + kMilli, udp_packet(ep("10.0.0.1", 7), src, bytes_of("pong")));
    }
    std::size_t peak = 0, peak_attempts = 0;
    for (const auto& f : w.frames()) {
        e.process(f.ts, f.data, f.wire_len);
        peak = std::max(peak, e.live_flows());
        if (f.ts >= kT0 + 170 * kSecond)  // the answered ones have all expired
            peak_attempts = std::max(peak_attempts, e.live_flows());
    }
    CHECK(peak <= 611);
    CHECK(peak >= 600);
    CHECK(peak_attempts <= 111);
    NetworkResult r = e.finish();
    CHECK(r.flows_total == 2000);
    CHECK(r.flows.size() == NetworkResult::kSampledFlows);  // every flow goes to the log
}

TEST_CASE("timestamps that go backwards or never advance are counted, never fatal") {
    Engine e(kLinkEthernet);
    CaptureWriter w;
    for (int i = 0; i < 10; ++i)
        w.add_ip(kT0, udp_packet(ep("10.0.0.2", 68), ep("10.0.0.255", 67), bytes_of("discover")));
    w.add_ip(kT0 - kSecond, udp_packet(ep("10.0.0.3", 68), ep("10.0.0.255", 67), bytes_of("x")));
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    NetworkResult r = e.finish();
    CHECK(r.capture.ts_backwards == 1);
    CHECK(r.capture.first_ts == kT0 - kSecond);
    CHECK(r.capture.last_ts == kT0);
    CHECK(r.flows_total == 2);
}

TEST_CASE("a SYN-ACK seen first makes its receiver the originator") {
    Engine e(kLinkEthernet);
    CaptureWriter w;
    w.add_ip(kT0,
             tcp_packet(ep("10.0.0.9", 80), ep("10.0.0.2", 3333), 500, 2, kTcpSyn | kTcpAck, {}));
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    NetworkResult r = e.finish();
    REQUIRE(r.flows.size() == 1);
    CHECK(r.flows[0].orig.to_string() == "10.0.0.2:3333");
    CHECK(r.flows[0].packets[1] == 1);
}

TEST_CASE("a reused port after a closed connection starts a new flow") {
    Engine e(kLinkEthernet);
    CaptureWriter w;
    TcpConversation a(w, ep("10.0.0.2", 4000), ep("10.0.0.9", 80), kT0);
    a.handshake();
    a.close();
    TcpConversation b(w, ep("10.0.0.2", 4000), ep("10.0.0.9", 80), kT0 + kSecond, 90000, 7000);
    b.handshake();
    b.close();
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    NetworkResult r = e.finish();
    CHECK(r.flows.size() == 2);
}

TEST_CASE("an idle C&C connection outlives a flood that fills the flow table") {
    // The bot joins, is told to flood, floods from more spoofed sources than the table holds,
    // and gets its next command on the same connection: one IRC session with both commands.
    CaptureWriter w;
    TcpConversation c(w, ep("10.66.0.10", 1030), ep("10.66.0.1", 6667), kT0);
    c.handshake();
    c.send(Direction::kOrig, "NICK [USA]-1\r\nUSER a 0 0 :a\r\nJOIN #c\r\n");
    c.send(Direction::kResp, ":srv 001 [USA]-1 :hi\r\n:op!o@h PRIVMSG #c :.ddos.syn 10.66.0.5\r\n");
    const std::uint32_t flood = FlowTable<int>::kMaxFlows + 10'000;
    Timestamp t = c.now();
    for (std::uint32_t i = 0; i < flood; ++i) {
        Endpoint src{IpAddress::v4(10, static_cast<std::uint8_t>(i >> 16),
                                   static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)),
                     static_cast<std::uint16_t>(1024 + i % 60000)};
        w.add_ip(t + i * 10'000, tcp_packet(src, ep("10.66.0.5", 80), i, 0, kTcpSyn, {}));
    }
    c.advance(static_cast<Timestamp>(flood) * 10'000 + kSecond);
    c.send(Direction::kResp, ":op!o@h PRIVMSG #c :.ddos.stop\r\n");
    Engine e(kLinkEthernet);
    std::size_t peak = 0;
    for (const auto& f : w.frames()) {
        e.process(f.ts, f.data, f.wire_len);
        peak = std::max(peak, e.live_flows());
    }
    CHECK(peak == FlowTable<int>::kMaxFlows);
    NetworkResult r = e.finish();
    REQUIRE(r.irc.sessions.size() == 1);
    const auto& s = r.irc.sessions[0];
    std::vector<std::string> texts;
    for (const auto& m : s.received)
        if (m.command == "PRIVMSG")
            texts.push_back(m.text);
    CHECK(texts == std::vector<std::string>{".ddos.syn 10.66.0.5", ".ddos.stop"});
    CHECK(r.weirds.entries().count("flow_table_full") == 1);
}

TEST_CASE("IRC taken mid-session: the server's relayed lines are recognised, commands read") {
    // A tap started long after the bot logged in: no NICK, no 001, the first bytes are the
    // botmaster's join and commands as the server relays them.
    CaptureWriter w;
    TcpConversation c(w, ep("10.66.0.10", 1042), ep("10.66.0.1", 6667), kT0);
    c.send(Direction::kResp, ":h4x0r!h4x@10.66.0.3 JOIN :#b0tz\r\n");
    c.send(Direction::kResp, ":h4x0r!h4x@10.66.0.3 PRIVMSG #b0tz :.ddos.syn 10.66.0.5 80 60\r\n");
    c.send(Direction::kOrig, "PRIVMSG #b0tz :[DDoS]: flooding 10.66.0.5:80\r\n");
    c.send(Direction::kResp, ":h4x0r!h4x@10.66.0.3 PRIVMSG [USA]-4411 :.sysinfo\r\n");
    c.send(Direction::kResp, ":h4x0r!h4x@10.66.0.3 QUIT :bye\r\n");
    Engine e(kLinkEthernet);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    detect::BehaviorResult b;
    NetworkResult r = e.finish(&b);
    REQUIRE(r.irc.sessions.size() == 1);
    const auto& s = r.irc.sessions[0];
    CHECK(s.client.addr == ip("10.66.0.10"));
    CHECK(s.server == ep("10.66.0.1", 6667));
    CHECK(s.nick == "[USA]-4411");
    REQUIRE_FALSE(s.channels.empty());
    CHECK(s.channels[0].name == "#b0tz");
    std::vector<std::string> verbs;
    for (const auto& cmd : b.commands)
        verbs.push_back(cmd.verb);
    CHECK(verbs == std::vector<std::string>{"ddos.syn", "sysinfo"});
}

}  // namespace test_engine

namespace test_engine {

namespace {

/// What an inspector is handed, copied out.
struct Recorder final : StreamInspector {
    struct Stream {
        FlowId flow;
        Direction dir;
        std::string service;
        std::string data;
        bool truncated;
        bool gap;
    };
    void inspect(const InspectedStream& s) override {
        streams.push_back({s.flow->id, s.dir, std::string(s.service),
                           std::string(s.data.begin(), s.data.end()), s.truncated, s.gap});
    }
    std::vector<Stream> streams;
};

std::vector<Recorder::Stream> inspected(CaptureWriter& w, StreamCapture limits) {
    Recorder rec;
    Engine engine(kLinkEthernet);
    engine.inspect_streams(&rec, limits);
    for (const auto& f : w.frames())
        engine.process(f.ts, f.data, static_cast<std::uint32_t>(f.data.size()));
    (void)engine.finish();
    return rec.streams;
}

}  // namespace

TEST_CASE("stream inspection: each direction as reassembled, cut at a gap and at both limits") {
    CaptureWriter w;
    TcpConversation a(w, ep("10.66.0.10", 1100), ep("10.66.0.1", 6667), kT0);
    a.handshake();
    a.send(Direction::kOrig, "NICK x\r\nUSER x 0 0 :x\r\n");
    a.send_segments(Direction::kResp, ":s 001 x :welcome to the network\r\n", 3);
    a.close();
    TcpConversation b(w, ep("10.66.0.10", 1101), ep("10.66.0.1", 4444), kT0 + kSecond);
    b.handshake();
    b.send(Direction::kOrig, "before-");
    b.skip(Direction::kOrig, 100);  // never captured: the peer's ACK makes it a gap
    b.send(Direction::kResp, "ack");
    b.send(Direction::kOrig, "after");
    b.close();

    auto all = inspected(w, {});
    REQUIRE(all.size() == 4);
    CHECK(all[0].service == "irc");
    CHECK(all[0].data == "NICK x\r\nUSER x 0 0 :x\r\n");
    CHECK(all[1].data == ":s 001 x :welcome to the network\r\n");  // 3-byte segments, whole
    CHECK_FALSE(all[1].truncated);
    CHECK(all[2].service.empty());  // no protocol: inspected all the same
    CHECK(all[2].dir == Direction::kOrig);
    CHECK(all[2].data == "before-");  // what follows the gap is never joined to it
    CHECK(all[2].truncated);
    CHECK(all[2].gap);

    // 8 bytes a direction, 20 across the live connections: the first connection's two
    // directions take 16; the second, alive at the same time, gets what is left.
    CaptureWriter both;
    TcpConversation c(both, ep("10.66.0.10", 1200), ep("10.66.0.1", 6667), kT0);
    TcpConversation d(both, ep("10.66.0.10", 1201), ep("10.66.0.1", 6668), kT0);
    c.handshake();
    d.handshake();
    c.send(Direction::kOrig, "0123456789abcdef");
    c.send(Direction::kResp, "0123456789abcdef");
    d.send(Direction::kOrig, "0123456789abcdef");
    c.close();
    d.close();
    auto cut = inspected(both, {.per_direction = 8, .total = 20});
    REQUIRE(cut.size() == 3);
    CHECK(cut[0].data == "01234567");
    CHECK(cut[0].truncated);
    CHECK_FALSE(cut[0].gap);
    CHECK(cut[1].data == "01234567");
    const auto& late = cut[2];
    CHECK(late.data == "0123");
    CHECK(late.truncated);
    // The budget is given back as connections end (5 s after their close): later ones are
    // kept whole again.
    CaptureWriter later;
    for (int i = 0; i < 5; ++i) {
        TcpConversation e(later, ep("10.66.0.10", static_cast<std::uint16_t>(1300 + i)),
                          ep("10.66.0.1", 6667), kT0 + i * 10 * kSecond);
        e.handshake();
        e.send(Direction::kOrig, "01234567");
        e.close();
    }
    for (const auto& s : inspected(later, {.per_direction = 8, .total = 10}))
        CHECK(s.data == "01234567");
}

}  // namespace test_engine
