#include "report/jsonl_logs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "report/json_writer.h"

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

std::unique_ptr<JsonlLogs> JsonlLogs::open(const fs::path& dir, std::string& error) {
    std::unique_ptr<JsonlLogs> logs(new JsonlLogs(dir));
    logs->flows_.name = "flows.jsonl";
    for (Log* log : {&logs->flows_}) {
        fs::path p = dir / part_name(log->name);
        int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 || !(log->f = ::fdopen(fd, "w"))) {
            error = "cannot create " + p.string() + ": " + std::strerror(errno);
            if (fd >= 0)
                ::close(fd);
            logs->discard();
            return nullptr;
        }
        log->buf.reserve(kFlushBytes + 4096);
    }
    return logs;
}

JsonlLogs::~JsonlLogs() {
    if (!committed_)
        discard();
}

void JsonlLogs::discard() {
    for (Log* log : {&flows_}) {
        if (log->f) {
            std::fclose(log->f);
            log->f = nullptr;
        }
        std::error_code ec;
        fs::remove(dir_ / part_name(log->name), ec);
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
    JsonWriter w(flows_.buf);
    write_flow(w, r);
    finish_line(flows_);
}

std::string JsonlLogs::commit() {
    std::string err;
    for (Log* log : {&flows_}) {
        flush(*log);
        if (log->error == 0 && (std::fflush(log->f) != 0 || ::fsync(fileno(log->f)) != 0))
            log->error = errno;
        if (log->error != 0 && err.empty())
            err = "cannot write " + (dir_ / part_name(log->name)).string() + ": " +
                  std::strerror(log->error);
    }
    if (!err.empty()) {
        discard();
        return err;
    }
    for (Log* log : {&flows_}) {
        std::fclose(log->f);
        log->f = nullptr;
        std::error_code ec;
        fs::rename(dir_ / part_name(log->name), dir_ / log->name, ec);
        if (ec && err.empty())
            err = "cannot rename " + (dir_ / part_name(log->name)).string() + ": " + ec.message();
    }
    committed_ = err.empty();
    if (!committed_)
        discard();
    return err;
}

std::vector<JsonlLogs::LogFile> JsonlLogs::files() const {
    return {{flows_.name, flows_.records}};
}

}  // namespace botscope::report
