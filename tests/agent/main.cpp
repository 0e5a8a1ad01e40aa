// The agent tests' main: skips (exit 77, ctest SKIP_RETURN_CODE) when the agent or wine is
// missing, so a machine without mingw-w64 or wine reports a skip, not a failure. tools/check
// turns BOTSCOPE_AGENT_REQUIRED on (support/required.h), since tools/setup installs both: there
// a skip is a failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "harness.h"
#include "support/required.h"

int main(int argc, char** argv) {
    using botscope::agent::test::Env;
    if (auto why = Env::get().missing(); !why.empty())
        return botscope::testing::skip_or_fail("agent", "BOTSCOPE_AGENT_REQUIRED", why);
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
