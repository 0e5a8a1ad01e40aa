#include "irc_bot.h"

#include <algorithm>

#include "analysis/proto/irc/irc_parser.h"
#include "util/text.h"

namespace botscope::botemu {

namespace irc = analysis::irc;

namespace {

bool is_our_channel(std::string_view name) {
    return util::iequals(name, kChannel);
}

}  // namespace

std::string privmsg(std::string_view target, std::string_view text) {
    std::string clean;
    for (char c : text.substr(0, kMaxReplyText)) {
        const auto u = static_cast<unsigned char>(c);
        clean += u < 0x20 && c != '\x02' && c != '\x03' && c != '\x0F' ? '?' : c;
    }
    return "PRIVMSG " + std::string(target) + " :" + clean;
}

IrcBot::IrcBot(std::function<std::string()> draw_digits) : draw_digits_(std::move(draw_digits)) {
    new_nick();
}

void IrcBot::new_nick() {
    digits_ = draw_digits_();
    nick_ = std::string(kNickPrefix) + digits_;
}

std::vector<std::string> IrcBot::greeting() {
    return {"PASS " + std::string(kServerPassword), "NICK " + nick_,
            "USER " + std::string(kIrcUser) + " 0 0 :" + std::string(kIrcRealName)};
}

bool IrcBot::logged_in(std::string_view nick) const {
    return std::any_of(logged_in_.begin(), logged_in_.end(),
                       [&](const std::string& n) { return irc::nick_equal(n, nick); });
}

void IrcBot::forget(std::string_view nick) {
    std::erase_if(logged_in_, [&](const std::string& n) { return irc::nick_equal(n, nick); });
}

Reaction IrcBot::on_line(std::string_view line) {
    Reaction r;
    auto parsed = irc::parse_message(line);
    if (parsed.status != irc::ParseStatus::kOk)
        return r;
    const irc::Message& m = parsed.msg;
    const std::string_view from = m.prefix.nick;
    const bool from_us = irc::nick_equal(from, nick_);
    const std::uint16_t numeric = m.numeric();

    if (util::iequals(m.command, "PING")) {
        r.send.push_back("PONG :" + std::string(m.param(0)));
    } else if (numeric == 1) {
        registered_ = true;
        if (irc::is_valid_nick(m.param(0)))
            nick_ = std::string(m.param(0));
        r.send.push_back("JOIN " + std::string(kChannel) + " " + std::string(kChannelKey));
    } else if (numeric == 433 && !registered_) {
        if (++nick_retries_ > kMaxNickRetries) {
            r.give_up = true;
        } else {
            new_nick();
            r.send.push_back("NICK " + nick_);
        }
    } else if (numeric == 332 && is_our_channel(m.param(1))) {
        run_topic(m.param(2), r);
    } else if (util::iequals(m.command, "TOPIC") && is_our_channel(m.param(0)) && !from_us) {
        run_topic(m.param(1), r);
    } else if ((util::iequals(m.command, "JOIN") && from_us && is_our_channel(m.param(0))) ||
               (numeric == 366 && is_our_channel(m.param(1)))) {
        r.joined = !joined_;
        joined_ = true;
    } else if (util::iequals(m.command, "KICK") && is_our_channel(m.param(0))) {
        if (irc::nick_equal(m.param(1), nick_)) {
            joined_ = false;
            if (rejoins_++ < kMaxRejoins)
                r.send.push_back("JOIN " + std::string(kChannel) + " " + std::string(kChannelKey));
        } else {
            forget(m.param(1));
        }
    } else if (util::iequals(m.command, "PART") || util::iequals(m.command, "QUIT")) {
        forget(from);
    } else if (util::iequals(m.command, "NICK")) {
        if (from_us && irc::is_valid_nick(m.param(0))) {
            nick_ = std::string(m.param(0));
        } else if (logged_in(from)) {
            forget(from);
            logged_in_.emplace_back(m.param(0));
        }
    } else if (util::iequals(m.command, "PRIVMSG") && !from.empty()) {
        on_privmsg(from, m.param(0), m.param(1), r);
    }
    return r;
}

void IrcBot::run_topic(std::string_view topic, Reaction& r) {
    std::size_t taken = 0;
    const std::string clean = irc::strip_formatting(topic);
    for (auto part : util::split(clean, '|')) {
        if (taken == kMaxTopicCommands)
            break;
        ParsedCommand c = parse_command(part);
        if (c.status == ParsedCommand::Status::kNotCommand ||
            c.status == ParsedCommand::Status::kUnknown || c.verb == Verb::kLogin)
            continue;
        ++taken;
        r.commands.push_back({std::move(c), std::string(util::trim(part)), std::string(kChannel),
                              "", CommandRequest::Via::kTopic});
    }
}

void IrcBot::on_privmsg(std::string_view from, std::string_view target, std::string_view text,
                        Reaction& r) {
    const bool to_channel = is_our_channel(target);
    if (!to_channel && !irc::nick_equal(target, nick_))
        return;
    const std::string clean = irc::strip_formatting(text);
    ParsedCommand c = parse_command(clean);
    if (c.status == ParsedCommand::Status::kNotCommand ||
        c.status == ParsedCommand::Status::kUnknown)
        return;
    const std::string reply_to = to_channel ? std::string(kChannel) : std::string(from);
    if (c.verb == Verb::kLogin) {
        // A wrong password is ignored, as the bots did (no hint for a guesser).
        if (c.status != ParsedCommand::Status::kOk ||
            std::get<LoginArgs>(c.args).password != kLoginPassword)
            return;
        if (!logged_in(from)) {
            if (logged_in_.size() == kMaxLoggedIn)
                logged_in_.erase(logged_in_.begin());
            logged_in_.emplace_back(from);
        }
        r.send.push_back(privmsg(reply_to, "[MAIN]: Password accepted."));
        return;
    }
    if (!logged_in(from))
        return;
    r.commands.push_back(
        {std::move(c), std::string(util::trim(clean)), reply_to, std::string(from),
         to_channel ? CommandRequest::Via::kChannel : CommandRequest::Via::kPrivate});
}

}  // namespace botscope::botemu
