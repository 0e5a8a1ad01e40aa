#pragma once
// Starts the real agent binary (Linux, or the Windows .exe under wine) as a child process in a
// scratch folder, and hands out authenticated clients. Configured by the environment that
// ctest sets (tests/agent/CMakeLists.txt):
//   BOTSCOPE_AGENT_MODE  "linux" (unix socket and TCP) or "wine" (TCP only)
//   BOTSCOPE_AGENT_BIN   the agent executable (.exe in wine mode)
//   BOTSCOPE_SAMPLE_BIN  the sample bot for that platform
//   BOTSCOPE_WINE        the wine loader;  BOTSCOPE_WINEPREFIX  its prefix

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_client.h"

namespace botscope::agent::test {

struct Env {
    std::string mode, agent_bin, sample_bin, wine, wineprefix;
    bool wine_mode() const { return mode == "wine"; }
    /// Empty when everything is there; else why the suite must be skipped.
    std::string missing() const;
    static const Env& get();
};

/// A scratch folder removed at the end.
struct Scratch {
    std::filesystem::path root, work, watch, autoroot, store, secret_file;
    std::vector<std::uint8_t> secret;
    Scratch();
    ~Scratch();
};

enum class Transport { kUnix, kTcp };

class AgentProcess {
public:
    AgentProcess(const Scratch& s, Transport t, const std::vector<std::string>& extra = {});
    ~AgentProcess();
    AgentProcess(const AgentProcess&) = delete;
    AgentProcess& operator=(const AgentProcess&) = delete;

    bool running() const { return port_ != 0 || !unix_path_.empty(); }
    std::uint16_t port() const { return port_; }  ///< TCP: on 127.0.0.1
    const std::string& startup_error() const { return error_; }
    Transport transport() const { return transport_; }

    Result<Client> open(Options o = {}) const;
    Result<Client> connect(Options o = {}) const;
    Result<Client> connect_with(std::span<const std::uint8_t> secret, Options o = {}) const;
    /// The path as the agent sees it (Z:\... under wine).
    std::string guest_path(const std::filesystem::path& p) const;
    bool alive() const;

private:
    const Scratch& s_;
    Transport transport_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::string unix_path_, error_;
    std::filesystem::path log_;  ///< the agent's stderr (and wine's)
};

/// The agent(s) shared by all test cases: one per transport the mode supports.
struct Shared {
    Scratch scratch;
    std::vector<std::unique_ptr<AgentProcess>> agents;
    Shared();
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;
    static Shared& get();
};

/// Bytes of a string.
/// For the message of a check that runs on both transports.
inline const char* name_of(Transport t) {
    return t == Transport::kUnix ? "unix" : "tcp";
}

inline std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Every regular file under `dir` (relative paths), for "nothing written outside" checks.
std::vector<std::string> tree_listing(const std::filesystem::path& dir);

}  // namespace botscope::agent::test
