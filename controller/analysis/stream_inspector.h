#pragma once
// Content inspection of reassembled TCP streams (YARA's network rules), kept behind an
// interface so that the engine knows nothing of what inspects them.
//
// With an inspector set, the engine keeps the first bytes of each direction of every TCP
// connection, as reassembly delivered them (in order, retransmissions and overlaps resolved),
// whatever protocol the connection turned out to speak or none, and hands them over when the
// connection ends. Limits:
//   StreamCapture::per_direction  64 KiB kept of each direction (the opening: where C&C
//                                 logins, commands and replies sit)
//   StreamCapture::total          64 MiB kept across all live connections
// A direction stops being kept at a gap (what follows would be matched against bytes that
// were never next to it) or at either limit; it is then inspected as far as it got, flagged
// truncated.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "analysis/types.h"

namespace botscope::analysis {

struct StreamCapture {
    static constexpr std::size_t kDefaultPerDirection = 64u << 10;
    static constexpr std::size_t kDefaultTotal = 64u << 20;
    std::size_t per_direction = kDefaultPerDirection;
    std::size_t total = kDefaultTotal;
};

/// One direction of a finished TCP connection.
struct InspectedStream {
    const FlowInfo* flow = nullptr;
    Direction dir = Direction::kOrig;
    std::string_view service;  ///< the analyzer that claimed the connection, or empty
    std::span<const std::uint8_t> data;
    bool truncated = false;  ///< a gap or a limit stopped the keeping
    bool gap = false;        ///< of which a gap
    Timestamp end = 0;
};

class StreamInspector {
public:
    virtual ~StreamInspector() = default;
    /// Called once per direction that carried data, when its connection ends (closed, reset,
    /// expired, evicted, or the capture ended). `s.data` lives for the call only.
    virtual void inspect(const InspectedStream& s) = 0;
};

}  // namespace botscope::analysis
