#pragma once
// Reads a capture file through libpcap (pcap in either byte order, micro- or nanosecond
// timestamps, pcapng) and feeds the engine. The only part of the analysis that knows libpcap.

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "analysis/detect/behavior.h"
#include "analysis/detect/config.h"
#include "analysis/network_result.h"
#include "analysis/stream_inspector.h"

namespace botscope::analysis {

/// Why a capture could not be analysed at all (a truncated capture is not an error: its
/// packets up to the break are analysed and the result is marked truncated).
enum class CaptureError : std::uint8_t {
    kNone,
    kNotFound,         // no such file
    kUnreadable,       // permission, is a directory, I/O error
    kEmpty,            // zero bytes
    kNotCapture,       // not a pcap or pcapng file
    kUnsupportedLink,  // a link type the decoder does not know
    kBadHeader,        // a capture whose file header is cut short or corrupt
};

const char* capture_error_name(CaptureError e);

struct AnalyzeOutcome {
    CaptureError error = CaptureError::kNone;
    std::string message;  // one line, names the file and the problem
    NetworkResult result;
    detect::BehaviorResult behavior;
};

/// Progress callback: bytes of the file consumed so far and its size.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

class LogSink;

/// Analyses one capture file; `config` holds the behaviour detectors' thresholds; `logs`, when
/// given, receives every record as the analysis goes (log_sink.h); `inspector`, when given,
/// each TCP stream as reassembled (stream_inspector.h).
AnalyzeOutcome analyze_capture_file(const std::string& path, const ProgressFn& progress = {},
                                    const detect::Config& config = {}, LogSink* logs = nullptr,
                                    StreamInspector* inspector = nullptr);

/// Analyses a capture held in memory (the fuzz target's way in).
AnalyzeOutcome analyze_capture_bytes(std::span<const std::uint8_t> bytes, LogSink* logs = nullptr,
                                     StreamInspector* inspector = nullptr);

/// The plain libpcap read loop over a file (for the benchmark's baseline): packets and bytes.
struct ReadLoopStats {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    bool ok = false;
    std::string message;
};
ReadLoopStats bare_read_loop(const std::string& path);

}  // namespace botscope::analysis
