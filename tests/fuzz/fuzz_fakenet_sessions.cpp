// libFuzzer target for fakenet's stream services and the TFTP server, driven as the network
// side drives them. The first byte picks the service: 0 SMTP, 1 HTTP, 2 DNS over TCP, 3 the
// catch-all, 4 TFTP. The rest is a list of chunks, each a length byte (255: a 2-byte
// big-endian length follows) and that many bytes; a zero length is a pause of a second. TCP
// chunks are fed as data (each from its own heap buffer of exactly its size, so
// AddressSanitizer sees over-reads), with the clock moving on and a tick between chunks, until
// the service closes. For TFTP each chunk's first byte picks one of four client ports and the
// rest is a datagram. After every call the service's documented bound must hold; every record
// must serialise as strict JSON.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "fakenet/dns_responder.h"
#include "fakenet/http_sink.h"
#include "fakenet/raw_sink.h"
#include "fakenet/smtp_sink.h"
#include "fakenet/tftp_server.h"
#include "unit/fakenet/memory_recorder.h"

using namespace botscope::fakenet;

namespace {

void fail(const char* why) {
    std::fprintf(stderr, "fuzz_fakenet_sessions: %s\n", why);
    std::abort();
}

struct Chunk {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t size = 0;
    std::string_view text() const { return {reinterpret_cast<const char*>(bytes.get()), size}; }
    std::span<const std::uint8_t> span() const { return {bytes.get(), size}; }
};

std::vector<Chunk> chunks(const std::uint8_t* data, std::size_t size) {
    std::vector<Chunk> out;
    std::size_t pos = 0;
    while (pos < size) {
        std::size_t len = data[pos++];
        if (len == 255 && size - pos >= 2) {
            len = std::size_t{data[pos]} << 8 | data[pos + 1];
            pos += 2;
        }
        len = std::min(len, size - pos);
        Chunk c;
        c.bytes = std::make_unique<std::uint8_t[]>(len == 0 ? 1 : len);
        if (len > 0)
            std::memcpy(c.bytes.get(), data + pos, len);
        c.size = len;
        pos += len;
        out.push_back(std::move(c));
    }
    return out;
}

void check_records(const testing::MemoryRecorder& rec) {
    for (const auto& [kind, fields] : rec.records) {
        try {
            (void)fields.dump();
        } catch (const std::exception&) {
            fail("a record is not valid JSON text");
        }
    }
}

void run_tcp(TcpSession& s, std::size_t bound, const std::vector<Chunk>& input) {
    Millis now = 1000;
    Output out;
    s.on_open(now, out);
    for (const auto& c : input) {
        if (out.close)
            break;
        if (c.size == 0) {
            now += 1000;
        } else {
            s.on_data(c.text(), now, out);
            now += 37;
        }
        if (s.buffered() > bound)
            fail("buffered() past the service's bound");
        s.on_tick(now, out);
    }
    s.on_close(now);
}

void run_tftp(testing::MemoryRecorder& rec, const std::vector<Chunk>& input) {
    TftpServer server(rec);
    const Endpoint original{0x0A420001u, 69};
    Millis now = 1000;
    std::vector<TftpSend> out;
    for (const auto& c : input) {
        if (c.size == 0) {
            now += 1000;
        } else {
            const Endpoint client{0x0A42000Au, static_cast<std::uint16_t>(2000 + c.bytes[0] % 4)};
            // The datagram in its own buffer of exactly its size.
            auto dgram = std::make_unique<std::uint8_t[]>(c.size);
            std::memcpy(dgram.get(), c.bytes.get() + 1, c.size - 1);
            server.on_datagram(client, original, {dgram.get(), c.size - 1}, now, out);
            now += 37;
        }
        server.on_tick(now, out);
        if (server.transfers() > kTftpMaxTransfers)
            fail("more transfers than kTftpMaxTransfers");
        for (const auto& s : out)
            if (s.payload.size() > 4 + kTftpMaxBlockSize)
                fail("a datagram larger than a block");
        out.clear();
    }
    server.on_tick(now + 1'000'000'000, out);
    if (server.transfers() != 0)
        fail("a transfer outlived the idle limit");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::uint8_t kind = data[0] % 5;
    const std::vector<Chunk> input = chunks(data + 1, size - 1);
    testing::MemoryRecorder rec;
    const ConnInfo conn{5, {0x0A42000Au, 1234}, {0x0A4200C8u, 80}};
    switch (kind) {
        case 0: {
            SmtpConfig cfg;
            cfg.max_message_bytes = 4096;  // small, so the fuzzer reaches the cap
            cfg.max_messages = 4;
            cfg.max_recipients = 4;
            auto s = make_smtp_session(conn, cfg, rec);
            run_tcp(*s, smtp_buffer_bound(cfg), input);
            break;
        }
        case 1: {
            HttpConfig cfg;
            cfg.max_requests = 8;
            auto s = make_http_session(conn, cfg, rec);
            run_tcp(*s, kHttpMaxHead, input);
            break;
        }
        case 2: {
            DnsPolicy policy;
            policy.nxdomain.insert("dead.test");
            auto s = make_dns_tcp_session(conn, policy, rec);
            run_tcp(*s, kMaxDnsTcpBuffered, input);
            break;
        }
        case 3: {
            auto s = make_raw_session(conn, Protocol::kRaw, rec);
            run_tcp(*s, kKeepBytes, input);
            if (rec.records.size() != 1)
                fail("the catch-all must record each connection once");
            break;
        }
        default:
            run_tftp(rec, input);
            break;
    }
    check_records(rec);
    return 0;
}
