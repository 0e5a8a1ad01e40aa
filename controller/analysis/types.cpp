#include "analysis/types.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace botscope::analysis {

std::size_t IpAddress::format(char* buf) const {
    if (v6) {
        // At most 45 characters without a scope id (Windows' INET6_ADDRSTRLEN leaves room for
        // one).
        char tmp[INET6_ADDRSTRLEN > kTextSize ? INET6_ADDRSTRLEN : kTextSize] = {};
        inet_ntop(AF_INET6, bytes.data(), tmp, sizeof tmp);
        std::size_t n = std::min(std::strlen(tmp), kTextSize);
        std::memcpy(buf, tmp, n);
        return n;
    }
    // Dotted quad by hand: the logs write two addresses per flow, millions of times.
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
        unsigned v = bytes[static_cast<std::size_t>(i)];
        if (i > 0)
            *p++ = '.';
        if (v >= 100)
            *p++ = static_cast<char>('0' + v / 100);
        if (v >= 10)
            *p++ = static_cast<char>('0' + v / 10 % 10);
        *p++ = static_cast<char>('0' + v % 10);
    }
    return static_cast<std::size_t>(p - buf);
}

std::string IpAddress::to_string() const {
    char buf[kTextSize];
    return std::string(buf, format(buf));
}

bool IpAddress::parse(std::string_view text, IpAddress& out) {
    if (text.size() >= INET6_ADDRSTRLEN)
        return false;
    std::string s(text);
    IpAddress ip;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
        out = ip;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
        ip.v6 = true;
        out = ip;
        return true;
    }
    return false;
}

const char* transport_name(Transport t) {
    switch (t) {
        case Transport::kTcp:
            return "tcp";
        case Transport::kUdp:
            return "udp";
        case Transport::kIcmp:
            return "icmp";
        case Transport::kIcmp6:
            return "icmp6";
        case Transport::kOther:
            return "other";
    }
    return "other";
}

std::string Endpoint::to_string() const {
    if (addr.v6)
        return "[" + addr.to_string() + "]:" + std::to_string(port);
    return addr.to_string() + ":" + std::to_string(port);
}

}  // namespace botscope::analysis
