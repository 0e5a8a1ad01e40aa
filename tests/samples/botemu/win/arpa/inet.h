#pragma once
// For the Windows build only (on the mingw include path, never on Linux's). The emulator
// compiles the analysis' address type (controller/analysis/types.cpp) for Windows too, which
// includes <arpa/inet.h> for inet_ntop/inet_pton. mingw-w64 has no such header, and Windows XP's
// ws2_32.dll has neither function (they came with Vista). This gives both: IPv4 directly, IPv6
// through WSAAddressToStringA/WSAStringToAddressA, which XP has (Winsock must be started).

// winsock2.h must come before windows.h; the blank line keeps clang-format from sorting them.
#include <winsock2.h>

#include <ws2tcpip.h>

#include <cstdio>
#include <cstring>

inline const char* inet_ntop(int af, const void* src, char* dst, std::size_t size) {
    const auto* b = static_cast<const unsigned char*>(src);
    if (af == AF_INET) {
        int n = std::snprintf(dst, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        return n > 0 && static_cast<std::size_t>(n) < size ? dst : nullptr;
    }
    if (af != AF_INET6)
        return nullptr;
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    std::memcpy(&sa.sin6_addr, b, 16);
    DWORD len = static_cast<DWORD>(size);
    if (WSAAddressToStringA(reinterpret_cast<sockaddr*>(&sa), sizeof sa, nullptr, dst, &len) != 0)
        return nullptr;
    return dst;
}

inline int inet_pton(int af, const char* src, void* dst) {
    auto* out = static_cast<unsigned char*>(dst);
    if (af == AF_INET) {
        // Strict dotted quad, as glibc's: four decimal parts of at most three digits, <= 255.
        unsigned char parts[4];
        int part = 0, digits = 0;
        unsigned value = 0;
        for (const char* p = src;; ++p) {
            if (*p >= '0' && *p <= '9' && digits < 3) {
                value = value * 10 + static_cast<unsigned>(*p - '0');
                ++digits;
            } else if ((*p == '.' || *p == '\0') && digits > 0 && value <= 255 && part < 4) {
                parts[part++] = static_cast<unsigned char>(value);
                value = 0;
                digits = 0;
                if (*p == '\0')
                    break;
            } else {
                return 0;
            }
        }
        if (part != 4)
            return 0;
        std::memcpy(out, parts, 4);
        return 1;
    }
    if (af != AF_INET6 || std::strlen(src) >= INET6_ADDRSTRLEN || std::strchr(src, '%'))
        return 0;
    char copy[INET6_ADDRSTRLEN];
    std::strcpy(copy, src);
    sockaddr_in6 sa{};
    INT len = sizeof sa;
    if (WSAStringToAddressA(copy, AF_INET6, nullptr, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
        return 0;
    std::memcpy(out, &sa.sin6_addr, 16);
    return 1;
}
