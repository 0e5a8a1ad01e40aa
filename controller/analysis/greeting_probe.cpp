#include "analysis/greeting_probe.h"

#include <algorithm>
#include <iterator>
#include <string>

#include "util/text.h"

namespace botscope::analysis::greeting {

namespace {

constexpr std::string_view kSmtpOpeners[] = {"HELO ",  "EHLO ",  "HELO\r",    "EHLO\r",
                                             "HELO\n", "EHLO\n", "MAIL FROM:"};
constexpr std::string_view kFtpOpeners[] = {"USER ",  "AUTH TLS", "AUTH SSL", "FEAT\r", "FEAT\n",
                                            "SYST\r", "SYST\n",   "OPTS ",    "HOST ",  "CLNT "};
constexpr std::string_view kSmtpWords[] = {"smtp", "postfix", "sendmail", "exim", "mail"};
constexpr std::string_view kFtpWords[] = {"ftp", "filezilla", "serv-u"};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

Speaker classify_client(std::string_view c) {
    if (c.empty())
        return Speaker::kEmpty;
    for (auto o : kSmtpOpeners)
        if (util::istarts_with(c, o))
            return Speaker::kSmtp;
    for (auto o : kFtpOpeners)
        if (util::istarts_with(c, o))
            return Speaker::kFtp;
    auto could_become = [&](std::string_view o) {
        return c.size() < o.size() && util::istarts_with(o, c);
    };
    for (auto o : kSmtpOpeners)
        if (could_become(o))
            return Speaker::kPartial;
    for (auto o : kFtpOpeners)
        if (could_become(o))
            return Speaker::kPartial;
    return Speaker::kOther;
}

Greeting classify_server(std::string_view s, char lowest_class) {
    for (std::size_t i = 0; i < std::min<std::size_t>(3, s.size()); ++i)
        if (!is_digit(s[i]))
            return Greeting::kNotReply;
    if (!s.empty() && (s[0] < lowest_class || s[0] > '5'))
        return Greeting::kNotReply;
    if (s.size() < 4)
        return Greeting::kPartial;
    const char sep = s[3];
    return (sep == ' ' || sep == '-' || sep == '\r' || sep == '\n') ? Greeting::kReply
                                                                    : Greeting::kNotReply;
}

Banner classify_banner(std::string_view s) {
    const std::string text = util::to_lower(s.substr(0, kBannerWindow));
    auto any = [&](const auto& words) {
        return std::any_of(std::begin(words), std::end(words),
                           [&](std::string_view w) { return text.find(w) != std::string::npos; });
    };
    const bool smtp = any(kSmtpWords);
    const bool ftp = any(kFtpWords);
    if (smtp == ftp)
        return Banner::kUnknown;
    return smtp ? Banner::kSmtp : Banner::kFtp;
}

}  // namespace botscope::analysis::greeting
