#pragma once
// Subcommands of the `botscope` command line. Each returns the process exit code.

namespace botscope::cli {

/// Exit codes, documented in README.md ("Exit codes").
enum ExitCode : int {
    kExitOk = 0,
    kExitInternal = 1,     // a bug or an unexpected failure
    kExitUsage = 2,        // bad command line
    kExitInput = 3,        // the input could not be read or is not what it should be
    kExitOutput = 4,       // the output could not be written
    kExitTask = 5,         // the task (or vm check) failed; the report says at which stage
    kExitUnavailable = 6,  // no machine can take the task: quarantined, busy or unknown
    kExitFakenet = 7,      // fakenet is not running and could not be started
};

int analyze_pcap(int argc, char** argv);
int submit(int argc, char** argv);
int vm(int argc, char** argv);
int fakenet(int argc, char** argv);
int operator_script(int argc, char** argv);
int signatures(int argc, char** argv);
int report_cmd(int argc, char** argv);
int batch(int argc, char** argv);
int serve(int argc, char** argv);
int status(int argc, char** argv);

}  // namespace botscope::cli
