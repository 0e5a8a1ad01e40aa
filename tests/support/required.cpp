#include "support/required.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace botscope::testing {

bool required(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

int skip_or_fail(const char* who, const char* name, const std::string& why) {
    // stdout: ctest shows it for a skip as well as for a failure.
    if (required(name)) {
        std::printf("%s: FAILED: %s (%s is set: this must run here)\n", who, why.c_str(), name);
        std::fflush(stdout);
        return 1;
    }
    std::printf("%s: skipped: %s (set %s=1 to make this a failure)\n", who, why.c_str(), name);
    std::fflush(stdout);
    return kExitSkipped;
}

}  // namespace botscope::testing
