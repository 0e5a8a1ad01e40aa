#pragma once
// Where the engine streams its full records while it runs (report/jsonl_logs.h writes them
// as JSON lines). The in-memory result keeps bounded samples; the sink gets everything.

#include "analysis/network_result.h"

namespace botscope::analysis {

class LogSink {
public:
    virtual ~LogSink() = default;
    /// A flow that ended (by expiry, eviction, or the end of the capture).
    virtual void flow(const FlowRecord& r) = 0;
};

}  // namespace botscope::analysis
