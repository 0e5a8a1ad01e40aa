#pragma once
// A sandbox in miniature for fakenet's live tests, made of two network namespaces that the test
// creates and removes: "host" holds a bridge with 10.66.0.1/24 (as libvirt's virbr-bs0 does)
// and fakenet; "guest" holds 10.66.0.10/24 on a veth whose peer is a port of that bridge, with
// its default route via 10.66.0.1. Nothing in either namespace has a route anywhere else, and
// nothing the tests send leaves them.

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"

namespace botscope::fakenet::live {

using Run = testing::Run;

/// Runs a command (argv[0] by path or on PATH), kills it after `deadline`.
inline Run run(const std::vector<std::string>& argv,
               std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
    return testing::run_process(argv, deadline);
}

/// A process left running (fakenet), killed with SIGTERM and reaped by stop() or the destructor.
class Child {
public:
    Child() = default;
    Child(const std::vector<std::string>& argv, const std::string& log_file);
    ~Child();
    Child(Child&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
    Child& operator=(Child&& o) noexcept;
    int pid() const { return pid_; }
    bool alive() const;
    /// SIGTERM, then SIGKILL after `grace`; returns the exit status (-1 when killed).
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

private:
    int pid_ = -1;
};

class Netns {
public:
    static constexpr const char* kBridge = "bsbr0";
    static constexpr const char* kGuestIf = "g0";
    Netns();
    ~Netns();
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    const std::string& host() const { return host_; }
    const std::string& guest() const { return guest_; }
    /// argv prefixed with `ip netns exec <ns>`.
    std::vector<std::string> exec(const std::string& ns, std::vector<std::string> argv) const;

private:
    std::string host_, guest_, error_;
};

/// Runs `fn` on a thread that entered network namespace `ns`: sockets it opens live there.
void in_ns(const std::string& ns, const std::function<void()>& fn);

/// Can this process make namespaces (root, ip(8))? The reason when not.
std::string netns_unavailable();

/// Peak resident memory of a process in KiB (VmHWM), 0 when unknown.
std::uint64_t peak_rss_kb(int pid);

}  // namespace botscope::fakenet::live
