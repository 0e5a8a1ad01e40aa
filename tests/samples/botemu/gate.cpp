#include "gate.h"

#include "util/text.h"

namespace botscope::botemu {

namespace {

const fakenet::Sandbox& sandbox() {
    static const fakenet::Sandbox s{kSandboxNet, kDefaultResolver, 0x0A4200C8u, {}};
    return s;
}

std::string outside(std::string_view what) {
    return std::string(what) + " is outside the sandbox";
}

}  // namespace

bool in_sandbox(Ipv4 ip) {
    return kSandboxNet.contains(ip);
}

std::optional<std::string> check_destination(Ipv4 ip) {
    if (!in_sandbox(ip))
        return outside(fakenet::format_ipv4(ip));
    if (ip == kSandboxNet.first() || ip == kSandboxNet.last())
        return fakenet::format_ipv4(ip) + " is not a host address of the sandbox";
    return std::nullopt;
}

std::optional<std::string> check_text(std::string_view text) {
    auto found = fakenet::foreign_addresses(text, sandbox());
    if (found.empty())
        return std::nullopt;
    return outside(found.front());
}

fakenet::Subnet own_net(Ipv4 ip) {
    return {ip & 0xFFFFFF00u, 24};
}

util::Result<fakenet::Subnet> parse_scan_range(std::string_view text) {
    auto bad = [&] { return util::Error{"bad_range", "bad range " + std::string(text)}; };
    std::optional<fakenet::Subnet> net;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        net = fakenet::Subnet::parse(text);
    } else if (text.size() > 2 && text[text.size() - 2] == '.' &&
               (text.back() == 'x' || text.back() == 'X' || text.back() == '*')) {
        if (auto base = fakenet::parse_ipv4(std::string(text.substr(0, text.size() - 1)) + "0"))
            net = fakenet::Subnet{*base, 24};
    } else if (auto ip = fakenet::parse_ipv4(text)) {
        net = fakenet::Subnet{*ip, 32};
    }
    if (!net) {
        // Wider wildcards ("10.66.x.x") and foreign ranges are refused by check_text() before
        // this is called; whatever else does not parse is a bad argument.
        if (auto why = check_text(text))
            return util::Error{"refused", *why};
        return bad();
    }
    if (net->prefix < 24 || !kSandboxNet.contains(*net))
        return util::Error{"refused", outside(text)};
    return *net;
}

std::string range_text(const fakenet::Subnet& net) {
    if (net.prefix == 32)
        return fakenet::format_ipv4(net.base);
    if (net.prefix == 24) {
        std::string base = fakenet::format_ipv4(net.base);
        return base.substr(0, base.rfind('.') + 1) + "x";
    }
    return net.to_string();
}

std::optional<std::string> first_nameserver(std::string_view resolv_conf) {
    constexpr std::string_view kKey = "nameserver";
    for (auto line : util::split(resolv_conf, '\n')) {
        line = util::trim(line);
        if (line.size() <= kKey.size() || line.substr(0, kKey.size()) != kKey ||
            (line[kKey.size()] != ' ' && line[kKey.size()] != '\t'))
            continue;
        auto rest = util::trim(line.substr(kKey.size()));
        return std::string(rest.substr(0, rest.find_first_of(" \t")));
    }
    return std::nullopt;
}

Ipv4 sandbox_host(std::uint32_t host) {
    return kSandboxNet.base + host;
}

}  // namespace botscope::botemu
