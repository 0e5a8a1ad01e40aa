#pragma once
// The one explicit list of protocol analyzers. Order matters for stream probes: the first
// probe that answers kMatch wins, so stricter probes come first.

#include <memory>
#include <span>
#include <string_view>

#include "analysis/analyzer.h"
#include "analysis/network_result.h"

namespace botscope::analysis {

struct StreamAnalyzerEntry {
    std::string_view name;
    ProbeResult (*probe)(const ProbeInput& in);
    std::unique_ptr<StreamAnalyzer> (*make)(const AnalyzerContext& ctx, NetworkResult& results);
};

struct DatagramAnalyzerEntry {
    std::string_view name;
    std::unique_ptr<DatagramAnalyzer> (*make)(NetworkResult& results, LogSink* logs);
};

std::span<const StreamAnalyzerEntry> stream_analyzers();
std::span<const DatagramAnalyzerEntry> datagram_analyzers();

}  // namespace botscope::analysis
