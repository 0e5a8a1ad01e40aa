// botscope report list | show | search | diff | export-ioc: the stored reports reviewed, and
// their indicators exported for the tools that look for infected hosts.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "report/atomic_file.h"
#include "report/summary.h"
#include "review/diff.h"
#include "review/index.h"
#include "review/ioc_format.h"
#include "review/json_read.h"
#include "review/query.h"
#include "review/report_file.h"
#include "review/time_text.h"
#include "util/terminal_text.h"

namespace botscope::cli {

namespace {

namespace fs = std::filesystem;
using report::Json;

constexpr const char* kHelp =
    "usage: botscope report list [--family F] [--since DATE] [--verdict LEVEL|N] [--json]\n"
    "       botscope report show ID|PATH [--json]\n"
    "       botscope report search --cnc HOST | --domain NAME | --channel NAME | --nick PATTERN\n"
    "                              | --sha256 HASH | --url TEXT | --yara RULE [--since DATE]\n"
    "                              [--json]\n"
    "       botscope report diff A B [--json]\n"
    "       botscope report export-ioc [--format csv|json|stix|zeek-intel] [--since DATE]\n"
    "                                  [-o FILE]\n"
    "\n"
    "  list        the tasks' reports, oldest first: id, time, sample, verdict, C&C\n"
    "  show        a report's summary: a task's id, or a report.json (or its folder) of any kind\n"
    "  search      the tasks whose reports show HOST as a C&C (address, address:port or name),\n"
    "              looked up NAME, joined channel NAME, used a nick matching PATTERN, had a\n"
    "              file of that SHA-256, fetched a URL containing TEXT, or matched YARA RULE;\n"
    "              NAME, PATTERN and RULE may hold * and ?, case does not matter\n"
    "  diff        what A and B (ids or paths) do differently: C&C, commands, behaviours, files\n"
    "  export-ioc  the indicators of every task's report, each with first and last seen and\n"
    "              its count of samples, and the clusters of samples sharing a C&C (default\n"
    "              format csv; zeek-intel is a file for Zeek's Intel::read_files)\n"
    "\n"
    "  --family F        verdict family (glob)\n"
    "  --since DATE      reports finished from DATE on: YYYY-MM-DD or ISO 8601 (UTC unless a\n"
    "                    zone is given)\n"
    "  --verdict X       a level (clean, suspicious, malicious) or a score 0-10 (at least)\n"
    "  --json            print JSON\n"
    "  -o FILE           write the export to FILE (atomically) instead of standard output\n"
    "\n"
    "The tasks are found through DATA/tasks/index.jsonl, brought up to date from the task\n"
    "folders first. A report that cannot be read is left out with a warning.\n" CONFIG_OPTIONS_HELP
    "\n"
    "exit codes: 0 ok (search: matches or not), 2 usage, 3 a report or the configuration\n"
    "            cannot be read, 4 the output cannot be written\n";

struct Args {
    std::string verb;
    std::vector<std::string> operands;
    review::ListFilter filter;
    std::optional<review::SearchQuery> search;
    std::string format = "csv";
    bool format_given = false;
    std::string output;
    bool json = false;
    tasks::ConfigSources sources;
};

int usage(const std::string& message) {
    std::fprintf(stderr, "botscope report: %s\n", util::terminal_safe(message).c_str());
    return kExitUsage;
}

// JSON for a terminal as much as for a program: every non-ASCII character as \uXXXX, so that
// controls a guest put in its strings are not printed raw.
std::string dump_ascii(const Json& j) {
    return j.dump(2, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace) + "\n";
}

/// One option that takes a value; nullopt when argv[i] is not one, else an exit code (0 = ok).
std::optional<int> value_option(std::string_view o, const char* v, Args& a) {
    if (auto field = review::search_field(o)) {
        if (a.search)
            return usage("one search at a time (" + std::string(o) + ")");
        a.search = review::SearchQuery{*field, v};
        if (*field == review::SearchField::kSha256 &&
            a.search->value.find_first_not_of("0123456789abcdefABCDEF*?") != std::string::npos)
            return usage("--sha256: '" + std::string(v) + "' is not a hex digest");
    } else if (o == "--family") {
        a.filter.family = v;
    } else if (o == "--since") {
        a.filter.since = review::parse_time(v);
        if (!a.filter.since)
            return usage("--since: '" + std::string(v) +
                         "' is not a date (YYYY-MM-DD or ISO 8601)");
    } else if (o == "--verdict") {
        if (!review::parse_verdict_filter(v, a.filter))
            return usage("--verdict: '" + std::string(v) +
                         "' is not clean, suspicious, malicious or a score 0-10");
    } else if (o == "--format") {
        a.format = v;
        a.format_given = true;
        if (a.format != "csv" && a.format != "json" && a.format != "stix" &&
            a.format != "zeek-intel")
            return usage("--format: '" + a.format + "' is not csv, json, stix or zeek-intel");
    } else if (o == "-o") {
        a.output = v;
    } else {
        return std::nullopt;
    }
    return 0;
}

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
        } else if (s.size() > 1 && s[0] == '-') {
            if (i + 1 >= argc && (review::search_field(s) || s == "--family" || s == "--since" ||
                                  s == "--verdict" || s == "--format" || s == "-o"))
                return usage(std::string(s) + " needs a value");
            auto r = i + 1 < argc ? value_option(s, argv[i + 1], a) : std::nullopt;
            if (!r) {
                std::fprintf(stderr, "botscope report: unknown option '%s'\n\n%s",
                             util::terminal_safe(s).c_str(), kHelp);
                return kExitUsage;
            }
            if (*r != 0)
                return *r;
            ++i;
        } else if (a.verb.empty()) {
            a.verb = std::string(s);
        } else {
            a.operands.emplace_back(s);
        }
    }
    return std::nullopt;
}

/// What each verb takes: its operands, and the options that mean something to it.
std::optional<int> check_args(const Args& a) {
    static const std::vector<std::pair<std::string, std::size_t>> kVerbs = {
        {"list", 0}, {"show", 1}, {"search", 0}, {"diff", 2}, {"export-ioc", 0}};
    auto v = std::find_if(kVerbs.begin(), kVerbs.end(),
                          [&](const auto& x) { return x.first == a.verb; });
    if (v == kVerbs.end()) {
        std::fprintf(stderr, "botscope report: %s\n\n%s",
                     a.verb.empty()
                         ? "which command?"
                         : ("unknown command '" + util::terminal_safe(a.verb) + "'").c_str(),
                     kHelp);
        return kExitUsage;
    }
    if (a.operands.size() != v->second)
        return usage(a.verb + " takes " + std::to_string(v->second) + " operand(s)");
    if (a.verb == "search" && !a.search)
        return usage(
            "search needs one of --cnc, --domain, --channel, --nick, --sha256, --url, "
            "--yara");
    if (a.verb != "search" && a.search)
        return usage(
            "--cnc, --domain, --channel, --nick, --sha256, --url and --yara are for "
            "search");
    bool filters = !a.filter.family.empty() || !a.filter.level.empty() || a.filter.min_score;
    if (filters && a.verb != "list")
        return usage("--family and --verdict are for list");
    if (a.filter.since && (a.verb == "show" || a.verb == "diff"))
        return usage("--since is for list, search and export-ioc");
    if ((a.format_given || !a.output.empty()) && a.verb != "export-ioc")
        return usage("--format and -o are for export-ioc");
    if (a.json && a.verb == "export-ioc")
        return usage("export-ioc: use --format json");
    return std::nullopt;
}

void warn(const std::vector<std::string>& warnings) {
    for (const auto& w : warnings)
        std::fprintf(stderr, "botscope report: warning: %s\n", util::terminal_safe(w).c_str());
}

/// The data directory of the configuration; an exit code when it cannot be read.
std::variant<fs::path, int> data_dir(const Args& a) {
    auto config = tasks::load_config(a.sources);
    if (!config) {
        std::fprintf(stderr, "botscope report: %s\n",
                     util::terminal_safe_lines(config.error().message).c_str());
        return kExitInput;
    }
    return config->data_dir;
}

std::variant<review::Index, int> index_of(const Args& a) {
    auto dir = data_dir(a);
    if (auto* code = std::get_if<int>(&dir))
        return *code;
    auto index = review::load_index(std::get<fs::path>(dir));
    if (!index) {
        std::fprintf(stderr, "botscope report: %s\n",
                     util::terminal_safe(index.error().message).c_str());
        return kExitInput;
    }
    warn(index->warnings);
    return std::move(index.value());
}

/// ID|PATH: an existing file or folder is a path, else digits name a task.
std::variant<fs::path, int> report_path(const Args& a, const std::string& what) {
    std::error_code ec;
    if (fs::exists(what, ec))
        return fs::path(what);
    if (!what.empty() && what.find_first_not_of("0123456789") == std::string::npos) {
        auto dir = data_dir(a);
        if (auto* code = std::get_if<int>(&dir))
            return *code;
        return std::get<fs::path>(dir) / "tasks" / what / "report.json";
    }
    std::fprintf(stderr, "botscope report: %s: no such report or task\n",
                 util::terminal_safe(what).c_str());
    return kExitInput;
}

std::variant<Json, int> load(const Args& a, const std::string& what, fs::path* path = nullptr) {
    auto p = report_path(a, what);
    if (auto* code = std::get_if<int>(&p))
        return *code;
    auto doc = review::read_report(std::get<fs::path>(p));
    if (!doc) {
        std::fprintf(stderr, "botscope report: %s\n",
                     util::terminal_safe(doc.error().message).c_str());
        return kExitInput;
    }
    if (path) {
        std::error_code ec;
        *path = std::get<fs::path>(p);
        if (fs::is_directory(*path, ec))
            *path /= "report.json";
    }
    return std::move(doc.value());
}

std::string verdict_text(const review::Facts& f) {
    // A task that failed before its sample ran has no evidence: "clean" would be a claim.
    if (f.status == "failed")
        return "failed" + (f.level.empty() || f.level == "clean" ? std::string() : " " + f.level);
    if (f.level.empty())
        return "-";
    return f.level + (f.score ? " " + std::to_string(*f.score) : "") +
           (f.family.empty() ? "" : " " + f.family);
}

std::string cnc_text(const review::Facts& f) {
    std::string out;
    for (const auto& c : f.cnc)
        out += (out.empty() ? "" : ", ") + c.protocol + " " + c.key();
    for (const auto& c : f.channels)
        out += " " + c.name;
    return out.empty() ? "-" : out;
}

/// "2026-12-07 13:47:38", as the summaries write times.
std::string when(double t) {
    std::string s = review::format_time(t).substr(0, 19);
    s[10] = ' ';
    return s;
}

void print_row(const review::Facts& f, const std::string& tail) {
    std::printf("%-6s %-20s %-24s %-22s %s\n", f.id.c_str(), when(f.time).c_str(),
                util::terminal_safe(f.sample_name, 24).c_str(),
                util::terminal_safe(verdict_text(f), 22).c_str(),
                util::terminal_safe(tail, 200).c_str());
}

int list(const Args& a) {
    auto index = index_of(a);
    if (auto* code = std::get_if<int>(&index))
        return *code;
    Json out = Json::array();
    if (!a.json)
        std::printf("%-6s %-20s %-24s %-22s %s\n", "ID", "FINISHED", "SAMPLE", "VERDICT", "C&C");
    for (const auto& f : std::get<review::Index>(index).tasks) {
        if (!review::matches(f, a.filter))
            continue;
        if (a.json)
            out.push_back(review::facts_to_json(f));
        else
            print_row(f, cnc_text(f));
    }
    if (a.json)
        std::fputs(dump_ascii(out).c_str(), stdout);
    return kExitOk;
}

int search(const Args& a) {
    auto index = index_of(a);
    if (auto* code = std::get_if<int>(&index))
        return *code;
    Json out = Json::array();
    std::size_t found = 0;
    for (const auto& f : std::get<review::Index>(index).tasks) {
        if (!review::matches(f, a.filter))
            continue;
        auto hits = review::search(f, *a.search);
        if (hits.empty())
            continue;
        ++found;
        if (a.json)
            out.push_back({{"id", f.id},
                           {"finished", f.finished},
                           {"sample", f.sample_name},
                           {"sha256", f.sample_sha256},
                           {"matches", hits}});
        else
            for (const auto& h : hits)
                print_row(f, h);
    }
    if (a.json)
        std::fputs(dump_ascii(out).c_str(), stdout);
    else if (found == 0)
        std::fputs("no report matches\n", stderr);
    return kExitOk;
}

int show(const Args& a) {
    fs::path path;
    auto doc = load(a, a.operands[0], &path);
    if (auto* code = std::get_if<int>(&doc))
        return *code;
    const Json& r = std::get<Json>(doc);
    if (a.json)
        std::fputs(dump_ascii(r).c_str(), stdout);
    else if (r.value("kind", "") == "task")
        std::fputs(report::task_summary(path.string(), r).c_str(), stdout);
    else  // the summary names the capture; the report is named after it
        std::fputs((report::text_summary(
                        review::json::str(review::json::at(r, "source"), "path", 4096), r) +
                    "report    " + util::terminal_safe(path.string()) + "\n")
                       .c_str(),
                   stdout);
    return kExitOk;
}

int diff(const Args& a) {
    auto ra = load(a, a.operands[0]);
    if (auto* code = std::get_if<int>(&ra))
        return *code;
    auto rb = load(a, a.operands[1]);
    if (auto* code = std::get_if<int>(&rb))
        return *code;
    auto d = review::diff_reports(std::get<Json>(ra), std::get<Json>(rb));
    if (a.json)
        std::fputs(dump_ascii(review::diff_to_json(d, a.operands[0], a.operands[1])).c_str(),
                   stdout);
    else
        std::fputs(review::diff_text(d, a.operands[0], a.operands[1]).c_str(), stdout);
    return kExitOk;
}

int export_ioc(const Args& a) {
    auto index = index_of(a);
    if (auto* code = std::get_if<int>(&index))
        return *code;
    auto set = review::collect_iocs(std::get<review::Index>(index).tasks, a.filter.since);
    std::string text = a.format == "json"         ? review::ioc_json(set)
                       : a.format == "stix"       ? review::ioc_stix(set)
                       : a.format == "zeek-intel" ? review::ioc_zeek_intel(set)
                                                  : review::ioc_csv(set);
    if (a.output.empty()) {
        std::fputs(text.c_str(), stdout);
        return std::fflush(stdout) == 0 ? kExitOk : kExitOutput;
    }
    if (std::string err = report::write_file_atomic(a.output, text); !err.empty()) {
        std::fprintf(stderr, "botscope report: %s\n", util::terminal_safe(err).c_str());
        return kExitOutput;
    }
    std::fprintf(stderr, "botscope report: %zu indicators, %zu clusters from %zu reports: %s\n",
                 set.indicators.size(), set.clusters.size(), set.reports,
                 util::terminal_safe(a.output).c_str());
    return kExitOk;
}

}  // namespace

int report_cmd(int argc, char** argv) {
    Args a;
    if (auto r = parse_args(argc, argv, a))
        return *r;
    if (auto r = check_args(a))
        return *r;
    if (a.verb == "list")
        return list(a);
    if (a.verb == "show")
        return show(a);
    if (a.verb == "search")
        return search(a);
    if (a.verb == "diff")
        return diff(a);
    return export_ioc(a);
}

}  // namespace botscope::cli
