#include "analysis/proto/dns/dns_analyzer.h"

#include <algorithm>

#include "analysis/log_sink.h"
#include "util/text.h"

namespace botscope::analysis::dns {

namespace {

bool is_mdns(const MessageMeta& m) {
    return m.src.port == kPortMdns || m.dst.port == kPortMdns;
}

// mDNS and LLMNR answer multicast queries from another flow (or announce unasked), so a
// response without a query there is normal, not an anomaly.
bool is_link_local_resolution(const MessageMeta& m) {
    return is_mdns(m) || m.src.port == kPortLlmnr || m.dst.port == kPortLlmnr;
}

bool has_problem(const DnsMessage& msg) {
    return msg.status != ParseStatus::kOk || msg.bad_rdata != 0 || msg.name_issues != 0;
}

void add_weird(Weirds* weirds, std::string_view name, Timestamp ts, FlowId flow,
               std::string_view detail) {
    if (weirds)
        weirds->add(kAnalyzerName, name, ts, flow, detail);
}

void report_problems(const DnsMessage& msg, Weirds* weirds, FlowId flow, Timestamp ts) {
    const bool structural = (msg.name_issues & (kBadLabelType | kBadPointer)) != 0;
    if (msg.status == ParseStatus::kMalformed || msg.bad_rdata != 0 || structural)
        add_weird(weirds, kWeirdMalformed, ts, flow,
                  msg.problem.empty() ? msg.issue_name : msg.problem);
    if (msg.status == ParseStatus::kTruncated)
        add_weird(weirds, kWeirdTruncatedMessage, ts, flow, msg.problem);
    if (msg.name_issues & kNameTooLong)
        add_weird(weirds, kWeirdNameTooLong, ts, flow, msg.issue_name);
    if (msg.name_issues & kTooManyLabels)
        add_weird(weirds, kWeirdTooManyLabels, ts, flow, msg.issue_name);
    if (msg.name_issues & kPointerLoop)
        add_weird(weirds, kWeirdPointerLoop, ts, flow, msg.issue_name);
    if (msg.name_issues & kTooManyPointers)
        add_weird(weirds, kWeirdTooManyPointers, ts, flow, msg.issue_name);
}

// Counts the message, moves the flow's gate, and reports its problems once the flow is known
// to carry DNS. True when the message should be paired.
bool pass_gate(FlowGate& gate, const DnsMessage& msg, DnsResult& result, Weirds* weirds,
               FlowId flow, Timestamp ts) {
    ++result.messages;
    if (has_problem(msg))
        ++result.malformed;
    if (msg.status == ParseStatus::kOk) {
        gate.confirmed = true;
        gate.consecutive_invalid = 0;
    } else if (++gate.consecutive_invalid >= kMaxConsecutiveInvalid && !gate.gave_up) {
        gate.gave_up = true;
        if (gate.confirmed)
            add_weird(weirds, kWeirdGaveUp, ts, flow,
                      std::to_string(gate.consecutive_invalid) + " invalid messages in a row");
    }
    if (!gate.confirmed)
        return false;
    report_problems(msg, weirds, flow, ts);
    return msg.header_ok;
}

bool same_question(const DnsTransaction& t, const DnsQuestion* q) {
    if (q == nullptr)
        return t.query.empty();
    return t.qtype == q->qtype && util::iequals(t.query, q->name);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TransactionTracker

void TransactionTracker::on_message(const MessageMeta& meta, const DnsMessage& msg,
                                    Weirds* weirds) {
    if (!msg.header_ok)
        return;
    if (msg.header.qr) {
        ++result_.responses;
        on_response(meta, msg, weirds);
    } else {
        ++result_.queries;
        on_query(meta, msg, weirds);
    }
}

void TransactionTracker::forget_flow(FlowId flow) {
    auto it = pending_.lower_bound({flow, 0});
    while (it != pending_.end() && it->first.first == flow)
        it = close(it);
}

TransactionTracker::Pending::iterator TransactionTracker::close(Pending::iterator it) {
    Open& o = it->second;
    if (logs_ != nullptr)
        logs_->dns(txn(o));
    if (o.index == kUnkept)
        --unkept_open_;
    return pending_.erase(it);
}

void TransactionTracker::open(const Pending::key_type& key, DnsTransaction&& t,
                              const MessageMeta& meta, Weirds* weirds) {
    if (!full(meta, weirds)) {
        result_.transactions.push_back(std::move(t));
        pending_.insert_or_assign(key, Open{result_.transactions.size() - 1, {}});
        return;
    }
    if (logs_ == nullptr)
        return;
    if (unkept_open_ >= kMaxOpenUnkept) {
        logs_->dns(t);
        return;
    }
    pending_.insert_or_assign(key, Open{kUnkept, std::move(t)});
    ++unkept_open_;
}

bool TransactionTracker::full(const MessageMeta& meta, Weirds* weirds) {
    if (result_.transactions.size() < kMaxTransactions)
        return false;
    ++result_.dropped;
    add_weird(weirds, kWeirdRecordLimit, meta.ts, meta.flow,
              "more than " + std::to_string(kMaxTransactions) + " transactions");
    return true;
}

DnsNameSummary* TransactionTracker::summary_for(std::string_view name, const MessageMeta& meta,
                                                Weirds* weirds) {
    if (name.empty())
        return nullptr;
    // Bots and resolvers randomise letter case (DNS 0x20); one name is one entry.
    std::string key = util::to_lower(name);
    auto it = result_.name_index.find(key);
    if (it != result_.name_index.end()) {
        DnsNameSummary& s = result_.names[it->second];
        s.last_ts = std::max(s.last_ts, meta.ts);
        return &s;
    }
    if (result_.names.size() >= kMaxNames) {
        ++result_.names_dropped;
        add_weird(weirds, kWeirdNameSummaryLimit, meta.ts, meta.flow, name);
        return nullptr;
    }
    DnsNameSummary s;
    s.name = std::string(name);
    s.first_ts = meta.ts;
    s.last_ts = meta.ts;
    result_.names.push_back(std::move(s));
    result_.name_index.emplace(std::move(key), result_.names.size() - 1);
    return &result_.names.back();
}

void TransactionTracker::on_query(const MessageMeta& meta, const DnsMessage& msg, Weirds* weirds) {
    const DnsQuestion* q = msg.questions.empty() ? nullptr : &msg.questions.front();
    if (q != nullptr) {
        if (DnsNameSummary* s = summary_for(q->name, meta, weirds))
            ++s->queries;
    }
    const auto key = std::make_pair(meta.flow, msg.header.id);
    if (auto it = pending_.find(key); it != pending_.end()) {
        DnsTransaction& t = txn(it->second);
        if (t.query_seen && !t.answered && same_question(t, q)) {
            ++t.retransmissions;
            return;
        }
        // The id was reused (answered, or a different question): the old transaction is
        // closed as it stands and a response from now on belongs to the new one.
        close(it);
    }

    const bool mdns = is_mdns(meta);
    DnsTransaction t;
    t.ts = meta.ts;
    t.flow = meta.flow;
    t.transport = meta.transport;
    t.client = meta.src;
    t.server = meta.dst;
    t.trans_id = msg.header.id;
    t.opcode = msg.header.opcode;
    t.qdcount = msg.header.qdcount;
    t.query_seen = true;
    t.flags.rd = msg.header.rd;
    t.flags.cd = msg.header.cd;
    if (q != nullptr) {
        t.query = q->name;
        t.qtype = q->qtype;
        t.qclass = mdns ? static_cast<std::uint16_t>(q->qclass & 0x7FFF) : q->qclass;
    }
    t.malformed = has_problem(msg);
    open(key, std::move(t), meta, weirds);
}

void TransactionTracker::fill_response(DnsTransaction& t, bool kept, const MessageMeta& meta,
                                       const DnsMessage& msg, Weirds* weirds) {
    const DnsHeader& h = msg.header;
    t.answered = true;
    t.response_ts = meta.ts;
    t.rcode = h.rcode;
    t.flags.aa = h.aa;
    t.flags.tc = h.tc;
    t.flags.ra = h.ra;
    t.flags.ad = h.ad;
    if (!t.query_seen) {
        t.flags.rd = h.rd;
        t.flags.cd = h.cd;
    }
    t.ancount = h.ancount;
    t.nscount = h.nscount;
    t.arcount = h.arcount;

    const bool mdns = is_mdns(meta);
    std::uint32_t dropped = msg.records_dropped;
    for (const DnsRecord& rec : msg.records) {
        if (rec.type == kTypeOpt)
            continue;  // EDNS parameters, not an answer
        // Only records kept in the result count towards its total; the others live until
        // their transaction is logged.
        if (t.answers.size() >= kMaxAnswersPerTransaction ||
            (kept && result_.stored_answers >= kMaxStoredAnswers)) {
            ++dropped;
            continue;
        }
        DnsAnswer a;
        a.section = rec.section;
        a.name = rec.name;
        a.type = rec.type;
        a.rclass = mdns ? static_cast<std::uint16_t>(rec.rclass & 0x7FFF) : rec.rclass;
        a.ttl = rec.ttl;
        a.rdata = rec.rdata;
        t.answers.push_back(std::move(a));
        if (kept)
            ++result_.stored_answers;
    }
    if (dropped != 0) {
        t.answers_dropped += dropped;
        if (kept)
            result_.answers_dropped += dropped;
        add_weird(weirds, kWeirdAnswerLimit, meta.ts, meta.flow,
                  std::to_string(dropped) + " records not kept for " + t.query);
    }
    if (has_problem(msg))
        t.malformed = true;
}

void TransactionTracker::note_resolution(std::string_view name, const MessageMeta& meta,
                                         const DnsMessage& msg, Weirds* weirds) {
    DnsNameSummary* s = summary_for(name, meta, weirds);
    if (s == nullptr)
        return;
    ++s->responses;
    if (msg.header.rcode == kRcodeNxDomain)
        ++s->nxdomain;
    for (const DnsRecord& rec : msg.records) {
        if (rec.section != Section::kAnswer || !rec.address)
            continue;
        if (std::find(s->addresses.begin(), s->addresses.end(), *rec.address) != s->addresses.end())
            continue;
        if (s->addresses.size() >= kMaxAddressesPerName) {
            s->addresses_truncated = true;
            continue;
        }
        s->addresses.push_back(*rec.address);
    }
}

void TransactionTracker::on_response(const MessageMeta& meta, const DnsMessage& msg,
                                     Weirds* weirds) {
    const DnsQuestion* q = msg.questions.empty() ? nullptr : &msg.questions.front();
    const auto key = std::make_pair(meta.flow, msg.header.id);
    if (auto it = pending_.find(key); it != pending_.end()) {
        DnsTransaction& t = txn(it->second);
        if (!t.answered) {
            fill_response(t, it->second.index != kUnkept, meta, msg, weirds);
            note_resolution(t.query, meta, msg, weirds);
            return;
        }
        ++t.extra_responses;
        add_weird(weirds, kWeirdDuplicateResponse, meta.ts, meta.flow, t.query);
        return;
    }

    if (!is_link_local_resolution(meta)) {
        ++result_.unmatched_responses;
        add_weird(weirds, kWeirdUnmatchedResponse, meta.ts, meta.flow,
                  q != nullptr ? q->name : "id " + std::to_string(msg.header.id));
    }
    const bool mdns = is_mdns(meta);
    DnsTransaction t;
    t.ts = meta.ts;
    t.flow = meta.flow;
    t.transport = meta.transport;
    t.client = meta.dst;
    t.server = meta.src;
    t.trans_id = msg.header.id;
    t.opcode = msg.header.opcode;
    t.qdcount = msg.header.qdcount;
    t.query_seen = false;
    if (q != nullptr) {
        t.query = q->name;
        t.qtype = q->qtype;
        t.qclass = mdns ? static_cast<std::uint16_t>(q->qclass & 0x7FFF) : q->qclass;
    }
    // Even when the transaction cannot be kept, the name summary learns what it resolved to.
    note_resolution(t.query, meta, msg, weirds);
    fill_response(t, result_.transactions.size() < kMaxTransactions, meta, msg, weirds);
    open(key, std::move(t), meta, weirds);
}

// ---------------------------------------------------------------------------------------------
// UDP

bool DnsUdpAnalyzer::probe(const Datagram& d) {
    auto port_is = [&d](std::uint16_t p) { return d.src.port == p || d.dst.port == p; };
    if (port_is(kPortDns) || port_is(kPortMdns) || port_is(kPortLlmnr))
        return true;
    // NetBIOS name service shares DNS's message format; it is not DNS.
    if (port_is(137) || port_is(138))
        return false;
    return check_plausible(d.payload, true) == Plausibility::kYes;
}

void DnsUdpAnalyzer::on_datagram(const Datagram& d, Weirds& weirds) {
    FlowGate& gate = flows_[d.flow.id];
    if (gate.gave_up)
        return;
    const DnsMessage msg = parse_message(d.payload);
    if (!pass_gate(gate, msg, result_, &weirds, d.flow.id, d.ts))
        return;
    MessageMeta meta;
    meta.ts = d.ts;
    meta.flow = d.flow.id;
    meta.transport = Transport::kUdp;
    meta.src = d.src;
    meta.dst = d.dst;
    tracker_.on_message(meta, msg, &weirds);
}

void DnsUdpAnalyzer::on_flow_end(FlowId flow, Timestamp ts) {
    (void)ts;
    flows_.erase(flow);
    tracker_.forget_flow(flow);
}

void DnsUdpAnalyzer::finish(Timestamp ts) {
    // Transactions already live in the result; only the pairing state goes.
    std::vector<FlowId> open;
    open.reserve(flows_.size());
    for (const auto& [id, gate] : flows_)
        open.push_back(id);
    for (FlowId id : open)
        on_flow_end(id, ts);
}

// ---------------------------------------------------------------------------------------------
// TCP

void DnsTcpAnalyzer::handle_frame(Direction dir, std::span<const std::uint8_t> message,
                                  Timestamp ts) {
    const DnsMessage msg = parse_message(message);
    if (!pass_gate(gate_, msg, result_, ctx_.weirds, ctx_.flow.id, ts))
        return;
    MessageMeta meta;
    meta.ts = ts;
    meta.flow = ctx_.flow.id;
    meta.transport = Transport::kTcp;
    meta.src = dir == Direction::kOrig ? ctx_.flow.orig : ctx_.flow.resp;
    meta.dst = dir == Direction::kOrig ? ctx_.flow.resp : ctx_.flow.orig;
    tracker_.on_message(meta, msg, ctx_.weirds);
}

void DnsTcpAnalyzer::handle_zero_length(Timestamp ts) {
    DnsMessage empty;
    empty.status = ParseStatus::kMalformed;
    empty.problem = "zero-length TCP frame";
    pass_gate(gate_, empty, result_, ctx_.weirds, ctx_.flow.id, ts);
}

void DnsTcpAnalyzer::on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) {
    Side& side = sides_[static_cast<std::size_t>(dir)];
    while (!data.empty() && !gate_.gave_up && !ended_ && !side.lost_sync) {
        if (side.partial.empty()) {
            const TcpFrame f = frame_tcp(data);
            if (f.status == TcpFrame::Status::kIncomplete) {
                side.partial.assign(data.begin(), data.end());
                return;
            }
            if (f.status == TcpFrame::Status::kOk)
                handle_frame(dir, f.message, ts);
            else
                handle_zero_length(ts);
            data = data.subspan(f.consumed);
            continue;
        }
        // Top the partial frame up with only the bytes it lacks, so the buffer never holds
        // more than one frame whatever the size of `data`.
        const TcpFrame before = frame_tcp(side.partial);
        const std::size_t take = std::min(before.need - side.partial.size(), data.size());
        side.partial.insert(side.partial.end(), data.begin(),
                            data.begin() + static_cast<std::ptrdiff_t>(take));
        data = data.subspan(take);
        const TcpFrame f = frame_tcp(side.partial);
        if (f.status == TcpFrame::Status::kIncomplete)
            continue;
        if (f.status == TcpFrame::Status::kOk) {
            handle_frame(dir, f.message, ts);
            side.partial.clear();
        } else {
            handle_zero_length(ts);
            side.partial.erase(side.partial.begin(),
                               side.partial.begin() + static_cast<std::ptrdiff_t>(f.consumed));
        }
    }
}

void DnsTcpAnalyzer::on_gap(Direction dir, std::uint64_t len, Timestamp ts) {
    Side& side = sides_[static_cast<std::size_t>(dir)];
    if (side.lost_sync || ended_)
        return;
    // Without the missing bytes nothing says where the next length prefix starts.
    side.partial.clear();
    side.lost_sync = true;
    if (gate_.confirmed)
        add_weird(ctx_.weirds, kWeirdTcpGap, ts, ctx_.flow.id,
                  std::to_string(len) + " bytes missing from the " +
                      (dir == Direction::kOrig ? "client" : "server"));
}

void DnsTcpAnalyzer::on_end(Timestamp ts) {
    if (ended_)
        return;
    for (std::size_t i = 0; i < sides_.size(); ++i) {
        Side& side = sides_[i];
        // A frame cut by the end of the stream still says what was asked, if its header made it.
        if (!gate_.gave_up && !side.lost_sync && side.partial.size() > 2)
            handle_frame(static_cast<Direction>(i),
                         std::span<const std::uint8_t>(side.partial).subspan(2), ts);
        side.partial.clear();
    }
    tracker_.forget_flow(ctx_.flow.id);
    ended_ = true;
}

ProbeResult probe(const ProbeInput& in) {
    if (in.flow == nullptr)
        return ProbeResult::kNoMatch;
    if (in.flow->resp.port != kPortDns && in.flow->resp.port != kPortMdns)
        return ProbeResult::kNoMatch;
    const std::span<const std::uint8_t> side = !in.orig.empty() ? in.orig : in.resp;
    if (side.size() < 2)
        return ProbeResult::kNeedMore;
    const std::size_t len = (std::size_t{side[0]} << 8) | side[1];
    if (len < kHeaderSize + 5)
        return ProbeResult::kNoMatch;  // header + root question
    const auto body = side.subspan(2, std::min(len, side.size() - 2));
    switch (check_plausible(body, body.size() == len)) {
        case Plausibility::kYes:
            return ProbeResult::kMatch;
        case Plausibility::kNeedMore:
            return ProbeResult::kNeedMore;
        case Plausibility::kNo:
            return ProbeResult::kNoMatch;
    }
    return ProbeResult::kNoMatch;
}

}  // namespace botscope::analysis::dns
