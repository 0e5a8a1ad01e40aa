// botscope signatures check | scan: the YARA rule trees, botscope's own (signatures/) and the
// user's, compiled as the analysis compiles them, and files scanned with them.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "yara/yara.h"

namespace botscope::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kHelp =
    "usage: botscope signatures check [--rules DIR]... [--no-default] [--json]\n"
    "       botscope signatures scan FILE... [--rules DIR]... [--no-default] [--timeout S]\n"
    "                                [--json | --jsonl]\n"
    "\n"
    "  check   compiles every rule tree, for files and for streams (the trees' network/\n"
    "          folders), and prints what it holds; every error names its file and line\n"
    "  scan    scans each FILE with the rules for files and prints what matched\n"
    "\n"
    "  --rules DIR    a further rule tree: a directory of .yar/.yara files (each folder a\n"
    "                 namespace; include, the pe, elf, math and hash modules and the external\n"
    "                 variables filename, filepath, extension and filetype work), or one file;\n"
    "                 repeatable\n"
    "  --no-default   without botscope's own rules (signatures_dir of the configuration,\n"
    "                 " BOTSCOPE_SIGNATURES_DIR
    ")\n"
    "  --timeout S    per file scanned (default 60)\n"
    "  --json         print JSON instead of text\n"
    "  --jsonl        scan: a JSON line with the rules' count, then one per FILE as it is\n"
    "                 scanned (submit runs scans so, in a child process); exit 0 once every\n"
    "                 FILE has its line, whatever it says\n" CONFIG_OPTIONS_HELP
    "\n"
    "exit codes: 0 ok (scan: whether or not anything matched), 2 usage, 3 a rule file has an\n"
    "            error, or a FILE could not be scanned or its scan timed out\n";

/// Compiler warnings passed on in --jsonl's first line.
constexpr std::size_t kMaxWarnings = 50;

struct Args {
    std::string verb;
    std::vector<std::string> operands;
    std::vector<fs::path> rules;
    bool no_default = false;
    bool json = false;
    bool jsonl = false;
    std::chrono::seconds timeout{60};
    tasks::ConfigSources sources;
};

std::optional<int> parse_args(int argc, char** argv, Args& a) {
    for (int i = 1; i < argc; ++i) {
        std::string_view s = argv[i];
        if (int r = parse_config_option(argc, argv, i, a.sources); r != 0) {
            if (r < 0)
                return kExitUsage;
            continue;
        }
        if (s == "--help" || s == "-h") {
            std::fputs(kHelp, stdout);
            return kExitOk;
        }
        if (s == "--json") {
            a.json = true;
        } else if (s == "--jsonl") {
            a.jsonl = true;
        } else if (s == "--no-default") {
            a.no_default = true;
        } else if (s == "--rules" || s == "--timeout") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope signatures: %s needs a value\n", argv[i]);
                return kExitUsage;
            }
            std::string_view v = argv[++i];
            if (s == "--rules") {
                a.rules.emplace_back(v);
            } else if (auto t = parse_seconds(v)) {
                a.timeout = *t;
            } else {
                std::fprintf(stderr,
                             "botscope signatures: --timeout: '%s' is not 1 to 86400 seconds\n",
                             argv[i]);
                return kExitUsage;
            }
        } else if (s.size() > 1 && s[0] == '-') {
            std::fprintf(stderr, "botscope signatures: unknown option '%s'\n\n%s", argv[i], kHelp);
            return kExitUsage;
        } else if (a.verb.empty()) {
            a.verb = std::string(s);
        } else {
            a.operands.emplace_back(s);
        }
    }
    if (a.verb != "check" && a.verb != "scan") {
        std::fprintf(
            stderr, "botscope signatures: %s\n\n%s",
            a.verb.empty() ? "which command?" : ("unknown command '" + a.verb + "'").c_str(),
            kHelp);
        return kExitUsage;
    }
    if (a.verb == "check" && !a.operands.empty()) {
        std::fprintf(stderr, "botscope signatures check: takes no operand\n");
        return kExitUsage;
    }
    if (a.jsonl && (a.json || a.verb != "scan")) {
        std::fprintf(stderr, "botscope signatures: --jsonl is for scan, without --json\n");
        return kExitUsage;
    }
    if (a.verb == "scan" && a.operands.empty()) {
        std::fprintf(stderr, "botscope signatures scan: which files?\n");
        return kExitUsage;
    }
    return std::nullopt;
}

/// For the tests of submit's scan child: BOTSCOPE_TEST_HOOK=signatures-crash:NAME or
/// signatures-hang:NAME crashes or hangs the scan when it reaches a file named NAME.
void test_hook(const std::string& file) {
    const char* hook = std::getenv("BOTSCOPE_TEST_HOOK");
    if (!hook)
        return;
    std::string_view h = hook;
    const std::string name = fs::path(file).filename().string();
    if (h == "signatures-crash:" + name)
        std::abort();
    if (h == "signatures-hang:" + name) {
        for (;;)
            ::pause();
    }
}

std::string dump(const nlohmann::json& j) {
    // Rule metadata and matched names come from rule files: not necessarily UTF-8.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json diagnostics_json(const std::vector<yara::Diagnostic>& diags) {
    auto out = nlohmann::json::array();
    for (const auto& d : diags)
        out.push_back({{"level", d.error ? "error" : "warning"},
                       {"file", d.file},
                       {"line", d.line},
                       {"message", d.message}});
    return out;
}

void print_diagnostics(const std::vector<yara::Diagnostic>& diags) {
    for (const auto& d : diags)
        std::fprintf(stderr, "%s\n", d.text().c_str());
}

int check(const Args& a, const std::vector<fs::path>& trees) {
    nlohmann::json out;
    out["trees"] = nlohmann::json::array();
    for (const auto& t : trees)
        out["trees"].push_back(t.string());
    bool ok = true;
    std::vector<yara::Diagnostic> all;
    for (auto [target, name] :
         {std::pair{yara::Target::kFiles, "files"}, std::pair{yara::Target::kStreams, "streams"}}) {
        std::vector<yara::Diagnostic> diags;
        auto set = yara::RuleSet::compile(trees, target, diags);
        ok &= set != nullptr;
        nlohmann::json part;
        part["ok"] = set != nullptr;
        if (set) {
            part["rule_files"] = set->files();
            part["rules"] = set->rules();
            if (!a.json)
                std::printf("rules for %s: %zu rules from %zu files\n", name, set->rules(),
                            set->files());
        }
        part["diagnostics"] = diagnostics_json(diags);
        out[name] = part;
        all.insert(all.end(), diags.begin(), diags.end());
    }
    if (a.json) {
        std::printf("%s\n", dump(out).c_str());
    } else {
        // A file outside network/ is compiled for files only, and the reverse; a tree-level
        // problem shows in both.
        std::vector<std::string> seen;
        std::vector<yara::Diagnostic> once;
        for (const auto& d : all) {
            std::string t = d.text();
            if (std::find(seen.begin(), seen.end(), t) == seen.end()) {
                seen.push_back(t);
                once.push_back(d);
            }
        }
        print_diagnostics(once);
        if (!ok)
            std::fprintf(stderr, "botscope signatures check: the rules do not compile\n");
    }
    return ok ? kExitOk : kExitInput;
}

int scan(const Args& a, const std::vector<fs::path>& trees) {
    std::vector<yara::Diagnostic> diags;
    auto set = yara::RuleSet::compile(trees, yara::Target::kFiles, diags);
    if (!set) {
        print_diagnostics(diags);
        std::fprintf(stderr, "botscope signatures scan: the rules do not compile\n");
        return kExitInput;
    }
    if (!a.json)
        print_diagnostics(diags);  // warnings
    if (a.jsonl) {
        // The compiler's warnings (a string that slows every scan down...) go into the report.
        nlohmann::json header = {{"rules", set->rules()}, {"rule_files", set->files()}};
        auto& warnings = header["warnings"] = nlohmann::json::array();
        for (const auto& d : diags)
            if (warnings.size() < kMaxWarnings)
                warnings.push_back(d.text());
        if (diags.size() > kMaxWarnings)
            header["warnings_omitted"] = diags.size() - kMaxWarnings;
        std::printf("%s\n",
                    header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        std::fflush(stdout);
    }
    yara::Scanner scanner(set, a.timeout);
    bool all_ok = true;
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : a.operands) {
        test_hook(f);
        auto r = scanner.scan_file(f, yara::Externals::of(f));
        all_ok &= r.status == yara::ScanResult::Status::kOk;
        if (a.jsonl) {
            auto j = yara::to_json(r);
            j["file"] = f;
            std::printf("%s\n",
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            std::fflush(stdout);
            continue;
        }
        if (a.json) {
            auto j = yara::to_json(r);
            j["file"] = f;
            out.push_back(std::move(j));
            continue;
        }
        if (r.status != yara::ScanResult::Status::kOk)
            std::printf("%s: %s: %s\n", f.c_str(), yara::status_name(r.status), r.error.c_str());
        else if (r.matches.empty())
            std::printf("%s: no match\n", f.c_str());
        for (const auto& m : r.matches) {
            std::printf("%s: %s:%s", f.c_str(), m.ns.c_str(), m.rule.c_str());
            for (const auto& t : m.tags)
                std::printf(" [%s]", t.c_str());
            std::printf(" (%zu strings%s)\n", m.strings.size() + m.strings_omitted,
                        m.strings_omitted ? ", some not listed" : "");
        }
        for (const auto& w : r.warnings)
            std::printf("%s: warning: %s\n", f.c_str(), w.c_str());
    }
    if (a.json)
        std::printf("%s\n", dump(out).c_str());
    return all_ok || a.jsonl ? kExitOk : kExitInput;
}

}  // namespace

int signatures(int argc, char** argv) {
    Args a;
    if (auto rc = parse_args(argc, argv, a))
        return *rc;
    std::vector<fs::path> trees;
    if (!a.no_default) {
        auto config = tasks::load_config(a.sources);
        if (!config) {
            std::fprintf(stderr, "botscope signatures: %s\n", config.error().message.c_str());
            return kExitInput;
        }
        // Only the rule folders: signatures/operator holds the IRC operator's scripts.
        for (const char* sub : {"static", "network"}) {
            fs::path p = config->signatures_dir / sub;
            std::error_code ec;
            if (fs::is_directory(p, ec))
                trees.push_back(p);
        }
    }
    if (a.no_default && a.rules.empty()) {
        std::fprintf(stderr, "botscope signatures: --no-default needs a --rules tree\n");
        return kExitUsage;
    }
    trees.insert(trees.end(), a.rules.begin(), a.rules.end());
    return a.verb == "check" ? check(a, trees) : scan(a, trees);
}

}  // namespace botscope::cli
