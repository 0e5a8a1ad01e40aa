#pragma once
// The agent: authentication, the operations, and the watch state of one analysis run. OS
// specifics live behind platform.h, transports behind transport.h.

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform.h"
#include "protocol/protocol.h"
#include "transport.h"

namespace botscope::guest {

namespace proto = agent::proto;

inline constexpr std::string_view kAgentVersion = "0.1.0";

struct Config {
    std::filesystem::path workdir;
    std::vector<std::uint8_t> secret;
    /// Folders whose new or changed files are reported as dropped files.
    std::vector<std::filesystem::path> watch_dirs;
    /// Root under which the Linux autostart locations are looked up.
    std::filesystem::path autostart_root = "/";
    int auth_timeout_ms = 10'000;   // connect to authenticated
    int frame_timeout_ms = 30'000;  // first byte of a frame to its last byte
    int idle_timeout_ms = 3'600'000;
    int poll_ms = 100;  // process watch interval
    /// TCP: the only peer addresses served (the controller's); empty serves any.
    std::vector<std::string> allow;
};

class Agent {
public:
    explicit Agent(Config config);
    ~Agent();
    Agent(const Agent&) = delete;
    Agent& operator=(const Agent&) = delete;

    /// Serves streams from the listener until it fails.
    int serve(Listener& listener);
    /// Runs one session on a stream until it ends (used by serve and by tests). `authed` is set
    /// once the peer has authenticated.
    void run_session(Stream& stream, std::atomic<bool>* authed = nullptr);

private:
    struct Session;
    struct FileStamp {
        std::uint64_t size = 0;
        std::int64_t mtime = 0;
    };
    struct DroppedFile {
        std::filesystem::path path;
        std::uint64_t size = 0;
        std::string sha256;
    };

    // One request: the header is parsed, the body (body_len bytes) still unread on the stream.
    // `mac`: the request's MAC in progress (put feeds its body to it and checks it).
    nlohmann::json dispatch(Session& s, const nlohmann::json& req, std::uint32_t body_len,
                            std::string_view op, std::optional<proto::FrameMac>& mac, bool& close);

    nlohmann::json op_hello();
    nlohmann::json op_put(Session& s, const nlohmann::json& req, std::uint32_t body_len,
                          std::optional<proto::FrameMac>& mac, bool& close);
    nlohmann::json op_watch_start();
    nlohmann::json op_exec(const nlohmann::json& req);
    nlohmann::json op_processes(const nlohmann::json& req);
    nlohmann::json op_dropped(const nlohmann::json& req);
    bool op_fetch(Session& s, const nlohmann::json& req);
    nlohmann::json op_sockets(const nlohmann::json& req);
    nlohmann::json op_autostart(const nlohmann::json& req);
    nlohmann::json op_kill(const nlohmann::json& req);
    nlohmann::json op_set_clock(const nlohmann::json& req);

    // Watch state; callers hold mu_.
    void start_watch_locked();
    void poll_locked();
    std::map<std::string, FileStamp> scan_files() const;
    std::map<std::string, std::string> autostart_snapshot() const;
    void watcher_loop();

    Config config_;
    std::mutex mu_;

    std::deque<proto::Nonce> seen_nonces_;
    std::set<proto::Nonce> seen_nonce_set_;

    bool watching_ = false;
    std::map<std::uint32_t, ProcBasic> live_;
    std::vector<nlohmann::json> events_;
    bool events_truncated_ = false;
    std::set<std::uint32_t> tree_;
    std::map<std::uint32_t, int> exit_codes_;
    // New processes whose image or command line could not be read yet, with what was read.
    struct PendingStart {
        int polls = 0;
        std::int64_t first_seen_ms = 0;
        std::uint32_t ppid = 0;
        std::string image;
        std::string cmdline;
    };
    std::map<std::uint32_t, PendingStart> pending_;
    std::map<std::string, FileStamp> file_baseline_;
    std::map<std::string, std::string> autostart_baseline_;
    std::vector<DroppedFile> dropped_;
    std::vector<nlohmann::json> dropped_json_, sockets_json_, autostart_json_;
    bool dropped_truncated_ = false;

    std::atomic<bool> stop_{false};
    // The concurrent sessions (sockets), oldest first: at most kMaxSessions, and the oldest that
    // has not authenticated gives way to a new connection.
    struct Slot {
        Stream* stream;
        std::atomic<bool> authed{false};
    };
    static constexpr std::size_t kMaxSessions = 8;
    std::mutex slots_mu_;
    std::list<std::shared_ptr<Slot>> slots_;
    std::thread watcher_;
};

}  // namespace botscope::guest
