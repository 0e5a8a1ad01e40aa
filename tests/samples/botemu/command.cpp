#include "command.h"

#include <array>
#include <vector>

#include "dns_client.h"
#include "gate.h"
#include "util/text.h"

namespace botscope::botemu {

namespace {

struct Alias {
    std::string_view name;
    Verb verb;
};

constexpr std::array kAliases = {
    Alias{"login", Verb::kLogin},
    Alias{"ddos.syn", Verb::kSynFlood},
    Alias{"syn", Verb::kSynFlood},
    Alias{"synflood", Verb::kSynFlood},
    Alias{"ddos.udp", Verb::kUdpFlood},
    Alias{"udp", Verb::kUdpFlood},
    Alias{"udpflood", Verb::kUdpFlood},
    Alias{"ddos.ping", Verb::kPingFlood},
    Alias{"icmpflood", Verb::kPingFlood},
    Alias{"ddos.icmp", Verb::kPingFlood},
    Alias{"advscan", Verb::kScan},
    Alias{"scan", Verb::kScan},
    Alias{"asc", Verb::kScan},
    Alias{"spam.start", Verb::kSpam},
    Alias{"spam", Verb::kSpam},
    Alias{"email", Verb::kSpam},
    Alias{"download", Verb::kDownload},
    Alias{"update", Verb::kUpdate},
    Alias{"quit", Verb::kQuit},
    Alias{"die", Verb::kQuit},
};

std::string_view usage(Verb v) {
    switch (v) {
        case Verb::kLogin:
            return "usage: .login PASSWORD";
        case Verb::kSynFlood:
            return "usage: .ddos.syn TARGET PORT SECONDS";
        case Verb::kUdpFlood:
            return "usage: .ddos.udp TARGET PORT SECONDS (PORT 0 = random)";
        case Verb::kPingFlood:
            return "usage: .ddos.ping TARGET SECONDS";
        case Verb::kScan:
            return "usage: .advscan MODULE THREADS DELAY MINUTES [RANGE] [-r] [-s] [-b]";
        case Verb::kSpam:
            return "usage: .spam.start [COUNT]";
        case Verb::kDownload:
            return "usage: .download URL [DEST [RUN]]";
        case Verb::kUpdate:
            return "usage: .update URL";
        case Verb::kQuit:
            return "usage: .quit";
    }
    return "";
}

using Args = std::vector<std::string_view>;

std::optional<std::uint32_t> number(std::string_view s, std::uint32_t lo, std::uint32_t hi) {
    auto v = util::parse_u64(s);
    if (!v || *v < lo || *v > hi)
        return std::nullopt;
    return static_cast<std::uint32_t>(*v);
}

// An argument error: the usage line (kBadArgs) or a refusal (kRefused).
struct ArgError {
    bool refused = false;
    std::string text;
};
using ArgResult = std::variant<CommandArgs, ArgError>;

ArgError bad() {
    return {};
}

std::variant<HostRef, ArgError> host(std::string_view text) {
    if (auto ip = fakenet::parse_ipv4(text)) {
        if (auto why = check_destination(*ip))
            return ArgError{true, *why};
        return HostRef{std::string(text), ip};
    }
    if (is_valid_hostname(text))
        return HostRef{std::string(text), std::nullopt};
    return bad();
}

ArgResult flood_args(Verb v, const Args& a) {
    const bool ping = v == Verb::kPingFlood;
    if (a.size() != (ping ? 2u : 3u))
        return bad();
    auto target = host(a[0]);
    if (auto* e = std::get_if<ArgError>(&target))
        return *e;
    FloodArgs f{std::get<HostRef>(target), 0, 0};
    if (!ping) {
        auto port = number(a[1], v == Verb::kUdpFlood ? 0 : 1, 65535);
        if (!port)
            return bad();
        f.port = static_cast<std::uint16_t>(*port);
    }
    auto seconds = number(a.back(), 1, kMaxFloodArgSeconds);
    if (!seconds)
        return bad();
    f.seconds = *seconds;
    return CommandArgs{f};
}

ArgResult scan_args(const Args& a) {
    if (a.size() < 4)
        return bad();
    ScanArgs s;
    s.module = std::string(a[0]);
    auto port = module_port(a[0]);
    auto threads = number(a[1], 1, kMaxScanArgThreads);
    auto delay = number(a[2], 0, kMaxScanArgDelay);
    auto minutes = number(a[3], 0, kMaxScanArgMinutes);
    if (!port || !threads || !delay || !minutes)
        return bad();
    s.port = *port;
    s.threads = *threads;
    s.delay = *delay;
    s.minutes = *minutes;
    bool own = false;
    for (std::size_t i = 4; i < a.size(); ++i) {
        if (a[i] == "-r") {
            s.random_order = true;
        } else if (a[i] == "-s") {
            s.silent = true;
        } else if (a[i] == "-b") {
            own = true;
        } else if (a[i] == "-a") {
            return ArgError{true, "-a (the bot's /8) is outside the sandbox"};
        } else if (!s.range && a[i][0] != '-') {
            auto range = parse_scan_range(a[i]);
            if (!range)
                return ArgError{range.error().code == "refused", range.error().message};
            s.range = range.value();
        } else {
            return bad();
        }
    }
    if (own)
        s.range.reset();
    return CommandArgs{s};
}

ArgResult download_args(Verb v, const Args& a) {
    if (a.empty() || a.size() > 3)
        return bad();
    auto url = parse_url(a[0]);
    if (!url)
        return ArgError{false, url.error().message};
    if (url->address) {
        if (auto why = check_destination(*url->address))
            return ArgError{true, *why};
    }
    DownloadArgs d;
    d.url = url.value();
    const bool has_dest = v == Verb::kDownload && a.size() >= 2;
    d.file_name = sanitize_file_name(has_dest ? a[1] : std::string_view(d.url.path));
    d.run = v == Verb::kDownload && a.size() == 3 && a[2] != "0";
    return CommandArgs{d};
}

ArgResult verb_args(Verb v, const Args& a) {
    switch (v) {
        case Verb::kLogin:
            if (a.size() != 1)
                return bad();
            return CommandArgs{LoginArgs{std::string(a[0])}};
        case Verb::kSynFlood:
        case Verb::kUdpFlood:
        case Verb::kPingFlood:
            return flood_args(v, a);
        case Verb::kScan:
            return scan_args(a);
        case Verb::kSpam: {
            if (a.size() > 1)
                return bad();
            SpamArgs s;
            if (a.size() == 1) {
                auto n = number(a[0], 1, kMaxSpamArgCount);
                if (!n)
                    return bad();
                s.count = *n;
            }
            return CommandArgs{s};
        }
        case Verb::kDownload:
        case Verb::kUpdate:
            return download_args(v, a);
        case Verb::kQuit:
            return CommandArgs{QuitArgs{}};
    }
    return bad();
}

}  // namespace

ParsedCommand parse_command(std::string_view text) {
    ParsedCommand out;
    text = util::trim(text);
    // The verb follows the prefix at once (". login" is chatter, not a command).
    if (text.size() < 2 || text.size() > kMaxCommandText || (text[0] != '.' && text[0] != '!') ||
        text[1] == ' ' || text[1] == '\t')
        return out;
    std::vector<std::string_view> words;
    for (auto w : util::split(text.substr(1), ' '))
        for (auto part : util::split(w, '\t'))
            words.push_back(part);
    if (words.empty())
        return out;
    out.name = util::to_lower(words[0]);
    const Alias* alias = nullptr;
    for (const auto& a : kAliases)
        if (a.name == out.name)
            alias = &a;
    out.status = ParsedCommand::Status::kUnknown;
    if (!alias)
        return out;
    out.verb = alias->verb;
    Args args(words.begin() + 1, words.end());
    const bool checks_text = out.verb != Verb::kLogin && out.verb != Verb::kQuit;
    if (checks_text) {
        if (auto why = check_text(text)) {
            out.status = ParsedCommand::Status::kRefused;
            out.error = *why;
            return out;
        }
    }
    ArgResult r = args.size() > kMaxCommandArgs ? ArgResult{bad()} : verb_args(out.verb, args);
    if (auto* e = std::get_if<ArgError>(&r)) {
        out.status = e->refused ? ParsedCommand::Status::kRefused : ParsedCommand::Status::kBadArgs;
        out.error = e->text.empty() ? std::string(usage(out.verb)) : e->text;
        return out;
    }
    out.args = std::get<CommandArgs>(std::move(r));
    out.status = ParsedCommand::Status::kOk;
    return out;
}

std::string_view verb_tag(Verb v) {
    switch (v) {
        case Verb::kLogin:
        case Verb::kQuit:
            return "[MAIN]";
        case Verb::kSynFlood:
        case Verb::kUdpFlood:
        case Verb::kPingFlood:
            return "[DDoS]";
        case Verb::kScan:
            return "[SCAN]";
        case Verb::kSpam:
            return "[SPAM]";
        case Verb::kDownload:
            return "[DOWNLOAD]";
        case Verb::kUpdate:
            return "[UPDATE]";
    }
    return "[MAIN]";
}

std::optional<std::uint16_t> module_port(std::string_view module) {
    std::size_t start = module.size();
    while (start > 0 && module[start - 1] >= '0' && module[start - 1] <= '9')
        --start;
    if (start == module.size())
        return kDefaultScanPort;
    auto port = number(module.substr(start), 1, 65535);
    if (!port)
        return std::nullopt;
    return static_cast<std::uint16_t>(*port);
}

}  // namespace botscope::botemu
