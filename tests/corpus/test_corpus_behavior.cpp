// Behaviour facts from public captures (../shared/captures/README.md): every scan capture is
// reported as the scan it is, backscatter and a single nmap check are no scans, and the DHCP
// flood whose packets share one timestamp is a flood without a rate over zero time.

#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>

#include "analysis/pcap_source.h"
#include "report/behavior_json.h"

/// Where the captures are: defined in test_corpus.cpp.
std::filesystem::path captures_dir();

namespace test_corpus_behavior {

using botscope::report::Json;
namespace fs = std::filesystem;

namespace {

/// The `behavior` section for a capture, as a user sees it in the report.
Json behavior(const std::string& rel) {
    fs::path p = captures_dir() / rel;
    auto out = botscope::analysis::analyze_capture_file(p.string());
    INFO(out.message);
    REQUIRE(out.error == botscope::analysis::CaptureError::kNone);
    return botscope::report::behavior_to_json(out.behavior);
}

const Json& only_scan(const Json& b) {
    REQUIRE(b["scans"].size() == 1);
    return b["scans"][0];
}

std::set<int> ports(const Json& scan) {
    std::set<int> s;
    for (const auto& p : scan["ports"])
        s.insert(p["port"].get<int>());
    return s;
}

std::set<std::string> open_ports(const Json& scan) {
    std::set<std::string> s;
    for (const auto& e : scan["open"])
        s.insert(e["ip"].get<std::string>() + ":" + std::to_string(e["port"].get<int>()));
    return s;
}

const std::string kSimple = "bro-simple-scan/testing/pcaps/";
const std::string kEsnet = "esnet-curated-pcaps/attacks/scanners/";
const std::string kNmap = "markofu-pcaps/EvilFingers/NMAP_PCAPS/";

}  // namespace

TEST_CASE("bro-simple-scan port_scan: ten ports of one host") {
    Json b = behavior(kSimple + "port_scan.pcap");
    const Json& s = only_scan(b);
    CHECK(s["kind"] == "vertical");
    CHECK(s["scanner"] == "192.168.2.154");
    CHECK(s["transport"] == "tcp");
    CHECK(s["target_ranges"] == Json::array({"192.168.2.22"}));
    CHECK(s["ports_total"] == 10);
    CHECK(s["probes"] == 10);
    CHECK(b["floods"].empty());
}

TEST_CASE("bro-simple-scan 445_scan: a slow address scan on 445") {
    Json b = behavior(kSimple + "445_scan.pcap");
    const Json& s = only_scan(b);
    CHECK(s["kind"] == "horizontal");
    CHECK(s["scanner"] == "176.192.150.3");
    CHECK(ports(s) == std::set<int>{445});
    CHECK(s["targets"].get<int>() >= 9);
    CHECK(s["duration"].get<double>() > 3600);  // 1.7 hours
}

TEST_CASE("bro-simple-scan multiport_scan: an address scan on 80/8080/88 with ICMP errors") {
    Json b = behavior(kSimple + "multiport_scan.pcap");
    const Json& s = only_scan(b);
    CHECK(s["kind"] == "horizontal");
    CHECK(s["scanner"] == "125.27.226.209");
    CHECK(s["targets"].get<int>() >= 5);
    CHECK(ports(s).count(80) == 1);
    CHECK(ports(s).count(8080) == 1);
    // The errors quote the probes (with the destination rewritten by the anonymiser).
    CHECK(s["icmp_errors"].get<int>() >= 5);
    CHECK(b["floods"].empty());
}

TEST_CASE("bro-simple-scan scan_with_zero_windows: an address scan on 23") {
    Json b = behavior(kSimple + "scan_with_zero_windows.pcap");
    const Json& s = only_scan(b);
    CHECK(s["kind"] == "horizontal");
    CHECK(s["scanner"] == "10.0.0.1");
    CHECK(ports(s) == std::set<int>{23});
    CHECK(s["targets"].get<int>() >= 5);
}

TEST_CASE("bro-simple-scan backscatter.trace: a day of SYN-ACK/RST backscatter is no scan") {
    Json b = behavior(kSimple + "backscatter.trace");
    CHECK(b["scans"].empty());
    CHECK(b["floods"].empty());
}

TEST_CASE("esnet masscan tcp_0_1000: 1,001 SYNs to ports 0-1000 of one host") {
    Json b = behavior(kEsnet + "masscan/tcp_0_1000_20190821.pcap");
    const Json& s = only_scan(b);
    CHECK(s["kind"] == "vertical");
    CHECK(s["transport"] == "tcp");
    CHECK(s["scanner"] == "172.31.15.102");
    CHECK(s["target_ranges"] == Json::array({"198.124.152.15"}));
    CHECK(s["ports_total"] == 1001);
    CHECK(s["probes"] == 1001);
    CHECK(b["floods"].empty());  // one SYN per port is a scan, not a flood
}

TEST_CASE("esnet masscan udp_0_1000: 1,001 UDP probes to 1,001 ports") {
    Json b = behavior(kEsnet + "masscan/udp_0_1000_20190821.pcap");
    const Json& s = only_scan(b);
    CHECK(s["kind"] == "vertical");
    CHECK(s["transport"] == "udp");
    CHECK(s["scanner"] == "172.31.15.102");
    CHECK(s["ports_total"] == 1001);
    CHECK(b["floods"].empty());
}

TEST_CASE("esnet nmap_80_vanilla: one check of port 80 is no scan") {
    Json b = behavior(kEsnet + "nmap/nmap_80_vanilla.pcap");
    CHECK(b["scans"].empty());
    CHECK(b["floods"].empty());
}

TEST_CASE("markofu TCP_SYN_SCAN: nmap -sS of 1,000 ports finds 135, 139, 445, 1025, 5000 open") {
    Json b = behavior(kNmap + "TCP_SYN_SCAN.pcap");
    const Json& s = only_scan(b);
    CHECK(s["kind"] == "vertical");
    CHECK(s["scanner"] == "192.168.1.10");
    CHECK(s["target_ranges"] == Json::array({"192.168.1.25"}));
    CHECK(s["ports_total"].get<int>() >= 1000);
    CHECK(open_ports(s) == std::set<std::string>{"192.168.1.25:135", "192.168.1.25:139",
                                                 "192.168.1.25:445", "192.168.1.25:1025",
                                                 "192.168.1.25:5000"});
    CHECK(s["targets_answered"] == 1);
    CHECK(b["floods"].empty());
}

TEST_CASE("markofu UDP_SCAN: nmap -sU answered by 993 ICMP port unreachables") {
    Json b = behavior(kNmap + "UDP_SCAN.pcap");
    const Json& s = only_scan(b);
    CHECK(s["kind"] == "vertical");
    CHECK(s["transport"] == "udp");
    CHECK(s["scanner"] == "192.168.1.10");
    CHECK(s["ports_total"].get<int>() >= 990);
    CHECK(s["icmp_errors"] == 993);
    CHECK(b["floods"].empty());  // the unreachables are answers, not an ICMP flood
}

TEST_CASE("suricata-verify dhcp-request-flood: 10,000 DISCOVERs at one timestamp") {
    Json b = behavior("suricata-verify/tests/dhcp-request-flood/test.pcap");
    REQUIRE(b["floods"].size() == 1);
    const Json& f = b["floods"][0];
    CHECK(f["kind"] == "udp");
    CHECK(f["target"] == "255.255.255.255");
    CHECK(f["ports"] == Json::array({67}));
    CHECK(f["packets"] == 10000);
    CHECK(f["duration"] == 0.0);
    CHECK(f["mean_pps"].is_null());  // no rate over zero time
    CHECK(f["peak_pps"] == 10000.0);
    CHECK(b["scans"].empty());
}

}  // namespace test_corpus_behavior
