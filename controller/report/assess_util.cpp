#include "report/assess_util.h"

#include "report/assess.h"

namespace botscope::report::assess_detail {

namespace {

const Json& null_json() {
    static const Json kNull;
    return kNull;
}

const Json& empty_list() {
    static const Json kEmpty = Json::array();
    return kEmpty;
}

}  // namespace

const Json& get(const Json& j, std::string_view key) {
    if (!j.is_object())
        return null_json();
    auto it = j.find(key);
    return it == j.end() ? null_json() : *it;
}

const Json& get(const Json& j, std::string_view a, std::string_view b) {
    return get(get(j, a), b);
}

const Json& list(const Json& j) {
    return j.is_array() ? j : empty_list();
}

std::string text(const Json& j, std::string_view fallback) {
    return j.is_string() ? j.get<std::string>() : std::string(fallback);
}

std::uint64_t count(const Json& j) {
    if (j.is_number_unsigned())
        return j.get<std::uint64_t>();
    if (j.is_number_integer())
        return j.get<std::int64_t>() < 0 ? 0 : static_cast<std::uint64_t>(j.get<std::int64_t>());
    return 0;
}

double number(const Json& j) {
    return j.is_number() ? j.get<double>() : 0.0;
}

std::string endpoint_text(const Json& ep) {
    std::string ip = text(get(ep, "ip"), "?");
    std::string port = std::to_string(count(get(ep, "port")));
    return ip.find(':') == std::string::npos ? ip + ":" + port : "[" + ip + "]:" + port;
}

bool standard_irc_port(std::uint64_t port) {
    return (port >= 6660 && port <= 6669) || port == 6697 || port == 194 || port == 7000;
}

void add_unique(Json& out, Json value) {
    if (out.size() >= kMaxTraitItems)
        return;
    for (const auto& v : out)
        if (v == value)
            return;
    out.push_back(std::move(value));
}

}  // namespace botscope::report::assess_detail
