#include "analysis/proto/irc/irc_analyzer.h"

#include <algorithm>

#include "analysis/log_sink.h"
#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::analysis::irc {

namespace {

constexpr std::string_view kAnalyzer = "irc";
constexpr std::size_t kDetailLength = 64;
constexpr std::size_t kMaxCommandField = 32;

std::string field(std::string_view s, bool* truncated = nullptr) {
    return util::bounded_copy(s, kMaxFieldLength, truncated);
}

std::string text_field(std::string_view s, bool* truncated = nullptr) {
    return util::bounded_copy(s, kMaxTextLength, truncated);
}

/// Parameters [from, end) joined by single spaces, as a sloppy "PRIVMSG #c hello world" means.
std::string join_params(const Message& m, std::size_t from) {
    std::string out;
    for (std::size_t i = from; i < m.params.size(); ++i) {
        if (i > from)
            out.push_back(' ');
        out.append(m.params[i]);
        if (out.size() > kMaxLineLength)
            break;  // params come from one bounded line anyway
    }
    return out;
}

bool is_nick_error(std::uint16_t code) {
    return code == 431 || code == 432 || code == 433 || code == 436 || code == 437;
}

/// Sets text, text_raw and the CTCP fields from the raw message text.
void fill_text(IrcMessage& msg, std::string_view raw) {
    bool cut = false;
    msg.text_raw = text_field(raw, &cut);
    if (auto ctcp = parse_ctcp(raw)) {
        msg.ctcp = util::to_upper(util::bounded_copy(ctcp->command, kMaxCommandField, &cut));
        msg.ctcp_args = text_field(ctcp->args, &cut);
        msg.text = text_field(strip_formatting(ctcp->body), &cut);
    } else {
        msg.text = text_field(strip_formatting(raw), &cut);
    }
    msg.truncated = msg.truncated || cut;
}

}  // namespace

namespace {

ProbeResult probe_sides(std::string_view orig, std::string_view resp) {
    // Either side saying IRC is strong evidence (SMTP, FTP and HTTP never start that way); a
    // side that is clearly something else ("220 ...", "GET / HTTP/1.1") vetoes a side that has
    // not decided yet.
    auto combine = [](ProbeResult client, ProbeResult server) {
        if (client == ProbeResult::kMatch || server == ProbeResult::kMatch)
            return ProbeResult::kMatch;
        if (client == ProbeResult::kNoMatch || server == ProbeResult::kNoMatch)
            return ProbeResult::kNoMatch;
        return ProbeResult::kNeedMore;
    };
    ProbeResult usual = combine(probe_client_line(orig), probe_server_line(resp));
    if (usual == ProbeResult::kMatch)
        return usual;
    // A capture that starts mid-connection may have the server as the flow's originator.
    ProbeResult swapped = combine(probe_client_line(resp), probe_server_line(orig));
    if (swapped == ProbeResult::kMatch)
        return swapped;
    if (usual == ProbeResult::kNoMatch && swapped == ProbeResult::kNoMatch)
        return ProbeResult::kNoMatch;
    return ProbeResult::kNeedMore;
}

/// Drops the first line: the torn end of a line when a capture starts mid-stream.
std::string_view after_first_line(std::string_view s) {
    auto nl = s.find('\n');
    return nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
}

}  // namespace

ProbeResult probe(const ProbeInput& in) {
    auto orig = util::as_chars(in.orig);
    auto resp = util::as_chars(in.resp);
    ProbeResult r = probe_sides(orig, resp);
    if (r == ProbeResult::kMatch)
        return r;
    // A capture that begins in the middle of a line on both sides: judge the next lines.
    auto orig2 = after_first_line(orig);
    auto resp2 = after_first_line(resp);
    if ((!orig2.empty() || !resp2.empty()) && probe_sides(orig2, resp2) == ProbeResult::kMatch)
        return ProbeResult::kMatch;
    return r;
}

IrcAnalyzer::IrcAnalyzer(const AnalyzerContext& ctx, IrcResult& result)
    : ctx_(ctx), result_(result) {
    session_.flow = ctx.flow.id;
    session_.client = ctx.flow.orig;
    session_.server = ctx.flow.resp;
    session_.start = ctx.flow.start;
}

void IrcAnalyzer::on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) {
    if (gave_up_ || ended_)
        return;
    if (session_.start == 0)
        session_.start = ts;
    feed(dir, util::as_chars(data), ts);
}

void IrcAnalyzer::feed(Direction dir, std::string_view data, Timestamp ts) {
    Side& side = sides_[static_cast<int>(dir)];
    while (!data.empty() && !gave_up_) {
        std::size_t nl = data.find('\n');
        if (side.skipping) {
            if (nl == std::string_view::npos)
                return;
            data.remove_prefix(nl + 1);
            side.skipping = false;
            continue;
        }
        std::size_t take = nl == std::string_view::npos ? data.size() : nl;
        if (side.buf.size() + take > kMaxLineLength) {
            std::size_t room = kMaxLineLength - side.buf.size();
            side.buf.append(data.substr(0, room));
            weird("irc_line_too_long", ts, side.buf.substr(0, kDetailLength));
            std::string line = std::move(side.buf);
            side.buf.clear();
            handle_line(dir, line, ts, true);
            if (nl == std::string_view::npos) {
                side.skipping = true;
                return;
            }
            data.remove_prefix(nl + 1);
            continue;
        }
        if (nl == std::string_view::npos) {
            side.buf.append(data);
            return;
        }
        if (side.buf.empty()) {
            handle_line(dir, data.substr(0, nl), ts, false);
        } else {
            side.buf.append(data.substr(0, nl));
            std::string line = std::move(side.buf);
            side.buf.clear();
            handle_line(dir, line, ts, false);
        }
        data.remove_prefix(nl + 1);
    }
}

void IrcAnalyzer::on_gap(Direction dir, std::uint64_t len, Timestamp ts) {
    (void)ts;
    Side& side = sides_[static_cast<int>(dir)];
    // Data after a gap starts mid-line; resynchronise on the next line end.
    side.buf.clear();
    side.skipping = true;
    session_.gap_bytes += len;
}

void IrcAnalyzer::on_eof(Direction dir, Timestamp ts) {
    Side& side = sides_[static_cast<int>(dir)];
    // A last line without its line end (a bot that closes right after QUIT) still counts.
    if (!gave_up_ && !ended_ && !side.skipping && !side.buf.empty()) {
        std::string line = std::move(side.buf);
        side.buf.clear();
        handle_line(dir, line, ts, false);
    }
    side.buf.clear();
}

void IrcAnalyzer::on_end(Timestamp ts) {
    if (ended_)
        return;
    on_eof(Direction::kOrig, ts);
    on_eof(Direction::kResp, ts);
    ended_ = true;
    session_.end = ts;
    if (session_.start == 0)
        session_.start = ts;
    if (ctx_.logs != nullptr)
        ctx_.logs->irc(session_);

    if (result_.sessions.size() >= kMaxSessions) {
        ++result_.sessions_dropped;
        return;
    }
    // The result holds every session of the capture: cap the messages it keeps in total,
    // received ones first (they carry the operator's commands).
    std::size_t budget = result_.stored_messages >= kMaxStoredMessages
                             ? 0
                             : kMaxStoredMessages - result_.stored_messages;
    std::size_t keep_received = std::min(session_.received.size(), budget);
    std::size_t keep_sent = std::min(session_.sent.size(), budget - keep_received);
    session_.received_dropped += session_.received.size() - keep_received;
    session_.sent_dropped += session_.sent.size() - keep_sent;
    session_.received.resize(keep_received);
    session_.sent.resize(keep_sent);
    result_.stored_messages += keep_received + keep_sent;
    result_.sessions.push_back(std::move(session_));
}

void IrcAnalyzer::weird(std::string_view name, Timestamp ts, std::string_view detail) {
    if (session_.confirmed) {
        ctx_.weird(kAnalyzer, name, ts, detail);
        return;
    }
    if (pending_weirds_.size() < kMaxPendingWeirds)
        pending_weirds_.push_back({name, ts, std::string(detail.substr(0, kDetailLength))});
}

void IrcAnalyzer::confirm() {
    if (session_.confirmed)
        return;
    session_.confirmed = true;
    for (const auto& w : pending_weirds_)
        ctx_.weird(kAnalyzer, w.name, w.ts, w.detail);
    pending_weirds_.clear();
}

void IrcAnalyzer::invalid_line(Timestamp ts, std::string_view detail) {
    ++session_.invalid_lines;
    ++consecutive_invalid_;
    weird("irc_invalid_line", ts, detail);
    bool give_up = session_.confirmed ? consecutive_invalid_ >= kMaxInvalidLines
                                      : session_.invalid_lines >= kMaxInvalidLines;
    if (!give_up)
        return;
    if (session_.confirmed)
        weird("irc_too_many_invalid_lines", ts);
    gave_up_ = true;
    session_.gave_up = true;
    sides_[0].buf.clear();
    sides_[1].buf.clear();
}

void IrcAnalyzer::handle_line(Direction dir, std::string_view line, Timestamp ts, bool truncated) {
    ParseResult pr = parse_message(line);
    if (pr.status == ParseStatus::kEmpty)
        return;
    if (pr.status == ParseStatus::kInvalid) {
        std::string detail(pr.error);
        detail += ": ";
        detail += line.substr(0, kDetailLength);
        invalid_line(ts, detail);
        return;
    }
    consecutive_invalid_ = 0;
    const Message& m = pr.msg;
    if (!roles_decided_)
        decide_roles(dir, m);
    if (dir == client_dir_) {
        ++session_.client_lines;
        client_message(m, ts, truncated);
    } else {
        ++session_.server_lines;
        server_message(m, ts, truncated);
    }
    if (!session_.confirmed && sent_nick_ && sent_user_)
        confirm();
}

void IrcAnalyzer::decide_roles(Direction dir, const Message& m) {
    // Servers prefix their lines; clients (in practice) never do.
    bool server_line = !m.prefix.raw.empty();
    bool client_line = m.prefix.raw.empty() &&
                       (util::iequals(m.command, "NICK") || util::iequals(m.command, "USER") ||
                        util::iequals(m.command, "PASS") || util::iequals(m.command, "JOIN") ||
                        util::iequals(m.command, "CAP"));
    if (!server_line && !client_line)
        return;
    roles_decided_ = true;
    client_dir_ = server_line ? opposite(dir) : dir;
    session_.roles_swapped = client_dir_ == Direction::kResp;
    session_.client = session_.roles_swapped ? ctx_.flow.resp : ctx_.flow.orig;
    session_.server = session_.roles_swapped ? ctx_.flow.orig : ctx_.flow.resp;
}

// ---------------------------------------------------------------------------------------------

IrcMessage IrcAnalyzer::make_message(const Message& m, Timestamp ts, bool truncated,
                                     std::size_t target_index, std::size_t text_index) const {
    IrcMessage msg;
    msg.ts = ts;
    msg.truncated = truncated || m.params_truncated || m.tags_truncated;
    bool cut = false;
    msg.command = util::to_upper(util::bounded_copy(m.command, kMaxCommandField, &cut));
    msg.from = field(m.prefix.raw, &cut);
    msg.target = field(m.param(target_index), &cut);
    for (const auto& tag : m.tags) {
        if (msg.tags.size() >= kMaxStoredTags) {
            cut = true;
            break;
        }
        msg.tags.push_back({field(tag.key, &cut), field(tag.value, &cut)});
    }
    msg.truncated = msg.truncated || cut;
    if (msg.command == "PRIVMSG" || msg.command == "NOTICE")
        msg.is_private = !is_channel_name(m.param(target_index));
    fill_text(msg, join_params(m, text_index));
    return msg;
}

void IrcAnalyzer::record(std::vector<IrcMessage>& list, std::uint64_t& dropped, bool& warned,
                         IrcMessage msg, Timestamp ts) {
    if (list.size() >= kMaxMessagesPerDirection) {
        ++dropped;
        if (!warned) {
            warned = true;
            weird("irc_too_many_messages", ts, msg.command);
        }
        return;
    }
    list.push_back(std::move(msg));
}

void IrcAnalyzer::record_dcc(const IrcMessage& msg, bool sent, Timestamp ts) {
    if (msg.ctcp != "DCC")
        return;
    DccResult r = parse_dcc(msg.ctcp_args);
    if (r.status == DccStatus::kNotOffer)
        return;
    if (r.status == DccStatus::kInvalid) {
        std::string detail(r.error);
        detail += ": ";
        detail += std::string_view(msg.ctcp_args).substr(0, kDetailLength);
        weird("irc_invalid_dcc", ts, detail);
        return;
    }
    if (session_.dcc.size() >= kMaxDccOffers) {
        ++session_.dcc_dropped;
        if (!warned_limit_) {
            warned_limit_ = true;
            weird("irc_limit_reached", ts, "dcc");
        }
        return;
    }
    IrcDcc d;
    d.ts = ts;
    d.sent = sent;
    d.from = msg.from;
    d.target = msg.target;
    d.type = util::to_upper(field(r.offer.type));
    d.argument = field(r.offer.argument);
    d.addr = r.offer.addr;
    d.port = r.offer.port;
    d.size = r.offer.size;
    // The receiver connects to the offer's address: the engine digests that file transfer.
    if ((d.type == "SEND" || d.type == "TSEND") && d.port != 0)
        ctx_.expect({d.addr, d.port}, ts, "irc-dcc");
    session_.dcc.push_back(std::move(d));
}

// ---------------------------------------------------------------------------------------------
// Nicks and channels

bool IrcAnalyzer::is_me(std::string_view nick) const {
    return !nick.empty() && !session_.nick.empty() && nick_equal(nick, session_.nick);
}

void IrcAnalyzer::add_nick(std::string_view nick, Timestamp ts, bool by_server) {
    if (!nick_accepted_ || by_server)
        session_.nick = field(nick);
    if (session_.nicks.size() >= kMaxNicks) {
        ++session_.nicks_dropped;
        if (!warned_limit_) {
            warned_limit_ = true;
            weird("irc_limit_reached", ts, "nicks");
        }
        return;
    }
    IrcNick n;
    n.ts = ts;
    n.nick = field(nick);
    n.valid = is_valid_nick(nick);
    n.by_server = by_server;
    session_.nicks.push_back(std::move(n));
}

void IrcAnalyzer::answer_nick(std::string_view nick, NickStatus status, std::uint16_t reply,
                              Timestamp ts) {
    auto& nicks = session_.nicks;
    auto it = std::find_if(nicks.rbegin(), nicks.rend(), [&](const IrcNick& n) {
        return n.status == NickStatus::kPending && nick_equal(n.nick, nick);
    });
    if (it != nicks.rend()) {
        it->status = status;
        it->reply = reply;
        it->answered_ts = ts;
    } else if (status == NickStatus::kAccepted) {
        // The server registered a nick the client did not ask for (truncated, or forced).
        bool known = std::any_of(nicks.begin(), nicks.end(), [&](const IrcNick& n) {
            return n.status == NickStatus::kAccepted && nick_equal(n.nick, nick);
        });
        if (!known) {
            add_nick(nick, ts, true);
            if (!nicks.empty() && nick_equal(nicks.back().nick, nick)) {
                nicks.back().status = status;
                nicks.back().reply = reply;
                nicks.back().answered_ts = ts;
            }
        }
    }
    if (status == NickStatus::kAccepted) {
        session_.nick = field(nick);
        nick_accepted_ = true;
    }
}

IrcChannel* IrcAnalyzer::find_channel(std::string_view name) {
    for (auto& c : session_.channels)
        if (nick_equal(c.name, name))
            return &c;
    return nullptr;
}

bool IrcAnalyzer::mid_session() const {
    return !sent_nick_ && !session_.registered;
}

void IrcAnalyzer::join_unseen(std::string_view name, Timestamp ts) {
    if (find_channel(name))
        return;
    if (IrcChannel* c = add_channel(name, ts)) {
        c->by_server = true;
        c->joined = true;
        c->joined_ts = ts;
    }
}

IrcChannel* IrcAnalyzer::add_channel(std::string_view name, Timestamp ts) {
    if (auto* c = find_channel(name))
        return c;
    if (session_.channels.size() >= kMaxChannels) {
        ++session_.channels_dropped;
        if (!warned_limit_) {
            warned_limit_ = true;
            weird("irc_limit_reached", ts, "channels");
        }
        return nullptr;
    }
    IrcChannel c;
    c.ts = ts;
    c.name = field(name);
    session_.channels.push_back(std::move(c));
    return &session_.channels.back();
}

// ---------------------------------------------------------------------------------------------
// Client lines

void IrcAnalyzer::client_message(const Message& m, Timestamp ts, bool truncated) {
    std::string cmd = util::to_upper(m.command);
    if (cmd == "PING") {
        ++session_.pings;
        return;
    }
    if (cmd == "PONG") {
        ++session_.pongs;
        return;
    }
    // QUIT and AWAY carry only text; every other command names its target first.
    bool text_only = cmd == "QUIT" || cmd == "AWAY";
    IrcMessage msg = text_only ? make_message(m, ts, truncated, m.params.size(), 0)
                               : make_message(m, ts, truncated, 0, 1);

    if (cmd == "NICK") {
        auto nick = m.param(0);
        if (nick.empty()) {
            weird("irc_missing_param", ts, "NICK");
        } else {
            if (!is_valid_nick(nick))
                weird("irc_invalid_nick", ts, nick.substr(0, kDetailLength));
            add_nick(nick, ts, false);
            sent_nick_ = true;
        }
    } else if (cmd == "USER") {
        if (m.params.size() < 4)
            weird("irc_missing_param", ts, "USER");
        if (!m.params.empty()) {
            session_.user = field(m.params[0]);
            sent_user_ = true;
        }
        // RFC 1459 puts the real name fourth; sloppy clients send more words without a colon.
        if (m.params.size() >= 2)
            session_.realname = field(m.params.back());
    } else if (cmd == "PASS") {
        if (m.params.empty() || m.params[0].empty())
            weird("irc_missing_param", ts, "PASS");
        else if (!session_.password)
            session_.password = field(m.params[0]);
    } else if (cmd == "JOIN") {
        // "JOIN :" (an empty list) is how some clients test for registration: not an anomaly.
        if (m.params.empty())
            weird("irc_missing_param", ts, "JOIN");
        auto keys = util::split(m.param(1), ',', false);
        std::size_t i = 0;
        for (auto name : util::split(m.param(0), ',', false)) {
            std::size_t idx = i++;
            if (name.empty() || name == "0")
                continue;  // "JOIN 0" leaves every channel
            IrcChannel* c = add_channel(name, ts);
            if (!c)
                continue;
            ++c->join_requests;
            c->left = false;
            if (idx < keys.size() && !keys[idx].empty()) {
                c->key = field(keys[idx]);
                c->has_key = true;
            }
        }
    } else if (cmd == "PART") {
        for (auto name : util::split(m.param(0), ','))
            if (auto* c = find_channel(name))
                c->left = true;
    } else if (cmd == "PRIVMSG" || cmd == "NOTICE") {
        if (m.params.size() < 2)
            weird("irc_missing_param", ts, cmd);
        record_dcc(msg, true, ts);
        // Speaking in a channel is being in it, when the capture missed the JOIN.
        if (mid_session() && is_channel_name(m.param(0)))
            join_unseen(m.param(0), ts);
    } else if (cmd == "QUIT") {
        session_.quit_message = msg.text;
    } else if (cmd == "CAP" && util::iequals(m.param(0), "REQ") && m.params.size() >= 2) {
        for (auto cap : util::split(m.params.back(), ' ')) {
            if (session_.caps_requested.size() >= kMaxCaps) {
                ++session_.caps_dropped;
                if (!warned_limit_) {
                    warned_limit_ = true;
                    weird("irc_limit_reached", ts, "caps");
                }
                continue;
            }
            session_.caps_requested.push_back(field(cap));
        }
    }
    record(session_.sent, session_.sent_dropped, warned_sent_, std::move(msg), ts);
}

// ---------------------------------------------------------------------------------------------
// Server lines

void IrcAnalyzer::server_message(const Message& m, Timestamp ts, bool truncated) {
    if (session_.server_name.empty() && m.prefix.looks_like_server())
        session_.server_name = field(m.prefix.raw);
    std::string cmd = util::to_upper(m.command);

    if (m.is_numeric()) {
        std::uint16_t code = m.numeric();
        ++session_.numerics[code];
        if (!m.prefix.raw.empty())
            confirm();
        if (code == 1) {
            if (!m.prefix.raw.empty())
                session_.server_name = field(m.prefix.raw);
            if (!session_.registered)
                session_.registered_ts = ts;
            session_.registered = true;
            if (!m.param(0).empty())
                answer_nick(m.param(0), NickStatus::kAccepted, code, ts);
        } else if (is_nick_error(code)) {
            // 431 names no nick; 437 is also "channel temporarily unavailable".
            auto nick = code == 431 ? std::string_view{} : m.param(1);
            if (code != 437 || !is_channel_name(nick))
                answer_nick(nick, NickStatus::kRejected, code, ts);
        } else if (code == 332) {
            IrcMessage msg = make_message(m, ts, truncated, 1, 2);
            if (auto* c = find_channel(m.param(1)); c && !c->joined) {
                c->joined = true;
                c->joined_ts = ts;
            }
            last_topic_channel_ = msg.target;
            record(session_.received, session_.received_dropped, warned_received_, std::move(msg),
                   ts);
        } else if (code == 333) {
            auto channel = m.param(1);
            if (!last_topic_channel_.empty() && nick_equal(channel, last_topic_channel_)) {
                auto& rec = session_.received;
                auto it = std::find_if(rec.rbegin(), rec.rend(), [&](const IrcMessage& r) {
                    return r.command == "332" && nick_equal(r.target, channel);
                });
                if (it != rec.rend()) {
                    it->set_by = field(m.param(2));
                    it->set_at = util::parse_u64(m.param(3));
                }
            }
        } else if (code == 353 || code == 366) {
            auto* c = find_channel(m.param(code == 353 ? 2 : 1));
            if (c && !c->joined) {
                c->joined = true;
                c->joined_ts = ts;
            }
        }
        return;
    }

    if (cmd == "PING") {
        ++session_.pings;
    } else if (cmd == "PONG") {
        ++session_.pongs;
    } else if (cmd == "PRIVMSG" || cmd == "NOTICE") {
        if (m.params.size() < 2)
            weird("irc_missing_param", ts, cmd);
        IrcMessage msg = make_message(m, ts, truncated, 0, 1);
        record_dcc(msg, false, ts);
        if (mid_session()) {
            // What the server relays names the client's channels and, when a user writes to it
            // privately, its nick ("AUTH" and "*" are the addressees before registration).
            auto target = m.param(0);
            if (is_channel_name(target)) {
                join_unseen(target, ts);
            } else if (cmd == "PRIVMSG" && session_.nick.empty() && !m.prefix.user.empty() &&
                       is_valid_nick(target)) {
                add_nick(target, ts, true);
            }
        }
        record(session_.received, session_.received_dropped, warned_received_, std::move(msg), ts);
    } else if (cmd == "TOPIC") {
        record(session_.received, session_.received_dropped, warned_received_,
               make_message(m, ts, truncated, 0, 1), ts);
    } else if (cmd == "JOIN") {
        if (!is_me(m.prefix.nick))
            return;
        for (auto name : util::split(m.param(0), ',')) {
            IrcChannel* c = find_channel(name);
            if (!c) {
                c = add_channel(name, ts);
                if (!c)
                    continue;
                c->by_server = true;
            }
            if (!c->joined)
                c->joined_ts = ts;
            c->joined = true;
            c->left = false;
        }
    } else if (cmd == "PART") {
        if (!is_me(m.prefix.nick))
            return;
        for (auto name : util::split(m.param(0), ','))
            if (auto* c = find_channel(name))
                c->left = true;
    } else if (cmd == "KICK") {
        if (!is_me(m.param(1)))
            return;
        if (auto* c = find_channel(m.param(0))) {
            c->left = true;
            c->kicked = true;
        }
        record(session_.received, session_.received_dropped, warned_received_,
               make_message(m, ts, truncated, 0, 2), ts);
    } else if (cmd == "INVITE") {
        if (!is_me(m.param(0)))
            return;
        record(session_.received, session_.received_dropped, warned_received_,
               make_message(m, ts, truncated, 1, 2), ts);
    } else if (cmd == "NICK") {
        if (is_me(m.prefix.nick) && !m.param(0).empty())
            answer_nick(m.param(0), NickStatus::kAccepted, 0, ts);
    } else if (cmd == "ERROR") {
        IrcMessage msg = make_message(m, ts, truncated, m.params.size(), 0);
        session_.error_message = msg.text;
        record(session_.received, session_.received_dropped, warned_received_, std::move(msg), ts);
    }
}

}  // namespace botscope::analysis::irc
