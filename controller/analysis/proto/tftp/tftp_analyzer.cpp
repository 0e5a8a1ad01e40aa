#include "analysis/proto/tftp/tftp_analyzer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "analysis/log_sink.h"
#include "analysis/stream_inspector.h"
#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::analysis::tftp {

namespace {

constexpr std::string_view kAnalyzer = "tftp";

// Block numbers are 16-bit and wrap; a block less than half the number space ahead of the
// last one is "ahead", anything else is behind (a retransmission).
constexpr std::uint16_t kHalfBlockSpace = 0x8000;

void weird(Weirds& w, std::string_view name, const Datagram& d, std::string_view detail = {}) {
    w.add(kAnalyzer, name, d.ts, d.flow.id, detail);
}

// RFC 2348 (blksize), RFC 2349 (timeout, tsize), RFC 7440 (windowsize). Options the RFCs do
// not define are accepted as they are.
bool option_value_ok(const Option& o) {
    auto v = util::parse_u64(o.value);
    if (util::iequals(o.name, "blksize"))
        return v && *v >= kMinBlockSize && *v <= kMaxBlockSize;
    if (util::iequals(o.name, "timeout"))
        return v && *v >= 1 && *v <= 255;
    if (util::iequals(o.name, "windowsize"))
        return v && *v >= 1 && *v <= 65535;
    if (util::iequals(o.name, "tsize"))
        return v.has_value();
    return true;
}

std::string option_detail(const Option& o) {
    return o.name + "=" + o.value;
}

}  // namespace

bool is_known_weird(std::string_view name) {
    return std::any_of(kWeirds.begin(), kWeirds.end(),
                       [name](const WeirdInfo& w) { return w.name == name; });
}

const char* operation_name(Operation op) {
    switch (op) {
        case Operation::kRead:
            return "read";
        case Operation::kWrite:
            return "write";
    }
    return "unknown";
}

TftpAnalyzer::TftpAnalyzer(TftpResult& result, LogSink* logs) : result_(result), logs_(logs) {}

std::optional<TftpAnalyzer::Match> TftpAnalyzer::match(const Datagram& d) const {
    // The client is whichever endpoint has an open transfer with the other side's address.
    Key as_client{d.src, d.dst.addr};
    Key as_server{d.dst, d.src.addr};
    auto c = live_.find(as_client);
    auto s = live_.find(as_server);
    auto port_fits = [](const Live& t, std::uint16_t server_port) {
        return !t.rec.server_data_port || *t.rec.server_data_port == server_port;
    };
    if (c != live_.end() && s != live_.end()) {
        // Both ends are clients of each other (loopback tests, peers): prefer the transfer
        // whose server port this datagram uses.
        if (port_fits(c->second, d.dst.port))
            return Match{as_client, true};
        return Match{as_server, false};
    }
    if (c != live_.end())
        return Match{as_client, true};
    if (s != live_.end())
        return Match{as_server, false};
    return std::nullopt;
}

bool TftpAnalyzer::probe(const Datagram& d) {
    util::ByteReader r(d.payload);
    std::uint16_t opcode = r.u16be();
    if (!r.ok())
        return false;
    switch (opcode) {
        case static_cast<std::uint16_t>(Opcode::kRrq):
        case static_cast<std::uint16_t>(Opcode::kWrq):
            // On its own port a broken request is still TFTP (and worth reporting); elsewhere
            // only a well-formed one is strong enough evidence.
            return d.dst.port == kTftpPort || parse_packet(d.payload).ok();
        case static_cast<std::uint16_t>(Opcode::kData):
        case static_cast<std::uint16_t>(Opcode::kAck):
        case static_cast<std::uint16_t>(Opcode::kError):
            return d.payload.size() >= 4 && match(d).has_value();
        case static_cast<std::uint16_t>(Opcode::kOack):
            return match(d).has_value();
        default:
            return false;
    }
}

void TftpAnalyzer::on_datagram(const Datagram& d, Weirds& weirds) {
    maybe_sweep(d.ts, &weirds);
    Packet p = parse_packet(d.payload);
    if (p.is_request()) {
        handle_request(d, p, weirds);
        return;
    }
    auto m = match(d);
    if (!m) {
        ++result_.unmatched_datagrams;
        return;
    }
    Live& t = live_.find(m->key)->second;
    std::uint16_t server_port = m->from_client ? d.dst.port : d.src.port;
    if (!t.rec.server_data_port) {
        // The first answer fixes the server's transfer id (RFC 1350 section 4).
        t.rec.server_data_port = server_port;
        t.rec.data_flow = d.flow.id;
        flow_keys_[d.flow.id] = m->key;
    } else if (*t.rec.server_data_port != server_port) {
        weird(weirds, "tftp_unexpected_tid", d, std::to_string(server_port));
        return;
    }
    t.rec.last_ts = d.ts;

    if (!p.ok()) {
        if (p.error == PacketError::kUnknownOpcode)
            weird(weirds, "tftp_unknown_opcode", d, std::to_string(p.opcode));
        else
            weird(weirds, "tftp_malformed_packet", d, packet_error_name(p.error));
        return;
    }
    switch (static_cast<Opcode>(p.opcode)) {
        case Opcode::kData:
            handle_data(t, d, p, m->from_client, weirds);
            break;
        case Opcode::kAck:
            handle_ack(t, d, p, m->from_client, weirds);
            break;
        case Opcode::kError:
            if (p.error_message_unterminated)
                weird(weirds, "tftp_malformed_packet", d, "unterminated_error_message");
            if (!t.rec.error)
                t.rec.error = TftpError{p.error_code, p.error_message, m->from_client};
            break;
        case Opcode::kOack:
            handle_oack(t, d, p, m->from_client, weirds);
            break;
        case Opcode::kRrq:
        case Opcode::kWrq:
            break;  // handled above
    }
}

void TftpAnalyzer::handle_request(const Datagram& d, const Packet& p, Weirds& weirds) {
    Key key{d.src, d.dst.addr};
    Operation op =
        p.opcode == static_cast<std::uint16_t>(Opcode::kRrq) ? Operation::kRead : Operation::kWrite;
    auto it = live_.find(key);
    if (it != live_.end()) {
        auto& rec = it->second.rec;
        if (rec.operation == op && rec.filename == p.filename && rec.mode == p.mode &&
            !rec.completed && !rec.error) {
            // The client timed out waiting and asked again: same transfer.
            ++rec.request_retransmits;
            rec.last_ts = d.ts;
            return;
        }
        finalize(it, &weirds);
    }

    if (!p.ok())
        weird(weirds, "tftp_malformed_request", d, packet_error_name(p.error));
    if (p.filename.empty())
        weird(weirds, "tftp_empty_filename", d);
    if (p.filename_truncated)
        weird(weirds, "tftp_filename_too_long", d);
    if (p.options.malformed)
        weird(weirds, "tftp_malformed_options", d);
    if (p.options.truncated)
        weird(weirds, "tftp_option_limit", d);
    for (const auto& o : p.options.items)
        if (!option_value_ok(o))
            weird(weirds, "tftp_bad_option_value", d, option_detail(o));

    if (live_.size() >= kMaxLiveTransfers) {
        sweep(d.ts, &weirds);
        if (live_.size() >= kMaxLiveTransfers)
            evict_batch(weirds);
    }

    Live t;
    t.rec.ts = d.ts;
    t.rec.last_ts = d.ts;
    t.rec.request_flow = d.flow.id;
    t.rec.client = d.src;
    t.rec.server = d.dst;
    t.rec.operation = op;
    t.rec.filename = p.filename;
    t.rec.filename_truncated = p.filename_truncated;
    t.rec.mode = p.mode;
    t.rec.malformed_request = !p.ok() || p.filename.empty() || p.options.malformed;
    t.rec.options_requested = p.options.items;
    t.rec.options_truncated = p.options.truncated;
    live_.emplace(key, std::move(t));
    flow_keys_[d.flow.id] = key;
}

void TftpAnalyzer::handle_data(Live& t, const Datagram& d, const Packet& p, bool from_client,
                               Weirds& weirds) {
    auto& rec = t.rec;
    bool from_sender = rec.operation == Operation::kRead ? !from_client : from_client;
    if (!from_sender) {
        weird(weirds, "tftp_wrong_direction", d, "data");
        return;
    }
    std::size_t len = p.data.size();
    if (len > rec.block_size) {
        weird(weirds, "tftp_block_too_large", d, std::to_string(len));
        // A first block larger than 512 without an OACK means the OACK was not captured (or
        // the server ignored the rules); its size is then the block size in effect.
        if (!rec.oack_seen && rec.data_blocks == 0 && len <= kMaxBlockSize)
            rec.block_size = static_cast<std::uint32_t>(len);
    }

    std::uint16_t ahead = static_cast<std::uint16_t>(p.block - t.last_block);
    bool behind = ahead == 0 || ahead >= kHalfBlockSpace;
    // After 65535 most servers go on with 0 (caught by `ahead == 1`), some with 1.
    bool wrapped_to_one = t.last_block == 0xffff && p.block == 1 && rec.data_blocks > 0;

    if (rec.completed) {
        if (behind) {
            ++rec.duplicate_blocks;
            weird(weirds, "tftp_duplicate_block", d, std::to_string(p.block));
        } else {
            weird(weirds, "tftp_data_after_final", d, std::to_string(p.block));
        }
        return;
    }
    if (rec.data_blocks == 0 && p.block == 0) {
        // Blocks are numbered from 1; a block 0 cannot be placed in the file.
        weird(weirds, "tftp_block_out_of_order", d, "0");
        return;
    }
    if (!wrapped_to_one && behind) {
        ++rec.duplicate_blocks;
        weird(weirds, "tftp_duplicate_block", d, std::to_string(p.block));
        return;
    }
    if (!wrapped_to_one && ahead != 1) {
        rec.missing_blocks += ahead - 1u;
        t.hashing = false;
        weird(weirds, "tftp_block_out_of_order", d,
              "expected " + std::to_string(static_cast<std::uint16_t>(t.last_block + 1)) + " got " +
                  std::to_string(p.block));
    }

    ++rec.data_blocks;
    rec.bytes += len;
    t.last_block = p.block;
    if (t.hashing) {
        if (inspector_)
            carve(t, d, p.data);
        t.hasher.update(p.data);
        if (t.head.size() < kFileHeadBytes) {
            std::size_t take = std::min(len, kFileHeadBytes - t.head.size());
            auto part = p.data.first(take);
            t.head.insert(t.head.end(), part.begin(), part.end());
        }
    }
    if (len < rec.block_size) {
        rec.completed = true;
        t.final_block = p.block;
    }
}

void TftpAnalyzer::handle_ack(Live& t, const Datagram& d, const Packet& p, bool from_client,
                              Weirds& weirds) {
    auto& rec = t.rec;
    bool from_receiver = rec.operation == Operation::kRead ? from_client : !from_client;
    if (!from_receiver) {
        weird(weirds, "tftp_wrong_direction", d, "ack");
        return;
    }
    std::uint16_t ahead = static_cast<std::uint16_t>(p.block - t.last_ack);
    bool wrapped_to_one = t.last_ack == 0xffff && p.block == 1 && rec.blocks_acked > 0;
    if (wrapped_to_one) {
        ++rec.blocks_acked;
        t.last_ack = p.block;
    } else if (ahead != 0 && ahead < kHalfBlockSpace) {
        // With windowsize > 1 (RFC 7440) one ACK covers several blocks.
        rec.blocks_acked += ahead;
        t.last_ack = p.block;
    }
    if (rec.completed && p.block == t.final_block)
        rec.final_acked = true;
}

void TftpAnalyzer::handle_oack(Live& t, const Datagram& d, const Packet& p, bool from_client,
                               Weirds& weirds) {
    auto& rec = t.rec;
    if (from_client || rec.data_blocks > 0) {
        weird(weirds, "tftp_unexpected_oack", d, from_client ? "from client" : "after data");
        return;
    }
    if (rec.oack_seen)
        return;  // retransmitted OACK
    rec.oack_seen = true;
    if (p.options.malformed)
        weird(weirds, "tftp_malformed_options", d);
    if (p.options.truncated) {
        weird(weirds, "tftp_option_limit", d);
        rec.options_truncated = true;
    }
    for (const auto& o : p.options.items) {
        if (!find_option(rec.options_requested, o.name))
            weird(weirds, "tftp_unrequested_option", d, o.name);
        if (!option_value_ok(o)) {
            weird(weirds, "tftp_bad_option_value", d, option_detail(o));
            continue;
        }
        if (util::iequals(o.name, "blksize"))
            rec.block_size = static_cast<std::uint32_t>(*util::parse_u64(o.value));
    }
    rec.options_acked = p.options.items;
}

void TftpAnalyzer::on_flow_end(FlowId flow, Timestamp ts) {
    (void)ts;
    auto f = flow_keys_.find(flow);
    if (f == flow_keys_.end())
        return;
    auto it = live_.find(f->second);
    if (it == live_.end()) {
        flow_keys_.erase(f);
        return;
    }
    const auto& rec = it->second.rec;
    bool data_flow = rec.data_flow && *rec.data_flow == flow;
    bool unanswered_request = rec.request_flow == flow && !rec.data_flow;
    if (data_flow || unanswered_request) {
        finalize(it, nullptr);
    } else {
        // The request flow ended while the transfer goes on over its data flow.
        flow_keys_.erase(f);
    }
}

void TftpAnalyzer::finish(Timestamp ts) {
    (void)ts;
    for (auto it = live_.begin(); it != live_.end();)
        it = finalize(it, nullptr);
    // Records are written as transfers close; flow ids follow first-packet order, and requests
    // sharing a flow closed in order, so a stable sort gives request order.
    std::stable_sort(result_.transfers.begin(), result_.transfers.end(),
                     [](const TftpTransfer& a, const TftpTransfer& b) {
                         return a.request_flow < b.request_flow;
                     });
}

void TftpAnalyzer::maybe_sweep(Timestamp now, Weirds* weirds) {
    // A timestamp that steps backwards restarts the interval rather than stalling sweeps.
    if (swept_ && now >= last_sweep_ && now - last_sweep_ < kSweepInterval)
        return;
    sweep(now, weirds);
}

void TftpAnalyzer::sweep(Timestamp now, Weirds* weirds) {
    swept_ = true;
    last_sweep_ = now;
    for (auto it = live_.begin(); it != live_.end();) {
        Timestamp last = it->second.rec.last_ts;
        if (now > last && now - last > kTransferIdleTimeout)
            it = finalize(it, weirds);
        else
            ++it;
    }
}

void TftpAnalyzer::evict_batch(Weirds& weirds) {
    std::vector<std::pair<Timestamp, Key>> by_age;
    by_age.reserve(live_.size());
    for (const auto& [key, t] : live_)
        by_age.emplace_back(t.rec.last_ts, key);
    std::size_t n = std::min(kEvictBatch, by_age.size());
    std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(n), by_age.end());
    for (std::size_t i = 0; i < n; ++i) {
        auto it = live_.find(by_age[i].second);
        if (it == live_.end())
            continue;
        weirds.add(kAnalyzer, "tftp_transfer_limit", it->second.rec.last_ts,
                   it->second.rec.request_flow, "open transfers");
        ++result_.evicted;
        finalize(it, &weirds);
    }
}

void TftpAnalyzer::carve(Live& t, const Datagram& d, std::span<const std::uint8_t> data) {
    // A write request's file is the client's upload; both are files the sample moved.
    if (t.rec.data_blocks == 1 && !t.file)
        t.file = inspector_->file_begin({d.flow.id, "tftp", t.rec.filename});
    if (t.file)
        inspector_->file_data(t.file, data);
}

TftpAnalyzer::LiveMap::iterator TftpAnalyzer::finalize(LiveMap::iterator it, Weirds* weirds) {
    Live& t = it->second;
    if (t.file)
        inspector_->file_end(t.file, t.rec.completed && t.hashing);
    TftpTransfer rec = std::move(t.rec);
    if (t.hashing && rec.data_blocks > 0) {
        auto [md5, sha256] = t.hasher.finish();
        rec.md5 = std::move(md5);
        rec.sha256 = std::move(sha256);
        rec.hash_complete = rec.completed;
    }
    if (!t.head.empty()) {
        bool whole = rec.completed && t.hashing && rec.bytes <= t.head.size();
        rec.file_kind = sniff_file_kind(t.head, whole);
    }
    for (auto flow : {std::optional<FlowId>{rec.request_flow}, rec.data_flow}) {
        if (!flow)
            continue;
        auto f = flow_keys_.find(*flow);
        if (f != flow_keys_.end() && f->second == it->first)
            flow_keys_.erase(f);
    }
    auto next = live_.erase(it);
    if (logs_ != nullptr)
        logs_->tftp(rec);
    if (result_.transfers.size() < kMaxTransfers) {
        result_.transfers.push_back(std::move(rec));
    } else {
        ++result_.dropped;
        if (weirds)
            weirds->add(kAnalyzer, "tftp_transfer_limit", rec.last_ts, rec.request_flow, "records");
    }
    return next;
}

}  // namespace botscope::analysis::tftp
