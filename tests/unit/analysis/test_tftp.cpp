// TFTP parser and analyzer, fed datagrams built byte by byte.

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/proto/tftp/tftp_analyzer.h"
#include "analysis/proto/tftp/tftp_parser.h"
#include "util/hash.h"

namespace test_tftp {

namespace {

using namespace botscope::analysis;
using namespace botscope::analysis::tftp;
using Bytes = std::vector<std::uint8_t>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

constexpr Timestamp kSec = 1'000'000'000;
constexpr Timestamp kMs = 1'000'000;

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put_cstr(Bytes& b, std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
    b.push_back(0);
}

Bytes request(std::uint16_t opcode, std::string_view file, std::string_view mode,
              const Pairs& options = {}) {
    Bytes b;
    put16(b, opcode);
    put_cstr(b, file);
    put_cstr(b, mode);
    for (const auto& [name, value] : options) {
        put_cstr(b, name);
        put_cstr(b, value);
    }
    return b;
}
Bytes rrq(std::string_view file, std::string_view mode = "octet", const Pairs& options = {}) {
    return request(1, file, mode, options);
}
Bytes wrq(std::string_view file, std::string_view mode = "octet", const Pairs& options = {}) {
    return request(2, file, mode, options);
}
Bytes data(std::uint16_t block, std::span<const std::uint8_t> payload) {
    Bytes b;
    put16(b, 3);
    put16(b, block);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}
Bytes ack(std::uint16_t block) {
    Bytes b;
    put16(b, 4);
    put16(b, block);
    return b;
}
Bytes error_packet(std::uint16_t code, std::string_view message) {
    Bytes b;
    put16(b, 5);
    put16(b, code);
    put_cstr(b, message);
    return b;
}
Bytes oack(const Pairs& options) {
    Bytes b;
    put16(b, 6);
    for (const auto& [name, value] : options) {
        put_cstr(b, name);
        put_cstr(b, value);
    }
    return b;
}

// A file of `size` bytes whose content depends on the position, so a block hashed twice or
// out of place changes the digest.
Bytes make_file(std::size_t size, std::uint8_t seed = 7) {
    Bytes f(size);
    for (std::size_t i = 0; i < size; ++i)
        f[i] = static_cast<std::uint8_t>((i * 31 + seed + (i >> 9)) & 0xff);
    return f;
}

// A minimal PE: MZ, e_lfanew = 0x80, "PE\0\0" there.
Bytes make_pe(std::size_t size) {
    Bytes f = make_file(size);
    f[0] = 'M';
    f[1] = 'Z';
    f[0x3c] = 0x80;
    f[0x3d] = f[0x3e] = f[0x3f] = 0;
    f[0x80] = 'P';
    f[0x81] = 'E';
    f[0x82] = f[0x83] = 0;
    return f;
}

std::span<const std::uint8_t> block_of(const Bytes& file, std::size_t index, std::size_t bs) {
    std::size_t off = index * bs;
    if (off >= file.size())
        return {};
    return std::span<const std::uint8_t>(file).subspan(off, std::min(bs, file.size() - off));
}

Endpoint ep(std::uint8_t last, std::uint16_t port) {
    return Endpoint{IpAddress::v4(192, 168, 0, last), port};
}

// Plays the engine: one flow per endpoint pair, probes on the first datagrams until one is
// claimed, every datagram of a claimed flow to on_datagram. Each payload is copied to its own
// heap buffer so AddressSanitizer catches reads past its end.
class Harness {
public:
    TftpResult result;
    TftpAnalyzer analyzer{result};
    Weirds weirds;

    struct Flow {
        FlowInfo info;
        bool claimed = false;
    };

    /// Returns whether the datagram's flow is claimed (after this datagram).
    bool send(Endpoint src, Endpoint dst, const Bytes& payload, Timestamp ts) {
        Flow& f = flow(src, dst, ts);
        auto buf = std::make_unique<std::uint8_t[]>(payload.size() + 1);
        std::copy(payload.begin(), payload.end(), buf.get());
        Datagram d;
        d.flow = f.info;
        d.dir = src == f.info.orig ? Direction::kOrig : Direction::kResp;
        d.src = src;
        d.dst = dst;
        d.payload = std::span<const std::uint8_t>(buf.get(), payload.size());
        d.ts = ts;
        if (!f.claimed) {
            std::size_t live_before = analyzer.live_transfers();
            f.claimed = analyzer.probe(d);
            CHECK(analyzer.live_transfers() == live_before);  // probe keeps no state
        }
        if (f.claimed)
            analyzer.on_datagram(d, weirds);
        return f.claimed;
    }

    FlowId flow_id(Endpoint a, Endpoint b) {
        auto it = flows_.find(key(a, b));
        return it == flows_.end() ? 0 : it->second.info.id;
    }

    void end_flow(Endpoint a, Endpoint b, Timestamp ts) {
        auto it = flows_.find(key(a, b));
        REQUIRE(it != flows_.end());
        if (it->second.claimed)
            analyzer.on_flow_end(it->second.info.id, ts);
        flows_.erase(it);
    }

    void finish(Timestamp ts) {
        for (auto& [k, f] : flows_)
            if (f.claimed)
                analyzer.on_flow_end(f.info.id, ts);
        flows_.clear();
        analyzer.finish(ts);
    }

    const TftpTransfer& only() {
        REQUIRE(result.transfers.size() == 1);
        return result.transfers.front();
    }

private:
    static std::pair<Endpoint, Endpoint> key(Endpoint a, Endpoint b) {
        return a < b ? std::pair{a, b} : std::pair{b, a};
    }
    Flow& flow(Endpoint src, Endpoint dst, Timestamp ts) {
        auto [it, fresh] = flows_.try_emplace(key(src, dst));
        if (fresh) {
            it->second.info.id = next_id_++;
            it->second.info.transport = Transport::kUdp;
            it->second.info.orig = src;
            it->second.info.resp = dst;
            it->second.info.start = ts;
        }
        return it->second;
    }

    std::map<std::pair<Endpoint, Endpoint>, Flow> flows_;
    FlowId next_id_ = 1;
};

// Serves `file` for an RRQ already sent: DATA from the server's new port, ACK from the client.
Timestamp serve_read(Harness& h, Endpoint client, Endpoint server_tid, const Bytes& file,
                     std::size_t bs, Timestamp ts) {
    std::size_t blocks = file.size() / bs + 1;
    for (std::size_t i = 0; i < blocks; ++i) {
        auto block = static_cast<std::uint16_t>((i + 1) & 0xffff);
        h.send(server_tid, client, data(block, block_of(file, i, bs)), ts += kMs);
        h.send(client, server_tid, ack(block), ts += kMs);
    }
    return ts;
}

void check_weirds_known(const Weirds& w) {
    for (const auto& kv : w.entries()) {
        INFO(kv.first);
        CHECK(is_known_weird(kv.first));
        CHECK(kv.second.analyzer == "tftp");
    }
}

}  // namespace

// ---------------------------------------------------------------------------------- parser

TEST_CASE("tftp parser: RRQ with file name, mode and options") {
    Bytes b = rrq("rfc1350.txt", "octet", {{"BLKSIZE", "1468"}, {"tsize", "0"}});
    Packet p = parse_packet(b);
    REQUIRE(p.ok());
    CHECK(p.opcode == 1);
    CHECK(p.is_request());
    CHECK(p.filename == "rfc1350.txt");
    CHECK(p.mode == "octet");
    REQUIRE(p.options.items.size() == 2);
    CHECK_FALSE(p.options.malformed);
    const Option* bs = find_option(p.options.items, "blksize");
    REQUIRE(bs != nullptr);
    CHECK(bs->value == "1468");
    CHECK(find_option(p.options.items, "windowsize") == nullptr);
}

TEST_CASE("tftp parser: modes are matched case-insensitively; others are errors") {
    CHECK(parse_packet(wrq("a", "NetAscii")).ok());
    CHECK(parse_packet(wrq("a", "MAIL")).ok());
    Packet bad = parse_packet(rrq("boot.bin", "binary"));
    CHECK(bad.error == PacketError::kBadMode);
    CHECK(bad.filename == "boot.bin");  // kept so the malformed request can be reported
    CHECK(bad.mode == "binary");
}

TEST_CASE("tftp parser: empty file name parses; structural errors do not") {
    Packet empty = parse_packet(rrq("", "octet"));
    CHECK(empty.ok());
    CHECK(empty.filename.empty());

    Bytes unterminated_name{0, 1, 'a', 'b'};
    CHECK(parse_packet(unterminated_name).error == PacketError::kUnterminatedFilename);
    Bytes unterminated_mode{0, 2, 'a', 0, 'o', 'c', 't'};
    Packet um = parse_packet(unterminated_mode);
    CHECK(um.error == PacketError::kUnterminatedMode);
    CHECK(um.filename == "a");

    CHECK(parse_packet(Bytes{}).error == PacketError::kTooShort);
    CHECK(parse_packet(Bytes{0}).error == PacketError::kTooShort);
    CHECK(parse_packet(Bytes{0, 7, 0, 0}).error == PacketError::kUnknownOpcode);
    CHECK(parse_packet(Bytes{0, 0}).error == PacketError::kUnknownOpcode);
    CHECK(parse_packet(Bytes{0, 3, 0}).error == PacketError::kTooShort);
    CHECK(parse_packet(Bytes{0, 4}).error == PacketError::kTooShort);
    CHECK(parse_packet(Bytes{0, 5, 0}).error == PacketError::kTooShort);
}

TEST_CASE("tftp parser: the nDPI request of NULs then 'octet' has an empty name and mode") {
    // 00 01, eleven NULs, "octet\0": as captured in nDPI's tftp.pcap.
    Bytes b{0, 1};
    b.insert(b.end(), 11, 0);
    put_cstr(b, "octet");
    Packet p = parse_packet(b);
    CHECK(p.error == PacketError::kBadMode);
    CHECK(p.filename.empty());
    CHECK(p.mode.empty());
}

TEST_CASE("tftp parser: option lists") {
    SUBCASE("name without value is malformed") {
        Bytes b = rrq("f", "octet");
        put_cstr(b, "blksize");
        Packet p = parse_packet(b);
        CHECK(p.ok());
        CHECK(p.options.malformed);
        CHECK(p.options.items.empty());
    }
    SUBCASE("unterminated value is malformed, earlier pairs kept") {
        Bytes b = rrq("f", "octet", {{"tsize", "0"}});
        put_cstr(b, "blksize");
        b.push_back('5');
        Packet p = parse_packet(b);
        CHECK(p.options.malformed);
        REQUIRE(p.options.items.size() == 1);
        CHECK(p.options.items[0].name == "tsize");
    }
    SUBCASE("NUL padding after the mode is accepted") {
        Bytes b = rrq("f", "octet");
        b.insert(b.end(), 5, 0);
        Packet p = parse_packet(b);
        CHECK_FALSE(p.options.malformed);
        CHECK(p.options.items.empty());
    }
    SUBCASE("junk after an empty option name is malformed") {
        Bytes b = rrq("f", "octet");
        b.push_back(0);
        b.push_back('x');
        CHECK(parse_packet(b).options.malformed);
    }
    SUBCASE("more than kMaxOptions pairs are cut and flagged") {
        Pairs many;
        for (std::size_t i = 0; i < kMaxOptions + 3; ++i)
            many.emplace_back("opt" + std::to_string(i), "v");
        Packet p = parse_packet(rrq("f", "octet", many));
        CHECK(p.options.items.size() == kMaxOptions);
        CHECK(p.options.truncated);
        CHECK_FALSE(p.options.malformed);
    }
    SUBCASE("long values are cut and flagged") {
        Packet p = parse_packet(rrq("f", "octet", {{"x", std::string(500, 'v')}}));
        REQUIRE(p.options.items.size() == 1);
        CHECK(p.options.items[0].value.size() == kMaxOptionValueLength);
        CHECK(p.options.truncated);
    }
}

TEST_CASE("tftp parser: file names are bounded and kept raw") {
    std::string name(2000, 'A');
    name[0] = '\xff';  // not UTF-8: stored as sent
    Packet p = parse_packet(rrq(name, "octet"));
    CHECK(p.ok());
    CHECK(p.filename.size() == kMaxFilenameLength);
    CHECK(p.filename_truncated);
    CHECK(p.filename[0] == '\xff');
}

TEST_CASE("tftp parser: DATA, ACK, ERROR, OACK") {
    Bytes payload{'M', 'Z', 0x90, 0};
    Bytes wire = data(65535, payload);
    Packet d = parse_packet(wire);  // d.data views `wire`
    REQUIRE(d.ok());
    CHECK(d.block == 65535);
    CHECK(Bytes(d.data.begin(), d.data.end()) == payload);
    CHECK(parse_packet(data(1, {})).data.empty());

    Packet a = parse_packet(ack(49));
    CHECK(a.opcode == 4);
    CHECK(a.block == 49);

    Packet e = parse_packet(error_packet(1, "File not found"));
    CHECK(e.error_code == 1);
    CHECK(e.error_message == "File not found");
    CHECK_FALSE(e.error_message_unterminated);
    Bytes no_nul{0, 5, 0, 2, 'd', 'e', 'n', 'y'};
    Packet e2 = parse_packet(no_nul);
    CHECK(e2.ok());
    CHECK(e2.error_message == "deny");
    CHECK(e2.error_message_unterminated);
    Packet e3 = parse_packet(error_packet(0, std::string(1000, 'x')));
    CHECK(e3.error_message.size() == kMaxErrorMessageLength);
    CHECK(e3.error_message_truncated);

    Packet o = parse_packet(oack({{"blksize", "256"}}));
    REQUIRE(o.ok());
    CHECK(o.opcode == 6);
    REQUIRE(o.options.items.size() == 1);
    CHECK(o.options.items[0].value == "256");
}

TEST_CASE("tftp parser: every truncation of every packet kind stays in bounds") {
    std::vector<Bytes> packets = {
        rrq("a/b/c.exe", "netascii", {{"blksize", "1428"}, {"tsize", "0"}}),
        data(3, make_file(40)),
        ack(9),
        error_packet(2, "Access violation"),
        oack({{"blksize", "1428"}, {"timeout", "5"}}),
    };
    for (const auto& full : packets) {
        for (std::size_t n = 0; n <= full.size(); ++n) {
            // Own heap buffer of exactly n bytes: an over-read is an ASan report.
            auto buf = std::make_unique<std::uint8_t[]>(n == 0 ? 1 : n);
            std::copy(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n), buf.get());
            Packet p = parse_packet(std::span<const std::uint8_t>(buf.get(), n));
            if (n < 2)
                CHECK(p.error == PacketError::kTooShort);
            if (n == full.size())
                CHECK(p.ok());
        }
    }
}

TEST_CASE("tftp parser: file kinds from the first bytes") {
    CHECK(sniff_file_kind(make_pe(600), false) == "pe");
    Bytes dos = make_pe(600);
    dos[0x80] = 'N';  // NE, not PE
    CHECK(sniff_file_kind(dos, false) == "mz");
    Bytes far = make_pe(600);
    far[0x3d] = 0x10;  // e_lfanew 0x1080, beyond the head we kept
    CHECK(sniff_file_kind(std::span<const std::uint8_t>(far).first(512), false) == "pe");
    CHECK(sniff_file_kind(std::span<const std::uint8_t>(far).first(512), true) == "mz");
    CHECK(sniff_file_kind(Bytes{'M', 'Z'}, true) == "mz");
    CHECK(sniff_file_kind(Bytes{0x7f, 'E', 'L', 'F', 1, 1}, false) == "elf");
    CHECK(sniff_file_kind(Bytes{0x1f, 0x8b, 8, 0}, false) == "gzip");
    CHECK(sniff_file_kind(Bytes{'P', 'K', 3, 4}, false) == "zip");
    CHECK(sniff_file_kind(Bytes{'h', 'e', 'l', 'l', 'o'}, false).empty());
    CHECK(sniff_file_kind(Bytes{}, true).empty());
}

// -------------------------------------------------------------------------------- analyzer

TEST_CASE("tftp analyzer: RRQ download over a new server port, hashed in block order") {
    Harness h;
    Endpoint client = ep(253, 50618), server = ep(10, 69), tid = ep(10, 3445);
    Bytes file = make_pe(512 * 3 + 100);
    Timestamp t0 = 1'100'000'000 * kSec;
    CHECK(h.send(client, server, rrq("bot.exe"), t0));
    Timestamp end = serve_read(h, client, tid, file, 512, t0);
    FlowId request_flow = h.flow_id(client, server);
    FlowId data_flow = h.flow_id(tid, client);
    h.finish(end);

    const auto& t = h.only();
    CHECK(t.operation == Operation::kRead);
    CHECK(t.filename == "bot.exe");
    CHECK(t.mode == "octet");
    CHECK_FALSE(t.malformed_request);
    CHECK(t.client == client);
    CHECK(t.server == server);
    CHECK(t.server_data_port == std::optional<std::uint16_t>(3445));
    CHECK(t.request_flow == request_flow);
    CHECK(t.data_flow == std::optional<FlowId>(data_flow));
    CHECK(data_flow != request_flow);
    CHECK(t.ts == t0);
    CHECK(t.last_ts == end);
    CHECK(t.block_size == 512);
    CHECK(t.data_blocks == 4);
    CHECK(t.bytes == file.size());
    CHECK(t.blocks_acked == 4);
    CHECK(t.completed);
    CHECK(t.final_acked);
    CHECK_FALSE(t.error.has_value());
    CHECK(t.hash_complete);
    CHECK(t.md5 == botscope::util::md5_hex(file));
    CHECK(t.sha256 == botscope::util::sha256_hex(file));
    CHECK(t.file_kind == "pe");
    CHECK(h.weirds.entries().empty());
}

TEST_CASE("tftp analyzer: WRQ upload, server ACK 0 first, client sends DATA") {
    Harness h;
    Endpoint client = ep(1, 57509), server = ep(13, 69), tid = ep(13, 2087);
    Bytes file = make_file(24599);
    Timestamp ts = 1000 * kSec;
    CHECK(h.send(client, server, wrq("rfc1350.txt"), ts));
    CHECK(h.send(tid, client, ack(0), ts += kMs));
    for (std::size_t i = 0; i * 512 <= file.size(); ++i) {
        auto block = static_cast<std::uint16_t>(i + 1);
        h.send(client, tid, data(block, block_of(file, i, 512)), ts += kMs);
        h.send(tid, client, ack(block), ts += kMs);
    }
    h.finish(ts);
    const auto& t = h.only();
    CHECK(t.operation == Operation::kWrite);
    CHECK(t.data_blocks == 49);
    CHECK(t.blocks_acked == 49);
    CHECK(t.bytes == 24599);
    CHECK(t.completed);
    CHECK(t.final_acked);
    CHECK(t.sha256 == botscope::util::sha256_hex(file));
    CHECK(h.weirds.entries().empty());
}

TEST_CASE("tftp analyzer: OACK sets the block size; ACK 0 of the OACK is not a block") {
    Harness h;
    Endpoint client = ep(1, 60027), server = ep(1, 69), tid = ep(1, 50012);
    Bytes file = make_file(446);
    Timestamp ts = 5 * kSec;
    h.send(client, server, rrq("hello.txt", "octet", {{"blksize", "256"}}), ts);
    CHECK(h.send(tid, client, oack({{"blksize", "256"}}), ts += kMs));
    h.send(client, tid, ack(0), ts += kMs);
    serve_read(h, client, tid, file, 256, ts);
    h.finish(ts + kSec);
    const auto& t = h.only();
    CHECK(t.oack_seen);
    REQUIRE(t.options_requested.size() == 1);
    REQUIRE(t.options_acked.size() == 1);
    CHECK(t.options_acked[0].name == "blksize");
    CHECK(t.block_size == 256);
    CHECK(t.data_blocks == 2);
    CHECK(t.blocks_acked == 2);
    CHECK(t.bytes == 446);
    CHECK(t.completed);
    CHECK(t.md5 == botscope::util::md5_hex(file));
    CHECK(h.weirds.entries().empty());
}

TEST_CASE("tftp analyzer: retransmitted blocks are counted and hashed once") {
    Harness h;
    Endpoint client = ep(5, 1025), server = ep(9, 69), tid = ep(9, 40000);
    Bytes file = make_file(1300);
    Timestamp ts = kSec;
    h.send(client, server, rrq("x.bin"), ts);
    h.send(tid, client, data(1, block_of(file, 0, 512)), ts += kMs);
    h.send(tid, client, data(1, block_of(file, 0, 512)), ts += kMs);  // ACK lost: resent
    h.send(client, tid, ack(1), ts += kMs);
    h.send(tid, client, data(2, block_of(file, 1, 512)), ts += kMs);
    h.send(client, tid, ack(2), ts += kMs);
    h.send(client, tid, ack(2), ts += kMs);  // duplicate ACK
    h.send(tid, client, data(3, block_of(file, 2, 512)), ts += kMs);
    h.send(tid, client, data(3, block_of(file, 2, 512)), ts += kMs);  // final resent
    h.send(client, tid, ack(3), ts += kMs);
    h.finish(ts);
    const auto& t = h.only();
    CHECK(t.data_blocks == 3);
    CHECK(t.duplicate_blocks == 2);
    CHECK(t.blocks_acked == 3);
    CHECK(t.bytes == 1300);
    CHECK(t.hash_complete);
    CHECK(t.md5 == botscope::util::md5_hex(file));
    CHECK(h.weirds.count("tftp_duplicate_block") == 2);
}

TEST_CASE("tftp analyzer: a missing block leaves the hash incomplete") {
    Harness h;
    Endpoint client = ep(5, 1026), server = ep(9, 69), tid = ep(9, 40001);
    Bytes file = make_file(512 * 3 + 10);
    Timestamp ts = kSec;
    h.send(client, server, rrq("y.bin"), ts);
    h.send(tid, client, data(1, block_of(file, 0, 512)), ts += kMs);
    h.send(tid, client, data(3, block_of(file, 2, 512)), ts += kMs);  // block 2 not captured
    h.send(tid, client, data(4, block_of(file, 3, 512)), ts += kMs);
    h.send(client, tid, ack(4), ts += kMs);
    h.finish(ts);
    const auto& t = h.only();
    CHECK(t.data_blocks == 3);
    CHECK(t.missing_blocks == 1);
    CHECK(t.bytes == file.size() - 512);
    CHECK(t.completed);
    CHECK_FALSE(t.hash_complete);
    CHECK(t.md5.empty());
    CHECK(t.sha256.empty());
    CHECK(t.file_kind.empty());
    CHECK(h.weirds.count("tftp_block_out_of_order") == 1);
    CHECK(h.weirds.entries().at("tftp_block_out_of_order").first_detail == "expected 2 got 3");
}

TEST_CASE("tftp analyzer: block numbers wrap after 65535") {
    // blksize 8 makes a file of more than 65535 blocks small enough for a unit test.
    for (std::uint16_t after_wrap : {std::uint16_t{0}, std::uint16_t{1}}) {
        CAPTURE(after_wrap);
        Harness h;
        Endpoint client = ep(5, 2000), server = ep(9, 69), tid = ep(9, 2001);
        constexpr std::size_t kBlocks = 65536 + 20;
        Bytes file = make_file(kBlocks * 8 + 3);
        Timestamp ts = kSec;
        h.send(client, server, rrq("big.bin", "octet", {{"blksize", "8"}}), ts);
        h.send(tid, client, oack({{"blksize", "8"}}), ts += kMs);
        h.send(client, tid, ack(0), ts += kMs);
        std::uint16_t wire = 0;
        for (std::size_t i = 0; i <= kBlocks; ++i) {
            wire = static_cast<std::uint16_t>(wire + 1);
            if (wire == 0 && after_wrap == 1)
                wire = 1;
            h.send(tid, client, data(wire, block_of(file, i, 8)), ts += 1000);
            if (i % 1000 == 0 || i == kBlocks)
                h.send(client, tid, ack(wire), ts += 1000);
        }
        h.finish(ts);
        const auto& t = h.only();
        CHECK(t.data_blocks == kBlocks + 1);
        CHECK(t.bytes == file.size());
        CHECK(t.missing_blocks == 0);
        CHECK(t.duplicate_blocks == 0);
        CHECK(t.completed);
        CHECK(t.final_acked);
        CHECK(t.hash_complete);
        CHECK(t.sha256 == botscope::util::sha256_hex(file));
        CHECK(h.weirds.entries().empty());
    }
}

TEST_CASE("tftp analyzer: a file that fills its last block ends with an empty block") {
    Harness h;
    Endpoint client = ep(5, 3000), server = ep(9, 69), tid = ep(9, 3001);
    Bytes file = make_file(1024);
    Timestamp ts = kSec;
    h.send(client, server, rrq("even.bin"), ts);
    serve_read(h, client, tid, file, 512, ts);
    h.finish(ts + kSec);
    const auto& t = h.only();
    CHECK(t.data_blocks == 3);
    CHECK(t.bytes == 1024);
    CHECK(t.completed);
    CHECK(t.md5 == botscope::util::md5_hex(file));
}

TEST_CASE("tftp analyzer: an empty file") {
    Harness h;
    Endpoint client = ep(5, 3002), server = ep(9, 69), tid = ep(9, 3003);
    h.send(client, server, rrq("empty"), kSec);
    h.send(tid, client, data(1, {}), kSec + kMs);
    h.send(client, tid, ack(1), kSec + 2 * kMs);
    h.finish(2 * kSec);
    const auto& t = h.only();
    CHECK(t.completed);
    CHECK(t.bytes == 0);
    CHECK(t.hash_complete);
    CHECK(t.md5 == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(t.file_kind.empty());
}

TEST_CASE("tftp analyzer: ERROR answer from the server's new port") {
    Harness h;
    Endpoint client = ep(5, 3004), server = ep(9, 69), tid = ep(9, 3005);
    h.send(client, server, rrq("msblast.exe"), kSec);
    CHECK(h.send(tid, client, error_packet(1, "File not found"), kSec + kMs));
    h.finish(2 * kSec);
    const auto& t = h.only();
    REQUIRE(t.error.has_value());
    CHECK(t.error->code == 1);
    CHECK(t.error->message == "File not found");
    CHECK_FALSE(t.error->from_client);
    CHECK_FALSE(t.completed);
    CHECK(t.data_blocks == 0);
    CHECK(t.md5.empty());
    CHECK(t.server_data_port == std::optional<std::uint16_t>(3005));
}

TEST_CASE("tftp analyzer: a second server port is another transfer id and is ignored") {
    Harness h;
    Endpoint client = ep(5, 3006), server = ep(9, 69), tid = ep(9, 3007), tid2 = ep(9, 3008);
    Bytes file = make_file(700);
    Timestamp ts = kSec;
    h.send(client, server, rrq("a.exe"), ts);
    h.send(client, server, rrq("a.exe"), ts += 100 * kMs);  // retransmitted request
    h.send(tid, client, data(1, block_of(file, 0, 512)), ts += kMs);
    // The server answered the retransmission too, from another port.
    CHECK(h.send(tid2, client, data(1, block_of(file, 0, 512)), ts += kMs));
    h.send(client, tid2, error_packet(5, "Unknown transfer ID"), ts += kMs);
    h.send(client, tid, ack(1), ts += kMs);
    h.send(tid, client, data(2, block_of(file, 1, 512)), ts += kMs);
    h.send(client, tid, ack(2), ts += kMs);
    h.finish(ts);
    const auto& t = h.only();
    CHECK(t.request_retransmits == 1);
    CHECK(t.server_data_port == std::optional<std::uint16_t>(3007));
    CHECK(t.data_blocks == 2);
    CHECK(t.duplicate_blocks == 0);
    CHECK_FALSE(t.error.has_value());
    CHECK(t.md5 == botscope::util::md5_hex(file));
    CHECK(h.weirds.count("tftp_unexpected_tid") == 2);
}

TEST_CASE("tftp analyzer: a server answering from port 69 keeps the transfer on one flow") {
    Harness h;
    Endpoint client = ep(5, 3010), server = ep(9, 69);
    Bytes file = make_file(100);
    h.send(client, server, rrq("f"), kSec);
    h.send(server, client, data(1, file), kSec + kMs);
    h.send(client, server, ack(1), kSec + 2 * kMs);
    h.finish(2 * kSec);
    const auto& t = h.only();
    CHECK(t.data_flow == std::optional<FlowId>(t.request_flow));
    CHECK(t.server_data_port == std::optional<std::uint16_t>(69));
    CHECK(t.completed);
    CHECK(t.final_acked);
}

TEST_CASE("tftp analyzer: probe rules") {
    Harness h;
    Endpoint client = ep(5, 4000), tid = ep(9, 4001);
    SUBCASE("a well-formed request on any port") {
        CHECK(h.send(client, ep(9, 6969), rrq("x", "octet"), kSec));
        CHECK(h.analyzer.live_transfers() == 1);
    }
    SUBCASE("a malformed request only on port 69") {
        CHECK_FALSE(h.send(client, ep(9, 6969), rrq("x", "binary"), kSec));
        CHECK(h.send(client, ep(9, 69), rrq("x", "binary"), kSec));
    }
    SUBCASE("other payloads are not TFTP") {
        CHECK_FALSE(h.send(client, ep(9, 53), Bytes{0x12, 0x34, 1, 0, 0, 1, 0, 0}, kSec));
        CHECK_FALSE(h.send(client, ep(9, 69), Bytes{0}, kSec));
        CHECK_FALSE(h.send(client, ep(9, 7000), Bytes{0, 9, 'x', 0}, kSec));
    }
    SUBCASE("DATA claims a flow only for a known client and server address") {
        Bytes block = data(1, make_file(10));
        CHECK_FALSE(h.send(tid, client, block, kSec));
        h.send(ep(5, 4002), ep(9, 69), rrq("x"), kSec);
        CHECK_FALSE(h.send(ep(9, 4003), ep(5, 4999), block, kSec));  // other client port
        CHECK_FALSE(h.send(ep(8, 4003), ep(5, 4002), block, kSec));  // other server address
        CHECK(h.send(ep(9, 4003), ep(5, 4002), block, kSec));
        CHECK_FALSE(h.send(ep(9, 4004), ep(5, 4002), Bytes{0, 3, 0}, kSec));  // too short
    }
}

TEST_CASE("tftp analyzer: the malformed requests of nDPI's capture are recorded") {
    Harness h;
    Endpoint server = ep(170, 69);
    Bytes nuls{0, 1};
    nuls.insert(nuls.end(), 11, 0);
    put_cstr(nuls, "octet");
    CHECK(h.send(ep(53, 54626), server, nuls, kSec));
    CHECK(h.send(ep(53, 54632), server, rrq("", "octet"), kSec));
    CHECK(h.send(ep(53, 54627), server, rrq("sysman.lis", "octet"), kSec));
    h.finish(2 * kSec);
    REQUIRE(h.result.transfers.size() == 3);
    const auto& a = h.result.transfers[0];
    const auto& b = h.result.transfers[1];
    const auto& c = h.result.transfers[2];
    CHECK(a.client.port == 54626);
    CHECK(a.malformed_request);
    CHECK(a.filename.empty());
    CHECK(b.malformed_request);
    CHECK(b.mode == "octet");
    CHECK_FALSE(c.malformed_request);
    CHECK(c.filename == "sysman.lis");
    CHECK_FALSE(c.data_flow.has_value());
    CHECK(h.weirds.count("tftp_empty_filename") == 2);
    CHECK(h.weirds.count("tftp_malformed_request") == 1);
}

TEST_CASE("tftp analyzer: nDPI's zz.bin upload: a resent first block, no final block") {
    Harness h;
    Endpoint client = ep(91, 44618), server = ep(170, 69), tid = ep(170, 62058);
    Bytes block = make_file(512);
    block[0] = 0x1f;
    block[1] = 0x8b;
    Timestamp ts = kSec;
    h.send(client, server, wrq("zz.bin", "netascii"), ts);
    h.send(tid, client, ack(0), ts += kMs);
    h.send(client, tid, data(1, block), ts += kMs);
    h.send(client, tid, data(1, block), ts += kMs);
    h.send(tid, client, ack(1), ts += kMs);
    h.finish(ts);
    const auto& t = h.only();
    CHECK(t.operation == Operation::kWrite);
    CHECK(t.mode == "netascii");
    CHECK(t.data_blocks == 1);
    CHECK(t.duplicate_blocks == 1);
    CHECK(t.bytes == 512);
    CHECK_FALSE(t.completed);
    CHECK_FALSE(t.hash_complete);
    CHECK(t.md5 == botscope::util::md5_hex(block));  // the prefix received, flagged partial
    CHECK(t.file_kind == "gzip");
}

TEST_CASE("tftp analyzer: options the RFCs bound, and an OACK nobody asked for") {
    Harness h;
    Endpoint client = ep(45, 35840), server = ep(200, 69), tid = ep(200, 47649);
    Timestamp ts = kSec;
    h.send(client, server, wrq("empty100KB", "octet", {{"blksize", "70000"}, {"tsize", "x"}}), ts);
    CHECK(h.weirds.count("tftp_bad_option_value") == 2);
    h.send(tid, client, oack({{"blksize", "1468"}, {"windowsize", "4"}}), ts += kMs);
    h.finish(ts);
    const auto& t = h.only();
    CHECK(t.oack_seen);
    CHECK(t.block_size == 1468);
    CHECK(t.data_blocks == 0);
    CHECK_FALSE(t.completed);
    CHECK(h.weirds.count("tftp_unrequested_option") == 1);
    CHECK(h.weirds.entries().at("tftp_unrequested_option").first_detail == "windowsize");
}

TEST_CASE("tftp analyzer: DATA larger than 512 without an OACK sets the block size") {
    Harness h;
    Endpoint client = ep(5, 3020), server = ep(9, 69), tid = ep(9, 3021);
    Bytes file = make_file(1468 + 100);
    h.send(client, server, rrq("f", "octet", {{"blksize", "1468"}}), kSec);
    h.send(tid, client, data(1, block_of(file, 0, 1468)), kSec + kMs);
    h.send(tid, client, data(2, block_of(file, 1, 1468)), kSec + 2 * kMs);
    h.finish(2 * kSec);
    const auto& t = h.only();
    CHECK(t.block_size == 1468);
    CHECK(t.data_blocks == 2);
    CHECK(t.completed);
    CHECK(t.md5 == botscope::util::md5_hex(file));
    CHECK(h.weirds.count("tftp_block_too_large") == 1);
}

TEST_CASE("tftp analyzer: wrong direction, data after the final block, unknown opcode") {
    Harness h;
    Endpoint client = ep(5, 3030), server = ep(9, 69), tid = ep(9, 3031);
    Bytes file = make_file(100);
    Timestamp ts = kSec;
    h.send(client, server, rrq("f"), ts);
    h.send(client, tid, data(1, file), ts += kMs);  // the reader does not send DATA
    CHECK(h.weirds.count("tftp_wrong_direction") == 1);
    h.send(tid, client, data(1, file), ts += kMs);
    h.send(client, tid, ack(1), ts += kMs);
    CHECK(h.weirds.count("tftp_wrong_direction") == 1);
    h.send(tid, client, ack(1), ts += kMs);  // nor does the sender ACK
    CHECK(h.weirds.count("tftp_wrong_direction") == 2);
    h.send(tid, client, data(2, file), ts += kMs);
    CHECK(h.weirds.count("tftp_data_after_final") == 1);
    h.send(tid, client, Bytes{0, 9, 1, 2}, ts += kMs);
    CHECK(h.weirds.count("tftp_unknown_opcode") == 1);
    h.send(tid, client, Bytes{0, 4, 0}, ts += kMs);
    CHECK(h.weirds.count("tftp_malformed_packet") == 1);
    h.finish(ts);
    const auto& t = h.only();
    CHECK(t.data_blocks == 1);
    CHECK(t.md5 == botscope::util::md5_hex(file));
}

TEST_CASE("tftp analyzer: a new request from the same client port starts a new transfer") {
    Harness h;
    Endpoint client = ep(5, 3040), server = ep(9, 69);
    Bytes file = make_file(10);
    h.send(client, server, rrq("first"), kSec);
    h.send(ep(9, 3041), client, data(1, file), kSec + kMs);
    h.send(client, ep(9, 3041), ack(1), kSec + 2 * kMs);
    h.send(client, server, rrq("first"), 2 * kSec);  // completed: a new download
    h.send(client, server, rrq("second"), 3 * kSec);
    h.finish(4 * kSec);
    REQUIRE(h.result.transfers.size() == 3);
    CHECK(h.result.transfers[0].completed);
    CHECK(h.result.transfers[1].filename == "first");
    CHECK(h.result.transfers[1].data_blocks == 0);
    CHECK(h.result.transfers[2].filename == "second");
}

TEST_CASE("tftp analyzer: transfers close on their data flow's end, or after 60 s idle") {
    Harness h;
    Endpoint client = ep(5, 5000), server = ep(9, 69), tid = ep(9, 5001);
    Bytes file = make_file(1000);
    Timestamp ts = 100 * kSec;
    h.send(client, server, rrq("f"), ts);
    h.send(tid, client, data(1, block_of(file, 0, 512)), ts += kMs);
    h.end_flow(client, server, ts);  // the request flow ends first: transfer goes on
    CHECK(h.analyzer.live_transfers() == 1);
    h.send(client, tid, ack(1), ts += kMs);
    h.send(tid, client, data(2, block_of(file, 1, 512)), ts += kMs);
    h.end_flow(client, tid, ts);
    CHECK(h.analyzer.live_transfers() == 0);
    REQUIRE(h.result.transfers.size() == 1);
    CHECK(h.result.transfers[0].completed);

    h.send(ep(5, 5002), server, rrq("idle"), ts);
    // A timestamp stepping back an hour closes nothing...
    h.send(ep(5, 5003), server, rrq("past"), ts - 3600 * kSec);
    CHECK(h.analyzer.live_transfers() == 2);
    // ...a minute of silence closes what was idle.
    h.send(ep(5, 5004), server, rrq("later"), ts + 61 * kSec);
    CHECK(h.analyzer.live_transfers() == 1);
    CHECK(h.result.transfers.size() == 3);
    h.finish(ts + 62 * kSec);
    REQUIRE(h.result.transfers.size() == 4);
    // Ordered by request flow, not by closing time.
    CHECK(h.result.transfers[1].filename == "idle");
    CHECK(h.result.transfers[2].filename == "past");
    CHECK(h.result.transfers[3].filename == "later");
}

TEST_CASE("tftp analyzer: transfer limits") {
    Harness h;
    Endpoint server = ep(9, 69);
    std::size_t total = kMaxTransfers + 50;
    for (std::size_t i = 0; i < total; ++i) {
        Endpoint client{
            IpAddress::v4(10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                          static_cast<std::uint8_t>(i)),
            1024};
        h.send(client, server, rrq("scan"), kSec);
        CHECK(h.analyzer.live_transfers() <= kMaxLiveTransfers);
    }
    h.finish(2 * kSec);
    CHECK(h.result.transfers.size() == kMaxTransfers);
    CHECK(h.result.dropped == 50);
    CHECK(h.result.evicted > 0);
    CHECK(h.result.evicted % kEvictBatch == 0);
    CHECK(h.weirds.count("tftp_transfer_limit") >= h.result.evicted);
}

TEST_CASE("tftp analyzer: hostile datagram sequences") {
    // Deterministic pseudo-random mixes of valid and broken packets between two hosts.
    Harness h;
    std::uint32_t state = 12345;
    auto rnd = [&state]() {
        state = state * 1103515245u + 12345u;
        return state >> 8;
    };
    Endpoint client = ep(5, 6000), server = ep(9, 69);
    Timestamp ts = kSec;
    for (int i = 0; i < 4000; ++i) {
        Endpoint tid = ep(9, static_cast<std::uint16_t>(6001 + rnd() % 3));
        Bytes p;
        switch (rnd() % 8) {
            case 0:
                p = rrq(std::string(rnd() % 4, 'f'), rnd() % 2 ? "octet" : "x");
                break;
            case 1:
                p = data(static_cast<std::uint16_t>(rnd() % 6), make_file(rnd() % 600));
                break;
            case 2:
                p = ack(static_cast<std::uint16_t>(rnd() % 6));
                break;
            case 3:
                p = oack({{"blksize", std::to_string(rnd() % 1000)}});
                break;
            case 4:
                p = error_packet(static_cast<std::uint16_t>(rnd()), "e");
                break;
            default:
                for (std::uint32_t n = rnd() % 12; n > 0; --n)
                    p.push_back(static_cast<std::uint8_t>(rnd() % 8));
        }
        bool to_server = rnd() % 2;
        Endpoint dst = rnd() % 4 == 0 ? server : tid;
        if (to_server)
            h.send(client, dst, p, ts);
        else
            h.send(dst, client, p, ts);
        ts += static_cast<Timestamp>(rnd() % 3000) * kMs;
    }
    h.finish(ts);
    for (const auto& t : h.result.transfers) {
        CHECK(t.filename.size() <= kMaxFilenameLength);
        CHECK(t.options_requested.size() <= kMaxOptions);
        CHECK(t.bytes <= t.data_blocks * kMaxBlockSize);
        if (t.hash_complete)
            CHECK(t.completed);
    }
    check_weirds_known(h.weirds);
}

TEST_CASE("tftp weird table: names are unique and prefixed") {
    for (std::size_t i = 0; i < kWeirds.size(); ++i) {
        CHECK(kWeirds[i].name.substr(0, 5) == "tftp_");
        CHECK_FALSE(kWeirds[i].description.empty());
        for (std::size_t j = i + 1; j < kWeirds.size(); ++j)
            CHECK(kWeirds[i].name != kWeirds[j].name);
    }
}

}  // namespace test_tftp
