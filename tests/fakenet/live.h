#pragma once
// fakenet running for real (the `botscope fakenet run` binary) in the namespaces of netns.h,
// and a guest's view of it: DNS queries, TCP exchanges and UDP datagrams sent from the guest
// namespace.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fakenet/session.h"
#include "netns.h"

namespace botscope::fakenet::live {

/// The binaries under test (set by CMake): botscope and the bot emulator.
std::string botscope_bin();
std::string botemu_bin();

/// A temporary folder, removed at the end.
struct TempDir {
    TempDir();
    ~TempDir();
    std::filesystem::path path;
};

/// fakenet for the namespaces: its configuration in a temporary folder, its process, its
/// control socket.
class Fakenet {
public:
    Fakenet(const Netns& net, std::string extra_config = "");
    ~Fakenet();
    /// Starts `botscope fakenet run` in the host namespace and waits until it answers.
    bool start(std::string& why);
    int stop();
    bool alive() const { return child_.alive(); }
    int pid() const { return child_.pid(); }
    Json call(const Json& request) const;
    /// Begins task `id` on `guest` with `script` as its operator ("" for none); its folder is
    /// dir()/id.
    Json begin(const std::string& id, const std::string& script = "",
               const Json& dns = Json::object(), const std::string& guest = "10.66.0.10");
    /// Ends task `id` (on `guest`, when given).
    Json end(const std::string& id, const std::string& guest = "");
    std::filesystem::path dir() const { return tmp_.path; }
    std::filesystem::path config() const { return tmp_.path / "botscope.ini"; }
    std::string log() const;
    /// `botscope fakenet <sub>` with this configuration, run in the host namespace.
    Run command(const std::string& sub) const;

private:
    const Netns& net_;
    TempDir tmp_;
    Child child_;
};

/// One DNS query from the guest namespace (from `source`, an address of the guest): the
/// answer's bytes, or nullopt after `wait`.
std::optional<std::string> dns_query(const Netns& net, const std::string& server,
                                     const std::string& name, std::uint16_t type,
                                     std::chrono::milliseconds wait = std::chrono::seconds(2),
                                     const std::string& source = "");

/// A UDP datagram from the guest, and what came back within `wait` (maybe nothing).
std::optional<std::string> udp_exchange(const Netns& net, const std::string& ip,
                                        std::uint16_t port, const std::string& payload,
                                        std::chrono::milliseconds wait);

struct TcpResult {
    bool connected = false;
    int error = 0;  ///< errno of a failed connect (ECONNREFUSED, ETIMEDOUT...)
    std::string received;
};

/// Connects from the guest namespace, sends `payload`, reads until `until` appears in what came
/// back, the peer closes, or `wait` passes.
TcpResult tcp_exchange(const Netns& net, const std::string& ip, std::uint16_t port,
                       const std::string& payload, std::chrono::milliseconds wait,
                       const std::string& until = "", const std::string& source = "");

/// The records of `kind` in an "end" answer's fakenet part.
std::vector<Json> records(const Json& fakenet_part, const std::string& kind);

}  // namespace botscope::fakenet::live
