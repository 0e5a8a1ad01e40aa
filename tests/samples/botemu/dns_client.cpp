#include "dns_client.h"

#include <algorithm>
#include <optional>

#include "analysis/proto/dns/dns_parser.h"
#include "util/text.h"

namespace botscope::botemu {

namespace dns = analysis::dns;

namespace {

bool label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

std::string_view without_root_dot(std::string_view name) {
    if (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    return name;
}

bool same_name(std::string_view a, std::string_view b) {
    return util::iequals(without_root_dot(a), without_root_dot(b));
}

DnsAnswer fail(DnsAnswer::Status status, std::string why) {
    DnsAnswer a;
    a.status = status;
    a.error = std::move(why);
    return a;
}

// Only a clean, complete answer to this very question is used.
std::optional<DnsAnswer> reject_unusable(const dns::DnsMessage& m, std::uint16_t id,
                                         std::string_view name, std::uint16_t qtype) {
    using S = DnsAnswer::Status;
    if (!m.header_ok || !m.header.qr || m.header.id != id)
        return fail(S::kMismatch, "not an answer to this query");
    if (m.header.qdcount != 1 || m.questions.size() != 1 || m.questions[0].qtype != qtype ||
        !same_name(m.questions[0].name, name))
        return fail(S::kMismatch, "answer to another question");
    if (m.status != dns::ParseStatus::kOk || m.name_issues != 0)
        return fail(S::kBad, "malformed answer: " + (m.problem.empty() ? "bad name" : m.problem));
    if (m.records_dropped != 0)
        return fail(S::kBad, "answer claims " + std::to_string(m.header.ancount) + " records");
    if (m.header.tc)
        return fail(S::kBad, "truncated answer (TC)");
    if (m.header.opcode != 0)
        return fail(S::kBad, "answer with opcode " + dns::opcode_name(m.header.opcode));
    if (m.header.rcode == dns::kRcodeNxDomain)
        return fail(S::kNoData, "NXDOMAIN");
    if (m.header.rcode != dns::kRcodeNoError)
        return fail(S::kBad, dns::rcode_name(m.header.rcode));
    return std::nullopt;
}

// A records of `name`, following CNAMEs from the answer section.
std::vector<Ipv4> addresses_of(const dns::DnsMessage& m, std::string_view name) {
    std::string current(without_root_dot(name));
    for (std::size_t hop = 0; hop <= kMaxCnameHops; ++hop) {
        std::vector<Ipv4> out;
        const dns::DnsRecord* cname = nullptr;
        for (const auto& r : m.records) {
            if (r.section != dns::Section::kAnswer || !same_name(r.name, current))
                continue;
            if (r.type == dns::kTypeA && r.address && !r.address->v6) {
                const auto& b = r.address->bytes;
                out.push_back((Ipv4{b[0]} << 24) | (Ipv4{b[1]} << 16) | (Ipv4{b[2]} << 8) | b[3]);
            } else if (r.type == dns::kTypeCname && !cname) {
                cname = &r;
            }
        }
        if (!out.empty() || !cname || !is_valid_hostname(cname->rdata))
            return out;
        current = cname->rdata;
    }
    return {};
}

std::vector<MxHost> exchanges_of(const dns::DnsMessage& m, std::string_view name) {
    std::vector<MxHost> out;
    for (const auto& r : m.records) {
        if (r.section != dns::Section::kAnswer || r.type != dns::kTypeMx || r.bad_rdata ||
            !same_name(r.name, name))
            continue;
        // Rendered as "preference exchange".
        auto space = r.rdata.find(' ');
        if (space == std::string::npos)
            continue;
        auto pref = util::parse_u64(std::string_view(r.rdata).substr(0, space));
        std::string host(without_root_dot(std::string_view(r.rdata).substr(space + 1)));
        if (!pref || *pref > 0xFFFF || !is_valid_hostname(host))
            continue;
        out.push_back({static_cast<std::uint16_t>(*pref), std::move(host)});
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
    return out;
}

}  // namespace

bool is_valid_hostname(std::string_view name) {
    name = without_root_dot(name);
    if (name.empty() || name.size() > 253 || fakenet::parse_ipv4(name))
        return false;
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (!label_char(c) || ++label > 63) {
            return false;
        }
    }
    return label != 0;
}

std::vector<std::uint8_t> build_query(std::uint16_t id, std::string_view name,
                                      std::uint16_t qtype) {
    if (!is_valid_hostname(name))
        return {};
    std::vector<std::uint8_t> q = {static_cast<std::uint8_t>(id >> 8),
                                   static_cast<std::uint8_t>(id),
                                   0x01,
                                   0x00,  // RD
                                   0,
                                   1,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0};  // one question
    for (auto label : util::split(without_root_dot(name), '.')) {
        q.push_back(static_cast<std::uint8_t>(label.size()));
        q.insert(q.end(), label.begin(), label.end());
    }
    q.insert(q.end(), {0, static_cast<std::uint8_t>(qtype >> 8), static_cast<std::uint8_t>(qtype),
                       0, 1});  // class IN
    return q;
}

DnsAnswer parse_answer(std::span<const std::uint8_t> msg, std::uint16_t id, std::string_view name,
                       std::uint16_t qtype) {
    const dns::DnsMessage m = dns::parse_message(msg);
    if (auto rejected = reject_unusable(m, id, name, qtype))
        return *rejected;
    DnsAnswer a;
    if (qtype == kQueryMx)
        a.exchanges = exchanges_of(m, name);
    else
        a.addresses = addresses_of(m, name);
    if (a.addresses.empty() && a.exchanges.empty())
        return fail(DnsAnswer::Status::kNoData, "no " + dns::type_name(qtype) + " record");
    a.status = DnsAnswer::Status::kOk;
    return a;
}

}  // namespace botscope::botemu
