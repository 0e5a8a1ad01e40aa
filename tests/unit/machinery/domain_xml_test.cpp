// The pure XML readers: a real live domain XML of the test guest, and hostile documents.
#include "machinery/domain_xml.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace domain_xml_test {

using namespace botscope::machinery;

namespace {

std::string read_fixture(const std::string& name) {
    std::ifstream in(std::string(BOTSCOPE_SOURCE_DIR) + "/tests/unit/machinery/" + name);
    REQUIRE_MESSAGE(in.good(), "missing fixture " << name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const char* kChannel = "org.botscope.agent.0";

}  // namespace

TEST_CASE("live XML of the test guest: tap, MAC, network and agent socket") {
    auto d = parse_live_devices(read_fixture("testguest-live.xml"), kChannel);
    REQUIRE_MESSAGE(d.ok(), d.error().text());
    CHECK(d->tap == "vnet0");
    CHECK(d->mac == "52:54:00:b5:00:10");
    CHECK(d->network == "botscope-analysis");
    CHECK(d->agent_socket ==
          "/var/lib/libvirt/qemu/channel/target/domain-1-botscope-testguest/"
          "org.botscope.agent.0");

    auto other = parse_live_devices(read_fixture("testguest-live.xml"), "org.example.other");
    REQUIRE(other.ok());
    CHECK(other->tap == "vnet0");
    CHECK(other->agent_socket.empty());
}

TEST_CASE("live XML: first interface only, channel children in either order, shut-off domain") {
    const char* xml = R"(<domain type='qemu'><name>g</name><devices>
        <channel type='pty'><source path='/dev/pts/3'/><target type='virtio' name='org.botscope.agent.0'/></channel>
        <interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br9'/>
          <target dev='vnet7'/></interface>
        <interface type='network'><mac address='52:54:00:00:00:02'/><target dev='vnet8'/></interface>
        <channel type='unix'><target type='virtio' name='org.botscope.agent.0'/>
          <source mode='bind' path='/run/bs/agent.sock'/></channel>
      </devices></domain>)";
    auto d = parse_live_devices(xml, kChannel);
    REQUIRE_MESSAGE(d.ok(), d.error().text());
    CHECK(d->tap == "vnet7");
    CHECK(d->mac == "52:54:00:00:00:01");
    CHECK(d->network == "br9");
    CHECK(d->agent_socket == "/run/bs/agent.sock");  // the pty channel does not count

    // A shut-off domain: the interface has no target dev yet. Not an error for the parser.
    auto off = parse_live_devices(
        "<domain><devices><interface type='network'><mac address='52:54:00:00:00:03'/>"
        "<source network='botscope-analysis'/></interface></devices></domain>",
        kChannel);
    REQUIRE(off.ok());
    CHECK(off->tap.empty());
    CHECK(off->mac == "52:54:00:00:00:03");
}

TEST_CASE("live XML: no interface is a clear error") {
    auto d =
        parse_live_devices("<domain><name>g</name><devices><disk/></devices></domain>", kChannel);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == "no_interface");
    CHECK(d.error().message.find("<interface>") != std::string::npos);
    // An <interface> outside <devices> is not a device.
    auto stray =
        parse_live_devices("<domain><interface><target dev='x'/></interface></domain>", kChannel);
    REQUIRE_FALSE(stray.ok());
    CHECK(stray.error().code == "no_interface");
}

TEST_CASE("live XML: hostile documents are bad_xml, never a crash") {
    auto expect_bad = [](const std::string& xml, const std::string& needle) {
        auto d = parse_live_devices(xml, kChannel);
        REQUIRE_FALSE(d.ok());
        CHECK(d.error().code == "bad_xml");
        CHECK_MESSAGE(d.error().message.find(needle) != std::string::npos, d.error().message);
    };
    SUBCASE("unterminated") {
        expect_bad("<domain><devices><interface><target dev='vnet0'/>", "line");
        // Cut in the middle of the real XML.
        std::string real = read_fixture("testguest-live.xml");
        expect_bad(real.substr(0, real.size() / 2), "line");
    }
    SUBCASE("empty") {
        expect_bad("", "domain");
    }
    SUBCASE("not XML") {
        expect_bad("\x01\x02 garbage \xff\xfe", "line");
    }
    SUBCASE("huge") {
        std::string huge = "<domain><devices><interface><target dev='vnet0'/></interface>";
        huge.append(kMaxXmlBytes, ' ');
        huge += "</devices></domain>";
        expect_bad(huge, "over the limit");
    }
    SUBCASE("entity expansion bomb (DTD)") {
        expect_bad(R"(<?xml version="1.0"?>
<!DOCTYPE domain [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<domain><devices><interface><target dev='&d;'/></interface></devices></domain>)",
                   "DTD");
    }
    SUBCASE("too deep") {
        std::string deep = "<domain>";
        for (int i = 0; i < 100; ++i)
            deep += "<x>";
        for (int i = 0; i < 100; ++i)
            deep += "</x>";
        deep += "</domain>";
        expect_bad(deep, "deeper");
    }
    SUBCASE("wrong root") {
        expect_bad("<network><name>n</name></network>", "<network>");
    }
    SUBCASE("two roots") {
        expect_bad("<domain/><domain/>", "line");
    }
}

TEST_CASE("snapshot XML: state") {
    auto running = parse_snapshot_state(
        "<domainsnapshot><name>clean</name><state>running</state>"
        "<domain><state>shutoff</state></domain></domainsnapshot>");
    REQUIRE_MESSAGE(running.ok(), running.error().text());
    CHECK(running.value() == "running");
    auto off = parse_snapshot_state("<domainsnapshot><state> shutoff </state></domainsnapshot>");
    REQUIRE(off.ok());
    CHECK(off.value() == "shutoff");
    auto none = parse_snapshot_state("<domainsnapshot><name>x</name></domainsnapshot>");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == "bad_xml");
    CHECK(none.error().message.find("<state>") != std::string::npos);
    auto wrong = parse_snapshot_state("<domain><state>running</state></domain>");
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code == "bad_xml");
}

}  // namespace domain_xml_test
