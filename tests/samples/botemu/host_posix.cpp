// Linux: raw sockets as root, the resolver from /etc/resolv.conf, downloads in /tmp.

#include <netinet/ip.h>

#include <fstream>
#include <iterator>

#include "gate.h"
#include "net.h"
#include "packet.h"
#include "sockets.h"

namespace botscope::botemu::net {

const bool kPlainUdpFallback = false;

util::Result<util::Done> startup() {
    return util::Done{};
}

std::optional<RawSender> RawSender::open() {
    // IPPROTO_RAW implies IP_HDRINCL: the packets carry their own (spoofed) IP header.
    Socket s(socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
    if (!s.valid())
        return std::nullopt;
    int on = 1;
    if (setsockopt(static_cast<int>(s.handle()), IPPROTO_IP, IP_HDRINCL, &on, sizeof on) != 0)
        return std::nullopt;
    return RawSender(std::move(s));
}

bool RawSender::send(std::span<const std::uint8_t> packet) const {
    auto addrs = packet_addresses(packet);
    if (!addrs || check_destination(addrs->dst) || !in_sandbox(addrs->src))
        return false;
    sockaddr_in sa = sys::ipv4_address(addrs->dst, 0);
    auto n = sendto(static_cast<int>(socket_.handle()), packet.data(), packet.size(), 0,
                    reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    return n == static_cast<ssize_t>(packet.size());
}

std::optional<std::string> system_resolver() {
    std::ifstream in("/etc/resolv.conf");
    if (!in)
        return std::nullopt;
    // resolv.conf is a few lines; more than 64 KiB of it is not read.
    std::string text;
    text.resize(64 * 1024);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return first_nameserver(text);
}

util::Result<std::string> save_download(std::string_view name, std::span<const std::uint8_t> data) {
    if (name.empty() || name.find('/') != std::string_view::npos)
        return util::Error{"save", "bad file name"};
    std::string path = "/tmp/" + std::string(name);
    // O_NOFOLLOW: a link planted under the name in /tmp is not written through.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return util::Error{"save", "cannot create " + path};
    std::size_t done = 0;
    while (done < data.size()) {
        auto n = ::write(fd, data.data() + done, data.size() - done);
        if (n <= 0) {
            ::close(fd);
            ::unlink(path.c_str());
            return util::Error{"save", "cannot write " + path};
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0)
        return util::Error{"save", "cannot write " + path};
    return path;
}

}  // namespace botscope::botemu::net
