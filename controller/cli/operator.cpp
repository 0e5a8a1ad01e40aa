// botscope operator list | check | from-pcap: the IRC operator's scripts (signatures/operator),
// which fakenet's IRC server replays to make a dormant bot show its behaviour.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/pcap_source.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "fakenet/operator_script.h"
#include "report/atomic_file.h"
#include "util/hash.h"
#include "util/text.h"

namespace botscope::cli {

namespace {

namespace fs = std::filesystem;
using fakenet::OperatorScript;
using fakenet::OperatorStep;

constexpr const char* kHelp =
    "usage: botscope operator list [--dir DIR]\n"
    "       botscope operator check NAME|FILE [--dir DIR]\n"
    "       botscope operator from-pcap CAPTURE [-o FILE] [--host ADDR]\n"
    "\n"
    "  list       the scripts in DIR: name, steps, how long they run at most, and what\n"
    "             their first comment says\n"
    "  check      parses and checks a script (NAME in DIR, or a file) and prints its steps\n"
    "             expanded with example values\n"
    "  from-pcap  turns the commands a bot received over IRC in a capture (as analyze-pcap\n"
    "             finds them, with their timing) into a script, every address rewritten to a\n"
    "             sandbox address; to stdout, or atomically to FILE\n"
    "\n"
    "  --dir DIR    where the scripts are (default: signatures/operator of the configuration,\n"
    "               " BOTSCOPE_SIGNATURES_DIR
    "/operator)\n"
    "  -o FILE      from-pcap: write the script to FILE instead of stdout\n"
    "  --host ADDR  from-pcap: the bot whose commands to take (default: the client of the\n"
    "               first IRC session that received one)\n" CONFIG_OPTIONS_HELP
    "\n"
    "exit codes: 0 ok, 2 usage, 3 a script (list: any of them) or the capture is invalid or\n"
    "            unreadable, 4 FILE cannot be written\n";

struct Args {
    std::string verb;
    std::vector<std::string> operands;
    std::optional<fs::path> dir;
    std::string out_path;
    std::optional<analysis::IpAddress> host;
    tasks::ConfigSources sources;
};

/// Parses the command line; an exit code when it is wrong (the message printed).
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
        if (s == "--dir" || s == "-o" || s == "--output" || s == "--host") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope operator: %s needs a value\n", argv[i]);
                return kExitUsage;
            }
            std::string_view v = argv[++i];
            if (s == "--dir") {
                a.dir = fs::path(v);
            } else if (s == "--host") {
                analysis::IpAddress ip;
                if (!analysis::IpAddress::parse(v, ip)) {
                    std::fprintf(stderr, "botscope operator: --host: '%s' is not an address\n",
                                 argv[i]);
                    return kExitUsage;
                }
                a.host = ip;
            } else {
                a.out_path = std::string(v);
            }
        } else if (s.size() > 1 && s[0] == '-') {
            std::fprintf(stderr, "botscope operator: unknown option '%s'\n\n%s", argv[i], kHelp);
            return kExitUsage;
        } else if (a.verb.empty()) {
            a.verb = std::string(s);
        } else {
            a.operands.emplace_back(s);
        }
    }
    std::size_t want = a.verb == "list" ? 0 : 1;
    if (a.verb != "list" && a.verb != "check" && a.verb != "from-pcap") {
        std::fprintf(
            stderr, "botscope operator: %s\n\n%s",
            a.verb.empty() ? "which command?" : ("unknown command '" + a.verb + "'").c_str(),
            kHelp);
        return kExitUsage;
    }
    if (a.operands.size() != want) {
        std::fprintf(stderr, "botscope operator %s: %s\n", a.verb.c_str(),
                     want == 0 ? "takes no operand" : "needs exactly one operand");
        return kExitUsage;
    }
    if ((!a.out_path.empty() || a.host) && a.verb != "from-pcap") {
        std::fprintf(stderr, "botscope operator %s: -o and --host are for from-pcap\n",
                     a.verb.c_str());
        return kExitUsage;
    }
    return std::nullopt;
}

std::string seconds(fakenet::Millis ms) {
    char buf[32];
    if (ms % 1000 == 0)
        std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(ms / 1000));
    else
        std::snprintf(buf, sizeof buf, "%.3g s", static_cast<double>(ms) / 1000.0);
    return buf;
}

/// The text of a script's first comment line, for `list`.
std::string first_comment(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    for (int n = 0; n < 50 && std::getline(in, line); ++n) {
        std::string_view t = util::trim(line);
        if (t.empty())
            continue;
        if (t[0] != '#')
            break;
        t.remove_prefix(1);
        t = util::trim(t);
        if (!t.empty())
            return std::string(t.substr(0, 80));
    }
    return "";
}

int list(const fs::path& dir, const fakenet::Sandbox& sandbox) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".txt")
            files.push_back(it->path());
    if (ec) {
        std::fprintf(stderr, "botscope operator list: %s: %s\n", dir.c_str(), ec.message().c_str());
        return kExitInput;
    }
    std::sort(files.begin(), files.end());
    int rc = kExitOk;
    std::printf("%-20s %5s %8s  %s\n", "NAME", "STEPS", "AT MOST", "DESCRIPTION");
    for (const auto& f : files) {
        auto s = fakenet::load_operator_script(f.string(), dir, sandbox);
        if (!s) {
            std::printf("%-20s invalid: %s\n", f.stem().c_str(), s.error().message.c_str());
            rc = kExitInput;
            continue;
        }
        std::printf("%-20s %5zu %8s  %s\n", f.stem().c_str(), s->steps.size(),
                    seconds(s->total_millis()).c_str(), first_comment(f).c_str());
    }
    if (files.empty())
        std::printf("(no scripts in %s)\n", dir.c_str());
    return rc;
}

int check(const std::string& name, const fs::path& dir, const fakenet::Sandbox& sandbox) {
    auto s = fakenet::load_operator_script(name, dir, sandbox);
    if (!s) {
        std::fprintf(stderr, "botscope operator check: %s\n", s.error().message.c_str());
        return kExitInput;
    }
    fakenet::OperatorVars vars;
    vars.nick = "[USA|XP|SP2]-48213";
    vars.channel = "#botnet";
    vars.guest = sandbox.guests.empty() ? sandbox.subnet.base + 10 : sandbox.guests.front();
    std::printf("%s: valid; operator %s; %zu steps; at most %s (every expect timing out)\n",
                s->name.c_str(), s->nick.c_str(), s->steps.size(),
                seconds(s->total_millis()).c_str());
    std::printf("expanded with $NICK=%s $CHANNEL=%s $GUEST=%s\n\n", vars.nick.c_str(),
                vars.channel.c_str(), fakenet::format_ipv4(vars.guest).c_str());
    std::printf("%5s %5s %9s  %-7s %s\n", "LINE", "STEP", "AT", "KIND", "TEXT");
    fakenet::Millis at = 0;
    for (std::size_t i = 0; i < s->steps.size(); ++i) {
        const OperatorStep& st = s->steps[i];
        std::string text = fakenet::expand_operator_text(st.text, sandbox, vars);
        if (st.kind == OperatorStep::Kind::kWait)
            text = seconds(st.millis);
        else if (st.kind == OperatorStep::Kind::kExpect)
            text = "\"" + text + "\" (at most " + seconds(st.millis) + ")";
        else if (i == 0 && st.kind == OperatorStep::Kind::kTopic)
            text += "   (the topic at join)";
        std::printf("%5d %5zu %9s  %-7s %s\n", st.line, i, seconds(at).c_str(),
                    fakenet::step_kind_name(st.kind), text.c_str());
        at += st.millis;
    }
    return kExitOk;
}

std::optional<std::string> file_sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    util::Sha256 h;
    std::vector<char> buf(1 << 16);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        auto n = static_cast<std::size_t>(in.gcount());
        h.update({reinterpret_cast<const std::uint8_t*>(buf.data()), n});
    }
    if (in.bad())
        return std::nullopt;
    auto d = h.finish();
    return util::to_hex(d);
}

int from_pcap(const Args& a, const fakenet::Sandbox& sandbox) {
    const std::string& input = a.operands.front();
    analysis::detect::Config config;
    if (a.host)
        config.hosts.push_back(*a.host);
    auto outcome = analysis::analyze_capture_file(input, {}, config);
    if (outcome.error != analysis::CaptureError::kNone) {
        std::fprintf(stderr, "botscope operator from-pcap: %s\n", outcome.message.c_str());
        return kExitInput;
    }
    if (outcome.result.capture.truncated)
        std::fprintf(stderr,
                     "botscope operator from-pcap: warning: %s is truncated (%s); using the "
                     "commands before the break\n",
                     input.c_str(), outcome.result.capture.truncation_reason.c_str());
    auto sha = file_sha256(input);
    if (!sha) {
        std::fprintf(stderr, "botscope operator from-pcap: %s: cannot be read\n", input.c_str());
        return kExitInput;
    }
    fakenet::CaptureOrigin origin{input, *sha, a.host};
    auto script = fakenet::script_from_capture(outcome.behavior, origin, sandbox);
    if (!script) {
        std::fprintf(stderr, "botscope operator from-pcap: %s\n", script.error().message.c_str());
        return kExitInput;
    }
    if (a.out_path.empty()) {
        std::fwrite(script->text.data(), 1, script->text.size(), stdout);
        return std::fflush(stdout) == 0 ? kExitOk : kExitOutput;
    }
    if (std::string err = report::write_file_atomic(a.out_path, script->text); !err.empty()) {
        std::fprintf(stderr, "botscope operator from-pcap: %s\n", err.c_str());
        return kExitOutput;
    }
    std::printf("%s: %zu commands, %zu left out, %zu addresses rewritten\n", a.out_path.c_str(),
                script->commands, script->skipped, script->rewrites.size());
    return kExitOk;
}

}  // namespace

int operator_script(int argc, char** argv) {
    Args a;
    if (auto rc = parse_args(argc, argv, a))
        return *rc;
    auto config = tasks::load_config(a.sources);
    if (!config) {
        std::fprintf(stderr, "botscope operator: %s\n", config.error().message.c_str());
        return kExitInput;
    }
    const fakenet::Sandbox& sandbox = config->fakenet.sandbox;
    fs::path dir = a.dir.value_or(config->signatures_dir / "operator");
    if (a.verb == "list")
        return list(dir, sandbox);
    if (a.verb == "check")
        return check(a.operands.front(), dir, sandbox);
    return from_pcap(a, sandbox);
}

}  // namespace botscope::cli
