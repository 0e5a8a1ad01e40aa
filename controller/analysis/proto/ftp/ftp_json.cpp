#include "analysis/proto/ftp/ftp_json.h"

#include "report/line_session_json.h"

namespace botscope::report {

namespace {

using analysis::ftp::FtpCommandRecord;
using analysis::ftp::FtpDataChannel;
using analysis::ftp::FtpSession;
using analysis::ftp::FtpTransfer;

/// A reply code of 0 means no reply was seen: the key is left out.
Json channel_json(const FtpDataChannel& c) {
    Json j;
    j["ts"] = ts_json(c.ts);
    j["command"] = c.command;
    j["passive"] = c.passive;
    j["endpoint"] = endpoint_json(c.endpoint);
    put_reply(j, "reply", c.reply);
    if (c.address_mismatch)
        j["address_mismatch"] = true;
    return j;
}

Json transfer_json(const FtpTransfer& t) {
    Json j;
    j["ts"] = ts_json(t.ts);
    if (t.reply_ts != 0)
        j["reply_ts"] = ts_json(t.reply_ts);
    j["command"] = t.command;
    j["name"] = t.name;
    if (t.name_truncated)
        j["name_truncated"] = true;
    if (t.listing)
        j["listing"] = true;
    put_reply(j, "preliminary", t.preliminary);
    put_reply(j, "reply", t.reply);
    put_text(j, "reply_text", t.reply_text);
    // Unknown until the final reply.
    j["success"] = t.reply == 0 ? Json(nullptr) : Json(t.reply / 100 == 2);
    if (t.size)
        j["size"] = *t.size;
    if (t.offset != 0)
        j["offset"] = t.offset;
    put_text(j, "type", t.type);
    if (t.data)
        j["data"] = channel_json(*t.data);
    if (t.data_flow) {
        j["data_flow"] = *t.data_flow;
        j["data_bytes"] = t.data_bytes;
        j["md5"] = t.md5.empty() ? Json(nullptr) : Json(t.md5);
        j["sha256"] = t.sha256.empty() ? Json(nullptr) : Json(t.sha256);
        j["data_complete"] = t.data_complete;
        j["file_kind"] = t.file_kind;
    }
    return j;
}

Json command_json(const FtpCommandRecord& c) {
    Json j;
    j["ts"] = ts_json(c.ts);
    j["command"] = c.command;
    put_text(j, "arg", c.arg);
    if (c.arg_hidden)
        j["arg_hidden"] = true;
    put_reply(j, "reply", c.reply);
    put_text(j, "reply_text", c.reply_text);
    return j;
}

Json session_json(const FtpSession& s) {
    Json j = line_session_head(s);
    put_text(j, "user", s.user);
    j["users"] = s.users;
    if (s.users_dropped != 0)
        j["users_dropped"] = s.users_dropped;
    j["login_attempts"] = s.login_attempts;
    j["login_failures"] = s.login_failures;
    j["password_sent"] = s.password_sent;
    j["logged_in"] = s.logged_in;
    put_reply(j, "login_reply", s.login_reply);
    put_text(j, "syst", s.syst);
    put_text(j, "type", s.type);
    put_text(j, "cwd", s.cwd);
    put_text(j, "pwd", s.pwd);
    j["auth_tls"] = s.auth_tls;
    j["tls"] = s.tls;
    Json transfers = Json::array();
    for (const auto& t : s.transfers)
        transfers.push_back(transfer_json(t));
    j["transfers"] = std::move(transfers);
    j["transfers_seen"] = s.transfers_seen;
    j["transfers_dropped"] = s.transfers_dropped;
    Json channels = Json::array();
    for (const auto& c : s.data_channels)
        channels.push_back(channel_json(c));
    j["data_channels"] = std::move(channels);
    j["data_channels_dropped"] = s.data_channels_dropped;
    Json commands = Json::array();
    for (const auto& c : s.commands)
        commands.push_back(command_json(c));
    add_line_session_tail(j, s, std::move(commands));
    return j;
}

}  // namespace

Json to_json(const analysis::ftp::FtpResult& result) {
    Json j;
    Json sessions = sample_list(result.sessions, session_json);
    j["omitted"] = result.sessions_seen - sessions.size();
    j["sessions"] = std::move(sessions);
    j["sessions_seen"] = result.sessions_seen;
    j["sessions_dropped"] = result.sessions_dropped;
    j["transfers_seen"] = result.transfers_seen;
    return j;
}

Json to_json(const analysis::ftp::FtpSession& s) {
    return session_json(s);
}

}  // namespace botscope::report
