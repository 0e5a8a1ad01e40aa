#include "analysis/proto/irc/irc_json.h"

#include <string>

namespace botscope::report {

namespace {

using analysis::irc::IrcChannel;
using analysis::irc::IrcDcc;
using analysis::irc::IrcMessage;
using analysis::irc::IrcNick;
using analysis::irc::IrcSession;
using analysis::irc::NickStatus;

const char* status_name(NickStatus s) {
    switch (s) {
        case NickStatus::kPending:
            return "pending";
        case NickStatus::kAccepted:
            return "accepted";
        case NickStatus::kRejected:
            return "rejected";
    }
    return "pending";
}

Json nick_json(const IrcNick& n) {
    Json j;
    j["ts"] = ts_json(n.ts);
    j["nick"] = n.nick;
    j["status"] = status_name(n.status);
    if (n.reply != 0)
        j["reply"] = n.reply;
    if (n.answered_ts != 0)
        j["answered_ts"] = ts_json(n.answered_ts);
    if (!n.valid)
        j["valid"] = false;
    if (n.by_server)
        j["by_server"] = true;
    return j;
}

Json channel_json(const IrcChannel& c) {
    Json j;
    j["ts"] = ts_json(c.ts);
    j["name"] = c.name;
    j["key"] = c.has_key ? Json(c.key) : Json(nullptr);
    j["join_requests"] = c.join_requests;
    j["joined"] = c.joined;
    if (c.joined)
        j["joined_ts"] = ts_json(c.joined_ts);
    if (c.by_server)
        j["by_server"] = true;
    if (c.left)
        j["left"] = true;
    if (c.kicked)
        j["kicked"] = true;
    return j;
}

Json message_json(const IrcMessage& m) {
    Json j;
    j["ts"] = ts_json(m.ts);
    j["command"] = m.command;
    if (!m.from.empty())
        j["from"] = m.from;
    j["target"] = m.target;
    if (m.command == "PRIVMSG" || m.command == "NOTICE")
        j["private"] = m.is_private;
    j["text"] = m.text;
    j["text_raw"] = m.text_raw;
    if (!m.ctcp.empty()) {
        j["ctcp"] = m.ctcp;
        j["ctcp_args"] = m.ctcp_args;
    }
    if (!m.set_by.empty())
        j["set_by"] = m.set_by;
    if (m.set_at)
        j["set_at"] = *m.set_at;
    if (!m.tags.empty()) {
        Json tags = Json::object();
        for (const auto& t : m.tags)
            if (!tags.contains(t.key))
                tags[t.key] = t.value;
        j["tags"] = std::move(tags);
    }
    if (m.truncated)
        j["truncated"] = true;
    return j;
}

Json dcc_json(const IrcDcc& d) {
    Json j;
    j["ts"] = ts_json(d.ts);
    j["direction"] = d.sent ? "sent" : "received";
    if (!d.from.empty())
        j["from"] = d.from;
    j["target"] = d.target;
    j["type"] = d.type;
    j["argument"] = d.argument;
    j["ip"] = d.addr.to_string();
    j["port"] = d.port;
    j["size"] = d.size ? Json(*d.size) : Json(nullptr);
    return j;
}

template <typename T, typename F>
Json list_json(const std::vector<T>& items, F&& fn) {
    Json a = Json::array();
    for (const auto& item : items)
        a.push_back(fn(item));
    return a;
}

Json optional_string(const std::optional<std::string>& s) {
    return s ? Json(*s) : Json(nullptr);
}

Json session_json(const IrcSession& s) {
    Json j;
    j["flow"] = s.flow;
    j["client"] = endpoint_json(s.client);
    j["server"] = endpoint_json(s.server);
    j["start"] = ts_json(s.start);
    j["end"] = ts_json(s.end);
    j["confirmed"] = s.confirmed;
    j["registered"] = s.registered;
    if (s.registered)
        j["registered_ts"] = ts_json(s.registered_ts);
    if (s.gave_up)
        j["gave_up"] = true;
    if (s.roles_swapped)
        j["roles_swapped"] = true;
    j["server_name"] = s.server_name.empty() ? Json(nullptr) : Json(s.server_name);
    j["password"] = optional_string(s.password);
    j["nick"] = s.nick.empty() ? Json(nullptr) : Json(s.nick);
    j["nicks"] = list_json(s.nicks, nick_json);
    if (s.nicks_dropped)
        j["nicks_dropped"] = s.nicks_dropped;
    j["user"] = optional_string(s.user);
    j["realname"] = optional_string(s.realname);
    j["channels"] = list_json(s.channels, channel_json);
    if (s.channels_dropped)
        j["channels_dropped"] = s.channels_dropped;
    if (!s.caps_requested.empty())
        j["caps_requested"] = s.caps_requested;
    if (s.caps_dropped)
        j["caps_dropped"] = s.caps_dropped;
    j["received"] = list_json(s.received, message_json);
    j["received_dropped"] = s.received_dropped;
    j["sent"] = list_json(s.sent, message_json);
    j["sent_dropped"] = s.sent_dropped;
    j["dcc"] = list_json(s.dcc, dcc_json);
    if (s.dcc_dropped)
        j["dcc_dropped"] = s.dcc_dropped;
    if (s.quit_message)
        j["quit_message"] = *s.quit_message;
    if (s.error_message)
        j["error_message"] = *s.error_message;
    Json counters;
    counters["client_lines"] = s.client_lines;
    counters["server_lines"] = s.server_lines;
    counters["invalid_lines"] = s.invalid_lines;
    counters["pings"] = s.pings;
    counters["pongs"] = s.pongs;
    counters["gap_bytes"] = s.gap_bytes;
    j["counters"] = std::move(counters);
    Json numerics = Json::object();
    for (const auto& [code, count] : s.numerics) {
        char key[4] = {static_cast<char>('0' + code / 100 % 10),
                       static_cast<char>('0' + code / 10 % 10), static_cast<char>('0' + code % 10),
                       '\0'};
        numerics[key] = count;
    }
    j["numerics"] = std::move(numerics);
    return j;
}

}  // namespace

Json to_json(const analysis::irc::IrcResult& result) {
    Json j;
    const std::uint64_t count = result.sessions.size() + result.sessions_dropped;
    Json sessions = sample_list(result.sessions, session_json);
    j["count"] = count;
    j["omitted"] = count - sessions.size();
    j["sessions"] = std::move(sessions);
    j["sessions_dropped"] = result.sessions_dropped;
    return j;
}

Json to_json(const analysis::irc::IrcSession& s) {
    return session_json(s);
}

}  // namespace botscope::report
