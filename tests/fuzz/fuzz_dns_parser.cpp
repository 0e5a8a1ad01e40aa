// libFuzzer target for the DNS parser and both DNS analyzers.
//
// The input is parsed whole as one message, then cut at a few positions derived from its size
// and first byte: the pieces go to the UDP analyzer as datagrams of two flows (both
// directions) and to the TCP analyzer as stream data alternating between directions. Every
// piece lives in its own heap buffer of exactly its size so AddressSanitizer sees over-reads.
// The parser's documented bounds are checked on every result.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/proto/dns/dns_analyzer.h"
#include "analysis/proto/dns/dns_parser.h"

using namespace botscope::analysis;
using namespace botscope::analysis::dns;

namespace {

struct Piece {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t size = 0;
    std::span<const std::uint8_t> span() const { return {bytes.get(), size}; }
};

Piece copy(const std::uint8_t* data, std::size_t size) {
    Piece p;
    p.bytes = std::make_unique<std::uint8_t[]>(size == 0 ? 1 : size);
    if (size != 0)
        std::copy(data, data + size, p.bytes.get());
    p.size = size;
    return p;
}

void check(bool ok) {
    if (!ok)
        std::abort();
}

void check_message(const DnsMessage& m) {
    check(m.questions.size() <= kMaxQuestions);
    check(m.records.size() <= kMaxRecordsPerMessage);
    for (const auto& q : m.questions)
        check(q.name.size() <= kMaxNameLength);
    for (const auto& r : m.records) {
        check(r.name.size() <= kMaxNameLength);
        check(r.rdata.size() <= kMaxRdataText);
    }
    check(m.issue_name.size() <= kMaxIssueNameLength);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Piece whole = copy(data, size);
    check_message(parse_message(whole.span()));
    for (std::size_t off : {std::size_t{12}, size / 2, size > 0 ? size - 1 : 0}) {
        ParsedName n = read_name(whole.span(), off);
        check(n.text.size() <= kMaxNameLength);
        check(!n.found_end || n.end <= size);
    }
    (void)check_plausible(whole.span(), true);
    (void)check_plausible(whole.span(), false);

    // Cut points: thirds of the input, and one chosen by the first byte.
    std::vector<std::size_t> cuts = {size / 3, 2 * size / 3};
    if (size > 0)
        cuts.push_back(data[0] % (size + 1));
    cuts.push_back(size);
    std::sort(cuts.begin(), cuts.end());
    std::vector<Piece> pieces;
    std::size_t start = 0;
    for (std::size_t cut : cuts) {
        if (cut < start)
            continue;
        pieces.push_back(copy(data + start, cut - start));
        start = cut;
    }

    DnsResult result;
    Weirds weirds;
    {
        DnsUdpAnalyzer udp(result);
        FlowInfo flows[2];
        for (int i = 0; i < 2; ++i) {
            flows[i].id = static_cast<FlowId>(i + 1);
            flows[i].transport = Transport::kUdp;
            flows[i].orig =
                Endpoint{IpAddress::v4(10, 0, 0, 2), static_cast<std::uint16_t>(1025 + i)};
            flows[i].resp = Endpoint{IpAddress::v4(10, 0, 0, 1),
                                     i == 0 ? std::uint16_t{53} : std::uint16_t{5353}};
        }
        Timestamp ts = 1;
        auto send = [&](const FlowInfo& f, bool from_client, std::span<const std::uint8_t> p) {
            Datagram d{f,
                       from_client ? Direction::kOrig : Direction::kResp,
                       from_client ? f.orig : f.resp,
                       from_client ? f.resp : f.orig,
                       p,
                       ts++};
            (void)udp.probe(d);
            udp.on_datagram(d, weirds);
        };
        send(flows[0], true, whole.span());
        send(flows[0], false, whole.span());  // the same bytes as a reply pair with the query
        for (std::size_t i = 0; i < pieces.size(); ++i)
            send(flows[i % 2], (i / 2) % 2 == 0, pieces[i].span());
        udp.on_flow_end(1, ts);
        udp.finish(ts);
    }
    {
        AnalyzerContext ctx;
        ctx.flow.id = 3;
        ctx.flow.transport = Transport::kTcp;
        ctx.flow.orig = Endpoint{IpAddress::v4(10, 0, 0, 2), 40000};
        ctx.flow.resp = Endpoint{IpAddress::v4(10, 0, 0, 1), 53};
        ctx.weirds = &weirds;
        ProbeInput in{pieces.front().span(), whole.span(), &ctx.flow};
        (void)probe(in);
        DnsTcpAnalyzer tcp(ctx, result);
        Timestamp ts = 100;
        for (std::size_t i = 0; i < pieces.size() && !tcp.gave_up(); ++i) {
            const Direction dir = i % 2 == 0 ? Direction::kOrig : Direction::kResp;
            tcp.on_data(dir, pieces[i].span(), ts++);
            if (size > 0 && data[0] == 0xFF && i == 1)
                tcp.on_gap(dir, 7, ts);
        }
        tcp.on_end(ts);
    }

    check(result.transactions.size() <= kMaxTransactions);
    check(result.names.size() <= kMaxNames);
    for (const auto& t : result.transactions)
        check(t.answers.size() <= kMaxAnswersPerTransaction);
    return 0;
}
