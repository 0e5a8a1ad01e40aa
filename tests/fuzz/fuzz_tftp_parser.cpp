// Fuzzes the TFTP parser and the analyzer's transfer table.
//
// The whole input is parsed as one datagram; then it is read as a script of framed datagrams
// between one server and two client ports:
//   [ctl][len_hi][len_lo][payload: len bytes, cut at the end of the input] ...
// ctl bits 0-1: 0 client -> server:69, 1 server:tid -> client, 2 client -> server:tid,
//               3 server:tid2 -> client
// ctl bit 2:    end this datagram's flow afterwards
// ctl bits 3-5: time step: +1 ms, +10 ms, +100 ms, +1 s, +10 s, +61 s (expiry), -1 h, 0
// ctl bit 6:    the second client port
// Each payload is copied to its own heap buffer of exactly its size so that AddressSanitizer
// reports any read past its end.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>

#include "analysis/proto/tftp/tftp_analyzer.h"
#include "analysis/proto/tftp/tftp_parser.h"

namespace {

using namespace botscope::analysis;

constexpr Timestamp kSteps[8] = {1'000'000,      10'000'000,     100'000'000,        1'000'000'000,
                                 10'000'000'000, 61'000'000'000, -3'600'000'000'000, 0};

struct FlowState {
    FlowInfo info;
    bool claimed = false;
    int probes = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> input(data, size);

    auto whole = tftp::parse_packet(input);
    (void)whole;
    (void)tftp::parse_options(input);
    (void)tftp::sniff_file_kind(input, size % 2 == 0);

    tftp::TftpResult result;
    tftp::TftpAnalyzer analyzer(result);
    Weirds weirds;
    const IpAddress client_ip = IpAddress::v4(10, 0, 0, 2);
    const IpAddress server_ip = IpAddress::v4(10, 0, 0, 1);
    const Endpoint clients[2] = {{client_ip, 50618}, {client_ip, 50619}};
    const Endpoint server{server_ip, 69}, tid{server_ip, 3445}, tid2{server_ip, 3446};

    std::map<std::pair<Endpoint, Endpoint>, FlowState> flows;
    FlowId next_id = 1;
    Timestamp ts = 1'000'000'000'000'000'000;
    std::size_t pos = 0;
    while (pos + 3 <= size) {
        std::uint8_t ctl = input[pos];
        std::size_t len = (std::size_t{input[pos + 1]} << 8) | input[pos + 2];
        pos += 3;
        len = std::min(len, size - pos);
        auto buf = std::make_unique<std::uint8_t[]>(len == 0 ? 1 : len);
        if (len > 0)
            std::memcpy(buf.get(), input.subspan(pos, len).data(), len);
        pos += len;

        Endpoint client = clients[(ctl >> 6) & 1];
        Endpoint src, dst;
        switch (ctl & 3) {
            case 0:
                src = client, dst = server;
                break;
            case 1:
                src = tid, dst = client;
                break;
            case 2:
                src = client, dst = tid;
                break;
            default:
                src = tid2, dst = client;
                break;
        }
        ts += kSteps[(ctl >> 3) & 7];

        auto key = src < dst ? std::pair{src, dst} : std::pair{dst, src};
        auto [it, fresh] = flows.try_emplace(key);
        FlowState& f = it->second;
        if (fresh) {
            f.info.id = next_id++;
            f.info.transport = Transport::kUdp;
            f.info.orig = src;
            f.info.resp = dst;
            f.info.start = ts;
        }
        Datagram d;
        d.flow = f.info;
        d.dir = src == f.info.orig ? Direction::kOrig : Direction::kResp;
        d.src = src;
        d.dst = dst;
        d.payload = std::span<const std::uint8_t>(buf.get(), len);
        d.ts = ts;
        if (!f.claimed && f.probes < 4) {
            ++f.probes;
            f.claimed = analyzer.probe(d);
        }
        if (f.claimed)
            analyzer.on_datagram(d, weirds);
        if (ctl & 4) {
            if (f.claimed)
                analyzer.on_flow_end(f.info.id, ts);
            flows.erase(it);
        }
    }
    for (auto& [key, f] : flows)
        if (f.claimed)
            analyzer.on_flow_end(f.info.id, ts);
    analyzer.finish(ts);
    for (const auto& t : result.transfers)
        if (t.filename.size() > tftp::kMaxFilenameLength)
            __builtin_trap();
    return 0;
}
