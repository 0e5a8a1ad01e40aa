#include <doctest/doctest.h>

#include <string>

#include "analysis/engine/tcp_reassembly.h"

namespace test_tcp_reassembly {

using namespace botscope::analysis;

namespace {

struct Recorder final : StreamSink {
    std::string data;
    std::uint64_t gaps = 0;
    int gap_calls = 0;
    bool eof = false;
    void stream_data(Direction, std::span<const std::uint8_t> d, Timestamp) override {
        data.append(reinterpret_cast<const char*>(d.data()), d.size());
    }
    void stream_gap(Direction, std::uint64_t len, Timestamp) override {
        gaps += len;
        ++gap_calls;
        data.append("<gap>");
    }
    void stream_eof(Direction, Timestamp) override { eof = true; }
};

std::span<const std::uint8_t> b(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void seg(TcpReassembler& r, Recorder& rec, std::uint32_t seq, std::string_view s,
         bool fin = false) {
    r.segment(seq, b(s), static_cast<std::uint32_t>(s.size()), fin, 0, rec);
}

}  // namespace

TEST_CASE("in-order, out-of-order, retransmitted and overlapping segments give the stream once") {
    ReassemblyBudget budget;
    Recorder rec;
    TcpReassembler r(Direction::kOrig, budget);
    r.syn(999);  // data starts at 1000
    seg(r, rec, 1000, "NICK ");
    seg(r, rec, 1010, "USER x\r\n");  // ahead of a hole
    CHECK(rec.data == "NICK ");
    CHECK(r.pending_bytes() == 8);
    CHECK(budget.used == 8);
    seg(r, rec, 1000, "NICK ");      // retransmission
    seg(r, rec, 1003, "K bot\r\n");  // overlaps the delivered part and fills the hole
    CHECK(rec.data == "NICK bot\r\nUSER x\r\n");
    CHECK(rec.gaps == 0);
    CHECK(r.pending_bytes() == 0);
    CHECK(budget.used == 0);
    CHECK(r.retransmitted_bytes() == 7);  // 5 repeated + 2 overlapping bytes
}

TEST_CASE("sequence numbers wrap around 2^32") {
    ReassemblyBudget budget;
    Recorder rec;
    TcpReassembler r(Direction::kResp, budget);
    r.syn(0xfffffff0u);
    std::string a(20, 'a');
    seg(r, rec, 0xfffffff1u, a);  // crosses the wrap
    seg(r, rec, 0x00000005u, "bc");
    CHECK(rec.data == a + "bc");
    CHECK(r.delivered() == 22);
}

TEST_CASE("a stream picked up mid-session starts at the first segment seen") {
    ReassemblyBudget budget;
    Recorder rec;
    TcpReassembler r(Direction::kOrig, budget);
    seg(r, rec, 77777, "PRIVMSG #c :hi\r\n");
    seg(r, rec, 77770, "1234567PRIVMSG");  // older bytes from before the capture began
    CHECK(rec.data == "PRIVMSG #c :hi\r\n");
    CHECK(r.midstream());
}

TEST_CASE("a hole the peer acknowledged becomes a gap, and data continues after it") {
    ReassemblyBudget budget;
    Recorder rec;
    TcpReassembler r(Direction::kOrig, budget);
    r.syn(0);
    seg(r, rec, 1, "abc");
    seg(r, rec, 10, "xyz");
    r.peer_ack(5, 0, rec);  // ack below the buffered data: not yet a reason to skip
    CHECK(rec.gaps == 0);
    r.peer_ack(13, 0, rec);
    CHECK(rec.data == "abc<gap>xyz");
    CHECK(rec.gaps == 6);
    CHECK(r.gap_bytes() == 6);
}

TEST_CASE("flush at the end delivers buffered data past holes and signals EOF") {
    ReassemblyBudget budget;
    Recorder rec;
    TcpReassembler r(Direction::kOrig, budget);
    r.syn(0);
    seg(r, rec, 1, "one");
    seg(r, rec, 20, "two", true);
    CHECK_FALSE(rec.eof);
    r.flush(0, rec);
    CHECK(rec.data == "one<gap>two");
    CHECK(rec.eof);
}

TEST_CASE("FIN is reported only once everything before it arrived") {
    ReassemblyBudget budget;
    Recorder rec;
    TcpReassembler r(Direction::kOrig, budget);
    r.syn(0);
    r.segment(6, {}, 0, true, 0, rec);  // FIN at offset 5
    CHECK_FALSE(rec.eof);
    seg(r, rec, 1, "hello");
    CHECK(rec.eof);
}

TEST_CASE("snap-length cut segments deliver what was captured and a gap for the rest") {
    ReassemblyBudget budget;
    Recorder rec;
    TcpReassembler r(Direction::kOrig, budget);
    r.syn(0);
    r.segment(1, b("abc"), 10, false, 0, rec);
    seg(r, rec, 11, "next");
    CHECK(rec.data == "abc<gap>next");
    CHECK(rec.gaps == 7);
}

TEST_CASE("per-stream buffering is bounded: the hole is skipped, nothing buffered is lost") {
    ReassemblyBudget budget;
    Recorder rec;
    TcpReassembler r(Direction::kOrig, budget);
    r.syn(0);
    std::string chunk(64 * 1024, 'z');
    std::uint32_t seq = 1 + 100;  // a 100-byte hole that never fills
    for (int i = 0; i < 20; ++i) {
        seg(r, rec, seq, chunk);
        seq += static_cast<std::uint32_t>(chunk.size());
    }
    CHECK(r.pending_bytes() <= TcpReassembler::kMaxPendingPerStream);
    CHECK(rec.gaps == 100);
    CHECK(budget.limit_hits >= 1);
    r.flush(0, rec);
    CHECK(rec.data.size() == 20 * chunk.size() + 5);  // every byte plus one "<gap>" marker
}

TEST_CASE("the engine-wide budget bounds buffering across streams") {
    ReassemblyBudget budget;
    budget.limit = 1000;
    Recorder rec;
    TcpReassembler a(Direction::kOrig, budget), c(Direction::kOrig, budget);
    a.syn(0);
    c.syn(0);
    std::string s(600, 'q');
    seg(a, rec, 100, s);
    CHECK(budget.used == 600);
    seg(c, rec, 100, s);  // over the budget: this stream skips its hole
    CHECK(budget.used == 600);
    CHECK(budget.limit_hits == 1);
}

TEST_CASE("buffered bytes carry the time they became available, so time never goes backwards") {
    struct TimeRecorder final : StreamSink {
        std::vector<Timestamp> times;
        void stream_data(Direction, std::span<const std::uint8_t>, Timestamp ts) override {
            times.push_back(ts);
        }
        void stream_gap(Direction, std::uint64_t, Timestamp) override {}
        void stream_eof(Direction, Timestamp) override {}
    } rec;
    ReassemblyBudget budget;
    TcpReassembler r(Direction::kOrig, budget);
    r.syn(0);
    r.segment(4, b("def"), 3, false, 10, rec);  // early, out of order
    r.segment(1, b("abc"), 3, false, 20, rec);  // fills the hole later
    REQUIRE(rec.times.size() == 2);
    CHECK(rec.times[0] == 20);
    CHECK(rec.times[1] == 20);
}

}  // namespace test_tcp_reassembly
