#include "analysis/proto/smtp/smtp_analyzer.h"

#include <algorithm>
#include <utility>

#include "analysis/greeting_probe.h"
#include "analysis/log_sink.h"
#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::analysis::smtp {

namespace {

using greeting::Banner;
using greeting::classify_banner;
using greeting::classify_client;
using greeting::Greeting;
using greeting::Speaker;

constexpr std::string_view kAnalyzer = "smtp";
constexpr std::size_t kMaxWeirdDetail = 128;
constexpr std::size_t kMaxVerbStored = 32;
constexpr std::size_t kMaxMechanism = 32;

std::string bounded(std::string_view s, std::size_t max, bool* truncated = nullptr) {
    return util::bounded_copy(s, max, truncated);
}

}  // namespace

ProbeResult probe(const ProbeInput& in) {
    const Speaker client = classify_client(util::as_chars(in.orig));
    const std::string_view server = util::as_chars(in.resp);
    if (server.empty()) {
        if (client == Speaker::kSmtp)
            return ProbeResult::kMatch;
        if (client == Speaker::kEmpty || client == Speaker::kPartial)
            return ProbeResult::kNeedMore;
        return ProbeResult::kNoMatch;
    }
    switch (greeting::classify_server(server, '2')) {
        case Greeting::kNotReply:
            return ProbeResult::kNoMatch;
        case Greeting::kPartial:
            return (client == Speaker::kFtp || client == Speaker::kOther) ? ProbeResult::kNoMatch
                                                                          : ProbeResult::kNeedMore;
        case Greeting::kReply:
            break;
    }
    if (client == Speaker::kSmtp)
        return ProbeResult::kMatch;
    if (client == Speaker::kFtp)
        return ProbeResult::kNoMatch;
    const Banner banner = classify_banner(server);
    if (banner == Banner::kSmtp)
        return ProbeResult::kMatch;
    if (client == Speaker::kOther || banner == Banner::kFtp)
        return ProbeResult::kNoMatch;
    return ProbeResult::kNeedMore;
}

std::string_view status_name(MessageStatus s) {
    switch (s) {
        case MessageStatus::kIncomplete:
            return "incomplete";
        case MessageStatus::kDelivered:
            return "delivered";
        case MessageStatus::kRejected:
            return "rejected";
        case MessageStatus::kAborted:
            return "aborted";
    }
    return "incomplete";
}

// ---- analyzer ----

SmtpAnalyzer::SmtpAnalyzer(const AnalyzerContext& ctx, SmtpResult& result)
    : ctx_(ctx), result_(result) {
    session_.ts = ctx.flow.start;
    session_.flow = ctx.flow.id;
    session_.orig = ctx.flow.orig;
    session_.resp = ctx.flow.resp;
    // The server speaks first; its greeting answers no command.
    pending_.push_back(PendingEntry{Pending::kGreeting});
}

void SmtpAnalyzer::on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) {
    if (ended_ || gave_up())
        return;
    if (session_.ts == 0)
        session_.ts = ts;
    if (dir == Direction::kOrig)
        client_data(data, ts);
    else
        server_data(data, ts);
}

void SmtpAnalyzer::on_gap(Direction dir, std::uint64_t len, Timestamp ts) {
    (void)ts;
    if (ended_ || gave_up())
        return;
    if (dir == Direction::kResp) {
        server_lines_.drop_after_gap();
        replies_.reset();
        return;
    }
    switch (mode_) {
        case ClientMode::kTls:
            return;
        case ClientMode::kBdat: {
            // A BDAT chunk is counted in bytes, so a hole inside it is just missing content.
            const std::uint64_t n = std::min(len, bdat_remaining_);
            bdat_remaining_ -= n;
            body_gap_ = true;
            if (bdat_remaining_ == 0) {
                end_bdat_chunk();
                if (len > n)
                    client_lines_.drop_after_gap();
            }
            return;
        }
        case ClientMode::kData:
            body_gap_ = true;
            client_lines_.drop_after_gap();
            return;
        case ClientMode::kCommand:
        case ClientMode::kAuth:
        case ClientMode::kAwaitTls:
            client_lines_.drop_after_gap();
            return;
    }
}

void SmtpAnalyzer::on_eof(Direction dir, Timestamp ts) {
    if (ended_ || gave_up())
        return;
    if (dir == Direction::kResp) {
        if (server_tls_)
            return;
        if (auto f = server_lines_.flush(); f && !f->continued)
            server_line(f->text, ts);
        return;
    }
    if (mode_ == ClientMode::kTls || mode_ == ClientMode::kBdat)
        return;
    auto f = client_lines_.flush();
    if (!f || f->continued)
        return;
    // The peer closed after an unterminated line: take it as a whole line.
    switch (mode_) {
        case ClientMode::kData:
            if (f->text == ".") {
                end_data(ts);
            } else {
                std::string_view text = f->text;
                if (!text.empty() && text.front() == '.')
                    text.remove_prefix(1);
                feed_body(text);
            }
            return;
        case ClientMode::kAuth:
            auth_line(f->text, ts);
            return;
        case ClientMode::kCommand:
        case ClientMode::kAwaitTls:
            command_line(f->text, ts);
            return;
        case ClientMode::kTls:
        case ClientMode::kBdat:
            return;
    }
}

void SmtpAnalyzer::on_end(Timestamp ts) {
    if (ended_)
        return;
    if (body_)
        finish_body(false);
    ended_ = true;
    session_.gave_up = gave_up();

    ++result_.sessions_seen;
    result_.messages_seen += session_.messages_seen;
    result_.recipients_seen += session_.recipients_seen;
    if (ctx_.logs != nullptr)
        ctx_.logs->smtp(session_);

    const std::size_t budget =
        kMaxMessagesPerResult - std::min(kMaxMessagesPerResult, result_.messages_stored);
    if (session_.messages.size() > budget) {
        session_.messages_dropped += session_.messages.size() - budget;
        session_.messages.resize(budget);
        weird("smtp_message_limit", ts, "result");
    }
    result_.messages_dropped += session_.messages_dropped;
    if (result_.sessions.size() >= kMaxSessions) {
        ++result_.sessions_dropped;
        result_.messages_dropped += session_.messages.size();
        weird("smtp_session_limit", ts);
        return;
    }
    result_.messages_stored += session_.messages.size();
    result_.sessions.push_back(std::move(session_));
}

// ---- client side ----

void SmtpAnalyzer::client_data(std::span<const std::uint8_t> data, Timestamp ts) {
    while (!data.empty() && !gave_up()) {
        switch (mode_) {
            case ClientMode::kTls:
                return;
            case ClientMode::kBdat: {
                const auto n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(bdat_remaining_, data.size()));
                feed_body(util::as_chars(data.first(n)));
                data = data.subspan(n);
                bdat_remaining_ -= n;
                if (bdat_remaining_ == 0)
                    end_bdat_chunk();
                continue;
            }
            case ClientMode::kAwaitTls:
                // A TLS handshake record right after STARTTLS: the switch happened.
                if (client_lines_.buffered() == 0 && data[0] == 0x16) {
                    mode_ = ClientMode::kTls;
                    session_.tls = true;
                    return;
                }
                break;
            case ClientMode::kCommand:
            case ClientMode::kAuth:
            case ClientMode::kData:
                break;
        }
        auto f = client_lines_.next(data);
        if (!f)
            return;
        client_fragment(*f, ts);
    }
}

void SmtpAnalyzer::client_fragment(const LineFragment& f, Timestamp ts) {
    if (mode_ == ClientMode::kData) {
        data_line(f, ts);
        return;
    }
    // The tail of an over-long line, or what follows a gap: skipped, unless the gap ended at a
    // line end and this is plainly a command.
    if (f.continued) {
        if (!f.after_gap || f.terminator.empty() || mode_ != ClientMode::kCommand)
            return;
        const Verb v = parse_command(f.text).verb;
        if (v == Verb::kInvalid || v == Verb::kUnknown)
            return;
    }
    if (f.terminator.empty()) {
        weird("smtp_line_too_long", ts, f.text.substr(0, 16));
        // The server still answers the line (500), so keep the reply pairing.
        if (mode_ != ClientMode::kAuth) {
            ++session_.commands_seen;
            push_pending(Pending::kOther, kNone);
        }
        return;
    }
    if (mode_ == ClientMode::kAuth)
        auth_line(f.text, ts);
    else
        command_line(f.text, ts);
}

void SmtpAnalyzer::command_line(std::string_view line, Timestamp ts) {
    const Command c = parse_command(line);
    ++session_.commands_seen;
    const bool known = c.verb != Verb::kInvalid && c.verb != Verb::kUnknown;
    if (known) {
        note_valid(true);
    } else {
        note_invalid("smtp_invalid_command", c.name.empty() ? line : c.name, ts);
        if (gave_up())
            return;
    }
    const std::size_t cmd = log_command(c, ts);
    switch (c.verb) {
        case Verb::kHelo:
        case Verb::kEhlo:
            if (session_.helo_command.empty()) {
                session_.helo = bounded(c.arg, kMaxCommandArg);
                session_.helo_command = std::string(verb_name(c.verb));
            }
            abort_transaction();  // HELO/EHLO reset the transaction state (RFC 5321 4.1.4)
            push_pending(c.verb == Verb::kEhlo ? Pending::kEhlo : Pending::kHelo, cmd);
            return;
        case Verb::kMail:
            start_transaction(c.arg, cmd, ts);
            return;
        case Verb::kRcpt:
            add_recipient(c.arg, cmd, ts);
            return;
        case Verb::kData:
            if (txn_.open && !txn_.data_started) {
                // Content follows without waiting for 354 when the client pipelines, so the
                // data phase starts now; a refusal before any content ends it again.
                push_pending(Pending::kData, cmd, txn_.index);
                start_data();
                mode_ = ClientMode::kData;
            } else {
                weird("smtp_command_out_of_sequence", ts, "DATA");
                push_pending(Pending::kData, cmd);
            }
            return;
        case Verb::kBdat: {
            const auto parts = util::split(c.arg, ' ');
            const auto size = parts.empty() ? std::nullopt : util::parse_u64(parts[0]);
            if (!size) {
                weird("smtp_bad_bdat", ts, c.arg.substr(0, 32));
                push_pending(Pending::kOther, cmd);
                return;
            }
            bdat_last_ = parts.size() >= 2 && util::iequals(parts[1], "LAST");
            bdat_remaining_ = *size;
            if (txn_.open && !txn_.data_complete) {
                if (!txn_.data_started)
                    start_data();
                push_pending(bdat_last_ ? Pending::kBdatLast : Pending::kBdat, cmd, txn_.index);
            } else {
                // The chunk's bytes follow whatever the server thinks; skip them.
                weird("smtp_command_out_of_sequence", ts, "BDAT");
                push_pending(Pending::kOther, cmd);
            }
            mode_ = ClientMode::kBdat;
            if (bdat_remaining_ == 0)
                end_bdat_chunk();
            return;
        }
        case Verb::kRset:
            abort_transaction();
            push_pending(Pending::kOther, cmd);
            return;
        case Verb::kQuit:
            session_.quit = true;
            abort_transaction();
            push_pending(Pending::kOther, cmd);
            return;
        case Verb::kAuth:
            start_auth(c.arg, cmd, ts);
            return;
        case Verb::kStartTls:
            session_.starttls = true;
            mode_ = ClientMode::kAwaitTls;
            push_pending(Pending::kStartTls, cmd);
            return;
        case Verb::kVrfy:
        case Verb::kExpn:
        case Verb::kHelp:
        case Verb::kNoop:
        case Verb::kTurn:
        case Verb::kEtrn:
        case Verb::kAtrn:
        case Verb::kSend:
        case Verb::kSoml:
        case Verb::kSaml:
        case Verb::kExtension:
        case Verb::kUnknown:
        case Verb::kInvalid:
            push_pending(Pending::kOther, cmd);
            return;
    }
}

void SmtpAnalyzer::auth_line(std::string_view line, Timestamp ts) {
    const std::string_view text = util::trim(line);
    if (text == "*") {
        auth_step_ = AuthStep::kDone;  // cancelled; the server's 501 ends the exchange
        return;
    }
    // Base64 has no spaces: a command line here means the exchange ended and its reply was not
    // seen. After the last expected payload any known command counts.
    const Command c = parse_command(text);
    const bool command =
        c.verb != Verb::kInvalid && c.verb != Verb::kUnknown && c.verb != Verb::kExtension &&
        (auth_step_ == AuthStep::kDone || text.find(' ') != std::string_view::npos);
    if (command) {
        mode_ = ClientMode::kCommand;
        auth_step_ = AuthStep::kNone;
        command_line(line, ts);
        return;
    }
    switch (auth_step_) {
        case AuthStep::kLoginUser:
            set_auth_user(sasl_login_user(text), ts);
            auth_step_ = AuthStep::kLoginPassword;
            return;
        case AuthStep::kLoginPassword:
            auth_step_ = AuthStep::kDone;  // the password: read past, never kept
            return;
        case AuthStep::kPlain:
            set_auth_user(sasl_plain_user(text), ts);
            auth_step_ = AuthStep::kDone;
            return;
        case AuthStep::kCram:
            set_auth_user(sasl_cram_md5_user(text), ts);
            auth_step_ = AuthStep::kDone;
            return;
        case AuthStep::kNone:
        case AuthStep::kDone:
            return;  // opaque payloads of other mechanisms (NTLM, GSSAPI...)
    }
}

void SmtpAnalyzer::data_line(const LineFragment& f, Timestamp ts) {
    const bool line_start = !f.continued;
    if (line_start && !f.terminator.empty() && f.text == ".") {
        end_data(ts);
        return;
    }
    std::string_view text = f.text;
    if (line_start && !text.empty() && text.front() == '.')
        text.remove_prefix(1);  // unstuff
    feed_body(text);
    feed_body(f.terminator);
}

// ---- server side ----

void SmtpAnalyzer::server_data(std::span<const std::uint8_t> data, Timestamp ts) {
    while (!data.empty() && !server_tls_ && !gave_up()) {
        auto f = server_lines_.next(data);
        if (!f)
            return;
        if (f->continued && !(f->after_gap && reply::parse_line(f->text, '2').ok))
            continue;
        // The code is at the front, so an over-long reply is still understood.
        if (f->terminator.empty())
            weird("smtp_line_too_long", ts, f->text.substr(0, 16));
        server_line(f->text, ts);
    }
}

void SmtpAnalyzer::server_line(std::string_view line, Timestamp ts) {
    switch (replies_.line(line)) {
        case reply::Assembler::Step::kInvalid:
            note_invalid("smtp_invalid_reply", line, ts);
            return;
        case reply::Assembler::Step::kMore:
            return;
        case reply::Assembler::Step::kDone:
            complete_reply(replies_.code(), ts);
            return;
    }
}

void SmtpAnalyzer::complete_reply(std::uint16_t code, Timestamp ts) {
    note_valid(false);
    const std::string last = replies_.summary();
    reply::remember(session_.last_replies, last, kMaxLastReplies, kMaxReplyText);

    // A SASL challenge: the AUTH exchange goes on.
    if (code == 334 && !pending_.empty() && pending_.front().kind == Pending::kAuth)
        return;
    // The terminating dot fell into a gap; the server's verdict shows the message ended.
    if (pending_.empty() && mode_ == ClientMode::kData && body_gap_)
        end_data(ts);
    if (pending_.empty()) {
        // 421 may come at any time (the server is shutting the connection).
        if (code != 421 && !pending_overflow_)
            weird("smtp_unexpected_reply", ts, last);
        return;
    }
    // No greeting captured (the capture started late): the reply belongs to the next command.
    if (pending_.front().kind == Pending::kGreeting && code != 220 && code != 421 && code != 554 &&
        pending_.size() > 1)
        pending_.pop_front();
    const PendingEntry e = pending_.front();
    pending_.pop_front();
    if (e.command < session_.commands.size())
        session_.commands[e.command].reply = code;
    answer(e, code, ts);
}

void SmtpAnalyzer::answer(const PendingEntry& e, std::uint16_t code, Timestamp ts) {
    (void)ts;
    SmtpMessage* m = message_at(e.message);
    const bool failed = code >= 400;
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
        case Pending::kEhlo:
            if (code / 100 == 2 && session_.extensions.empty()) {
                // The first line is the server's name; each further line is one extension.
                for (std::size_t i = 1; i < replies_.lines().size(); ++i) {
                    if (session_.extensions.size() >= kMaxExtensions)
                        break;
                    session_.extensions.push_back(
                        bounded(replies_.lines()[i], kMaxExtensionLength));
                }
            }
            return;
        case Pending::kMail:
            if (m) {
                m->mail_from_reply = code;
                if (failed)
                    m->status = MessageStatus::kRejected;
            }
            return;
        case Pending::kRcpt:
            if (m && e.rcpt < m->recipients.size())
                m->recipients[e.rcpt].reply = code;
            return;
        case Pending::kData:
            if (m)
                m->data_reply = code;
            if (code == 354) {
                // Accepted although no transaction was seen (MAIL lost in a gap): read the
                // content so that it is not taken for commands.
                if (mode_ == ClientMode::kCommand && e.message == kNone && !txn_.open) {
                    txn_ = Transaction{};
                    txn_.open = true;
                    txn_.id = ++next_txn_;
                    start_data();
                    mode_ = ClientMode::kData;
                }
                return;
            }
            if (e.txn == txn_.id && mode_ == ClientMode::kData && !body_content_) {
                // Refused before any content: the client will not send it.
                mode_ = ClientMode::kCommand;
                body_.reset();
                txn_.data_started = false;
                if (m)
                    m->data = false;
            }
            if (m && failed)
                m->status = MessageStatus::kRejected;
            return;
        case Pending::kDataEnd:
        case Pending::kBdatLast:
            if (m) {
                m->reply = code;
                m->reply_text = replies_.lines().empty() ? std::string{} : replies_.lines().back();
                if (code / 100 == 2)
                    m->status = MessageStatus::kDelivered;
                else if (failed)
                    m->status = MessageStatus::kRejected;
            }
            if (e.txn == txn_.id)
                txn_.open = false;
            return;
        case Pending::kBdat:
            if (m && failed) {
                m->reply = code;
                m->reply_text = replies_.lines().empty() ? std::string{} : replies_.lines().back();
                m->status = MessageStatus::kRejected;
            }
            return;
        case Pending::kAuth:
            if (e.auth < session_.auth.size())
                session_.auth[e.auth].reply = code;
            if (mode_ == ClientMode::kAuth)
                mode_ = ClientMode::kCommand;
            auth_step_ = AuthStep::kNone;
            return;
        case Pending::kStartTls:
            if (code == 220) {
                switch_to_tls();
            } else if (mode_ == ClientMode::kAwaitTls) {
                mode_ = ClientMode::kCommand;
            }
            return;
        case Pending::kHelo:
        case Pending::kOther:
            return;
    }
}

// ---- transactions ----

std::size_t SmtpAnalyzer::log_command(const Command& c, Timestamp ts) {
    if (session_.commands.size() >= kMaxCommandsPerSession) {
        ++session_.commands_dropped;
        return kNone;
    }
    SmtpCommandRecord r;
    r.ts = ts;
    r.command = bounded(c.name, kMaxVerbStored);
    // Credentials may ride on the AUTH line (initial response): keep only the mechanism.
    r.arg = c.verb == Verb::kAuth
                ? bounded(c.arg.substr(0, c.arg.find_first_of(" \t")), kMaxMechanism)
                : bounded(c.arg, kMaxCommandArg);
    session_.commands.push_back(std::move(r));
    return session_.commands.size() - 1;
}

void SmtpAnalyzer::push_pending(Pending kind, std::size_t command, std::size_t message,
                                std::size_t rcpt, std::size_t auth) {
    if (pending_.size() >= kMaxPendingCommands) {
        pending_overflow_ = true;
        return;
    }
    pending_.push_back(PendingEntry{kind, command, message, rcpt, auth, txn_.id});
}

SmtpMessage* SmtpAnalyzer::message_at(std::size_t index) {
    return index < session_.messages.size() ? &session_.messages[index] : nullptr;
}

void SmtpAnalyzer::start_transaction(std::string_view arg, std::size_t command, Timestamp ts) {
    abort_transaction();
    auto path = parse_mail_path(arg, "FROM");
    if (!path) {
        weird("smtp_bad_path", ts, arg.substr(0, 32));
        push_pending(Pending::kOther, command);
        return;
    }
    ++session_.messages_seen;
    txn_ = Transaction{};
    txn_.open = true;
    txn_.id = ++next_txn_;
    if (session_.messages.size() < kMaxMessagesPerSession) {
        SmtpMessage m;
        m.ts = ts;
        m.mail_from = std::move(path->address);
        m.mail_from_truncated = path->truncated;
        session_.messages.push_back(std::move(m));
        txn_.index = session_.messages.size() - 1;
    } else {
        ++session_.messages_dropped;
        if (!message_limit_reported_) {
            message_limit_reported_ = true;
            weird("smtp_message_limit", ts, "session");
        }
    }
    push_pending(Pending::kMail, command, txn_.index);
}

void SmtpAnalyzer::abort_transaction() {
    if (!txn_.open)
        return;
    if (body_)
        finish_body(false);
    if (!txn_.data_complete) {
        if (SmtpMessage* m = message_at(txn_.index); m && m->status == MessageStatus::kIncomplete)
            m->status = MessageStatus::kAborted;
    }
    txn_.open = false;
    txn_.index = kNone;
}

void SmtpAnalyzer::add_recipient(std::string_view arg, std::size_t command, Timestamp ts) {
    ++session_.recipients_seen;
    auto path = parse_mail_path(arg, "TO");
    if (!path) {
        weird("smtp_bad_path", ts, arg.substr(0, 32));
        push_pending(Pending::kOther, command);
        return;
    }
    if (!txn_.open) {
        weird("smtp_command_out_of_sequence", ts, "RCPT");
        push_pending(Pending::kOther, command);
        return;
    }
    std::size_t rcpt = kNone;
    if (SmtpMessage* m = message_at(txn_.index)) {
        if (m->recipients.size() < kMaxRecipientsPerMessage &&
            recipients_stored_ < kMaxRecipientsPerSession) {
            m->recipients.push_back(SmtpRecipient{std::move(path->address), 0, path->truncated});
            rcpt = m->recipients.size() - 1;
            ++recipients_stored_;
        } else {
            ++m->recipients_dropped;
            if (!txn_.recipients_limit_reported) {
                txn_.recipients_limit_reported = true;
                weird("smtp_too_many_recipients", ts);
            }
        }
    }
    push_pending(Pending::kRcpt, command, txn_.index, rcpt);
}

void SmtpAnalyzer::start_data() {
    txn_.data_started = true;
    body_.reset();
    body_content_ = false;
    body_gap_ = false;
    if (SmtpMessage* m = message_at(txn_.index)) {
        m->data = true;
        body_.emplace();
    }
}

void SmtpAnalyzer::feed_body(std::string_view bytes) {
    if (bytes.empty())
        return;
    body_content_ = true;
    if (body_)
        body_->feed(util::as_bytes(bytes));
}

void SmtpAnalyzer::finish_body(bool complete) {
    if (!body_)
        return;
    MessageSummary s = body_->finish();
    body_.reset();
    SmtpMessage* m = message_at(txn_.index);
    if (!m)
        return;
    m->data_complete = complete;
    m->headers = std::move(s.headers);
    m->header_count = s.header_count;
    m->attachments = std::move(s.attachments);
    m->attachments_dropped = s.attachments_dropped;
    m->size = s.size;
    m->gaps = body_gap_;
    m->truncated = s.truncated;
    // A hash over content with holes would name a file that never existed.
    if (!body_gap_) {
        m->md5 = std::move(s.md5);
        m->sha256 = std::move(s.sha256);
    }
    if (body_gap_)
        weird("smtp_data_gap", m->ts);
    if (s.truncated)
        weird("smtp_message_truncated", m->ts);
}

void SmtpAnalyzer::end_data(Timestamp ts) {
    (void)ts;
    mode_ = ClientMode::kCommand;
    finish_body(true);
    txn_.data_complete = true;
    push_pending(Pending::kDataEnd, kNone, txn_.index);
}

void SmtpAnalyzer::end_bdat_chunk() {
    mode_ = ClientMode::kCommand;
    if (bdat_last_ && txn_.open && txn_.data_started && !txn_.data_complete) {
        finish_body(true);
        txn_.data_complete = true;
    }
}

// ---- AUTH and TLS ----

void SmtpAnalyzer::start_auth(std::string_view arg, std::size_t command, Timestamp ts) {
    const auto sp = arg.find_first_of(" \t");
    const std::string mech = util::to_upper(bounded(arg.substr(0, sp), kMaxMechanism));
    const std::string_view initial =
        sp == std::string_view::npos ? std::string_view{} : util::trim(arg.substr(sp + 1));
    auth_index_ = kNone;
    if (session_.auth.size() < kMaxAuthAttempts) {
        SmtpAuthAttempt a;
        a.ts = ts;
        a.mechanism = mech;
        session_.auth.push_back(std::move(a));
        auth_index_ = session_.auth.size() - 1;
    } else {
        ++session_.auth_dropped;
    }
    push_pending(Pending::kAuth, command, kNone, kNone, auth_index_);
    // "=" is an empty initial response (RFC 4954).
    const bool has_initial = !initial.empty() && initial != "=";
    if (mech == "PLAIN") {
        if (initial.empty()) {
            auth_step_ = AuthStep::kPlain;
        } else {
            if (has_initial)
                set_auth_user(sasl_plain_user(initial), ts);
            auth_step_ = AuthStep::kDone;
        }
    } else if (mech == "LOGIN") {
        if (initial.empty()) {
            auth_step_ = AuthStep::kLoginUser;
        } else {
            if (has_initial)
                set_auth_user(sasl_login_user(initial), ts);
            auth_step_ = AuthStep::kLoginPassword;
        }
    } else if (mech == "CRAM-MD5") {
        auth_step_ = AuthStep::kCram;
    } else {
        auth_step_ = AuthStep::kDone;
    }
    mode_ = ClientMode::kAuth;
}

void SmtpAnalyzer::set_auth_user(const SaslUser& u, Timestamp ts) {
    switch (u.status) {
        case SaslUser::Status::kBadBase64:
            weird("smtp_bad_base64", ts);
            return;
        case SaslUser::Status::kMalformed:
            weird("smtp_bad_sasl", ts);
            return;
        case SaslUser::Status::kOk:
            break;
    }
    if (auth_index_ < session_.auth.size()) {
        session_.auth[auth_index_].user = u.user;
        session_.auth[auth_index_].user_truncated = u.truncated;
    }
}

void SmtpAnalyzer::switch_to_tls() {
    mode_ = ClientMode::kTls;
    server_tls_ = true;
    session_.tls = true;
    if (body_)
        finish_body(false);
}

// ---- bookkeeping ----

void SmtpAnalyzer::note_valid(bool command) {
    if (command)
        ++valid_commands_;
    else
        ++valid_replies_;
}

void SmtpAnalyzer::note_invalid(std::string_view name, std::string_view detail, Timestamp ts) {
    ++invalid_;
    ++session_.invalid_lines;
    weird(name, ts, detail);
}

void SmtpAnalyzer::weird(std::string_view name, Timestamp ts, std::string_view detail) {
    // Until both sides have spoken SMTP this may not be SMTP at all: stay quiet.
    if (valid_commands_ == 0 || valid_replies_ == 0)
        return;
    ctx_.weird(kAnalyzer, name, ts, detail.substr(0, kMaxWeirdDetail));
}

}  // namespace botscope::analysis::smtp
