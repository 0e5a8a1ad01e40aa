#pragma once
// Cleartext Windows command shells, as the worms and bots of the early 2000s spread through
// them: a bind shell (cmd.exe listening on 4444, say) or a connect-back shell (cmd.exe
// connecting out to its operator), both talking plain text. Pure functions: whether the first
// bytes of a direction are a shell's, and what a typed command line does.
//
// A shell speaks first: cmd.exe prints its banner ("Microsoft Windows XP [Version
// 5.1.2600]", a copyright line, a blank line) and then its prompt ("C:\WINDOWS\system32>");
// without the banner (`cmd /q /k`) the prompt comes first.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace botscope::analysis::shell {

enum class Opening : std::uint8_t {
    kShell,    ///< a cmd.exe banner or prompt
    kPartial,  ///< too short to tell: a prefix of one
    kOther,
};

/// Classifies the first bytes a direction sent.
Opening classify_opening(std::span<const std::uint8_t> first);

/// What one command (a piece of a line split at `&`, `&&`, `||` and `|`) does, when it fetches
/// or starts a file, or writes an FTP script. Words are as typed, quotes removed, at most
/// kMaxWord bytes.
struct Action {
    enum class Kind : std::uint8_t {
        kFetch,      ///< `tftp [-i] HOST GET FILE`, or `ftp ... -s:SCRIPT` (from the script)
        kStart,      ///< `start FILE`, or a command that is a file with an executable suffix
        kFtpScript,  ///< `echo open HOST [PORT] >[>] SCRIPT` or `echo get FILE >> SCRIPT`
    };
    Kind kind = Kind::kStart;
    std::string tool;    ///< kFetch: "tftp" or "ftp"; kStart: "start" or "run"
    std::string host;    ///< kFetch by tftp, kFtpScript `open`: the server
    std::string file;    ///< the file fetched or started; kFtpScript `get`: the file named
    std::string script;  ///< kFetch by ftp, kFtpScript: the script file
};

inline constexpr std::size_t kMaxWord = 256;

/// The actions of one typed line, in order.
std::vector<Action> parse_line(std::string_view line);

/// The file name without its folder, lower-cased: how a fetched and a started file are
/// matched ("C:\\x\\Bot.EXE" and "bot.exe").
std::string file_key(std::string_view path);

}  // namespace botscope::analysis::shell
