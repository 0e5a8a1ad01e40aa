#include "report/json_common.h"

#include <cmath>
#include <string>
#include <utility>

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

std::size_t json_size(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace).size();
}

void trim_inner_lists(Json& record) {
    if (record.is_array()) {
        for (Json& item : record)
            trim_inner_lists(item);
        return;
    }
    if (!record.is_object())
        return;
    std::vector<std::pair<std::string, std::size_t>> cut;
    for (auto& [key, value] : record.items()) {
        if (value.is_array() && value.size() > kSampleInnerItems) {
            cut.emplace_back(key, value.size() - kSampleInnerItems);
            value.erase(value.begin() + static_cast<std::ptrdiff_t>(kSampleInnerItems),
                        value.end());
        }
        trim_inner_lists(value);
    }
    for (auto& [key, count] : cut)
        record[key + "_omitted"] = count;
}

}  // namespace botscope::report
