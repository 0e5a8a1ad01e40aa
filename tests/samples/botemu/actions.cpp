#include "actions.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <thread>

#include "analysis/proto/irc/irc_parser.h"
#include "fetch.h"
#include "gate.h"
#include "packet.h"
#include "smtp.h"
#include "util/byte_reader.h"

namespace botscope::botemu {

namespace {

using net::Clock;
using net::Deadline;

std::string kilobytes(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", bytes / 1024.0);
    return buf;
}

double seconds_since(Clock::time_point start) {
    auto s = std::chrono::duration<double>(Clock::now() - start).count();
    return std::max(s, 0.001);
}

std::string refusal(std::string_view tag, std::string_view why) {
    return std::string(tag) + ": refused: " + std::string(why);
}

std::string failure(std::string_view tag, std::string_view why) {
    return std::string(tag) + ": Failed: " + std::string(why) + ".";
}

// The reply for a host that did not resolve to an acceptable address.
std::string host_problem(std::string_view tag, const util::Error& e) {
    return e.code == "refused" ? refusal(tag, e.message) : failure(tag, e.message);
}

// --- floods ----------------------------------------------------------------------------------

const char* flood_name(Verb v) {
    return v == Verb::kSynFlood ? "SYN" : v == Verb::kUdpFlood ? "UDP" : "ICMP";
}

// The packets of one flood: spoofed sources from the sandbox, random ports, junk payloads.
class FloodPackets {
public:
    FloodPackets(Verb verb, Ipv4 target, std::uint16_t port, Rng& rng)
        : verb_(verb), target_(target), port_(port), rng_(rng), ident_(draw16(1, 0xFFFF)) {
        if (verb == Verb::kUdpFlood && port == 0)
            for (std::size_t i = 0; i < kUdpRandomPorts; ++i)
                random_ports_.push_back(draw16(1, 0xFFFF));
    }

    // The next packet with a spoofed source.
    Bytes raw(std::uint16_t seq) {
        IpFields ip{sandbox_host(draw(rng_, kFirstSpoofHost, kLastSpoofHost)), target_,
                    draw16(0, 0xFFFF)};
        if (verb_ == Verb::kSynFlood)
            return build_tcp_syn(ip, draw16(1024, 0xFFFF), port_, draw(rng_, 0, 0xFFFFFFFFu),
                                 16384);
        if (verb_ == Verb::kUdpFlood)
            return build_udp(ip, draw16(1024, 0xFFFF), udp_port(), junk());
        // The payload of Windows' ping.exe.
        static constexpr std::string_view kPing = "abcdefghijklmnopqrstuvwabcdefghi";
        return build_icmp_echo(ip, ident_, seq, util::as_bytes(kPing));
    }

    std::uint16_t udp_port() {
        if (random_ports_.empty())
            return port_;
        return random_ports_[draw(rng_, 0, static_cast<std::uint32_t>(random_ports_.size() - 1))];
    }

    Bytes junk() {
        Bytes b(draw(rng_, kMinUdpPayload, kMaxUdpPayload));
        for (auto& c : b)
            c = static_cast<std::uint8_t>(draw(rng_, 0, 255));
        return b;
    }

private:
    std::uint16_t draw16(std::uint32_t lo, std::uint32_t hi) {
        return static_cast<std::uint16_t>(draw(rng_, lo, hi));
    }

    Verb verb_;
    Ipv4 target_;
    std::uint16_t port_;
    Rng& rng_;
    std::uint16_t ident_;
    std::vector<std::uint16_t> random_ports_;
};

// --- SMTP ------------------------------------------------------------------------------------

// One complete reply (its last line's code); nullopt when the server closed, stalled, or sent
// something that is not a reply.
std::optional<std::uint16_t> read_reply(const net::Socket& s, std::string& buf, Deadline deadline) {
    namespace irc = analysis::irc;
    for (std::size_t lines = 0; lines < kMaxSmtpReplyLines;) {
        auto line = irc::extract_line(buf, kMaxSmtpLine);
        if (line.status == irc::LineStatus::kIncomplete) {
            if (net::receive(s, buf, kMaxSmtpLine, deadline) != net::Received::kData)
                return std::nullopt;
            continue;
        }
        if (line.status == irc::LineStatus::kTooLong)
            return std::nullopt;
        auto reply = parse_reply_line(line.line);
        buf.erase(0, line.consumed);
        ++lines;
        if (!reply)
            return std::nullopt;
        if (!reply->more)
            return reply->code;
    }
    return std::nullopt;
}

struct Delivery {
    bool delivered = false;
    std::size_t recipients = 0;
    std::string error;
};

Delivery deliver(Ipv4 mx, const MailMessage& m, std::string_view helo, Deadline deadline) {
    Delivery out;
    auto socket = net::tcp_connect(mx, kSmtpPort, std::min(deadline, net::after_ms(5000)));
    if (!socket) {
        out.error = socket.error().message;
        return out;
    }
    SmtpDialogue dialogue{std::string(helo), m};
    std::string buf;
    while (true) {
        auto code =
            read_reply(socket.value(), buf, std::min(deadline, net::after_ms(kSmtpReplyTimeoutMs)));
        if (!code) {
            out.error = "no SMTP reply";
            break;
        }
        auto next = dialogue.on_reply(*code);
        if (!next || !net::send_all(socket.value(), *next, net::after_ms(kSendTimeoutMs)))
            break;
    }
    out.delivered = dialogue.delivered();
    out.recipients = out.delivered ? dialogue.accepted_recipients() : 0;
    if (!dialogue.error().empty())
        out.error = dialogue.error();
    return out;
}

struct MailDomain {
    std::string name;
    std::string exchange;
    Ipv4 address = 0;
};

// --- downloads -------------------------------------------------------------------------------

util::Result<Bytes> http_get(Ipv4 ip, const Url& url, Deadline deadline) {
    auto socket = net::tcp_connect(ip, url.port, deadline);
    if (!socket)
        return socket.error();
    if (!net::send_all(socket.value(), build_get_request(url.host, url.port, url.path), deadline))
        return util::Error{"http", "request not sent"};
    std::string data;
    const std::size_t cap = kMaxHttpHeaderBytes + kMaxDownloadBytes + 1;
    while (true) {
        auto got = net::receive(socket.value(), data, cap - data.size(), deadline);
        const bool closed = got != net::Received::kData || data.size() >= cap;
        if (got == net::Received::kTimeout)
            return util::Error{"http", "timed out"};
        auto r = parse_http_response(util::as_bytes(data), closed);
        if (r.status == HttpResponse::Status::kError)
            return util::Error{"http", r.error};
        if (r.status == HttpResponse::Status::kIncomplete)
            continue;
        if (r.code != 200)
            return util::Error{"http", "HTTP " + std::to_string(r.code)};
        if (r.body.size() > kMaxDownloadBytes)
            return util::Error{
                "http", "file larger than " + std::to_string(kMaxDownloadBytes / 1024) + " KB"};
        return Bytes(r.body.begin(), r.body.end());
    }
}

util::Result<Bytes> tftp_get(Ipv4 ip, const Url& url, Deadline deadline) {
    auto socket = net::udp_open();
    if (!socket)
        return socket.error();
    TftpReceiver receiver;
    Bytes last = build_tftp_rrq(url.path);
    Ipv4 peer = ip;
    std::uint16_t peer_port = url.port;
    bool have_tid = false;  // the server's transfer port, learnt from its first DATA
    std::array<std::uint8_t, 4 + kTftpBlockSize + 64> buf{};
    if (auto sent = net::udp_send(socket.value(), peer, peer_port, last); !sent)
        return sent.error();
    int timeouts = 0;
    Deadline wait = std::min(deadline, net::after_ms(kTftpTimeoutMs));
    while (true) {
        auto d = net::udp_receive(socket.value(), buf, wait);
        if (!d) {
            if (++timeouts > kTftpRetries || Clock::now() >= deadline)
                return util::Error{"tftp", "TFTP timed out"};
            if (auto sent = net::udp_send(socket.value(), peer, peer_port, last); !sent)
                return sent.error();
            wait = std::min(deadline, net::after_ms(kTftpTimeoutMs));
            continue;
        }
        // Before the first DATA any sandbox host may answer (the server picks a new port, and
        // the host's address translation may show another address); after it, only that one.
        const bool from_tid = have_tid && d->from == peer && d->port == peer_port;
        if (!from_tid && (have_tid || check_destination(d->from)))
            continue;
        auto reply = receiver.on_datagram(std::span(buf).first(d->size));
        if (reply.step == TftpReceiver::Step::kFailed)
            return util::Error{"tftp", reply.error};
        if (reply.step == TftpReceiver::Step::kIgnore)
            continue;
        peer = d->from;
        peer_port = d->port;
        have_tid = true;
        last = build_tftp_ack(reply.block);
        if (auto sent = net::udp_send(socket.value(), peer, peer_port, last); !sent)
            return sent.error();
        if (reply.step == TftpReceiver::Step::kDone)
            return receiver.data();
        timeouts = 0;
        wait = std::min(deadline, net::after_ms(kTftpTimeoutMs));
    }
}

}  // namespace

void log_line(std::string_view text) {
    std::printf("botemu: %.*s\n", static_cast<int>(text.size()), text.data());
    std::fflush(stdout);
}

Actions::Actions(Ipv4 resolver, Ipv4 self, Deadline run_end, Rng& rng)
    : resolver_(resolver), self_(self), run_end_(run_end), rng_(rng) {}

Deadline Actions::within(int seconds) const {
    return std::min(run_end_, net::after_ms(std::int64_t{seconds} * 1000));
}

void Actions::run(const ParsedCommand& c, const Reply& reply) {
    const std::string_view tag = verb_tag(c.verb);
    switch (c.status) {
        case ParsedCommand::Status::kNotCommand:
        case ParsedCommand::Status::kUnknown:
            return;
        case ParsedCommand::Status::kBadArgs:
            reply(std::string(tag) + ": " + c.error);
            return;
        case ParsedCommand::Status::kRefused:
            reply(refusal(tag, c.error));
            return;
        case ParsedCommand::Status::kOk:
            break;
    }
    switch (c.verb) {
        case Verb::kSynFlood:
        case Verb::kUdpFlood:
        case Verb::kPingFlood:
            flood(c.verb, std::get<FloodArgs>(c.args), reply);
            break;
        case Verb::kScan:
            scan(std::get<ScanArgs>(c.args), reply);
            break;
        case Verb::kSpam:
            spam(std::get<SpamArgs>(c.args), reply);
            break;
        case Verb::kDownload:
        case Verb::kUpdate:
            download(c.verb, std::get<DownloadArgs>(c.args), reply);
            break;
        case Verb::kLogin:
        case Verb::kQuit:
            break;
    }
}

void Actions::flood(Verb verb, const FloodArgs& args, const Reply& reply) {
    constexpr std::string_view kTag = "[DDoS]";
    // Without raw sockets nothing at all is sent, not even the target's DNS query.
    auto raw = net::RawSender::open();
    const bool plain = !raw && verb == Verb::kUdpFlood && net::kPlainUdpFallback;
    auto udp = plain ? net::udp_open() : util::Result<net::Socket>(util::Error{});
    if (!raw && !(plain && udp))
        return reply(std::string(kTag) + ": raw sockets unavailable");
    if (budgets_.flood_packets == 0)
        return reply(refusal(kTag, "flood limit reached (" + std::to_string(kMaxFloodPacketsTotal) +
                                       " packets this run)"));
    auto target =
        resolve_host(resolver_, args.target.text, rng_, within(kDnsTimeoutMs / 1000 * kDnsTries));
    if (!target)
        return reply(host_problem(kTag, target.error()));

    const std::string where = fakenet::format_ipv4(target.value()) +
                              (verb == Verb::kPingFlood ? "" : ":" + std::to_string(args.port));
    reply(std::string(kTag) + ": Flooding: (" + where + ") for " + std::to_string(args.seconds) +
          " seconds.");
    const std::size_t count = std::min(kMaxFloodPackets, budgets_.flood_packets);
    budgets_.flood_packets -= count;
    const auto duration = std::chrono::milliseconds(
        std::int64_t{std::min<std::uint32_t>(args.seconds, kMaxFloodSeconds)} * 1000);
    const auto step = duration / static_cast<std::int64_t>(count);
    FloodPackets packets(verb, target.value(), args.port, rng_);
    std::size_t sent = 0, bytes = 0;
    const auto start = Clock::now();
    for (std::size_t i = 0; i < count && Clock::now() < run_end_; ++i) {
        std::this_thread::sleep_until(start + step * static_cast<std::int64_t>(i));
        if (raw) {
            Bytes p = packets.raw(static_cast<std::uint16_t>(i + 1));
            if (raw->send(p)) {
                ++sent;
                bytes += p.size();
            }
        } else {
            Bytes payload = packets.junk();
            if (net::udp_send(udp.value(), target.value(), packets.udp_port(), payload)) {
                ++sent;
                bytes += payload.size() + 28;
            }
        }
    }
    log_line(std::string(flood_name(verb)) + " flood on " + where + ": " + std::to_string(sent) +
             " packets" + (plain ? " (plain UDP, no spoofing)" : ""));
    reply(std::string(kTag) + ": Done with " + flood_name(verb) + " flood on " + where + " (" +
          std::to_string(sent) + " packets, " + kilobytes(bytes / seconds_since(start)) +
          " KB/sec).");
}

void Actions::scan(const ScanArgs& args, const Reply& reply) {
    constexpr std::string_view kTag = "[SCAN]";
    const fakenet::Subnet net = args.range.value_or(own_net(self_));
    if (!kSandboxNet.contains(net))
        return reply(refusal(kTag, range_text(net) + " is outside the sandbox"));
    if (budgets_.scan_attempts == 0)
        return reply(refusal(kTag, "scan limit reached (" + std::to_string(kMaxScanAttempts) +
                                       " attempts this run)"));
    std::vector<Ipv4> targets;
    for (std::uint64_t ip = net.first(); ip <= net.last(); ++ip)
        if (ip != self_ && !check_destination(static_cast<Ipv4>(ip)))
            targets.push_back(static_cast<Ipv4>(ip));
    if (args.random_order)
        std::shuffle(targets.begin(), targets.end(), rng_);
    if (targets.size() > budgets_.scan_attempts)
        targets.resize(budgets_.scan_attempts);
    budgets_.scan_attempts -= targets.size();

    const std::string where = range_text(net) + ":" + std::to_string(args.port);
    reply(std::string(kTag) + ": Port scan started: " + where + " with " +
          std::to_string(args.threads) + " threads.");
    const std::size_t in_flight = std::min<std::size_t>(args.threads, kMaxScanInFlight);
    auto result =
        net::connect_sweep(targets, args.port, in_flight, kScanConnectTimeoutMs, run_end_);
    log_line("scan of " + where + ": " + std::to_string(result.answered) + " of " +
             std::to_string(result.attempted) + " answered, " + std::to_string(in_flight) +
             " in flight");
    reply(std::string(kTag) + ": Scan finished: " + std::to_string(result.answered) + " of " +
          std::to_string(result.attempted) + " hosts answered on port " +
          std::to_string(args.port) + ".");
}

void Actions::spam(const SpamArgs& args, const Reply& reply) {
    constexpr std::string_view kTag = "[SPAM]";
    if (budgets_.spam_messages == 0)
        return reply(refusal(kTag, "spam limit reached (" + std::to_string(kMaxSpamMessages) +
                                       " messages this run)"));
    const Deadline deadline = within(kSpamSeconds);
    std::vector<MailDomain> domains;
    for (const auto& name : spam_domains()) {
        DnsAnswer mx = lookup(resolver_, name, kQueryMx, rng_, deadline);
        if (mx.status != DnsAnswer::Status::kOk) {
            log_line("spam: no MX for " + name + ": " + mx.error);
            continue;
        }
        const std::string& exchange = mx.exchanges.front().name;
        auto ip = resolve_host(resolver_, exchange, rng_, deadline);
        if (!ip && ip.error().code == "refused")
            return reply(refusal(kTag, ip.error().message));  // nothing sent yet
        if (!ip) {
            log_line("spam: " + ip.error().message);
            continue;
        }
        domains.push_back({name, exchange, ip.value()});
    }
    if (domains.empty())
        return reply(failure(kTag, "no mail exchanger resolved"));

    const std::size_t count = std::min<std::size_t>(args.count, budgets_.spam_messages);
    budgets_.spam_messages -= count;
    std::size_t delivered = 0, recipients = 0;
    const std::string token = digits_ + "." + std::to_string(draw(rng_, 0, 0x7FFFFFFF));
    for (std::size_t i = 0; i < count && net::Clock::now() < deadline; ++i) {
        const MailDomain& first = domains[(2 * i) % domains.size()];
        const MailDomain& second = domains[(2 * i + 1) % domains.size()];
        MailMessage m = spam_message(
            i, {spam_recipient(2 * i, first.name), spam_recipient(2 * i + 1, second.name)}, token,
            std::time(nullptr));
        Delivery d = deliver(first.address, m, "xp-" + digits_, deadline);
        log_line("spam: message " + std::to_string(i + 1) + " via " + first.exchange + " (" +
                 fakenet::format_ipv4(first.address) +
                 "): " + (d.delivered ? "delivered" : "not delivered: " + d.error));
        delivered += d.delivered ? 1 : 0;
        recipients += d.recipients;
    }
    reply(std::string(kTag) + ": Sent " + std::to_string(delivered) + " messages to " +
          std::to_string(recipients) + " recipients.");
}

void Actions::download(Verb verb, const DownloadArgs& args, const Reply& reply) {
    const std::string_view tag = verb_tag(verb);
    if (budgets_.downloads == 0)
        return reply(refusal(
            tag, "download limit reached (" + std::to_string(kMaxDownloads) + " this run)"));
    const Deadline deadline = within(kDownloadSeconds);
    auto ip = resolve_host(resolver_, args.url.host, rng_, deadline);
    if (!ip)
        return reply(host_problem(tag, ip.error()));
    --budgets_.downloads;
    const auto start = Clock::now();
    auto data = args.url.scheme == Scheme::kHttp ? http_get(ip.value(), args.url, deadline)
                                                 : tftp_get(ip.value(), args.url, deadline);
    if (!data)
        return reply(failure(tag, data.error().message));
    const double seconds = seconds_since(start);
    auto path = net::save_download(args.file_name, data.value());
    if (!path)
        return reply(failure(tag, path.error().message));
    log_line("saved " + args.url.to_string() + " (" + std::to_string(data->size()) + " bytes) as " +
             path.value() + (args.run ? "; RUN ignored: never executed" : ""));
    reply(std::string(tag) + ": Downloaded " + kilobytes(static_cast<double>(data->size())) +
          " KB to " + path.value() + " @ " +
          kilobytes(static_cast<double>(data->size()) / seconds) + " KB/sec.");
}

}  // namespace botscope::botemu
