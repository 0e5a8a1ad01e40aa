#pragma once
// What fakenet saw for one task: every record streamed to <task>/fakenet.jsonl as it happens
// (one JSON object per line, like a Zeek log), the first messages the SMTP sink accepted stored
// as <task>/mail/NNN.eml, and a bounded summary for the report: per kind the count, the first
// records and how many were left out.
//
// Limits (named in RecordCaps): records kept in memory per kind, lines in the log, messages
// stored and their size. Past a limit the counts stay exact and the summary says what was cut.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fakenet/session.h"

namespace botscope::fakenet {

struct RecordCaps {
    std::size_t list_per_kind = 200;       ///< records per kind in the report
    std::size_t log_lines = 200'000;       ///< lines in fakenet.jsonl (about 60 MB)
    std::size_t mail_keep = 20;            ///< messages stored as .eml
    std::size_t mail_bytes = 1u << 20;     ///< bytes kept of each stored message
};

class TaskRecords final : public Recorder {
public:
    /// `dir` empty: nothing is written (the traffic of no task), only counted.
    TaskRecords(std::string task, Ipv4 guest, std::filesystem::path dir, RecordCaps caps = {});

    void record(std::string_view kind, Json fields) override;
    std::string store_message(std::string_view message) override;

    /// Writes what is buffered to the log.
    void flush();
    std::uint64_t total() const { return total_; }
    const std::string& task() const { return task_; }
    Ipv4 guest() const { return guest_; }

    /// {"log", "log_lines", "log_dropped", "counts": {kind: n}, "<kind>": {"count", "list",
    /// "dropped"}..., "mail": {"stored": [...], "not_stored": n}, "warnings": [...]}
    Json summary() const;

private:
    struct Kind {
        std::uint64_t count = 0;
        std::vector<Json> list;
    };
    std::string task_;
    Ipv4 guest_;
    std::filesystem::path dir_;
    RecordCaps caps_;
    std::ofstream log_;
    std::uint64_t log_lines_ = 0, log_dropped_ = 0, total_ = 0;
    std::map<std::string, Kind, std::less<>> kinds_;
    std::vector<std::string> stored_;
    std::uint64_t not_stored_ = 0;
    std::vector<std::string> warnings_;
};

/// Wall clock as epoch seconds with microseconds, as the analysis' reports and Zeek's logs
/// write time.
double wall_seconds();

}  // namespace botscope::fakenet
