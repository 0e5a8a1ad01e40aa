#include "fakenet/task_records.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace botscope::fakenet {

namespace fs = std::filesystem;

double wall_seconds() {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    return static_cast<double>(us) / 1e6;
}

TaskRecords::TaskRecords(std::string task, Ipv4 guest, fs::path dir, RecordCaps caps)
    : task_(std::move(task)), guest_(guest), dir_(std::move(dir)), caps_(caps) {
    if (dir_.empty())
        return;
    log_.open(dir_ / "fakenet.jsonl", std::ios::out | std::ios::trunc);
    if (!log_)
        warnings_.push_back("cannot write " + (dir_ / "fakenet.jsonl").string() + ": " +
                            std::strerror(errno));
}

void TaskRecords::record(std::string_view kind, Json fields) {
    ++total_;
    Json line;
    line["ts"] = wall_seconds();
    line["kind"] = kind;
    for (auto& [k, v] : fields.items())
        line[k] = std::move(v);
    if (log_.is_open()) {
        if (log_lines_ < caps_.log_lines) {
            // Guest bytes are not always UTF-8: replace, never throw.
            log_ << line.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
            ++log_lines_;
        } else {
            ++log_dropped_;
        }
    }
    auto it = kinds_.find(kind);
    if (it == kinds_.end())
        it = kinds_.emplace(std::string(kind), Kind{}).first;
    ++it->second.count;
    if (it->second.list.size() < caps_.list_per_kind)
        it->second.list.push_back(std::move(line));
}

std::string TaskRecords::store_message(std::string_view message) {
    if (dir_.empty() || stored_.size() >= caps_.mail_keep) {
        ++not_stored_;
        return "";
    }
    std::error_code ec;
    fs::create_directories(dir_ / "mail", ec);
    char name[32];
    std::snprintf(name, sizeof name, "mail/%03zu.eml", stored_.size() + 1);
    const fs::path final_path = dir_ / name;
    const fs::path tmp = final_path.string() + ".tmp";
    // Written whole, then renamed: a reader never sees half a message.
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    bool ok = fd >= 0;
    std::string_view data = message.substr(0, caps_.mail_bytes);
    while (ok && !data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n <= 0) {
            ok = false;
            break;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    if (fd >= 0)
        ok = (::close(fd) == 0) && ok;
    if (!ok || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
        warnings_.push_back("cannot store " + final_path.string() + ": " + std::strerror(errno));
        ::unlink(tmp.c_str());
        ++not_stored_;
        return "";
    }
    stored_.emplace_back(name);
    return name;
}

void TaskRecords::flush() {
    if (log_.is_open())
        log_.flush();
}

Json TaskRecords::summary() const {
    Json s;
    s["log"] = log_.is_open() ? Json("fakenet.jsonl") : Json(nullptr);
    s["log_lines"] = log_lines_;
    s["log_dropped"] = log_dropped_;
    Json counts = Json::object();
    for (const char* k : {"dns", "irc", "smtp", "http", "tftp", "tcp", "udp"})
        counts[k] = 0;
    for (const auto& [k, v] : kinds_)
        counts[k] = v.count;
    s["counts"] = counts;
    for (const auto& [k, v] : kinds_) {
        Json list = Json::array();
        for (const auto& r : v.list)
            list.push_back(r);
        s[k] = {{"count", v.count},
                {"list", std::move(list)},
                {"dropped", v.count - v.list.size()}};
    }
    s["mail"] = {{"stored", stored_}, {"not_stored", not_stored_}};
    s["warnings"] = warnings_;
    return s;
}

}  // namespace botscope::fakenet
