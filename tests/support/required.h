#pragma once
// Tests that need something a developer's machine may lack (libvirtd and the test guest, root
// and network namespaces, mingw-w64 and wine, the public captures) skip without it, and fail
// without it where a switch says it must be there (tools/check sets every switch). One rule for
// every switch, here:
//
//   BOTSCOPE_VM_REQUIRED      libvirtd, the test guest, root with `ip netns`
//   BOTSCOPE_AGENT_REQUIRED   the Windows agent and wine
//   BOTSCOPE_CORPUS_REQUIRED  the public captures in ../shared/captures
//
// A switch is on when it is set to anything but "" or "0".

#include <string>

namespace botscope::testing {

inline constexpr int kExitSkipped = 77;  ///< ctest's SKIP_RETURN_CODE for these tests

/// True when the environment variable `name` is set to anything but "" or "0".
bool required(const char* name);

/// Exit code for a test program that cannot run: prints why, then returns 77 (skipped), or 1
/// (failed) when the switch `name` is on. `who` names the test in the message.
int skip_or_fail(const char* who, const char* name, const std::string& why);

}  // namespace botscope::testing
