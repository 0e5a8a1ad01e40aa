// libFuzzer target for fakenet's DNS responder. The input is one query message, answered as a
// UDP payload and as a TCP frame under a policy with a mapped name and a dead one. Every reply
// must parse back cleanly with the analysis' DNS parser, keep the query's id, stay within its
// transport's size, and come with exactly one record that serialises as strict JSON; no reply
// must come with no record.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "analysis/proto/dns/dns_parser.h"
#include "fakenet/dns_responder.h"
#include "unit/fakenet/memory_recorder.h"

using namespace botscope::fakenet;
namespace dns = botscope::analysis::dns;

namespace {

void fail(const char* why) {
    std::fprintf(stderr, "fuzz_fakenet_dns: %s\n", why);
    std::abort();
}

const DnsPolicy& policy() {
    static const DnsPolicy p = [] {
        DnsPolicy d;
        d.names["cc.evil.test"] = 0x0A420032u;
        d.nxdomain.insert("dead.test");
        d.nxdomain.insert("example");
        return d;
    }();
    return p;
}

void check(std::span<const std::uint8_t> query, std::string_view transport) {
    testing::MemoryRecorder rec;
    const ConnInfo conn{1, {0x0A42000Au, 1053}, {0x0A420001u, 53}};
    const auto reply = answer_dns(query, policy(), conn, transport, rec);
    if (!reply) {
        if (!rec.records.empty())
            fail("a record without a reply");
        return;
    }
    if (rec.records.size() != 1 || rec.records[0].first != "dns")
        fail("a reply without exactly one dns record");
    try {
        (void)rec.records[0].second.dump();
    } catch (const std::exception&) {
        fail("the record is not valid JSON text");
    }
    const std::size_t limit = transport == "tcp" ? kMaxTcpMessage : kMaxEdnsResponse;
    if (reply->size() > limit)
        fail("reply over its transport's limit");
    // Its own heap buffer, so an over-read by the parser is seen too.
    auto copy = std::make_unique<std::uint8_t[]>(reply->size());
    std::memcpy(copy.get(), reply->data(), reply->size());
    const dns::DnsMessage m = dns::parse_message({copy.get(), reply->size()});
    if (m.status != dns::ParseStatus::kOk || !m.header_ok)
        fail("the reply does not parse");
    if (!m.header.qr || m.header.qdcount > 1 || m.name_issues != 0 || m.bad_rdata != 0)
        fail("the reply is not a clean response");
    if (transport == "udp" && reply->size() > kMaxUdpResponse) {
        bool opt = false;
        for (const auto& r : m.records)
            opt = opt || r.type == dns::kTypeOpt;
        if (!opt)
            fail("a UDP reply over 512 bytes to a query without EDNS0");
    }
    const auto q = dns::parse_header(query);
    if (!q || q->id != m.header.id || q->opcode != m.header.opcode)
        fail("the reply does not match its query");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> query(data, size);
    check(query, "udp");
    check(query, "tcp");
    return 0;
}
