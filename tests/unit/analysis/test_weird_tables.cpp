// Anomaly names are part of the report's interface: stable, prefixed by their protocol, unique.

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "analysis/engine/engine_weirds.h"
#include "analysis/network_result.h"

namespace test_weird_tables {

using namespace botscope::analysis;

namespace {

template <typename Table>
void check_table(const Table& table, std::initializer_list<std::string_view> prefixes,
                 std::set<std::string>& seen) {
    for (const auto& w : table) {
        CAPTURE(w.name);
        bool prefixed = false;
        for (auto p : prefixes)
            prefixed |= w.name.substr(0, p.size()) == p;
        CHECK(prefixed);
        for (char c : w.name)
            CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
        CHECK_FALSE(w.description.empty());
        CHECK(seen.insert(std::string(w.name)).second);
    }
}

}  // namespace

TEST_CASE("every weird table holds stable, prefixed, unique snake_case names") {
    std::set<std::string> seen;
    check_table(kEngineWeirds, {"ip_", "flow_", "tcp_"}, seen);
    check_table(irc::kWeirds, {"irc_"}, seen);
    check_table(dns::kWeirds, {"dns_"}, seen);
    check_table(http::kWeirds, {"http_"}, seen);
    check_table(smtp::kWeirds, {"smtp_"}, seen);
    check_table(tftp::kWeirds, {"tftp_"}, seen);
    check_table(ftp::kWeirds, {"ftp_"}, seen);
    CHECK(seen.size() > 40);
}

}  // namespace test_weird_tables
