#include "analysis/types.h"

#include <arpa/inet.h>

namespace botscope::analysis {

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (v6) {
        inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
    } else {
        inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
    }
    return buf;
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
