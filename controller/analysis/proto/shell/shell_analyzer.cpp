#include "analysis/proto/shell/shell_analyzer.h"

#include <algorithm>

#include "analysis/log_sink.h"

namespace botscope::analysis::shell {

namespace {

/// Bytes of a direction's start kept to tell whether it opened as a shell.
constexpr std::size_t kHeadBytes = 512;
/// A banner or prompt kept in the report is cut here.
constexpr std::size_t kMaxBanner = 128;

std::string first_line(std::string_view head) {
    while (!head.empty() && (head.front() == '\r' || head.front() == '\n'))
        head.remove_prefix(1);
    std::size_t end = head.find_first_of("\r\n");
    std::string_view line = head.substr(0, end);
    // Without a banner the prompt is all there is: up to its '>'.
    if (std::size_t gt = line.find('>');
        gt != std::string_view::npos && line.size() > 1 && line[1] == ':')
        line = line.substr(0, gt + 1);
    return std::string(line.substr(0, kMaxBanner));
}

}  // namespace

ProbeResult probe(const ProbeInput& in) {
    const Opening o = classify_opening(in.orig);
    const Opening r = classify_opening(in.resp);
    if (o == Opening::kShell || r == Opening::kShell)
        return ProbeResult::kMatch;
    if (o == Opening::kOther && r == Opening::kOther)
        return ProbeResult::kNoMatch;
    if (o == Opening::kPartial && r == Opening::kPartial)
        return ProbeResult::kNeedMore;
    // One side opened with something else. A shell speaks first, so the other side can only
    // be one if it has already begun to.
    const auto& undecided = o == Opening::kPartial ? in.orig : in.resp;
    return undecided.empty() ? ProbeResult::kNoMatch : ProbeResult::kNeedMore;
}

ShellAnalyzer::ShellAnalyzer(const AnalyzerContext& ctx, ShellResult& result)
    : ctx_(ctx), result_(result) {}

void ShellAnalyzer::add_line(Side& side, std::string_view text, bool cut, Timestamp ts) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    if (text.empty())
        return;  // Enter on its own
    if (side.typed.size() >= kMaxCommands) {
        if (side.typed_dropped++ == 0)
            ctx_.weird(kAnalyzerName, "shell_command_limit", ts);
        return;
    }
    if (cut)
        ctx_.weird(kAnalyzerName, "shell_command_too_long", ts, text.substr(0, 64));
    side.typed.push_back({ts, std::string(text), cut});
}

void ShellAnalyzer::take_lines(Side& side, std::span<const std::uint8_t> data, Timestamp ts) {
    while (auto frag = side.lines.next(data)) {
        // The rest of a line cut at the limit: the line was kept, flagged, when it was cut.
        if (frag->continued)
            continue;
        add_line(side, frag->text, frag->terminator.empty(), ts);
    }
}

void ShellAnalyzer::on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) {
    if (ended_ || data.empty())
        return;
    Side& side = sides_[static_cast<std::size_t>(dir)];
    if (start_ == 0 || ts < start_)
        start_ = ts;
    side.bytes += data.size();
    if (!side.told) {
        std::size_t take = std::min(data.size(), kHeadBytes - side.head.size());
        side.head.append(reinterpret_cast<const char*>(data.data()), take);
        side.opening = classify_opening(
            {reinterpret_cast<const std::uint8_t*>(side.head.data()), side.head.size()});
        if (side.opening == Opening::kPartial && side.head.size() >= kHeadBytes)
            side.opening = Opening::kOther;
        side.told = side.opening != Opening::kPartial;
        // The first side to open as a shell is the shell; the other types, whatever it says.
        if (side.opening == Opening::kShell && shell_ < 0) {
            shell_ = static_cast<int>(dir);
            side.typed.clear();
        }
    }
    // The shell's own output is counted, not kept; the other side's lines are commands.
    if (shell_ == static_cast<int>(dir))
        return;
    take_lines(side, data, ts);
}

void ShellAnalyzer::on_gap(Direction dir, std::uint64_t len, Timestamp ts) {
    (void)len, (void)ts;
    sides_[static_cast<std::size_t>(dir)].lines.drop_after_gap();
}

void ShellAnalyzer::on_end(Timestamp ts) {
    if (ended_)
        return;
    ended_ = true;
    if (shell_ < 0)
        return;
    const int shell = shell_;
    Side& sh = sides_[static_cast<std::size_t>(shell)];
    Side& op = sides_[static_cast<std::size_t>(1 - shell)];
    if (auto rest = op.lines.flush(); rest && !rest->continued)
        add_line(op, rest->text, false, ts);
    ShellSession s;
    s.flow = ctx_.flow.id;
    const bool orig_is_shell = shell == static_cast<int>(Direction::kOrig);
    s.shell = orig_is_shell ? ctx_.flow.orig : ctx_.flow.resp;
    s.operator_ = orig_is_shell ? ctx_.flow.resp : ctx_.flow.orig;
    s.connect_back = orig_is_shell;
    s.banner = first_line(sh.head);
    s.start = start_;
    s.end = std::max(ts, start_);
    s.commands = std::move(op.typed);
    s.commands_dropped = op.typed_dropped;
    s.output_bytes = sh.bytes;
    if (ctx_.logs != nullptr)
        ctx_.logs->shell(s);
    if (result_.sessions.size() >= kMaxSessions) {
        if (result_.dropped++ == 0)
            ctx_.weird(kAnalyzerName, "shell_session_limit", ts);
        return;
    }
    result_.sessions.push_back(std::move(s));
}

}  // namespace botscope::analysis::shell
