#include "fakenet/dns_responder.h"

#include <algorithm>
#include <vector>

#include "analysis/proto/dns/dns_parser.h"
#include "fakenet/raw_sink.h"
#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::fakenet {

namespace dns = analysis::dns;

namespace {

constexpr std::uint8_t kRcodeFormErr = 1;
constexpr std::uint8_t kRcodeNotImp = 4;
constexpr std::uint8_t kRcodeRefused = 5;
constexpr std::uint16_t kClassIn = 1;
constexpr std::uint16_t kClassAny = 255;
constexpr std::size_t kMaxWireName = 255;
constexpr std::string_view kZone = "sandbox.test";
constexpr std::string_view kNsName = "ns1.sandbox.test";
constexpr std::string_view kHostmaster = "hostmaster.sandbox.test";
constexpr std::string_view kSpf = "v=spf1 -all";
// A serial in the era's date style; resolvers only compare it.
constexpr std::uint32_t kSoaSerial = 2005010101;

/// The first question as it sits in the query. Its name cannot be compressed (a pointer must
/// go backwards past the header), so its bytes are copied into the response as they are.
struct Question {
    std::string text;                    ///< presentation form, as read_name renders it
    std::string lower;                   ///< for the policy
    std::vector<std::size_t> labels;     ///< offset of each label's length byte
    std::span<const std::uint8_t> wire;  ///< name, type and class
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
};

struct QuestionRead {
    std::optional<Question> question;
    std::string partial_name;  ///< for the record of a malformed question
};

QuestionRead read_question(std::span<const std::uint8_t> msg) {
    QuestionRead out;
    const dns::ParsedName name = dns::read_name(msg, dns::kHeaderSize);
    out.partial_name = name.text;
    if (!name.complete() || name.end - dns::kHeaderSize > kMaxWireName)
        return out;
    util::ByteReader r(msg);
    r.seek(name.end);
    const std::uint16_t qtype = r.u16be();
    const std::uint16_t qclass = r.u16be();
    if (!r.ok())
        return out;
    Question q;
    q.text = name.text;
    q.lower = util::to_lower(name.text);
    q.qtype = qtype;
    q.qclass = qclass;
    q.wire = msg.subspan(dns::kHeaderSize, r.offset() - dns::kHeaderSize);
    for (std::size_t pos = dns::kHeaderSize; msg[pos] != 0; pos += 1 + msg[pos])
        q.labels.push_back(pos);
    out.question = std::move(q);
    return out;
}

/// The UDP payload size of an EDNS0 OPT record in the query, if there is one.
std::optional<std::uint16_t> edns_size(std::span<const std::uint8_t> query) {
    const dns::DnsMessage m = dns::parse_message(query);
    for (const auto& r : m.records)
        if (r.section == dns::Section::kAdditional && r.type == dns::kTypeOpt)
            return r.rclass;
    return std::nullopt;
}

/// Whether `name` is `suffix` or below it; returns the number of labels of `suffix`.
std::optional<std::size_t> matches_suffix(std::string_view name, std::string_view suffix) {
    if (suffix.empty())
        return std::nullopt;
    if (name.size() < suffix.size() || name.substr(name.size() - suffix.size()) != suffix)
        return std::nullopt;
    if (name.size() != suffix.size() && name[name.size() - suffix.size() - 1] != '.')
        return std::nullopt;
    return static_cast<std::size_t>(std::count(suffix.begin(), suffix.end(), '.')) + 1;
}

/// The labels of the most specific dead name that covers `lower`.
std::optional<std::size_t> dead_match(const DnsPolicy& policy, std::string_view lower) {
    std::optional<std::size_t> best;
    for (const auto& dead : policy.nxdomain)
        if (auto n = matches_suffix(lower, dead); n && (!best || *n > *best))
            best = n;
    return best;
}

Ipv4 address_of(const DnsPolicy& policy, const std::string& lower) {
    auto it = policy.names.find(lower);
    return it == policy.names.end() ? policy.sinkhole : it->second;
}

/// "host-a-b-c-d.sandbox.test" for "d.c.b.a.in-addr.arpa".
std::optional<std::string> reverse_host(std::string_view lower) {
    auto parts = util::split(lower, '.', false);
    if (parts.size() != 6 || parts[4] != "in-addr" || parts[5] != "arpa")
        return std::nullopt;
    std::string host = "host";
    for (int i = 3; i >= 0; --i) {
        auto octet = util::parse_u64(parts[static_cast<std::size_t>(i)]);
        if (!octet || *octet > 255 || parts[static_cast<std::size_t>(i)].size() > 3)
            return std::nullopt;
        host += '-' + std::to_string(*octet);
    }
    return host + '.' + std::string(kZone);
}

/// Builds a response in wire format. Names in answers point back into the question (offsets
/// are the same as in the query: the question sits right after the header in both).
class Writer {
public:
    std::string buf;

    void u8(std::uint8_t v) { buf.push_back(static_cast<char>(v)); }
    void u16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v & 0xFF));
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v & 0xFFFF));
    }
    void bytes(std::span<const std::uint8_t> b) { buf.append(b.begin(), b.end()); }
    void set16(std::size_t off, std::uint16_t v) {
        buf[off] = static_cast<char>(v >> 8);
        buf[off + 1] = static_cast<char>(v & 0xFF);
    }
    void pointer(std::size_t target) { u16(static_cast<std::uint16_t>(0xC000 | target)); }
    /// Our own names (fixed, short, plain labels), uncompressed.
    void name(std::string_view text) {
        for (auto label : util::split(text, '.')) {
            u8(static_cast<std::uint8_t>(label.size()));
            buf.append(label);
        }
        u8(0);
    }
    /// Type, class, TTL and a placeholder length; returns where the length goes.
    std::size_t rr_head(std::uint16_t type, std::uint32_t ttl) {
        u16(type);
        u16(kClassIn);
        u32(ttl);
        u16(0);
        return buf.size() - 2;
    }
    void end_rdata(std::size_t len_at) {
        set16(len_at, static_cast<std::uint16_t>(buf.size() - len_at - 2));
    }
};

struct Answer {
    std::uint8_t rcode = dns::kRcodeNoError;
    std::vector<std::string> texts;  ///< the answer section's rdata as text
};

/// Writes one response: the header, then either nothing (an error about the question itself)
/// or the echoed question and the records answer() chooses.
class Responder {
public:
    Responder(const dns::DnsHeader& h, const DnsPolicy& policy) : h_(h), policy_(policy) {
        w_.u16(h.id);
        for (int i = 0; i < 5; ++i)
            w_.u16(0);  // flags and counts, set by finish()
    }

    Answer answer(const Question& q) {
        Answer a;
        w_.bytes(q.wire);
        qdcount_ = 1;
        question_end_ = w_.buf.size();
        if (q.qclass != kClassIn && q.qclass != kClassAny) {
            a.rcode = kRcodeRefused;
            return a;
        }
        if (auto dead = dead_match(policy_, q.lower)) {
            a.rcode = dns::kRcodeNxDomain;
            // The zone that says so is the dead name's parent: its own apex would exist.
            soa(q, q.labels.size() - (*dead - 1));
            return a;
        }
        switch (q.qtype) {
            case dns::kTypeA:
                a.texts.push_back(address_rr(kQuestionOffset, address_of(policy_, q.lower)));
                ++ancount_;
                break;
            case dns::kTypeMx:
                a.texts.push_back(mx(q));
                break;
            case dns::kTypeNs:
                a.texts.push_back(ns());
                break;
            case dns::kTypeTxt:
                a.texts.push_back(txt());
                break;
            case dns::kTypePtr:
                if (auto host = reverse_host(q.lower)) {
                    a.texts.push_back(ptr(*host));
                    break;
                }
                soa(q, apex_label(q));
                break;
            default:
                soa(q, apex_label(q));
                break;
        }
        return a;
    }

    /// EDNS0 (RFC 6891): a query with an OPT gets one back, offering kMaxEdnsResponse.
    void add_opt() {
        w_.u8(0);  // root
        w_.u16(dns::kTypeOpt);
        w_.u16(static_cast<std::uint16_t>(kMaxEdnsResponse));
        w_.u32(0);
        w_.u16(0);
        ++arcount_;
    }

    /// The message; cut to the header and question, with TC, when over `limit`.
    std::string finish(std::uint8_t rcode, std::size_t limit, bool& truncated) {
        truncated = w_.buf.size() > limit;
        if (truncated) {
            w_.buf.resize(question_end_);
            ancount_ = nscount_ = arcount_ = 0;
        }
        const bool aa = rcode == dns::kRcodeNoError || rcode == dns::kRcodeNxDomain;
        const std::uint16_t flags = static_cast<std::uint16_t>(
            0x8000 | (h_.opcode & 0x0F) << 11 | (aa ? 0x0400 : 0) | (truncated ? 0x0200 : 0) |
            (h_.rd ? 0x0100 : 0) | 0x0080 | (rcode & 0x0F));
        w_.set16(2, flags);
        w_.set16(4, qdcount_);
        w_.set16(6, ancount_);
        w_.set16(8, nscount_);
        w_.set16(10, arcount_);
        return std::move(w_.buf);
    }

private:
    static constexpr std::size_t kQuestionOffset = dns::kHeaderSize;

    std::string address_rr(std::size_t owner, Ipv4 ip) {
        w_.pointer(owner);
        auto len = w_.rr_head(dns::kTypeA, policy_.ttl);
        w_.u32(ip);
        w_.end_rdata(len);
        return format_ipv4(ip);
    }

    std::string mx(const Question& q) {
        const std::string exchange = q.text == "." ? "mail" : "mail." + q.text;
        w_.pointer(kQuestionOffset);
        auto len = w_.rr_head(dns::kTypeMx, policy_.ttl);
        w_.u16(10);
        const std::size_t exchange_at = w_.buf.size();
        w_.u8(4);
        w_.buf.append("mail");
        w_.pointer(kQuestionOffset);
        w_.end_rdata(len);
        ++ancount_;
        const std::string lower = util::to_lower(exchange);
        if (!dead_match(policy_, lower)) {
            address_rr(exchange_at, address_of(policy_, lower));
            ++arcount_;
        }
        return exchange;
    }

    std::string ns() {
        w_.pointer(kQuestionOffset);
        auto len = w_.rr_head(dns::kTypeNs, policy_.ttl);
        const std::size_t ns_at = w_.buf.size();
        w_.name(kNsName);
        w_.end_rdata(len);
        ++ancount_;
        address_rr(ns_at, address_of(policy_, std::string(kNsName)));
        ++arcount_;
        return std::string(kNsName);
    }

    std::string txt() {
        w_.pointer(kQuestionOffset);
        auto len = w_.rr_head(dns::kTypeTxt, policy_.ttl);
        w_.u8(static_cast<std::uint8_t>(kSpf.size()));
        w_.buf.append(kSpf);
        w_.end_rdata(len);
        ++ancount_;
        return std::string(kSpf);
    }

    std::string ptr(const std::string& host) {
        w_.pointer(kQuestionOffset);
        auto len = w_.rr_head(dns::kTypePtr, policy_.ttl);
        w_.name(host);
        w_.end_rdata(len);
        ++ancount_;
        return host;
    }

    /// The label where a name's zone starts: its last two labels (a registered domain).
    static std::size_t apex_label(const Question& q) {
        return q.labels.size() < 2 ? 0 : q.labels.size() - 2;
    }

    /// An SOA in the authority section for the zone made of the question's labels from
    /// `first_label` on (the root when none are left).
    void soa(const Question& q, std::size_t first_label) {
        if (first_label < q.labels.size())
            w_.pointer(q.labels[first_label]);
        else
            w_.u8(0);
        auto len = w_.rr_head(dns::kTypeSoa, policy_.ttl);
        w_.name(kNsName);
        w_.name(kHostmaster);
        w_.u32(kSoaSerial);
        w_.u32(3600);         // refresh
        w_.u32(900);          // retry
        w_.u32(604800);       // expire
        w_.u32(policy_.ttl);  // negative-caching TTL
        w_.end_rdata(len);
        ++nscount_;
    }

    dns::DnsHeader h_;
    const DnsPolicy& policy_;
    Writer w_;
    std::uint16_t qdcount_ = 0, ancount_ = 0, nscount_ = 0, arcount_ = 0;
    std::size_t question_end_ = dns::kHeaderSize;
};

/// RFC 1035 4.2.2: each message behind a 2-byte length. Fills one frame at a time, so it
/// never holds more than one message.
class DnsTcpSession : public TcpSession {
public:
    DnsTcpSession(const ConnInfo& conn, const DnsPolicy& policy, Recorder& rec)
        : conn_(conn), policy_(policy), rec_(rec) {}

    void on_data(std::string_view data, Millis now, Output& out) override {
        (void)now;
        while (!data.empty() && !closed_) {
            const std::size_t want = buf_.size() < 2 ? 2 : 2 + frame_length();
            const std::size_t take = std::min(want - buf_.size(), data.size());
            buf_.append(data.substr(0, take));
            data.remove_prefix(take);
            if (buf_.size() == 2 && (frame_length() == 0 || frame_length() > kMaxTcpMessage)) {
                close(out);
                break;
            }
            if (buf_.size() > 2 && buf_.size() == 2 + frame_length())
                answer(out);
        }
    }

    std::size_t buffered() const override { return buf_.size(); }

private:
    std::size_t frame_length() const {
        return (std::size_t{static_cast<std::uint8_t>(buf_[0])} << 8) |
               static_cast<std::uint8_t>(buf_[1]);
    }

    void answer(Output& out) {
        const auto message = util::as_bytes(std::string_view(buf_).substr(2));
        if (auto reply = answer_dns(message, policy_, conn_, "tcp", rec_)) {
            out.data.push_back(static_cast<char>(reply->size() >> 8));
            out.data.push_back(static_cast<char>(reply->size() & 0xFF));
            out.data += *reply;
        }
        buf_.clear();
        if (++messages_ >= kMaxTcpMessages)
            close(out);
    }

    void close(Output& out) {
        closed_ = true;
        buf_.clear();
        buf_.shrink_to_fit();
        out.close = true;
    }

    ConnInfo conn_;
    DnsPolicy policy_;
    Recorder& rec_;
    std::string buf_;
    std::size_t messages_ = 0;
    bool closed_ = false;
};

}  // namespace

std::optional<std::string> answer_dns(std::span<const std::uint8_t> query, const DnsPolicy& policy,
                                      const ConnInfo& conn, std::string_view transport,
                                      Recorder& rec) {
    const auto header = dns::parse_header(query);
    if (!header || header->qr)
        return std::nullopt;
    const bool tcp = transport == "tcp";
    std::size_t limit = tcp ? kMaxTcpMessage : kMaxUdpResponse;
    Json name = nullptr;
    Json type = nullptr;
    Answer a;
    Responder r(*header, policy);

    const QuestionRead q = header->qdcount > 0 ? read_question(query) : QuestionRead{};
    if (q.question) {
        name = q.question->text;
        type = dns::type_name(q.question->qtype);
    } else if (!q.partial_name.empty()) {
        name = q.partial_name;
    }
    if (header->opcode != 0) {
        a.rcode = kRcodeNotImp;
    } else if (!q.question) {
        a.rcode = kRcodeFormErr;
    } else {
        a = r.answer(*q.question);
        if (auto size = edns_size(query)) {
            r.add_opt();
            if (!tcp)
                limit = std::clamp<std::size_t>(*size, kMaxUdpResponse, kMaxEdnsResponse);
        }
    }
    bool truncated = false;
    std::string reply = r.finish(a.rcode, limit, truncated);
    if (truncated)
        a.texts.clear();

    Json j = connection_fields(conn);
    j["transport"] = std::string(transport);
    j["id"] = header->id;
    j["name"] = std::move(name);
    j["type"] = std::move(type);
    j["rcode"] = dns::rcode_name(a.rcode);
    j["answers"] = a.texts;
    rec.record("dns", std::move(j));
    return reply;
}

std::unique_ptr<TcpSession> make_dns_tcp_session(const ConnInfo& conn, const DnsPolicy& policy,
                                                 Recorder& rec) {
    return std::make_unique<DnsTcpSession>(conn, policy, rec);
}

}  // namespace botscope::fakenet
