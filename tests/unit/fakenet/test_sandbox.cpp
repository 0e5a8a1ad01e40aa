#include <doctest/doctest.h>

#include <algorithm>

#include "fakenet/sandbox.h"

namespace botscope::fakenet::test_sandbox {

TEST_CASE("sandbox: addresses parse strictly and format back") {
    CHECK(parse_ipv4("10.66.0.1") == 0x0A420001u);
    CHECK(format_ipv4(0x0A4200C8u) == "10.66.0.200");
    for (const char* bad : {"", "10.66.0", "10.66.0.1.2", "10.66.0.256", "010.66.0.1", "a.b.c.d",
                            "10.66.0.-1", "10..0.1", " 10.66.0.1"})
        CHECK_MESSAGE(!parse_ipv4(bad), bad);
    auto net = Subnet::parse("10.66.0.0/24");
    REQUIRE(net);
    CHECK(net->contains(0x0A4200FFu));
    CHECK_FALSE(net->contains(0x0A420100u));
    CHECK_FALSE(Subnet::parse("10.66.0.1/24"));  // host bits set
    CHECK_FALSE(Subnet::parse("10.66.0.0/33"));
}

TEST_CASE("sandbox: decoys are every address but the host, the guests and the edges") {
    Sandbox s;
    s.guests = {0x0A42000Au};
    auto d = s.decoys();
    CHECK(d.size() == 252);
    CHECK(d.front() == 0x0A420002u);
    CHECK(d.back() == 0x0A4200FEu);
    CHECK(std::find(d.begin(), d.end(), 0x0A42000Au) == d.end());
    CHECK(s.range_pattern() == "10.66.0.x");
}

TEST_CASE("sandbox: foreign addresses are found in every form a bot command takes") {
    Sandbox s;
    CHECK(foreign_addresses(".ddos.syn 10.66.0.200 80 5", s).empty());
    CHECK(foreign_addresses(".advscan lsass_445 50 3 0 10.66.0.x -s", s).empty());
    CHECK(foreign_addresses(".download http://10.66.0.1/update.exe c:\\x.exe 1", s).empty());
    CHECK(foreign_addresses("wait 1.5 and version 2.0, 167772161 packets", s).empty());
    CHECK(foreign_addresses(".download http://update.example.com/x.exe", s).empty());
    CHECK(foreign_addresses("10.66.0.0/25", s).empty());

    CHECK(foreign_addresses(".ddos.syn 192.0.2.1 80 5", s) == std::vector<std::string>{"192.0.2.1"});
    CHECK(foreign_addresses(".advscan dcom135 100 5 0 10.66.x.x", s) ==
          std::vector<std::string>{"10.66.x.x"});
    CHECK(foreign_addresses(".scan 10.*.*.*", s) == std::vector<std::string>{"10.*.*.*"});
    CHECK(foreign_addresses("flood 10.66.0.0/16 now", s) == std::vector<std::string>{"10.66.0.0/16"});
    CHECK(foreign_addresses("get http://198.51.100.7/x.exe", s) ==
          std::vector<std::string>{"198.51.100.7"});
    CHECK(foreign_addresses("hex 0x0a.0x42.0x01.0x01 and 0xc0000201", s).size() == 2);
    CHECK(foreign_addresses("end of sentence 203.0.113.9.", s) ==
          std::vector<std::string>{"203.0.113.9"});
}

}  // namespace botscope::fakenet::test_sandbox
