#include "review/ioc_format.h"

#include "review/json_read.h"
#include "review/time_text.h"

namespace botscope::review {

namespace {

Json indicator_json(const Indicator& i) {
    Json context = Json::object();
    for (const auto& [k, v] : i.context)
        context[k] = v;
    return {{"type", i.type},
            {"value", i.value},
            {"protocol", i.protocol.empty() ? Json(nullptr) : Json(i.protocol)},
            {"first_seen", format_time(i.first_seen)},
            {"last_seen", format_time(i.last_seen)},
            {"samples", i.samples.size()},
            {"sample_ids", i.samples},
            {"clusters", i.clusters},
            {"families", i.families},
            {"context", std::move(context)}};
}

Json cluster_json(const Cluster& c) {
    Json links = Json::array();
    for (const auto& [l, members] : c.links)
        links.push_back({{"link", l}, {"samples", members}});
    return {{"id", c.id},
            {"first_seen", format_time(c.first_seen)},
            {"last_seen", format_time(c.last_seen)},
            {"families", c.families},
            {"samples", c.samples},
            {"links", std::move(links)}};
}

}  // namespace

std::string ioc_json(const IocSet& set) {
    Json indicators = Json::array(), samples = Json::array(), clusters = Json::array();
    for (const auto& i : set.indicators)
        indicators.push_back(indicator_json(i));
    for (const auto& [id, s] : set.samples)
        samples.push_back({{"id", id},
                           {"name", s.name},
                           {"family", s.family.empty() ? Json(nullptr) : Json(s.family)},
                           {"first_seen", format_time(s.first_seen)},
                           {"last_seen", format_time(s.last_seen)},
                           {"tasks", s.tasks},
                           {"cluster", s.cluster == 0 ? Json(nullptr) : Json(s.cluster)}});
    for (const auto& c : set.clusters)
        clusters.push_back(cluster_json(c));
    Json doc = {{"schema", "botscope.ioc/1"},
                {"reports", set.reports},
                {"since", set.since ? Json(format_time(*set.since)) : Json(nullptr)},
                {"indicators", std::move(indicators)},
                {"samples", std::move(samples)},
                {"clusters", std::move(clusters)}};
    return json::dump(doc, 2) + "\n";
}

}  // namespace botscope::review
