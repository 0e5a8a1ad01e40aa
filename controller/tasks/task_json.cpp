#include "tasks/task_json.h"

#include <system_error>

namespace botscope::tasks {

using report::Json;

namespace {

Json ms_time(std::int64_t ms) {
    return static_cast<double>(ms) / 1000.0;
}

}  // namespace

Json hello_json(const agent::Hello& h) {
    return {{"os", h.os},
            {"os_version", h.os_version},
            {"arch", h.arch},
            {"hostname", h.hostname},
            {"agent_version", h.agent_version},
            {"protocol", h.version},
            {"work_dir", h.work_dir}};
}

Json cut_json(const agent::ListCut& c) {
    return {{"truncated", c.truncated},
            {"malformed", c.malformed},
            {"why", c.why.empty() ? Json(nullptr) : Json(c.why)}};
}

void collect_guest(agent::Client& client, const std::filesystem::path& files_dir,
                   std::uint64_t max_bytes, std::chrono::steady_clock::time_point deadline,
                   Json& guest) {
    using Clock = std::chrono::steady_clock;
    client.limit_until(deadline);
    Json errors = Json::array();
    Json cut = Json::object();
    auto procs = client.processes();
    if (!procs) {
        guest["error"] = "cannot read the process list: " + procs.error().text();
    } else {
        Json events = Json::array();
        for (const auto& e : procs->events) {
            Json j = {{"seq", e.seq},         {"type", e.type},      {"time", ms_time(e.time_ms)},
                      {"pid", e.pid},         {"ppid", e.ppid},      {"image", e.image},
                      {"cmdline", e.cmdline}, {"in_tree", e.in_tree}};
            if (e.exit_code)
                j["exit_code"] = *e.exit_code;
            events.push_back(std::move(j));
        }
        guest["processes"] = {{"events", std::move(events)},
                              {"alive_at_end", procs->tree_alive},
                              {"truncated", procs->cut.truncated}};
        cut["processes"] = cut_json(procs->cut);
    }

    Json dropped = Json::array();
    bool dropped_truncated = false;
    if (auto d = client.dropped(); !d) {
        errors.push_back("dropped: " + d.error().text());
    } else {
        dropped_truncated = d->cut.truncated;
        cut["dropped"] = cut_json(d->cut);
        std::uint64_t fetched_bytes = 0;
        std::error_code ec;
        std::filesystem::create_directories(files_dir, ec);
        for (const auto& f : d->files) {
            Json j = {{"path", f.path},
                      {"status", f.status},
                      {"size", f.size},
                      {"sha256", f.sha256.empty() ? Json(nullptr) : Json(f.sha256)},
                      {"stored", nullptr}};
            if (f.sha256.empty() || f.too_large) {
                j["not_stored"] = "too large or unreadable in the guest";
            } else if (fetched_bytes + f.size > max_bytes) {
                j["not_stored"] = "the task's dropped_max_mb was reached";
            } else if (Clock::now() >= deadline) {
                j["not_stored"] = "the collect stage's deadline passed";
            } else if (!client.connected()) {
                j["not_stored"] = "the agent's connection was lost";
            } else if (auto got = client.fetch(f.id, files_dir, max_bytes - fetched_bytes);
                       !got) {
                j["not_stored"] = got.error().text();
            } else {
                // What arrived is what the report shows; the listing is the guest's word only.
                fetched_bytes += got->size;
                j["stored"] = "files/" + got->sha256;
                if (got->size != f.size || got->sha256 != f.sha256) {
                    j["listed"] = {{"size", f.size}, {"sha256", f.sha256}};
                    j["mismatch"] = true;
                    j["size"] = got->size;
                    j["sha256"] = got->sha256;
                }
            }
            dropped.push_back(std::move(j));
        }
    }
    guest["dropped"] = {{"files", std::move(dropped)}, {"truncated", dropped_truncated}};

    Json sockets = Json::array();
    if (auto s = client.sockets(); !s) {
        errors.push_back("sockets: " + s.error().text());
    } else {
        cut["listening"] = cut_json(s->cut);
        for (const auto& l : s->sockets)
            sockets.push_back({{"proto", l.proto},
                               {"address", l.address},
                               {"port", l.port},
                               {"pid", l.pid},
                               {"image", l.image},
                               {"in_tree", l.in_tree}});
    }
    guest["listening"] = std::move(sockets);

    Json autostart = Json::array();
    if (auto a = client.autostart(); !a) {
        errors.push_back("autostart: " + a.error().text());
    } else {
        cut["autostart"] = cut_json(a->cut);
        for (const auto& e : a->entries)
            autostart.push_back({{"kind", e.kind},
                                 {"location", e.location},
                                 {"name", e.name},
                                 {"value", e.value},
                                 {"status", e.status}});
    }
    guest["autostart"] = std::move(autostart);

    if (auto k = client.kill(); !k)
        errors.push_back("kill: " + k.error().text());
    else
        guest["killed"] = k.value();
    guest["lists"] = std::move(cut);
    guest["errors"] = std::move(errors);
    client.limit_until(std::nullopt);
}

Json capture_json(const capture::Stats& s, const std::string& interface) {
    return {{"file", "dump.pcap"},
            {"interface", interface},
            {"packets", s.packets},
            {"bytes", s.bytes},
            {"truncated", s.truncated},
            {"packets_over_cap", s.packets_over_cap},
            {"kernel_drops", s.kernel_drops},
            {"interface_drops", s.interface_drops},
            {"seconds", s.seconds},
            {"ended_early", s.ended_early.empty() ? Json(nullptr) : Json(s.ended_early)}};
}

}  // namespace botscope::tasks
