// fakenet's live tests make network namespaces, so they need root and ip(8). Without them the
// binary is skipped, or fails when BOTSCOPE_VM_REQUIRED is on (support/required.h; tools/check
// sets it): CI must run them.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <string>

#include "netns.h"
#include "support/required.h"

int main(int argc, char** argv) {
    std::string missing = botscope::fakenet::live::netns_unavailable();
    if (!missing.empty())
        return botscope::testing::skip_or_fail("fakenet_live", "BOTSCOPE_VM_REQUIRED",
                                               "network namespaces unavailable: " + missing);
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
