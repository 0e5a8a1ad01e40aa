#pragma once
// The controller's view of libvirt: revert a VM to its snapshot, read its state, find its tap
// device and agent socket, stop it. Every libvirt call runs under a deadline, because libvirt
// calls have none of their own and a hung daemon must not hang the controller.
//
// Error codes (util::Error::code):
//   no_daemon    libvirtd is not listening at the URI's socket
//   connect      any other failure to open the connection, or the connection is dead (a deadline
//                expired earlier, the daemon went away or keepalive failed): connect again
//   timeout      libvirt did not answer within Options::call_timeout; the connection is dead
//   no_domain    no domain of that name
//   no_snapshot  the domain has no snapshot of that name
//   bad_state    the domain is not in a state the operation can work with (e.g. no tap while
//                shut off, still not running after a revert)
//   bad_xml      libvirt's XML could not be read (see domain_xml.h)
//   no_interface the live domain XML has no <interface> (see domain_xml.h)
//   libvirt      any other libvirt failure; the message carries libvirt's own

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace botscope::machinery {

/// Connection settings.
struct Options {
    /// Deadline on every libvirt call (connect included). On expiry the call returns "timeout"
    /// and the connection is marked dead.
    std::chrono::milliseconds call_timeout{60'000};
    /// libvirt keepalive: a daemon that stops answering is noticed after about
    /// interval × (count + 1) seconds; the connection then reports alive() == false.
    int keepalive_interval = 5, keepalive_count = 3;
};

/// A domain's state as virsh names it.
struct DomainState {
    /// running, paused, shutoff, crashed, blocked, shutdown, pmsuspended or nostate
    /// ("unknown" for a value newer than this libvirt's headers).
    std::string state;
    /// Why it is in that state, e.g. "destroyed", "from snapshot", "booted", "unknown".
    std::string reason;
};

/// A snapshot of a domain.
struct SnapshotInfo {
    std::string name;
    /// True when the snapshot holds the guest's memory (its state is running, paused or
    /// blocked), so that a revert resumes the guest instead of booting it.
    bool running_state = false;
    /// The snapshot's <state> as libvirt writes it: running, paused, shutoff, disk-snapshot, …
    std::string state;
};

/// Devices read from the LIVE domain XML. They change on every revert (qemu restarts): read them
/// again after each one.
struct LiveDevices {
    std::string tap;      ///< <interface><target dev='vnetN'/> of the first interface
    std::string mac;      ///< that interface's <mac address>
    std::string network;  ///< that interface's <source network=…> (or bridge=…); may be empty
    std::string agent_socket;  ///< <channel type='unix'><source path=…> of the agent channel;
                               ///< empty if the domain has none
};

/// One line of `vm list`.
struct DomainSummary {
    std::string name;
    DomainState state;
    std::vector<std::string> snapshots;  ///< snapshot names, sorted
};

namespace detail {
struct Connection;
}

/// One libvirt connection. Domains are looked up by name on every call, because a domain handle
/// keeps a stale id after a revert. Movable, not copyable; safe to use from several threads.
class Hypervisor {
public:
    /// Registers libvirt's default event loop once per process (a thread running
    /// virEventRunDefaultImpl), opens `uri` within the deadline and sets keepalive. A missing
    /// daemon gives Error{"no_daemon", "cannot connect to libvirt at <uri>: <libvirt's message>.
    /// Is libvirtd running? (tools/start-libvirt starts it)"}.
    static util::Result<Hypervisor> connect(const std::string& uri, Options options = {});

    Hypervisor(Hypervisor&&) noexcept;
    Hypervisor& operator=(Hypervisor&&) noexcept;
    Hypervisor(const Hypervisor&) = delete;
    Hypervisor& operator=(const Hypervisor&) = delete;
    ~Hypervisor();

    /// The domain's state and its reason.
    util::Result<DomainState> state(const std::string& domain);
    /// Looks up a snapshot; a missing one gives "no_snapshot" naming domain and snapshot.
    util::Result<SnapshotInfo> snapshot(const std::string& domain, const std::string& name);
    /// Revert to a snapshot and leave the domain running: running-state snapshot →
    /// REVERT_RUNNING; shut-off snapshot → revert then start. Works whether the domain is running
    /// or shut off. Afterwards read live_devices() again: tap and socket have changed.
    util::Result<util::Done> revert(const std::string& domain, const std::string& snapshot);
    /// Hard power-off. A domain that is already shut off is fine.
    util::Result<util::Done> destroy(const std::string& domain);
    /// Tap, MAC and agent socket of the running domain; "bad_state" when the domain has no tap
    /// (it is not running).
    util::Result<LiveDevices> live_devices(const std::string& domain,
                                           const std::string& channel = "org.botscope.agent.0");
    /// Every domain (running or not) with its state and snapshots, sorted by name.
    util::Result<std::vector<DomainSummary>> domains();
    /// Takes a snapshot of the domain as it is now (running-state when it runs). For tests and
    /// for preparing a guest.
    util::Result<util::Done> create_snapshot(const std::string& domain, const std::string& name);
    /// Deletes one snapshot (its children are kept).
    util::Result<util::Done> delete_snapshot(const std::string& domain, const std::string& name);

    /// False after a deadline expired, after the daemon closed the connection or keepalive
    /// failed, and on a moved-from object. Calls on a dead connection fail at once ("connect").
    bool alive() const;
    /// Why the connection is dead; empty while alive.
    std::string dead_reason() const;
    /// The URI this connection was opened with.
    const std::string& uri() const;

private:
    explicit Hypervisor(std::shared_ptr<detail::Connection> c);
    std::shared_ptr<detail::Connection> c_;
};

/// How many libvirt calls are running on worker threads right now, in this process, including
/// those whose deadline expired and that were abandoned. For tests and diagnostics: an abandoned
/// call ends when libvirt returns (e.g. keepalive closes the dead connection).
std::size_t calls_in_flight();

}  // namespace botscope::machinery
