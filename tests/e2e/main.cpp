// The end-to-end tests need the real test guest: libvirtd running, the domain and its snapshot
// (tools/setup makes them). Without them the binary exits 77 (skipped), unless
// BOTSCOPE_VM_REQUIRED=1 (tools/check sets it) makes that a failure.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "machinery/machinery.h"
#include "vm_harness.h"

int main(int argc, char** argv) {
    using namespace botscope;
    std::string missing;
    auto hv = machinery::Hypervisor::connect("qemu:///system");
    if (!hv)
        missing = hv.error().message;
    else if (auto s = hv->snapshot(e2e::kDomain, "clean"); !s)
        missing = s.error().message;
    else if (!std::ifstream(e2e::secret_file()))
        missing = "cannot read " + e2e::secret_file();
    if (!missing.empty()) {
        const char* req = std::getenv("BOTSCOPE_VM_REQUIRED");
        std::fprintf(stderr, "test guest unavailable: %s (tools/setup builds it)\n",
                     missing.c_str());
        return req && std::string(req) == "1" ? 1 : 77;
    }
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
