// botscope-botemu: a bounded, harmless IRC bot of 2004-2005, the sample botscope's demo and
// end-to-end tests run in the test guest. See tests/samples/README.md.
//
// Order of a run: the safety gate (resolver, the bot's own address, the C&C's address: exit 3
// when any is outside the sandbox, having sent at most the one DNS query), then up to
// 1 + kMaxReconnects IRC sessions, each running the commands it receives to their end before
// reading on, until .quit, --max-seconds, or the last session ends.

#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

#include "actions.h"
#include "analysis/proto/irc/irc_parser.h"
#include "beacons.h"
#include "gate.h"
#include "irc_bot.h"
#include "options.h"

namespace botscope::botemu {

namespace {

using net::Clock;
using net::Deadline;

struct Run {
    Options options;
    Ipv4 resolver = 0;
    Ipv4 self = 0;
    Ipv4 cnc = 0;
    Deadline end;
    Rng rng;
};

enum class SessionEnd { kQuit, kTimeUp, kClosed, kNoConnection, kRefused };

void refuse(std::string_view why) {
    std::fprintf(stderr, "botemu: refusing to run: %.*s\n", static_cast<int>(why.size()),
                 why.data());
}

std::string outside_text(std::string_view what, Ipv4 ip) {
    return std::string(what) + " " + fakenet::format_ipv4(ip) + " is outside the sandbox " +
           kSandboxNet.to_string();
}

// The gate, part 1: the resolver and this machine's address toward it. Nothing is sent.
std::optional<int> check_resolver(Run& run) {
    if (run.options.resolver) {
        run.resolver = *run.options.resolver;
    } else if (auto text = net::system_resolver()) {
        auto ip = fakenet::parse_ipv4(*text);
        if (!ip) {
            refuse("resolver " + *text + " is outside the sandbox " + kSandboxNet.to_string());
            return kExitRefused;
        }
        run.resolver = *ip;
    } else {
        refuse("no nameserver in /etc/resolv.conf (give --resolver)");
        return kExitRefused;
    }
    if (check_destination(run.resolver)) {
        refuse(outside_text("resolver", run.resolver));
        return kExitRefused;
    }
    auto self = net::route_source(run.resolver);
    if (!self || !in_sandbox(*self)) {
        refuse(self ? outside_text("this machine's address", *self)
                    : "no route to the resolver " + fakenet::format_ipv4(run.resolver));
        return kExitRefused;
    }
    run.self = *self;
    return std::nullopt;
}

// The gate, part 2: the C&C's address (one DNS query).
std::optional<int> resolve_cnc(Run& run) {
    auto ip = resolve_host(run.resolver, run.options.cnc, run.rng,
                           std::min(run.end, net::after_ms(kDnsTimeoutMs * kDnsTries)));
    if (!ip) {
        if (ip.error().code == "refused") {
            refuse(ip.error().message);
            return kExitRefused;
        }
        std::fprintf(stderr, "botemu: %s\n", ip.error().message.c_str());
        return kExitNoCnc;
    }
    run.cnc = ip.value();
    log_line(run.options.cnc + " is " + fakenet::format_ipv4(run.cnc) + " (resolver " +
             fakenet::format_ipv4(run.resolver) + ", this machine " +
             fakenet::format_ipv4(run.self) + ")");
    return std::nullopt;
}

std::string nick_digits(Rng& rng) {
    std::string d;
    for (std::size_t i = 0; i < kNickDigits; ++i)
        d += static_cast<char>('0' + draw(rng, 0, 9));
    return d;
}

// One connection to the C&C, from connect to its end.
class Session {
public:
    Session(Run& run, net::Socket socket, Actions& actions, Beacons& beacons)
        : run_(run), socket_(std::move(socket)), actions_(actions), beacons_(beacons), bot_([&run] {
              return nick_digits(run.rng);
          }) {}

    SessionEnd go() {
        for (const auto& line : bot_.greeting())
            if (!send(line))
                return SessionEnd::kClosed;
        while (true) {
            const auto now = Clock::now();
            if (now >= run_.end) {
                send("QUIT :time is up");
                return SessionEnd::kTimeUp;
            }
            const Deadline wait = std::min(run_.end, now + std::chrono::seconds(1));
            auto got = net::receive(socket_, buffer_, kMaxIrcBuffer - buffer_.size(), wait);
            if (got == net::Received::kClosed || got == net::Received::kError)
                return SessionEnd::kClosed;
            if (auto end = take_lines())
                return *end;
        }
    }

private:
    bool send(const std::string& line) {
        return net::send_all(socket_, line + "\r\n", net::after_ms(kSendTimeoutMs));
    }

    // Handles every complete line in the buffer; an end when the session is over.
    std::optional<SessionEnd> take_lines() {
        namespace irc = analysis::irc;
        while (!buffer_.empty()) {
            if (skipping_) {
                auto lf = buffer_.find('\n');
                buffer_.erase(0, lf == std::string::npos ? buffer_.size() : lf + 1);
                skipping_ = lf == std::string::npos;
                continue;
            }
            auto line = irc::extract_line(buffer_, kMaxIrcLine);
            if (line.status == irc::LineStatus::kIncomplete)
                break;
            skipping_ = line.status == irc::LineStatus::kTooLong;
            std::string text(line.line);
            buffer_.erase(0, line.consumed);
            if (skipping_)
                continue;  // an over-long line is dropped whole
            if (auto end = handle(text))
                return end;
        }
        return std::nullopt;
    }

    std::optional<SessionEnd> handle(const std::string& line) {
        Reaction r = bot_.on_line(line);
        for (const auto& out : r.send)
            if (!send(out))
                return SessionEnd::kClosed;
        if (r.give_up)
            return SessionEnd::kClosed;
        if (r.joined) {
            log_line("joined " + std::string(kChannel) + " as " + bot_.nick());
            beacons_.start(bot_.digits(), run_.end);
        }
        for (const auto& c : r.commands) {
            log_line("command from " + (c.from.empty() ? std::string("the topic") : c.from) + ": " +
                     c.text);
            if (c.command.status == ParsedCommand::Status::kOk && c.command.verb == Verb::kQuit) {
                send("QUIT :later");
                return SessionEnd::kQuit;
            }
            actions_.set_digits(bot_.digits());
            actions_.run(c.command, [&](const std::string& text) {
                log_line("reply to " + c.reply_to + ": " + text);
                send(privmsg(c.reply_to, text));
            });
        }
        return std::nullopt;
    }

    Run& run_;
    net::Socket socket_;
    Actions& actions_;
    Beacons& beacons_;
    IrcBot bot_;
    std::string buffer_;
    bool skipping_ = false;
};

SessionEnd connect_and_run(Run& run, Actions& actions, Beacons& beacons) {
    auto socket = net::tcp_connect(run.cnc, run.options.port,
                                   std::min(run.end, net::after_ms(kCncConnectTimeoutMs)));
    if (!socket) {
        if (socket.error().code == "refused" || socket.error().code == "local_outside") {
            refuse(socket.error().message);
            return SessionEnd::kRefused;
        }
        log_line(socket.error().message);
        return SessionEnd::kNoConnection;
    }
    log_line("connected to " + fakenet::format_ipv4(run.cnc) + ":" +
             std::to_string(run.options.port));
    Session session(run, std::move(socket.value()), actions, beacons);
    return session.go();
}

int sessions(Run& run) {
    Actions actions(run.resolver, run.self, run.end, run.rng);
    Beacons beacons(run.resolver, run.options.beacon_seconds, run.rng());
    bool connected = false;
    for (int attempt = 0; attempt <= kMaxReconnects; ++attempt) {
        if (attempt > 0) {
            if (net::after_ms(kReconnectDelayMs) >= run.end)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(kReconnectDelayMs));
        }
        switch (connect_and_run(run, actions, beacons)) {
            case SessionEnd::kQuit:
            case SessionEnd::kTimeUp:
                log_line("done");
                return kExitOk;
            case SessionEnd::kRefused:
                return kExitRefused;
            case SessionEnd::kClosed:
                connected = true;
                log_line("connection to the C&C closed");
                break;
            case SessionEnd::kNoConnection:
                break;
        }
    }
    if (!connected)
        std::fprintf(stderr, "botemu: could not reach the C&C %s:%u\n",
                     fakenet::format_ipv4(run.cnc).c_str(), unsigned{run.options.port});
    return connected ? kExitOk : kExitNoCnc;
}

int run_emulator(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    auto options = parse_options(args);
    if (!options) {
        std::fprintf(stderr, "botemu: %s\n%s", options.error().message.c_str(),
                     usage_text().c_str());
        return kExitUsage;
    }
    if (options->help) {
        std::fputs(usage_text().c_str(), stdout);
        return kExitOk;
    }
    if (auto started = net::startup(); !started) {
        std::fprintf(stderr, "botemu: %s\n", started.error().message.c_str());
        return kExitNoCnc;
    }
    std::random_device entropy;
    Run run{options.value(),
            0,
            0,
            0,
            net::after_ms(std::int64_t{options->max_seconds} * 1000),
            Rng((std::uint64_t{entropy()} << 32) ^ entropy() ^
                static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()))};
    if (auto code = check_resolver(run))
        return *code;
    if (auto code = resolve_cnc(run))
        return *code;
    return sessions(run);
}

}  // namespace

}  // namespace botscope::botemu

int main(int argc, char** argv) {
    // Exceptions are for broken setup (no memory); a bot that cannot go on just ends.
    try {
        return botscope::botemu::run_emulator(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "botemu: %s\n", e.what());
        return 1;
    }
}
