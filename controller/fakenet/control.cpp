#include "fakenet/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd.h"

namespace botscope::fakenet {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point end) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

using util::Fd;

}  // namespace

util::Result<Json> control_call(const std::filesystem::path& socket, const Json& request,
                                std::chrono::milliseconds deadline) {
    const auto end = Clock::now() + deadline;
    const std::string where = socket.string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (where.size() >= sizeof addr.sun_path)
        return util::Error{"not_running", "control socket path too long: " + where};
    std::memcpy(addr.sun_path, where.c_str(), where.size() + 1);

    Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0)
        return util::Error{"not_running", std::string("socket: ") + std::strerror(errno)};
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        return util::Error{"not_running", "fakenet is not running (" + where + ": " +
                                              std::strerror(e) +
                                              "); `botscope fakenet start` starts it"};
    }
    std::string out = request.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    std::size_t sent = 0;
    while (sent < out.size()) {
        pollfd p{s.fd, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(end)) <= 0)
            return util::Error{"timeout", "fakenet did not take the request within " +
                                              std::to_string(deadline.count()) + " ms"};
        ssize_t n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            return util::Error{"not_running",
                               std::string("fakenet closed the control socket: ") +
                                   std::strerror(errno)};
        sent += static_cast<std::size_t>(n);
    }
    std::string in;
    char buf[65536];
    for (;;) {
        std::size_t nl = in.find('\n');
        if (nl != std::string::npos) {
            Json j = Json::parse(in.substr(0, nl), nullptr, false);
            if (!j.is_object() || !j.contains("ok"))
                return util::Error{"protocol", "fakenet answered something that is not an answer"};
            return j;
        }
        if (in.size() > kMaxControlAnswer)
            return util::Error{"protocol", "fakenet's answer is larger than 64 MiB"};
        pollfd p{s.fd, POLLIN, 0};
        int r = ::poll(&p, 1, remaining_ms(end));
        if (r <= 0)
            return util::Error{"timeout", "fakenet did not answer within " +
                                              std::to_string(deadline.count()) + " ms"};
        ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
        if (n <= 0)
            return util::Error{"not_running", "fakenet closed the control socket before answering"};
        in.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace botscope::fakenet
