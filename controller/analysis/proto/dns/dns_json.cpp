#include "analysis/proto/dns/dns_json.h"

#include <cstddef>

namespace botscope::report {

namespace {

using analysis::dns::DnsAnswer;
using analysis::dns::DnsFlags;
using analysis::dns::DnsNameSummary;
using analysis::dns::DnsTransaction;

Json flags_json(const DnsFlags& f) {
    Json out = Json::array();
    if (f.aa)
        out.push_back("AA");
    if (f.tc)
        out.push_back("TC");
    if (f.rd)
        out.push_back("RD");
    if (f.ra)
        out.push_back("RA");
    if (f.ad)
        out.push_back("AD");
    if (f.cd)
        out.push_back("CD");
    return out;
}

Json answer_json(const DnsAnswer& a) {
    Json out;
    out["section"] = analysis::dns::section_name(a.section);
    out["name"] = a.name;
    out["type"] = analysis::dns::type_name(a.type);
    out["class"] = analysis::dns::class_name(a.rclass);
    out["ttl"] = a.ttl;
    out["rdata"] = a.rdata;
    return out;
}

Json transaction_json(const DnsTransaction& t) {
    Json out;
    out["ts"] = ts_json(t.ts);
    out["flow"] = t.flow;
    out["transport"] = analysis::transport_name(t.transport);
    out["client"] = endpoint_json(t.client);
    out["server"] = endpoint_json(t.server);
    out["trans_id"] = t.trans_id;
    out["opcode"] = analysis::dns::opcode_name(t.opcode);
    out["query"] = t.query;
    out["qtype"] = t.qtype;
    out["qtype_name"] = analysis::dns::type_name(t.qtype);
    out["qclass"] = analysis::dns::class_name(t.qclass);
    if (t.qdcount > 1)
        out["qdcount"] = t.qdcount;
    out["query_seen"] = t.query_seen;
    if (t.retransmissions != 0)
        out["retransmissions"] = t.retransmissions;
    out["answered"] = t.answered;
    out["flags"] = flags_json(t.flags);
    if (t.answered) {
        out["response_ts"] = ts_json(t.response_ts);
        if (auto rtt = t.rtt())
            out["rtt"] = analysis::to_seconds(*rtt);
        out["rcode"] = t.rcode;
        out["rcode_name"] = analysis::dns::rcode_name(t.rcode);
        out["ancount"] = t.ancount;
        out["nscount"] = t.nscount;
        out["arcount"] = t.arcount;
        Json answers = Json::array();
        for (const DnsAnswer& a : t.answers)
            answers.push_back(answer_json(a));
        out["answers"] = std::move(answers);
        if (t.answers_dropped != 0)
            out["answers_dropped"] = t.answers_dropped;
        if (t.extra_responses != 0)
            out["extra_responses"] = t.extra_responses;
    }
    if (t.malformed)
        out["malformed"] = true;
    return out;
}

Json name_json(const DnsNameSummary& s) {
    Json out;
    out["name"] = s.name;
    out["queries"] = s.queries;
    out["responses"] = s.responses;
    out["nxdomain"] = s.nxdomain;
    out["first_ts"] = ts_json(s.first_ts);
    out["last_ts"] = ts_json(s.last_ts);
    Json addrs = Json::array();
    for (const auto& ip : s.addresses)
        addrs.push_back(ip.to_string());
    out["addresses"] = std::move(addrs);
    if (s.addresses_truncated)
        out["addresses_truncated"] = true;
    return out;
}

}  // namespace

Json to_json(const analysis::dns::DnsResult& result) {
    std::size_t unanswered = 0;
    for (const auto& t : result.transactions)
        if (!t.answered)
            ++unanswered;

    Json out;
    out["messages"] = result.messages;
    out["queries"] = result.queries;
    out["responses"] = result.responses;
    out["malformed"] = result.malformed;
    out["unmatched_responses"] = result.unmatched_responses;
    out["unanswered"] = unanswered;
    const std::uint64_t count = result.transactions.size() + result.dropped;
    Json transactions = sample_list(result.transactions, transaction_json);
    out["count"] = count;
    out["omitted"] = count - transactions.size();
    out["transactions"] = std::move(transactions);
    out["dropped"] = result.dropped;
    out["answers_dropped"] = result.answers_dropped;
    Json names = sample_list(result.names, name_json);
    out["names_omitted"] = result.names.size() - names.size();
    out["names"] = std::move(names);
    out["names_dropped"] = result.names_dropped;
    return out;
}

Json to_json(const analysis::dns::DnsTransaction& t) {
    return transaction_json(t);
}

}  // namespace botscope::report
