#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fakenet/content.h"
#include "fakenet/tftp_server.h"
#include "memory_recorder.h"
#include "util/byte_reader.h"
#include "util/hash.h"

namespace botscope::fakenet::test_tftp {

using testing::MemoryRecorder;
using testing::keys;

namespace {

const Endpoint kClient{0x0A42000Au, 2001};
const Endpoint kServer{0x0A420001u, 69};

std::string u16(std::uint16_t v) {
    return {static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)};
}

std::string request(std::uint16_t op, std::string_view file, std::string_view mode,
                    std::vector<std::pair<std::string, std::string>> options = {}) {
    std::string s = u16(op);
    s.append(file);
    s.push_back('\0');
    s.append(mode);
    s.push_back('\0');
    for (const auto& [name, value] : options) {
        s += name;
        s.push_back('\0');
        s += value;
        s.push_back('\0');
    }
    return s;
}
std::string rrq(std::string_view file, std::string_view mode = "octet",
                std::vector<std::pair<std::string, std::string>> options = {}) {
    return request(1, file, mode, std::move(options));
}
std::string wrq(std::string_view file, std::string_view mode = "octet",
                std::vector<std::pair<std::string, std::string>> options = {}) {
    return request(2, file, mode, std::move(options));
}
std::string ack(std::uint16_t block) {
    return u16(4) + u16(block);
}
std::string data(std::uint16_t block, std::string_view payload) {
    return u16(3) + u16(block) + std::string(payload);
}

struct Packet {
    std::uint16_t opcode = 0;
    std::uint16_t number = 0;  ///< block or error code
    std::string rest;
};

Packet parse(const std::string& p) {
    REQUIRE(p.size() >= 4);
    auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(p[i]); };
    return {static_cast<std::uint16_t>(b(0) << 8 | b(1)),
            static_cast<std::uint16_t>(b(2) << 8 | b(3)), p.substr(4)};
}

struct Net {
    MemoryRecorder rec;
    TftpServer server{rec};
    std::vector<TftpSend> sent;

    bool send(const std::string& packet, Millis now = 0, const Endpoint& from = kClient) {
        sent.clear();
        return server.on_datagram(from, kServer, util::as_bytes(packet), now, sent);
    }
    void tick(Millis now) {
        sent.clear();
        server.on_tick(now, sent);
    }
    /// The one datagram the last call sent.
    Packet reply() {
        REQUIRE(sent.size() == 1);
        return parse(sent[0].payload);
    }
    std::vector<Json> records() const { return rec.of("tftp"); }
};

std::string sha(std::string_view s) {
    return util::sha256_hex(util::as_bytes(s));
}

}  // namespace

TEST_CASE("tftp: RRQ serves the stub in 512-byte blocks, one ACK at a time") {
    Net n;
    const std::string& stub = pe_stub();
    REQUIRE(stub.size() == 1024);  // two full blocks, then an empty one ends the file
    CHECK(n.send(rrq("bot.exe")));
    CHECK(n.sent.at(0).client == kClient);
    Packet p = n.reply();
    CHECK(p.opcode == 3);
    CHECK(p.number == 1);
    CHECK(p.rest == stub.substr(0, 512));
    CHECK(n.server.transfers() == 1);

    CHECK(n.send(ack(1), 10));
    p = n.reply();
    CHECK(p.number == 2);
    CHECK(p.rest == stub.substr(512));

    // A duplicate of the previous ACK and a stray future one: nothing is sent again.
    CHECK(n.send(ack(1), 20));
    CHECK(n.sent.empty());
    CHECK(n.send(ack(7), 20));
    CHECK(n.sent.empty());

    CHECK(n.send(ack(2), 30));
    p = n.reply();
    CHECK(p.number == 3);
    CHECK(p.rest.empty());
    CHECK(n.records().empty());
    CHECK(n.send(ack(3), 40));
    CHECK(n.sent.empty());
    CHECK(n.server.transfers() == 0);

    REQUIRE(n.records().size() == 1);
    const Json r = n.records()[0];
    CHECK(keys(r) == std::vector<std::string>{"client", "server", "op", "file", "mode", "blocks",
                                              "bytes", "sha256", "completed", "reason"});
    CHECK(r["client"] == "10.66.0.10:2001");
    CHECK(r["server"] == "10.66.0.1:69");
    CHECK(r["op"] == "RRQ");
    CHECK(r["file"] == "bot.exe");
    CHECK(r["mode"] == "octet");
    CHECK(r["blocks"] == 3);
    CHECK(r["bytes"] == 1024);
    CHECK(r["sha256"] == sha(stub));
    CHECK(r["completed"] == true);
    CHECK(r["reason"].is_null());

    // The finished transfer's endpoint is free again: a late ACK is not TFTP we know.
    CHECK_FALSE(n.send(ack(3), 50));
}

TEST_CASE("tftp: options are negotiated with an OACK") {
    Net n;
    CHECK(n.send(rrq("x.exe", "OCTET", {{"BLKSIZE", "1468"}, {"tsize", "0"}, {"timeout", "3"}})));
    Packet p = n.reply();
    CHECK(p.opcode == 6);
    CHECK(n.sent[0].payload.substr(2) == std::string("blksize\0"
                                                     "1468\0"
                                                     "tsize\0"
                                                     "1024\0",
                                                     24));
    CHECK(n.send(ack(0)));
    p = n.reply();
    CHECK(p.number == 1);
    CHECK(p.rest == pe_stub());  // 1024 < 1468: one short block ends it
    CHECK(n.send(ack(1)));
    CHECK(n.records().at(0)["completed"] == true);
    CHECK(n.records().at(0)["blocks"] == 1);
    CHECK(n.records().at(0)["mode"] == "octet");

    // Too large a block size is cut to kTftpMaxBlockSize; too small is ignored.
    Net big;
    big.send(rrq("a.exe", "octet", {{"blksize", "65464"}}));
    CHECK(big.sent.at(0).payload.substr(2) == std::string("blksize\0"
                                                          "1468\0",
                                                          13));
    Net small;
    small.send(rrq("a.exe", "octet", {{"blksize", "4"}, {"blksize2", "x"}}));
    Packet d = small.reply();
    CHECK(d.opcode == 3);
    CHECK(d.rest.size() == 512);
    // A client that refuses the options ends the transfer.
    big.send(u16(5) + u16(8) + std::string("no options\0", 11));
    CHECK(big.server.transfers() == 0);
    CHECK(big.records().at(0)["reason"] == "client error 8: no options");
    CHECK(big.records().at(0)["completed"] == false);
}

TEST_CASE("tftp: netascii turns LF into CR LF") {
    Net n;
    n.send(rrq("install.sh", "netascii", {{"tsize", "0"}}));
    CHECK(n.sent.at(0).payload.substr(2) == std::string("tsize\0"
                                                        "19\0",
                                                        9));
    n.send(ack(0));
    CHECK(n.reply().rest == "#!/bin/sh\r\nexit 0\r\n");
    n.send(ack(1));
    CHECK(n.records().at(0)["sha256"] == sha("#!/bin/sh\nexit 0\n"));  // of the file served
}

TEST_CASE("tftp: an unanswered block is sent again, five times, then the transfer ends") {
    Net n;
    n.send(rrq("bot.exe"), 1000);
    const std::string first = n.sent.at(0).payload;
    n.tick(1500);
    CHECK(n.sent.empty());
    for (int i = 1; i <= kTftpMaxRetransmits; ++i) {
        n.tick(1000 + i * kTftpRetransmitMs);
        REQUIRE(n.sent.size() == 1);
        CHECK(n.sent[0].payload == first);
    }
    CHECK(n.records().empty());
    n.tick(1000 + (kTftpMaxRetransmits + 1) * kTftpRetransmitMs);
    CHECK(n.sent.empty());
    CHECK(n.server.transfers() == 0);
    REQUIRE(n.records().size() == 1);
    CHECK(n.records()[0]["reason"] == "timeout");
    CHECK(n.records()[0]["completed"] == false);
    CHECK(n.records()[0]["blocks"] == 0);
    CHECK(n.records()[0]["sha256"] == sha(pe_stub()));
}

TEST_CASE("tftp: a repeated request is answered again, a different one replaces the transfer") {
    Net n;
    n.send(rrq("bot.exe"));
    const std::string first = n.sent.at(0).payload;
    n.send(rrq("bot.exe"), 100);
    CHECK(n.sent.at(0).payload == first);
    CHECK(n.server.transfers() == 1);
    n.send(wrq("loot.txt"), 200);
    CHECK(n.reply().opcode == 4);
    CHECK(n.server.transfers() == 1);
    REQUIRE(n.records().size() == 1);
    CHECK(n.records()[0]["reason"] == "replaced");
}

TEST_CASE("tftp: WRQ is acknowledged block by block and hashed") {
    Net n;
    CHECK(n.send(wrq("stolen.txt")));
    Packet p = n.reply();
    CHECK(p.opcode == 4);
    CHECK(p.number == 0);
    const std::string a(512, 'a');
    CHECK(n.send(data(1, a), 10));
    CHECK(n.reply().number == 1);
    CHECK(n.send(data(3, "skipped"), 15));  // out of order: ignored
    CHECK(n.sent.empty());
    CHECK(n.send(data(1, a), 20));  // repeated: acknowledged again
    CHECK(n.reply().number == 1);
    CHECK(n.send(data(2, "tail"), 30));
    CHECK(n.reply().number == 2);
    REQUIRE(n.records().size() == 1);
    const Json r = n.records()[0];
    CHECK(r["op"] == "WRQ");
    CHECK(r["file"] == "stolen.txt");
    CHECK(r["blocks"] == 2);
    CHECK(r["bytes"] == 516);
    CHECK(r["sha256"] == sha(a + "tail"));
    CHECK(r["completed"] == true);
    // The last ACK may be lost: the finished upload dallies to acknowledge a repeat.
    CHECK(n.send(data(2, "tail"), 1000));
    CHECK(n.reply().number == 2);
    CHECK(n.server.transfers() == 1);
    n.tick(30 + kTftpDallyMs);
    CHECK(n.server.transfers() == 0);
    CHECK(n.records().size() == 1);
}

TEST_CASE("tftp: block numbers wrap past 65535") {
    Net n;
    n.send(wrq("big.bin", "octet", {{"blksize", "8"}, {"tsize", "524336"}}));
    CHECK(n.sent.at(0).payload.substr(2) == std::string("blksize\0"
                                                        "8\0"
                                                        "tsize\0"
                                                        "524336\0",
                                                        23));
    const std::string eight = "01234567";
    util::Sha256 expect;
    const std::uint64_t full_blocks = 65536 + 5;
    for (std::uint64_t b = 1; b <= full_blocks; ++b) {
        const auto wire = static_cast<std::uint16_t>(b & 0xFFFF);
        REQUIRE(n.send(data(wire, eight), static_cast<Millis>(b)));
        REQUIRE(n.reply().number == wire);
        expect.update(util::as_bytes(eight));
    }
    // Block 65536 went out as 0, and the short block after the last full one ends it.
    n.send(data(static_cast<std::uint16_t>((full_blocks + 1) & 0xFFFF), "end"), 70000);
    expect.update(util::as_bytes(std::string("end")));
    REQUIRE(n.records().size() == 1);
    CHECK(n.records()[0]["blocks"] == full_blocks + 1);
    CHECK(n.records()[0]["bytes"] == full_blocks * 8 + 3);
    CHECK(n.records()[0]["sha256"] == util::to_hex(expect.finish()));
    CHECK(n.records()[0]["completed"] == true);
}

TEST_CASE("tftp: an upload past 8 MiB is counted, its first 8 MiB hashed") {
    Net n;
    n.send(wrq("dump.bin", "octet", {{"blksize", "1468"}}));
    const std::string block(1468, 'q');
    const std::uint64_t blocks = kTftpMaxKeptBytes / block.size() + 10;
    for (std::uint64_t b = 1; b <= blocks; ++b)
        n.send(data(static_cast<std::uint16_t>(b & 0xFFFF), block), 1);
    n.send(data(static_cast<std::uint16_t>((blocks + 1) & 0xFFFF), ""), 2);
    REQUIRE(n.records().size() == 1);
    const Json r = n.records()[0];
    CHECK(r["bytes"] == blocks * block.size());
    CHECK(r["sha256"] == sha(std::string(kTftpMaxKeptBytes, 'q')));

    Net o;
    o.send(wrq("x", "octet", {{"blksize", "8"}}));
    o.send(data(1, "0123456789"));
    CHECK(o.reply().opcode == 5);
    CHECK(o.records().at(0)["reason"] == "block too large");
}

TEST_CASE("tftp: 1000 transfers at once: 64 are served, the rest told busy") {
    Net n;
    std::size_t busy = 0;
    for (std::uint16_t i = 0; i < 1000; ++i) {
        const Endpoint c{0x0A42000Au + (i % 3), static_cast<std::uint16_t>(10000 + i)};
        REQUIRE(n.send(rrq("bot" + std::to_string(i) + ".exe"), 0, c));
        Packet p = n.reply();
        CHECK(n.sent[0].client == c);
        if (p.opcode == 5) {
            CHECK(p.number == 0);
            CHECK(p.rest == std::string("busy\0", 5));
            ++busy;
        }
        CHECK(n.server.transfers() <= kTftpMaxTransfers);
    }
    CHECK(busy == 1000 - kTftpMaxTransfers);
    CHECK(n.server.transfers() == kTftpMaxTransfers);
    auto recs = n.records();
    CHECK(recs.size() == busy);
    CHECK(recs.at(0)["reason"] == "busy");
    CHECK(recs.at(0)["sha256"].is_null());
    // Everything left ends by the idle limit, whatever the time jumps to.
    n.tick(1'000'000'000);
    CHECK(n.server.transfers() == 0);
    recs = n.records();
    CHECK(recs.size() == 1000);
    CHECK(recs.back()["reason"] == "idle");
}

TEST_CASE("tftp: what is not TFTP is left to the caller") {
    Net n;
    CHECK_FALSE(n.send(""));
    CHECK_FALSE(n.send("\x00"));
    CHECK_FALSE(n.send(std::string("\x00\x09junk", 6)));
    CHECK_FALSE(n.send(ack(1)));  // an ACK for no transfer
    CHECK_FALSE(n.send(data(1, "x")));
    CHECK_FALSE(n.send(request(1, "file", "binary")));  // not a TFTP mode
    CHECK_FALSE(n.send(std::string("\x00\x01no-nul-anywhere", 17)));
    // A DNS query for example.com whose id looks like an RRQ opcode.
    CHECK_FALSE(
        n.send(std::string("\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07"
                           "example\x03"
                           "com\x00\x00\x01\x00\x01",
                           29)));
    CHECK(n.sent.empty());
    CHECK(n.records().empty());

    // Mail mode is refused with an error, and recorded.
    CHECK(n.send(rrq("x", "mail")));
    CHECK(n.reply().opcode == 5);
    CHECK(n.reply().number == 4);
    CHECK(n.records().at(0)["reason"] == "mode not supported");
    CHECK(n.server.transfers() == 0);

    // A broken packet from a client with a transfer is still that transfer's.
    n.send(rrq("a.exe"));
    CHECK(n.send(std::string("\x00\x04", 2)));
    CHECK(n.sent.empty());
}

}  // namespace botscope::fakenet::test_tftp
