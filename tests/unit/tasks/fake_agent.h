#pragma once
// A guest agent played by a thread of the test, on a unix socket, speaking the real protocol
// (guest-agent/PROTOCOL.md) with the machine's secret: what a sample that controls the guest
// could put on the agent's channel. `Behaviour` says how it misbehaves; the default is an
// honest agent with one dropped file. Stands in for the guest because these tests run the
// real pipeline without a VM (tests/e2e runs it on one).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace botscope::tasks::test {

struct Behaviour {
    /// Dropped files listed (ids 1..n), each `file_size` bytes of 'A'.
    std::size_t dropped = 1;
    std::uint64_t file_size = 1024;
    /// Fetch announces a sha256 that is not the content's.
    bool wrong_hash = false;
    /// Fetch sends this many bytes whatever the listing said (0: the listed size).
    std::uint64_t send_size = 0;
    /// Every list page holds one non-object entry and says more:true, forever.
    bool endless_pages = false;
    /// Every list entry has fields of this many bytes (0: short fields).
    std::size_t field_bytes = 0;
    /// Entries per page of the process list (a page must fit the 64 KiB header).
    std::size_t process_events = 2;
    /// Wait before answering each list page.
    std::chrono::milliseconds page_delay{0};
    /// After answering exec, sessions authenticate with another secret: an impostor that
    /// killed the agent and took its channel without knowing the secret.
    bool impostor_after_exec = false;
    /// The agent ends a session idle for this long (0: never), as the real one does after 1 h.
    std::chrono::milliseconds idle_timeout{0};
    /// put answers io_error: a broken guest, before any sample ran.
    bool fail_put = false;
};

class FakeAgent {
public:
    FakeAgent(std::filesystem::path socket, std::vector<std::uint8_t> secret, Behaviour b);
    ~FakeAgent();
    FakeAgent(const FakeAgent&) = delete;
    FakeAgent& operator=(const FakeAgent&) = delete;

    const std::filesystem::path& socket() const { return socket_; }
    /// Sessions that completed the handshake.
    int sessions() const { return sessions_; }
    /// Operations received, in order, across sessions.
    std::vector<std::string> ops() const;
    /// Bytes of frames sent to the client.
    std::uint64_t bytes_sent() const { return sent_; }

private:
    void serve();
    void session(int fd);

    std::filesystem::path socket_;
    std::vector<std::uint8_t> secret_;
    Behaviour b_;
    int listen_fd_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<bool> exec_done_{false};
    std::atomic<int> sessions_{0};
    std::atomic<std::uint64_t> sent_{0};
    mutable std::mutex mu_;
    std::vector<std::string> ops_;
    std::thread thread_;
};

}  // namespace botscope::tasks::test
