#include "report/behavior_json.h"

namespace botscope::report {

Json download_json(const analysis::detect::Download& d) {
    Json j;
    j["protocol"] = d.protocol;
    j["ts"] = ts_json(d.ts);
    j["last_ts"] = ts_json(d.last_ts);
    j["count"] = d.count;
    j["flow"] = d.flow;
    j["client"] = endpoint_json(d.client);
    j["server"] = endpoint_json(d.server);
    j["url"] = d.url;
    j["name"] = d.name;
    j["kind"] = d.kind;
    j["size"] = d.size;
    // Empty digests would read as the hash of nothing; null says "not measured".
    j["md5"] = d.md5.empty() ? Json(nullptr) : Json(d.md5);
    j["sha256"] = d.sha256.empty() ? Json(nullptr) : Json(d.sha256);
    j["complete"] = d.complete;
    j["evidence"] = evidence_json(d.evidence);
    j["command"] = command_ref_json(d.command);
    return j;
}

}  // namespace botscope::report
