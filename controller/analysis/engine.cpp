#include "analysis/engine.h"

#include <algorithm>
#include <vector>

#include "analysis/address_map.h"
#include "analysis/detect/analyze.h"
#include "analysis/detect/spam.h"
#include "analysis/detect/traffic.h"
#include "analysis/distinct_count.h"
#include "analysis/engine/decode.h"
#include "analysis/engine/engine_weirds.h"
#include "analysis/engine/flow_table.h"
#include "analysis/engine/ip_reassembly.h"
#include "analysis/engine/stream_digest.h"
#include "analysis/engine/tcp_reassembly.h"
#include "analysis/log_sink.h"
#include "analysis/registry.h"
#include "analysis/stream_inspector.h"
#include "util/byte_reader.h"

namespace botscope::analysis {

namespace {

constexpr Timestamp kSweepInterval = 1'000'000'000;
/// Bytes of each direction buffered while looking for a stream's protocol.
constexpr std::size_t kProbeBytes = 2048;
/// UDP datagrams of a flow offered to the probes before the flow is left unanalysed.
constexpr std::uint8_t kUdpProbePackets = 4;

constexpr int kUdpUnprobed = -1;
constexpr int kUdpNone = -2;

int idx(Direction d) {
    return static_cast<int>(d);
}

class TcpConnection;

/// The engine's side of stream inspection (stream_inspector.h): the inspector, its limits
/// and the bytes kept across live connections.
struct StreamKeeping {
    StreamInspector* inspector = nullptr;
    StreamCapture limits;
    std::size_t used = 0;
};

struct FlowState {
    FlowInfo info;
    std::uint64_t packets[2] = {0, 0};
    std::uint64_t bytes[2] = {0, 0};
    std::uint64_t payload[2] = {0, 0};
    std::uint8_t flags[2] = {0, 0};  // every TCP flag seen per direction
    bool synack_seen = false;
    HostRecord* hosts[2] = {nullptr, nullptr};
    // Made at the first segment with data or a FIN: a flood's lone SYNs never need one. Until
    // then the SYNs' sequence numbers wait here.
    std::unique_ptr<TcpConnection> tcp;
    std::uint32_t syn_seq[2] = {0, 0};
    std::string_view announced;  // expectations.h: the service a data connection was announced as
    int udp_analyzer = kUdpUnprobed;
    std::uint8_t udp_probes = 0;
    std::string_view service;
    detect::FlowTag tag;
};

using Table = FlowTable<FlowState>;

/// What the analyzers hand over as they close records: the detectors that count past the
/// result's caps take theirs, then the user's logs, if any, get everything.
class RecordTee final : public LogSink {
public:
    RecordTee(detect::RecordDetectors& detectors, LogSink* logs)
        : detectors_(detectors), logs_(logs) {}

    void flow(const FlowRecord& r) override {
        if (logs_)
            logs_->flow(r);
    }
    void http(const http::HttpTransaction& t) override {
        detectors_.http(t);
        forward(&LogSink::http, t);
    }
    void tftp(const tftp::TftpTransfer& t) override {
        detectors_.tftp(t);
        forward(&LogSink::tftp, t);
    }
    void dns(const dns::DnsTransaction& t) override {
        detectors_.dns(t);
        forward(&LogSink::dns, t);
    }
    void irc(const irc::IrcSession& s) override {
        detectors_.irc(s);
        forward(&LogSink::irc, s);
    }
    void smtp(const smtp::SmtpSession& s) override {
        detectors_.smtp(s);
        forward(&LogSink::smtp, s);
    }
    void ftp(const ftp::FtpSession& s) override { forward(&LogSink::ftp, s); }
    void shell(const shell::ShellSession& s) override { forward(&LogSink::shell, s); }

private:
    template <typename Record>
    void forward(void (LogSink::*fn)(const Record&), const Record& r) {
        if (logs_)
            (logs_->*fn)(r);
    }

    detect::RecordDetectors& detectors_;
    LogSink* logs_;
};

}  // namespace

class Engine::Impl {
public:
    Impl(int link_type, const detect::Config& config, LogSink* logs);

    void process(Timestamp ts, std::span<const std::uint8_t> frame, std::uint32_t wire_len);
    NetworkResult finish(detect::BehaviorResult* behavior);

    void end_flow(Table::Entry& e, Timestamp ts);

    int link_type_;
    detect::Config config_;
    LogSink* logs_;
    detect::RecordDetectors detectors_;
    RecordTee records_;  // the analyzers' sink
    std::size_t service_flows_ = 0;
    std::size_t sampled_flows_ = 0;
    detect::TrafficDetector traffic_;
    NetworkResult result_;
    Table flows_;
    IpReassembler frags_;
    ReassemblyBudget budget_;
    StreamKeeping keeping_;
    Expectations expectations_;
    std::vector<std::unique_ptr<DatagramAnalyzer>> datagram_;
    AddressMap<HostRecord> hosts_{NetworkResult::kMaxHosts};
    DistinctCounter hosts_beyond_;  // hosts seen once the table was full
    /// The last host looked up as originator and as responder: a flood's target, a scan's
    /// scanner, a session's two ends repeat from one new flow to the next, and a lookup in a
    /// table of 65,536 hosts is a cache miss. Values never move (AddressMap is insert-only).
    struct LastHost {
        IpAddress addr;
        HostRecord* host = nullptr;
        bool valid = false;
    };
    LastHost last_host_[2];
    FlowId next_flow_id_ = 1;
    Timestamp now_ = 0;
    Timestamp last_sweep_ = 0;
    bool seen_packet_ = false;

private:
    void handle(const PacketView& pkt, Timestamp ts, std::uint32_t wire_len);
    HostRecord* host(const IpAddress& a, Timestamp ts, Direction role);
    void start_tcp(FlowState& s);
    void udp(Table::Entry& e, Direction dir, const PacketView& pkt, Timestamp ts);
    void icmp_error(const PacketView& pkt);
    std::vector<IpAddress> analysed_hosts(bool& inferred) const;
};

namespace {

/// One TCP connection: reassembly of both directions, then protocol detection, then the
/// chosen analyzer.
class TcpConnection final : public StreamSink {
public:
    TcpConnection(const FlowInfo& info, ReassemblyBudget& budget, NetworkResult& results,
                  Expectations& expectations, LogSink* logs, StreamKeeping* keeping)
        : half_{TcpReassembler(Direction::kOrig, budget), TcpReassembler(Direction::kResp, budget)},
          results_(&results),
          keeping_(keeping && keeping->inspector ? keeping : nullptr) {
        ctx_.flow = info;
        ctx_.weirds = &results.weirds;
        ctx_.expectations = &expectations;
        ctx_.logs = logs;
        ctx_.inspector = keeping_ ? keeping_->inspector : nullptr;
    }

    /// An announced connection (expectations.h): its content is digested, not probed.
    void attach_digest(std::string_view service) {
        analyzer_ = std::make_unique<StreamDigest>(ctx_, service, results_->data_streams);
        service_ = service;
        mode_ = Mode::kAttached;
    }

    void packet(Direction dir, const PacketView& p, Timestamp ts) {
        TcpReassembler& me = half_[idx(dir)];
        TcpReassembler& peer = half_[idx(opposite(dir))];
        if (p.tcp_flags & kTcpSyn)
            me.syn(p.seq);
        if ((p.tcp_flags & kTcpAck) && peer.started())
            peer.peer_ack(p.ack, ts, *this);
        bool fin = (p.tcp_flags & kTcpFin) != 0;
        if (p.payload_len > 0 || fin) {
            // A SYN carrying data (TFO) starts at seq + 1.
            std::uint32_t seq = (p.tcp_flags & kTcpSyn) ? p.seq + 1 : p.seq;
            me.segment(seq, p.payload, p.payload_len, fin, ts, *this);
        }
    }

    /// Both directions reached their FIN.
    bool both_ended() const { return eof_[0] && eof_[1]; }
    /// A SYN seen before the connection was made (FlowState::syn_seq).
    void replay_syn(Direction dir, std::uint32_t seq) { half_[idx(dir)].syn(seq); }

    void finish(Timestamp ts) {
        if (finished_)
            return;
        finished_ = true;
        half_[0].flush(ts, *this);
        half_[1].flush(ts, *this);
        if (mode_ == Mode::kProbing)
            decide(ts, true);
        if (analyzer_)
            analyzer_->on_end(ts);
        inspect_kept(ts);
    }

    std::string_view service() const { return service_; }
    const TcpReassembler& half(Direction d) const { return half_[idx(d)]; }

    void stream_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) override {
        if (keeping_)
            keep(dir, data);
        switch (mode_) {
            case Mode::kAttached:
                if (!analyzer_->gave_up())
                    analyzer_->on_data(dir, data, ts);
                return;
            case Mode::kProbing: {
                auto& buf = probe_[idx(dir)];
                std::size_t take = std::min(data.size(), kProbeBytes - buf.size());
                if (take > 0) {
                    buf.insert(buf.end(), data.begin(), data.begin() + take);
                    chunks_.push_back({dir, take, ts});
                }
                decide(ts, false);
                // Bytes beyond the probe window arrive after the decision.
                if (take < data.size() && mode_ == Mode::kAttached && !analyzer_->gave_up())
                    analyzer_->on_data(dir, data.subspan(take), ts);
                return;
            }
            case Mode::kNone:
                return;
        }
    }

    void stream_gap(Direction dir, std::uint64_t len, Timestamp ts) override {
        if (kept_ && !kept_->stopped[idx(dir)]) {
            kept_->stopped[idx(dir)] = true;
            kept_->gap[idx(dir)] = true;
        }
        switch (mode_) {
            case Mode::kAttached:
                if (!analyzer_->gave_up())
                    analyzer_->on_gap(dir, len, ts);
                return;
            case Mode::kProbing:
                // What follows a hole cannot be matched against a protocol's opening.
                decide(ts, true);
                if (mode_ == Mode::kAttached && !analyzer_->gave_up())
                    analyzer_->on_gap(dir, len, ts);
                return;
            case Mode::kNone:
                return;
        }
    }

    void stream_eof(Direction dir, Timestamp ts) override {
        eof_[idx(dir)] = true;
        if (mode_ == Mode::kProbing && eof_[0] && eof_[1])
            decide(ts, true);
        if (mode_ == Mode::kAttached && !analyzer_->gave_up())
            analyzer_->on_eof(dir, ts);
    }

private:
    enum class Mode : std::uint8_t { kProbing, kAttached, kNone };
    struct Chunk {
        Direction dir;
        std::size_t len;
        Timestamp ts;
    };

    /// Asks the probes; `final` means no more bytes will come before a decision is needed.
    void decide(Timestamp ts, bool final) {
        ProbeInput in{probe_[0], probe_[1], &ctx_.flow};
        bool waiting = false;
        for (const auto& entry : stream_analyzers()) {
            switch (entry.probe(in)) {
                case ProbeResult::kMatch:
                    attach(entry, ts);
                    return;
                case ProbeResult::kNeedMore:
                    waiting = true;
                    break;
                case ProbeResult::kNoMatch:
                    break;
            }
        }
        // Every supported protocol shows itself in its first lines: a full window that still
        // matched nothing is something else.
        bool one_full = probe_[0].size() >= kProbeBytes || probe_[1].size() >= kProbeBytes;
        if (!waiting || final || one_full)
            give_up_probing();
    }

    void attach(const StreamAnalyzerEntry& entry, Timestamp ts) {
        analyzer_ = entry.make(ctx_, *results_);
        service_ = entry.name;
        mode_ = Mode::kAttached;
        // Replay the buffered opening in arrival order so request/reply pairing holds.
        std::size_t pos[2] = {0, 0};
        for (const auto& c : chunks_) {
            if (analyzer_->gave_up())
                break;
            auto& buf = probe_[idx(c.dir)];
            if (c.len > 0)
                analyzer_->on_data(
                    c.dir, std::span<const std::uint8_t>(buf).subspan(pos[idx(c.dir)], c.len),
                    c.ts);
            pos[idx(c.dir)] += c.len;
        }
        release_probe();
        for (int d = 0; d < 2; ++d)
            if (eof_[d] && !analyzer_->gave_up())
                analyzer_->on_eof(static_cast<Direction>(d), ts);
    }

    /// Keeps the opening of each direction for the inspector, within both limits.
    void keep(Direction dir, std::span<const std::uint8_t> data) {
        if (!kept_)
            kept_ = std::make_unique<Kept>();
        int d = idx(dir);
        if (kept_->stopped[d])
            return;
        std::vector<std::uint8_t>& buf = kept_->data[d];
        std::size_t room = keeping_->limits.per_direction - buf.size();
        std::size_t budget = keeping_->limits.total - keeping_->used;
        std::size_t take = std::min({data.size(), room, budget});
        buf.insert(buf.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
        keeping_->used += take;
        if (take < data.size())
            kept_->stopped[d] = true;
    }

    void inspect_kept(Timestamp ts) {
        if (!kept_)
            return;
        for (int d = 0; d < 2; ++d) {
            const auto& buf = kept_->data[d];
            if (buf.empty())
                continue;
            InspectedStream in;
            in.flow = &ctx_.flow;
            in.dir = static_cast<Direction>(d);
            in.service = service_;
            in.data = buf;
            in.truncated = kept_->stopped[d];
            in.gap = kept_->gap[d];
            in.end = ts;
            keeping_->inspector->inspect(in);
            keeping_->used -= buf.size();
        }
        kept_.reset();
    }

    void give_up_probing() {
        mode_ = Mode::kNone;
        release_probe();
    }

    void release_probe() {
        std::vector<std::uint8_t>().swap(probe_[0]);
        std::vector<std::uint8_t>().swap(probe_[1]);
        std::vector<Chunk>().swap(chunks_);
    }

    struct Kept {
        std::vector<std::uint8_t> data[2];
        bool stopped[2] = {false, false};
        bool gap[2] = {false, false};
    };

    TcpReassembler half_[2];
    NetworkResult* results_;
    StreamKeeping* keeping_;
    std::unique_ptr<Kept> kept_;  // made at the first byte delivered
    AnalyzerContext ctx_;
    Mode mode_ = Mode::kProbing;
    std::vector<std::uint8_t> probe_[2];
    std::vector<Chunk> chunks_;
    std::unique_ptr<StreamAnalyzer> analyzer_;
    std::string_view service_;
    bool eof_[2] = {false, false};
    bool finished_ = false;
};

/// Zeek's conn_state vocabulary, which analysts already read fluently.
std::string tcp_state(const FlowState& s) {
    bool syn = s.flags[0] & kTcpSyn;
    bool synack = s.synack_seen;
    bool resp_seen = s.packets[1] > 0;
    bool rst_o = s.flags[0] & kTcpRst;
    bool rst_r = s.flags[1] & kTcpRst;
    bool fin_o = s.flags[0] & kTcpFin;
    bool fin_r = s.flags[1] & kTcpFin;
    if (!syn)
        return "OTH";
    if (!synack) {
        if (rst_r)
            return "REJ";
        if (rst_o)
            return "RSTOS0";
        if (fin_o)
            return "SH";
        return resp_seen ? "OTH" : "S0";
    }
    if (rst_o)
        return "RSTO";
    if (rst_r)
        return "RSTR";
    if (fin_o && fin_r)
        return "SF";
    if (fin_o)
        return "S2";
    if (fin_r)
        return "S3";
    return "S1";
}

}  // namespace

Engine::Impl::Impl(int link_type, const detect::Config& config, LogSink* logs)
    : link_type_(link_type),
      config_(config),
      logs_(logs),
      detectors_(config),
      records_(detectors_, logs),
      traffic_(config) {
    for (const auto& entry : datagram_analyzers())
        datagram_.push_back(entry.make(result_, &records_));
}

HostRecord* Engine::Impl::host(const IpAddress& a, Timestamp ts, Direction role) {
    LastHost& last = last_host_[idx(role)];
    if (last.valid && last.addr == a)
        return last.host;  // a host past the table's cap is in hosts_beyond_ already
    bool made;
    HostRecord* h = hosts_.emplace(a, made);
    if (!h) {
        hosts_beyond_.add(DistinctCounter::hash(a));
    } else if (made) {
        h->addr = a;
        h->first_ts = ts;
    }
    last = {a, h, true};
    return h;
}

void Engine::Impl::end_flow(Table::Entry& e, Timestamp ts) {
    FlowState& s = e.state;
    if (s.tcp)
        s.tcp->finish(ts);
    if (s.udp_analyzer >= 0)
        datagram_[static_cast<std::size_t>(s.udp_analyzer)]->on_flow_end(s.info.id, ts);
    ++result_.flows_total;
    if (s.hosts[0])
        ++s.hosts[0]->flows_originated;
    if (s.hosts[1])
        ++s.hosts[1]->flows_responded;
    detect::FlowFacts facts;
    facts.info = &s.info;
    for (int d = 0; d < 2; ++d) {
        facts.packets[d] = s.packets[d];
        facts.bytes[d] = s.bytes[d];
        facts.payload[d] = s.payload[d];
    }
    facts.synack = s.synack_seen;
    traffic_.flow_end(s.tag, facts);
    FlowRecord r;
    r.id = s.info.id;
    r.transport = s.info.transport;
    r.orig = s.info.orig;
    r.resp = s.info.resp;
    r.start = s.info.start;
    r.end = e.last;
    for (int d = 0; d < 2; ++d) {
        r.packets[d] = s.packets[d];
        r.bytes[d] = s.bytes[d];
        r.payload_bytes[d] = s.payload[d];
    }
    if (r.transport == Transport::kTcp)
        r.state = tcp_state(s);
    if (s.tcp) {
        r.service = std::string(s.tcp->service());
        r.gap_bytes =
            s.tcp->half(Direction::kOrig).gap_bytes() + s.tcp->half(Direction::kResp).gap_bytes();
        r.midstream =
            s.tcp->half(Direction::kOrig).midstream() || s.tcp->half(Direction::kResp).midstream();
        result_.tcp_gap_bytes += r.gap_bytes;
        result_.tcp_retransmitted_bytes += s.tcp->half(Direction::kOrig).retransmitted_bytes() +
                                           s.tcp->half(Direction::kResp).retransmitted_bytes();
    } else {
        r.service = std::string(s.service);
    }
    detectors_.flow_end(r);
    if (logs_)
        logs_->flow(r);
    std::string_view counted = r.service.empty() ? std::string_view(transport_name(r.transport))
                                                 : std::string_view(r.service);
    auto by = result_.flows_by_service.find(counted);
    if (by == result_.flows_by_service.end())
        by = result_.flows_by_service.emplace(counted, 0).first;
    ++by->second;
    // In memory: what the detectors look up afterwards (flows an analyzer claimed) and a few
    // others for the report; every flow is in the log.
    bool keep = r.service.empty() ? sampled_flows_ < NetworkResult::kSampledFlows
                                  : service_flows_ < NetworkResult::kMaxServiceFlows;
    if (keep) {
        ++(r.service.empty() ? sampled_flows_ : service_flows_);
        result_.flows.push_back(std::move(r));
    } else {
        ++result_.flows_dropped;
    }
}

void Engine::Impl::process(Timestamp ts, std::span<const std::uint8_t> frame,
                           std::uint32_t wire_len) {
    CaptureInfo& cap = result_.capture;
    ++cap.packets;
    cap.bytes += wire_len;
    cap.captured_bytes += frame.size();
    if (frame.size() < wire_len)
        ++cap.snapped_packets;
    if (!seen_packet_) {
        seen_packet_ = true;
        cap.first_ts = cap.last_ts = now_ = last_sweep_ = ts;
    }
    if (ts < now_) {
        ++cap.ts_backwards;
    } else {
        now_ = ts;
    }
    cap.first_ts = std::min(cap.first_ts, ts);
    cap.last_ts = std::max(cap.last_ts, ts);
    // Timers run on the newest time seen, so a packet stamped in the past expires nothing.
    if (now_ - last_sweep_ >= kSweepInterval) {
        last_sweep_ = now_;
        flows_.expire(now_, [this](Table::Entry& e) { end_flow(e, e.last); });
        frags_.expire(now_);
        traffic_.sweep(now_);
    }

    PacketView pkt;
    DecodeStatus st = decode_frame(link_type_, frame, pkt);
    switch (st) {
        case DecodeStatus::kOk:
            handle(pkt, ts, wire_len);
            return;
        case DecodeStatus::kNotIp:
            ++cap.non_ip_packets;
            return;
        case DecodeStatus::kTruncated:
            ++cap.decode_errors;
            result_.weirds.add("ip", kWeirdIpTruncatedHeader, ts, 0);
            return;
        case DecodeStatus::kMalformed:
            ++cap.decode_errors;
            result_.weirds.add("ip", kWeirdIpMalformedHeader, ts, 0);
            return;
        case DecodeStatus::kFragment: {
            ++cap.fragments;
            auto r = frags_.add(pkt, ts);
            if (!r.weird.empty())
                result_.weirds.add("ip", r.weird, ts, 0);
            if (r.outcome != IpReassembler::Outcome::kComplete)
                return;
            ++cap.reassembled_datagrams;
            auto data = frags_.payload();
            PacketView whole = pkt;
            whole.ip_proto = pkt.frag.next_proto;
            DecodeStatus ts2 =
                decode_transport(data, static_cast<std::uint32_t>(data.size()), whole);
            if (ts2 != DecodeStatus::kOk) {
                ++cap.decode_errors;
                result_.weirds.add("ip", kWeirdIpFragmentBadTransport, ts, 0);
                return;
            }
            handle(whole, ts,
                   static_cast<std::uint32_t>(data.size()) + (pkt.ip_len - pkt.payload_len));
            return;
        }
    }
}

void Engine::Impl::handle(const PacketView& pkt, Timestamp ts, std::uint32_t wire_len) {
    std::uint16_t sport = pkt.sport, dport = pkt.dport;
    if (pkt.transport == Transport::kIcmp || pkt.transport == Transport::kIcmp6) {
        // As Zeek and Arkime do: one ICMP "flow" per address pair and message kind, with the
        // type and code as its ports; an echo reply takes its request's ports reversed, so
        // both directions share one flow.
        bool v6 = pkt.transport == Transport::kIcmp6;
        std::uint8_t request = v6 ? 128 : 8;
        std::uint8_t reply = v6 ? 129 : 0;
        if (pkt.icmp_type == request) {
            sport = request, dport = reply;
        } else if (pkt.icmp_type == reply) {
            sport = reply, dport = request;
        } else {
            sport = pkt.icmp_type;
            dport = pkt.icmp_code;
            icmp_error(pkt);
        }
    } else if (pkt.transport == Transport::kOther) {
        sport = dport = 0;
    }
    FlowKey key = FlowKey::make(pkt.src, sport, pkt.dst, dport, pkt.ip_proto);
    Table::Entry* e = flows_.find(key);

    detect::PacketFacts facts;
    facts.ts = ts;
    facts.number = result_.capture.packets;
    facts.transport = pkt.transport;
    facts.wire_len = wire_len;
    facts.tcp_flags = pkt.tcp_flags;
    facts.icmp_type = pkt.icmp_type;

    bool tcp = pkt.transport == Transport::kTcp;
    bool pure_syn = tcp && (pkt.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
    if (e && tcp && pure_syn && e->cls == FlowClass::kTcpClosed) {
        // Port reuse: a fresh SYN on a finished connection starts a new one.
        flows_.remove(*e, [this, ts](Table::Entry& old) { end_flow(old, ts); });
        e = nullptr;
    }
    if (!e) {
        if (flows_.full()) {
            result_.weirds.add("flow", kWeirdFlowTableFull, ts, 0);
            flows_.evict([this](Table::Entry& old) { end_flow(old, old.last); });
        }
        FlowState s;
        s.info.id = next_flow_id_++;
        s.info.transport = pkt.transport;
        s.info.start = ts;
        // A SYN-ACK seen first means the capture missed the SYN: its receiver is the client.
        bool flip = tcp && (pkt.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck);
        Endpoint src{pkt.src, sport}, dst{pkt.dst, dport};
        s.info.orig = flip ? dst : src;
        s.info.resp = flip ? src : dst;
        s.hosts[0] = host(s.info.orig.addr, ts, Direction::kOrig);
        s.hosts[1] = host(s.info.resp.addr, ts, Direction::kResp);
        e = &flows_.insert(key, FlowClass::kAttempt, ts, std::move(s));
        result_.peak_live_flows = std::max<std::uint64_t>(result_.peak_live_flows, flows_.size());
        if (tcp && !expectations_.empty())
            e->state.announced = expectations_.take(e->state.info.resp, ts);
        traffic_.flow_start(e->state.tag, e->state.info, facts, flip);
    }
    FlowState& s = e->state;
    Direction dir = (pkt.src == s.info.orig.addr && sport == s.info.orig.port) ? Direction::kOrig
                                                                               : Direction::kResp;
    facts.dir = dir;
    int d = idx(dir);
    ++s.packets[d];
    s.bytes[d] += wire_len;
    s.payload[d] += pkt.payload_len;
    if (HostRecord* h = s.hosts[d]) {
        ++h->packets_sent;
        h->bytes_sent += wire_len;
        h->last_ts = std::max(h->last_ts, ts);
    }
    if (HostRecord* h = s.hosts[1 - d]) {
        ++h->packets_received;
        h->bytes_received += wire_len;
        h->last_ts = std::max(h->last_ts, ts);
    }

    traffic_.packet(s.tag, s.info, facts);

    FlowClass cls;
    if (tcp) {
        s.flags[d] |= pkt.tcp_flags;
        if (dir == Direction::kResp && (pkt.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck))
            s.synack_seen = true;
        if (dir == Direction::kOrig && s.synack_seen &&
            (pkt.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpAck && (s.flags[0] & kTcpSyn))
            traffic_.handshake(s.tag, s.info, facts);
        if (!s.tcp && (pkt.payload_len > 0 || (pkt.tcp_flags & kTcpFin)))
            start_tcp(s);
        if (s.tcp) {
            s.tcp->packet(dir, pkt, ts);
        } else if (pkt.tcp_flags & kTcpSyn) {
            s.syn_seq[d] = pkt.seq;
        }
        bool reset = ((s.flags[0] | s.flags[1]) & kTcpRst) != 0;
        if (reset || (s.tcp && s.tcp->both_ended())) {
            cls = FlowClass::kTcpClosed;
        } else if (s.packets[1] == 0 && (s.flags[0] & ~kTcpSyn) == 0) {
            cls = FlowClass::kAttempt;
        } else {
            cls = FlowClass::kTcpOpen;
        }
    } else if (pkt.transport == Transport::kUdp) {
        udp(*e, dir, pkt, ts);
        cls = s.packets[1] == 0 ? FlowClass::kAttempt : FlowClass::kUdp;
    } else {
        // An echo request's flow takes the request type as the originator's port (above).
        std::uint16_t echo = pkt.transport == Transport::kIcmp6 ? 128 : 8;
        bool request = pkt.transport != Transport::kOther && s.info.orig.port == echo;
        cls = request && s.packets[1] == 0 ? FlowClass::kAttempt : FlowClass::kOther;
    }
    flows_.touch(*e, ts, cls);
}

void Engine::Impl::start_tcp(FlowState& s) {
    s.tcp = std::make_unique<TcpConnection>(s.info, budget_, result_, expectations_, &records_,
                                            &keeping_);
    if (!s.announced.empty())
        s.tcp->attach_digest(s.announced);
    for (int d = 0; d < 2; ++d)
        if (s.flags[d] & kTcpSyn)
            s.tcp->replay_syn(static_cast<Direction>(d), s.syn_seq[d]);
}

void Engine::Impl::udp(Table::Entry& e, Direction dir, const PacketView& pkt, Timestamp ts) {
    FlowState& s = e.state;
    if (s.udp_analyzer == kUdpNone)
        return;
    Datagram dg;
    dg.flow = s.info;
    dg.dir = dir;
    dg.src = {pkt.src, pkt.sport};
    dg.dst = {pkt.dst, pkt.dport};
    dg.payload = pkt.payload;
    dg.ts = ts;
    if (s.udp_analyzer == kUdpUnprobed) {
        for (std::size_t i = 0; i < datagram_.size(); ++i) {
            if (datagram_[i]->probe(dg)) {
                s.udp_analyzer = static_cast<int>(i);
                s.service = datagram_analyzers()[i].name;
                break;
            }
        }
        if (s.udp_analyzer == kUdpUnprobed) {
            if (++s.udp_probes >= kUdpProbePackets)
                s.udp_analyzer = kUdpNone;
            return;
        }
    }
    datagram_[static_cast<std::size_t>(s.udp_analyzer)]->on_datagram(dg, result_.weirds);
}

void Engine::Impl::icmp_error(const PacketView& pkt) {
    // The error quotes the IP header and the first 8 bytes of the packet that caused it:
    // enough for the addresses and ports of the flow it answers.
    bool v6 = pkt.transport == Transport::kIcmp6;
    bool error = v6 ? (pkt.icmp_type >= 1 && pkt.icmp_type <= 4)
                    : (pkt.icmp_type == 3 || pkt.icmp_type == 4 || pkt.icmp_type == 5 ||
                       pkt.icmp_type == 11 || pkt.icmp_type == 12);
    if (!error)
        return;
    util::ByteReader r(pkt.payload);
    IpAddress src, dst;
    std::uint8_t proto = 0;
    if (!v6) {
        std::uint8_t vihl = r.u8();
        std::size_t ihl = static_cast<std::size_t>(vihl & 0x0f) * 4;
        if ((vihl >> 4) != 4 || ihl < 20)
            return;
        r.seek(9);
        proto = r.u8();
        r.seek(12);
        auto s4 = r.bytes(4);
        auto d4 = r.bytes(4);
        if (!r.ok())
            return;
        src = IpAddress::from_v4(s4.data());
        dst = IpAddress::from_v4(d4.data());
        r.seek(ihl);
    } else {
        if ((r.u8() >> 4) != 6)
            return;
        r.seek(6);
        proto = r.u8();
        r.seek(8);
        auto s6 = r.bytes(16);
        auto d6 = r.bytes(16);
        if (!r.ok())
            return;
        src.v6 = dst.v6 = true;
        std::copy(s6.begin(), s6.end(), src.bytes.begin());
        std::copy(d6.begin(), d6.end(), dst.bytes.begin());
    }
    if (proto != 6 && proto != 17)
        return;
    std::uint16_t sp = r.u16be();
    std::uint16_t dp = r.u16be();
    if (!r.ok())
        return;
    Table::Entry* q = flows_.find(FlowKey::make(src, sp, dst, dp, proto));
    // A quote rewritten on the way (NAT, or an anonymised capture) still names the ports; the
    // error's sender is then usually the probed host.
    if (!q && dst != pkt.src)
        q = flows_.find(FlowKey::make(src, sp, pkt.src, dp, proto));
    if (q)
        traffic_.icmp_error(q->state.tag, q->state.info, pkt.src);
}

std::vector<IpAddress> Engine::Impl::analysed_hosts(bool& inferred) const {
    inferred = false;
    if (!config_.hosts.empty())
        return config_.hosts;
    // The infected host talks first to more peers than anyone else in a sandbox capture.
    const HostRecord* best = nullptr;
    for (const auto& [addr, h] : hosts_)
        if (h.flows_originated > 0 &&
            (!best || std::tie(h.flows_originated, best->first_ts, best->addr) >
                          std::tie(best->flows_originated, h.first_ts, h.addr)))
            best = &h;
    if (!best)
        return {};
    inferred = true;
    return {best->addr};
}

NetworkResult Engine::Impl::finish(detect::BehaviorResult* behavior) {
    Timestamp end = result_.capture.last_ts;
    flows_.clear([this, end](Table::Entry& e) { end_flow(e, std::max(e.last, end)); });
    for (auto& a : datagram_)
        a->finish(end);
    ftp::attach_data_streams(result_.ftp, result_.data_streams);
    std::sort(result_.flows.begin(), result_.flows.end(),
              [](const FlowRecord& a, const FlowRecord& b) { return a.id < b.id; });
    result_.hosts_dropped = hosts_beyond_.estimate();
    result_.hosts.reserve(hosts_.size());
    for (auto& [addr, h] : hosts_)
        result_.hosts.push_back(h);
    std::sort(result_.hosts.begin(), result_.hosts.end(),
              [](const HostRecord& a, const HostRecord& b) {
                  return std::tie(a.first_ts, a.addr) < std::tie(b.first_ts, b.addr);
              });
    result_.peak_reassembly_bytes = budget_.peak;
    if (budget_.limit_hits > 0)
        result_.weirds.add("tcp", kWeirdTcpReassemblyLimit, end, 0,
                           std::to_string(budget_.limit_hits));
    if (behavior) {
        behavior->config = config_;
        behavior->hosts = analysed_hosts(behavior->hosts_inferred);
        traffic_.finish(*behavior, detect::mail_exchanges(result_.dns));
        detect::complete_behavior(result_, detectors_, *behavior);
    }
    return std::move(result_);
}

Engine::Engine(int link_type, const detect::Config& config, LogSink* logs)
    : impl_(std::make_unique<Impl>(link_type, config, logs)) {}
Engine::~Engine() = default;

void Engine::process(Timestamp ts, std::span<const std::uint8_t> frame, std::uint32_t wire_len) {
    impl_->process(ts, frame, wire_len);
}

NetworkResult Engine::finish(detect::BehaviorResult* behavior) {
    return impl_->finish(behavior);
}

void Engine::inspect_streams(StreamInspector* inspector, const StreamCapture& limits) {
    impl_->keeping_.inspector = inspector;
    impl_->keeping_.limits = limits;
    for (auto& d : impl_->datagram_)
        d->carve_to(inspector);
}

std::size_t Engine::live_flows() const {
    return impl_->flows_.size();
}
std::size_t Engine::reassembly_bytes() const {
    return impl_->budget_.used;
}

}  // namespace botscope::analysis
