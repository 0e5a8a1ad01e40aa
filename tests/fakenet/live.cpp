#include "live.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "fakenet/control.h"
#include "support/report_check.h"

namespace botscope::fakenet::live {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string botscope_bin() {
    const char* v = std::getenv("BOTSCOPE_BIN");
    return v ? v : "botscope";
}

std::string botemu_bin() {
    const char* v = std::getenv("BOTSCOPE_BOTEMU");
    return v ? v : "botscope-botemu";
}

TempDir::TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("botscope-fakenet-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(rd() % 1000000));
    fs::create_directories(path);
}

TempDir::~TempDir() {
    // fakenet.jsonl of each task begun here.
    botscope::testing::check_reports_before_removal(path);
    std::error_code ec;
    fs::remove_all(path, ec);
}

Fakenet::Fakenet(const Netns& net, std::string extra) : net_(net) {
    std::ofstream(config()) << "[fakenet]\n"
                            << "bridge = " << Netns::kBridge << "\n"
                            << "control = " << (tmp_.path / "fakenet.sock").string() << "\n"
                            << "lock = " << (tmp_.path / "fakenet.lock").string() << "\n"
                            << "log_file = " << (tmp_.path / "fakenet.log").string() << "\n"
                            << extra << "\n"
                            // Two guests: the hostile test's well-behaved client is the second.
                            << "[guest]\nip = 10.66.0.10\nsecret_file = /dev/null\n"
                            << "[second]\nip = 10.66.0.11\nsecret_file = /dev/null\n";
}

Fakenet::~Fakenet() {
    stop();
}

bool Fakenet::start(std::string& why) {
    child_ = Child(net_.exec(net_.host(), {botscope_bin(), "fakenet", "run", "--config",
                                           config().string()}),
                   (tmp_.path / "fakenet.log").string());
    for (int i = 0; i < 100; ++i) {
        std::this_thread::sleep_for(100ms);
        auto r = control_call(tmp_.path / "fakenet.sock", {{"op", "status"}}, 1s);
        if (r && r->value("ok", false))
            return true;
        if (!child_.alive())
            break;
    }
    why = "fakenet did not come up; its log:\n" + log();
    return false;
}

int Fakenet::stop() {
    return child_.stop();
}

Json Fakenet::call(const Json& request) const {
    auto r = control_call(tmp_.path / "fakenet.sock", request, 10s);
    if (!r)
        return Json{{"ok", false}, {"error", r.error().message}};
    return r.value();
}

Json Fakenet::begin(const std::string& id, const std::string& script, const Json& dns,
                    const std::string& guest) {
    fs::create_directories(tmp_.path / id);
    Json req = {{"op", "begin"},
                {"task", id},
                {"guest", guest},
                {"dir", (tmp_.path / id).string()},
                {"operator", script.empty() ? Json(nullptr)
                                            : Json{{"name", "test.txt"}, {"text", script}}},
                {"dns", dns}};
    return call(req);
}

Json Fakenet::end(const std::string& id, const std::string& guest) {
    Json req = {{"op", "end"}, {"task", id}};
    if (!guest.empty())
        req["guest"] = guest;
    return call(req);
}

std::string Fakenet::log() const {
    std::ifstream in(tmp_.path / "fakenet.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
}

Run Fakenet::command(const std::string& sub) const {
    return run(net_.exec(net_.host(),
                         {botscope_bin(), "fakenet", sub, "--config", config().string()}),
               30s);
}

namespace {

sockaddr_in addr(const std::string& ip, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    return a;
}

void bind_source(int fd, const std::string& source) {
    if (source.empty())
        return;
    sockaddr_in a = addr(source, 0);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

std::string encode_name(const std::string& name) {
    std::string out;
    std::size_t start = 0;
    while (start <= name.size()) {
        auto dot = name.find('.', start);
        if (dot == std::string::npos)
            dot = name.size();
        out += static_cast<char>(dot - start);
        out += name.substr(start, dot - start);
        start = dot + 1;
    }
    return out + '\0';
}

}  // namespace

std::optional<std::string> udp_exchange(const Netns& net, const std::string& ip,
                                        std::uint16_t port, const std::string& payload,
                                        std::chrono::milliseconds wait) {
    std::optional<std::string> answer;
    in_ns(net.guest(), [&] {
        int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a = addr(ip, port);
        ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) == 1) {
            char buf[65536];
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n >= 0)
                answer = std::string(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
    });
    return answer;
}

std::optional<std::string> dns_query(const Netns& net, const std::string& server,
                                     const std::string& name, std::uint16_t type,
                                     std::chrono::milliseconds wait, const std::string& source) {
    std::string q = std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) +
                    encode_name(name) + static_cast<char>(type >> 8) +
                    static_cast<char>(type & 0xFF) + std::string("\x00\x01", 2);
    std::optional<std::string> answer;
    in_ns(net.guest(), [&] {
        int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        bind_source(fd, source);
        sockaddr_in a = addr(server, 53);
        ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) == 1) {
            char buf[4096];
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n >= 0)
                answer = std::string(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
    });
    return answer;
}

TcpResult tcp_exchange(const Netns& net, const std::string& ip, std::uint16_t port,
                       const std::string& payload, std::chrono::milliseconds wait,
                       const std::string& until, const std::string& source) {
    TcpResult r;
    in_ns(net.guest(), [&] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bind_source(fd, source);
        timeval tv{static_cast<time_t>(wait.count() / 1000),
                   static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in a = addr(ip, port);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            r.error = errno;
            ::close(fd);
            return;
        }
        r.connected = true;
        if (!payload.empty())
            ::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
        const auto end = std::chrono::steady_clock::now() + wait;
        while (std::chrono::steady_clock::now() < end) {
            if (!until.empty() && r.received.find(until) != std::string::npos)
                break;
            pollfd p{fd, POLLIN, 0};
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) != 1)
                break;
            char buf[65536];
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            r.received.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
    });
    return r;
}

std::vector<Json> records(const Json& part, const std::string& kind) {
    std::vector<Json> out;
    if (part.contains(kind) && part[kind].contains("list"))
        for (const auto& r : part[kind]["list"])
            out.push_back(r);
    return out;
}

}  // namespace botscope::fakenet::live
