#pragma once
// Spam runs: one client's SMTP sessions to many mail servers, or carrying many messages, or to
// many recipient domains (SpamConfig). Built after the capture from the SMTP sessions and DNS
// transactions of a NetworkResult; pure and deterministic.
//
// Counting rules:
//   - messages are MAIL transactions as counted by the SMTP analyzer (messages_seen, including
//     those past its per-session limit); accepted ones (delivered: 2xx after the content),
//     recipients, domains, senders and subjects come from the messages it kept;
//   - recipients and domains are compared case-insensitively (lower-cased), senders too; the
//     null sender is listed as "<>"; messages without a Subject header are not listed;
//     top_domains counts distinct recipients per domain, senders and subjects count messages;
//   - servers are distinct server addresses; server_list names the endpoint of the first
//     session to each, in order of first contact;
//   - mx_lookups: DNS transactions of type MX (15) whose client address is the spam client;
//   - servers_after_mx: servers whose address the client could have learned before its first
//     session to them: an answered MX lookup by the client names an exchange, and an A/AAAA
//     record for that exchange (in the MX response itself, any section, or in an answered
//     A/AAAA lookup by the client made at or after the MX response) gives the server's address,
//     with that response at or before the session's start (equal timestamps count: a capture's
//     resolution cannot order them). A lookup whose query is the exchange counts all its
//     A/AAAA records (CNAME chains);
//   - unanswered_servers: mail exchanges the client learned that way and then tried on port
//     25 without an SMTP session (no answer: the capture ended, or the server refused); they
//     count in servers and servers_after_mx, and a client with only those is a run too: the
//     start of one (`attempted`, as any run without an accepted message);
//   - start: the first session's or attempt's start; end: the last packet of the sessions'
//     flows (or the last message when a flow record was dropped) or attempts;
//     messages_per_minute over end - start, absent when that is zero.
// Past the SMTP and DNS results' caps (sessions, messages or transactions they dropped), the
// counts hold: MailCounter sees every session and lookup as it closes, and a client's sessions,
// messages, accepted messages, MX lookups, start and end are its; servers, recipients and
// recipient domains become estimates (`estimated`, distinct_count.h) when the kept sessions
// hold less than it saw. The lists (server_list, top_domains, senders, subjects) and
// servers_after_mx stay those of the records kept.

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/detect/config.h"
#include "analysis/distinct_count.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

/// What one client's SMTP sessions and MX lookups amounted to, counted as they closed.
struct MailCounts {
    std::uint64_t sessions = 0;
    std::uint64_t messages = 0;           ///< MAIL transactions, kept or not
    std::uint64_t messages_kept = 0;      ///< those whose details the sessions kept
    std::uint64_t messages_accepted = 0;  ///< of those kept
    std::uint64_t mx_lookups = 0;
    Timestamp start = 0;        ///< the first session's
    Timestamp end = 0;          ///< the last packet of its sessions' flows
    std::vector<FlowId> flows;  ///< the first kMaxEvidenceFlows sessions'
    struct Distinct {
        DistinctCounter servers, recipients, domains;
    };
    std::unique_ptr<Distinct> distinct;  ///< made with the first session
};

/// Every SMTP session and DNS transaction as it closes, per client: at most kMaxMailClients
/// clients (12 KiB each with their sketches); a later one is seen only in the records kept.
class MailCounter {
public:
    static constexpr std::size_t kMaxMailClients = 1024;

    void smtp(const smtp::SmtpSession& s);
    void dns(const dns::DnsTransaction& t);
    /// An SMTP connection's flow ended: its last packet may be after the session's last line.
    void flow_end(const FlowRecord& r);

    const std::map<IpAddress, MailCounts>& clients() const { return clients_; }

private:
    MailCounts* client(const IpAddress& addr);

    std::map<IpAddress, MailCounts> clients_;
};

/// Per client, the mail exchange addresses its answered MX lookups (and its lookups of the
/// exchanges) gave it, as servers_after_mx counts them.
MailExchanges mail_exchanges(const dns::DnsResult& dns);

/// One SpamRun per client address whose sessions and port-25 attempts (`attempts`, from the
/// scan detector) reach a threshold, ordered by start (then client). At most kMaxFindings;
/// the rest are added to `dropped`.
std::vector<SpamRun> detect_spam(const NetworkResult& net, const SpamConfig& cfg,
                                 const std::vector<MailAttempts>& attempts,
                                 const MailCounter& counted, std::uint64_t& dropped);

}  // namespace botscope::analysis::detect
