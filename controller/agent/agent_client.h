#pragma once
// Host side of the guest agent protocol (guest-agent/PROTOCOL.md). Connects to the agent over
// the virtio-serial channel's unix socket or over TCP, authenticates both ways, and wraps each
// operation in a call with a deadline.
//
// Nothing the guest sends is trusted: every frame is checked against the protocol limits before
// anything is allocated, every field is type-checked, strings are cut at kMaxFieldBytes, lists
// at the protocol's own caps (kMaxProcessEvents, kMaxDropped, ...) and a byte budget, entries
// become typed structs page by page (a page's JSON is never kept), and fetched files are stored
// under their SHA-256 in a folder the caller names, never under a name from the guest. Every
// call ends by its own deadline and by the caller's overall one (`limit_until`), so no agent
// can keep a stage going. Every failure is a value (Error), never an exception; after a
// transport or framing error the connection is closed and further calls fail. After the
// handshake every frame both ways carries a MAC under a key of that session (protocol.h,
// SessionKeys): a frame that fails it closes the connection (code bad_mac).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/protocol.h"
#include "util/result.h"

namespace botscope::agent {

/// Error codes: one of the protocol's error codes (when the agent refused) or a client-side
/// one: connect, timeout, closed, bad_frame, bad_json, bad_response, fake_agent, too_large,
/// io_error, hash_mismatch.
using util::Done;
using util::Error;
using util::Result;

struct Options {
    /// Deadline of connecting plus authenticating.
    std::chrono::milliseconds connect_timeout{10'000};
    /// Deadline of one call, from sending the request to the last byte of the response.
    std::chrono::milliseconds call_timeout{30'000};
    /// Most bytes of text kept from one list across all its pages; past it the list is cut
    /// and marked truncated (4 096 process events of two full fields each fit).
    std::size_t max_list_bytes = 24u << 20;
};

struct Hello {
    std::string os, os_version, arch, hostname, agent_version, work_dir;
    int version = 0;
    std::int64_t time_ms = 0;
    bool watching = false;
};

struct PutResult {
    std::string name;
    std::uint64_t size = 0;
    std::string sha256;
};

struct WatchInfo {
    std::int64_t time_ms = 0;
    std::uint64_t processes = 0, files = 0, autostart = 0;
};

struct ProcessEvent {
    std::uint64_t seq = 0;
    std::string type;  // "start" or "exit"
    std::uint32_t pid = 0, ppid = 0;
    std::string image, cmdline;
    bool in_tree = false;
    std::optional<int> exit_code;
    std::int64_t time_ms = 0;
};

/// What the client left out of a list, beyond what the agent itself reported as truncated.
struct ListCut {
    bool truncated = false;        ///< the agent said so, or a cap below was reached
    std::uint64_t malformed = 0;   ///< entries that were not objects, or lacked a required field
    std::string why;               ///< empty, or which cap cut the list
};

struct ProcessList {
    std::vector<ProcessEvent> events;
    std::vector<std::uint32_t> tree_alive;
    ListCut cut;
};

struct DroppedFile {
    std::int64_t id = 0;
    std::string path, status, sha256;  // sha256 empty when not hashed (too large, unreadable)
    std::uint64_t size = 0;
    bool too_large = false;
};

struct DroppedList {
    std::vector<DroppedFile> files;
    ListCut cut;
};

struct FetchedFile {
    std::filesystem::path stored;  // <store_dir>/<sha256>
    std::string sha256;
    std::uint64_t size = 0;
};

struct ListenSocket {
    std::string proto, address, image;
    std::uint16_t port = 0;
    std::uint32_t pid = 0;
    bool in_tree = false;
};

struct SocketList {
    std::vector<ListenSocket> sockets;
    ListCut cut;
};

struct AutostartEntry {
    std::string kind, location, name, value, status;
};

struct AutostartList {
    std::vector<AutostartEntry> entries;
    ListCut cut;
};

/// One response: its header and (for operations that have one) its body.
struct Response {
    nlohmann::json header;
    std::vector<std::uint8_t> body;
};

class Client {
public:
    ~Client();
    Client(Client&& o) noexcept;
    Client& operator=(Client&& o) noexcept;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Connects and authenticates (both ways: a peer without the secret is reported as
    /// fake_agent).
    static Result<Client> connect_unix(const std::string& path,
                                       std::span<const std::uint8_t> secret, Options options = {});
    static Result<Client> connect_tcp(const std::string& address, std::uint16_t port,
                                      std::span<const std::uint8_t> secret, Options options = {});
    /// Connects without authenticating (tests of the agent's refusals; then `authenticate`).
    static Result<Client> open_unix(const std::string& path, Options options = {});
    static Result<Client> open_tcp(const std::string& address, std::uint16_t port,
                                   Options options = {});
    /// Takes over an already connected stream socket (a caller that connected itself; the fuzz
    /// target feeds responses through a socketpair).
    static Client adopt_fd(int fd, Options options = {}) { return Client(fd, options); }
    /// The handshake. `fixed_nonce` exists for the replay test only; real callers omit it.
    Result<Done> authenticate(std::span<const std::uint8_t> secret,
                              std::optional<proto::Nonce> fixed_nonce = std::nullopt);

    Result<Hello> hello();
    Result<PutResult> put(std::string_view name, std::span<const std::uint8_t> content);
    Result<WatchInfo> watch_start();
    /// Runs a file of the work directory with arguments; returns its pid.
    Result<std::uint32_t> exec(std::string_view name, const std::vector<std::string>& args = {});
    Result<ProcessList> processes();
    Result<DroppedList> dropped();
    /// Fetches a dropped file into `store_dir`, named by its SHA-256 (checked on arrival). A
    /// body over `max_size` is refused before anything is written (code too_large).
    Result<FetchedFile> fetch(std::int64_t id, const std::filesystem::path& store_dir,
                              std::uint64_t max_size = proto::kMaxBody);
    Result<SocketList> sockets();
    Result<AutostartList> autostart();
    /// Kills the tree of `pid`, or of every process the run started.
    Result<std::vector<std::uint32_t>> kill(std::optional<std::uint32_t> pid = std::nullopt);
    /// Sets the guest clock; returns the guest's time afterwards.
    Result<std::int64_t> set_clock(std::int64_t time_ms);

    /// One raw request/response (a body of up to `max_body` bytes is read into memory).
    Result<Response> call(const nlohmann::json& request, std::span<const std::uint8_t> body = {},
                          std::uint32_t max_body = 0);
    /// Sends raw bytes (tests of the agent's frame checks).
    Result<Done> send_raw(std::span<const std::uint8_t> bytes);
    /// Sends raw bytes as the session's next frame: the MAC over them follows when the session
    /// has keys (tests of the agent's checks on authenticated frames).
    Result<Done> send_raw_frame(std::span<const std::uint8_t> bytes);
    /// Reads one response frame (tests).
    Result<Response> read_response(std::uint32_t max_body = 0);

    bool connected() const { return fd_ >= 0; }

    using Deadline = std::chrono::steady_clock::time_point;
    /// Every later call ends by `d` as well as by its own call_timeout: the deadline of the
    /// stage the caller is in (collect), whatever the agent does page after page.
    void limit_until(std::optional<Deadline> d) { limit_ = d; }

private:
    Client(int fd, Options options) : fd_(fd), options_(options) {}
    Deadline deadline() const {
        auto d = std::chrono::steady_clock::now() + options_.call_timeout;
        return limit_ && *limit_ < d ? *limit_ : d;
    }
    Result<Done> write_all(std::span<const std::uint8_t> data, Deadline d);
    Result<Done> read_exact(std::uint8_t* p, std::size_t n, Deadline d);
    Result<Done> send_frame(const nlohmann::json& header, std::span<const std::uint8_t> body,
                            Deadline d);
    /// Reads the prefix and header of a response; the body (prefix body_len) stays unread.
    Result<Response> read_header(Deadline d, std::uint32_t max_body, std::uint32_t& body_len);
    Result<Response> read_frame(Deadline d, std::uint32_t max_body);
    /// Body bytes of the frame being read (they count towards its MAC).
    Result<Done> read_body(std::uint8_t* p, std::size_t n, Deadline d);
    /// The end of the frame being read: its MAC, read and checked when the session has keys.
    Result<Done> finish_frame(Deadline d);
    Result<Response> checked(const nlohmann::json& request, Result<Response> r);
    /// Pages through list `op`, giving each object entry to `take` as it arrives (false: the
    /// entry lacked what makes it usable). At most `cap` entries, counting malformed ones, and
    /// options_.max_list_bytes of text (`take` adds what it kept to `bytes`).
    Result<Done> paged(std::string_view op, std::size_t cap, ListCut& cut, nlohmann::json* last,
                       const std::function<bool(const nlohmann::json&, std::size_t& bytes)>& take);
    Error fail(std::string code, std::string message);

    int fd_ = -1;
    Options options_;
    std::optional<Deadline> limit_;
    std::optional<proto::FrameSigner> send_mac_, recv_mac_;  ///< set by the handshake
    std::optional<proto::FrameMac> reading_;                 ///< the frame being read
};

}  // namespace botscope::agent
