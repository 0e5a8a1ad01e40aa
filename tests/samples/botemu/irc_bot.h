#pragma once
// The bot's side of IRC as a state machine: server lines in, lines to send and commands to run
// out. No sockets and no clock, so the whole dialogue is unit-tested.
//
// Registration: PASS, NICK kNickPrefix + kNickDigits digits (new digits on 433, at most
// kMaxNickRetries times), USER; on 001 JOIN kChannel with kChannelKey. PING is answered.
// Commands: the channel topic (332 at join, or a TOPIC change) is executed without login, up to
// kMaxTopicCommands commands separated by '|' (rbot trusted its topic). PRIVMSG to the channel
// or to the bot's nick is executed only for nicks that sent `.login kLoginPassword` before
// (PART, QUIT and KICK log them out; NICK carries the login over); other nicks are ignored
// silently. Channel commands are answered in the channel, private ones to the sender.
// Lines are parsed with the analysis' IRC parser; a line that does not parse is ignored.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bounds.h"
#include "command.h"

namespace botscope::botemu {

/// A command to run, and where its replies go.
struct CommandRequest {
    ParsedCommand command;
    std::string text;      ///< the command as received (formatting codes removed)
    std::string reply_to;  ///< the channel, or the sender's nick for private commands
    std::string from;      ///< who gave it ("" for the topic)
    enum class Via { kTopic, kChannel, kPrivate } via = Via::kChannel;
};

/// What one server line asks of the bot.
struct Reaction {
    std::vector<std::string> send;         ///< IRC lines, without CR LF
    std::vector<CommandRequest> commands;  ///< in order
    bool joined = false;                   ///< this line completed the JOIN of kChannel
    bool give_up = false;                  ///< no nick could be registered: close the connection
};

/// `PRIVMSG target :text`, the text cut to kMaxReplyText and stripped of control characters
/// (CR, LF, NUL would end or break the line).
std::string privmsg(std::string_view target, std::string_view text);

class IrcBot {
public:
    /// `draw_digits` returns kNickDigits random digits (a new draw each call).
    explicit IrcBot(std::function<std::string()> draw_digits);

    /// PASS, NICK, USER: what to send once connected.
    std::vector<std::string> greeting();

    Reaction on_line(std::string_view line);

    const std::string& nick() const { return nick_; }
    /// The digits of the nick (the beacon's id).
    const std::string& digits() const { return digits_; }
    bool registered() const { return registered_; }
    bool joined() const { return joined_; }
    bool logged_in(std::string_view nick) const;

private:
    void new_nick();
    void run_topic(std::string_view topic, Reaction& r);
    void on_privmsg(std::string_view from, std::string_view target, std::string_view text,
                    Reaction& r);
    void forget(std::string_view nick);

    std::function<std::string()> draw_digits_;
    std::string nick_;
    std::string digits_;
    bool registered_ = false;
    bool joined_ = false;
    int nick_retries_ = 0;
    int rejoins_ = 0;
    std::vector<std::string> logged_in_;  ///< at most kMaxLoggedIn, oldest first
};

}  // namespace botscope::botemu
