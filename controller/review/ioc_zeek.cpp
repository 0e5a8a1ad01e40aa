#include "review/ioc_format.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "review/time_text.h"

namespace botscope::review {

namespace {

/// meta.desc stays one field of one line: tabs, line breaks and every other byte outside
/// printable ASCII become '?', and it never reads as Zeek's unset ("-") or empty field.
std::string desc_field(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 480))
        out += c >= 0x20 && c < 0x7f ? c : '?';
    return out.empty() || out == "-" || out == "(empty)" ? "botscope indicator" : out;
}

bool is_address(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_domain(const std::string& s) {
    return !s.empty() && s.size() <= 253 && s.front() != '.' &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) {
               return std::isalnum(c) || c == '.' || c == '-' || c == '_';
           });
}

/// Zeek's Intel::URL is a URL "without the prefix http://" (what its HTTP analysis sees):
/// only http URLs, of printable ASCII without spaces.
std::string zeek_url(const std::string& url) {
    if (url.rfind("http://", 0) != 0 || url.size() <= 7)
        return {};
    bool ok = std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    return ok ? url.substr(7) : std::string();
}

std::string summary(const Indicator& i) {
    std::string s =
        std::to_string(i.samples.size()) + " sample" + (i.samples.size() == 1 ? "" : "s");
    for (const auto& f : i.families)
        s += ", " + f;
    for (int c : i.clusters)
        s += ", botnet " + std::to_string(c);
    return s + ", seen " + format_time(i.first_seen) + " to " + format_time(i.last_seen);
}

/// The Zeek indicator and type of a botscope indicator; empty for those Zeek cannot match.
std::pair<std::string, std::string> zeek_item(const Indicator& i) {
    if (i.type == "cnc") {
        std::string host = i.value.substr(0, i.value.rfind(':'));
        if (host.size() > 2 && host.front() == '[')
            host = host.substr(1, host.size() - 2);
        return {is_address(host) ? host : "", "Intel::ADDR"};
    }
    if (i.type == "cnc_domain")
        return {is_domain(i.value) ? i.value : "", "Intel::DOMAIN"};
    if (i.type == "url")
        return {zeek_url(i.value), "Intel::URL"};
    if ((i.type == "sha256" || i.type == "md5") &&
        std::all_of(i.value.begin(), i.value.end(),
                    [](unsigned char c) { return std::isxdigit(c); }))
        return {i.value, "Intel::FILE_HASH"};
    return {};
}

/// IRC details of the C&C behind `i` (channels and keys, nicks), which Zeek cannot match.
std::string irc_details(const IocSet& set, const Indicator& i) {
    std::string out;
    for (const auto& o : set.indicators) {
        bool shared = std::any_of(o.clusters.begin(), o.clusters.end(),
                                  [&](int c) { return i.clusters.count(c) != 0; });
        if (!shared || o.type.rfind("irc_", 0) != 0)
            continue;
        out += "; " + o.type.substr(4) + " " + o.value;
        if (auto k = o.context.find("key"); k != o.context.end())
            for (const auto& v : k->second)
                out += " key " + v;
    }
    return out;
}

/// The values of context `key`, joined by `sep`.
std::string context(const Indicator& i, const std::string& key, const char* sep) {
    std::string out;
    if (auto it = i.context.find(key); it != i.context.end())
        for (const auto& v : it->second)
            out += (out.empty() ? "" : sep) + v;
    return out;
}

std::string describe(const IocSet& set, const Indicator& i) {
    if (i.type == "cnc")
        return i.protocol + " C&C " + i.value + ": " + summary(i) + irc_details(set, i);
    if (i.type == "cnc_domain")
        return i.protocol + " C&C " + i.value + " port " + context(i, "port", ",") + ": " +
               summary(i) + irc_details(set, i);
    if (i.type == "url")
        return "URL fetched: " + summary(i);
    return context(i, "role", "/") + " file " + i.type + ": " + summary(i);
}

}  // namespace

std::string ioc_zeek_intel(const IocSet& set) {
    // One line per indicator and type (Zeek keeps one record per indicator and source): an
    // address behind several ports is one line with each port described.
    std::map<std::pair<std::string, std::string>, std::string> lines;
    for (const auto& i : set.indicators) {
        auto [indicator, type] = zeek_item(i);
        if (indicator.empty())
            continue;
        std::string& d = lines[{indicator, type}];
        d += (d.empty() ? "" : " | ") + describe(set, i);
    }
    std::string out = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n";
    for (const auto& [key, d] : lines)
        out += key.first + "\t" + key.second + "\tbotscope\t" + desc_field(d) + "\n";
    return out;
}

}  // namespace botscope::review
