#include "smtp.h"

#include <array>
#include <cstdio>

namespace botscope::botemu {

namespace {

constexpr std::array<std::string_view, 12> kLocalParts = {"john", "mary",  "mike",  "susan",
                                                          "dave", "linda", "paul",  "karen",
                                                          "mark", "nancy", "steve", "lisa"};
constexpr std::string_view kSender = "pharmacy@cheap-meds.botscope.test";
constexpr std::string_view kSubject = "Cheap meds online";

// Days since 1970-01-01 to year/month/day (H. Hinnant's civil_from_days, proleptic Gregorian).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

void append_crlf_lines(std::string& out, std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find('\n', start);
        std::string_view line =
            text.substr(start, end == std::string_view::npos ? end : end - start);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (!line.empty() && line.front() == '.')
            out += '.';
        out += line;
        out += "\r\n";
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
}

}  // namespace

std::vector<std::string> spam_domains() {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < kSpamDomains; ++i)
        out.push_back(std::string("mail-") + static_cast<char>('a' + i) + ".test");
    return out;
}

std::string spam_recipient(std::size_t index, std::string_view domain) {
    std::string local(kLocalParts[index % kLocalParts.size()]);
    if (index >= kLocalParts.size())
        local += std::to_string(index / kLocalParts.size());
    return local + "@" + std::string(domain);
}

MailMessage spam_message(std::size_t index, std::vector<std::string> recipients,
                         std::string_view token, std::time_t when) {
    MailMessage m;
    m.from = kSender;
    m.to = std::move(recipients);
    m.subject = kSubject;
    m.message_id = std::string(token) + "." + std::to_string(index) + "@cheap-meds.botscope.test";
    m.date = rfc2822_date(when);
    m.body =
        "Best prices on meds, no prescription needed!\n"
        "Visit http://cheap-meds.botscope.test/ today.\n"
        "...and much more!\n"
        "(a test message from the botscope bot emulator; no such shop exists)\n";
    return m;
}

std::string format_message(const MailMessage& m) {
    std::string to;
    for (const auto& r : m.to)
        to += (to.empty() ? "" : ", ") + r;
    std::string out = "From: " + m.from + "\r\nTo: " + to + "\r\nSubject: " + m.subject +
                      "\r\nMessage-ID: <" + m.message_id + ">\r\nDate: " + m.date +
                      "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    std::string_view body = m.body;
    if (!body.empty() && body.back() == '\n')
        body.remove_suffix(1);
    append_crlf_lines(out, body);
    out += ".\r\n";
    return out;
}

std::string rfc2822_date(std::time_t t) {
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                         "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto secs = static_cast<std::int64_t>(t);
    std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    const std::int64_t rem = secs - days * 86400;
    std::int64_t y = 0;
    unsigned m = 1, d = 1;
    civil_from_days(days, y, m, d);
    const auto weekday = static_cast<std::size_t>(((days % 7) + 11) % 7);  // 1970-01-01: Thu
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02lld:%02lld:%02lld +0000", kDays[weekday],
                  d, kMonths[m - 1], static_cast<long long>(y), static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
    return buf;
}

std::optional<ReplyLine> parse_reply_line(std::string_view line) {
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
        line[2] < '0' || line[2] > '9')
        return std::nullopt;
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-')
        return std::nullopt;
    ReplyLine r;
    r.code =
        static_cast<std::uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
    r.more = line.size() > 3 && line[3] == '-';
    return r;
}

SmtpDialogue::SmtpDialogue(std::string helo_name, MailMessage message)
    : helo_name_(std::move(helo_name)), message_(std::move(message)) {}

std::string SmtpDialogue::quit(std::string why) {
    if (!delivered_ && error_.empty())
        error_ = std::move(why);
    state_ = State::kQuit;
    return "QUIT\r\n";
}

std::optional<std::string> SmtpDialogue::on_reply(std::uint16_t code) {
    const bool ok = code >= 200 && code < 300;
    auto refused = [&](std::string_view step) {
        return quit(std::string(step) + " refused with " + std::to_string(code));
    };
    auto mail_from = [&] {
        state_ = State::kMail;
        return "MAIL FROM:<" + message_.from + ">\r\n";
    };
    auto next_rcpt = [&]() -> std::string {
        if (rcpt_ < message_.to.size()) {
            state_ = State::kRcpt;
            return "RCPT TO:<" + message_.to[rcpt_++] + ">\r\n";
        }
        if (accepted_ == 0)
            return quit("every recipient refused");
        state_ = State::kData;
        return "DATA\r\n";
    };
    switch (state_) {
        case State::kGreeting:
            if (code != 220)
                return refused("connection");
            state_ = State::kEhlo;
            return "EHLO " + helo_name_ + "\r\n";
        case State::kEhlo:
            if (ok)
                return mail_from();
            if (code < 500)
                return refused("EHLO");
            state_ = State::kHelo;
            return "HELO " + helo_name_ + "\r\n";
        case State::kHelo:
            return ok ? mail_from() : refused("HELO");
        case State::kMail:
            return ok ? next_rcpt() : refused("MAIL FROM");
        case State::kRcpt:
            if (ok)
                ++accepted_;
            return next_rcpt();
        case State::kData:
            if (code != 354)
                return refused("DATA");
            state_ = State::kBody;
            return format_message(message_);
        case State::kBody:
            if (!ok)
                return refused("message");
            delivered_ = true;
            return quit({});
        case State::kQuit:
            state_ = State::kOver;
            return std::nullopt;
        case State::kOver:
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace botscope::botemu
