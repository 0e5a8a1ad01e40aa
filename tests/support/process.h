#pragma once
// Running a program from a test: its exit code and output, killed at a deadline so that a
// hung program fails the test instead of hanging it.

#include <chrono>
#include <string>
#include <vector>

namespace botscope::testing {

struct Run {
    int exit_code = -1;  ///< 128 + the signal when killed
    std::string out, err;
    double seconds = 0;
};

/// Runs argv (argv[0] by path, or found on PATH) with stdout and stderr captured and no other
/// descriptor of the caller's; SIGKILL once `deadline` has passed.
Run run_process(const std::vector<std::string>& argv, std::chrono::milliseconds deadline);

}  // namespace botscope::testing
