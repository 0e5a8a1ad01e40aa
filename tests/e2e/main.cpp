// The end-to-end tests need the real test guest (test_e2e_guests: both test guests): libvirtd
// running, the domains and their snapshots (tools/setup makes them). Without them the binary is
// skipped, or fails when BOTSCOPE_VM_REQUIRED is on (support/required.h; tools/check sets it).

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "machinery/machinery.h"
#include "support/required.h"
#include "vm_harness.h"

int main(int argc, char** argv) {
    using namespace botscope;
    std::vector<std::pair<const char*, std::string>> guests = {{e2e::kDomain, e2e::secret_file()}};
#ifdef BOTSCOPE_E2E_TWO_GUESTS
    guests.emplace_back(e2e::kDomain2, e2e::secret_file2());
#endif
#ifdef BOTSCOPE_E2E_WINDOWS
    guests.emplace_back("botscope-wineguest", "/var/lib/botscope/wineguest/agent.secret");
#endif
    std::string missing;
    auto hv = machinery::Hypervisor::connect("qemu:///system");
    if (!hv)
        missing = hv.error().message;
    for (std::size_t i = 0; hv && i < guests.size() && missing.empty(); ++i) {
        if (auto s = hv->snapshot(guests[i].first, "clean"); !s)
            missing = s.error().message;
        else if (!std::ifstream(guests[i].second))
            missing = "cannot read " + guests[i].second;
    }
    if (!missing.empty())
        return testing::skip_or_fail(
            "e2e_vm", "BOTSCOPE_VM_REQUIRED",
            "test guest unavailable: " + missing + " (tools/setup builds it)");
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
