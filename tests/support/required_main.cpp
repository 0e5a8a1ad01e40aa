// botscope-test-required WHO SWITCH WHY: the exit code of a shell test (tests/cli) that cannot
// run, by the same rule as the C++ tests (support/required.h): 77 skipped, 1 when required.
#include <cstdio>

#include "support/required.h"

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: botscope-test-required WHO SWITCH WHY\n");
        return 2;
    }
    return botscope::testing::skip_or_fail(argv[1], argv[2], argv[3]);
}
