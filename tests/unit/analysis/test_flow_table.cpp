// The live flow table (flow_table.h): pooled slots, an index that grows with the peak of live
// flows and never shrinks, expiry by class, and
// eviction that takes a flood's attempts before an idle connection.

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "analysis/engine/flow_table.h"
#include "support/pcapgen.h"

namespace test_flow_table {

using namespace botscope::analysis;
using botscope::testing::kSecond;

namespace {

struct State {
    std::uint64_t n = 0;
    std::shared_ptr<int> owned;  // must be released when the flow ends
};
using Table = FlowTable<State>;

FlowKey key(std::uint32_t i, std::uint16_t port = 80) {
    IpAddress src = IpAddress::v4(10, static_cast<std::uint8_t>(i >> 16),
                                  static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
    return FlowKey::make(src, static_cast<std::uint16_t>(1024 + i % 60000),
                         IpAddress::v4(192, 0, 2, 1), port, 6);
}

}  // namespace

TEST_CASE("every flow of a full table is found, and ends once") {
    Table t;
    for (std::uint32_t i = 0; i < Table::kMaxFlows; ++i)
        t.insert(key(i), FlowClass::kAttempt, i, State{i, {}});
    CHECK(t.full());
    // Half of them removed, out of order, through chains that share buckets.
    for (std::uint32_t i = 0; i < Table::kMaxFlows; i += 2)
        t.remove(*t.find(key(i)), [](Table::Entry&) {});
    std::uint32_t found = 0, right = 0;
    for (std::uint32_t i = 0; i < Table::kMaxFlows; ++i) {
        Table::Entry* e = t.find(key(i));
        found += e != nullptr;
        right += e && e->state.n == i && i % 2 == 1;
    }
    CHECK(found == Table::kMaxFlows / 2);
    CHECK(right == found);
    std::uint64_t ended = 0;
    t.clear([&ended](Table::Entry&) { ++ended; });
    CHECK(ended == Table::kMaxFlows / 2);
    CHECK(t.size() == 0);
}

TEST_CASE("ended flows give their slots back: churn does not grow the pool") {
    Table t;
    auto token = std::make_shared<int>(0);
    for (std::uint32_t i = 0; i < 10'000; ++i)
        t.insert(key(i), FlowClass::kUdp, 0, State{i, token});
    const std::size_t bytes = t.memory_bytes();
    for (std::uint32_t round = 1; round <= 20; ++round) {
        t.expire(round * 61 * kSecond, [](Table::Entry&) {});
        CHECK(t.size() == 0);
        CHECK(token.use_count() == 1);  // every ended flow's state was released
        for (std::uint32_t i = 0; i < 10'000; ++i)
            t.insert(key(round * 10'000 + i), FlowClass::kUdp, round * 61 * kSecond,
                     State{i, token});
    }
    CHECK(t.memory_bytes() == bytes);
}

TEST_CASE("the index grows with the peak of live flows, and a flood's churn does not grow it") {
    Table t;
    t.insert(key(0), FlowClass::kAttempt, 0, State{0, {}});
    const std::size_t first = t.memory_bytes();
    for (std::uint32_t i = 1; i < 100; ++i)
        t.insert(key(i), FlowClass::kAttempt, i, State{i, {}});
    CHECK(t.memory_bytes() == first);  // the first index and pool chunk hold a small capture
    CHECK(first < (std::size_t{1} << 20));
    for (std::uint32_t i = 100; i < 100'000; ++i)
        t.insert(key(i), FlowClass::kAttempt, i, State{i, {}});
    const std::size_t peak = t.memory_bytes();
    CHECK(peak > first);
    t.clear([](Table::Entry&) {});
    CHECK(t.memory_bytes() == peak);
    // The same number of live flows again, as new keys ending as they come: no rehash, no
    // growth, and every live flow is found.
    for (std::uint32_t i = 0; i < 300'000; ++i) {
        if (i >= 100'000)
            t.remove(*t.find(key(i - 100'000, 443)), [](Table::Entry&) {});
        t.insert(key(i, 443), FlowClass::kAttempt, i, State{i, {}});
    }
    CHECK(t.memory_bytes() == peak);
    std::uint32_t found = 0;
    for (std::uint32_t i = 200'000; i < 300'000; ++i)
        found += t.find(key(i, 443)) != nullptr;
    CHECK(found == 100'000);
}

TEST_CASE("each class expires after its own timeout") {
    Table t;
    t.insert(key(1), FlowClass::kAttempt, 0, {});
    t.insert(key(2), FlowClass::kUdp, 0, {});
    t.insert(key(3), FlowClass::kTcpOpen, 0, {});
    t.insert(key(4), FlowClass::kTcpClosed, 0, {});
    std::vector<std::uint32_t> ended;
    auto note = [&ended](Table::Entry& e) { ended.push_back(e.key.pb == 80 ? 0 : 1); };
    t.expire(4 * kSecond, note);
    CHECK(t.size() == 4);
    t.expire(5 * kSecond, note);  // closed: 5 s
    CHECK(t.find(key(4)) == nullptr);
    t.expire(10 * kSecond, note);  // attempt: 10 s
    CHECK(t.find(key(1)) == nullptr);
    CHECK(t.find(key(2)) != nullptr);
    t.expire(60 * kSecond, note);  // udp: 60 s
    CHECK(t.find(key(2)) == nullptr);
    t.expire(299 * kSecond, note);
    CHECK(t.find(key(3)) != nullptr);
    t.expire(300 * kSecond, note);  // tcp: 300 s
    CHECK(t.size() == 0);
    CHECK(ended.size() == 4);
}

TEST_CASE("a full table evicts the oldest attempt, not an older idle connection") {
    Table t;
    Table::Entry& cnc = t.insert(key(0, 6667), FlowClass::kTcpOpen, 0, {});
    (void)cnc;
    for (std::uint32_t i = 1; i < Table::kMaxFlows; ++i)
        t.insert(key(i), FlowClass::kAttempt, kSecond + i, {});
    REQUIRE(t.full());
    FlowKey evicted{};
    t.evict([&evicted](Table::Entry& e) { evicted = e.key; });
    CHECK(evicted == key(1));
    CHECK(t.find(key(0, 6667)) != nullptr);
    // With no attempt left, the least recently seen flow of any class goes.
    Table u;
    u.insert(key(1), FlowClass::kUdp, 5, {});
    u.insert(key(2), FlowClass::kTcpOpen, 3, {});
    u.evict([&evicted](Table::Entry& e) { evicted = e.key; });
    CHECK(evicted == key(2));
}

TEST_CASE("touch moves a flow to the back of its new class") {
    Table t;
    Table::Entry& a = t.insert(key(1), FlowClass::kAttempt, 0, {});
    t.insert(key(2), FlowClass::kAttempt, 1, {});
    t.touch(a, 2, FlowClass::kAttempt);  // now the most recent
    FlowKey first{};
    t.evict([&first](Table::Entry& e) { first = e.key; });
    CHECK(first == key(2));
    Table::Entry& b = *t.find(key(1));
    t.touch(b, 3, FlowClass::kTcpOpen);  // answered: no longer an attempt
    CHECK(b.cls == FlowClass::kTcpOpen);
    t.expire(3 + 10 * kSecond, [](Table::Entry&) { FAIL("an answered flow went as an attempt"); });
    CHECK(t.size() == 1);
}

}  // namespace test_flow_table
