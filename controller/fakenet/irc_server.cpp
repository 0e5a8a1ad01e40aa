#include "fakenet/irc_server.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "analysis/proto/irc/irc_parser.h"
#include "util/text.h"

namespace botscope::fakenet {

namespace irc = analysis::irc;

namespace {

constexpr std::string_view kVersion = "botscope-ircd-1.0";
constexpr std::int64_t kEpoch = 1'136'073'600;  // 2006-01-01: see irc_server.h
constexpr std::size_t kUserLen = 10;
constexpr std::size_t kMaxPass = 128;
constexpr std::size_t kMaxRealname = 128;
constexpr std::size_t kMaxTopic = 390;
constexpr std::size_t kMaxKey = 32;
constexpr std::size_t kMaxOutLine = 510;  // + CR LF = RFC 1459's 512
constexpr std::size_t kMaxNamesLine = 400;
constexpr std::size_t kMaxWhoisNicks = 4;
constexpr std::size_t kMaxUserhostNicks = 5;

/// RFC 1459 case mapping (CASEMAPPING=rfc1459): the key of a channel.
std::string fold(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= ']')
            c = static_cast<char>(c + 32);  // A-Z and [\] to a-z and {|}
        else if (c == '^')
            c = '~';
    }
    return out;
}

std::string bounded(std::string_view s, std::size_t max) {
    return std::string(s.substr(0, max));
}

/// The user name as a prefix shows it: no byte that would break "nick!user@host".
std::string prefix_user(std::string_view user) {
    std::string out;
    for (char c : user)
        if (static_cast<unsigned char>(c) > 0x20 && c != '!' && c != '@' && c != ':' &&
            out.size() < kUserLen)
            out += c;
    return out.empty() ? "user" : out;
}

std::string seconds_since_epoch(Millis now) {
    return std::to_string(kEpoch + now / 1000);
}

Json nullable(const std::optional<std::string>& s) {
    return s ? Json(*s) : Json(nullptr);
}

}  // namespace

struct IrcClient {
    std::uint64_t key = 0;
    ConnInfo conn;
    std::string host;  // its address, as its prefix shows it
    std::optional<std::string> pass;
    std::string nick;  // empty until a NICK was accepted
    std::string user, user_shown, realname;
    bool has_user = false;
    bool registered = false;
    std::vector<std::string> channels;  // folded names
    std::string queue;
    std::string inbuf;
    bool skipping = false;  // inside an over-long line: drop through its LF
    bool spoke = false;
    bool refused = false;     // past max_clients
    bool overflowed = false;  // its queue hit kIrcMaxQueue: reap() closes it
    bool closing = false;     // departed: close once the queue is sent
    std::string quit_reason;
    bool clock_set = false;
    Millis last_heard = 0;
    bool pinged = false;
    Millis pinged_at = 0;
    bool player_tried = false;

    std::string mask() const { return nick + "!" + user_shown + "@" + host; }
    std::string name() const { return nick.empty() ? "*" : nick; }
};

struct IrcChannel {
    std::string name;
    std::string topic, topic_by;
    Millis topic_at = 0;
    Millis created = 0;
    std::string key;  // from MODE +k: shown in 324, never checked
    std::vector<std::uint64_t> members;
};

struct IrcPlayer {
    std::uint64_t client = 0;
    std::uint64_t conn = 0;
    std::string nick;     // when it joined
    std::string channel;  // folded
    std::string channel_name;
    Ipv4 guest = 0;
    Millis started = 0;
    Millis clock = 0;  // when the previous step was due: waits count from here, not from ticks
    std::size_t next = 0;
    enum class Wait { kNone, kPause, kExpect } wait = Wait::kNone;
    Millis until = 0;
    std::string expected;           // the expect step's text, expanded, lower-case
    std::deque<std::string> heard;  // what the bot said since the operator last spoke to it,
                                    // as said (compared case-blind)
    std::string state = "running";
    Json log = Json::array();
};

class IrcState {
public:
    IrcState(IrcConfig config, Recorder& rec) : cfg_(std::move(config)), rec_(rec) {
        if (cfg_.script)
            op_nick_ = cfg_.script->nick;
        op_mask_ = op_nick_ + "!admin@sandbox.test";
    }

    std::uint64_t open(const ConnInfo& conn);
    void on_open(std::uint64_t key, Millis now);
    void feed(std::uint64_t key, std::string_view data, Millis now);
    void tick(Millis now);
    void drain(std::uint64_t key, Output& out);
    void close(std::uint64_t key, Millis now);
    std::size_t buffered(std::uint64_t key) const;
    Json summary() const;
    std::size_t connections() const { return clients_.size(); }

private:
    using Handler = void (IrcState::*)(IrcClient&, const irc::Message&);
    struct Command {
        std::string_view name;
        std::size_t min_params;
        bool before_registration;
        Handler handler;
    };
    static const Command kCommands[];

    // clock and connections
    void advance(Millis now);
    void start_clock(IrcClient& c);
    IrcClient* find(std::uint64_t key);
    const IrcClient* find(std::uint64_t key) const;
    IrcClient* find_nick(std::string_view nick);
    IrcChannel* find_channel(std::string_view name);
    void handle_line(IrcClient& c, std::string_view line);
    void depart(IrcClient& c, const std::string& reason, const std::string& shown);
    void reap();

    // output
    void send(IrcClient& c, std::string line);
    void reply(IrcClient& c, std::string_view code, const std::string& rest);
    void to_channel(const IrcChannel& ch, const std::string& line, std::uint64_t except);
    void to_peers(IrcClient& c, const std::string& line);
    void record(Json fields) { rec_.record("irc", std::move(fields)); }

    // registration
    void try_register(IrcClient& c);
    void welcome(IrcClient& c);

    // channels
    void join_one(IrcClient& c, std::string_view name, std::string_view key);
    void leave(IrcClient& c, std::string folded);  // a copy: callers pass c.channels.back()
    void names(IrcClient& c, const IrcChannel& ch);
    bool is_member(const IrcClient& c, const std::string& folded) const;

    // the operator
    bool start_player(IrcClient& c, IrcChannel& ch);
    void run_player(IrcPlayer& p);
    void send_step(IrcPlayer& p, IrcClient& c, std::size_t index);
    void heard(IrcClient& c, std::string_view to, std::string_view text);
    void end_players(std::uint64_t client);
    Json step_entry(const IrcPlayer& p, std::size_t index) const;

    // commands
    void cmd_pass(IrcClient& c, const irc::Message& m);
    void cmd_nick(IrcClient& c, const irc::Message& m);
    void cmd_user(IrcClient& c, const irc::Message& m);
    void cmd_ping(IrcClient& c, const irc::Message& m);
    void cmd_pong(IrcClient& c, const irc::Message& m);
    void cmd_quit(IrcClient& c, const irc::Message& m);
    void cmd_cap(IrcClient& c, const irc::Message& m);
    void cmd_join(IrcClient& c, const irc::Message& m);
    void cmd_part(IrcClient& c, const irc::Message& m);
    void cmd_topic(IrcClient& c, const irc::Message& m);
    void cmd_names(IrcClient& c, const irc::Message& m);
    void cmd_mode(IrcClient& c, const irc::Message& m);
    void cmd_userhost(IrcClient& c, const irc::Message& m);
    void cmd_who(IrcClient& c, const irc::Message& m);
    void cmd_whois(IrcClient& c, const irc::Message& m);
    void cmd_ison(IrcClient& c, const irc::Message& m);
    void cmd_list(IrcClient& c, const irc::Message& m);
    void cmd_privmsg(IrcClient& c, const irc::Message& m);
    void cmd_away(IrcClient& c, const irc::Message& m);

    IrcConfig cfg_;
    Recorder& rec_;
    std::string op_nick_ = "b0ss";
    std::string op_mask_;
    Millis now_ = 0;
    std::uint64_t next_key_ = 1;
    std::map<std::uint64_t, IrcClient> clients_;
    std::map<std::string, IrcChannel> channels_;  // by folded name
    std::vector<IrcPlayer> players_;
    std::size_t players_refused_ = 0;
};

// An explicit table: what a client may send, how many parameters it needs, and whether it may
// come before registration.
const IrcState::Command IrcState::kCommands[] = {
    {"PASS", 1, true, &IrcState::cmd_pass},
    {"NICK", 0, true, &IrcState::cmd_nick},
    {"USER", 4, true, &IrcState::cmd_user},
    {"PING", 0, true, &IrcState::cmd_ping},
    {"PONG", 0, true, &IrcState::cmd_pong},
    {"QUIT", 0, true, &IrcState::cmd_quit},
    {"CAP", 1, true, &IrcState::cmd_cap},
    {"JOIN", 1, false, &IrcState::cmd_join},
    {"PART", 1, false, &IrcState::cmd_part},
    {"TOPIC", 1, false, &IrcState::cmd_topic},
    {"NAMES", 0, false, &IrcState::cmd_names},
    {"MODE", 1, false, &IrcState::cmd_mode},
    {"USERHOST", 1, false, &IrcState::cmd_userhost},
    {"WHO", 0, false, &IrcState::cmd_who},
    {"WHOIS", 1, false, &IrcState::cmd_whois},
    {"ISON", 1, false, &IrcState::cmd_ison},
    {"LIST", 0, false, &IrcState::cmd_list},
    {"PRIVMSG", 0, false, &IrcState::cmd_privmsg},
    {"NOTICE", 0, false, &IrcState::cmd_privmsg},
    {"AWAY", 0, false, &IrcState::cmd_away},
};

// --- connections ------------------------------------------------------------------------------

std::uint64_t IrcState::open(const ConnInfo& conn) {
    std::size_t live = 0;
    for (const auto& [k, c] : clients_)
        live += c.refused ? 0 : 1;
    std::uint64_t key = next_key_++;
    IrcClient& c = clients_[key];
    c.key = key;
    c.conn = conn;
    c.host = format_ipv4(conn.client.ip);
    c.refused = live >= cfg_.max_clients;
    return key;
}

void IrcState::start_clock(IrcClient& c) {
    if (c.clock_set)
        return;
    c.clock_set = true;
    c.last_heard = now_;
    if (c.refused)
        depart(c, "Too many connections", "Too many connections");
}

void IrcState::advance(Millis now) {
    now_ = std::max(now_, now);
}

IrcClient* IrcState::find(std::uint64_t key) {
    auto it = clients_.find(key);
    return it == clients_.end() ? nullptr : &it->second;
}

const IrcClient* IrcState::find(std::uint64_t key) const {
    auto it = clients_.find(key);
    return it == clients_.end() ? nullptr : &it->second;
}

IrcClient* IrcState::find_nick(std::string_view nick) {
    for (auto& [k, c] : clients_)
        if (!c.closing && !c.nick.empty() && irc::nick_equal(c.nick, nick))
            return &c;
    return nullptr;
}

IrcChannel* IrcState::find_channel(std::string_view name) {
    auto it = channels_.find(fold(name));
    return it == channels_.end() ? nullptr : &it->second;
}

void IrcState::on_open(std::uint64_t key, Millis now) {
    advance(now);
    IrcClient* c = find(key);
    if (!c)
        return;
    start_clock(*c);
    // ircds greeted every connection so; a client that already spoke is past it.
    if (!c->spoke && !c->registered)
        send(*c, ":" + cfg_.server_name + " NOTICE AUTH :*** Looking up your hostname...");
    tick(now);
}

void IrcState::feed(std::uint64_t key, std::string_view data, Millis now) {
    advance(now);
    IrcClient* c = find(key);
    if (!c)
        return;
    start_clock(*c);
    if (c->closing || data.empty())
        return;
    c->spoke = true;
    c->last_heard = now_;
    c->pinged = false;
    if (c->skipping) {
        auto lf = data.find('\n');
        if (lf == std::string_view::npos)
            return;
        data.remove_prefix(lf + 1);
        c->skipping = false;
    }
    c->inbuf.append(data);
    std::string_view rest = c->inbuf;
    while (!c->closing && !c->overflowed) {
        auto r = irc::extract_line(rest, kIrcMaxLine);
        if (r.status == irc::LineStatus::kIncomplete)
            break;
        if (r.status == irc::LineStatus::kTooLong) {
            reply(*c, "417", ":Input line was too long");
            rest.remove_prefix(r.consumed);
            auto lf = rest.find('\n');
            if (lf == std::string_view::npos) {
                c->skipping = true;
                rest = {};
                break;
            }
            rest.remove_prefix(lf + 1);
            continue;
        }
        handle_line(*c, r.line);
        rest.remove_prefix(r.consumed);
    }
    c->inbuf.erase(0, c->inbuf.size() - rest.size());
    if (c->closing || c->overflowed)
        c->inbuf.clear();
    tick(now);
}

void IrcState::handle_line(IrcClient& c, std::string_view line) {
    auto pr = irc::parse_message(line);
    if (pr.status != irc::ParseStatus::kOk || pr.msg.is_numeric())
        return;  // blank lines and junk: ircds ignore them too
    const irc::Message& m = pr.msg;
    for (const auto& cmd : kCommands) {
        if (!util::iequals(m.command, cmd.name))
            continue;
        if (!c.registered && !cmd.before_registration)
            reply(c, "451", ":You have not registered");
        else if (m.params.size() < cmd.min_params)
            reply(c, "461", std::string(cmd.name) + " :Not enough parameters");
        else
            (this->*cmd.handler)(c, m);
        return;
    }
    if (!c.registered)
        reply(c, "451", ":You have not registered");
    else
        reply(c, "421", bounded(m.command, 32) + " :Unknown command");
}

void IrcState::depart(IrcClient& c, const std::string& reason, const std::string& shown) {
    if (c.closing)
        return;
    if (c.registered)
        to_peers(c, ":" + c.mask() + " QUIT :" + shown);
    while (!c.channels.empty())
        leave(c, c.channels.back());
    end_players(c.key);
    c.quit_reason = reason;
    // The ERROR goes out even past the queue's limit: it is the last line.
    c.queue += "ERROR :Closing Link: " + c.host + " (" + bounded(shown, 200) + ")\r\n";
    c.closing = true;
}

void IrcState::close(std::uint64_t key, Millis now) {
    advance(now);
    IrcClient* c = find(key);
    if (!c)
        return;
    depart(*c, "Connection closed", "Connection closed");
    record(Json{{"event", "quit"},
                {"conn", c->conn.id},
                {"nick", c->nick.empty() ? Json(nullptr) : Json(c->nick)},
                {"reason", c->quit_reason}});
    clients_.erase(key);
}

void IrcState::drain(std::uint64_t key, Output& out) {
    IrcClient* c = find(key);
    if (!c) {
        out.close = true;
        return;
    }
    out.data += c->queue;
    c->queue.clear();
    if (c->closing)
        out.close = true;
}

std::size_t IrcState::buffered(std::uint64_t key) const {
    const IrcClient* c = find(key);
    return c ? c->queue.size() + c->inbuf.size() : 0;
}

void IrcState::tick(Millis now) {
    advance(now);
    for (auto& [key, c] : clients_) {
        if (c.closing || !c.clock_set)
            continue;
        if (!c.pinged && now_ - c.last_heard >= kIrcPingIdle) {
            send(c, "PING :" + cfg_.server_name);
            c.pinged = true;
            c.pinged_at = now_;
        } else if (c.pinged && now_ - c.pinged_at >= kIrcPingIdle) {
            depart(c, "Ping timeout",
                   "Ping timeout: " + std::to_string(kIrcPingIdle / 1000) + " seconds");
        }
    }
    for (auto& p : players_)
        if (p.state == "running")
            run_player(p);
    reap();
}

void IrcState::reap() {
    // Closing a client sends its QUIT to its peers, which may fill their queues in turn.
    for (bool again = true; again;) {
        again = false;
        for (auto& [key, c] : clients_) {
            if (c.overflowed && !c.closing) {
                depart(c, "Max SendQ exceeded", "Max SendQ exceeded");
                again = true;
            }
        }
    }
}

// --- output -----------------------------------------------------------------------------------

void IrcState::send(IrcClient& c, std::string line) {
    // Never closes anything itself (callers hold channels and members): reap() does.
    if (c.closing || c.overflowed)
        return;
    if (line.size() > kMaxOutLine)
        line.resize(kMaxOutLine);
    if (c.queue.size() + line.size() + 2 > kIrcMaxQueue) {
        c.overflowed = true;
        return;
    }
    c.queue += line;
    c.queue += "\r\n";
}

void IrcState::reply(IrcClient& c, std::string_view code, const std::string& rest) {
    send(c, ":" + cfg_.server_name + " " + std::string(code) + " " + c.name() + " " + rest);
}

void IrcState::to_channel(const IrcChannel& ch, const std::string& line, std::uint64_t except) {
    for (auto key : ch.members)
        if (key != except)
            if (IrcClient* m = find(key))
                send(*m, line);
}

void IrcState::to_peers(IrcClient& c, const std::string& line) {
    std::vector<std::uint64_t> peers;
    for (const auto& folded : c.channels)
        if (auto it = channels_.find(folded); it != channels_.end())
            for (auto key : it->second.members)
                if (key != c.key)
                    peers.push_back(key);
    std::sort(peers.begin(), peers.end());
    peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
    for (auto key : peers)
        if (IrcClient* p = find(key))
            send(*p, line);
}

// --- registration -----------------------------------------------------------------------------

void IrcState::cmd_pass(IrcClient& c, const irc::Message& m) {
    if (c.registered)
        return reply(c, "462", ":You may not reregister");
    c.pass = bounded(m.param(0), kMaxPass);
}

void IrcState::cmd_nick(IrcClient& c, const irc::Message& m) {
    std::string_view want = m.param(0);
    if (want.empty())
        return reply(c, "431", ":No nickname given");
    want = want.substr(0, kMaxOperatorNick);  // ircds cut long nicks to NICKLEN
    if (!is_acceptable_nick(want))
        return reply(c, "432", std::string(want) + " :Erroneous nickname");
    if (irc::nick_equal(want, c.nick)) {
        if (want == c.nick)
            return;
    } else if (irc::nick_equal(want, op_nick_) || find_nick(want)) {
        return reply(c, "433", std::string(want) + " :Nickname is already in use");
    }
    if (!c.registered) {
        c.nick = std::string(want);
        return try_register(c);
    }
    std::string line = ":" + c.mask() + " NICK :" + std::string(want);
    send(c, line);
    to_peers(c, line);
    record(
        Json{{"event", "nick"}, {"conn", c.conn.id}, {"old", c.nick}, {"new", std::string(want)}});
    c.nick = std::string(want);
}

void IrcState::cmd_user(IrcClient& c, const irc::Message& m) {
    if (c.registered)
        return reply(c, "462", ":You may not reregister");
    c.user = bounded(m.param(0), kMaxRealname);
    c.user_shown = prefix_user(m.param(0));
    c.realname = bounded(m.param(3), kMaxRealname);
    c.has_user = true;
    try_register(c);
}

void IrcState::try_register(IrcClient& c) {
    if (c.registered || c.nick.empty() || !c.has_user)
        return;
    c.registered = true;
    record(Json{{"event", "register"},
                {"conn", c.conn.id},
                {"client", c.conn.client.to_string()},
                {"server", c.conn.original.to_string()},
                {"pass", nullable(c.pass)},
                {"nick", c.nick},
                {"user", c.user},
                {"realname", c.realname}});
    welcome(c);
}

void IrcState::welcome(IrcClient& c) {
    const std::string& srv = cfg_.server_name;
    std::size_t users = 0;
    for (const auto& [k, o] : clients_)
        users += o.registered && !o.closing ? 1 : 0;
    reply(c, "001", ":Welcome to the " + cfg_.network + " IRC Network " + c.mask());
    reply(c, "002", ":Your host is " + srv + ", running version " + std::string(kVersion));
    reply(c, "003", ":This server was created Sun Jan 1 2006 at 00:00:00 UTC");
    reply(c, "004", srv + " " + std::string(kVersion) + " iowsx biklmnopstv");
    reply(c, "005",
          "CHANTYPES=# PREFIX=(ov)@+ NETWORK=" + cfg_.network + " CASEMAPPING=rfc1459 NICKLEN=" +
              std::to_string(kMaxOperatorNick) + " :are supported by this server");
    // The operator counts as one more user and as the IRC operator online.
    reply(c, "251",
          ":There are " + std::to_string(users + 1) + " users and 0 invisible on 1 servers");
    reply(c, "252", "1 :operator(s) online");
    reply(c, "254", std::to_string(channels_.size()) + " :channels formed");
    reply(c, "255", ":I have " + std::to_string(users + 1) + " clients and 0 servers");
    reply(c, "375", ":- " + srv + " Message of the Day -");
    reply(c, "372", ":- Welcome to " + cfg_.network + ". Be nice.");
    reply(c, "376", ":End of /MOTD command.");
    send(c, ":" + c.nick + " MODE " + c.nick + " :+i");
}

void IrcState::cmd_ping(IrcClient& c, const irc::Message& m) {
    if (m.params.empty())
        return reply(c, "409", ":No origin specified");
    send(c, ":" + cfg_.server_name + " PONG " + cfg_.server_name + " :" + bounded(m.param(0), 400));
}

void IrcState::cmd_pong(IrcClient& c, const irc::Message&) {
    c.pinged = false;
}

void IrcState::cmd_quit(IrcClient& c, const irc::Message& m) {
    std::string said = bounded(m.param(0), 300);
    depart(c, said.empty() ? "Client Quit" : said, said.empty() ? "Client Quit" : "Quit: " + said);
}

void IrcState::cmd_cap(IrcClient& c, const irc::Message& m) {
    // No capabilities: a client that asks learns so and goes on.
    std::string sub = util::to_upper(m.param(0));
    if (sub == "LS" || sub == "LIST")
        send(c, ":" + cfg_.server_name + " CAP " + c.name() + " " + sub + " :");
    else if (sub == "REQ")
        send(c, ":" + cfg_.server_name + " CAP " + c.name() + " NAK :" + bounded(m.param(1), 400));
}

// --- channels ---------------------------------------------------------------------------------

bool IrcState::is_member(const IrcClient& c, const std::string& folded) const {
    return std::find(c.channels.begin(), c.channels.end(), folded) != c.channels.end();
}

void IrcState::cmd_join(IrcClient& c, const irc::Message& m) {
    if (m.param(0) == "0") {  // RFC 2812: leave every channel
        std::vector<std::string> mine = c.channels;
        for (const auto& folded : mine) {
            auto it = channels_.find(folded);
            if (it != channels_.end())
                to_channel(it->second, ":" + c.mask() + " PART " + it->second.name, 0);
            leave(c, folded);
        }
        return;
    }
    auto names_list = util::split(m.param(0), ',');
    auto keys = util::split(m.param(1), ',', false);
    for (std::size_t i = 0; i < names_list.size() && !c.closing && !c.overflowed; ++i)
        join_one(c, names_list[i], i < keys.size() ? keys[i] : std::string_view());
}

void IrcState::join_one(IrcClient& c, std::string_view name, std::string_view key) {
    if (!irc::is_channel_name(name) || name.size() > kMaxChannelName)
        return reply(c, "403", bounded(name, kMaxChannelName) + " :No such channel");
    std::string folded = fold(name);
    if (is_member(c, folded))
        return;
    auto it = channels_.find(folded);
    if (c.channels.size() >= kIrcMaxChannelsPerClient ||
        (it == channels_.end() && channels_.size() >= kIrcMaxChannels))
        return reply(c, "405", std::string(name) + " :You have joined too many channels");
    if (it == channels_.end()) {
        it = channels_.emplace(folded, IrcChannel{}).first;
        it->second.name = std::string(name);
        it->second.created = now_;
    }
    IrcChannel& ch = it->second;
    record(Json{{"event", "join"},
                {"conn", c.conn.id},
                {"nick", c.nick},
                {"channel", std::string(name)},
                {"key", key.empty() ? Json(nullptr) : Json(std::string(key))}});
    bool first = c.channels.empty();
    ch.members.push_back(c.key);
    c.channels.push_back(folded);
    // A bot's first channel starts its player, whose opening topic lines are the topic it
    // finds there: bots ran topic commands at join.
    bool playing = first && start_player(c, ch);
    to_channel(ch, ":" + c.mask() + " JOIN :" + ch.name, 0);
    if (!ch.topic.empty()) {
        reply(c, "332", ch.name + " :" + ch.topic);
        reply(c, "333", ch.name + " " + ch.topic_by + " " + seconds_since_epoch(ch.topic_at));
    }
    names(c, ch);
    if (playing) {
        IrcPlayer& p = players_.back();
        if (p.next == 1 && p.log.size() == 1 && !p.log[0].contains("result"))
            record(Json{{"event", "operator"},
                        {"conn", c.conn.id},
                        {"nick", c.nick},
                        {"via", "topic"},
                        {"to", ch.name},
                        {"text", ch.topic},
                        {"step", 0}});
    }
}

void IrcState::leave(IrcClient& c, std::string folded) {
    std::erase(c.channels, folded);
    auto it = channels_.find(folded);
    if (it == channels_.end())
        return;
    std::erase(it->second.members, c.key);
    if (it->second.members.empty())
        channels_.erase(it);  // the operator alone does not keep a channel
}

void IrcState::names(IrcClient& c, const IrcChannel& ch) {
    std::string head = "= " + ch.name + " :";
    std::string list = "@" + op_nick_;
    for (auto key : ch.members) {
        const IrcClient* m = find(key);
        if (!m || m->nick.empty())
            continue;
        if (list.size() + m->nick.size() + 1 > kMaxNamesLine) {
            reply(c, "353", head + list);
            list.clear();
        }
        list += (list.empty() ? "" : " ") + m->nick;
    }
    if (!list.empty())
        reply(c, "353", head + list);
    reply(c, "366", ch.name + " :End of /NAMES list.");
}

void IrcState::cmd_part(IrcClient& c, const irc::Message& m) {
    std::string reason = bounded(m.param(1), 300);
    for (auto name : util::split(m.param(0), ',')) {
        IrcChannel* ch = find_channel(name);
        if (!ch) {
            reply(c, "403", bounded(name, kMaxChannelName) + " :No such channel");
            continue;
        }
        std::string folded = fold(name);
        if (!is_member(c, folded)) {
            reply(c, "442", ch->name + " :You're not on that channel");
            continue;
        }
        to_channel(*ch,
                   ":" + c.mask() + " PART " + ch->name + (reason.empty() ? "" : " :" + reason), 0);
        leave(c, folded);
    }
}

void IrcState::cmd_topic(IrcClient& c, const irc::Message& m) {
    IrcChannel* ch = find_channel(m.param(0));
    if (!ch)
        return reply(c, "403", bounded(m.param(0), kMaxChannelName) + " :No such channel");
    if (m.params.size() < 2) {
        if (ch->topic.empty())
            return reply(c, "331", ch->name + " :No topic is set.");
        reply(c, "332", ch->name + " :" + ch->topic);
        return reply(c, "333",
                     ch->name + " " + ch->topic_by + " " + seconds_since_epoch(ch->topic_at));
    }
    if (!is_member(c, fold(ch->name)))
        return reply(c, "442", ch->name + " :You're not on that channel");
    ch->topic = bounded(m.param(1), kMaxTopic);
    ch->topic_by = c.mask();
    ch->topic_at = now_;
    to_channel(*ch, ":" + c.mask() + " TOPIC " + ch->name + " :" + ch->topic, 0);
}

void IrcState::cmd_names(IrcClient& c, const irc::Message& m) {
    if (m.params.empty()) {
        std::vector<std::string> mine = c.channels;
        for (const auto& folded : mine)
            if (auto it = channels_.find(folded); it != channels_.end())
                names(c, it->second);
        return reply(c, "366", "* :End of /NAMES list.");
    }
    for (auto name : util::split(m.param(0), ',')) {
        if (const IrcChannel* ch = find_channel(name))
            names(c, *ch);
        else
            reply(c, "366", bounded(name, kMaxChannelName) + " :End of /NAMES list.");
    }
}

void IrcState::cmd_mode(IrcClient& c, const irc::Message& m) {
    std::string_view target = m.param(0);
    if (irc::is_channel_name(target)) {
        IrcChannel* ch = find_channel(target);
        if (!ch)
            return reply(c, "403", bounded(target, kMaxChannelName) + " :No such channel");
        std::string_view modes = m.param(1);
        if (m.params.size() < 2) {
            reply(c, "324", ch->name + " +nt" + (ch->key.empty() ? "" : "k " + ch->key));
            return reply(c, "329", ch->name + " " + seconds_since_epoch(ch->created));
        }
        if (modes == "b" || modes == "+b")
            return reply(c, "368", ch->name + " :End of channel ban list");
        // Settings are accepted silently; a key is remembered for 324, never checked.
        if (modes.size() >= 2 && modes[0] == '+' && modes.find('k') != std::string_view::npos &&
            m.params.size() >= 3)
            ch->key = bounded(m.param(2), kMaxKey);
        else if (modes.size() >= 2 && modes[0] == '-' && modes.find('k') != std::string_view::npos)
            ch->key.clear();
        return;
    }
    if (irc::nick_equal(target, c.nick)) {
        if (m.params.size() < 2)
            reply(c, "221", "+i");
        return;
    }
    if (irc::nick_equal(target, op_nick_) || find_nick(target))
        return reply(c, "502", ":Cannot change mode for other users");
    reply(c, "401", bounded(target, kMaxOperatorNick) + " :No such nick/channel");
}

// --- queries ----------------------------------------------------------------------------------

void IrcState::cmd_userhost(IrcClient& c, const irc::Message& m) {
    std::string out;
    for (std::size_t i = 0; i < m.params.size() && i < kMaxUserhostNicks; ++i) {
        std::string_view n = m.params[i];
        std::string entry;
        if (irc::nick_equal(n, op_nick_))
            entry = op_nick_ + "*=+admin@sandbox.test";
        else if (const IrcClient* o = find_nick(n))
            entry = o->nick + "=+" + o->user_shown + "@" + o->host;
        if (!entry.empty())
            out += (out.empty() ? "" : " ") + entry;
    }
    reply(c, "302", ":" + out);
}

void IrcState::cmd_who(IrcClient& c, const irc::Message& m) {
    std::string_view mask = m.param(0);
    auto line = [&](std::string_view chan, std::string_view user, std::string_view host,
                    std::string_view nick, std::string_view flags, std::string_view real) {
        reply(c, "352",
              std::string(chan) + " " + std::string(user) + " " + std::string(host) + " " +
                  cfg_.server_name + " " + std::string(nick) + " " + std::string(flags) + " :0 " +
                  std::string(real));
    };
    if (const IrcChannel* ch = irc::is_channel_name(mask) ? find_channel(mask) : nullptr) {
        line(ch->name, "admin", "sandbox.test", op_nick_, "H*@", "botmaster");
        for (auto key : ch->members)
            if (const IrcClient* o = find(key); o && !o->nick.empty())
                line(ch->name, o->user_shown, o->host, o->nick, "H", o->realname);
    } else if (irc::nick_equal(mask, op_nick_)) {
        line("*", "admin", "sandbox.test", op_nick_, "H*", "botmaster");
    } else if (const IrcClient* o = mask.empty() ? nullptr : find_nick(mask)) {
        line("*", o->user_shown, o->host, o->nick, "H", o->realname);
    }
    reply(
        c, "315",
        (mask.empty() ? std::string("*") : bounded(mask, kMaxChannelName)) + " :End of /WHO list.");
}

void IrcState::cmd_whois(IrcClient& c, const irc::Message& m) {
    // WHOIS [server] nick[,nick]
    std::string_view list = m.params.back();
    auto nicks = util::split(list, ',');
    for (std::size_t i = 0; i < nicks.size() && i < kMaxWhoisNicks; ++i) {
        std::string_view n = nicks[i];
        if (irc::nick_equal(n, op_nick_)) {
            reply(c, "311", op_nick_ + " admin sandbox.test * :botmaster");
            reply(c, "312", op_nick_ + " " + cfg_.server_name + " :" + cfg_.network);
            reply(c, "313", op_nick_ + " :is an IRC operator");
        } else if (const IrcClient* o = find_nick(n)) {
            reply(c, "311", o->nick + " " + o->user_shown + " " + o->host + " * :" + o->realname);
            reply(c, "312", o->nick + " " + cfg_.server_name + " :" + cfg_.network);
        } else {
            reply(c, "401", bounded(n, kMaxOperatorNick) + " :No such nick/channel");
        }
        reply(c, "318", bounded(n, kMaxOperatorNick) + " :End of /WHOIS list.");
    }
}

void IrcState::cmd_ison(IrcClient& c, const irc::Message& m) {
    std::string out;
    for (auto param : m.params)
        for (auto n : util::split(param, ' ')) {
            std::string shown;
            if (irc::nick_equal(n, op_nick_))
                shown = op_nick_;
            else if (const IrcClient* o = find_nick(n))
                shown = o->nick;
            if (!shown.empty() && out.size() < 400)
                out += (out.empty() ? "" : " ") + shown;
        }
    reply(c, "303", ":" + out);
}

void IrcState::cmd_list(IrcClient& c, const irc::Message&) {
    reply(c, "321", "Channel :Users  Name");
    for (const auto& [folded, ch] : channels_)
        reply(c, "322", ch.name + " " + std::to_string(ch.members.size() + 1) + " :" + ch.topic);
    reply(c, "323", ":End of /LIST");
}

void IrcState::cmd_away(IrcClient& c, const irc::Message& m) {
    if (m.params.empty() || m.param(0).empty())
        return reply(c, "305", ":You are no longer marked as being away");
    reply(c, "306", ":You have been marked as being away");
}

// --- messages ---------------------------------------------------------------------------------

void IrcState::cmd_privmsg(IrcClient& c, const irc::Message& m) {
    std::string command = util::to_upper(m.command);
    bool notice = command == "NOTICE";  // never answered with an error (RFC 1459)
    if (m.params.empty())
        return notice ? void() : reply(c, "411", ":No recipient given (PRIVMSG)");
    if (m.params.size() < 2 || m.params.back().empty())
        return notice ? void() : reply(c, "412", ":No text to send");
    std::string text(m.params.back());
    auto targets = util::split(m.param(0), ',');
    for (std::size_t i = 0; i < targets.size() && i < kIrcMaxTargets && !c.closing; ++i) {
        std::string_view to = targets[i];
        record(Json{{"event", "bot"},
                    {"conn", c.conn.id},
                    {"nick", c.nick},
                    {"command", command},
                    {"to", std::string(to)},
                    {"text", text}});
        if (irc::is_channel_name(to)) {
            IrcChannel* ch = find_channel(to);
            if (!ch) {
                if (!notice)
                    reply(c, "403", bounded(to, kMaxChannelName) + " :No such channel");
                continue;
            }
            if (!is_member(c, fold(ch->name))) {  // +n: no messages from outside
                if (!notice)
                    reply(c, "404", ch->name + " :Cannot send to channel");
                continue;
            }
            to_channel(*ch, ":" + c.mask() + " " + command + " " + ch->name + " :" + text, c.key);
            heard(c, fold(ch->name), text);
        } else if (irc::nick_equal(to, op_nick_)) {
            heard(c, "", text);  // the operator reads, never answers
        } else if (IrcClient* o = find_nick(to)) {
            send(*o, ":" + c.mask() + " " + command + " " + o->nick + " :" + text);
        } else if (!notice) {
            reply(c, "401", bounded(to, kMaxOperatorNick) + " :No such nick/channel");
        }
    }
}

// --- the operator -----------------------------------------------------------------------------

bool IrcState::start_player(IrcClient& c, IrcChannel& ch) {
    if (!cfg_.script || c.player_tried)
        return false;
    c.player_tried = true;
    if (players_.size() >= kIrcMaxPlayers) {
        ++players_refused_;
        return false;
    }
    IrcPlayer& p = players_.emplace_back();
    p.client = c.key;
    p.conn = c.conn.id;
    p.nick = c.nick;
    p.channel = fold(ch.name);
    p.channel_name = ch.name;
    p.guest = c.conn.client.ip;
    p.started = p.clock = now_;
    const auto& steps = cfg_.script->steps;
    if (!steps.empty() && steps[0].kind == OperatorStep::Kind::kTopic) {
        Json entry = step_entry(p, 0);
        std::string text =
            expand_operator_text(steps[0].text, cfg_.sandbox, {c.nick, ch.name, p.guest});
        auto foreign = foreign_addresses(text, cfg_.sandbox);
        if (foreign.empty()) {
            ch.topic = text;
            ch.topic_by = op_mask_;
            ch.topic_at = now_;
            entry["text"] = text;
            entry["at_join"] = true;
        } else {
            entry["result"] = "refused";
            entry["reason"] = foreign.front() + " is outside the sandbox";
        }
        p.log.push_back(std::move(entry));
        p.next = 1;
    }
    return true;
}

Json IrcState::step_entry(const IrcPlayer& p, std::size_t index) const {
    const OperatorStep& st = cfg_.script->steps[index];
    return Json{{"step", index},
                {"line", st.line},
                {"kind", step_kind_name(st.kind)},
                {"at_ms", now_ - p.started}};
}

void IrcState::run_player(IrcPlayer& p) {
    const auto& steps = cfg_.script->steps;
    IrcClient* c = find(p.client);
    if (!c || c->closing) {
        p.state = "bot left";
        return;
    }
    while (p.next < steps.size() && p.state == "running") {
        const OperatorStep& st = steps[p.next];
        if (p.wait == IrcPlayer::Wait::kPause) {
            if (now_ < p.until)
                return;
            p.clock = p.until;
        } else if (p.wait == IrcPlayer::Wait::kExpect) {
            auto hit = std::find_if(p.heard.begin(), p.heard.end(), [&](const std::string& h) {
                return util::to_lower(h).find(p.expected) != std::string::npos;
            });
            if (hit == p.heard.end() && now_ < p.until)
                return;
            Json& entry = p.log.back();
            if (hit != p.heard.end()) {
                entry["result"] = "matched";
                entry["heard"] = bounded(*hit, 200);
                p.clock = now_;
            } else {
                entry["result"] = "timed_out";
                p.clock = p.until;
            }
            entry["after_ms"] = p.clock - p.started - entry["at_ms"].get<Millis>();
        } else if (st.kind == OperatorStep::Kind::kWait) {
            p.log.push_back(step_entry(p, p.next));
            p.wait = IrcPlayer::Wait::kPause;
            p.until = p.clock + st.millis;
            continue;
        } else if (st.kind == OperatorStep::Kind::kExpect) {
            Json entry = step_entry(p, p.next);
            std::string text =
                expand_operator_text(st.text, cfg_.sandbox, {c->nick, p.channel_name, p.guest});
            entry["text"] = text;
            p.log.push_back(std::move(entry));
            p.expected = util::to_lower(text);
            p.wait = IrcPlayer::Wait::kExpect;
            p.until = p.clock + st.millis;
            continue;
        } else {
            send_step(p, *c, p.next);
        }
        p.wait = IrcPlayer::Wait::kNone;
        ++p.next;
        if (c->closing) {
            p.state = "bot left";
            return;
        }
    }
    if (p.next >= steps.size())
        p.state = "finished";
}

void IrcState::send_step(IrcPlayer& p, IrcClient& c, std::size_t index) {
    const OperatorStep& st = cfg_.script->steps[index];
    Json entry = step_entry(p, index);
    std::string text =
        expand_operator_text(st.text, cfg_.sandbox, {c.nick, p.channel_name, p.guest});
    entry["text"] = text;
    // The script was checked when loaded; the bot's own nick and channel were not.
    auto foreign = foreign_addresses(text, cfg_.sandbox);
    IrcChannel* ch = find_channel(p.channel_name);
    std::string skipped;
    if (!foreign.empty())
        skipped = foreign.front() + " is outside the sandbox";
    else if ((st.kind == OperatorStep::Kind::kSay || st.kind == OperatorStep::Kind::kTopic) &&
             (!ch || !is_member(c, p.channel)))
        skipped = "the bot is not in " + p.channel_name;
    if (!skipped.empty()) {
        entry["result"] = foreign.empty() ? "skipped" : "refused";
        entry["reason"] = skipped;
        p.log.push_back(std::move(entry));
        return;
    }
    std::string via = "privmsg", to = c.nick;
    switch (st.kind) {
        case OperatorStep::Kind::kSay:
            // To this bot alone: every bot in the channel has a player of its own.
            to = ch->name;
            send(c, ":" + op_mask_ + " PRIVMSG " + to + " :" + text);
            break;
        case OperatorStep::Kind::kMsg:
            send(c, ":" + op_mask_ + " PRIVMSG " + to + " :" + text);
            break;
        case OperatorStep::Kind::kNotice:
            via = "notice";
            send(c, ":" + op_mask_ + " NOTICE " + to + " :" + text);
            break;
        case OperatorStep::Kind::kTopic:
            via = "topic";
            to = ch->name;
            ch->topic = text;
            ch->topic_by = op_mask_;
            ch->topic_at = now_;
            to_channel(*ch, ":" + op_mask_ + " TOPIC " + to + " :" + text, 0);
            break;
        case OperatorStep::Kind::kWait:
        case OperatorStep::Kind::kExpect:
            return;
    }
    p.heard.clear();
    p.log.push_back(std::move(entry));
    record(Json{{"event", "operator"},
                {"conn", c.conn.id},
                {"nick", c.nick},
                {"via", via},
                {"to", to},
                {"text", text},
                {"step", index}});
}

void IrcState::heard(IrcClient& c, std::string_view to, std::string_view text) {
    for (auto& p : players_) {
        if (p.client != c.key || p.state != "running" || (!to.empty() && to != p.channel))
            continue;
        if (p.heard.size() >= kIrcMaxHeard)
            p.heard.pop_front();
        p.heard.push_back(irc::strip_formatting(text));
    }
}

void IrcState::end_players(std::uint64_t client) {
    for (auto& p : players_)
        if (p.client == client && p.state == "running")
            p.state = "bot left";
}

Json IrcState::summary() const {
    Json out;
    out["script"] = cfg_.script ? Json(cfg_.script->name) : Json(nullptr);
    out["operator"] = op_nick_;
    Json players = Json::array();
    for (const auto& p : players_) {
        std::size_t run = 0;
        for (const auto& e : p.log)
            run += e.contains("result") && e["result"] != "matched" && e["result"] != "timed_out"
                       ? 0
                       : 1;
        players.push_back(Json{{"conn", p.conn},
                               {"nick", p.nick},
                               {"channel", p.channel_name},
                               {"guest", format_ipv4(p.guest)},
                               {"state", p.state},
                               {"steps_run", run},
                               {"steps_total", cfg_.script->steps.size()},
                               {"steps", p.log}});
    }
    out["players"] = std::move(players);
    out["players_refused"] = players_refused_;
    return out;
}

// --- sessions ---------------------------------------------------------------------------------

namespace {

class IrcSession : public TcpSession {
public:
    IrcSession(IrcState& state, std::uint64_t key) : state_(state), key_(key) {}
    ~IrcSession() override {
        if (!closed_)
            state_.close(key_, 0);
    }
    IrcSession(const IrcSession&) = delete;
    IrcSession& operator=(const IrcSession&) = delete;

    void on_open(Millis now, Output& out) override {
        state_.on_open(key_, now);
        state_.drain(key_, out);
    }
    void on_data(std::string_view data, Millis now, Output& out) override {
        state_.feed(key_, data, now);
        state_.drain(key_, out);
    }
    void on_tick(Millis now, Output& out) override {
        state_.tick(now);
        state_.drain(key_, out);
    }
    void on_close(Millis now) override {
        if (closed_)
            return;
        closed_ = true;
        state_.close(key_, now);
    }
    std::size_t buffered() const override { return state_.buffered(key_); }

private:
    IrcState& state_;
    std::uint64_t key_;
    bool closed_ = false;
};

}  // namespace

IrcServer::IrcServer(IrcConfig config, Recorder& rec)
    : state_(std::make_unique<IrcState>(std::move(config), rec)) {}

IrcServer::~IrcServer() = default;

std::unique_ptr<TcpSession> IrcServer::accept(const ConnInfo& conn) {
    return std::make_unique<IrcSession>(*state_, state_->open(conn));
}

Json IrcServer::summary() const {
    return state_->summary();
}

std::size_t IrcServer::connections() const {
    return state_->connections();
}

}  // namespace botscope::fakenet
