// Windows: Winsock, no raw sockets (Windows XP SP2 took them away from everyone), the resolver
// from --resolver or the sandbox default, downloads in %TEMP%.

#include "sockets.h"

#include <windows.h>

#include <fstream>

#include "net.h"

namespace botscope::botemu::net {

const bool kPlainUdpFallback = true;

util::Result<util::Done> startup() {
    WSADATA data;
    if (int err = WSAStartup(MAKEWORD(2, 2), &data); err != 0)
        return util::Error{"winsock", "WSAStartup failed (error " + std::to_string(err) + ")"};
    return util::Done{};
}

std::optional<RawSender> RawSender::open() {
    return std::nullopt;
}

bool RawSender::send(std::span<const std::uint8_t>) const {
    return false;
}

std::optional<std::string> system_resolver() {
    return fakenet::format_ipv4(kDefaultResolver);
}

util::Result<std::string> save_download(std::string_view name, std::span<const std::uint8_t> data) {
    if (name.empty() || name.find_first_of("/\\:") != std::string_view::npos)
        return util::Error{"save", "bad file name"};
    char dir[MAX_PATH + 1] = {};
    DWORD n = GetTempPathA(sizeof dir, dir);
    if (n == 0 || n > MAX_PATH)
        return util::Error{"save", "no temporary folder"};
    std::string path(dir, n);
    if (path.back() != '\\')
        path += '\\';
    path += name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) {
        DeleteFileA(path.c_str());
        return util::Error{"save", "cannot write " + path};
    }
    return path;
}

}  // namespace botscope::botemu::net
