#include "report/json_common.h"

#include <cmath>

namespace botscope::report {

Json ts_json(analysis::Timestamp ts) {
    // Round to microseconds so the printed value is short and the same on every run.
    double us = std::floor(static_cast<double>(ts) / 1e3 + 0.5);
    return us / 1e6;
}

Json endpoint_json(const analysis::Endpoint& ep) {
    Json j;
    j["ip"] = ep.addr.to_string();
    j["port"] = ep.port;
    return j;
}

}  // namespace botscope::report
