// The PE sample of the Windows end-to-end test (test_windows.cpp), built with mingw-w64: what a
// bot of 2005 did on arrival, bounded and harmless. It starts a child that exits at once and one
// that stays, copies itself under C:\windows\system32 and adds a Run key for the copy, opens a
// backdoor listener, looks its C&C name up and says NICK/USER/JOIN to it; fakenet answers all of
// it inside the sandbox. Then it idles for at most 30 s.
//
//   winprobe            the sample
//   winprobe blink      exits at once (the short-lived child)
//   winprobe stay       sleeps 20 s (the child that stays)

// winsock2.h before windows.h (the blank line keeps clang-format from sorting them).
#include <winsock2.h>

#include <windows.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

void start_child(const char* self, const char* arg, bool wait) {
    std::string cmd = std::string("\"") + self + "\" " + arg;
    STARTUPINFOA si{};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi{};
    if (!CreateProcessA(self, cmd.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr, &si, &pi))
        return;
    if (wait)
        WaitForSingleObject(pi.hProcess, 5000);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
}

void talk_to_cnc() {
    hostent* h = gethostbyname("irc.winprobe.test");
    if (!h || h->h_addrtype != AF_INET)
        return;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(6667);
    std::memcpy(&a.sin_addr, h->h_addr_list[0], 4);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const char hello[] =
            "NICK winprobe|4021\r\nUSER winprobe 0 0 :winprobe\r\nJOIN #winprobe\r\n";
        send(s, hello, sizeof hello - 1, 0);
        DWORD ms = 3000;
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, reinterpret_cast<const char*>(&ms), sizeof ms);
        char buf[512];
        recv(s, buf, sizeof buf, 0);
    }
    closesocket(s);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "blink") == 0)
        return 0;
    if (argc >= 2 && std::strcmp(argv[1], "stay") == 0) {
        Sleep(20000);
        return 0;
    }
    char self[MAX_PATH];
    GetModuleFileNameA(nullptr, self, sizeof self);
    start_child(self, "blink", true);
    start_child(self, "stay", false);

    char sys[MAX_PATH];
    GetSystemDirectoryA(sys, sizeof sys);
    std::string copy = std::string(sys) + "\\winprobe32.exe";
    CopyFileA(self, copy.c_str(), FALSE);
    HKEY run;
    if (RegOpenKeyExA(HKEY_CURRENT_USER, "Software\\Microsoft\\Windows\\CurrentVersion\\Run", 0,
                      KEY_SET_VALUE, &run) == ERROR_SUCCESS) {
        RegSetValueExA(run, "winprobe", 0, REG_SZ, reinterpret_cast<const BYTE*>(copy.c_str()),
                       static_cast<DWORD>(copy.size() + 1));
        RegCloseKey(run);
    }

    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    SOCKET backdoor = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(5555);
    bind(backdoor, reinterpret_cast<sockaddr*>(&any), sizeof any);
    listen(backdoor, 1);
    talk_to_cnc();
    Sleep(30000);
    closesocket(backdoor);
    return 0;
}
