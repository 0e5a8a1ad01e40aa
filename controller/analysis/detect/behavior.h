#pragma once
// What the analysed host did, concluded from the traffic: the `behavior` part of a report.
//
// Every finding carries evidence a reader can check in the capture: flow ids (as in the
// report's `network.flows`) and packet numbers (1-based, in file order, as Wireshark counts
// frames). Times are capture times only, so a replayed capture gives the same findings.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/detect/config.h"
#include "analysis/types.h"

namespace botscope::analysis::detect {

/// Caps on what the behaviour part keeps (counted when exceeded).
inline constexpr std::size_t kMaxFindings = 1000;     ///< per kind of finding
inline constexpr std::size_t kMaxEvidenceFlows = 10;  ///< flow ids kept per finding
inline constexpr std::size_t kMaxListed = 20;         ///< ports, addresses, subjects... per finding
inline constexpr std::size_t kMaxCommands = 1000;

/// Packets and timing of a finding. Mean rates over a zero duration are absent (null in
/// JSON). Peak rates are the busiest calendar second of capture time; absent where the
/// packets were not counted one by one (HTTP floods, from their flows).
struct Volume {
    Timestamp start = 0;
    Timestamp end = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;  ///< IP bytes on the wire
    std::optional<double> mean_pps;
    std::optional<double> mean_bps;
    std::optional<double> peak_pps;
    std::optional<double> peak_bps;
    std::uint64_t first_packet = 0;  ///< packet numbers of the first and last packet counted
    std::uint64_t last_packet = 0;
};

struct Evidence {
    std::vector<FlowId> flows;  ///< the first kMaxEvidenceFlows flows, by id
    std::uint64_t flows_total = 0;
};

/// Servers made to answer requests forged in the target's name (config.h, min_reflectors).
struct Reflection {
    std::uint16_t port = 0;        ///< the source port nearly all the flood came from
    std::uint64_t reflectors = 0;  ///< distinct sources that sent from it (estimated as sources)
};

struct Flood {
    /// "syn", "connect", "udp", "icmp", "http", or "synack": SYN-ACKs reflected by servers.
    std::string kind;
    IpAddress target;
    std::vector<std::uint16_t> ports;  ///< most hit first, at most kMaxListed (none for icmp)
    std::uint64_t ports_total = 0;
    Volume volume;
    /// When the flood proper began: the first event of the first calendar second whose events
    /// reached the kind's rate threshold. Stray packets to the target before it (a scan's probe
    /// of the same address, say) belong to the episode but not to its onset; a command is tied
    /// to the flood by its onset. Equals volume.start when the first second already reached it.
    Timestamp onset = 0;
    /// What the kind counts: SYNs, handshakes, datagrams, ICMP requests or HTTP requests;
    /// the thresholds apply to these.
    std::uint64_t events = 0;
    double peak_events_per_second = 0;
    /// Distinct source addresses: exact up to kMaxSources (traffic.h), then an estimate
    /// (distinct_count.h) and `sources_estimated`.
    std::uint64_t sources = 0;
    bool sources_estimated = false;
    /// Sources other than the analysed host(s): spoofing. Absent when no host is known.
    std::optional<std::uint64_t> spoofed_sources;
    std::uint64_t connections = 0;  ///< syn/connect: flows opened; http: connections used
    std::uint64_t handshakes = 0;   ///< syn/connect: handshakes completed
    std::uint64_t replies = 0;      ///< packets the target sent back
    std::optional<Reflection> reflection;
    Evidence evidence;
    std::optional<std::size_t> command;  ///< index into BehaviorResult::commands
};

struct ScanTargetRange {
    IpAddress first;
    IpAddress last;
};

struct Scan {
    std::string kind;  ///< "horizontal", "vertical", "combined"
    IpAddress scanner;
    Transport transport = Transport::kTcp;                       ///< tcp, udp or icmp (echo sweep)
    std::vector<std::pair<std::uint16_t, std::uint64_t>> ports;  ///< (port, targets) most first
    std::uint64_t ports_total = 0;
    std::uint64_t targets = 0;            ///< distinct addresses probed
    std::vector<ScanTargetRange> ranges;  ///< contiguous runs of targets, at most kMaxListed
    std::uint64_t probes = 0;             ///< connection attempts (flows)
    std::uint64_t unproductive = 0;       ///< attempts without a payload answer
    Volume volume;                        ///< of the probes (the scanner's packets)
    std::uint64_t targets_answered = 0;   ///< targets that sent anything back
    std::vector<Endpoint> open;           ///< target ports that accepted, at most kMaxListed
    std::uint64_t open_total = 0;
    std::uint64_t icmp_errors = 0;  ///< ICMP errors quoting a probe
    Evidence evidence;
    std::optional<std::size_t> command;
};

struct Counted {
    std::string value;
    std::uint64_t count = 0;
};

struct SpamRun {
    IpAddress client;
    Timestamp start = 0;
    Timestamp end = 0;
    std::uint64_t sessions = 0;         ///< SMTP sessions
    std::uint64_t servers = 0;          ///< distinct server addresses
    std::vector<Endpoint> server_list;  ///< at most kMaxListed, first contacted first
    std::uint64_t messages = 0;         ///< MAIL transactions
    std::uint64_t messages_accepted = 0;
    std::uint64_t recipients = 0;         ///< distinct recipient addresses
    std::uint64_t recipient_domains = 0;  ///< distinct domains
    std::vector<Counted> top_domains;     ///< at most kMaxListed
    std::vector<Counted> senders;         ///< MAIL FROM, most first
    std::vector<Counted> subjects;
    std::uint64_t mx_lookups = 0;  ///< MX queries by the client
    /// Mail exchanges (learned from the client's MX lookups) it tried on port 25 that never
    /// answered with SMTP: a run's start, cut by the capture's end or by refusals. They are in
    /// `servers`, and are no port-25 scan.
    std::uint64_t unanswered_servers = 0;
    /// No message was accepted: the run was attempted, not done.
    bool attempted = false;
    /// servers, recipients and recipient_domains are estimates (spam.h): the SMTP result kept
    /// less of the client's sessions than it sent.
    bool estimated = false;
    /// Servers whose address the client learned from an MX answer (and the exchange's
    /// address) before it first connected to them.
    std::uint64_t servers_after_mx = 0;
    std::optional<double> messages_per_minute;
    Evidence evidence;
    std::optional<std::size_t> command;
};

struct IrcCnc {
    FlowId flow = 0;
    Endpoint client;
    Endpoint server;
    std::string server_name;
    std::string nick;
    std::vector<std::string> channels;
    Timestamp start = 0;
    Timestamp end = 0;
    std::uint64_t commands = 0;  ///< entries of BehaviorResult::commands from this session
};

struct Beacon {
    IpAddress client;
    Endpoint server;
    std::string host;         ///< Host header
    std::string uri_pattern;  ///< the path, query values removed
    std::uint64_t requests = 0;
    double period = 0;  ///< seconds, median interval
    double jitter = 0;  ///< mean absolute deviation / median
    Timestamp start = 0;
    Timestamp end = 0;
    Evidence evidence;
};

/// One file fetched, or the same file fetched again and again: a bot told to update, or
/// re-sent its topic command at each reconnect, fetches the same URL every few seconds.
/// Downloads equal in protocol, URL, client address, server, kind, size, hashes and
/// completeness are one entry (detect/download.h, group_downloads).
struct Download {
    std::string protocol;  ///< "http", "ftp", "tftp", "dcc"
    Timestamp ts = 0;      ///< the first time
    Timestamp last_ts = 0;
    std::uint64_t count = 1;
    /// The transfers' flows: the first kMaxEvidenceFlows and how many in all.
    Evidence evidence;
    FlowId flow = 0;  ///< the first transfer's
    Endpoint client;
    Endpoint server;
    std::string url;   ///< http: http://host/uri; ftp: ftp://server/name; tftp: tftp://server/name
    std::string name;  ///< the file name as requested
    std::string kind;  ///< "pe", "mz", "elf"
    std::uint64_t size = 0;
    std::string md5;  ///< empty when the content was not captured whole
    std::string sha256;
    bool complete = false;
    /// The command the earliest of its transfers that followed one followed; every command a
    /// transfer followed lists this entry in its `followed_by`.
    std::optional<std::size_t> command;
};

/// A reference from a command to what followed it.
struct BehaviorRef {
    std::string section;  ///< "floods", "scans", "spam_runs", "downloads"
    std::size_t index = 0;
    Timestamp delay = 0;          ///< from the command to the start of the behaviour
    bool target_matched = false;  ///< the command named this behaviour's target
    /// Downloads: how many of the entry's transfers followed this command, and the delay to
    /// the last of them.
    std::uint64_t count = 1;
    Timestamp last_delay = 0;
};

struct BotCommand {
    Timestamp ts = 0;
    std::string via;    ///< "irc" or "http"
    std::string where;  ///< irc: "topic", "channel", "private"; http: "response"
    FlowId flow = 0;
    std::string from;    ///< irc: the sender's prefix; http: the server
    std::string target;  ///< irc: the channel or nick
    std::string text;    ///< the whole command line
    std::string verb;    ///< the first word without its prefix, lower-cased: "ddos.syn"
    std::vector<std::string> args;
    std::string category;  ///< "flood", "scan", "spam", "download", "other"
    std::vector<BehaviorRef> followed_by;
};

/// A file a remote shell's operator had fetched (shell_parser.h).
struct ShellFetch {
    Timestamp ts = 0;
    std::string tool;  ///< "tftp" or "ftp"
    std::string host;  ///< as typed; empty when an ftp script's `open` was not seen
    std::string file;  ///< as typed; empty when the script's `get` was not seen
};

/// A cleartext remote shell session and what its operator made it do.
struct RemoteShell {
    FlowId flow = 0;
    Endpoint shell;
    Endpoint controller;  ///< the operator's side
    bool connect_back = false;
    Timestamp start = 0;
    Timestamp end = 0;
    std::uint64_t commands = 0;
    std::vector<ShellFetch> fetches;   ///< at most kMaxListed
    std::vector<std::string> started;  ///< files started (`start`, or run by name), kMaxListed
    /// A file it fetched was then started: download and execute, the way worms spread.
    bool download_execute = false;
};

/// Per client, the addresses of mail exchanges it learned from its own MX lookups, with when
/// it first could have known each (spam.h, mail_exchanges()).
using MailExchanges = std::map<IpAddress, std::map<IpAddress, Timestamp>>;

/// A client's port-25 connection attempts to mail exchanges it had looked up, that carried no
/// SMTP (traffic.h): what spam detection adds to the client's sessions.
struct MailAttempts {
    IpAddress client;
    std::vector<Endpoint> servers;  ///< distinct, first tried first
    Timestamp start = 0;
    Timestamp end = 0;
    std::uint64_t attempts = 0;
    std::vector<FlowId> flows;  ///< at most kMaxEvidenceFlows
};

struct BehaviorResult {
    std::vector<IpAddress> hosts;  ///< analysed host(s)
    bool hosts_inferred = false;   ///< no host was given: the top originator of flows
    std::vector<Flood> floods;
    std::vector<Scan> scans;
    std::vector<SpamRun> spam_runs;
    std::vector<IrcCnc> irc;
    std::vector<Beacon> beacons;
    std::vector<BotCommand> commands;
    std::vector<Download> downloads;
    std::vector<RemoteShell> remote_shells;
    /// Input to spam detection from the scan detector; not reported.
    std::vector<MailAttempts> mail_attempts;
    std::uint64_t dropped = 0;  ///< findings past kMaxFindings
    Config config;              ///< the thresholds in effect
};

}  // namespace botscope::analysis::detect
