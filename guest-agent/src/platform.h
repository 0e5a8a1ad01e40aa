#pragma once
// What the agent needs from the operating system, one implementation per OS
// (platform_linux.cpp, platform_windows.cpp). Everything here returns values; a failure carries
// the OS's own message.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace botscope::guest {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

/// The last OS error as text ("errno 2: No such file or directory", "Win32 error 5: ...").
std::string last_error_text();

/// Fills `out` from the OS CSPRNG (Linux getrandom, Windows RtlGenRandom); false on failure.
bool random_bytes(std::span<std::uint8_t> out);

struct OsInfo {
    std::string os;       // "linux" or "windows"
    std::string version;  // kernel release / Windows version and build
    std::string arch;     // "x86_64"
    std::string hostname;
};
OsInfo os_info();

/// Wall-clock time in milliseconds since the Unix epoch.
std::int64_t wall_clock_ms();
/// Sets the wall clock; empty on success, else the reason.
std::string set_wall_clock_ms(std::int64_t ms);

/// A file opened by the agent, closed on destruction.
class File {
public:
    File();
    ~File();
    File(File&& o) noexcept;
    File& operator=(File&& o) noexcept;
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    /// Creates a file that must not exist yet (never follows a link planted under that name).
    static File create_new(const std::filesystem::path& p, std::string& error);
    /// Opens an existing regular file for reading.
    static File open_read(const std::filesystem::path& p, std::string& error);

    bool is_open() const;
    /// Writes everything; false (and `error`) on failure.
    bool write_all(std::span<const std::uint8_t> data, std::string& error);
    /// Reads up to out.size() bytes; -1 on error.
    long long read(std::span<std::uint8_t> out);
    /// Size of the open file, or -1.
    long long size() const;
    void close();

private:
    std::intptr_t h_;
};

/// Atomically replaces `to` with `from` (same directory).
std::string replace_file(const std::filesystem::path& from, const std::filesystem::path& to);

/// One process as seen in a snapshot.
struct ProcBasic {
    std::uint32_t pid = 0;
    std::uint32_t ppid = 0;
    /// Distinguishes a reused pid: start time in OS units, 0 when unknown.
    std::uint64_t start_key = 0;
};
std::vector<ProcBasic> list_processes();
/// Full image path and command line of a live process (empty when they cannot be read).
void process_details(std::uint32_t pid, std::string& image, std::string& cmdline);

struct SpawnResult {
    std::uint32_t pid = 0;
    std::string error;  // empty on success
};
/// Starts `exe` with `args`, detached from the agent (own session/process group, no console,
/// stdio on the null device), working directory `cwd`.
SpawnResult spawn_detached(const std::filesystem::path& exe, const std::vector<std::string>& args,
                           const std::filesystem::path& cwd);

/// Collects exit statuses of the agent's own children (Linux: reaps zombies); appends
/// (pid, exit code).
void reap_children(std::vector<std::pair<std::uint32_t, int>>& exited);

/// Kills each pid (SIGKILL / TerminateProcess); returns the ones that were killed.
std::vector<std::uint32_t> kill_processes(const std::vector<std::uint32_t>& pids);

struct ListenSocket {
    std::string proto;  // "tcp" or "tcp6"
    std::string address;
    std::uint16_t port = 0;
    std::uint32_t pid = 0;  // 0 when the owner is unknown
};
/// TCP sockets in LISTEN state with their owning process; `error` is set when the table cannot
/// be read at all.
std::vector<ListenSocket> listening_sockets(std::string& error);

struct AutostartEntry {
    std::string kind;      // "run", "runonce", "service", "file"
    std::string location;  // registry key or folder
    std::string name;      // value name, service name or file name
    std::string value;     // command, image path or a content hash
};
/// Current autostart entries. `root` is the file-system root under which the Linux locations
/// are looked up ("/" in a guest; a test passes a scratch folder); Windows ignores it.
std::vector<AutostartEntry> autostart_entries(const std::filesystem::path& root);

/// The agent's own process id.
std::uint32_t current_pid();

/// UTF-8 text of a path (Windows paths are UTF-16 inside).
std::string path_utf8(const std::filesystem::path& p);
std::filesystem::path path_from_utf8(const std::string& s);

}  // namespace botscope::guest
