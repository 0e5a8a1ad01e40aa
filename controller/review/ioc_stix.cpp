#include "review/ioc_format.h"

#include <arpa/inet.h>

#include <array>
#include <map>

#include "review/json_read.h"
#include "review/time_text.h"
#include "util/hash.h"

namespace botscope::review {

namespace {

constexpr std::array<std::uint8_t, 16> kNamespace = {
    0x3d, 0x63, 0xdb, 0xc0, 0x94, 0xd2, 0x5e, 0x44, 0xb6, 0x6d, 0x69, 0x54, 0x8c, 0x33, 0xaf, 0x9f};

std::string sid(const std::string& type, const std::string& name) {
    return type + "--" + stix_uuid(type + "|" + name);
}

/// A string literal of STIX patterning: quotes and backslashes escaped.
std::string literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "'";
}

/// The address of "ip:port" / "[ip6]:port" and its STIX type, or "" when it is not one.
std::pair<std::string, std::string> address_of(const std::string& endpoint) {
    auto colon = endpoint.rfind(':');
    std::string host = endpoint.substr(0, colon == std::string::npos ? 0 : colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    unsigned char buf[16];
    if (inet_pton(AF_INET, host.c_str(), buf) == 1)
        return {host, "ipv4-addr"};
    if (inet_pton(AF_INET6, host.c_str(), buf) == 1)
        return {host, "ipv6-addr"};
    return {};
}

/// The STIX pattern of an indicator, "" for the types STIX has no object for (IRC).
std::string pattern(const Indicator& i) {
    if (i.type == "cnc") {
        auto [ip, type] = address_of(i.value);
        if (ip.empty())
            return {};
        return "[network-traffic:dst_ref.type = " + literal(type) +
               " AND network-traffic:dst_ref.value = " + literal(ip) +
               " AND network-traffic:dst_port = " + i.value.substr(i.value.rfind(':') + 1) + "]";
    }
    if (i.type == "cnc_domain")
        return "[domain-name:value = " + literal(i.value) + "]";
    if (i.type == "url")
        return "[url:value = " + literal(i.value) + "]";
    if (i.type == "sha256")
        return "[file:hashes.'SHA-256' = " + literal(i.value) + "]";
    if (i.type == "md5")
        return "[file:hashes.MD5 = " + literal(i.value) + "]";
    return {};
}

Json object(const std::string& type, const std::string& id, double first, double last) {
    return {{"type", type},
            {"spec_version", "2.1"},
            {"id", id},
            {"created", format_time_ms(first)},
            {"modified", format_time_ms(std::max(first, last))}};
}

struct Bundle {
    std::map<std::string, Json> objects;  // by id: sorted, and each once

    void add(Json o) {
        std::string id = o["id"].get<std::string>();
        objects.emplace(std::move(id), std::move(o));
    }
    void relate(const Json& from, const std::string& type, const std::string& to) {
        std::string src = from.at("id").get<std::string>();
        Json r = object("relationship", sid("relationship", src + "|" + type + "|" + to), 0, 0);
        r["created"] = from.at("created");
        r["modified"] = from.at("modified");
        r["relationship_type"] = type;
        r["source_ref"] = src;
        r["target_ref"] = to;
        add(std::move(r));
    }
};

std::string sample_malware_id(const std::string& sample) {
    return sid("malware", "sample|" + sample);
}

std::string botnet_id(const Cluster& c) {
    return sid("infrastructure", "botnet|" + c.links.begin()->first);
}

void add_samples(Bundle& b, const IocSet& set) {
    for (const auto& [id, s] : set.samples) {
        Json m = object("malware", sample_malware_id(id), s.first_seen, s.last_seen);
        m["name"] = s.name.empty() ? id : s.name;
        m["description"] = "sample " + id;
        m["malware_types"] = {"bot"};
        m["is_family"] = false;
        m["first_seen"] = format_time_ms(s.first_seen);
        m["last_seen"] = format_time_ms(s.last_seen);
        if (!s.family.empty()) {
            Json f =
                object("malware", sid("malware", "family|" + s.family), s.first_seen, s.first_seen);
            f["name"] = s.family;
            f["malware_types"] = {"bot"};
            f["is_family"] = true;
            b.relate(m, "variant-of", f["id"].get<std::string>());
            b.objects.emplace(f["id"].get<std::string>(), std::move(f));
        }
        b.add(std::move(m));
    }
}

/// What the reports say of a C&C that STIX has no object for: channels, keys, nicks.
std::string irc_description(const IocSet& set, const std::string& key) {
    std::string out;
    for (const auto& i : set.indicators) {
        auto server = i.context.find("server");
        if (i.type != "irc_channel" || server == i.context.end() || !server->second.count(key))
            continue;
        out += (out.empty() ? "IRC channels: " : ", ") + i.value;
        if (auto k = i.context.find("key"); k != i.context.end())
            for (const auto& v : k->second)
                out += " (key " + v + ")";
    }
    return out;
}

void add_infrastructure(Bundle& b, const IocSet& set) {
    for (const auto& c : set.clusters) {
        Json botnet = object("infrastructure", botnet_id(c), c.first_seen, c.last_seen);
        const std::string& first = c.links.begin()->first;
        botnet["name"] = "botnet " + first.substr(first.find(' ') + 1);
        botnet["description"] = std::to_string(c.samples.size()) + " samples share its C&C";
        botnet["infrastructure_types"] = {"botnet"};
        for (const auto& [link, members] : c.links) {
            if (link.rfind("cnc ", 0) != 0)
                continue;
            std::string key = link.substr(4);
            Json cnc = object("infrastructure", sid("infrastructure", "cnc|" + key), c.first_seen,
                              c.last_seen);
            cnc["name"] = key;
            if (auto d = irc_description(set, key); !d.empty())
                cnc["description"] = d;
            cnc["infrastructure_types"] = {"command-and-control"};
            b.relate(botnet, "consists-of", cnc["id"].get<std::string>());
            for (const auto& s : members)
                b.relate(Json{{"id", sample_malware_id(s)},
                              {"created", cnc["created"]},
                              {"modified", cnc["modified"]}},
                         "beacons-to", cnc["id"].get<std::string>());
            b.add(std::move(cnc));
        }
        b.add(std::move(botnet));
    }
}

void add_indicators(Bundle& b, const IocSet& set) {
    std::map<int, std::string> botnets;
    for (const auto& c : set.clusters)
        botnets[c.id] = botnet_id(c);
    for (const auto& i : set.indicators) {
        std::string p = pattern(i);
        if (p.empty())
            continue;
        Json o = object("indicator", sid("indicator", i.type + "|" + i.value), i.first_seen,
                        i.last_seen);
        o["name"] = i.type + " " + i.value;
        o["description"] = "seen in " + std::to_string(i.samples.size()) + " samples";
        o["indicator_types"] = {"malicious-activity"};
        o["pattern"] = p;
        o["pattern_type"] = "stix";
        o["pattern_version"] = "2.1";
        o["valid_from"] = format_time_ms(i.first_seen);
        bool network = i.type == "cnc" || i.type == "cnc_domain";
        if (network)
            for (int c : i.clusters)
                b.relate(o, "indicates", botnets[c]);
        else
            for (const auto& s : i.samples)
                b.relate(o, "indicates", sample_malware_id(s));
        b.add(std::move(o));
    }
}

}  // namespace

std::string stix_uuid(std::string_view name) {
    std::string data(kNamespace.begin(), kNamespace.end());
    data += name;
    auto h = util::sha1({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
    h[6] = static_cast<std::uint8_t>((h[6] & 0x0f) | 0x50);
    h[8] = static_cast<std::uint8_t>((h[8] & 0x3f) | 0x80);
    std::string hex = util::to_hex(std::span<const std::uint8_t>(h.data(), 16));
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string ioc_stix(const IocSet& set) {
    Bundle b;
    add_samples(b, set);
    add_infrastructure(b, set);
    add_indicators(b, set);
    Json objects = Json::array();
    for (auto& [id, o] : b.objects)
        objects.push_back(std::move(o));
    // Named by its whole content: the same reports give the same bundle, other ones another.
    Json bundle = {{"type", "bundle"}, {"id", "bundle--" + stix_uuid(json::dump(objects))}};
    if (!objects.empty())  // a bundle's objects, when present, hold one at least
        bundle["objects"] = std::move(objects);
    return json::dump(bundle, 2) + "\n";
}

}  // namespace botscope::review
