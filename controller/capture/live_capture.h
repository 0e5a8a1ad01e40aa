#pragma once
// Live capture of one network interface (the analysis VM's tap) into a pcap file, with a byte cap.
//
// One capture thread per LiveCapture reads the interface with libpcap in non-blocking mode and
// waits in poll() on the pcap descriptor and an eventfd, so stop() never waits for a packet to
// arrive. The file is written by pcap_dump; before each packet the writer checks that
// the packet (16-byte record header + captured bytes) still fits under Options::max_bytes. At the
// first packet that does not fit, writing stops for good (the file stays a gap-free prefix of the
// traffic, readable to its end) and the rest are only counted.
//
// Error codes: bad_interface (name fails validation), no_device, permission, interface_down,
// bad_filter, bad_options, io_error (output file), pcap (any other libpcap failure), not_started
// (stop() on a moved-from object), system (thread or eventfd creation).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "util/result.h"

namespace botscope::capture {

using util::Done;
using util::Error;
using util::Result;

struct Options {
    /// Most bytes of the pcap file, its 24-byte header included. Must be at least 24.
    std::uint64_t max_bytes = 256ull << 20;
    /// Bytes kept of each packet; the default keeps whole packets (also 64 KiB GSO frames).
    int snaplen = 262144;
    /// Optional BPF filter (tcpdump syntax); empty captures everything.
    std::string filter;
    /// Kernel capture buffer; a larger one rides out bursts without kernel drops.
    int buffer_bytes = 8 << 20;
    /// Off (the default): the kernel packs packets into blocks that it hands over when full or
    /// after kBlockTimeoutMs, so the 8 MiB buffer holds tens of thousands of small packets and
    /// stop() waits up to 3 block timeouts for the last block. On: each packet is handed over
    /// at once, but in fixed slots sized for the largest packet (measured: 64 KiB on a veth,
    /// 128 KiB on lo), so 8 MiB holds only 128 or 64 packets and a short stall of the thread
    /// drops a burst. A file writer does not need per-packet latency.
    bool immediate = false;
};

/// Block hand-over interval when Options::immediate is off (pcap_set_timeout).
inline constexpr int kBlockTimeoutMs = 10;

struct Stats {
    std::uint64_t packets = 0;           ///< packets written to the file
    std::uint64_t bytes = 0;             ///< size of the file (24-byte header included)
    std::uint64_t packets_over_cap = 0;  ///< packets seen but not written because of the cap
    bool truncated = false;              ///< the cap was hit
    std::uint64_t kernel_drops = 0;      ///< pcap_stats ps_drop (buffer full)
    std::uint64_t interface_drops = 0;   ///< pcap_stats ps_ifdrop (the driver dropped them)
    double seconds = 0;                  ///< from start() to stop()
    /// Empty when the capture ran until stop(). Otherwise libpcap's reason for ending early
    /// (typically the tap went away because the VM was destroyed); the file holds everything
    /// up to that point and is complete.
    std::string ended_early;
};

/// A running capture. Movable; stopping (explicitly or by the destructor) joins the thread.
class LiveCapture {
public:
    /// Opens `interface` (pcap_create, snaplen, buffer, promisc off, block or immediate mode),
    /// activates it, sets the filter, opens `out` for writing (link type of the interface) and
    /// starts the capture thread. Returns once the capture is active: packets that reach the
    /// interface after start() returns are in the file. Errors name the interface (or file) and
    /// give libpcap's message.
    static Result<LiveCapture> start(const std::string& interface, const std::filesystem::path& out,
                                     Options options = {});

    /// Stops: reads what the kernel still holds, flushes and closes the file, returns the stats.
    /// Idempotent: later calls return the same result. io_error when the file could not be
    /// written completely (disk full).
    Result<Stats> stop();

    ~LiveCapture();
    LiveCapture(LiveCapture&&) noexcept;
    LiveCapture& operator=(LiveCapture&&) noexcept;
    LiveCapture(const LiveCapture&) = delete;
    LiveCapture& operator=(const LiveCapture&) = delete;

    struct Impl;

private:
    explicit LiveCapture(std::unique_ptr<Impl> impl);
    // Behind a pointer: the capture thread keeps the state's address while the handle moves.
    std::unique_ptr<Impl> impl_;
};

/// Checks an interface name for use in a /proc path and with libpcap: 1 to 15 characters of
/// [A-Za-z0-9._-], not ".", "..", "all" or "default" (the latter two are /proc/sys/net
/// entries for every interface, not interfaces).
Result<Done> check_interface_name(const std::string& interface);

/// Writes 1 to /proc/sys/net/ipv6/conf/<interface>/disable_ipv6 so that the host's own router
/// solicitation from a fresh tap does not land in the capture. Acts in the caller's network
/// namespace. Errors: bad_interface, no_device (no such interface, or IPv6 is off on the host),
/// permission, io_error.
Result<Done> disable_ipv6(const std::string& interface);

}  // namespace botscope::capture
