#include "analysis/engine/tcp_reassembly.h"

#include <algorithm>

namespace botscope::analysis {

TcpReassembler::~TcpReassembler() {
    release(pending_bytes_);
}

void TcpReassembler::release(std::size_t n) {
    pending_bytes_ -= n;
    budget_->used -= n;
}

void TcpReassembler::syn(std::uint32_t seq) {
    if (have_isn_)
        return;  // a retransmitted SYN changes nothing
    have_isn_ = true;
    isn_ = seq + 1;
}

std::int64_t TcpReassembler::unwrap(std::uint32_t seq) const {
    // The stream offset closest to next_ whose low 32 bits match: sequence numbers are only
    // meaningful within half the sequence space of the current position.
    auto expected = static_cast<std::uint32_t>(isn_ + static_cast<std::uint32_t>(next_));
    auto delta = static_cast<std::int32_t>(seq - expected);
    return static_cast<std::int64_t>(next_) + delta;
}

void TcpReassembler::deliver(std::uint64_t off, std::span<const std::uint8_t> data,
                             std::uint32_t missing, Timestamp ts, StreamSink& sink) {
    std::uint64_t end = off + data.size();
    if (end > next_) {
        std::size_t skip = off < next_ ? static_cast<std::size_t>(next_ - off) : 0;
        if (skip > 0)
            retransmitted_ += skip;
        sink.stream_data(dir_, data.subspan(skip), ts);
        next_ = end;
    } else {
        retransmitted_ += data.size();
    }
    if (missing > 0 && end + missing > next_) {
        std::uint64_t len = end + missing - next_;
        gap_bytes_ += len;
        sink.stream_gap(dir_, len, ts);
        next_ = end + missing;
    }
}

void TcpReassembler::drain(StreamSink& sink) {
    while (!pending_.empty() && pending_.begin()->first <= next_) {
        auto node = pending_.extract(pending_.begin());
        Segment& s = node.mapped();
        release(s.data.size());
        // Buffered bytes become available when the hole before them fills, not when they
        // were captured: analyzers see times that never go backwards.
        deliver(node.key(), s.data, s.missing, std::max(s.ts, latest_), sink);
    }
}

void TcpReassembler::skip_to_first_pending(Timestamp ts, StreamSink& sink) {
    if (pending_.empty())
        return;
    std::uint64_t first = pending_.begin()->first;
    if (first > next_) {
        gap_bytes_ += first - next_;
        sink.stream_gap(dir_, first - next_, ts);
        next_ = first;
    }
    drain(sink);
}

void TcpReassembler::check_fin(Timestamp ts, StreamSink& sink) {
    if (fin_seen_ && !eof_sent_ && next_ >= fin_off_) {
        eof_sent_ = true;
        sink.stream_eof(dir_, ts);
    }
}

void TcpReassembler::segment(std::uint32_t seq, std::span<const std::uint8_t> payload,
                             std::uint32_t wire_len, bool fin, Timestamp ts, StreamSink& sink) {
    latest_ = std::max(latest_, ts);
    if (!have_isn_) {
        have_isn_ = true;
        midstream_ = true;
        isn_ = seq;
    }
    std::int64_t soff = unwrap(seq);
    if (payload.size() > wire_len)
        payload = payload.first(wire_len);
    std::int64_t send = soff + wire_len;
    if (fin && !fin_seen_ && send >= 0) {
        fin_seen_ = true;
        fin_off_ = static_cast<std::uint64_t>(send);
    }
    if (wire_len == 0) {
        check_fin(ts, sink);
        return;
    }
    if (send <= static_cast<std::int64_t>(next_)) {
        retransmitted_ += wire_len;
        return;
    }
    if (soff < 0) {
        // Bytes from before the point where a mid-stream capture began.
        auto cut = static_cast<std::size_t>(-soff);
        retransmitted_ += cut;
        payload = payload.subspan(std::min(cut, payload.size()));
        wire_len -= static_cast<std::uint32_t>(cut);
        soff = 0;
    }
    auto off = static_cast<std::uint64_t>(soff);
    std::uint32_t missing = wire_len - static_cast<std::uint32_t>(payload.size());
    if (off <= next_) {
        // The common case: in order. Deliver straight from the packet without copying.
        deliver(off, payload, missing, ts, sink);
        drain(sink);
        check_fin(ts, sink);
        return;
    }
    // Out of order: keep a copy until the hole before it fills. When two buffered segments
    // start at the same offset the longer wins; overlaps are trimmed at delivery.
    auto it = pending_.find(off);
    if (it != pending_.end()) {
        if (it->second.data.size() + it->second.missing >= wire_len) {
            retransmitted_ += wire_len;
            return;
        }
        release(it->second.data.size());
        pending_.erase(it);
    }
    Segment s;
    s.data.assign(payload.begin(), payload.end());
    s.missing = missing;
    s.ts = ts;
    pending_bytes_ += s.data.size();
    budget_->used += s.data.size();
    budget_->peak = std::max(budget_->peak, budget_->used);
    pending_.emplace(off, std::move(s));
    if (pending_bytes_ > kMaxPendingPerStream || budget_->used > budget_->limit) {
        ++budget_->limit_hits;
        skip_to_first_pending(ts, sink);
    }
    check_fin(ts, sink);
}

void TcpReassembler::peer_ack(std::uint32_t ack, Timestamp ts, StreamSink& sink) {
    latest_ = std::max(latest_, ts);
    if (!have_isn_ || pending_.empty())
        return;
    std::int64_t acked = unwrap(ack);
    // The receiver has bytes the capture lacks: waiting for them is pointless.
    if (acked > static_cast<std::int64_t>(next_) &&
        static_cast<std::uint64_t>(acked) >= pending_.begin()->first) {
        skip_to_first_pending(ts, sink);
        check_fin(ts, sink);
    }
}

void TcpReassembler::flush(Timestamp ts, StreamSink& sink) {
    while (!pending_.empty())
        skip_to_first_pending(ts, sink);
    if (fin_seen_ && !eof_sent_ && fin_off_ > next_) {
        gap_bytes_ += fin_off_ - next_;
        sink.stream_gap(dir_, fin_off_ - next_, ts);
        next_ = fin_off_;
    }
    check_fin(ts, sink);
}

}  // namespace botscope::analysis
