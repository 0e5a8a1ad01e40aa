// libFuzzer target for the guest agent protocol: the frame prefix decoder, the header parser
// and its checked accessors, the name sanitiser, and the host client reading whole responses
// (the input plays a hostile agent through a socketpair, so the client's own framing, limits,
// paging and field checks run exactly as they do against a real socket).

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "agent/agent_client.h"
#include "protocol/protocol.h"

namespace proto = botscope::agent::proto;

namespace {

std::unique_ptr<std::uint8_t[]> copy_of(const std::uint8_t* data, std::size_t size) {
    auto buf = std::make_unique<std::uint8_t[]>(size == 0 ? 1 : size);
    if (size > 0)
        std::memcpy(buf.get(), data, size);
    return buf;
}

void header_and_names(std::string_view text) {
    (void)proto::check_name(text);
    (void)proto::valid_utf8(text);
    auto h = proto::parse_header(text);
    if (!h.error.empty())
        return;
    for (const auto& [key, value] : h.json.items()) {
        (void)proto::get_string(h.json, key);
        (void)proto::get_int(h.json, key);
        (void)proto::get_bool(h.json, key);
        (void)proto::get_hex<32>(h.json, key);
        if (value.is_string())
            (void)proto::check_name(value.get_ref<const std::string&>());
    }
    (void)proto::dump_header(h.json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto buf = copy_of(data, size);
    std::string_view text(reinterpret_cast<const char*>(buf.get()), size);
    header_and_names(text);

    // Frames as the agent and the client decode them: prefix, then header.
    std::size_t pos = 0;
    while (size - pos >= proto::kPrefixSize) {
        auto pre = copy_of(data + pos, proto::kPrefixSize);
        proto::Prefix p;
        auto st = proto::decode_prefix(
            std::span<const std::uint8_t, proto::kPrefixSize>(pre.get(), proto::kPrefixSize),
            proto::kMaxHeader, proto::kMaxBody, p);
        pos += proto::kPrefixSize;
        if (st != proto::PrefixStatus::kOk || p.header_len > size - pos)
            break;
        auto hdr = copy_of(data + pos, p.header_len);
        header_and_names({reinterpret_cast<const char*>(hdr.get()), p.header_len});
        pos += p.header_len;
        pos += std::min<std::size_t>(p.body_len, size - pos);
    }

    // The client reading the input as the agent's responses.
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    std::size_t sent = 0;
    while (sent < size) {
        ssize_t n = ::send(sv[1], data + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(sv[1], SHUT_WR);
    {
        botscope::agent::Options o;
        o.call_timeout = std::chrono::milliseconds(50);
        o.max_list_bytes = 1u << 20;
        auto c = botscope::agent::Client::adopt_fd(sv[0], o);
        (void)c.hello();
        (void)c.processes();
        (void)c.dropped();
        (void)c.sockets();
        (void)c.autostart();
        (void)c.kill();
        (void)c.set_clock(1'700'000'000'000);
        (void)c.exec("x");
    }
    ::close(sv[1]);
    return 0;
}
