#include "fake_agent.h"

#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "protocol/protocol.h"
#include "protocol/sha256.h"

namespace botscope::tasks::test {

namespace proto = agent::proto;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

/// Ends the session: the peer went away, a deadline passed, or the test is over.
struct Gone {};

struct Conn {
    int fd;
    const std::atomic<bool>& stop;
    std::atomic<std::uint64_t>& sent;
    // Frame MACs once the handshake is done, as the real agent has them.
    std::optional<proto::FrameSigner> tx, rx;
    std::optional<proto::FrameMac> out;  // the frame being sent

    void wait(short events, Clock::time_point d) {
        for (;;) {
            if (stop || Clock::now() >= d)
                throw Gone{};
            pollfd p{fd, events, 0};
            int r = ::poll(&p, 1, 50);
            if (r > 0)
                return;
            if (r < 0 && errno != EINTR)
                throw Gone{};
        }
    }
    void read_exact(std::uint8_t* p, std::size_t n, Clock::time_point d) {
        while (n > 0) {
            wait(POLLIN, d);
            ssize_t r = ::recv(fd, p, n, 0);
            if (r <= 0)
                throw Gone{};
            p += r;
            n -= static_cast<std::size_t>(r);
        }
    }
    void write_all(const std::uint8_t* p, std::size_t n) {
        const auto d = Clock::now() + std::chrono::seconds(30);
        while (n > 0) {
            wait(POLLOUT, d);
            ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
            if (r <= 0)
                throw Gone{};
            p += r;
            n -= static_cast<std::size_t>(r);
            sent += static_cast<std::uint64_t>(r);
        }
    }
    /// A request: header and body. `first_byte` bounds the wait for it to start.
    std::pair<json, std::vector<std::uint8_t>> read_frame(Clock::time_point first_byte) {
        std::array<std::uint8_t, proto::kPrefixSize> pre{};
        wait(POLLIN, first_byte);
        const auto d = Clock::now() + std::chrono::seconds(10);
        read_exact(pre.data(), pre.size(), d);
        proto::Prefix prefix;
        if (proto::decode_prefix(pre, proto::kMaxHeader, proto::kMaxBody, prefix) !=
            proto::PrefixStatus::kOk)
            throw Gone{};
        std::string header(prefix.header_len, '\0');
        read_exact(reinterpret_cast<std::uint8_t*>(header.data()), header.size(), d);
        std::vector<std::uint8_t> body(prefix.body_len);
        read_exact(body.data(), body.size(), d);
        if (rx) {
            auto m = rx->next();
            m.update(pre);
            m.update({reinterpret_cast<const std::uint8_t*>(header.data()), header.size()});
            m.update(body);
            proto::Mac got{};
            read_exact(got.data(), got.size(), d);
            if (got != m.finish())
                throw Gone{};
        }
        auto parsed = proto::parse_header(header);
        if (!parsed.error.empty())
            throw Gone{};
        return {std::move(parsed.json), std::move(body)};
    }
    void send_head(const json& header, std::uint64_t body_len) {
        std::string h = proto::dump_header(header);
        if (h.size() > proto::kMaxHeader)
            throw std::logic_error("fake agent: page over the header limit");
        auto p = proto::encode_prefix(static_cast<std::uint32_t>(h.size()),
                                      static_cast<std::uint32_t>(body_len));
        if (tx) {
            out.emplace(tx->next());
            out->update(p);
            out->update({reinterpret_cast<const std::uint8_t*>(h.data()), h.size()});
        }
        write_all(p.data(), p.size());
        write_all(reinterpret_cast<const std::uint8_t*>(h.data()), h.size());
    }
    void send_body(const std::uint8_t* p, std::size_t n) {
        if (out)
            out->update({p, n});
        write_all(p, n);
    }
    void end_frame() {
        if (!out)
            return;
        auto m = out->finish();
        out.reset();
        write_all(m.data(), m.size());
    }
    void send(const json& header) {
        send_head(header, 0);
        end_frame();
    }
};

json ok(std::string_view op) {
    return {{"op", op}, {"ok", true}};
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

FakeAgent::FakeAgent(std::filesystem::path socket, std::vector<std::uint8_t> secret, Behaviour b)
    : socket_(std::move(socket)), secret_(std::move(secret)), b_(b) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::string p = socket_.string();
    if (listen_fd_ < 0 || p.size() >= sizeof sa.sun_path)
        throw std::runtime_error("fake agent: no socket");
    std::memcpy(sa.sun_path, p.data(), p.size());
    ::unlink(p.c_str());
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(listen_fd_, 4) != 0)
        throw std::runtime_error("fake agent: bind " + p + ": " + std::strerror(errno));
    thread_ = std::thread([this] { serve(); });
}

FakeAgent::~FakeAgent() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
    ::unlink(socket_.c_str());
}

std::vector<std::string> FakeAgent::ops() const {
    std::lock_guard lock(mu_);
    return ops_;
}

void FakeAgent::serve() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0)
            continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        try {
            session(fd);
        } catch (const Gone&) {
        }
        ::close(fd);
    }
}

void FakeAgent::session(int fd) {
    Conn c{fd, stop_, sent_, {}, {}, {}};
    // The handshake, with the secret, or with another one once an impostor holds the channel.
    std::vector<std::uint8_t> secret = secret_;
    if (b_.impostor_after_exec && exec_done_)
        secret.assign(32, 0x5a);
    auto [a1, unused1] = c.read_frame(Clock::now() + std::chrono::seconds(10));
    auto nc = proto::get_hex<proto::kNonceSize>(a1, "nonce");
    if (!nc)
        return;
    proto::Nonce na{};
    if (getrandom(na.data(), na.size(), 0) != static_cast<ssize_t>(na.size()))
        return;
    json r1 = ok(proto::op::kAuth1);
    r1["version"] = proto::kVersion;
    r1["nonce"] = proto::to_hex(na);
    r1["proof"] = proto::to_hex(proto::agent_proof(secret, *nc, na));
    c.send(r1);
    auto [a2, unused2] = c.read_frame(Clock::now() + std::chrono::seconds(10));
    auto proof = proto::get_hex<32>(a2, "proof");
    if (!proof || *proof != proto::client_proof(secret, *nc, na)) {
        c.send(proto::error_response(proto::op::kAuth2, proto::err::kAuthFailed, "wrong proof"));
        return;
    }
    c.send(ok(proto::op::kAuth2));
    auto keys = proto::session_keys(secret, *nc, na);
    c.tx = proto::FrameSigner{keys.agent, 0};
    c.rx = proto::FrameSigner{keys.controller, 0};
    ++sessions_;

    const std::string filler_text(b_.field_bytes ? b_.field_bytes : 8, 'x');
    auto page = [&](std::string_view op, const json& req, std::size_t total,
                    const std::function<json(std::size_t)>& entry) {
        std::this_thread::sleep_for(b_.page_delay);
        auto start = static_cast<std::size_t>(proto::get_int(req, "start").value_or(0));
        json r = ok(op);
        if (b_.endless_pages) {
            r["entries"] = json::array({1});
            r["more"] = true;
            r["next"] = start + 1;
            c.send(r);
            return;
        }
        json entries = json::array();
        std::size_t i = start, size = 0;
        for (; i < total; ++i) {
            json e = entry(i);
            std::size_t n = e.dump().size() + 1;
            if (!entries.empty() && size + n > proto::kMaxHeader - 512)
                break;
            size += n;
            entries.push_back(std::move(e));
        }
        r["entries"] = std::move(entries);
        r["more"] = i < total;
        r["next"] = i;
        r["total"] = total;
        if (op == proto::op::kProcesses)
            r["tree_alive"] = json::array({4242});
        c.send(r);
    };

    for (;;) {
        const auto first_byte = b_.idle_timeout.count() > 0
                                    ? Clock::now() + b_.idle_timeout
                                    : Clock::now() + std::chrono::hours(1);
        std::pair<json, std::vector<std::uint8_t>> frame;
        try {
            frame = c.read_frame(first_byte);
        } catch (const Gone&) {
            if (!stop_ && Clock::now() >= first_byte)
                c.send(proto::error_response("", proto::err::kTimeout, "idle timeout"));
            throw;
        }
        const json& req = frame.first;
        std::string op(proto::get_string(req, "op").value_or(""));
        {
            std::lock_guard lock(mu_);
            ops_.push_back(op);
        }
        if (op == proto::op::kHello) {
            json r = ok(op);
            r["version"] = proto::kVersion;
            r["os"] = "linux";
            r["os_version"] = "fake";
            r["arch"] = "x86_64";
            r["hostname"] = "fakeguest";
            r["agent_version"] = "0.0.0-fake";
            r["work_dir"] = "/root/work";
            r["time_ms"] = now_ms();
            c.send(r);
        } else if (op == proto::op::kSetClock) {
            json r = ok(op);
            r["time_ms"] = proto::get_int(req, "time_ms").value_or(0);
            c.send(r);
        } else if (op == proto::op::kWatchStart) {
            json r = ok(op);
            r["time_ms"] = now_ms();
            c.send(r);
        } else if (op == proto::op::kPut && b_.fail_put) {
            c.send(proto::error_response(op, proto::err::kIoError, "disk full (played)"));
        } else if (op == proto::op::kPut) {
            json r = ok(op);
            r["name"] = proto::get_string(req, "name").value_or("");
            r["size"] = frame.second.size();
            r["sha256"] = proto::to_hex(proto::sha256(frame.second));
            c.send(r);
        } else if (op == proto::op::kExec) {
            json r = ok(op);
            r["pid"] = 4242;
            c.send(r);
            exec_done_ = true;
        } else if (op == proto::op::kProcesses) {
            page(op, req, b_.process_events, [&](std::size_t i) {
                return json{{"seq", i + 1},        {"type", "start"},     {"pid", 4242 + i},
                            {"ppid", 1},           {"image", filler_text}, {"cmdline", filler_text},
                            {"in_tree", true},     {"time_ms", now_ms()}};
            });
        } else if (op == proto::op::kDropped) {
            const std::string sha =
                proto::to_hex(proto::sha256(std::vector<std::uint8_t>(b_.file_size, 'A')));
            page(op, req, b_.dropped, [&](std::size_t i) {
                return json{{"id", i + 1},
                            {"path", "/tmp/drop" + std::to_string(i + 1) + ".bin"},
                            {"status", "created"},
                            {"size", b_.file_size},
                            {"sha256", sha}};
            });
        } else if (op == proto::op::kFetch) {
            auto id = proto::get_int(req, "id").value_or(0);
            if (id < 1 || static_cast<std::size_t>(id) > b_.dropped) {
                c.send(proto::error_response(op, proto::err::kNotFound, "no such file"));
                continue;
            }
            const std::uint64_t n = b_.send_size ? b_.send_size : b_.file_size;
            std::vector<std::uint8_t> chunk(64 * 1024, 'A');
            proto::Sha256 h;
            for (std::uint64_t left = n; left > 0;) {
                auto k = std::min<std::uint64_t>(left, chunk.size());
                h.update({chunk.data(), static_cast<std::size_t>(k)});
                left -= k;
            }
            auto digest = h.finish();
            if (b_.wrong_hash)
                digest[0] ^= 0xff;
            json r = ok(op);
            r["size"] = n;
            r["sha256"] = proto::to_hex(digest);
            c.send_head(r, n);
            for (std::uint64_t left = n; left > 0;) {
                auto k = std::min<std::uint64_t>(left, chunk.size());
                c.send_body(chunk.data(), static_cast<std::size_t>(k));
                left -= k;
            }
            c.end_frame();
        } else if (op == proto::op::kSockets) {
            page(op, req, 2, [&](std::size_t i) {
                return json{{"proto", "tcp"},         {"address", "0.0.0.0"},
                            {"port", 6000 + i},       {"pid", 4242},
                            {"image", filler_text},   {"in_tree", true}};
            });
        } else if (op == proto::op::kAutostart) {
            page(op, req, 1, [&](std::size_t) {
                return json{{"kind", "file"},
                            {"location", "/etc/init.d"},
                            {"name", filler_text},
                            {"value", filler_text},
                            {"status", "added"}};
            });
        } else if (op == proto::op::kKill) {
            json r = ok(op);
            r["killed"] = json::array({4242});
            c.send(r);
        } else {
            c.send(proto::error_response(op, proto::err::kUnknownOp, "not played by the fake"));
        }
    }
}

}  // namespace botscope::tasks::test
