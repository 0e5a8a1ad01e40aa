#include "fakenet/sandbox.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace botscope::fakenet {

namespace {

Ipv4 mask(int prefix) {
    return prefix <= 0 ? 0u : prefix >= 32 ? 0xFFFFFFFFu : ~((1u << (32 - prefix)) - 1u);
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/// One part of an inet_aton() address: decimal, octal (leading 0) or hex (0x).
std::optional<std::uint64_t> aton_part(std::string_view s) {
    if (s.empty() || s.size() > 12)
        return std::nullopt;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    } else if (s.size() > 1 && s[0] == '0') {
        base = 8;
        s.remove_prefix(1);
    }
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

/// inet_aton(): "a", "a.b", "a.b.c", "a.b.c.d", each part decimal, octal or hex, the last one
/// filling the remaining bytes.
std::optional<Ipv4> parse_aton(std::string_view text) {
    std::uint64_t parts[4];
    std::size_t n = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '.') {
            if (n == 4)
                return std::nullopt;
            auto v = aton_part(text.substr(start, i - start));
            if (!v)
                return std::nullopt;
            parts[n++] = *v;
            start = i + 1;
        }
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
        if (parts[i] > 255)
            return std::nullopt;
        value |= parts[i] << (8 * (3 - i));
    }
    std::uint64_t room = n == 1 ? 0xFFFFFFFFull : (1ull << (8 * (4 - (n - 1)))) - 1;
    if (parts[n - 1] > room)
        return std::nullopt;
    value |= parts[n - 1];
    return static_cast<Ipv4>(value);
}

/// "10.66.0.x", "10.66.*.*", "10.x.x.x": leading octets, then only wildcards.
std::optional<Subnet> parse_wildcard(std::string_view text) {
    Ipv4 base = 0;
    int fixed = 0, parts = 0;
    bool wild = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i != text.size() && text[i] != '.')
            continue;
        std::string_view p = text.substr(start, i - start);
        start = i + 1;
        if (++parts > 4)
            return std::nullopt;
        if (p == "x" || p == "X" || p == "*") {
            wild = true;
            continue;
        }
        if (wild)
            return std::nullopt;  // 10.x.0.1 is not a range
        unsigned v = 0;
        auto [e, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (p.empty() || ec != std::errc() || e != p.data() + p.size() || v > 255)
            return std::nullopt;
        base |= v << (8 * (3 - fixed));
        ++fixed;
    }
    if (!wild || parts < 2)
        return std::nullopt;
    return Subnet{base, fixed * 8};
}

bool token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '*' || c == '/';
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view text) {
    Ipv4 v = 0;
    int parts = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i != text.size() && text[i] != '.')
            continue;
        std::string_view p = text.substr(start, i - start);
        start = i + 1;
        if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0') || ++parts > 4)
            return std::nullopt;
        unsigned o = 0;
        auto [e, ec] = std::from_chars(p.data(), p.data() + p.size(), o);
        if (ec != std::errc() || e != p.data() + p.size() || o > 255)
            return std::nullopt;
        v = (v << 8) | o;
    }
    if (parts != 4)
        return std::nullopt;
    return v;
}

std::string format_ipv4(Ipv4 ip) {
    return std::to_string(ip >> 24) + '.' + std::to_string((ip >> 16) & 255) + '.' +
           std::to_string((ip >> 8) & 255) + '.' + std::to_string(ip & 255);
}

bool Subnet::contains(Ipv4 ip) const {
    return (ip & mask(prefix)) == base;
}

bool Subnet::contains(const Subnet& other) const {
    return other.prefix >= prefix && contains(other.base);
}

Ipv4 Subnet::last() const {
    return base | ~mask(prefix);
}

std::string Subnet::to_string() const {
    return format_ipv4(base) + '/' + std::to_string(prefix);
}

std::optional<Subnet> Subnet::parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    auto base = parse_ipv4(text.substr(0, slash));
    std::string_view p = text.substr(slash + 1);
    int prefix = -1;
    auto [e, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (!base || p.empty() || ec != std::errc() || e != p.data() + p.size() || prefix < 0 ||
        prefix > 32 || (*base & ~mask(prefix)) != 0)
        return std::nullopt;
    return Subnet{*base, prefix};
}

bool Sandbox::is_guest(Ipv4 ip) const {
    return std::find(guests.begin(), guests.end(), ip) != guests.end();
}

std::vector<Ipv4> Sandbox::decoys() const {
    std::vector<Ipv4> out;
    if (subnet.prefix < 16 || subnet.prefix > 30)
        return out;
    for (Ipv4 ip = subnet.first() + 1; ip < subnet.last(); ++ip)
        if (ip != host && !is_guest(ip))
            out.push_back(ip);
    return out;
}

std::string Sandbox::range_pattern() const {
    std::string s = format_ipv4(subnet.base);
    if (subnet.prefix == 24)
        return s.substr(0, s.rfind('.')) + ".x";
    if (subnet.prefix == 16) {
        s = s.substr(0, s.rfind('.'));
        return s.substr(0, s.rfind('.')) + ".x.x";
    }
    return subnet.to_string();
}

std::vector<std::string> foreign_addresses(std::string_view text, const Sandbox& sandbox) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!token_char(text[i])) {
            ++i;
            continue;
        }
        std::size_t start = i;
        while (i < text.size() && token_char(text[i]))
            ++i;
        std::string_view tok = text.substr(start, i - start);
        // A URL's host, a path's directories: split further on '/' unless it is CIDR.
        while (!tok.empty() && tok.back() == '.')
            tok.remove_suffix(1);  // the end of a sentence
        bool outside = false;
        if (auto slash = tok.find('/'); slash != std::string_view::npos) {
            if (auto net = Subnet::parse(tok)) {
                outside = !sandbox.subnet.contains(*net);
            } else {
                // Not CIDR: check each piece ("http:", "", "1.2.3.4", "x.exe").
                for (auto piece_start = std::size_t{0}; piece_start <= tok.size();) {
                    auto end = tok.find('/', piece_start);
                    if (end == std::string_view::npos)
                        end = tok.size();
                    auto sub = foreign_addresses(tok.substr(piece_start, end - piece_start),
                                                 sandbox);
                    out.insert(out.end(), sub.begin(), sub.end());
                    piece_start = end + 1;
                }
                continue;
            }
        } else if (auto w = parse_wildcard(tok)) {
            outside = !sandbox.subnet.contains(*w);
        } else {
            // "1.5" (a delay) and "2.0" (a version) are no addresses: only four parts, or hex.
            auto dots = std::count(tok.begin(), tok.end(), '.');
            bool hex = tok.size() > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X');
            bool numeric = !tok.empty() && is_digit(tok[0]);
            if ((dots == 3 && numeric) || hex) {
                if (auto ip = parse_aton(tok))
                    outside = !sandbox.contains(*ip);
            }
        }
        if (outside)
            out.emplace_back(tok);
    }
    return out;
}

}  // namespace botscope::fakenet
