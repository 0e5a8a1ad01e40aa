#include "analysis/detect/spam.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "util/text.h"

namespace botscope::analysis::detect {

namespace {

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeMx = 15;
constexpr std::uint16_t kTypeAaaa = 28;

/// DNS names compare lower-cased and without a trailing root dot.
std::string dns_key(std::string_view name) {
    while (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    return util::to_lower(name);
}

/// The exchange of rendered MX rdata ("10 mx.example.com"); empty when it has no name.
std::string mx_exchange(std::string_view rdata) {
    auto space = rdata.find(' ');
    if (space == std::string_view::npos)
        return {};
    return dns_key(rdata.substr(space + 1));
}

std::string domain_of(std::string_view address) {
    auto at = address.rfind('@');
    if (at == std::string_view::npos)
        return {};
    return std::string(address.substr(at + 1));
}

/// Most first, ties by value, at most kMaxListed.
std::vector<Counted> top(const std::map<std::string, std::uint64_t>& counts) {
    std::vector<Counted> out;
    out.reserve(counts.size());
    for (const auto& [value, count] : counts)
        out.push_back({value, count});
    std::stable_sort(out.begin(), out.end(), [](const Counted& a, const Counted& b) {
        return a.count > b.count;  // the map already ordered equal counts by value
    });
    if (out.size() > kMaxListed)
        out.resize(kMaxListed);
    return out;
}

/// The latest line of this session.
Timestamp last_line(const smtp::SmtpSession& s) {
    Timestamp end = s.ts;
    for (const auto& m : s.messages)
        end = std::max(end, m.ts);
    for (const auto& c : s.commands)
        end = std::max(end, c.ts);
    return end;
}

/// The latest time anything of this session was seen.
Timestamp session_end(const NetworkResult& net, const smtp::SmtpSession& s) {
    Timestamp end = last_line(s);
    if (const FlowRecord* f = net.find_flow(s.flow))
        end = std::max(end, f->end);
    return end;
}

std::uint64_t text_hash(std::string_view s) {
    return IpAddressHash::mix(std::hash<std::string_view>{}(s));
}

/// One client's DNS transactions, in capture order.
using DnsList = std::vector<const dns::DnsTransaction*>;

/// When the client first held each address as that of a mail exchange it had asked for (a
/// null MX, "0 .", names no exchange).
std::map<IpAddress, Timestamp> exchange_addresses(const DnsList& lookups) {
    // Pass 1: every exchange named in the client's answered MX lookups, at its earliest.
    std::map<std::string, Timestamp> exchanges;
    for (const dns::DnsTransaction* t : lookups) {
        if (!t->answered)
            continue;
        for (const auto& a : t->answers) {
            if (a.type != kTypeMx)
                continue;
            std::string ex = mx_exchange(a.rdata);
            if (ex.empty())
                continue;
            auto [it, fresh] = exchanges.emplace(std::move(ex), t->response_ts);
            if (!fresh)
                it->second = std::min(it->second, t->response_ts);
        }
    }
    std::map<IpAddress, Timestamp> learned;
    if (exchanges.empty())
        return learned;
    // Pass 2: addresses of those exchanges, from the MX response itself or a later lookup.
    for (const dns::DnsTransaction* t : lookups) {
        if (!t->answered)
            continue;
        // A lookup of the exchange's own name made after the MX answer: every address in it
        // belongs to the exchange, even behind a CNAME.
        auto asked = exchanges.find(dns_key(t->query));
        bool for_exchange = (t->qtype == kTypeA || t->qtype == kTypeAaaa) &&
                            asked != exchanges.end() && asked->second <= t->ts;
        for (const auto& a : t->answers) {
            if (a.type != kTypeA && a.type != kTypeAaaa)
                continue;
            bool named = false;
            if (auto it = exchanges.find(dns_key(a.name)); it != exchanges.end())
                named = it->second <= t->response_ts;
            if (!named && !for_exchange)
                continue;
            IpAddress addr;
            if (!IpAddress::parse(a.rdata, addr))
                continue;
            auto [it, fresh] = learned.emplace(addr, t->response_ts);
            if (!fresh)
                it->second = std::min(it->second, t->response_ts);
        }
    }
    return learned;
}

/// What the client's sessions past the SMTP result's caps add to `run`, built from those kept.
void add_counted(SpamRun& run, const MailCounts& c, std::uint64_t sessions_kept,
                 std::uint64_t messages_kept, const MailAttempts* tried,
                 std::vector<FlowId>& flows) {
    run.sessions = std::max(run.sessions, c.sessions);
    run.messages = std::max(run.messages, c.messages);
    run.messages_accepted = std::max(run.messages_accepted, c.messages_accepted);
    run.mx_lookups = std::max(run.mx_lookups, c.mx_lookups);
    if (c.sessions > 0)
        run.start = std::min(run.start, c.start);
    run.end = std::max(run.end, c.end);
    const bool truncated = c.sessions > sessions_kept || c.messages_kept > messages_kept;
    if (!truncated || !c.distinct)
        return;
    run.estimated = true;
    run.servers = std::max(run.servers, c.distinct->servers.estimate() + run.unanswered_servers);
    run.recipients = std::max(run.recipients, c.distinct->recipients.estimate());
    run.recipient_domains = std::max(run.recipient_domains, c.distinct->domains.estimate());
    flows.insert(flows.end(), c.flows.begin(), c.flows.end());
    run.evidence.flows_total = c.sessions + (tried != nullptr ? tried->attempts : 0);
}

SpamRun build_run(const NetworkResult& net, const IpAddress& client,
                  const std::vector<const smtp::SmtpSession*>& sessions, const DnsList& lookups,
                  const MailAttempts* tried, const MailCounts* counted) {
    SpamRun run;
    run.client = client;
    run.sessions = sessions.size();
    if (!sessions.empty())
        run.start = sessions.front()->ts;
    else if (tried != nullptr)
        run.start = tried->start;
    else
        run.start = counted->start;
    if (tried != nullptr)
        run.start = std::min(run.start, tried->start);
    run.end = run.start;

    std::map<IpAddress, Timestamp> first_contact;
    std::set<std::string> recipients;
    std::map<std::string, std::uint64_t> domains, senders, subjects;
    std::vector<FlowId> flows;
    std::uint64_t messages_kept = 0;
    for (const smtp::SmtpSession* s : sessions) {
        run.end = std::max(run.end, session_end(net, *s));
        flows.push_back(s->flow);
        messages_kept += s->messages.size();
        if (first_contact.emplace(s->resp.addr, s->ts).second &&
            run.server_list.size() < kMaxListed)
            run.server_list.push_back(s->resp);
        run.messages += std::max<std::uint64_t>(s->messages_seen, s->messages.size());
        for (const auto& m : s->messages) {
            if (m.status == smtp::MessageStatus::kDelivered)
                ++run.messages_accepted;
            ++senders[m.mail_from.empty() ? std::string("<>") : util::to_lower(m.mail_from)];
            if (!m.headers.subject.empty())
                ++subjects[m.headers.subject];
            for (const auto& r : m.recipients) {
                std::string addr = util::to_lower(r.address);
                std::string domain = domain_of(addr);
                if (recipients.insert(std::move(addr)).second && !domain.empty())
                    ++domains[domain];
            }
        }
    }
    for (const dns::DnsTransaction* t : lookups)
        if (t->qtype == kTypeMx)
            ++run.mx_lookups;
    if (run.mx_lookups > 0) {
        auto learned = exchange_addresses(lookups);
        for (const auto& [addr, ts] : first_contact) {
            auto it = learned.find(addr);
            if (it != learned.end() && it->second <= ts)
                ++run.servers_after_mx;
        }
    }
    if (tried != nullptr) {
        run.end = std::max(run.end, tried->end);
        flows.insert(flows.end(), tried->flows.begin(), tried->flows.end());
        for (const Endpoint& server : tried->servers) {
            if (!first_contact.emplace(server.addr, tried->start).second)
                continue;
            ++run.unanswered_servers;
            // Tried because an MX answer named it (traffic.h), so learned before.
            ++run.servers_after_mx;
            if (run.server_list.size() < kMaxListed)
                run.server_list.push_back(server);
        }
    }
    run.servers = first_contact.size();
    run.recipients = recipients.size();
    run.recipient_domains = domains.size();
    // Domains count distinct recipients, so a domain mailed twice to one address counts once.
    run.top_domains = top(domains);
    run.senders = top(senders);
    run.subjects = top(subjects);
    if (counted != nullptr)
        add_counted(run, *counted, sessions.size(), messages_kept, tried, flows);

    run.attempted = run.messages_accepted == 0;

    if (run.end > run.start)
        run.messages_per_minute =
            static_cast<double>(run.messages) * 60.0 / to_seconds(run.end - run.start);

    std::sort(flows.begin(), flows.end());
    flows.erase(std::unique(flows.begin(), flows.end()), flows.end());
    run.evidence.flows_total = std::max<std::uint64_t>(run.evidence.flows_total, flows.size());
    if (flows.size() > kMaxEvidenceFlows)
        flows.resize(kMaxEvidenceFlows);
    run.evidence.flows = std::move(flows);
    return run;
}

}  // namespace

MailCounts* MailCounter::client(const IpAddress& addr) {
    auto it = clients_.find(addr);
    if (it != clients_.end())
        return &it->second;
    if (clients_.size() >= kMaxMailClients)
        return nullptr;
    return &clients_[addr];
}

void MailCounter::smtp(const smtp::SmtpSession& s) {
    MailCounts* c = client(s.orig.addr);
    if (c == nullptr)
        return;
    if (c->sessions == 0 || s.ts < c->start)
        c->start = s.ts;
    ++c->sessions;
    c->messages += std::max<std::uint64_t>(s.messages_seen, s.messages.size());
    c->messages_kept += s.messages.size();
    c->end = std::max(c->end, last_line(s));
    if (c->flows.size() < kMaxEvidenceFlows)
        c->flows.push_back(s.flow);
    if (!c->distinct)
        c->distinct = std::make_unique<MailCounts::Distinct>();
    c->distinct->servers.add(DistinctCounter::hash(s.resp.addr));
    for (const auto& m : s.messages) {
        if (m.status == smtp::MessageStatus::kDelivered)
            ++c->messages_accepted;
        for (const auto& r : m.recipients) {
            const std::string addr = util::to_lower(r.address);
            c->distinct->recipients.add(text_hash(addr));
            if (const std::string domain = domain_of(addr); !domain.empty())
                c->distinct->domains.add(text_hash(domain));
        }
    }
}

void MailCounter::dns(const dns::DnsTransaction& t) {
    if (t.qtype != kTypeMx)
        return;
    if (MailCounts* c = client(t.client.addr))
        ++c->mx_lookups;
}

void MailCounter::flow_end(const FlowRecord& r) {
    if (r.service != "smtp")
        return;
    if (MailCounts* c = client(r.orig.addr))
        c->end = std::max(c->end, r.end);
}

MailExchanges mail_exchanges(const dns::DnsResult& dns) {
    std::map<IpAddress, DnsList> lookups;
    for (const auto& t : dns.transactions)
        lookups[t.client.addr].push_back(&t);
    MailExchanges out;
    for (const auto& [client, list] : lookups) {
        auto learned = exchange_addresses(list);
        if (!learned.empty())
            out.emplace(client, std::move(learned));
    }
    return out;
}

std::vector<SpamRun> detect_spam(const NetworkResult& net, const SpamConfig& cfg,
                                 const std::vector<MailAttempts>& attempts,
                                 const MailCounter& counted, std::uint64_t& dropped) {
    std::map<IpAddress, std::vector<const smtp::SmtpSession*>> by_client;
    for (const auto& s : net.smtp.sessions)
        by_client[s.orig.addr].push_back(&s);
    for (const auto& [client, c] : counted.clients())
        if (c.sessions > 0)
            by_client[client];  // every session of it may have been past the SMTP result's cap
    std::map<IpAddress, const MailAttempts*> tried;
    for (const auto& a : attempts) {
        tried.emplace(a.client, &a);
        by_client[a.client];  // a client may have tried without any session
    }
    // Each client's own lookups, in capture order: only what it asked can have guided it.
    std::map<IpAddress, DnsList> lookups;
    for (const auto& t : net.dns.transactions)
        if (by_client.count(t.client.addr) > 0)
            lookups[t.client.addr].push_back(&t);
    const DnsList none;

    std::vector<SpamRun> runs;
    for (auto& [client, sessions] : by_client) {
        std::sort(sessions.begin(), sessions.end(),
                  [](const smtp::SmtpSession* a, const smtp::SmtpSession* b) {
                      return a->ts != b->ts ? a->ts < b->ts : a->flow < b->flow;
                  });
        auto it = lookups.find(client);
        auto t = tried.find(client);
        auto c = counted.clients().find(client);
        SpamRun run = build_run(net, client, sessions, it != lookups.end() ? it->second : none,
                                t != tried.end() ? t->second : nullptr,
                                c != counted.clients().end() ? &c->second : nullptr);
        if (run.servers >= cfg.min_servers || run.messages >= cfg.min_messages ||
            run.recipient_domains >= cfg.min_recipient_domains)
            runs.push_back(std::move(run));
    }
    std::sort(runs.begin(), runs.end(), [](const SpamRun& a, const SpamRun& b) {
        return a.start != b.start ? a.start < b.start : a.client < b.client;
    });
    if (runs.size() > kMaxFindings) {
        dropped += runs.size() - kMaxFindings;
        runs.resize(kMaxFindings);
    }
    return runs;
}

}  // namespace botscope::analysis::detect
