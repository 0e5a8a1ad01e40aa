#pragma once
// Everything the analysis of one capture produces: the `network` part of a report.

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/engine/stream_digest.h"
#include "analysis/proto/dns/dns_analyzer.h"
#include "analysis/proto/ftp/ftp_analyzer.h"
#include "analysis/proto/http/http_analyzer.h"
#include "analysis/proto/irc/irc_analyzer.h"
#include "analysis/proto/shell/shell_analyzer.h"
#include "analysis/proto/smtp/smtp_analyzer.h"
#include "analysis/proto/tftp/tftp_analyzer.h"
#include "analysis/types.h"

namespace botscope::analysis {

/// Facts about the capture file itself (filled by the pcap source) and the packets in it
/// (filled by the engine).
struct CaptureInfo {
    std::string format;        // "pcap" or "pcapng"
    std::string byte_order;    // "little-endian" / "big-endian"
    std::string ts_precision;  // "microsecond" / "nanosecond"
    int link_type = -1;
    std::string link_name;
    std::uint32_t snaplen = 0;
    std::uint64_t file_size = 0;

    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;            // on the wire (original lengths)
    std::uint64_t captured_bytes = 0;   // as stored
    std::uint64_t snapped_packets = 0;  // stored shorter than on the wire
    Timestamp first_ts = 0;
    Timestamp last_ts = 0;
    std::uint64_t ts_backwards = 0;  // packets older than one already seen
    std::uint64_t ts_clamped = 0;    // timestamps outside 1970..2096, clamped into it
    std::uint64_t non_ip_packets = 0;
    std::uint64_t decode_errors = 0;
    std::uint64_t fragments = 0;
    std::uint64_t reassembled_datagrams = 0;
    bool truncated = false;  // the file ended inside a packet or block
    std::string truncation_reason;
};

struct HostRecord {
    IpAddress addr;
    std::uint64_t packets_sent = 0;
    std::uint64_t packets_received = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t flows_originated = 0;
    std::uint64_t flows_responded = 0;
    Timestamp first_ts = 0;
    Timestamp last_ts = 0;
};

struct FlowRecord {
    FlowId id = 0;
    Transport transport = Transport::kOther;
    Endpoint orig;
    Endpoint resp;
    Timestamp start = 0;
    Timestamp end = 0;
    std::uint64_t packets[2] = {0, 0};  // indexed by Direction
    std::uint64_t bytes[2] = {0, 0};    // IP bytes on the wire
    std::uint64_t payload_bytes[2] = {0, 0};
    std::string service;  // the analyzer that claimed it, empty if none
    std::string state;    // TCP: Zeek-style conn_state (S0, SF, REJ, RSTO...); else empty
    std::uint64_t gap_bytes = 0;
    bool midstream = false;
};

struct NetworkResult {
    /// Flows kept in memory: those an analyzer claimed (the detectors look them up after the
    /// capture) and a sample of the others. Every flow goes to the log (log_sink.h).
    static constexpr std::size_t kMaxServiceFlows = 65'536;
    static constexpr std::size_t kSampledFlows = 500;
    static constexpr std::size_t kMaxHosts = 65'536;

    CaptureInfo capture;
    std::vector<HostRecord> hosts;
    /// Distinct hosts past kMaxHosts: estimated (distinct_count.h), exact while few.
    std::uint64_t hosts_dropped = 0;
    std::vector<FlowRecord> flows;  // by id
    std::uint64_t flows_total = 0;
    std::uint64_t flows_dropped = 0;  // not kept in memory (still logged)
    /// Every flow counted by the analyzer that claimed it, else by its transport ("tcp"...).
    std::map<std::string, std::uint64_t, std::less<>> flows_by_service;
    std::uint64_t peak_live_flows = 0;        // the engine's state follows this, not the file size
    std::uint64_t peak_reassembly_bytes = 0;  // out-of-order TCP data buffered at once
    std::uint64_t tcp_gap_bytes = 0;
    std::uint64_t tcp_retransmitted_bytes = 0;

    irc::IrcResult irc;
    dns::DnsResult dns;
    http::HttpResult http;
    smtp::SmtpResult smtp;
    tftp::TftpResult tftp;
    ftp::FtpResult ftp;
    shell::ShellResult shell;
    DataStreams data_streams;  ///< FTP data and DCC connections, announced before they opened

    Weirds weirds;

    /// The record of flow `id`, or null when it was dropped (flows are sorted by id).
    const FlowRecord* find_flow(FlowId id) const {
        auto it = std::lower_bound(flows.begin(), flows.end(), id,
                                   [](const FlowRecord& f, FlowId v) { return f.id < v; });
        return it != flows.end() && it->id == id ? &*it : nullptr;
    }
};

}  // namespace botscope::analysis
