// libFuzzer target for fakenet's IRC server with an operator playing its script, driven as the
// network side drives it: up to four client connections on one server. The input is a list of
// operations; each starts with a byte whose low two bits pick the connection and whose next
// three bits say what happens:
//   0-2  data: a length byte (255: a 2-byte big-endian length follows) and that many bytes,
//        fed to on_data from a heap buffer of exactly their size (AddressSanitizer sees
//        over-reads)
//   3    the clock moves on by the next byte in seconds, and the connection ticks
//   4    on_open            5  on_close, then the session is destroyed
//   6    the session is destroyed without on_close
//   7    the server's summary, serialised
// A connection that asks to be closed is closed and destroyed, as the network side does; the
// next operation on it opens a new one. After every call the documented bounds must hold: no
// line past 512 bytes, at most kIrcMaxQueue (plus the closing ERROR) buffered.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "fakenet/irc_server.h"
#include "fakenet/operator_script.h"
#include "unit/fakenet/memory_recorder.h"

using namespace botscope::fakenet;

namespace {

constexpr const char* kScript =
    "operator b0ss\n"
    "topic .advscan lsass_445 50 3 0 $SUBNET -s\n"
    "wait 1\n"
    "say .login bs-letmein $NICK\n"
    "expect [MAIN] 3\n"
    "msg .ddos.syn $TARGET 80 3 $GUEST\n"
    "notice .spam.start 5 $CHANNEL\n"
    "wait 2\n"
    "topic .update tftp://$SINKHOLE/bot.exe\n"
    "expect done 5\n"
    "say .0x$NICK\n";

constexpr std::size_t kConnections = 4;

void fail(const char* why) {
    std::fprintf(stderr, "fuzz_fakenet_irc: %s\n", why);
    std::abort();
}

const OperatorScript& script() {
    static const OperatorScript s = [] {
        auto r = parse_operator_script(kScript, "fuzz.txt", Sandbox{});
        if (!r)
            fail(r.error().message.c_str());
        return r.value();
    }();
    return s;
}

void check_output(const Output& out) {
    std::size_t start = 0;
    while (start < out.data.size()) {
        auto end = out.data.find("\r\n", start);
        if (end == std::string::npos)
            fail("output that does not end a line");
        if (end + 2 - start > 512)
            fail("a line longer than 512 bytes");
        start = end + 2;
    }
    if (out.data.size() > kIrcMaxQueue + 512)
        fail("more than kIrcMaxQueue queued");
}

struct Conn {
    std::unique_ptr<TcpSession> session;
    std::uint64_t id = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    testing::MemoryRecorder rec;
    IrcConfig cfg;
    cfg.script = script();
    cfg.max_clients = 3;  // the fourth connection is refused
    IrcServer server(cfg, rec);
    Conn conns[kConnections];
    std::uint64_t next_id = 1;
    Millis now = 1000;

    std::size_t pos = 0;
    while (pos < size) {
        const std::uint8_t op = data[pos++];
        Conn& c = conns[op & 3];
        const int action = (op >> 2) & 7;
        if (!c.session && action != 6 && action != 7) {
            c.id = next_id++;
            c.session = server.accept(ConnInfo{c.id, Endpoint{0x0A42000Au + (op & 3), 1024},
                                               Endpoint{0x0A420001u, 6667}});
        }
        Output out;
        switch (action) {
            case 0:
            case 1:
            case 2: {
                std::size_t len = pos < size ? data[pos++] : 0;
                if (len == 255 && size - pos >= 2) {
                    len = std::size_t{data[pos]} << 8 | data[pos + 1];
                    pos += 2;
                }
                len = std::min(len, size - pos);
                auto buf = std::make_unique<char[]>(len == 0 ? 1 : len);
                if (len > 0)
                    std::memcpy(buf.get(), data + pos, len);
                pos += len;
                c.session->on_data(std::string_view(buf.get(), len), now, out);
                break;
            }
            case 3:
                now += 1000 * static_cast<Millis>(pos < size ? data[pos++] : 1);
                c.session->on_tick(now, out);
                break;
            case 4:
                c.session->on_open(now, out);
                break;
            case 5:
                c.session->on_close(now);
                c.session.reset();
                break;
            case 6:
                c.session.reset();
                break;
            case 7:
                (void)server.summary().dump(-1, ' ', false, Json::error_handler_t::replace);
                break;
        }
        check_output(out);
        if (c.session && c.session->buffered() > kIrcMaxQueue + 512 + 512)
            fail("a session holds more than its bounds");
        if (out.close && c.session) {
            c.session->on_close(now);
            c.session.reset();
        }
    }
    for (auto& c : conns)
        if (c.session)
            c.session->on_close(now);
    for (const auto& [kind, fields] : rec.records)
        (void)fields.dump(-1, ' ', false, Json::error_handler_t::replace);
    (void)server.summary().dump(-1, ' ', false, Json::error_handler_t::replace);
    if (server.connections() != 0)
        fail("closed connections are still held");
    return 0;
}
