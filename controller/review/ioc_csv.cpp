#include "review/ioc_format.h"

#include "review/time_text.h"

namespace botscope::review {

namespace {

/// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
std::string field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

template <typename Set>
std::string joined(const Set& items, const char* sep = "|") {
    std::string out;
    for (const auto& i : items) {
        if (!out.empty())
            out += sep;
        if constexpr (std::is_same_v<std::decay_t<decltype(i)>, int>)
            out += std::to_string(i);
        else
            out += i;
    }
    return out;
}

std::string row(std::initializer_list<std::string> cells) {
    std::string out;
    for (const auto& c : cells)
        out += (out.empty() ? "" : ",") + field(c);
    return out + "\r\n";
}

}  // namespace

std::string ioc_csv(const IocSet& set) {
    std::string out = row({"type", "value", "protocol", "first_seen", "last_seen", "samples",
                           "clusters", "families", "context"});
    for (const auto& i : set.indicators) {
        std::string context;
        for (const auto& [k, v] : i.context)
            context += (context.empty() ? "" : ";") + k + "=" + joined(v);
        out += row({i.type, i.value, i.protocol, format_time(i.first_seen),
                    format_time(i.last_seen), std::to_string(i.samples.size()), joined(i.clusters),
                    joined(i.families), context});
    }
    for (const auto& c : set.clusters) {
        std::string links;
        for (const auto& [l, members] : c.links)
            links += (links.empty() ? "" : "|") + l;
        out +=
            row({"cluster", std::to_string(c.id), "", format_time(c.first_seen),
                 format_time(c.last_seen), std::to_string(c.samples.size()), std::to_string(c.id),
                 joined(c.families), "links=" + links + ";samples=" + joined(c.samples)});
    }
    return out;
}

}  // namespace botscope::review
