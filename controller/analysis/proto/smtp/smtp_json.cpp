#include "analysis/proto/smtp/smtp_json.h"

#include "report/line_session_json.h"

namespace botscope::report {

namespace {

using analysis::smtp::SmtpAuthAttempt;
using analysis::smtp::SmtpCommandRecord;
using analysis::smtp::SmtpMessage;
using analysis::smtp::SmtpRecipient;
using analysis::smtp::SmtpSession;

/// A reply code of 0 means no reply was seen: the key is left out.
Json recipient_json(const SmtpRecipient& r) {
    Json j;
    j["address"] = r.address;
    put_reply(j, "reply", r.reply);
    // Unknown until the server answered.
    j["accepted"] = r.reply == 0 ? Json(nullptr) : Json(r.reply / 100 == 2);
    if (r.truncated)
        j["truncated"] = true;
    return j;
}

Json message_json(const SmtpMessage& m) {
    Json j;
    j["ts"] = ts_json(m.ts);
    j["mail_from"] = m.mail_from;
    if (m.mail_from_truncated)
        j["mail_from_truncated"] = true;
    put_reply(j, "mail_from_reply", m.mail_from_reply);
    Json rcpts = Json::array();
    for (const auto& r : m.recipients)
        rcpts.push_back(recipient_json(r));
    j["rcpt_to"] = std::move(rcpts);
    j["rcpt_dropped"] = m.recipients_dropped;
    j["status"] = std::string(analysis::smtp::status_name(m.status));
    j["data"] = m.data;
    j["data_complete"] = m.data_complete;
    put_reply(j, "data_reply", m.data_reply);
    put_reply(j, "reply", m.reply);
    put_text(j, "reply_text", m.reply_text);
    if (m.data) {
        Json h = Json::object();
        put_text(h, "from", m.headers.from);
        put_text(h, "to", m.headers.to);
        put_text(h, "cc", m.headers.cc);
        put_text(h, "subject", m.headers.subject);
        put_text(h, "message_id", m.headers.message_id);
        put_text(h, "date", m.headers.date);
        put_text(h, "x_mailer", m.headers.x_mailer);
        j["headers"] = std::move(h);
        j["header_count"] = m.header_count;
        j["size"] = m.size;
        put_text(j, "md5", m.md5);
        put_text(j, "sha256", m.sha256);
        if (m.gaps)
            j["gaps"] = true;
        j["attachments"] = m.attachments;
        j["attachments_dropped"] = m.attachments_dropped;
        if (m.truncated)
            j["truncated"] = true;
    }
    return j;
}

Json auth_json(const SmtpAuthAttempt& a) {
    Json j;
    j["ts"] = ts_json(a.ts);
    j["mechanism"] = a.mechanism;
    put_text(j, "user", a.user);
    if (a.user_truncated)
        j["user_truncated"] = true;
    put_reply(j, "reply", a.reply);
    j["success"] = a.reply == 0 ? Json(nullptr) : Json(a.reply / 100 == 2);
    return j;
}

Json command_json(const SmtpCommandRecord& c) {
    Json j;
    j["ts"] = ts_json(c.ts);
    j["command"] = c.command;
    put_text(j, "arg", c.arg);
    put_reply(j, "reply", c.reply);
    return j;
}

Json session_json(const SmtpSession& s) {
    Json j = line_session_head(s);
    put_text(j, "helo_command", s.helo_command);
    if (!s.helo_command.empty())
        j["helo"] = s.helo;
    if (!s.extensions.empty())
        j["extensions"] = s.extensions;
    j["starttls"] = s.starttls;
    j["tls"] = s.tls;
    Json auth = Json::array();
    for (const auto& a : s.auth)
        auth.push_back(auth_json(a));
    j["auth"] = std::move(auth);
    if (s.auth_dropped != 0)
        j["auth_dropped"] = s.auth_dropped;
    Json messages = Json::array();
    for (const auto& m : s.messages)
        messages.push_back(message_json(m));
    j["messages"] = std::move(messages);
    j["messages_seen"] = s.messages_seen;
    j["messages_dropped"] = s.messages_dropped;
    j["recipients_seen"] = s.recipients_seen;
    Json commands = Json::array();
    for (const auto& c : s.commands)
        commands.push_back(command_json(c));
    add_line_session_tail(j, s, std::move(commands));
    return j;
}

}  // namespace

Json to_json(const analysis::smtp::SmtpResult& result) {
    Json j;
    Json sessions = sample_list(result.sessions, session_json);
    j["omitted"] = result.sessions_seen - sessions.size();
    j["sessions"] = std::move(sessions);
    j["sessions_seen"] = result.sessions_seen;
    j["sessions_dropped"] = result.sessions_dropped;
    j["messages_seen"] = result.messages_seen;
    j["messages_dropped"] = result.messages_dropped;
    j["recipients_seen"] = result.recipients_seen;
    return j;
}

Json to_json(const analysis::smtp::SmtpSession& s) {
    return session_json(s);
}

}  // namespace botscope::report
