#pragma once
// JSON helpers shared by every part of the report.

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/types.h"

namespace botscope::report {

/// Reports keep their keys in the order written, so two runs print the same bytes.
using Json = nlohmann::ordered_json;

/// Capture time as epoch seconds with microsecond precision (as Zeek logs it).
Json ts_json(analysis::Timestamp ts);

/// {"ip": "...", "port": N}
Json endpoint_json(const analysis::Endpoint& ep);

/// report.json lists a sample of each list of records and stays about 1 MB whatever the
/// capture; the logs (jsonl_logs.h) hold every record whole.
inline constexpr std::size_t kSampleBytes = 32 * 1024;  ///< of one list's records, compact
inline constexpr std::size_t kSampleInnerItems = 100;   ///< of each list inside a record

/// The size of `j` as compact JSON (a log line; report.json is indented).
std::size_t json_size(const Json& j);

/// Cuts every list inside `record` (at any depth) to `limit` entries and puts
/// `<name>_omitted` beside each list that was cut, with the count cut (added to one already
/// there).
void trim_inner_lists(Json& record, std::size_t limit = kSampleInnerItems);

/// The report's sample of `items`: their JSON in order, inner lists cut, while the total fits
/// in `budget`. The first is always listed, its inner lists cut further until it fits (its
/// scalars are bounded by the analyzers). The caller reports how many were omitted.
template <typename T, typename F>
Json sample_list(const std::vector<T>& items, F&& to_json, std::size_t budget = kSampleBytes) {
    Json out = Json::array();
    std::size_t bytes = 0;
    for (const T& item : items) {
        Json j = to_json(item);
        trim_inner_lists(j);
        std::size_t size = json_size(j);
        if (!out.empty() && bytes + size > budget)
            break;
        for (std::size_t limit : {10, 1}) {
            if (size <= budget)
                break;
            trim_inner_lists(j, limit);
            size = json_size(j);
        }
        bytes += size;
        out.push_back(std::move(j));
    }
    return out;
}

}  // namespace botscope::report
