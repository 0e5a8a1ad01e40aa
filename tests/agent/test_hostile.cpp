// Hostile input both ways: a controller-side peer without the secret or with broken frames
// against the real agent, and a fake agent (a thread in this test) against the real client.
// Each case must give a clear error, crash nothing, and write nothing outside the work folder.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "harness.h"

namespace test_hostile {

using namespace botscope::agent;
using namespace botscope::agent::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::uint8_t> frame(std::string_view header, std::string_view body = {},
                                std::optional<std::uint32_t> declared_body = std::nullopt) {
    auto p = proto::encode_prefix(static_cast<std::uint32_t>(header.size()),
                                  declared_body.value_or(static_cast<std::uint32_t>(body.size())));
    std::vector<std::uint8_t> out(p.begin(), p.end());
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

/// Sends raw bytes on an (optionally authenticated) connection and returns the agent's error
/// code ("" when it answered ok, "closed" when it answered nothing).
std::string raw_exchange(const AgentProcess& a, bool authed, const std::vector<std::uint8_t>& b,
                         std::string* message = nullptr) {
    auto c = authed ? a.connect() : a.open();
    REQUIRE_MESSAGE(c.ok(), c.error().text());
    REQUIRE(c->send_raw_frame(b).ok());
    auto r = c->read_response();
    if (!r)
        return r.error().code;
    if (message)
        *message = proto::get_string(r->header, "message").value_or("");
    if (proto::get_bool(r->header, "ok").value_or(false))
        return "";
    return std::string(proto::get_string(r->header, "error").value_or("?"));
}

/// A one-connection fake agent on 127.0.0.1 that runs `script` on the accepted socket.
class FakeAgent {
public:
    explicit FakeAgent(std::function<void(int)> script) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        REQUIRE(::listen(fd_, 1) == 0);
        socklen_t len = sizeof sa;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
        port = ntohs(sa.sin_port);
        thread_ = std::thread([this, script] {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c >= 0) {
                script(c);
                ::close(c);
            }
        });
    }
    ~FakeAgent() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    std::uint16_t port = 0;

private:
    int fd_ = -1;
    std::thread thread_;
};

void send_all(int fd, const std::vector<std::uint8_t>& b) {
    std::size_t done = 0;
    while (done < b.size()) {
        ssize_t n = ::send(fd, b.data() + done, b.size() - done, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        done += static_cast<std::size_t>(n);
    }
}

/// Reads one frame (prefix + header, assuming no body, and the MAC trailer of an authenticated
/// session when `mac`) so a fake agent can answer in turn.
json recv_frame(int fd, bool mac = false) {
    std::uint8_t pre[12];
    std::size_t got = 0;
    while (got < 12) {
        ssize_t n = ::recv(fd, pre + got, 12 - got, 0);
        if (n <= 0)
            return nullptr;
        got += static_cast<std::size_t>(n);
    }
    std::uint32_t hl = (std::uint32_t{pre[4]} << 24) | (std::uint32_t{pre[5]} << 16) |
                       (std::uint32_t{pre[6]} << 8) | pre[7];
    std::string h(hl, '\0');
    got = 0;
    while (got < hl) {
        ssize_t n = ::recv(fd, h.data() + got, hl - got, 0);
        if (n <= 0)
            return nullptr;
        got += static_cast<std::size_t>(n);
    }
    for (std::size_t left = mac ? proto::kMacSize : 0; left > 0;) {
        std::uint8_t skip[proto::kMacSize];
        ssize_t n = ::recv(fd, skip, left, 0);
        if (n <= 0)
            return nullptr;
        left -= static_cast<std::size_t>(n);
    }
    return proto::parse_header(h).json;
}

/// `f` with the MAC of the session's next agent frame appended.
std::vector<std::uint8_t> sign(proto::FrameSigner& tx, std::vector<std::uint8_t> f) {
    auto m = tx.next();
    m.update(f);
    auto mac = m.finish();
    f.insert(f.end(), mac.begin(), mac.end());
    return f;
}

/// A fake agent that authenticates with `secret` and then answers the next request with `then`,
/// which signs its frames with `tx` (sign()) when it plays an agent holding the session's keys.
std::function<void(int)> authed_then(std::vector<std::uint8_t> secret,
                                     std::function<void(int, proto::FrameSigner&)> then) {
    return [secret, then](int fd) {
        json a1 = recv_frame(fd);
        auto cn = proto::get_hex<32>(a1, "nonce");
        if (!cn)
            return;
        proto::Nonce an{};
        an.fill(7);
        json r{{"op", "auth1"},
               {"ok", true},
               {"version", proto::kVersion},
               {"nonce", proto::to_hex(an)},
               {"proof", proto::to_hex(proto::agent_proof(secret, *cn, an))}};
        send_all(fd, frame(proto::dump_header(r)));
        if (recv_frame(fd).is_null())
            return;
        send_all(fd, frame(R"({"op":"auth2","ok":true})"));
        if (recv_frame(fd, true).is_null())
            return;
        proto::FrameSigner tx{proto::session_keys(secret, *cn, an).agent, 0};
        then(fd, tx);
    };
}

Options quick() {
    // Only the calls are cut short: connecting and authenticating to an agent under ASan on a
    // loaded machine (CI's CPU hogs) can take longer than 2 s, and no case here tests that.
    return Options{.connect_timeout = std::chrono::seconds(30),
                   .call_timeout = std::chrono::seconds(2)};
}

}  // namespace

TEST_CASE("traversal, device and malformed names are refused and nothing lands outside") {
    auto& sh = Shared::get();
    auto before_root = tree_listing(sh.scratch.root);
    const std::string names[] = {"../x",
                                 "..\\x",
                                 "C:\\x",
                                 "\\\\?\\C:\\x",
                                 "CON",
                                 "nul.txt",
                                 "COM1",
                                 std::string("a\0b", 3),
                                 std::string(10000, 'A'),
                                 "../../../../../../tmp/x",
                                 "/tmp/x",
                                 "x.",
                                 "..",
                                 "a:b"};
    for (auto& a : sh.agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        auto c = a->connect();
        REQUIRE(c.ok());
        for (const auto& n : names) {
            CAPTURE(n.substr(0, 40));
            // Straight to the agent (the client's own check would stop these first).
            json req{{"op", "put"}, {"name", n}, {"size", 4}};
            auto r = c->call(req, bytes("evil"));
            CHECK(r.error().code == "bad_name");
            CHECK(!r.error().message.empty());
            CHECK(c->put(n, bytes("evil")).error().code == "bad_name");
            json ex{{"op", "exec"}, {"name", n}};
            CHECK(c->call(ex).error().code == "bad_name");
        }
        CHECK(c->hello().ok());  // still in step after every refused body
    }
    CHECK(tree_listing(sh.scratch.root) == before_root);
    std::error_code ec;
    CHECK(!fs::exists(sh.scratch.root / "x", ec));
}

TEST_CASE("wrong secret: the agent refuses, the client notices a fake agent") {
    std::vector<std::uint8_t> wrong(32, 0x42);
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        // The client checks the agent's proof first: with the wrong secret it refuses the agent.
        auto c = a->connect_with(wrong);
        REQUIRE(!c.ok());
        CHECK(c.error().code == "fake_agent");
        // A peer that skips that check and just sends a proof gets auth_failed and is cut off.
        auto o = a->open();
        REQUIRE(o.ok());
        proto::Nonce n{};
        n.fill(0x11);
        n[0] = static_cast<std::uint8_t>(a->transport() == Transport::kUnix ? 1 : 2);
        json a1{{"op", "auth1"}, {"version", proto::kVersion}, {"nonce", proto::to_hex(n)}};
        REQUIRE(o->call(a1).ok());
        json a2{{"op", "auth2"}, {"proof", std::string(64, '0')}};
        auto r = o->call(a2);
        CHECK(r.error().code == "auth_failed");
        CHECK(!o->hello().ok());
    }
}

TEST_CASE("a replayed challenge is refused") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        proto::Nonce n{};
        n.fill(0x5a);
        n[0] = static_cast<std::uint8_t>(a->transport() == Transport::kUnix ? 1 : 2);
        auto first = a->open();
        REQUIRE(first.ok());
        REQUIRE(first->authenticate(Shared::get().scratch.secret, n).ok());
        CHECK(first->hello().ok());
        auto second = a->open();
        REQUIRE(second.ok());
        auto r = second->authenticate(Shared::get().scratch.secret, n);
        CHECK(r.error().code == "replayed_challenge");
    }
}

TEST_CASE("nothing without authentication") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        auto c = a->open();
        REQUIRE(c.ok());
        CHECK(c->call({{"op", "hello"}}).error().code == "not_authenticated");
        CHECK(!c->hello().ok());  // and the agent hung up
        auto p = a->open();
        REQUIRE(p.ok());
        CHECK(p->call({{"op", "put"}, {"name", "x"}, {"size", 1}}, bytes("x")).error().code ==
              "body_too_large");  // no body before authentication
        auto v = a->open();
        REQUIRE(v.ok());
        proto::Nonce n{};
        n.fill(0x77);
        CHECK(
            v->call({{"op", "auth1"}, {"version", 99}, {"nonce", proto::to_hex(n)}}).error().code ==
            "bad_version");
    }
}

TEST_CASE("connections held open without a word cannot keep the controller out") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        // More than the agent's eight sessions, none saying anything: a process in the guest
        // that connects to the agent's port and waits, as a sample can on the TCP transport.
        std::vector<Client> squatters;
        for (int i = 0; i < 12; ++i) {
            auto c = a->open();
            REQUIRE(c.ok());
            squatters.push_back(std::move(c.value()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all accepted
        // The controller gets in at once, not after the 3 s authentication deadline.
        const auto t0 = std::chrono::steady_clock::now();
        auto c = a->connect(quick());
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        REQUIRE_MESSAGE(c.ok(), c.error().text());
        CHECK(took < 2.0);
        CHECK(c->hello().ok());
        // Its session is not ended by the next connections that arrive.
        std::vector<Client> more;
        for (int i = 0; i < 10; ++i)
            if (auto m = a->open(); m.ok())
                more.push_back(std::move(m.value()));
        CHECK(c->hello().ok());
        CHECK(a->alive());
    }
}

TEST_CASE("--allow: the agent serves the controller's address and closes every other") {
    auto& shared = Shared::get();
    AgentProcess a(shared.scratch, Transport::kTcp, {"--allow", "127.0.0.2"});
    REQUIRE_MESSAGE(a.running(), a.startup_error());
    // From 127.0.0.1, the address a process inside the guest would have: closed unanswered.
    auto refused = a.connect(quick());
    CHECK_FALSE(refused.ok());
    // From 127.0.0.2: the handshake is answered.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in me{};
    me.sin_family = AF_INET;
    me.sin_addr.s_addr = htonl(0x7f000002);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(a.port());
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
    auto hello = frame(R"({"op":"auth1","version":2,"nonce":")" + std::string(64, 'a') + "\"}");
    REQUIRE(::send(fd, hello.data(), hello.size(), 0) == static_cast<ssize_t>(hello.size()));
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64];
    CHECK(::recv(fd, buf, sizeof buf, 0) > 0);
    ::close(fd);
    CHECK(a.alive());
}

TEST_CASE("oversize, truncated and malformed frames") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        // Header length over the limit, before and after authentication.
        auto pre = proto::encode_prefix(proto::kMaxHeader + 1, 0);
        CHECK(raw_exchange(*a, true, {pre.begin(), pre.end()}) == "header_too_large");
        auto pre2 = proto::encode_prefix(2000, 0);
        CHECK(raw_exchange(*a, false, {pre2.begin(), pre2.end()}) == "header_too_large");
        // Body length over the limit.
        CHECK(raw_exchange(*a, true, frame(R"({"op":"put"})", "", proto::kMaxBody + 1)) ==
              "body_too_large");
        // Bad magic, empty header.
        auto bad = frame(R"({"op":"hello"})");
        bad[1] = 'X';
        CHECK(raw_exchange(*a, true, bad) == "bad_frame");
        CHECK(raw_exchange(*a, true, frame("")) == "bad_frame");
        // Invalid JSON, not an object, too deep, no op, unknown op.
        CHECK(raw_exchange(*a, true, frame("{\"op\":")) == "bad_json");
        CHECK(raw_exchange(*a, true, frame("[\"hello\"]")) == "bad_json");
        CHECK(raw_exchange(*a, true, frame(std::string(100, '[') + std::string(100, ']'))) ==
              "bad_json");
        CHECK(raw_exchange(*a, true, frame(R"({"nop":1})")) == "bad_request");
        CHECK(raw_exchange(*a, true, frame(R"({"op":"format_c"})")) == "unknown_op");
        CHECK(raw_exchange(*a, false, frame("\xff\xfe not json")) == "bad_json");
        // Put whose size disagrees with the body, and whose hash is wrong.
        CHECK(raw_exchange(*a, true, frame(R"({"op":"put","name":"s.bin","size":9})", "abc")) ==
              "bad_request");
        CHECK(raw_exchange(*a, true,
                           frame(R"({"op":"put","name":"s.bin","size":3,"sha256":")" +
                                     std::string(64, 'a') + "\"}",
                                 "abc")) == "hash_mismatch");
        // Truncated: half a frame, then the peer goes away. The agent must shrug it off.
        {
            auto c = a->connect();
            REQUIRE(c.ok());
            auto f = frame(R"({"op":"put","name":"t.bin","size":100})", std::string(100, 'x'));
            f.resize(f.size() / 2);
            REQUIRE(c->send_raw(f).ok());
        }
        // Truncated and left open: the agent's frame deadline (2 s in the tests) ends it.
        {
            auto c = a->connect(Options{.connect_timeout = std::chrono::seconds(2),
                                        .call_timeout = std::chrono::seconds(5)});
            REQUIRE(c.ok());
            auto f = frame(R"({"op":"hello"})");
            f.resize(7);
            REQUIRE(c->send_raw(f).ok());
            auto t0 = std::chrono::steady_clock::now();
            auto r = c->read_response();
            auto took = std::chrono::steady_clock::now() - t0;
            REQUIRE(r.ok());
            CHECK(proto::get_string(r->header, "error") == "timeout");
            CHECK(took < std::chrono::seconds(4));
        }
        auto c = a->connect();
        REQUIRE(c.ok());
        CHECK(c->hello().ok());
        std::error_code ec;
        CHECK(!fs::exists(Shared::get().scratch.work / "t.bin", ec));
        CHECK(!fs::exists(Shared::get().scratch.work / "s.bin", ec));
        for (auto& e : tree_listing(Shared::get().scratch.work))
            CHECK(e.find(".bsa-tmp-") == std::string::npos);  // no temp file left behind
    }
}

TEST_CASE("after the handshake, a request without the session's MAC is refused and not acted on") {
    for (auto& a : Shared::get().agents) {
        std::string transport = name_of(a->transport());
        CAPTURE(transport);
        auto c = a->connect();
        REQUIRE(c.ok());
        // A put that would create forged.bin, with a trailer of zeros instead of the MAC.
        auto f = frame(R"({"op":"put","name":"forged.bin","size":3})", "abc");
        f.resize(f.size() + proto::kMacSize, 0);
        REQUIRE(c->send_raw(f).ok());
        auto r = c->read_response();
        REQUIRE(r.ok());
        CHECK(proto::get_string(r->header, "error") == "bad_mac");
        CHECK(!c->hello().ok());  // the agent closed the session
        // A correctly signed request replayed on a new session fails too: new nonces, new keys.
        auto d = a->connect();
        REQUIRE(d.ok());
        auto hello = frame(R"({"op":"hello"})");
        REQUIRE(d->send_raw_frame(hello).ok());
        REQUIRE(d->read_response().ok());
        auto e = a->connect();
        REQUIRE(e.ok());
        REQUIRE(e->send_raw_frame(hello).ok());  // seq 0 of e: fine
        REQUIRE(e->read_response().ok());
        std::error_code ec;
        CHECK(!fs::exists(Shared::get().scratch.work / "forged.bin", ec));
        for (auto& n : tree_listing(Shared::get().scratch.work))
            CHECK(n.find(".bsa-tmp-") == std::string::npos);
        CHECK(a->alive());
    }
}

TEST_CASE("a peer sending one byte a second runs into the agent's deadline") {
    auto& a = *Shared::get().agents.front();
    auto c = a.connect(quick());
    REQUIRE(c.ok());
    auto f = frame(R"({"op":"hello"})");
    // The whole frame takes f.size() seconds at this pace, far past the agent's frame deadline
    // (2 s in the tests): only the agent can end the loop early, by answering and closing, which
    // a later byte then finds (the first write after the close still succeeds).
    std::size_t sent = 0;
    bool cut_off = false;
    for (; sent < f.size(); ++sent) {
        if (!c->send_raw({&f[sent], 1}).ok()) {
            cut_off = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    INFO("sent " << sent << " of " << f.size() << " bytes");
    CHECK(cut_off);
    CHECK(sent < f.size());
    // Its answer may still be readable, and if so it says why.
    if (auto r = c->read_response(); r.ok())
        CHECK(proto::get_string(r->header, "error") == "timeout");
    CHECK(a.alive());
}

TEST_CASE("the client against a fake or hostile agent") {
    std::vector<std::uint8_t> secret = Shared::get().scratch.secret;
    SUBCASE("an agent without the secret is reported as fake") {
        std::vector<std::uint8_t> other(32, 1);
        FakeAgent fake(authed_then(other, [](int, proto::FrameSigner&) {}));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        CHECK(c.error().code == "fake_agent");
    }
    SUBCASE("one byte a second: the call's deadline fires") {
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner& tx) {
            auto f = sign(tx, frame(R"({"op":"hello","ok":true})"));
            for (std::size_t i = 0; i < f.size() && i < 5; ++i) {
                if (::send(fd, &f[i], 1, MSG_NOSIGNAL) != 1)
                    return;
                std::this_thread::sleep_for(std::chrono::seconds(1));
            }
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE_MESSAGE(c.ok(), c.error().text());
        auto t0 = std::chrono::steady_clock::now();
        auto h = c->hello();
        auto took = std::chrono::steady_clock::now() - t0;
        CHECK(h.error().code == "timeout");
        CHECK(took >= std::chrono::milliseconds(1900));
        // Before the fake's fifth byte: a deadline restarted by each byte would never fire,
        // and the call would end when the fake closes ("closed", not "timeout").
        CHECK(took < std::chrono::milliseconds(4500));
        CHECK(!c->connected());
    }
    SUBCASE("oversize header") {
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner&) {
            auto p = proto::encode_prefix(0x7fffffff, 0);
            send_all(fd, {p.begin(), p.end()});
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        CHECK(c->hello().error().code == "header_too_large");
    }
    SUBCASE("oversize body") {
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner&) {
            send_all(fd, frame(R"({"op":"hello","ok":true})", "", 0xffffffff));
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        CHECK(c->hello().error().code == "body_too_large");
    }
    SUBCASE("truncated frame") {
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner& tx) {
            auto f = sign(tx, frame(R"({"op":"hello","ok":true})"));
            f.resize(f.size() - 3);
            send_all(fd, f);
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        CHECK(c->hello().error().code == "closed");
    }
    SUBCASE("invalid JSON and wrong types") {
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner& tx) {
            send_all(fd, sign(tx, frame("{\"ok\":tru")));
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        CHECK(c->hello().error().code == "bad_json");
    }
    SUBCASE("fields of the wrong type are ignored, not thrown on") {
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner& tx) {
            send_all(
                fd,
                sign(tx, frame(R"({"op":"hello","ok":true,"os":7,"time_ms":"x","version":[1]})")));
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        auto h = c->hello();
        REQUIRE(h.ok());
        CHECK(h->os.empty());
        CHECK(h->time_ms == 0);
    }
    SUBCASE("lists that never end") {
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner& tx) {
            for (int i = 0; i < 5; ++i) {
                send_all(fd, sign(tx, frame(R"({"op":"sockets","ok":true,"entries":[{"port":1}],)"
                                            R"("next":0,"more":true})")));
                if (recv_frame(fd, true).is_null())
                    return;
            }
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        CHECK(c->sockets().error().code == "bad_response");
    }
    SUBCASE("a frame without the session's MAC is refused: whatever took over the stream") {
        auto& sh = Shared::get();
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner&) {
            // Right in every field, but from a peer that did not do the handshake.
            json h{{"op", "fetch"},
                   {"ok", true},
                   {"size", 4},
                   {"sha256", proto::to_hex(proto::sha256(bytes("evil")))}};
            auto f = frame(proto::dump_header(h), "evil");
            f.resize(f.size() + proto::kMacSize, 0);
            send_all(fd, f);
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        auto before = tree_listing(sh.scratch.store);
        CHECK(c->fetch(1, sh.scratch.store).error().code == "bad_mac");
        CHECK(tree_listing(sh.scratch.store) == before);
        CHECK(!c->connected());
    }
    SUBCASE("a frame signed with the wrong sequence number (a replay) is refused") {
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner& tx) {
            tx.seq = 1;
            send_all(fd, sign(tx, frame(R"({"op":"hello","ok":true})")));
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        CHECK(c->hello().error().code == "bad_mac");
    }
    SUBCASE("a fetched file whose content does not match its hash is not kept") {
        auto& sh = Shared::get();
        FakeAgent fake(authed_then(secret, [](int fd, proto::FrameSigner& tx) {
            json h{{"op", "fetch"}, {"ok", true}, {"size", 4}, {"sha256", std::string(64, 'b')}};
            send_all(fd, sign(tx, frame(proto::dump_header(h), "evil")));
        }));
        auto c = Client::connect_tcp("127.0.0.1", fake.port, secret, quick());
        REQUIRE(c.ok());
        auto before = tree_listing(sh.scratch.store);
        CHECK(c->fetch(1, sh.scratch.store).error().code == "hash_mismatch");
        CHECK(tree_listing(sh.scratch.store) == before);
    }
}

}  // namespace test_hostile
