#include "analysis/analyzer.h"

namespace botscope::analysis {

namespace {
constexpr std::size_t kMaxWeirdDetail = 200;
}

void Weirds::add(std::string_view analyzer, std::string_view name, Timestamp ts, FlowId flow,
                 std::string_view detail) {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
        Entry e;
        e.analyzer = std::string(analyzer);
        e.first_ts = ts;
        e.first_flow = flow;
        e.first_detail = std::string(detail.substr(0, kMaxWeirdDetail));
        it = entries_.emplace(std::string(name), std::move(e)).first;
    }
    ++it->second.count;
}

std::uint64_t Weirds::count(std::string_view name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? 0 : it->second.count;
}

}  // namespace botscope::analysis
