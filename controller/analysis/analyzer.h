#pragma once
// The interfaces between the engine and the protocol analyzers.
//
// A TCP stream gets at most one StreamAnalyzer. Until one is chosen the engine buffers the
// first bytes of each direction (kProbeBytes) and asks every registered probe, in registry
// order, whether the stream looks like its protocol; the first kMatch wins, so the protocol
// is found by content on any port. The chosen analyzer then receives the buffered bytes and
// everything after them, in order, per direction.
//
// UDP datagrams go to DatagramAnalyzers: one instance each per engine, holding their own
// per-flow state (TFTP data flows use ports the request did not name, so the analyzer needs a
// view wider than one flow).

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "analysis/engine/expectations.h"
#include "analysis/types.h"

namespace botscope::analysis {

class LogSink;
class StreamInspector;

/// One row of a protocol's weird table: every analyzer lists the anomalies it can report in
/// one constexpr array of these, so names stay stable and documented.
struct WeirdInfo {
    std::string_view name;
    std::string_view description;
};

/// Counts anomalies ("weirds") by stable name. Names are `proto_snake_case` and come from each
/// protocol's table, never from input, so the map stays small.
class Weirds {
public:
    struct Entry {
        std::string analyzer;
        std::uint64_t count = 0;
        Timestamp first_ts = 0;
        FlowId first_flow = 0;
        std::string first_detail;  // bounded; e.g. the offending value
    };

    void add(std::string_view analyzer, std::string_view name, Timestamp ts, FlowId flow,
             std::string_view detail = {});
    const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }
    std::uint64_t count(std::string_view name) const;

private:
    std::map<std::string, Entry, std::less<>> entries_;
};

/// Handed to an analyzer when it is created: who it is talking about and where weirds go.
struct AnalyzerContext {
    FlowInfo flow;
    Weirds* weirds = nullptr;
    Expectations* expectations = nullptr;
    /// Where finished records go as well as into the result; null when nothing is logged.
    LogSink* logs = nullptr;
    /// Where the files a protocol carries go (stream_inspector.h); null when nowhere.
    StreamInspector* inspector = nullptr;

    /// Announces a connection to `responder` that will carry `service` (expectations.h).
    void expect(const Endpoint& responder, Timestamp ts, std::string_view service) const {
        if (expectations)
            expectations->expect(responder, ts, service);
    }

    void weird(std::string_view analyzer, std::string_view name, Timestamp ts,
               std::string_view detail = {}) const {
        if (weirds)
            weirds->add(analyzer, name, ts, flow.id, detail);
    }
};

enum class ProbeResult : std::uint8_t { kNoMatch, kNeedMore, kMatch };

/// The first bytes seen in each direction of a TCP stream (either may be empty).
struct ProbeInput {
    std::span<const std::uint8_t> orig;
    std::span<const std::uint8_t> resp;
    const FlowInfo* flow = nullptr;
};

class StreamAnalyzer {
public:
    virtual ~StreamAnalyzer() = default;

    /// In-order payload of one direction. `ts` is the capture time of the packet that made
    /// these bytes available.
    virtual void on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) = 0;

    /// `len` bytes of `dir` were never captured; data resumes after them. Line-based analyzers
    /// drop the partial line they were building.
    virtual void on_gap(Direction dir, std::uint64_t len, Timestamp ts) {
        (void)dir, (void)len, (void)ts;
    }

    /// One direction finished (FIN seen and everything before it delivered).
    virtual void on_eof(Direction dir, Timestamp ts) { (void)dir, (void)ts; }

    /// The connection is over (closed, reset, expired, or the capture ended). Called exactly
    /// once; the analyzer writes its results here at the latest.
    virtual void on_end(Timestamp ts) = 0;

    /// True once the analyzer has given up on this stream (too many invalid messages); the
    /// engine stops feeding it but still calls on_end.
    virtual bool gave_up() const { return false; }
};

/// One UDP datagram as a datagram analyzer sees it.
struct Datagram {
    FlowInfo flow;  // orig = sender of the flow's first packet
    Direction dir = Direction::kOrig;
    Endpoint src;
    Endpoint dst;
    std::span<const std::uint8_t> payload;
    Timestamp ts = 0;
};

class DatagramAnalyzer {
public:
    virtual ~DatagramAnalyzer() = default;

    /// Called for the first datagram of a UDP flow (and for later ones until some analyzer
    /// claims the flow): true claims the flow for this analyzer. Must not keep state.
    virtual bool probe(const Datagram& d) = 0;

    /// Every datagram of a flow this analyzer claimed, including the one that was probed.
    virtual void on_datagram(const Datagram& d, Weirds& weirds) = 0;

    /// The flow was expired or the capture ended: release per-flow state.
    virtual void on_flow_end(FlowId flow, Timestamp ts) { (void)flow, (void)ts; }

    /// End of capture: flush everything still open.
    virtual void finish(Timestamp ts) = 0;

    /// Where the files this analyzer's flows carry go (stream_inspector.h).
    virtual void carve_to(StreamInspector* inspector) { (void)inspector; }
};

}  // namespace botscope::analysis
