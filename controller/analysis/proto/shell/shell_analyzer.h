#pragma once
// Cleartext remote shells (shell_parser.h): the session, which side is the shell, its banner,
// and each command its operator typed, as lines of the other direction. The shell's output is
// counted, not kept. Found by content on any port: the side that speaks first opens with a
// cmd.exe banner or prompt.
//
// Limits:
//   kMaxSessions        256  sessions kept (later ones counted in `dropped`)
//   kMaxCommands        256  commands kept per session (the rest counted)
//   kMaxCommandLength   512  bytes of a command line kept (longer ones cut and flagged)

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/line_assembler.h"
#include "analysis/proto/shell/shell_parser.h"
#include "analysis/types.h"

namespace botscope::analysis::shell {

inline constexpr std::size_t kMaxSessions = 256;
inline constexpr std::size_t kMaxCommands = 256;
inline constexpr std::size_t kMaxCommandLength = 512;

inline constexpr std::string_view kAnalyzerName = "shell";

/// Every weird this analyzer reports (analyzer name "shell").
inline constexpr std::array<WeirdInfo, 3> kWeirds{{
    {"shell_command_too_long", "a command line longer than kMaxCommandLength; kept cut"},
    {"shell_command_limit", "more than kMaxCommands commands in one session; counted only"},
    {"shell_session_limit", "more than kMaxSessions shell sessions; counted only"},
}};

struct ShellCommand {
    Timestamp ts = 0;
    std::string text;  ///< the line as typed, without its end
    bool truncated = false;
};

struct ShellSession {
    FlowId flow = 0;
    Endpoint shell;      ///< where cmd.exe ran
    Endpoint operator_;  ///< who typed
    /// The shell connected out to its operator (a connect-back shell); else it was bound to a
    /// port the operator connected to.
    bool connect_back = false;
    std::string banner;  ///< its first line ("Microsoft Windows XP [Version 5.1.2600]"), or
                         ///< the prompt when it had no banner
    Timestamp start = 0;
    Timestamp end = 0;
    std::vector<ShellCommand> commands;
    std::uint64_t commands_dropped = 0;
    std::uint64_t output_bytes = 0;  ///< what the shell sent
};

struct ShellResult {
    std::vector<ShellSession> sessions;
    std::uint64_t dropped = 0;
};

/// kMatch when the first bytes of either direction are a cmd.exe banner or prompt; kNoMatch
/// when a direction opened with something else and the other has said nothing (a shell
/// speaks first).
ProbeResult probe(const ProbeInput& in);

class ShellAnalyzer final : public StreamAnalyzer {
public:
    ShellAnalyzer(const AnalyzerContext& ctx, ShellResult& result);

    void on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) override;
    void on_gap(Direction dir, std::uint64_t len, Timestamp ts) override;
    void on_end(Timestamp ts) override;

private:
    struct Side {
        std::string head;  ///< its first bytes, until the opening is told
        bool told = false;
        Opening opening = Opening::kPartial;
        LineAssembler lines{kMaxCommandLength};
        std::vector<ShellCommand> typed;  ///< lines, while this may be the operator's side
        std::uint64_t typed_dropped = 0;
        std::uint64_t bytes = 0;
    };

    void take_lines(Side& side, std::span<const std::uint8_t> data, Timestamp ts);
    void add_line(Side& side, std::string_view text, bool cut, Timestamp ts);

    AnalyzerContext ctx_;
    ShellResult& result_;
    std::array<Side, 2> sides_;
    int shell_ = -1;  ///< the Direction that opened as a shell first
    Timestamp start_ = 0;
    bool ended_ = false;
};

}  // namespace botscope::analysis::shell
