#include "report/jsonl_logs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "analysis/proto/dns/dns_json.h"
#include "analysis/proto/ftp/ftp_json.h"
#include "analysis/proto/http/http_json.h"
#include "analysis/proto/irc/irc_json.h"
#include "analysis/proto/shell/shell_json.h"
#include "analysis/proto/smtp/smtp_json.h"
#include "analysis/proto/tftp/tftp_json.h"
#include "report/behavior_json.h"
#include "report/json_writer.h"
#include "report/network_json.h"

namespace botscope::report {

namespace fs = std::filesystem;
using analysis::FlowRecord;
using analysis::Transport;

namespace {

/// Buffered bytes per log before they go to the file: large writes, bounded memory.
constexpr std::size_t kFlushBytes = 256 * 1024;

std::string part_name(const std::string& name) {
    return name + ".part";
}

void write_flow(JsonWriter& w, const FlowRecord& f) {
    w.begin_object();
    w.key("id").number(static_cast<std::uint64_t>(f.id));
    w.key("proto").string(analysis::transport_name(f.transport));
    w.key("orig").endpoint(f.orig);
    w.key("resp").endpoint(f.resp);
    w.key("start").timestamp(f.start);
    w.key("duration").timestamp(f.end - f.start);
    w.key("service");
    if (f.service.empty()) {
        w.null();
    } else {
        w.string(f.service);
    }
    if (!f.state.empty())
        w.key("state").string(f.state);
    w.key("orig_packets").number(f.packets[0]);
    w.key("orig_bytes").number(f.bytes[0]);
    w.key("orig_payload_bytes").number(f.payload_bytes[0]);
    w.key("resp_packets").number(f.packets[1]);
    w.key("resp_bytes").number(f.bytes[1]);
    w.key("resp_payload_bytes").number(f.payload_bytes[1]);
    if (f.transport == Transport::kTcp) {
        w.key("gap_bytes").number(f.gap_bytes);
        w.key("midstream").boolean(f.midstream);
    }
    w.end_object();
}

}  // namespace

std::string flow_line(const FlowRecord& r) {
    std::string s;
    JsonWriter w(s);
    write_flow(w, r);
    return s;
}

std::span<const char* const> JsonlLogs::names() {
    static constexpr const char* kNames[kKinds] = {
        "flows.jsonl", "dns.jsonl",  "http.jsonl",  "irc.jsonl",          "smtp.jsonl",
        "ftp.jsonl",   "tftp.jsonl", "shell.jsonl", "data_streams.jsonl", "behavior.jsonl"};
    return kNames;
}

std::unique_ptr<JsonlLogs> JsonlLogs::open(const fs::path& dir, std::string& error) {
    std::unique_ptr<JsonlLogs> logs(new JsonlLogs(dir));
    for (std::size_t k = 0; k < kKinds; ++k) {
        Log* log = &logs->logs_[k];
        log->name = names()[k];
        fs::path p = dir / part_name(log->name);
        int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 || !(log->f = ::fdopen(fd, "w"))) {
            error = "cannot create " + p.string() + ": " + std::strerror(errno);
            if (fd >= 0)
                ::close(fd);
            logs->discard();
            return nullptr;
        }
        // Flows are most of the lines; the others grow their buffer when they have any.
        if (k == kFlows)
            log->buf.reserve(kFlushBytes + 4096);
    }
    return logs;
}

JsonlLogs::~JsonlLogs() {
    if (!committed_)
        discard();
}

void JsonlLogs::discard() {
    for (Log& log : logs_) {
        if (log.f) {
            std::fclose(log.f);
            log.f = nullptr;
        }
        std::error_code ec;
        fs::remove(dir_ / part_name(log.name), ec);
    }
}

void JsonlLogs::flush(Log& log) {
    if (!log.buf.empty() && log.error == 0 &&
        std::fwrite(log.buf.data(), 1, log.buf.size(), log.f) != log.buf.size())
        log.error = errno != 0 ? errno : EIO;
    log.buf.clear();
}

void JsonlLogs::finish_line(Log& log) {
    log.buf.push_back('\n');
    ++log.records;
    if (log.buf.size() >= kFlushBytes)
        flush(log);
}

void JsonlLogs::flow(const FlowRecord& r) {
    Log& log = logs_[kFlows];
    JsonWriter w(log.buf);
    write_flow(w, r);
    finish_line(log);
}

template <typename Record>
void JsonlLogs::write(Kind kind, const Record& r) {
    // Protocol records are few beside flows; the report's own serialiser keeps one definition
    // of their fields.
    Log& log = logs_[kind];
    log.buf += to_json(r).dump(-1, ' ', false, Json::error_handler_t::replace);
    finish_line(log);
}

void JsonlLogs::dns(const analysis::dns::DnsTransaction& t) {
    write(kDns, t);
}
void JsonlLogs::http(const analysis::http::HttpTransaction& t) {
    write(kHttp, t);
}
void JsonlLogs::irc(const analysis::irc::IrcSession& s) {
    write(kIrc, s);
}
void JsonlLogs::smtp(const analysis::smtp::SmtpSession& s) {
    write(kSmtp, s);
}
void JsonlLogs::ftp(const analysis::ftp::FtpSession& s) {
    write(kFtp, s);
}
void JsonlLogs::shell(const analysis::shell::ShellSession& s) {
    write(kShell, s);
}
void JsonlLogs::tftp(const analysis::tftp::TftpTransfer& t) {
    write(kTftp, t);
}

void JsonlLogs::data_streams(const analysis::DataStreams& d) {
    Log& log = logs_[kDataStreams];
    for (const auto& s : d.list) {
        log.buf += data_stream_json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
        finish_line(log);
    }
}

void JsonlLogs::behavior(const analysis::detect::BehaviorResult& b) {
    Log& log = logs_[kBehavior];
    behavior_records(b, [&](const char* section, std::size_t index, Json finding) {
        Json line = {{"section", section}, {"index", index}};
        line.update(finding);
        log.buf += line.dump(-1, ' ', false, Json::error_handler_t::replace);
        finish_line(log);
    });
}

std::string JsonlLogs::commit() {
    std::string err;
    for (Log& log : logs_) {
        flush(log);
        if (log.error == 0 && (std::fflush(log.f) != 0 || ::fsync(fileno(log.f)) != 0))
            log.error = errno;
        if (log.error != 0 && err.empty())
            err = "cannot write " + (dir_ / part_name(log.name)).string() + ": " +
                  std::strerror(log.error);
    }
    if (!err.empty()) {
        discard();
        return err;
    }
    for (Log& log : logs_) {
        std::fclose(log.f);
        log.f = nullptr;
        std::error_code ec;
        fs::rename(dir_ / part_name(log.name), dir_ / log.name, ec);
        if (ec && err.empty())
            err = "cannot rename " + (dir_ / part_name(log.name)).string() + ": " + ec.message();
    }
    committed_ = err.empty();
    if (!committed_)
        discard();
    return err;
}

std::vector<JsonlLogs::LogFile> JsonlLogs::files() const {
    std::vector<LogFile> out;
    for (const Log& log : logs_)
        out.push_back({log.name, log.records});
    return out;
}

}  // namespace botscope::report
