// A harmless stand-in for a bot sample, run by the agent in the tests: it starts a child copy
// of itself, drops a file, adds an autostart entry, listens on a loopback TCP port (as a
// backdoor would) and waits to be killed. Everything stays inside the test's folders, the
// test's wine prefix, and 127.0.0.1.
//
//   sample_bot DROPDIR AUTOROOT      (AUTOROOT: Linux only, the agent's --autostart-root)
//   sample_bot child

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#ifdef _WIN32
// winsock2.h before windows.h (the blank line keeps clang-format from sorting them).
#include <winsock2.h>

#include <windows.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace {

void drop(const std::string& path) {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 1000; ++i)
        out << "botscope sample dropped this line " << i << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "child") == 0) {
        std::this_thread::sleep_for(std::chrono::seconds(60));
        return 0;
    }
    if (argc < 3)
        return 2;
    std::string dropdir = argv[1];
#ifdef _WIN32
    char self[MAX_PATH];
    GetModuleFileNameA(nullptr, self, MAX_PATH);
    std::string cmd = std::string("\"") + self + "\" child";
    STARTUPINFOA si{};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi{};
    if (CreateProcessA(nullptr, cmd.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr, &si,
                       &pi)) {
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    }
    drop(dropdir + "\\sample_drop.bin");
    HKEY key;
    if (RegCreateKeyExA(HKEY_CURRENT_USER, "Software\\Microsoft\\Windows\\CurrentVersion\\Run", 0,
                        nullptr, 0, KEY_SET_VALUE, nullptr, &key, nullptr) == ERROR_SUCCESS) {
        // A fresh value name each run: the wine prefix outlives the test.
        // (wine reuses pids, so the tick count makes it unique).
        std::string value = "botscope_sample_" + std::to_string(GetCurrentProcessId()) + "_" +
                            std::to_string(GetTickCount());
        RegSetValueExA(key, value.c_str(), 0, REG_SZ, reinterpret_cast<const BYTE*>(self),
                       static_cast<DWORD>(std::strlen(self) + 1));
        RegCloseKey(key);
    }
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
#else
    if (fork() == 0) {
        execl("/proc/self/exe", argv[0], "child", static_cast<char*>(nullptr));
        _exit(127);
    }
    drop(dropdir + "/sample_drop.bin");
    std::string cron = std::string(argv[2]) + "/etc/cron.d";
    mkdir((std::string(argv[2]) + "/etc").c_str(), 0755);
    mkdir(cron.c_str(), 0755);
    std::ofstream(cron + "/botscope-sample") << "* * * * * root /tmp/bot\n";
    int s = socket(AF_INET, SOCK_STREAM, 0);
#endif
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    listen(s, 1);
    // The port, for the test to find the socket (wine reports no owner pid for sockets).
#ifdef _WIN32
    int alen = sizeof sa;
#else
    socklen_t alen = sizeof sa;
#endif
    getsockname(s, reinterpret_cast<sockaddr*>(&sa), &alen);
    std::ofstream(dropdir + (dropdir.find('\\') != std::string::npos ? "\\" : "/") +
                  "sample_port.txt")
        << ntohs(sa.sin_port) << "\n";
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return 0;
}
