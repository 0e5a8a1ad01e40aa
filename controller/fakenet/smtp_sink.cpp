#include "fakenet/smtp_sink.h"

#include <optional>
#include <span>
#include <vector>

#include "analysis/line_assembler.h"
#include "analysis/proto/smtp/smtp_parser.h"
#include "fakenet/raw_sink.h"
#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::fakenet {

namespace smtp = analysis::smtp;

namespace {

static_assert(kSmtpMaxLine == smtp::kMaxLineLength);

constexpr std::string_view kLoginUser = "334 VXNlcm5hbWU6\r\n";      // "Username:"
constexpr std::string_view kLoginPassword = "334 UGFzc3dvcmQ6\r\n";  // "Password:"
// RFC 2195's challenge shape, "<1896.697170952@sandbox.test>"; the response carries the user.
constexpr std::string_view kCramChallenge = "334 PDE4OTYuNjk3MTcwOTUyQHNhbmRib3gudGVzdD4=\r\n";

class SmtpSession : public TcpSession {
public:
    SmtpSession(const ConnInfo& conn, const SmtpConfig& config, Recorder& rec)
        : conn_(conn), config_(config), rec_(rec) {}

    void on_open(Millis now, Output& out) override {
        (void)now;
        out.data += "220 " + config_.hostname + " ESMTP\r\n";
    }

    void on_data(std::string_view data, Millis now, Output& out) override {
        (void)now;
        auto bytes = util::as_bytes(data);
        while (!bytes.empty() && state_ != State::kClosed) {
            if (state_ == State::kData) {
                consume_data(bytes, out);
                continue;
            }
            auto line = lines_.next(bytes);
            if (!line)
                break;
            if (skipping_) {
                skipping_ = line->terminator.empty();
                continue;
            }
            if (line->terminator.empty()) {
                skipping_ = true;
                error(out, "500 Line too long");
                continue;
            }
            on_line(line->text, out);
        }
    }

    std::size_t buffered() const override { return lines_.buffered() + kept_.size(); }

private:
    enum class State : std::uint8_t {
        kCommand,
        kAuthPlain,
        kAuthLoginUser,
        kAuthLoginPassword,
        kAuthCram,
        kData,
        kClosed,
    };
    // Where a DATA line is: dot-unstuffing needs only the bytes since the line began.
    enum class DataState : std::uint8_t { kLineStart, kDot, kDotCr, kMid };

    void reply(Output& out, std::string_view text) {
        out.data.append(text);
        out.data += "\r\n";
    }

    void error(Output& out, std::string_view text) {
        if (++errors_ >= kSmtpMaxErrors) {
            close(out, "421 " + config_.hostname + " Error: too many errors");
            return;
        }
        reply(out, text);
    }

    void close(Output& out, std::string_view text) {
        reply(out, text);
        out.close = true;
        state_ = State::kClosed;
    }

    void on_line(std::string_view line, Output& out) {
        switch (state_) {
            case State::kCommand:
                command(line, out);
                return;
            case State::kAuthPlain:
            case State::kAuthLoginUser:
            case State::kAuthLoginPassword:
            case State::kAuthCram:
                auth_step(line, out);
                return;
            case State::kData:
            case State::kClosed:
                return;
        }
    }

    void command(std::string_view line, Output& out) {
        const smtp::Command cmd = smtp::parse_command(line);
        switch (cmd.verb) {
            case smtp::Verb::kHelo:
            case smtp::Verb::kEhlo:
                hello(cmd, out);
                return;
            case smtp::Verb::kAuth:
                auth(cmd.arg, out);
                return;
            case smtp::Verb::kMail:
                mail(cmd.arg, out);
                return;
            case smtp::Verb::kRcpt:
                rcpt(cmd.arg, out);
                return;
            case smtp::Verb::kData:
                if (!mail_from_)
                    return error(out, "503 Error: need MAIL command");
                if (rcpt_.empty())
                    return error(out, "503 Error: need RCPT command");
                state_ = State::kData;
                data_state_ = DataState::kLineStart;
                reply(out, "354 End data with <CR><LF>.<CR><LF>");
                return;
            case smtp::Verb::kRset:
                reset_transaction();
                reply(out, "250 Ok");
                return;
            case smtp::Verb::kNoop:
                reply(out, "250 Ok");
                return;
            case smtp::Verb::kVrfy:
                reply(out, "252 Cannot VRFY user, but will accept message");
                return;
            case smtp::Verb::kHelp:
                reply(out, "214 See RFC 5321");
                return;
            case smtp::Verb::kQuit:
                close(out, "221 " + config_.hostname + " Bye");
                return;
            case smtp::Verb::kBdat:
            case smtp::Verb::kExpn:
            case smtp::Verb::kStartTls:
            case smtp::Verb::kTurn:
            case smtp::Verb::kEtrn:
            case smtp::Verb::kAtrn:
            case smtp::Verb::kSend:
            case smtp::Verb::kSoml:
            case smtp::Verb::kSaml:
                return error(out, "502 Error: command not implemented");
            case smtp::Verb::kExtension:
            case smtp::Verb::kUnknown:
            case smtp::Verb::kInvalid:
                return error(out, "500 Error: command not recognized");
        }
    }

    void hello(const smtp::Command& cmd, Output& out) {
        helo_ = util::bounded_copy(cmd.arg, smtp::kMaxAddressLength);
        reset_transaction();
        if (cmd.verb == smtp::Verb::kHelo) {
            reply(out, "250 " + config_.hostname);
            return;
        }
        out.data += "250-" + config_.hostname + "\r\n";
        out.data +=
            "250-SIZE\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
            "250 HELP\r\n";
    }

    void auth(std::string_view arg, Output& out) {
        if (authenticated_)
            return error(out, "503 Error: already authenticated");
        if (mail_from_)
            return error(out, "503 Error: MAIL transaction in progress");
        const auto sp = arg.find(' ');
        const std::string mechanism = util::to_upper(arg.substr(0, sp));
        const std::string_view initial =
            sp == std::string_view::npos ? std::string_view() : util::trim(arg.substr(sp + 1));
        if (mechanism == "PLAIN") {
            if (initial.empty()) {
                state_ = State::kAuthPlain;
                reply(out, "334 ");
                return;
            }
            return authenticated(smtp::sasl_plain_user(initial), out);
        }
        if (mechanism == "LOGIN") {
            if (initial.empty()) {
                state_ = State::kAuthLoginUser;
                out.data += kLoginUser;
                return;
            }
            login_user_ = smtp::sasl_login_user(initial);
            state_ = State::kAuthLoginPassword;
            out.data += kLoginPassword;
            return;
        }
        if (mechanism == "CRAM-MD5") {
            state_ = State::kAuthCram;
            out.data += kCramChallenge;
            return;
        }
        error(out, "504 Error: unrecognized authentication type");
    }

    void auth_step(std::string_view line, Output& out) {
        if (util::trim(line) == "*") {
            state_ = State::kCommand;
            return error(out, "501 Error: authentication cancelled");
        }
        const std::string_view b64 = util::trim(line);
        switch (state_) {
            case State::kAuthPlain:
                return authenticated(smtp::sasl_plain_user(b64), out);
            case State::kAuthLoginUser:
                login_user_ = smtp::sasl_login_user(b64);
                state_ = State::kAuthLoginPassword;
                out.data += kLoginPassword;
                return;
            case State::kAuthLoginPassword:
                // The password is neither checked nor kept.
                return authenticated(login_user_, out);
            case State::kAuthCram:
                return authenticated(smtp::sasl_cram_md5_user(b64), out);
            case State::kCommand:
            case State::kData:
            case State::kClosed:
                return;
        }
    }

    void authenticated(const smtp::SaslUser& user, Output& out) {
        state_ = State::kCommand;
        authenticated_ = true;
        if (user.status == smtp::SaslUser::Status::kOk)
            auth_user_ = user.user;
        reply(out, "235 Authentication successful");
    }

    void mail(std::string_view arg, Output& out) {
        if (messages_ >= config_.max_messages)
            return close(out, "421 " + config_.hostname + " Error: too many messages");
        if (mail_from_)
            return error(out, "503 Error: nested MAIL command");
        auto path = smtp::parse_mail_path(arg, "FROM");
        if (!path)
            return error(out, "501 Syntax: MAIL FROM:<address>");
        mail_from_ = path->address;
        reply(out, "250 Ok");
    }

    void rcpt(std::string_view arg, Output& out) {
        if (!mail_from_)
            return error(out, "503 Error: need MAIL command");
        auto path = smtp::parse_mail_path(arg, "TO");
        if (!path)
            return error(out, "501 Syntax: RCPT TO:<address>");
        if (rcpt_.size() >= config_.max_recipients) {
            reply(out, "452 Error: too many recipients");
            return;
        }
        rcpt_.push_back(path->address);
        reply(out, "250 Ok");
    }

    void reset_transaction() {
        mail_from_.reset();
        rcpt_.clear();
        kept_.clear();
        size_ = 0;
    }

    void keep(char c) {
        ++size_;
        if (kept_.size() < config_.max_message_bytes)
            kept_.push_back(c);
    }

    /// Takes message bytes up to the end-of-data line, removing the dot of dot-stuffed lines
    /// (RFC 5321 4.5.2).
    void consume_data(std::span<const std::uint8_t>& bytes, Output& out) {
        std::size_t i = 0;
        for (; i < bytes.size(); ++i) {
            const char c = static_cast<char>(bytes[i]);
            switch (data_state_) {
                case DataState::kLineStart:
                    if (c == '.') {
                        data_state_ = DataState::kDot;
                        continue;
                    }
                    break;
                case DataState::kDot:
                    if (c == '\r') {
                        data_state_ = DataState::kDotCr;
                        continue;
                    }
                    if (c == '\n') {
                        bytes = bytes.subspan(i + 1);
                        return end_of_data(out);
                    }
                    break;
                case DataState::kDotCr:
                    if (c == '\n') {
                        bytes = bytes.subspan(i + 1);
                        return end_of_data(out);
                    }
                    keep('\r');  // ".\r" then more: the line was dot-stuffed
                    break;
                case DataState::kMid:
                    break;
            }
            keep(c);
            data_state_ = c == '\n' ? DataState::kLineStart : DataState::kMid;
        }
        bytes = bytes.subspan(i);
    }

    void end_of_data(Output& out) {
        ++messages_;
        smtp::MessageParser parser;
        parser.feed(util::as_bytes(kept_));
        const smtp::MessageSummary summary = parser.finish();
        const std::string stored = rec_.store_message(kept_);

        Json j = connection_fields(conn_);
        j["helo"] = printable_or_null(helo_);
        j["auth_user"] = printable_or_null(auth_user_);
        j["mail_from"] = printable_text(*mail_from_);
        Json rcpt = Json::array();
        for (const auto& r : rcpt_)
            rcpt.push_back(printable_text(r));
        j["rcpt"] = std::move(rcpt);
        j["subject"] = summary.headers.subject.empty()
                           ? Json(nullptr)
                           : Json(printable_text(summary.headers.subject));
        j["size"] = size_;
        j["sha256"] = summary.sha256;
        j["truncated"] = size_ > kept_.size();
        j["stored"] = stored.empty() ? Json(nullptr) : Json(stored);
        rec_.record("smtp", std::move(j));

        reset_transaction();
        kept_.shrink_to_fit();
        state_ = State::kCommand;
        reply(out, "250 Ok: queued as " + std::to_string(messages_));
    }

    ConnInfo conn_;
    SmtpConfig config_;
    Recorder& rec_;
    analysis::LineAssembler lines_{kSmtpMaxLine};
    State state_ = State::kCommand;
    DataState data_state_ = DataState::kLineStart;
    bool skipping_ = false;
    std::size_t errors_ = 0;
    std::optional<std::string> helo_;
    bool authenticated_ = false;
    std::optional<std::string> auth_user_;
    smtp::SaslUser login_user_;
    std::optional<std::string> mail_from_;
    std::vector<std::string> rcpt_;
    std::string kept_;
    std::uint64_t size_ = 0;
    std::size_t messages_ = 0;
};

}  // namespace

std::size_t smtp_buffer_bound(const SmtpConfig& config) {
    return kSmtpMaxLine + config.max_message_bytes;
}

std::unique_ptr<TcpSession> make_smtp_session(const ConnInfo& conn, const SmtpConfig& config,
                                              Recorder& rec) {
    return std::make_unique<SmtpSession>(conn, config, rec);
}

}  // namespace botscope::fakenet
