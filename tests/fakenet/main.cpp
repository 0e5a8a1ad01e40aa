// fakenet's live tests make network namespaces, so they need root and ip(8). Without them the
// binary exits 77 (skipped), unless BOTSCOPE_VM_REQUIRED=1 (tools/check sets it) makes that a
// failure: CI must run them.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "netns.h"

int main(int argc, char** argv) {
    std::string missing = botscope::fakenet::live::netns_unavailable();
    if (!missing.empty()) {
        const char* req = std::getenv("BOTSCOPE_VM_REQUIRED");
        std::fprintf(stderr, "network namespaces unavailable: %s\n", missing.c_str());
        return req && std::string(req) == "1" ? 1 : 77;
    }
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
