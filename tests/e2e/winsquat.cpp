// A hostile PE sample for the TCP transport test (test_windows.cpp): from inside the guest it
// connects to the agent's TCP port 8477, on loopback and on the guest's own address, sixteen
// times each, and holds what stays open, as a sample that wants to lock the controller out would.
// It writes what happened to C:\squat.txt ("open N closed M"), then waits 30 s. Nothing leaves
// the guest.

// winsock2.h before windows.h (the blank line keeps clang-format from sorting them).
#include <winsock2.h>

#include <windows.h>

#include <cstdio>
#include <string>
#include <vector>

int main() {
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    char name[256] = {};
    gethostname(name, sizeof name);
    std::vector<unsigned long> targets = {htonl(INADDR_LOOPBACK)};
    if (hostent* h = gethostbyname(name); h && h->h_addrtype == AF_INET)
        for (int i = 0; h->h_addr_list[i]; ++i)
            targets.push_back(*reinterpret_cast<unsigned long*>(h->h_addr_list[i]));
    std::vector<SOCKET> held;
    int open = 0, closed = 0, refused = 0;
    for (unsigned long addr : targets) {
        for (int i = 0; i < 16; ++i) {
            SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(8477);
            a.sin_addr.s_addr = addr;
            if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
                ++refused;
                closesocket(s);
                continue;
            }
            held.push_back(s);
        }
    }
    Sleep(2000);
    for (SOCKET s : held) {
        // Closed by the agent: readable, and recv says end of stream (or reset).
        fd_set r;
        FD_ZERO(&r);
        FD_SET(s, &r);
        timeval tv{0, 0};
        char b;
        if (select(0, &r, nullptr, nullptr, &tv) == 1 && recv(s, &b, 1, 0) <= 0)
            ++closed;
        else
            ++open;
    }
    if (FILE* f = std::fopen("C:\\squat.txt", "w")) {
        std::fprintf(f, "targets %d open %d closed %d refused %d\n",
                     static_cast<int>(targets.size()), open, closed, refused);
        std::fclose(f);
    }
    Sleep(30000);
    return 0;
}
