#include "review/ioc.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace botscope::review {

namespace {

using Key = std::tuple<std::string, std::string>;  // type, value

struct Builder {
    std::map<Key, Indicator> indicators;
    std::map<std::string, Sample> samples;
    std::map<std::string, std::set<std::string>> links;  // link -> samples

    Indicator& add(const Facts& f, const std::string& sample, const std::string& type,
                   const std::string& value) {
        Indicator& i = indicators[{type, value}];
        if (i.samples.empty()) {
            i.type = type;
            i.value = value;
            i.first_seen = i.last_seen = f.time;
        }
        i.first_seen = std::min(i.first_seen, f.time);
        i.last_seen = std::max(i.last_seen, f.time);
        i.samples.insert(sample);
        if (!f.family.empty())
            i.families.insert(f.family);
        return i;
    }
};

std::string sample_id(const Facts& f) {
    return !f.sample_sha256.empty() ? f.sample_sha256 : "task:" + f.id;
}

void add_sample(Builder& b, const Facts& f, const std::string& id) {
    Sample& s = b.samples[id];
    if (s.tasks.empty()) {
        s.id = id;
        s.name = f.sample_name;
        s.first_seen = s.last_seen = f.time;
    }
    if (s.family.empty())
        s.family = f.family;
    s.first_seen = std::min(s.first_seen, f.time);
    s.last_seen = std::max(s.last_seen, f.time);
    s.tasks.insert(f.id);
}

void add_cnc(Builder& b, const Facts& f, const std::string& id) {
    for (const auto& c : f.cnc) {
        b.links["cnc " + c.key()].insert(id);
        if (!c.sandbox_address) {
            auto& i = b.add(f, id, "cnc", c.endpoint());
            i.protocol = c.protocol;
            for (const auto& n : c.names)
                i.context["names"].insert(n);
        }
        for (const auto& n : c.names) {
            auto& i = b.add(f, id, "cnc_domain", n);
            i.protocol = c.protocol;
            i.context["port"].insert(std::to_string(c.port));
            b.links["cnc_domain " + n].insert(id);
        }
    }
}

void add_irc(Builder& b, const Facts& f, const std::string& id) {
    for (const auto& c : f.channels) {
        auto& i = b.add(f, id, "irc_channel", c.name);
        if (!c.key.empty())
            i.context["key"].insert(c.key);
        if (!c.server.empty()) {
            i.context["server"].insert(c.server);
            b.links["irc_channel " + c.name + " on " + c.server].insert(id);
        }
    }
    // A pattern stands for the nicks it was made from; without one the nicks are all there is.
    if (!f.nick_pattern.empty())
        b.add(f, id, "irc_nick_pattern", f.nick_pattern);
    else
        for (const auto& n : f.nicks)
            b.add(f, id, "irc_nick", n);
}

void add_files(Builder& b, const Facts& f, const std::string& id) {
    for (const auto& u : f.urls)
        b.add(f, id, "url", u);
    for (const auto& h : f.hashes) {
        for (const auto& [type, value] : {std::pair{"sha256", h.sha256}, {"md5", h.md5}}) {
            if (value.empty())
                continue;
            auto& i = b.add(f, id, type, value);
            i.context["role"].insert(h.role);
            if (!h.name.empty())
                i.context["name"].insert(h.name);
        }
    }
}

/// Union-find over sample ids, with path halving.
struct DisjointSet {
    std::map<std::string, std::string> parent;
    std::string find(std::string s) {
        parent.emplace(s, s);
        while (parent[s] != s) {
            parent[s] = parent[parent[s]];
            s = parent[s];
        }
        return s;
    }
    void join(const std::string& a, const std::string& b) { parent[find(a)] = find(b); }
};

/// The samples joined by every link two of them share.
std::vector<Cluster> clusters_of(Builder& b) {
    DisjointSet set;
    for (const auto& [link, members] : b.links)
        for (const auto& m : members)
            set.join(m, *members.begin());
    auto& parent = set.parent;
    auto find = [&set](const std::string& s) { return set.find(s); };
    std::map<std::string, Cluster> by_root;
    std::vector<std::string> members;
    for (const auto& [s, p] : parent)
        members.push_back(s);
    for (const auto& s : members) {
        Cluster& c = by_root[find(s)];
        const Sample& sample = b.samples[s];
        c.first_seen =
            c.samples.empty() ? sample.first_seen : std::min(c.first_seen, sample.first_seen);
        c.last_seen = std::max(c.last_seen, sample.last_seen);
        c.samples.push_back(s);
        if (!sample.family.empty())
            c.families.insert(sample.family);
    }
    for (const auto& [link, members] : b.links)
        by_root[find(*members.begin())].links[link] = members;
    std::vector<Cluster> out;
    for (auto& [root, c] : by_root)
        out.push_back(std::move(c));
    std::sort(out.begin(), out.end(), [](const Cluster& x, const Cluster& y) {
        return std::tie(x.first_seen, x.samples.front()) <
               std::tie(y.first_seen, y.samples.front());
    });
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i].id = static_cast<int>(i + 1);
    return out;
}

}  // namespace

IocSet collect_iocs(const std::vector<Facts>& reports, std::optional<double> since) {
    Builder b;
    IocSet out;
    out.since = since;
    for (const auto& f : reports) {
        if (since && f.time < *since)
            continue;
        ++out.reports;
        std::string id = sample_id(f);
        add_sample(b, f, id);
        add_cnc(b, f, id);
        add_irc(b, f, id);
        add_files(b, f, id);
    }
    out.clusters = clusters_of(b);
    for (const auto& c : out.clusters)
        for (const auto& s : c.samples)
            b.samples[s].cluster = c.id;
    for (auto& [key, i] : b.indicators) {
        for (const auto& s : i.samples)
            if (int c = b.samples[s].cluster; c != 0)
                i.clusters.insert(c);
        out.indicators.push_back(std::move(i));
    }
    out.samples = std::move(b.samples);
    return out;
}

}  // namespace botscope::review
