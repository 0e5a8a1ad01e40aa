// botscope analyze-pcap: the network part of a report from a capture file.

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <string_view>

#include "analysis/pcap_source.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/status_line.h"
#include "cli/stream_signatures.h"
#include "report/atomic_file.h"
#include "report/jsonl_logs.h"
#include "report/network_json.h"
#include "report/summary.h"
#include "tasks/config.h"

namespace botscope::cli {

namespace {

constexpr const char* kHelp =
    "usage: botscope analyze-pcap FILE [--json] [-o DIR | --logs DIR] [--quiet] [--host ADDR]...\n"
    "                             [--threshold NAME=VALUE]... [--rules DIR]... [--no-default]\n"
    "                             [--no-signatures] [--config FILE]\n"
    "       botscope analyze-pcap --thresholds\n"
    "\n"
    "Analyses a pcap or pcapng capture: IRC C&C sessions and the commands received, DNS,\n"
    "HTTP, SMTP, FTP and TFTP activity, hosts, flows and anomalies; then the behaviour:\n"
    "floods, scans, spam runs, HTTP beacons, downloads, each tied to the command before it.\n"
    "\n"
    "  --json                   print the JSON report instead of the summary\n"
    "  -o DIR                   write report.json and the full records as JSON-lines logs\n"
    "                           (flows, dns, http, irc, smtp, ftp, tftp, shell,\n"
    "                           data_streams and behavior.jsonl) into DIR, made if absent\n"
    "  --logs DIR               write only the logs into DIR, which must exist (submit runs\n"
    "                           the analysis so, in a child process)\n"
    "  --quiet                  no progress display\n"
    "  --host ADDR              the analysed (infected) host; repeatable. Default: the host\n"
    "                           that opened the most flows. Flood sources other than it are\n"
    "                           counted as spoofed.\n"
    "  --threshold NAME=VALUE   change a detector threshold (see --thresholds)\n"
    "  --thresholds             list the thresholds with their defaults and exit\n"
    "  --rules DIR              a YARA rule tree whose network/ folders are matched against\n"
    "                           every TCP stream (each direction's first 64 KiB, as\n"
    "                           reassembled); repeatable. Default: signatures/network and the\n"
    "                           configuration's rules_dir\n"
    "  --no-default             without botscope's own rules and the configuration's\n"
    "  --no-signatures          no YARA over the streams\n"
    "  --config FILE            the configuration that names the rule trees\n"
    "\n"
    "exit codes: 0 analysed (also a truncated capture: see capture.truncated),\n"
    "            2 usage, 3 unreadable or not a capture, or a rule that does not compile,\n"
    "            4 cannot write into DIR\n";

/// The analysis's progress, shown only for slow work.
class Progress {
public:
    explicit Progress(bool enabled) : line_(enabled) {}

    void update(std::uint64_t done, std::uint64_t total) {
        if (!line_.enabled() || total == 0)
            return;
        auto now = std::chrono::steady_clock::now();
        if (now - start_ < std::chrono::milliseconds(500))
            return;
        if (now - last_ < std::chrono::milliseconds(100) && done < total)
            return;
        last_ = now;
        double secs = std::chrono::duration<double>(now - start_).count();
        double mb = static_cast<double>(done) / 1e6;
        char buf[96];
        std::snprintf(buf, sizeof buf, "analysing: %5.1f%%  %.0f MB  %.0f MB/s",
                      100.0 * static_cast<double>(done) / static_cast<double>(total), mb,
                      mb / secs);
        line_.show(buf);
    }

    void clear() { line_.clear(); }

private:
    StatusLine line_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_{};
};

void print_thresholds() {
    analysis::detect::Config defaults;
    for (const auto& t : analysis::detect::thresholds())
        std::printf("%-34s %10g %-14s %s\n", std::string(t.name).c_str(),
                    analysis::detect::threshold_value(defaults, t.name),
                    std::string(t.unit).c_str(), std::string(t.description).c_str());
}

/// Fault injection for the tests of the analysis child (tasks/analysis_child.h): a capture
/// that hangs or crashes the analysis, on demand. Inert unless the variable is set.
void test_hook() {
    const char* hook = std::getenv("BOTSCOPE_TEST_HOOK");
    if (!hook)
        return;
    if (std::string_view(hook) == "analysis-hang") {
        for (;;)
            ::pause();
    }
    if (std::string_view(hook) == "analysis-crash")
        std::abort();
}

struct RuleOptions {
    std::vector<std::filesystem::path> trees;  ///< --rules
    bool no_default = false;
    bool off = false;  ///< --no-signatures
    tasks::ConfigSources sources;
};

/// The scanner of the trees' network rules, or in `part` why there is none. False, with the
/// reason printed, when the configuration cannot be read or a rule does not compile: a report
/// that silently lacked the rules asked for would read as "no match".
bool stream_scanner(const RuleOptions& o, std::unique_ptr<StreamSignatures>& scanner,
                    report::Json& part) {
    if (o.off) {
        part = StreamSignatures::not_run("disabled", "--no-signatures");
        return true;
    }
    std::vector<std::filesystem::path> trees;
    if (!o.no_default) {
        auto config = tasks::load_config(o.sources);
        if (!config) {
            std::fprintf(stderr, "botscope analyze-pcap: %s\n", config.error().message.c_str());
            return false;
        }
        trees = config->rule_trees();
    }
    trees.insert(trees.end(), o.trees.begin(), o.trees.end());
    if (trees.empty()) {
        part = StreamSignatures::not_run("disabled", "no rule trees");
        return true;
    }
    auto compile = [&trees](yara::Target target) {
        std::vector<yara::Diagnostic> diags;
        auto rules = yara::RuleSet::compile(trees, target, diags);
        if (!rules)
            for (const auto& d : diags)
                if (d.error)
                    std::fprintf(stderr, "botscope analyze-pcap: %s\n", d.text().c_str());
        return rules;
    };
    auto stream_rules = compile(yara::Target::kStreams);
    auto file_rules = stream_rules ? compile(yara::Target::kFiles) : nullptr;
    if (!stream_rules || !file_rules)
        return false;
    if (stream_rules->rules() == 0 && file_rules->rules() == 0) {
        part = StreamSignatures::not_run("disabled", "no rules in the rule trees");
        return true;
    }
    scanner = std::make_unique<StreamSignatures>(std::move(stream_rules), std::move(file_rules));
    return true;
}

/// analyze_pcap without its guard against running out of memory.
int analyze_pcap_main(int argc, char** argv) {
    std::string input;
    std::string out_path;
    std::string logs_dir;
    bool json = false;
    bool quiet = false;
    analysis::detect::Config config;
    RuleOptions rule_options;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (int r = parse_config_option(argc, argv, i, rule_options.sources); r != 0) {
            if (r < 0)
                return kExitUsage;
            continue;
        }
        if (a == "--help" || a == "-h") {
            std::fputs(kHelp, stdout);
            return kExitOk;
        } else if (a == "--thresholds") {
            print_thresholds();
            return kExitOk;
        } else if (a == "--host" || a == "--threshold") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope analyze-pcap: %s needs a value\n", argv[i]);
                return kExitUsage;
            }
            std::string_view v = argv[++i];
            if (a == "--host") {
                analysis::IpAddress ip;
                if (!analysis::IpAddress::parse(v, ip)) {
                    std::fprintf(stderr, "botscope analyze-pcap: --host: '%s' is not an address\n",
                                 argv[i]);
                    return kExitUsage;
                }
                config.hosts.push_back(ip);
            } else {
                auto eq = v.find('=');
                std::string err = eq == std::string_view::npos
                                      ? "--threshold needs NAME=VALUE, not '" + std::string(v) + "'"
                                      : analysis::detect::set_threshold(config, v.substr(0, eq),
                                                                        v.substr(eq + 1));
                if (!err.empty()) {
                    std::fprintf(stderr, "botscope analyze-pcap: %s (see --thresholds)\n",
                                 err.c_str());
                    return kExitUsage;
                }
            }
        } else if (a == "--rules") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope analyze-pcap: --rules needs a folder\n");
                return kExitUsage;
            }
            rule_options.trees.emplace_back(argv[++i]);
        } else if (a == "--no-default") {
            rule_options.no_default = true;
        } else if (a == "--no-signatures") {
            rule_options.off = true;
        } else if (a == "--json") {
            json = true;
        } else if (a == "--quiet" || a == "-q") {
            quiet = true;
        } else if (a == "-o" || a == "--output" || a == "--logs") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope analyze-pcap: %s needs a folder\n", argv[i]);
                return kExitUsage;
            }
            if (a == "--logs") {
                logs_dir = argv[++i];
            } else {
                out_path = argv[++i];
            }
        } else if (a.size() > 1 && a[0] == '-') {
            std::fprintf(stderr, "botscope analyze-pcap: unknown option '%s'\n\n%s", argv[i],
                         kHelp);
            return kExitUsage;
        } else if (input.empty()) {
            input = argv[i];
        } else {
            std::fprintf(stderr, "botscope analyze-pcap: one capture at a time ('%s' and '%s')\n",
                         input.c_str(), argv[i]);
            return kExitUsage;
        }
    }
    if (input.empty()) {
        std::fprintf(stderr, "botscope analyze-pcap: no capture file given\n\n%s", kHelp);
        return kExitUsage;
    }

    if (!out_path.empty() && !logs_dir.empty()) {
        std::fprintf(stderr, "botscope analyze-pcap: -o and --logs exclude each other\n");
        return kExitUsage;
    }
    test_hook();
    std::unique_ptr<StreamSignatures> scanner;
    report::Json stream_part;
    if (!stream_scanner(rule_options, scanner, stream_part))
        return kExitInput;
    std::unique_ptr<report::JsonlLogs> logs;
    if (!out_path.empty() || !logs_dir.empty()) {
        std::error_code ec;
        if (!out_path.empty())
            std::filesystem::create_directory(out_path, ec);
        const std::string& dir = out_path.empty() ? logs_dir : out_path;
        std::string err = ec ? "cannot make " + dir + ": " + ec.message() : std::string();
        if (err.empty())
            logs = report::JsonlLogs::open(dir, err);
        if (!logs) {
            std::fprintf(stderr, "botscope analyze-pcap: %s\n", err.c_str());
            return kExitOutput;
        }
    }
    // This process does nothing but the analysis (submit runs it as a child), and its heap
    // follows the capture's tables up and down: keep what is freed for reuse rather than hand
    // it back and fault it in again, a fifth of the page faults on the flow-heavy bench.
    // Resident memory is unchanged; the child's limit is on resident memory.
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
    Progress progress(!quiet);
    auto outcome = analysis::analyze_capture_file(
        input,
        [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); },
        config, logs.get(), scanner.get());
    progress.clear();
    if (outcome.error != analysis::CaptureError::kNone) {
        std::fprintf(stderr, "botscope analyze-pcap: %s\n", outcome.message.c_str());
        return kExitInput;
    }
    if (logs) {
        logs->data_streams(outcome.result.data_streams);
        logs->behavior(outcome.behavior);
        if (std::string err = logs->commit(); !err.empty()) {
            std::fprintf(stderr, "botscope analyze-pcap: %s\n", err.c_str());
            return kExitOutput;
        }
    }
    const auto& net = outcome.result;
    if (net.capture.truncated) {
        std::fprintf(stderr,
                     "botscope analyze-pcap: warning: %s is truncated (%s); analysed the %llu "
                     "packets before the break\n",
                     input.c_str(), net.capture.truncation_reason.c_str(),
                     static_cast<unsigned long long>(net.capture.packets));
    }

    if (scanner)
        stream_part = scanner->to_json();
    report::Json report =
        report::pcap_report(input, net, outcome.behavior, logs.get(), std::move(stream_part));
    std::string doc = report::dump(report);
    std::string report_path = (std::filesystem::path(out_path) / "report.json").string();
    if (!out_path.empty()) {
        std::string err = report::write_file_atomic(report_path, doc);
        if (!err.empty()) {
            std::fprintf(stderr, "botscope analyze-pcap: %s\n", err.c_str());
            return kExitOutput;
        }
    }
    if (json) {
        std::fwrite(doc.data(), 1, doc.size(), stdout);
    } else {
        std::string text = report::text_summary(input, report);
        std::fwrite(text.data(), 1, text.size(), stdout);
        if (!out_path.empty())
            std::printf("report: %s\n", report_path.c_str());
    }
    if (std::fflush(stdout) != 0)
        return kExitOutput;
    return kExitOk;
}

}  // namespace

int analyze_pcap(int argc, char** argv) {
    // A hostile capture must not take the process down with it: an allocation that fails
    // (under submit's memory limit, say) ends the analysis with a message.
    try {
        return analyze_pcap_main(argc, argv);
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "botscope analyze-pcap: out of memory\n");
        return kExitInternal;
    }
}

}  // namespace botscope::cli
