// botscope: offline behavioural analysis of bot samples.

#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: botscope <command> [options]\n"
    "\n"
    "commands:\n"
    "  submit SAMPLE [--timeout S]          run a sample in an analysis VM, write its report\n"
    "  submit SAMPLE --no-wait              queue a sample for `serve`\n"
    "  batch DIR [--recursive]              analyse every file of DIR on the pool of VMs\n"
    "  serve [--watch DIR]                  work through the queue; queue what lands in DIR\n"
    "  status [--json]                      the queue, the machines and the controllers\n"
    "  vm list | check NAME | release NAME  the analysis machines and their quarantine\n"
    "  fakenet start | stop | status | ...  the fake internet on the analysis network\n"
    "  operator list | check | from-pcap    the IRC operator's scripts\n"
    "  signatures check | scan FILE...      the YARA rules, and files scanned with them\n"
    "  scan FILE... [--rules DIR] [--json]  the same as 'signatures scan'\n"
    "  analyze-pcap FILE [--json] [-o OUT]   analyse a capture taken elsewhere\n"
    "  report list | show | search | ...   stored reports reviewed, indicators exported\n"
    "  help                                  show this help\n"
    "  version                               print the version\n"
    "\n"
    "Run 'botscope <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace botscope::cli;
    if (argc < 2) {
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
    std::string_view cmd = argv[1];
    try {
        if (cmd == "analyze-pcap")
            return analyze_pcap(argc - 1, argv + 1);
        if (cmd == "submit")
            return submit(argc - 1, argv + 1);
        if (cmd == "batch")
            return batch(argc - 1, argv + 1);
        if (cmd == "serve")
            return serve(argc - 1, argv + 1);
        if (cmd == "status")
            return status(argc - 1, argv + 1);
        if (cmd == "vm")
            return vm(argc - 1, argv + 1);
        if (cmd == "fakenet")
            return fakenet(argc - 1, argv + 1);
        if (cmd == "operator")
            return operator_script(argc - 1, argv + 1);
        if (cmd == "signatures")
            return signatures(argc - 1, argv + 1);
        if (cmd == "scan") {
            std::vector<char*> args = {const_cast<char*>("signatures"), argv[1]};
            args.insert(args.end(), argv + 2, argv + argc);
            args.push_back(nullptr);
            return signatures(static_cast<int>(args.size()) - 1, args.data());
        }
        if (cmd == "report")
            return report_cmd(argc - 1, argv + 1);
        if (cmd == "help" || cmd == "--help" || cmd == "-h") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        }
        if (cmd == "version" || cmd == "--version") {
            std::printf("botscope %s\n", BOTSCOPE_VERSION);
            return kExitOk;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "botscope: internal error: %s\n", e.what());
        return kExitInternal;
    }
    std::fprintf(stderr, "botscope: unknown command '%s'\n\n%s", argv[1], kUsage);
    return kExitUsage;
}
