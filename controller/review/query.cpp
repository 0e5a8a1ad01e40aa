#include "review/query.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace botscope::review {

namespace {

char fold(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool icontains(std::string_view text, std::string_view part) {
    return std::search(text.begin(), text.end(), part.begin(), part.end(),
                       [](char a, char b) { return fold(a) == fold(b); }) != text.end();
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
    // Backtracks only to the last star: linear in practice, O(|p|*|t|) at worst.
    std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
    while (ti < t.size()) {
        if (pi < p.size() && (p[pi] == '?' || fold(p[pi]) == fold(t[ti]))) {
            ++pi;
            ++ti;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = ti;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            ti = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*')
        ++pi;
    return pi == p.size();
}

bool parse_verdict_filter(std::string_view text, ListFilter& out) {
    if (text == "clean" || text == "suspicious" || text == "malicious") {
        out.level = std::string(text);
        return true;
    }
    int n = -1;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || p != text.data() + text.size() || n < 0 || n > 10)
        return false;
    out.min_score = n;
    return true;
}

bool matches(const Facts& f, const ListFilter& filter) {
    if (!filter.family.empty() && !glob_match(filter.family, f.family))
        return false;
    if (filter.since && f.time < *filter.since)
        return false;
    if (!filter.level.empty() && f.level != filter.level)
        return false;
    if (filter.min_score && (!f.score || *f.score < *filter.min_score))
        return false;
    return true;
}

std::optional<SearchField> search_field(std::string_view o) {
    if (o == "--cnc")
        return SearchField::kCnc;
    if (o == "--domain")
        return SearchField::kDomain;
    if (o == "--channel")
        return SearchField::kChannel;
    if (o == "--nick")
        return SearchField::kNick;
    if (o == "--sha256")
        return SearchField::kSha256;
    if (o == "--url")
        return SearchField::kUrl;
    if (o == "--yara")
        return SearchField::kYara;
    return std::nullopt;
}

namespace {

std::string cnc_line(const CncEndpoint& c) {
    std::string names;
    for (const auto& n : c.names)
        names += (names.empty() ? " (" : ", ") + n;
    return c.protocol + " C&C " + c.endpoint() + (names.empty() ? "" : names + ")");
}

/// HOST against one C&C: its address, address:port, or one of its names.
bool cnc_matches(const CncEndpoint& c, std::string_view host) {
    if (glob_match(host, c.ip) || glob_match(host, c.endpoint()))
        return true;
    return std::any_of(c.names.begin(), c.names.end(), [&](const std::string& n) {
        return glob_match(host, n) || glob_match(host, n + ":" + std::to_string(c.port));
    });
}

void each_glob(const std::vector<std::string>& items, std::string_view pattern, const char* what,
               std::vector<std::string>& out) {
    for (const auto& i : items)
        if (glob_match(pattern, i))
            out.push_back(std::string(what) + " " + i);
}

}  // namespace

std::vector<std::string> search(const Facts& f, const SearchQuery& q) {
    std::vector<std::string> out;
    const std::string& v = q.value;
    switch (q.field) {
        case SearchField::kCnc:
            for (const auto& c : f.cnc)
                if (cnc_matches(c, v))
                    out.push_back(cnc_line(c));
            break;
        case SearchField::kDomain:
            each_glob(f.domains, v, "domain", out);
            break;
        case SearchField::kChannel:
            for (const auto& c : f.channels)
                if (glob_match(v, c.name))
                    out.push_back("channel " + c.name + (c.key.empty() ? "" : " key " + c.key) +
                                  (c.server.empty() ? "" : " on " + c.server));
            break;
        case SearchField::kNick:
            each_glob(f.nicks, v, "nick", out);
            if (!f.nick_pattern.empty() && icontains(f.nick_pattern, v))
                out.push_back("nick pattern " + f.nick_pattern);
            break;
        case SearchField::kSha256:
            for (const auto& h : f.hashes)
                if (glob_match(v, h.sha256))
                    out.push_back(h.role + " " + h.sha256 + (h.name.empty() ? "" : " " + h.name));
            break;
        case SearchField::kUrl:
            for (const auto& u : f.urls)
                if (icontains(u, v))
                    out.push_back("url " + u);
            break;
        case SearchField::kYara:
            each_glob(f.yara, v, "yara", out);
            break;
    }
    return out;
}

}  // namespace botscope::review
