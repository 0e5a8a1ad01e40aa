#pragma once
// The streaming analysis engine: packets in (in file order, one pass), NetworkResult out.
// Memory grows with live flows and bounded result tables, never with the capture's size or
// its count of flows.

#include <cstdint>
#include <memory>
#include <span>

#include "analysis/detect/behavior.h"
#include "analysis/detect/config.h"
#include "analysis/network_result.h"
#include "analysis/stream_inspector.h"
#include "analysis/types.h"

namespace botscope::analysis {

class LogSink;

class Engine {
public:
    /// `link_type` is the capture's LINKTYPE_ value (see decode.h); `config` holds the
    /// behaviour detectors' thresholds; `logs`, when given, receives every record as it is
    /// complete (the result keeps only what the report and the detectors need).
    explicit Engine(int link_type, const detect::Config& config = {}, LogSink* logs = nullptr);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Hands each direction of every TCP connection, as reassembled, to `inspector` when the
    /// connection ends (stream_inspector.h). Call before the first packet; null stops it.
    void inspect_streams(StreamInspector* inspector, const StreamCapture& limits = {});

    /// One captured frame. `wire_len` is its length on the wire (>= frame.size()).
    void process(Timestamp ts, std::span<const std::uint8_t> frame, std::uint32_t wire_len);

    /// Ends every flow, flushes every analyzer and hands over the result; with `behavior`,
    /// also what the detectors concluded. Call once.
    NetworkResult finish(detect::BehaviorResult* behavior = nullptr);

    /// Live state, for tests and progress displays.
    std::size_t live_flows() const;
    std::size_t reassembly_bytes() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace botscope::analysis
