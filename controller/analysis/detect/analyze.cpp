#include "analysis/detect/analyze.h"

#include <algorithm>
#include <tuple>

#include "analysis/detect/beacon.h"
#include "analysis/detect/commands.h"
#include "analysis/detect/download.h"
#include "analysis/detect/shell.h"
#include "analysis/detect/spam.h"

namespace botscope::analysis::detect {

namespace {

std::vector<IrcCnc> irc_cnc(const NetworkResult& net, const std::vector<BotCommand>& commands) {
    std::vector<IrcCnc> out;
    for (const auto& s : net.irc.sessions) {
        if (!s.confirmed)
            continue;
        IrcCnc c;
        c.flow = s.flow;
        c.client = s.client;
        c.server = s.server;
        c.server_name = s.server_name;
        c.nick = s.nick;
        for (const auto& ch : s.channels)
            if (c.channels.size() < kMaxListed)
                c.channels.push_back(ch.name);
        c.start = s.start;
        c.end = s.end;
        for (const auto& cmd : commands)
            c.commands += cmd.via == "irc" && cmd.flow == s.flow ? 1 : 0;
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

void complete_behavior(const NetworkResult& net, RecordDetectors& records, BehaviorResult& b) {
    auto http = records.http_floods.finish(b.dropped);
    b.floods.insert(b.floods.end(), std::make_move_iterator(http.begin()),
                    std::make_move_iterator(http.end()));
    std::stable_sort(b.floods.begin(), b.floods.end(), [](const Flood& x, const Flood& y) {
        return std::tie(x.volume.start, x.target, x.kind) <
               std::tie(y.volume.start, y.target, y.kind);
    });
    if (b.floods.size() > kMaxFindings) {
        b.dropped += b.floods.size() - kMaxFindings;
        b.floods.resize(kMaxFindings);
    }
    b.spam_runs = detect_spam(net, b.config.spam, b.mail_attempts, b.dropped);
    b.beacons = records.beacons.finish(b.config.beacon, b.dropped);
    b.downloads = find_downloads(net, records.downloads, b.dropped);
    b.remote_shells = detect_shells(net, b.dropped);
    b.commands = records.commands.take(b.dropped);
    b.irc = irc_cnc(net, b.commands);
    match_commands(b);
    group_downloads(b, records.downloads);
}

}  // namespace botscope::analysis::detect
