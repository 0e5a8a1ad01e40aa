#pragma once
// TCP reassembly of one direction of a connection.
//
// Handles out-of-order segments, retransmissions, overlaps (the bytes delivered or buffered
// first win), sequence wrap-around (offsets are kept as 64-bit distances from the initial
// sequence number), streams that start mid-session (the first seen sequence number is taken
// as the start), and gaps: bytes the capture never saw are skipped with a gap notice when the
// peer acknowledges past them, when buffering hits its limit, or when the connection ends.
//
// Limits:
//   kMaxPendingPerStream   1 MiB of out-of-order data per direction
//   ReassemblyBudget       64 MiB of out-of-order data across all connections (engine-wide)
// Hitting either skips to the first buffered segment (a gap) rather than dropping data that
// is already buffered.

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "analysis/types.h"

namespace botscope::analysis {

/// Engine-wide account of buffered out-of-order bytes.
struct ReassemblyBudget {
    static constexpr std::size_t kDefaultLimit = 64u << 20;
    std::size_t limit = kDefaultLimit;
    std::size_t used = 0;
    std::size_t peak = 0;
    std::uint64_t limit_hits = 0;
};

/// Receives what a TcpReassembler delivers, in stream order.
class StreamSink {
public:
    virtual void stream_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) = 0;
    virtual void stream_gap(Direction dir, std::uint64_t len, Timestamp ts) = 0;
    virtual void stream_eof(Direction dir, Timestamp ts) = 0;

protected:
    ~StreamSink() = default;
};

class TcpReassembler {
public:
    static constexpr std::size_t kMaxPendingPerStream = 1u << 20;

    TcpReassembler(Direction dir, ReassemblyBudget& budget) : dir_(dir), budget_(&budget) {}
    ~TcpReassembler();
    TcpReassembler(const TcpReassembler&) = delete;
    TcpReassembler& operator=(const TcpReassembler&) = delete;

    /// A SYN from this direction: data starts at seq + 1.
    void syn(std::uint32_t seq);

    /// One segment of this direction. `payload` is what was captured; `wire_len` is the
    /// payload length per the headers (the difference was cut by the snap length).
    void segment(std::uint32_t seq, std::span<const std::uint8_t> payload, std::uint32_t wire_len,
                 bool fin, Timestamp ts, StreamSink& sink);

    /// The peer acknowledged up to `ack`: anything before it that was never captured is a gap.
    void peer_ack(std::uint32_t ack, Timestamp ts, StreamSink& sink);

    /// The connection is over: deliver everything buffered, with gaps between.
    void flush(Timestamp ts, StreamSink& sink);

    bool started() const { return have_isn_; }
    bool midstream() const { return midstream_; }
    std::uint64_t delivered() const { return next_; }
    std::uint64_t gap_bytes() const { return gap_bytes_; }
    std::uint64_t retransmitted_bytes() const { return retransmitted_; }
    std::size_t pending_bytes() const { return pending_bytes_; }

private:
    struct Segment {
        std::vector<std::uint8_t> data;
        std::uint32_t missing = 0;  // bytes after `data` that the snap length cut off
        Timestamp ts = 0;
    };

    std::int64_t unwrap(std::uint32_t seq) const;
    void deliver(std::uint64_t off, std::span<const std::uint8_t> data, std::uint32_t missing,
                 Timestamp ts, StreamSink& sink);
    void drain(StreamSink& sink);
    void skip_to_first_pending(Timestamp ts, StreamSink& sink);
    void release(std::size_t n);
    void check_fin(Timestamp ts, StreamSink& sink);

    Direction dir_;
    ReassemblyBudget* budget_;
    bool have_isn_ = false;
    bool midstream_ = false;
    bool fin_seen_ = false;
    bool eof_sent_ = false;
    std::uint32_t isn_ = 0;   // sequence number of stream offset 0
    std::uint64_t next_ = 0;  // next stream offset to deliver
    std::uint64_t fin_off_ = 0;
    std::map<std::uint64_t, Segment> pending_;
    std::size_t pending_bytes_ = 0;
    std::uint64_t gap_bytes_ = 0;
    std::uint64_t retransmitted_ = 0;
    Timestamp latest_ = 0;  // newest capture time this direction has been given
};

}  // namespace botscope::analysis
