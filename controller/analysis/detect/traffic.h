#pragma once
// Flood and scan detection on the packet path. The engine calls it for every flow start,
// every packet and every flow end; it keeps a few counters per destination address (floods)
// and per source address (scans), never the packets.
//
// Floods are counted per target address and kind in episodes: an episode ends when the target
// gets nothing of that kind for `flood.idle_gap`; a finished episode that meets the kind's
// thresholds (config.h) is a finding. Kinds:
//   syn      pure SYNs from the flow's originator to the target
//   connect  completed TCP handshakes to the target
//   udp      UDP datagrams to the target (replies from it are counted apart)
//   icmp     ICMP messages to the target that are neither errors nor replies
//   synack   SYN-ACKs arriving at the target unasked (the engine saw no SYN): reflection
// A udp or synack flood that nearly all came from one source port of many sources was
// reflected by those servers (Flood::reflection; config.h, min_reflectors).
// HTTP request floods are found after the analysis, from the HTTP transactions (flood.h).
//
// Scans are counted per source address and transport from connection attempts: flows whose
// first packet was the originator's pure SYN, a UDP datagram, or an ICMP echo request.
// Backscatter (a SYN-ACK or RST arriving first) is no attempt. An attempt is unproductive when
// no payload was exchanged (TCP: nothing the responder sent; UDP: no reply datagram; ICMP: no
// echo reply). TrafficDetector::Impl::scans() in traffic.cpp decides the kinds.
//
// Limits: kMaxSources distinct sources kept per flood episode (estimated beyond,
// distinct_count.h); kMaxPorts distinct ports (counted beyond, listed up to kMaxListed);
// kMaxScanners sources tracked; kMaxProbeRecords distinct (scanner, target, port) probes in
// all. Past a limit the counts say so; nothing grows further.

#include <cstdint>
#include <memory>

#include "analysis/detect/behavior.h"
#include "analysis/detect/config.h"
#include "analysis/types.h"

namespace botscope::analysis::detect {

inline constexpr std::size_t kMaxSources = 4096;
inline constexpr std::size_t kMaxPorts = 4096;
inline constexpr std::size_t kMaxScanners = 4096;
inline constexpr std::size_t kMaxProbeRecords = 131'072;

struct Target;
struct Scanner;

/// What the detector keeps in each live flow (the engine's FlowState holds one).
struct FlowTag {
    Target* target = nullptr;  ///< the responder's flood counters, while the flow lives
    Scanner* scanner = nullptr;
    std::uint32_t probe = 0;  ///< record index in `scanner`, when an attempt
    /// The flood episodes the flow was counted in: [0] syn, udp or icmp; [1] connect.
    std::uint32_t episode_seq[2] = {0, 0};
    std::uint64_t first_packet = 0;  ///< packet numbers
    std::uint64_t last_packet = 0;
    bool attempt = false;
    bool reflected = false;   ///< TCP opened by a SYN-ACK: counted towards its receiver
    bool handshake = false;   ///< counted its completed handshake
    bool icmp_error = false;  ///< an ICMP error quoted one of its packets
    bool icmp_from_target = false;
};

/// One packet as the detector sees it.
struct PacketFacts {
    Timestamp ts = 0;
    std::uint64_t number = 0;  ///< 1-based, in file order
    Direction dir = Direction::kOrig;
    Transport transport = Transport::kOther;
    std::uint32_t wire_len = 0;  ///< IP bytes
    std::uint8_t tcp_flags = 0;
    std::uint8_t icmp_type = 0;
};

/// A flow as it ends.
struct FlowFacts {
    const FlowInfo* info = nullptr;
    std::uint64_t packets[2] = {0, 0};
    std::uint64_t bytes[2] = {0, 0};
    std::uint64_t payload[2] = {0, 0};
    bool synack = false;  ///< TCP: the responder sent a SYN-ACK
};

class TrafficDetector {
public:
    explicit TrafficDetector(const Config& config);
    ~TrafficDetector();
    TrafficDetector(const TrafficDetector&) = delete;
    TrafficDetector& operator=(const TrafficDetector&) = delete;

    /// A new flow. `first` is its first packet; `flipped` when the engine made the packet's
    /// receiver the originator (a SYN-ACK seen first).
    void flow_start(FlowTag& tag, const FlowInfo& info, const PacketFacts& first, bool flipped);
    void packet(FlowTag& tag, const FlowInfo& info, const PacketFacts& p);
    /// The responder sent a SYN-ACK and the originator then an ACK: a completed handshake.
    void handshake(FlowTag& tag, const FlowInfo& info, const PacketFacts& p);
    /// An ICMP error from `from` quoted a packet of this flow.
    void icmp_error(FlowTag& tag, const FlowInfo& info, const IpAddress& from);
    void flow_end(FlowTag& tag, const FlowFacts& f);
    /// Closes idle flood episodes and frees idle targets; the engine calls it once per second
    /// of capture time.
    void sweep(Timestamp now);
    /// Every flow has ended: closes all episodes and writes floods and scans into `out`
    /// (spoofing is judged against out.hosts, which must be set). Port-25 attempts to the
    /// mail exchanges a client looked up (`mx`) are no scan: they go to out.mail_attempts.
    void finish(BehaviorResult& out, const MailExchanges& mx = {});

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace botscope::analysis::detect
