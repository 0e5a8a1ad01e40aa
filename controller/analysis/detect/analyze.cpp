#include "analysis/detect/analyze.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "analysis/detect/beacon.h"
#include "analysis/detect/commands.h"
#include "analysis/detect/download.h"
#include "analysis/detect/shell.h"
#include "analysis/detect/spam.h"

namespace botscope::analysis::detect {

void IrcCncCollector::add(const irc::IrcSession& s) {
    if (!s.confirmed)
        return;
    if (list.size() >= kMaxFindings) {
        ++dropped;
        return;
    }
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
    list.push_back(std::move(c));
}

namespace {

/// The sessions in order of start, each with the count of commands it brought.
std::vector<IrcCnc> irc_cnc(IrcCncCollector& collected, const std::vector<BotCommand>& commands) {
    std::vector<IrcCnc> out = std::move(collected.list);
    std::sort(out.begin(), out.end(), [](const IrcCnc& a, const IrcCnc& b) {
        return std::tie(a.start, a.flow) < std::tie(b.start, b.flow);
    });
    std::map<FlowId, std::size_t> session_of;
    for (std::size_t i = 0; i < out.size(); ++i)
        session_of.emplace(out[i].flow, i);
    for (const auto& cmd : commands)
        if (auto it = session_of.find(cmd.flow); cmd.via == "irc" && it != session_of.end())
            ++out[it->second].commands;
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
    b.spam_runs = detect_spam(net, b.config.spam, b.mail_attempts, records.mail, b.dropped);
    b.beacons = records.beacons.finish(b.config.beacon, b.dropped);
    b.downloads = find_downloads(net, records.downloads, b.dropped);
    b.remote_shells = detect_shells(net, b.dropped);
    b.commands = records.commands.take(b.dropped);
    b.irc = irc_cnc(records.cnc, b.commands);
    b.dropped += records.cnc.dropped;
    match_commands(b);
    group_downloads(b, records.downloads);
}

}  // namespace botscope::analysis::detect
