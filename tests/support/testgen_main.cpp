// botscope-testgen: writes the project's generated captures.
//   demo OUT.pcap   the emulated bot session the demo analyses
//   seeds DIR       small captures of every format and link type, the pcap fuzzer's seeds
//   streams OUT.pcap
//                   markers that only reassembly puts back together, for the network rules'
//                   tests: STREAM-MARKER-SPLIT-ACROSS-SEGMENTS in 5-byte segments of an IRC
//                   server's reply, and RETRANS-MARKER-SPLIT-XYZ-END in a client's stream of
//                   an unknown protocol, sent with a retransmission, a segment out of order
//                   and an overlap whose first copy wins (the second says OVERLAP-LOST)
//   synflood OUT.pcap PACKETS
//                   a spoofed SYN flood at 100,000 packets/s to 10.66.0.200:80 (bench, tests)

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "support/bot_traffic.h"

using namespace botscope::testing;
namespace fs = std::filesystem;

namespace {

void small_session(CaptureWriter& w) {
    TcpConversation c(w, ep("10.66.0.10", 1030), ep("10.66.0.1", 6667), kT0);
    c.handshake();
    c.send(Direction::kOrig, "NICK [USA]-1\r\nUSER a 0 0 :a\r\n");
    c.send(Direction::kResp,
           ":srv 001 [USA]-1 :hi\r\n:srv 332 [USA]-1 #c :.ddos.syn 10.66.0.5 80 5\r\n");
    c.close();
    w.add_ip(kT0 + kSecond,
             udp_packet(ep("10.66.0.10", 1031), ep("10.66.0.1", 53),
                        bytes_of(std::string_view("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                                                  "\x01"
                                                  "a\x00\x00\x01\x00\x01",
                                                  19))));
}

void split_streams(CaptureWriter& w) {
    TcpConversation irc(w, ep("10.66.0.10", 1100), ep("10.66.0.1", 6667), kT0);
    irc.handshake();
    irc.send(Direction::kOrig, "NICK x\r\nUSER x 0 0 :x\r\n");
    irc.send_segments(Direction::kResp,
                      ":b0ss!a@b PRIVMSG #c :STREAM-MARKER-SPLIT-ACROSS-SEGMENTS\r\n", 5);
    irc.close();

    TcpConversation raw(w, ep("10.66.0.10", 1101), ep("10.66.0.1", 4444), kT0 + kSecond);
    raw.handshake();
    raw.send(Direction::kOrig, "RETRANS-");                     // 0..8
    raw.put(raw.segment(Direction::kOrig, 0, "RETRANS-"));      // again
    raw.put(raw.segment(Direction::kOrig, 18, "IT-XYZ-END"));   // 18..28 early
    raw.put(raw.segment(Direction::kOrig, 6, "S-MARKER-SPL"));  // 6..18
    raw.put(raw.segment(Direction::kOrig, 8, "OVERLAP-LOST"));  // 8..20, too late
    raw.skip(Direction::kOrig, 20);
    raw.close();
}

int seeds(const fs::path& dir) {
    fs::create_directories(dir);
    CaptureWriter eth;
    small_session(eth);
    eth.write(dir / "eth-le-usec.pcap", FileFormat::kPcapLeUsec);
    eth.write(dir / "eth-be-nsec.pcap", FileFormat::kPcapBeNsec);
    eth.write(dir / "eth.pcapng", FileFormat::kPcapng);
    for (int lt : {botscope::analysis::kLinkSll, botscope::analysis::kLinkSll2,
                   botscope::analysis::kLinkRaw, botscope::analysis::kLinkNull}) {
        CaptureWriter w(lt);
        small_session(w);
        w.write(dir / ("link-" + std::to_string(lt) + ".pcap"));
    }
    CaptureWriter frag(botscope::analysis::kLinkRaw);
    std::string big(3000, 'f');
    auto pkt = udp_packet(ep("10.66.0.10", 1032), ep("10.66.0.1", 69), bytes_of(big));
    for (const auto& f : fragment_ipv4(pkt, 1480))
        frag.add_ip(kT0, f);
    frag.write(dir / "fragments.pcap");
    CaptureWriter bot;
    emulate_bot_session(bot, kT0);
    bot.write(dir / "bot-session.pcap");
    std::printf("seeds written to %s\n", dir.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view cmd = argc == 3 ? argv[1] : "";
    try {
        if (argc == 4 && std::string_view(argv[1]) == "synflood") {
            std::uint64_t n = std::stoull(argv[3]);
            PcapStreamWriter out(argv[2]);
            spoofed_syn_flood(out, kT0, ep("10.66.0.200", 80), n, 100'000);
            std::printf("%s: %llu SYNs from random sources\n", argv[2],
                        static_cast<unsigned long long>(n));
            return 0;
        }
        if (cmd == "demo") {
            CaptureWriter w;
            emulate_bot_session(w, kT0);
            w.write(argv[2]);
            std::printf("%s: %zu packets of an emulated bot session\n", argv[2], w.frames().size());
            return 0;
        }
        if (cmd == "seeds")
            return seeds(argv[2]);
        if (cmd == "streams") {
            CaptureWriter w;
            split_streams(w);
            w.write(argv[2]);
            std::printf("%s: %zu packets of split streams\n", argv[2], w.frames().size());
            return 0;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "botscope-testgen: %s\n", e.what());
        return 1;
    }
    std::fprintf(
        stderr,
        "usage: botscope-testgen demo OUT.pcap | seeds DIR | streams OUT.pcap | synflood OUT.pcap "
        "PACKETS\n");
    return 2;
}
