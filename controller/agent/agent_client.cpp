#include "agent/agent_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "util/hash.h"

namespace botscope::agent {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

int ms_until(Clock::time_point d) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
    if (left <= 0)
        return 0;
    return left > 60'000 ? 60'000 : static_cast<int>(left);
}

/// Waits for `events` on fd before the deadline: 1 ready, 0 timed out, -1 error.
int wait_fd(int fd, short events, Clock::time_point d) {
    for (;;) {
        if (Clock::now() >= d)
            return 0;
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, ms_until(d));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r > 0)
            return 1;
    }
}

Result<int> connect_fd(int family, const sockaddr* sa, socklen_t len, Clock::time_point d,
                       const std::string& what) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return Error{"connect", errno_text("socket")};
    if (::connect(fd, sa, len) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            Error e{"connect", errno_text(("connect " + what).c_str())};
            ::close(fd);
            return e;
        }
        int w = wait_fd(fd, POLLOUT, d);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (w <= 0 || soerr != 0) {
            Error e{w == 0 ? "timeout" : "connect",
                    "connect " + what + ": " +
                        (w == 0 ? std::string("no answer before the deadline")
                                : std::string(std::strerror(soerr)))};
            ::close(fd);
            return e;
        }
    }
    if (family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/// A string field, cut to the protocol's field limit; empty when absent or not a string.
std::string str(const json& j, std::string_view key) {
    auto s = proto::get_string(j, key).value_or("");
    return std::string(s.substr(0, proto::kMaxFieldBytes));
}

std::uint64_t u64(const json& j, std::string_view key) {
    auto v = proto::get_int(j, key);
    return v && *v > 0 ? static_cast<std::uint64_t>(*v) : 0;
}

std::uint32_t u32(const json& j, std::string_view key) {
    auto v = proto::get_int(j, key);
    return v && *v > 0 && *v <= UINT32_MAX ? static_cast<std::uint32_t>(*v) : 0;
}

bool flag(const json& j, std::string_view key) {
    return proto::get_bool(j, key).value_or(false);
}

}  // namespace

Client::~Client() {
    if (fd_ >= 0)
        ::close(fd_);
}

Client::Client(Client&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      options_(o.options_),
      limit_(o.limit_),
      send_mac_(o.send_mac_),
      recv_mac_(o.recv_mac_),
      reading_(std::move(o.reading_)) {}

Client& Client::operator=(Client&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        options_ = o.options_;
        limit_ = o.limit_;
        send_mac_ = o.send_mac_;
        recv_mac_ = o.recv_mac_;
        reading_ = std::move(o.reading_);
    }
    return *this;
}

Error Client::fail(std::string code, std::string message) {
    // After a transport or framing failure the stream position is unknown: never reuse it.
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    return Error{std::move(code), std::move(message)};
}

Result<Client> Client::open_unix(const std::string& path, Options options) {
    sockaddr_un sa{};
    if (path.empty() || path.size() >= sizeof sa.sun_path)
        return Error{"connect", "unix socket path empty or too long"};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    auto fd = connect_fd(AF_UNIX, reinterpret_cast<sockaddr*>(&sa), sizeof sa,
                         Clock::now() + options.connect_timeout, path);
    if (!fd)
        return fd.error();
    return Client(fd.value(), options);
}

Result<Client> Client::open_tcp(const std::string& address, std::uint16_t port, Options options) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, address.c_str(), &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) == 1) {
        family = AF_INET6;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        len = sizeof *a6;
    } else {
        return Error{"connect", "not a numeric address: " + address};
    }
    auto fd =
        connect_fd(family, reinterpret_cast<sockaddr*>(&ss), len,
                   Clock::now() + options.connect_timeout, address + ":" + std::to_string(port));
    if (!fd)
        return fd.error();
    return Client(fd.value(), options);
}

Result<Client> Client::connect_unix(const std::string& path, std::span<const std::uint8_t> secret,
                                    Options options) {
    auto c = open_unix(path, options);
    if (!c)
        return c;
    if (auto a = c->authenticate(secret); !a)
        return a.error();
    return c;
}

Result<Client> Client::connect_tcp(const std::string& address, std::uint16_t port,
                                   std::span<const std::uint8_t> secret, Options options) {
    auto c = open_tcp(address, port, options);
    if (!c)
        return c;
    if (auto a = c->authenticate(secret); !a)
        return a.error();
    return c;
}

Result<Done> Client::write_all(std::span<const std::uint8_t> data, Deadline d) {
    if (fd_ < 0)
        return Error{"closed", "connection is closed"};
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return fail("closed", errno_text("send"));
        int w = wait_fd(fd_, POLLOUT, d);
        if (w == 0)
            return fail("timeout", "agent did not take the request before the deadline");
        if (w < 0)
            return fail("closed", errno_text("poll"));
    }
    return Done{};
}

Result<Done> Client::read_exact(std::uint8_t* p, std::size_t n, Deadline d) {
    if (fd_ < 0)
        return Error{"closed", "connection is closed"};
    while (n > 0) {
        ssize_t r = ::recv(fd_, p, n, 0);
        if (r > 0) {
            p += r;
            n -= static_cast<std::size_t>(r);
            continue;
        }
        if (r == 0)
            return fail("closed", "agent closed the connection mid-frame or before answering");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fail("closed", errno_text("recv"));
        int w = wait_fd(fd_, POLLIN, d);
        if (w == 0)
            return fail("timeout", "no complete response before the deadline");
        if (w < 0)
            return fail("closed", errno_text("poll"));
    }
    return Done{};
}

Result<Done> Client::send_frame(const json& header, std::span<const std::uint8_t> body,
                                Deadline d) {
    std::string h = proto::dump_header(header);
    if (h.size() > proto::kMaxHeader)
        return Error{"too_large", "request header over the limit"};
    if (body.size() > proto::kMaxBody)
        return Error{"too_large", "body of " + std::to_string(body.size()) + " bytes over the " +
                                      std::to_string(proto::kMaxBody) + "-byte limit"};
    auto prefix = proto::encode_prefix(static_cast<std::uint32_t>(h.size()),
                                       static_cast<std::uint32_t>(body.size()));
    std::span<const std::uint8_t> hb{reinterpret_cast<const std::uint8_t*>(h.data()), h.size()};
    if (auto r = write_all(prefix, d); !r)
        return r;
    if (auto r = write_all(hb, d); !r)
        return r;
    if (auto r = write_all(body, d); !r)
        return r;
    if (!send_mac_)
        return Done{};
    auto mac = send_mac_->next();
    mac.update(prefix);
    mac.update(hb);
    mac.update(body);
    return write_all(mac.finish(), d);
}

Result<Response> Client::read_header(Deadline d, std::uint32_t max_body, std::uint32_t& body_len) {
    std::array<std::uint8_t, proto::kPrefixSize> pre{};
    if (auto r = read_exact(pre.data(), pre.size(), d); !r)
        return r.error();
    proto::Prefix prefix;
    auto ps = proto::decode_prefix(pre, proto::kMaxHeader, max_body, prefix);
    if (ps != proto::PrefixStatus::kOk) {
        std::string why = ps == proto::PrefixStatus::kBadMagic      ? "response has a bad magic"
                          : ps == proto::PrefixStatus::kEmptyHeader ? "response has no header"
                          : ps == proto::PrefixStatus::kHeaderTooLarge
                              ? "response header of " + std::to_string(prefix.header_len) +
                                    " bytes over the limit"
                              : "response body of " + std::to_string(prefix.body_len) +
                                    " bytes over the " + std::to_string(max_body) +
                                    "-byte limit of this call";
        return fail(std::string(proto::prefix_error_code(ps)), why);
    }
    std::string header(prefix.header_len, '\0');
    if (auto r = read_exact(reinterpret_cast<std::uint8_t*>(header.data()), header.size(), d); !r)
        return r.error();
    if (recv_mac_) {
        reading_.emplace(recv_mac_->next());
        reading_->update(pre);
        reading_->update({reinterpret_cast<const std::uint8_t*>(header.data()), header.size()});
    }
    auto parsed = proto::parse_header(header);
    if (!parsed.error.empty())
        return fail(std::string(parsed.error), "response " + parsed.message);
    body_len = prefix.body_len;
    Response resp;
    resp.header = std::move(parsed.json);
    return resp;
}

Result<Done> Client::read_body(std::uint8_t* p, std::size_t n, Deadline d) {
    if (auto r = read_exact(p, n, d); !r)
        return r;
    if (reading_)
        reading_->update({p, n});
    return Done{};
}

Result<Done> Client::finish_frame(Deadline d) {
    if (!reading_)
        return Done{};
    proto::Mac got{};
    auto r = read_exact(got.data(), got.size(), d);
    auto want = reading_->finish();
    reading_.reset();
    if (!r)
        return r;
    if (!proto::equal_constant_time(got, want))
        return fail("bad_mac",
                    "a frame from the agent failed its MAC: something other than the agent that "
                    "authenticated is on the channel");
    return Done{};
}

Result<Response> Client::read_frame(Deadline d, std::uint32_t max_body) {
    std::uint32_t body_len = 0;
    auto r = read_header(d, max_body, body_len);
    if (!r)
        return r;
    r->body.resize(body_len);
    if (body_len > 0)
        if (auto b = read_body(r->body.data(), body_len, d); !b)
            return b.error();
    if (auto f = finish_frame(d); !f)
        return f.error();
    return r;
}

Result<Response> Client::read_response(std::uint32_t max_body) {
    return read_frame(deadline(), max_body);
}

Result<Done> Client::send_raw(std::span<const std::uint8_t> bytes) {
    return write_all(bytes, deadline());
}

Result<Done> Client::send_raw_frame(std::span<const std::uint8_t> bytes) {
    Deadline d = deadline();
    if (auto r = write_all(bytes, d); !r || !send_mac_)
        return r;
    auto mac = send_mac_->next();
    mac.update(bytes);
    return write_all(mac.finish(), d);
}

Result<Response> Client::checked(const json& request, Result<Response> r) {
    if (!r)
        return r;
    auto ok = proto::get_bool(r->header, "ok");
    if (!ok)
        return fail("bad_response", "response has no ok field");
    if (!*ok) {
        std::string code = str(r->header, "error");
        return Error{code.empty() ? "bad_response" : code, "agent: " + str(r->header, "message")};
    }
    auto want = proto::get_string(request, "op");
    auto got = proto::get_string(r->header, "op");
    if (want && got != want)
        return fail("bad_response", "response is for another operation");
    return r;
}

Result<Response> Client::call(const json& request, std::span<const std::uint8_t> body,
                              std::uint32_t max_body) {
    Deadline d = deadline();
    if (auto s = send_frame(request, body, d); !s)
        return s.error();
    return checked(request, read_frame(d, max_body));
}

Result<Done> Client::authenticate(std::span<const std::uint8_t> secret,
                                  std::optional<proto::Nonce> fixed_nonce) {
    Deadline d = Clock::now() + options_.connect_timeout;
    proto::Nonce mine{};
    if (fixed_nonce) {
        mine = *fixed_nonce;
    } else if (getrandom(mine.data(), mine.size(), 0) != static_cast<ssize_t>(mine.size())) {
        return Error{"io_error", errno_text("getrandom")};
    }
    json a1{
        {"op", proto::op::kAuth1}, {"version", proto::kVersion}, {"nonce", proto::to_hex(mine)}};
    if (auto s = send_frame(a1, {}, d); !s)
        return s.error();
    auto r1 = checked(a1, read_frame(d, 0));
    if (!r1)
        return r1.error();
    auto theirs = proto::get_hex<proto::kNonceSize>(r1->header, "nonce");
    auto proof = proto::get_hex<32>(r1->header, "proof");
    if (!theirs || !proof)
        return fail("bad_response", "auth1 response lacks a nonce or proof");
    if (*theirs == mine)
        return fail("fake_agent", "agent echoed the controller's nonce");
    if (!proto::equal_constant_time(*proof, proto::agent_proof(secret, mine, *theirs)))
        return fail("fake_agent", "the agent's proof does not match the secret: not our agent");
    json a2{{"op", proto::op::kAuth2},
            {"proof", proto::to_hex(proto::client_proof(secret, mine, *theirs))}};
    if (auto s = send_frame(a2, {}, d); !s)
        return s.error();
    auto r2 = checked(a2, read_frame(d, 0));
    if (!r2)
        return r2.error();
    auto keys = proto::session_keys(secret, mine, *theirs);
    send_mac_ = proto::FrameSigner{keys.controller, 0};
    recv_mac_ = proto::FrameSigner{keys.agent, 0};
    return Done{};
}

Result<Hello> Client::hello() {
    auto r = call({{"op", proto::op::kHello}});
    if (!r)
        return r.error();
    const json& h = r->header;
    Hello out;
    out.os = str(h, "os");
    out.os_version = str(h, "os_version");
    out.arch = str(h, "arch");
    out.hostname = str(h, "hostname");
    out.agent_version = str(h, "agent_version");
    out.work_dir = str(h, "work_dir");
    out.version = static_cast<int>(proto::get_int(h, "version").value_or(0));
    out.time_ms = proto::get_int(h, "time_ms").value_or(0);
    out.watching = flag(h, "watching");
    return out;
}

Result<PutResult> Client::put(std::string_view name, std::span<const std::uint8_t> content) {
    // Checked here too, so a bad name never leaves the host.
    if (auto ns = proto::check_name(name); ns != proto::NameStatus::kOk)
        return Error{"bad_name", std::string(proto::name_status_text(ns))};
    util::Sha256 h;
    h.update(content);
    auto digest = h.finish();
    std::string sha = util::to_hex(digest);
    json req{{"op", proto::op::kPut}, {"name", name}, {"size", content.size()}, {"sha256", sha}};
    auto r = call(req, content);
    if (!r)
        return r.error();
    PutResult out;
    out.name = str(r->header, "name");
    out.size = u64(r->header, "size");
    out.sha256 = str(r->header, "sha256");
    if (out.sha256 != sha || out.size != content.size())
        return Error{"hash_mismatch", "agent stored something other than what was sent"};
    return out;
}

Result<WatchInfo> Client::watch_start() {
    auto r = call({{"op", proto::op::kWatchStart}});
    if (!r)
        return r.error();
    WatchInfo w;
    w.time_ms = proto::get_int(r->header, "time_ms").value_or(0);
    w.processes = u64(r->header, "processes");
    w.files = u64(r->header, "files");
    w.autostart = u64(r->header, "autostart");
    return w;
}

Result<std::uint32_t> Client::exec(std::string_view name, const std::vector<std::string>& args) {
    auto r = call({{"op", proto::op::kExec}, {"name", name}, {"args", args}});
    if (!r)
        return r.error();
    std::uint32_t pid = u32(r->header, "pid");
    if (pid == 0)
        return fail("bad_response", "exec response has no pid");
    return pid;
}

Result<Done> Client::paged(std::string_view op, std::size_t cap, ListCut& cut, json* last,
                           const std::function<bool(const json&, std::size_t&)>& take) {
    std::size_t seen = 0, bytes = 0;
    std::int64_t start = 0;
    auto stop = [&](std::string why) {
        cut.truncated = true;
        cut.why = std::move(why);
        return Done{};
    };
    for (;;) {
        auto r = call({{"op", op}, {"start", start}});
        if (!r)
            return r.error();
        const json* entries = proto::get_array(r->header, "entries");
        if (!entries)
            return fail("bad_response", std::string(op) + " response has no entries");
        for (const auto& e : *entries) {
            // Every entry counts, objects or not: the cap bounds pages as well as memory, since
            // a page that advances holds at least one entry.
            if (seen >= cap)
                return stop("more than the protocol's " + std::to_string(cap) + " entries");
            ++seen;
            if (!e.is_object() || !take(e, bytes))
                ++cut.malformed;
            if (bytes > options_.max_list_bytes)
                return stop("over " + std::to_string(options_.max_list_bytes >> 20) +
                            " MiB of text");
        }
        auto next = proto::get_int(r->header, "next");
        bool more = flag(r->header, "more");
        if (flag(r->header, "truncated"))
            cut.truncated = true;
        if (last)
            *last = std::move(r->header);
        if (!more)
            return Done{};
        if (seen >= cap)
            return stop("more than the protocol's " + std::to_string(cap) + " entries");
        if (!next || *next <= start || entries->empty())
            return fail("bad_response", std::string(op) + " pages do not advance");
        start = *next;
    }
}

Result<ProcessList> Client::processes() {
    ProcessList out;
    json last;
    auto r = paged(proto::op::kProcesses, proto::kMaxProcessEvents, out.cut, &last,
                   [&](const json& e, std::size_t& bytes) {
                       ProcessEvent ev;
                       ev.seq = u64(e, "seq");
                       ev.type = str(e, "type");
                       ev.pid = u32(e, "pid");
                       ev.ppid = u32(e, "ppid");
                       ev.image = str(e, "image");
                       ev.cmdline = str(e, "cmdline");
                       ev.in_tree = flag(e, "in_tree");
                       ev.time_ms = proto::get_int(e, "time_ms").value_or(0);
                       if (auto c = proto::get_int(e, "exit_code");
                           c && *c >= INT32_MIN && *c <= INT32_MAX)
                           ev.exit_code = static_cast<int>(*c);
                       if (ev.pid == 0 || (ev.type != "start" && ev.type != "exit"))
                           return false;
                       bytes += sizeof ev + ev.image.size() + ev.cmdline.size();
                       out.events.push_back(std::move(ev));
                       return true;
                   });
    if (!r)
        return r.error();
    if (const json* alive = proto::get_array(last, "tree_alive"))
        for (const auto& v : *alive)
            if (v.is_number_unsigned() && out.tree_alive.size() < proto::kMaxProcessEvents)
                out.tree_alive.push_back(static_cast<std::uint32_t>(v.get<std::uint64_t>()));
    return out;
}

Result<DroppedList> Client::dropped() {
    DroppedList out;
    auto r = paged(proto::op::kDropped, proto::kMaxDropped, out.cut, nullptr,
                   [&](const json& e, std::size_t& bytes) {
                       DroppedFile f;
                       f.id = proto::get_int(e, "id").value_or(0);
                       f.path = str(e, "path");
                       f.status = str(e, "status");
                       f.size = u64(e, "size");
                       f.too_large = flag(e, "too_large");
                       std::array<std::uint8_t, 32> tmp{};
                       if (proto::from_hex(str(e, "sha256"), tmp))
                           f.sha256 = proto::to_hex(tmp);
                       if (f.path.empty())
                           return false;
                       bytes += sizeof f + f.path.size() + f.status.size();
                       out.files.push_back(std::move(f));
                       return true;
                   });
    if (!r)
        return r.error();
    return out;
}

Result<FetchedFile> Client::fetch(std::int64_t id, const fs::path& store_dir,
                                  std::uint64_t max_size) {
    Deadline d = deadline();
    json req{{"op", proto::op::kFetch}, {"id", id}};
    if (auto s = send_frame(req, {}, d); !s)
        return s.error();
    std::uint32_t body_len = 0;
    auto raw = read_header(
        d, static_cast<std::uint32_t>(std::min<std::uint64_t>(max_size, proto::kMaxBody)),
        body_len);
    if (!raw)
        return raw.error();
    auto head = checked(req, std::move(raw));
    if (!head) {
        // An error response carries no body; anything else means the stream is out of step.
        if (body_len != 0)
            return fail(head.error().code, head.error().message);
        if (auto f = finish_frame(d); !f)
            return f.error();
        return head.error();
    }
    std::array<std::uint8_t, 32> announced{};
    if (!proto::from_hex(str(head->header, "sha256"), announced) ||
        u64(head->header, "size") != body_len)
        return fail("bad_response", "fetch response lacks sha256 or its size disagrees");

    // The temporary name is ours, the final one is the content's hash: nothing from the guest.
    std::array<std::uint8_t, 8> rnd{};
    if (getrandom(rnd.data(), rnd.size(), 0) != static_cast<ssize_t>(rnd.size()))
        return fail("io_error", errno_text("getrandom"));
    fs::path tmp = store_dir / (".fetch-" + proto::to_hex(rnd) + ".part");
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return fail("io_error", errno_text(("create " + tmp.string()).c_str()));
    util::Sha256 h;
    std::vector<std::uint8_t> buf(64 * 1024);
    std::uint32_t left = body_len;
    std::optional<Error> error;
    while (left > 0) {
        std::size_t n = std::min<std::size_t>(left, buf.size());
        if (auto r = read_body(buf.data(), n, d); !r) {
            error = r.error();
            break;
        }
        h.update({buf.data(), n});
        std::size_t done = 0;
        while (done < n) {
            ssize_t w = ::write(out, buf.data() + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                error = fail("io_error", errno_text("write"));
                break;
            }
            done += static_cast<std::size_t>(w);
        }
        if (error)
            break;
        left -= static_cast<std::uint32_t>(n);
    }
    // The MAC before the content is believed: a forged frame leaves nothing behind.
    if (!error)
        if (auto f = finish_frame(d); !f)
            error = f.error();
    if (!error && ::fsync(out) != 0)
        error = Error{"io_error", errno_text("fsync")};
    ::close(out);
    auto digest = h.finish();
    if (!error && digest != announced)
        error = Error{"hash_mismatch",
                      "received content does not match the announced sha256 "
                      "(the file changed while it was sent)"};
    if (error) {
        ::unlink(tmp.c_str());
        return *error;
    }
    FetchedFile f;
    f.sha256 = util::to_hex(digest);
    f.size = body_len;
    f.stored = store_dir / f.sha256;
    if (::rename(tmp.c_str(), f.stored.c_str()) != 0) {
        Error e{"io_error", errno_text(("rename to " + f.stored.string()).c_str())};
        ::unlink(tmp.c_str());
        return e;
    }
    return f;
}

Result<SocketList> Client::sockets() {
    SocketList out;
    auto r = paged(proto::op::kSockets, proto::kMaxSockets, out.cut, nullptr,
                   [&](const json& e, std::size_t& bytes) {
                       ListenSocket s;
                       s.proto = str(e, "proto");
                       s.address = str(e, "address");
                       s.image = str(e, "image");
                       auto port = u64(e, "port");
                       s.port = port <= 65535 ? static_cast<std::uint16_t>(port) : 0;
                       s.pid = u32(e, "pid");
                       s.in_tree = flag(e, "in_tree");
                       if (s.proto.empty())
                           return false;
                       bytes += sizeof s + s.proto.size() + s.address.size() + s.image.size();
                       out.sockets.push_back(std::move(s));
                       return true;
                   });
    if (!r)
        return r.error();
    return out;
}

Result<AutostartList> Client::autostart() {
    AutostartList out;
    auto r = paged(proto::op::kAutostart, proto::kMaxAutostart, out.cut, nullptr,
                   [&](const json& e, std::size_t& bytes) {
                       AutostartEntry a{str(e, "kind"), str(e, "location"), str(e, "name"),
                                        str(e, "value"), str(e, "status")};
                       if (a.kind.empty())
                           return false;
                       bytes += sizeof a + a.kind.size() + a.location.size() + a.name.size() +
                                a.value.size() + a.status.size();
                       out.entries.push_back(std::move(a));
                       return true;
                   });
    if (!r)
        return r.error();
    return out;
}

Result<std::vector<std::uint32_t>> Client::kill(std::optional<std::uint32_t> pid) {
    json req{{"op", proto::op::kKill}};
    if (pid)
        req["pid"] = *pid;
    auto r = call(req);
    if (!r)
        return r.error();
    std::vector<std::uint32_t> out;
    if (const json* k = proto::get_array(r->header, "killed"))
        for (const auto& v : *k)
            if (v.is_number_unsigned() && out.size() < proto::kMaxProcessEvents)
                out.push_back(static_cast<std::uint32_t>(v.get<std::uint64_t>()));
    return out;
}

Result<std::int64_t> Client::set_clock(std::int64_t time_ms) {
    auto r = call({{"op", proto::op::kSetClock}, {"time_ms", time_ms}});
    if (!r)
        return r.error();
    return proto::get_int(r->header, "time_ms").value_or(0);
}

}  // namespace botscope::agent
