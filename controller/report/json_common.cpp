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

void trim_inner_lists(Json& record, std::size_t limit) {
    if (record.is_array()) {
        for (Json& item : record)
            trim_inner_lists(item, limit);
        return;
    }
    if (!record.is_object())
        return;
    std::vector<std::pair<std::string, std::size_t>> cut;
    for (auto& [key, value] : record.items()) {
        if (value.is_array() && value.size() > limit) {
            cut.emplace_back(key, value.size() - limit);
            value.erase(value.begin() + static_cast<std::ptrdiff_t>(limit), value.end());
        }
        trim_inner_lists(value, limit);
    }
    for (auto& [key, count] : cut) {
        Json& omitted = record[key + "_omitted"];
        omitted = (omitted.is_number_unsigned() ? omitted.get<std::size_t>() : 0) + count;
    }
}

}  // namespace botscope::report
