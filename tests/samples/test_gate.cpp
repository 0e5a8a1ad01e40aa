// The safety gate (addresses, ranges, texts), the resolver taken from resolv.conf, and the
// command line, none of which can widen the sandbox.

#include <doctest/doctest.h>

#include <vector>

#include "gate.h"
#include "options.h"

namespace botscope::botemu::test_gate {

TEST_CASE("gate: only host addresses of 10.66.0.0/24 are destinations") {
    CHECK(kSandboxNet.to_string() == "10.66.0.0/24");
    CHECK_FALSE(check_destination(0x0A420001u));  // the host, fakenet, the resolver
    CHECK_FALSE(check_destination(0x0A4200C8u));  // $TARGET
    CHECK_FALSE(check_destination(0x0A4200FEu));
    CHECK(check_destination(0xC0000201u) == "192.0.2.1 is outside the sandbox");
    CHECK(check_destination(0x0A420100u) == "10.66.1.0 is outside the sandbox");
    CHECK(check_destination(0x0A41FFFFu) == "10.65.255.255 is outside the sandbox");
    CHECK(check_destination(0x7F000001u) == "127.0.0.1 is outside the sandbox");
    CHECK(check_destination(0u) == "0.0.0.0 is outside the sandbox");
    CHECK(check_destination(0x0A420000u) == "10.66.0.0 is not a host address of the sandbox");
    CHECK(check_destination(0x0A4200FFu) == "10.66.0.255 is not a host address of the sandbox");
    CHECK(in_sandbox(0x0A4200FFu));
    CHECK_FALSE(in_sandbox(0xFFFFFFFFu));
    CHECK(sandbox_host(2) == 0x0A420002u);
    CHECK(sandbox_host(254) == 0x0A4200FEu);
}

TEST_CASE("gate: texts naming foreign addresses in any form") {
    CHECK_FALSE(check_text(".ddos.syn 10.66.0.200 80 3"));
    CHECK_FALSE(check_text(".download http://update.botscope.test/x.exe"));
    CHECK(check_text(".ddos.syn 192.0.2.1 80 3") == "192.0.2.1 is outside the sandbox");
    CHECK(check_text("get http://0xc0000201/x") == "0xc0000201 is outside the sandbox");
    CHECK(check_text(".advscan x 1 0 0 10.*.*.*") == "10.*.*.* is outside the sandbox");
}

TEST_CASE("gate: scan ranges") {
    auto net = parse_scan_range("10.66.0.x");
    REQUIRE(net);
    CHECK(net->to_string() == "10.66.0.0/24");
    CHECK(parse_scan_range("10.66.0.*").value().to_string() == "10.66.0.0/24");
    CHECK(parse_scan_range("10.66.0.64/26").value().prefix == 26);
    CHECK(parse_scan_range("10.66.0.9").value().prefix == 32);

    for (const char* outside :
         {"10.66.1.x", "10.66.x.x", "192.168.0.x", "10.66.0.0/16", "10.67.0.0/24", "10.66.1.9"}) {
        auto r = parse_scan_range(outside);
        REQUIRE_MESSAGE(!r, std::string(outside));
        CHECK_MESSAGE(r.error().code == "refused", std::string(outside));
        CHECK(r.error().message == std::string(outside) + " is outside the sandbox");
    }
    for (const char* bad : {"", "x", "10.66.0", "10.66.0.x.x", "10.66.0.300", "-b"})
        CHECK_MESSAGE(parse_scan_range(bad).error().code == "bad_range", std::string(bad));

    CHECK(own_net(0x0A42000Au).to_string() == "10.66.0.0/24");
    CHECK(range_text(own_net(0x0A42000Au)) == "10.66.0.x");
    CHECK(range_text(fakenet::Subnet{0x0A420080u, 25}) == "10.66.0.128/25");
    CHECK(range_text(fakenet::Subnet{0x0A420007u, 32}) == "10.66.0.7");
}

TEST_CASE("gate: the resolver is the first nameserver of resolv.conf") {
    CHECK(first_nameserver("nameserver 10.66.0.1\n") == "10.66.0.1");
    CHECK(first_nameserver("# nameserver 1.1.1.1\n; x\nsearch botscope.test\n"
                           "nameserver\t10.66.0.1  # sandbox\r\nnameserver 8.8.8.8\n") ==
          "10.66.0.1");
    CHECK(first_nameserver("nameserver ::1\n") == "::1");  // refused later: not IPv4
    CHECK_FALSE(first_nameserver(""));
    CHECK_FALSE(first_nameserver("nameserver\nnameservers 10.66.0.1\n"));
}

TEST_CASE("options: defaults, every option, and their bounds") {
    auto parse = [](std::initializer_list<std::string_view> a) {
        std::vector<std::string_view> v(a);
        return parse_options(v);
    };
    auto d = parse({});
    REQUIRE(d);
    CHECK(d->cnc == "cnc.botscope.test");
    CHECK(d->port == 8080);
    CHECK_FALSE(d->resolver);
    CHECK(d->max_seconds == 120);
    CHECK(d->beacon_seconds == 3);

    auto o = parse({"--cnc", "irc.botscope.test", "--port", "6667", "--resolver", "10.66.0.1",
                    "--max-seconds", "600", "--beacon-seconds", "60"});
    REQUIRE(o);
    CHECK(o->cnc == "irc.botscope.test");
    CHECK(o->port == 6667);
    CHECK(o->resolver == 0x0A420001u);
    CHECK(o->max_seconds == 600);
    CHECK(o->beacon_seconds == 60);
    // Outside the sandbox but well-formed: parsed here, refused by the gate (exit 3, not 2).
    CHECK(parse({"--resolver", "192.0.2.53"}).value().resolver == 0xC0000235u);
    CHECK(parse({"--help"}).value().help);

    const std::vector<std::vector<std::string_view>> bad_lines = {{"--max-seconds", "601"},
                                                                  {"--max-seconds", "0"},
                                                                  {"--beacon-seconds", "0"},
                                                                  {"--beacon-seconds", "61"},
                                                                  {"--port", "0"},
                                                                  {"--port", "65536"},
                                                                  {"--resolver", "::1"},
                                                                  {"--resolver", "10.66.0.1.2"},
                                                                  {"--cnc", "bad name"},
                                                                  {"--port"},
                                                                  {"--wide-sandbox", "0.0.0.0/0"}};
    for (const auto& bad : bad_lines) {
        auto r = parse_options(bad);
        CHECK_FALSE(r);
        if (!r)
            CHECK(r.error().code == "usage");
    }
}

}  // namespace botscope::botemu::test_gate
