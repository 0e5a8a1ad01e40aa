#include "review/diff.h"

#include <algorithm>

#include "review/facts.h"
#include "review/json_read.h"
#include "util/terminal_text.h"

namespace botscope::review {

namespace {

using json::at;
using json::list;
using json::str;
using Items = std::vector<std::string>;

void add(Items& out, std::string v) {
    if (!v.empty() && out.size() < 4 * kMaxItems &&
        std::find(out.begin(), out.end(), v) == out.end())
        out.push_back(std::move(v));
}

std::string ports(const Json& j) {
    std::string out;
    for (const auto& p : list(j, "ports")) {
        auto n = p.is_object() ? json::integer(p, "port", 0, 65535, -1)
                               : (p.is_number_integer() ? p.get<std::int64_t>() : -1);
        if (n >= 0)
            out += (out.empty() ? "" : ",") + std::to_string(n);
    }
    return out.empty() ? "" : " ports " + out;
}

Items verdict_items(const Json& r, const Facts& f) {
    Items out;
    if (!f.family.empty())
        add(out, "family " + f.family);
    if (!f.level.empty())
        add(out, "level " + f.level);
    const Json& v = at(r, "verdict");
    for (const auto& s : list(v, "signatures"))
        add(out, "signature " + str(s, "name", kMaxText));
    const Json& c = at(v, "classification");
    for (const char* part : {"spreading", "capabilities"})
        for (const auto& k : list(c, part))
            add(out, std::string(part == std::string("spreading") ? "spreading " : "capability ") +
                         str(k, "kind", kMaxText));
    return out;
}

Items cnc_items(const Facts& f) {
    Items out;
    for (const auto& c : f.cnc)
        add(out, c.protocol + " C&C " + c.key());
    for (const auto& c : f.channels)
        add(out, "channel " + c.name + (c.key.empty() ? "" : " key " + c.key));
    for (const auto& n : f.nicks)
        add(out, "nick " + n);
    if (!f.nick_pattern.empty())
        add(out, "nick pattern " + f.nick_pattern);
    return out;
}

Items command_items(const Json& r) {
    Items out;
    for (const auto& c : list(at(r, "behavior"), "commands"))
        add(out, str(c, "text", kMaxText));
    return out;
}

Items behaviour_items(const Json& r) {
    Items out;
    const Json& b = at(r, "behavior");
    for (const auto& x : list(b, "floods"))
        add(out, str(x, "kind", 32) + " flood on " + str(x, "target", 64) + ports(x));
    for (const auto& x : list(b, "scans"))
        add(out, str(x, "kind", 32) + " " + str(x, "transport", 16) + " scan" + ports(x));
    for (const auto& x : list(b, "spam_runs")) {
        add(out, "spam run");
        for (const auto& s : list(x, "subjects"))
            add(out, "spam subject \"" + str(s, "value", kMaxText) + "\"");
    }
    for (const auto& x : list(b, "downloads"))
        add(out, "download " + str(x, "url", kMaxText));
    for (const auto& x : list(b, "remote_shells"))
        add(out, "remote shell " + str(x, "shell", 32));
    for (const auto& x : list(at(b, "cnc"), "http_beacons"))
        add(out, "http beacon " + str(x, "host", kMaxText) + str(x, "uri_pattern", kMaxText));
    return out;
}

Items file_items(const Facts& f) {
    Items out;
    // A download or sample is named differently by traits and behaviour; where a file was
    // dropped is part of what a variant does.
    for (const auto& h : f.hashes)
        add(out, h.role + " " + h.sha256 + (h.role == "dropped" ? " " + h.name : ""));
    for (const auto& y : f.yara)
        add(out, "yara " + y);
    return out;
}

DiffSection compare(std::string name, const Items& a, const Items& b) {
    DiffSection d{std::move(name), {}, {}, {}};
    auto in = [](const Items& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    for (const auto& s : a)
        (in(b, s) ? d.both : d.only_a).push_back(s);
    for (const auto& s : b)
        if (!in(a, s))
            d.only_b.push_back(s);
    return d;
}

}  // namespace

std::vector<DiffSection> diff_reports(const Json& a, const Json& b) {
    Facts fa = extract_facts(a), fb = extract_facts(b);
    return {compare("verdict", verdict_items(a, fa), verdict_items(b, fb)),
            compare("cnc", cnc_items(fa), cnc_items(fb)),
            compare("commands", command_items(a), command_items(b)),
            compare("behaviours", behaviour_items(a), behaviour_items(b)),
            compare("files", file_items(fa), file_items(fb))};
}

Json diff_to_json(const std::vector<DiffSection>& d, const std::string& label_a,
                  const std::string& label_b) {
    Json sections = Json::object();
    bool same = true;
    for (const auto& s : d) {
        sections[s.name] = {{"only_a", s.only_a}, {"only_b", s.only_b}, {"both", s.both}};
        same = same && s.only_a.empty() && s.only_b.empty();
    }
    return {{"a", label_a}, {"b", label_b}, {"same", same}, {"sections", std::move(sections)}};
}

std::string diff_text(const std::vector<DiffSection>& d, const std::string& label_a,
                      const std::string& label_b) {
    std::string out =
        "--- a " + util::terminal_safe(label_a) + "\n+++ b " + util::terminal_safe(label_b) + "\n";
    for (const auto& s : d) {
        out += s.name + ": " + std::to_string(s.both.size()) + " in both";
        if (s.only_a.empty() && s.only_b.empty())
            out += ", no difference";
        out += "\n";
        for (const auto& x : s.only_a)
            out += "  - " + util::terminal_safe(x, 200) + "\n";
        for (const auto& x : s.only_b)
            out += "  + " + util::terminal_safe(x, 200) + "\n";
    }
    return out;
}

}  // namespace botscope::review
