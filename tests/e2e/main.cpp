// The end-to-end tests need the real test guest: libvirtd running, the domain and its snapshot
// (tools/setup makes them). Without them the binary is skipped, or fails when
// BOTSCOPE_VM_REQUIRED is on (support/required.h; tools/check sets it).

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <fstream>

#include "machinery/machinery.h"
#include "support/required.h"
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
    if (!missing.empty())
        return testing::skip_or_fail(
            "e2e_vm", "BOTSCOPE_VM_REQUIRED",
            "test guest unavailable: " + missing + " (tools/setup builds it)");
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
