#pragma once
// The few places where BSD sockets and Winsock differ, for net.cpp and the host_*.cpp files.
// Everything else (sockaddr_in, select, send/recv) is the same API on both.

#include <cstdint>

#ifdef _WIN32
// winsock2.h must come before windows.h; the blank line keeps clang-format from sorting them.
#include <winsock2.h>

#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace botscope::botemu::net::sys {

#ifdef _WIN32
using Native = SOCKET;
using Length = int;
/// send() flags: Winsock raises no SIGPIPE.
inline constexpr int kSendFlags = 0;
inline void close_native(Native s) {
    closesocket(s);
}
inline bool set_nonblocking(Native s) {
    u_long on = 1;
    return ioctlsocket(s, FIONBIO, &on) == 0;
}
/// A non-blocking connect() that is under way rather than failed.
inline bool connect_pending() {
    int e = WSAGetLastError();
    return e == WSAEWOULDBLOCK || e == WSAEINPROGRESS;
}
inline bool would_block() {
    return WSAGetLastError() == WSAEWOULDBLOCK;
}
/// Winsock's fd_set is an array of handles, not a bitmap: any handle fits.
inline bool fits_fd_set(Native) {
    return true;
}
/// recvfrom() failed only because the datagram was longer than the buffer (it was cut).
inline bool datagram_cut() {
    return WSAGetLastError() == WSAEMSGSIZE;
}
inline int last_error() {
    return WSAGetLastError();
}
/// select()'s first argument, which Winsock ignores.
inline int select_width(Native) {
    return 0;
}
#else
using Native = int;
using Length = socklen_t;
/// A peer that closed must not kill the process with SIGPIPE.
inline constexpr int kSendFlags = MSG_NOSIGNAL;
inline void close_native(Native s) {
    ::close(s);
}
inline bool set_nonblocking(Native s) {
    int flags = fcntl(s, F_GETFL, 0);
    return flags >= 0 && fcntl(s, F_SETFL, flags | O_NONBLOCK) == 0;
}
inline bool connect_pending() {
    return errno == EINPROGRESS;
}
inline bool would_block() {
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}
/// select() on a descriptor >= FD_SETSIZE would write past the set.
inline bool fits_fd_set(Native s) {
    return s >= 0 && s < FD_SETSIZE;
}
/// Linux cuts a long datagram silently: recvfrom() never fails for that.
inline bool datagram_cut() {
    return false;
}
inline int last_error() {
    return errno;
}
inline int select_width(Native s) {
    return s + 1;
}
#endif

inline Native native(std::intptr_t h) {
    return static_cast<Native>(h);
}

inline sockaddr_in ipv4_address(std::uint32_t ip, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(ip);
    return sa;
}

}  // namespace botscope::botemu::net::sys
