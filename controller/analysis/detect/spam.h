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
// SMTP sessions the analyzer dropped at its own limit are not seen here.

#include <cstdint>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/detect/config.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

/// Per client, the mail exchange addresses its answered MX lookups (and its lookups of the
/// exchanges) gave it, as servers_after_mx counts them.
MailExchanges mail_exchanges(const dns::DnsResult& dns);

/// One SpamRun per client address whose sessions and port-25 attempts (`attempts`, from the
/// scan detector) reach a threshold, ordered by start (then client). At most kMaxFindings;
/// the rest are added to `dropped`.
std::vector<SpamRun> detect_spam(const NetworkResult& net, const SpamConfig& cfg,
                                 const std::vector<MailAttempts>& attempts, std::uint64_t& dropped);

}  // namespace botscope::analysis::detect
