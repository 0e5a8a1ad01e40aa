#include "report/behavior_json.h"

namespace botscope::report {

Json beacon_json(const analysis::detect::Beacon& b) {
    Json j;
    j["client"] = b.client.to_string();
    j["server"] = endpoint_json(b.server);
    j["host"] = b.host;
    j["uri_pattern"] = b.uri_pattern;
    j["requests"] = b.requests;
    j["period"] = b.period;
    j["jitter"] = b.jitter;
    j["start"] = ts_json(b.start);
    j["end"] = ts_json(b.end);
    j["evidence"] = evidence_json(b.evidence);
    return j;
}

}  // namespace botscope::report
