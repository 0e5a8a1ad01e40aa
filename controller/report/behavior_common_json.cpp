#include "report/behavior_json.h"

namespace botscope::report {

Json evidence_json(const analysis::detect::Evidence& e) {
    Json flows = Json::array();
    for (auto id : e.flows)
        flows.push_back(id);
    return Json{{"flows", std::move(flows)}, {"flows_total", e.flows_total}};
}

Json counted_json(const std::vector<analysis::detect::Counted>& list) {
    Json out = Json::array();
    for (const auto& c : list)
        out.push_back(Json{{"value", c.value}, {"count", c.count}});
    return out;
}

Json optional_json(const std::optional<double>& v) {
    return v ? Json(*v) : Json(nullptr);
}

Json command_ref_json(const std::optional<std::size_t>& command) {
    return command ? Json(*command) : Json(nullptr);
}

}  // namespace botscope::report
