// The agent tests' main: skips (exit 77, ctest SKIP_RETURN_CODE) when the agent or wine is
// missing, so a machine without mingw-w64 or wine reports a skip, not a failure. tools/check
// sets BOTSCOPE_AGENT_REQUIRED, since tools/setup installs both: there a skip is a failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

#include "harness.h"

int main(int argc, char** argv) {
    using botscope::agent::test::Env;
    if (auto why = Env::get().missing(); !why.empty()) {
        if (std::getenv("BOTSCOPE_AGENT_REQUIRED")) {
            std::printf("FAIL: %s (BOTSCOPE_AGENT_REQUIRED is set)\n", why.c_str());
            return 1;
        }
        std::printf("SKIP: %s\n", why.c_str());
        return 77;
    }
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
