#include "analysis/proto/ftp/ftp_analyzer.h"

#include <algorithm>
#include <utility>

#include "analysis/greeting_probe.h"
#include "analysis/log_sink.h"
#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::analysis::ftp {

namespace {

using greeting::Banner;
using greeting::classify_banner;
using greeting::classify_client;
using greeting::Greeting;
using greeting::Speaker;

constexpr std::string_view kAnalyzer = "ftp";
constexpr std::size_t kMaxWeirdDetail = 128;
constexpr std::size_t kMaxVerbStored = 16;
constexpr std::size_t kMaxTypeLength = 16;

std::string bounded(std::string_view s, std::size_t max, bool* truncated = nullptr) {
    return util::bounded_copy(s, max, truncated);
}

bool is_listing(Verb v) {
    return v == Verb::kList || v == Verb::kNlst || v == Verb::kMlsd;
}

}  // namespace

ProbeResult probe(const ProbeInput& in) {
    const Speaker client = classify_client(util::as_chars(in.orig));
    const std::string_view server = util::as_chars(in.resp);
    if (server.empty()) {
        // FTP servers speak first; a client alone saying USER may well be IRC.
        return (client == Speaker::kEmpty || client == Speaker::kPartial || client == Speaker::kFtp)
                   ? ProbeResult::kNeedMore
                   : ProbeResult::kNoMatch;
    }
    switch (greeting::classify_server(server, '1')) {
        case Greeting::kNotReply:
            return ProbeResult::kNoMatch;
        case Greeting::kPartial:
            return (client == Speaker::kSmtp || client == Speaker::kOther) ? ProbeResult::kNoMatch
                                                                           : ProbeResult::kNeedMore;
        case Greeting::kReply:
            break;
    }
    if (client == Speaker::kFtp)
        return ProbeResult::kMatch;
    if (client == Speaker::kSmtp)
        return ProbeResult::kNoMatch;
    const Banner banner = classify_banner(server);
    if (banner == Banner::kFtp)
        return ProbeResult::kMatch;
    if (client == Speaker::kOther || banner == Banner::kSmtp)
        return ProbeResult::kNoMatch;
    return ProbeResult::kNeedMore;
}

// ---- analyzer ----

FtpAnalyzer::FtpAnalyzer(const AnalyzerContext& ctx, FtpResult& result, const DataStreams* streams)
    : ctx_(ctx), streams_(streams), result_(result) {
    session_.ts = ctx.flow.start;
    session_.flow = ctx.flow.id;
    session_.orig = ctx.flow.orig;
    session_.resp = ctx.flow.resp;
    // The server speaks first; its greeting answers no command.
    PendingEntry greeting;
    greeting.kind = Pending::kGreeting;
    pending_.push_back(std::move(greeting));
}

void FtpAnalyzer::on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) {
    if (ended_ || gave_up())
        return;
    if (session_.ts == 0)
        session_.ts = ts;
    if (dir == Direction::kOrig)
        client_data(data, ts);
    else
        server_data(data, ts);
}

void FtpAnalyzer::on_gap(Direction dir, std::uint64_t len, Timestamp ts) {
    (void)len, (void)ts;
    if (ended_ || gave_up())
        return;
    if (dir == Direction::kOrig) {
        client_lines_.drop_after_gap();
    } else {
        server_lines_.drop_after_gap();
        replies_.reset();
    }
}

void FtpAnalyzer::on_eof(Direction dir, Timestamp ts) {
    if (ended_ || gave_up())
        return;
    // The peer closed after an unterminated line: take it as a whole line.
    if (dir == Direction::kOrig) {
        if (client_tls_)
            return;
        if (auto f = client_lines_.flush(); f && !f->continued)
            command_line(f->text, ts);
    } else {
        if (server_tls_)
            return;
        if (auto f = server_lines_.flush(); f && !f->continued)
            server_line(f->text, ts);
    }
}

void FtpAnalyzer::on_end(Timestamp ts) {
    if (ended_)
        return;
    ended_ = true;
    session_.gave_up = gave_up();
    ++result_.sessions_seen;
    result_.transfers_seen += session_.transfers_seen;
    if (ctx_.logs != nullptr) {
        // The data connections usually close before the control connection: the logged
        // session names them. The result's copy is matched again once every flow has ended.
        if (streams_ != nullptr) {
            FtpSession logged = session_;
            std::vector<bool> used(streams_->list.size(), false);
            attach_data_streams(logged, *streams_, used);
            ctx_.logs->ftp(logged);
        } else {
            ctx_.logs->ftp(session_);
        }
    }
    if (result_.sessions.size() >= kMaxSessions) {
        ++result_.sessions_dropped;
        weird("ftp_session_limit", ts);
        return;
    }
    result_.sessions.push_back(std::move(session_));
}

// ---- client side ----

void FtpAnalyzer::client_data(std::span<const std::uint8_t> data, Timestamp ts) {
    while (!data.empty() && !gave_up() && !client_tls_) {
        // A TLS handshake record right after AUTH TLS: the switch happened.
        if (await_tls_ && client_lines_.buffered() == 0 && data[0] == 0x16) {
            client_tls_ = true;
            session_.tls = true;
            return;
        }
        auto f = client_lines_.next(data);
        if (!f)
            return;
        // The tail of an over-long line, or what follows a gap: skipped, unless the gap ended
        // at a line end and this is plainly a command.
        if (f->continued) {
            if (!f->after_gap || f->terminator.empty())
                continue;
            const Verb v = parse_command(strip_telnet(f->text)).verb;
            if (v == Verb::kInvalid || v == Verb::kUnknown)
                continue;
        }
        if (f->terminator.empty()) {
            weird("ftp_line_too_long", ts, f->text.substr(0, 16));
            // The server still answers the line, so keep the reply pairing.
            ++session_.commands_seen;
            push_pending(PendingEntry{});
            continue;
        }
        command_line(f->text, ts);
    }
}

void FtpAnalyzer::command_line(std::string_view line, Timestamp ts) {
    const std::string clean = strip_telnet(line);
    const Command c = parse_command(clean);
    ++session_.commands_seen;
    if (c.verb == Verb::kInvalid) {
        note_invalid("ftp_invalid_command", c.name.empty() ? std::string_view(clean) : c.name, ts);
        if (gave_up())
            return;
    } else {
        note_valid(true);
    }
    PendingEntry e;
    e.command = log_command(c, ts);
    switch (c.verb) {
        case Verb::kUser:
            ++session_.login_attempts;
            if (!session_.logged_in)
                session_.user = bounded(c.arg, kMaxArgLength);
            add_user(c.arg);
            e.kind = Pending::kUser;
            break;
        case Verb::kPass:
        case Verb::kAcct:
            if (c.verb == Verb::kPass)
                session_.password_sent = true;
            e.kind = Pending::kPass;
            break;
        case Verb::kPort:
        case Verb::kEprt:
            data_channel_command(c, e.command, ts);
            return;
        case Verb::kPasv:
        case Verb::kEpsv:
            e.kind = Pending::kPasv;
            e.verb = c.verb == Verb::kPasv ? "PASV" : "EPSV";
            break;
        case Verb::kRetr:
        case Verb::kStor:
        case Verb::kStou:
        case Verb::kAppe:
        case Verb::kList:
        case Verb::kNlst:
        case Verb::kMlsd:
            transfer_command(c, e.command, ts);
            return;
        case Verb::kRest:
            rest_offset_ = util::parse_u64(util::trim(c.arg)).value_or(0);
            e.kind = Pending::kRest;
            break;
        case Verb::kType:
            session_.type = bounded(util::trim(c.arg), kMaxTypeLength);
            break;
        case Verb::kCwd:
            session_.cwd = bounded(c.arg, kMaxArgLength);
            break;
        case Verb::kPwd:
            e.kind = Pending::kPwd;
            break;
        case Verb::kSyst:
            e.kind = Pending::kSyst;
            break;
        case Verb::kAuth: {
            const std::string_view mech = util::trim(c.arg);
            if (util::istarts_with(mech, "TLS") || util::istarts_with(mech, "SSL")) {
                session_.auth_tls = true;
                await_tls_ = true;
                e.kind = Pending::kAuth;
            }
            break;
        }
        case Verb::kRein:
            e.kind = Pending::kRein;
            break;
        case Verb::kQuit:
            session_.quit = true;
            break;
        case Verb::kOther:
        case Verb::kUnknown:
        case Verb::kInvalid:
            break;
    }
    push_pending(std::move(e));
}

void FtpAnalyzer::data_channel_command(const Command& c, std::size_t command, Timestamp ts) {
    PendingEntry e;
    e.kind = Pending::kPort;
    e.command = command;
    const auto ep = c.verb == Verb::kPort ? parse_port(c.arg) : parse_eprt(c.arg);
    if (!ep) {
        weird("ftp_bad_port_command", ts, c.arg.substr(0, 64));
        push_pending(std::move(e));
        return;
    }
    FtpDataChannel ch;
    ch.ts = ts;
    ch.command = c.verb == Verb::kPort ? "PORT" : "EPRT";
    ch.passive = false;
    ch.endpoint = *ep;
    // The data connection goes to the client itself unless the client is behind NAT or is
    // bouncing the server at a third host.
    ch.address_mismatch = ep->addr != ctx_.flow.orig.addr;
    if (ch.address_mismatch)
        weird("ftp_port_address_mismatch", ts, ep->addr.to_string());
    e.channel = add_channel(ch, ts);
    e.announced = std::move(ch);
    push_pending(std::move(e));
}

void FtpAnalyzer::transfer_command(const Command& c, std::size_t command, Timestamp ts) {
    ++session_.transfers_seen;
    FtpTransfer t;
    t.ts = ts;
    t.command = util::to_upper(bounded(c.name, kMaxVerbStored));
    t.name = bounded(c.arg, kMaxArgLength, &t.name_truncated);
    t.listing = is_listing(c.verb);
    t.offset = rest_offset_;
    t.type = session_.type;
    rest_offset_ = 0;
    PendingEntry e;
    e.kind = Pending::kTransfer;
    e.command = command;
    if (session_.transfers.size() < kMaxTransfersPerSession) {
        session_.transfers.push_back(std::move(t));
        e.transfer = session_.transfers.size() - 1;
    } else {
        ++session_.transfers_dropped;
        if (!transfer_limit_reported_) {
            transfer_limit_reported_ = true;
            weird("ftp_transfer_limit", ts);
        }
    }
    push_pending(std::move(e));
}

// ---- server side ----

void FtpAnalyzer::server_data(std::span<const std::uint8_t> data, Timestamp ts) {
    while (!data.empty() && !server_tls_ && !gave_up()) {
        auto f = server_lines_.next(data);
        if (!f)
            return;
        if (f->continued && !(f->after_gap && reply::parse_line(f->text, '1').ok))
            continue;
        // The code is at the front, so an over-long reply is still understood.
        if (f->terminator.empty())
            weird("ftp_line_too_long", ts, f->text.substr(0, 16));
        server_line(f->text, ts);
    }
}

void FtpAnalyzer::server_line(std::string_view line, Timestamp ts) {
    switch (replies_.line(line)) {
        case reply::Assembler::Step::kInvalid:
            note_invalid("ftp_invalid_reply", line, ts);
            return;
        case reply::Assembler::Step::kMore:
            return;
        case reply::Assembler::Step::kDone:
            complete_reply(replies_.code(), ts);
            return;
    }
}

void FtpAnalyzer::complete_reply(std::uint16_t code, Timestamp ts) {
    note_valid(false);
    const std::string last = replies_.summary();
    reply::remember(session_.last_replies, last, kMaxLastReplies, kMaxReplyText);
    const std::string& last_text = replies_.lines().back();

    if (code < 200) {
        // Preliminary: the command goes on (a transfer has started, or the greeting is late).
        if (pending_.empty()) {
            if (!pending_overflow_)
                weird("ftp_unexpected_reply", ts, last);
            return;
        }
        PendingEntry& e = pending_.front();
        if (e.kind == Pending::kTransfer)
            take_channel(e);
        if (e.kind == Pending::kTransfer && e.transfer < session_.transfers.size()) {
            FtpTransfer& t = session_.transfers[e.transfer];
            t.preliminary = code;
            for (const auto& l : replies_.lines())
                if (auto size = parse_transfer_size(l))
                    t.size = size;
            if (t.command == "STOU" && t.name.empty())
                if (auto name = parse_stou_name(last_text))
                    t.name = bounded(*name, kMaxArgLength);
        }
        return;
    }
    if (pending_.empty()) {
        // 421 may come at any time (the server is shutting the connection).
        if (code != 421 && !pending_overflow_)
            weird("ftp_unexpected_reply", ts, last);
        return;
    }
    // No greeting captured (the capture started late): the reply belongs to the next command.
    if (pending_.front().kind == Pending::kGreeting && code != 220 && code < 400 &&
        pending_.size() > 1)
        pending_.pop_front();
    PendingEntry e = std::move(pending_.front());
    pending_.pop_front();
    if (e.command < session_.commands.size()) {
        session_.commands[e.command].reply = code;
        session_.commands[e.command].reply_text = last_text;
    }
    answer(e, code, ts);
}

void FtpAnalyzer::answer(PendingEntry& e, std::uint16_t code, Timestamp ts) {
    const bool ok = code / 100 == 2;
    const std::string& text = replies_.lines().back();
    switch (e.kind) {
        case Pending::kGreeting: {
            session_.banner_code = code;
            std::string banner;
            for (const auto& l : replies_.lines()) {
                if (!banner.empty())
                    banner += '\n';
                banner += l;
                if (banner.size() >= kMaxReplyText)
                    break;
            }
            session_.banner = bounded(banner, kMaxReplyText);
            return;
        }
        case Pending::kUser:
        case Pending::kPass:
            session_.login_reply = code;
            if (code == 230 || code == 202)
                session_.logged_in = true;
            if (code >= 400)
                ++session_.login_failures;
            return;
        case Pending::kPort:
            if (e.channel < session_.data_channels.size())
                session_.data_channels[e.channel].reply = code;
            if (ok && e.announced) {
                e.announced->reply = code;
                current_channel_ = std::move(e.announced);
            }
            return;
        case Pending::kPasv:
            passive_reply(e, code, ts);
            return;
        case Pending::kTransfer:
            take_channel(e);
            if (e.transfer < session_.transfers.size()) {
                FtpTransfer& t = session_.transfers[e.transfer];
                t.reply = code;
                t.reply_text = text;
                t.reply_ts = ts;
                if (t.command == "STOU" && t.name.empty())
                    if (auto name = parse_stou_name(text))
                        t.name = bounded(*name, kMaxArgLength);
            }
            return;
        case Pending::kRest:
            if (code != 350)
                rest_offset_ = 0;
            return;
        case Pending::kSyst:
            if (ok)
                session_.syst = text;
            return;
        case Pending::kPwd:
            if (code == 257)
                if (auto path = parse_quoted_path(text))
                    session_.pwd = std::move(*path);
            return;
        case Pending::kAuth:
            if (code == 234) {
                // Both sides speak TLS from here on.
                server_tls_ = true;
                client_tls_ = true;
                session_.tls = true;
            }
            await_tls_ = false;
            return;
        case Pending::kRein:
            if (ok)
                session_.logged_in = false;
            return;
        case Pending::kOther:
            return;
    }
}

void FtpAnalyzer::passive_reply(const PendingEntry& e, std::uint16_t code, Timestamp ts) {
    if (code != 227 && code != 229)
        return;  // refused: no data channel
    std::string text;
    for (const auto& l : replies_.lines())
        text.append(l).append(" ");
    FtpDataChannel ch;
    ch.ts = ts;
    ch.command = e.verb;
    ch.passive = true;
    ch.reply = code;
    if (code == 227) {
        const auto ep = parse_pasv_reply(text);
        if (!ep) {
            weird("ftp_bad_pasv_reply", ts, text.substr(0, 64));
            return;
        }
        ch.endpoint = *ep;
        ch.address_mismatch = ep->addr != ctx_.flow.resp.addr;
        if (ch.address_mismatch)
            weird("ftp_pasv_address_mismatch", ts, ep->addr.to_string());
    } else {
        const auto port = parse_epsv_reply(text);
        if (!port) {
            weird("ftp_bad_pasv_reply", ts, text.substr(0, 64));
            return;
        }
        // EPSV names only a port: the address is the server's own (RFC 2428).
        ch.endpoint = Endpoint{ctx_.flow.resp.addr, *port};
    }
    add_channel(ch, ts);
    current_channel_ = std::move(ch);
}

void FtpAnalyzer::take_channel(PendingEntry& e) {
    if (e.channel_taken)
        return;
    e.channel_taken = true;
    // A PORT or PASV serves one transfer; the next needs a new one (or the default port).
    std::optional<FtpDataChannel> ch = std::move(current_channel_);
    current_channel_.reset();
    if (e.transfer < session_.transfers.size())
        session_.transfers[e.transfer].data = std::move(ch);
}

// ---- bookkeeping ----

std::size_t FtpAnalyzer::add_channel(FtpDataChannel ch, Timestamp ts) {
    // The engine digests the data connection when it opens (stream_digest.h).
    ctx_.expect(ch.endpoint, ts, "ftp-data");
    if (session_.data_channels.size() >= kMaxDataChannelsPerSession) {
        ++session_.data_channels_dropped;
        if (!channel_limit_reported_) {
            channel_limit_reported_ = true;
            weird("ftp_data_channel_limit", ts);
        }
        return kNone;
    }
    session_.data_channels.push_back(std::move(ch));
    return session_.data_channels.size() - 1;
}

std::size_t FtpAnalyzer::log_command(const Command& c, Timestamp ts) {
    if (session_.commands.size() >= kMaxCommandsPerSession) {
        ++session_.commands_dropped;
        if (!command_limit_reported_) {
            command_limit_reported_ = true;
            weird("ftp_command_limit", ts);
        }
        return kNone;
    }
    FtpCommandRecord r;
    r.ts = ts;
    r.command = bounded(c.name, kMaxVerbStored);
    // Passwords (and account data) are never stored; only the fact that one was sent.
    if (c.verb == Verb::kPass || c.verb == Verb::kAcct)
        r.arg_hidden = !c.arg.empty();
    else
        r.arg = bounded(c.arg, kMaxArgLength);
    session_.commands.push_back(std::move(r));
    return session_.commands.size() - 1;
}

void FtpAnalyzer::push_pending(PendingEntry e) {
    if (pending_.size() >= kMaxPendingCommands) {
        pending_overflow_ = true;
        return;
    }
    pending_.push_back(std::move(e));
}

void FtpAnalyzer::add_user(std::string_view user) {
    if (user.empty())
        return;
    const std::string name = bounded(user, kMaxArgLength);
    if (std::find(session_.users.begin(), session_.users.end(), name) != session_.users.end())
        return;
    if (session_.users.size() < kMaxUsers)
        session_.users.push_back(name);
    else
        ++session_.users_dropped;
}

void FtpAnalyzer::note_valid(bool command) {
    if (command)
        ++valid_commands_;
    else
        ++valid_replies_;
}

void FtpAnalyzer::note_invalid(std::string_view name, std::string_view detail, Timestamp ts) {
    ++invalid_;
    ++session_.invalid_lines;
    weird(name, ts, detail);
}

void FtpAnalyzer::weird(std::string_view name, Timestamp ts, std::string_view detail) {
    // Until both sides have spoken FTP this may not be FTP at all: stay quiet.
    if (valid_commands_ == 0 || valid_replies_ == 0)
        return;
    ctx_.weird(kAnalyzer, name, ts, detail.substr(0, kMaxWeirdDetail));
}

void attach_data_streams(FtpResult& result, const DataStreams& streams) {
    std::vector<bool> used(streams.list.size(), false);
    for (auto& session : result.sessions)
        attach_data_streams(session, streams, used);
}

void attach_data_streams(FtpSession& session, const DataStreams& streams, std::vector<bool>& used) {
    for (auto& t : session.transfers) {
        if (!t.data)
            continue;
        // The first unused data connection to the announced endpoint that opened after
        // the announcement and before the transfer's final reply.
        for (std::size_t i = 0; i < streams.list.size(); ++i) {
            const DataStream& d = streams.list[i];
            if (used[i] || d.service != "ftp-data" || d.resp != t.data->endpoint ||
                d.start < t.data->ts || (t.reply_ts != 0 && d.start > t.reply_ts))
                continue;
            used[i] = true;
            t.data_flow = d.flow;
            t.data_bytes = d.size;
            t.md5 = d.md5;
            t.sha256 = d.sha256;
            t.data_complete = !d.gap && d.closed && !d.md5.empty();
            t.file_kind = d.kind;
            break;
        }
    }
}

}  // namespace botscope::analysis::ftp
