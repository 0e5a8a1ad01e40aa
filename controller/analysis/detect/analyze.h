#pragma once
// The behaviour conclusions drawn from records as they close and after the packet path: HTTP
// floods, spam runs, beacons, downloads, IRC C&C, bot commands, and the ties between commands
// and what followed.

#include "analysis/detect/beacon.h"
#include "analysis/detect/behavior.h"
#include "analysis/detect/commands.h"
#include "analysis/detect/config.h"
#include "analysis/detect/download.h"
#include "analysis/detect/http_flood.h"
#include "analysis/detect/spam.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

/// Confirmed IRC sessions as they close, the first kMaxFindings kept (the rest counted): the
/// C&C list holds past the IRC result's cap.
struct IrcCncCollector {
    void add(const irc::IrcSession& s);

    std::vector<IrcCnc> list;
    std::uint64_t dropped = 0;
};

/// The detectors fed with every record as the analyzers close it (the engine passes them each
/// one before the logs do), so that what they find holds past the results' memory caps.
struct RecordDetectors {
    explicit RecordDetectors(const Config& cfg) : http_floods(cfg.flood) {}

    void http(const http::HttpTransaction& t) {
        http_floods.request(t);
        downloads.add(http_download(t));
        beacons.request(t);
        commands.http(t);
    }
    void dns(const dns::DnsTransaction& t) { mail.dns(t); }
    void smtp(const smtp::SmtpSession& s) { mail.smtp(s); }
    void irc(const irc::IrcSession& s) {
        commands.irc(s);
        cnc.add(s);
    }
    void tftp(const tftp::TftpTransfer& t) { downloads.add(tftp_download(t)); }
    /// Every flow as it ends (HTTP floods add the volume of the connections they used).
    void flow_end(const FlowRecord& r) {
        if (r.service == "http")
            http_floods.flow_end(r);
        mail.flow_end(r);
    }

    HttpFloodTracker http_floods;
    DownloadCollector downloads;
    BeaconTracker beacons;
    CommandCollector commands;
    IrcCncCollector cnc;
    MailCounter mail;
};

/// `b` already holds the packet path's floods and scans, the hosts and the config; this adds
/// what `records` found and the rest, sorts every list into a stable order and links commands
/// to findings. Call once: `records` is spent.
void complete_behavior(const NetworkResult& net, RecordDetectors& records, BehaviorResult& b);

}  // namespace botscope::analysis::detect
