#pragma once
// The full records of an analysis as JSON-lines logs in an output folder, written while the
// engine runs and never held in memory (the report keeps bounded samples and counts).
//
//   flows.jsonl      one line per flow, as it ends (reports/README.md lists the fields)
//   dns.jsonl ...    one line per protocol record, as its analyzer closes it
//   data_streams.jsonl  one line per data connection digested, after the analysis
//   behavior.jsonl   one line per finding, written once the analysis is done
//
// Each log is written as `<name>.part` and renamed only by commit(): a folder never holds a
// half-written log under its final name, and an analysis that fails leaves none.

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/log_sink.h"
#include "analysis/network_result.h"

namespace botscope::report {

/// One flow as its log line (without the newline): the same fields in the log and in the
/// report's sample of flows.
std::string flow_line(const analysis::FlowRecord& r);

class JsonlLogs final : public analysis::LogSink {
public:
    struct LogFile {
        std::string name;  ///< "flows.jsonl"
        std::uint64_t records = 0;
    };

    /// The file names of the logs, in the order the report lists them.
    static std::span<const char* const> names();

    /// Opens the logs in `dir`, which must exist. Null, with `error` naming the file and the
    /// cause, when one cannot be created.
    static std::unique_ptr<JsonlLogs> open(const std::filesystem::path& dir, std::string& error);
    ~JsonlLogs() override;
    JsonlLogs(const JsonlLogs&) = delete;
    JsonlLogs& operator=(const JsonlLogs&) = delete;

    void flow(const analysis::FlowRecord& r) override;
    void dns(const analysis::dns::DnsTransaction& t) override;
    void http(const analysis::http::HttpTransaction& t) override;
    void irc(const analysis::irc::IrcSession& s) override;
    void smtp(const analysis::smtp::SmtpSession& s) override;
    void ftp(const analysis::ftp::FtpSession& s) override;
    void shell(const analysis::shell::ShellSession& s) override;
    void tftp(const analysis::tftp::TftpTransfer& t) override;
    /// After the analysis, before commit(): every data stream the engine digested, and every
    /// finding as `{"section": ..., "index": ..., <the finding's fields>}`.
    void data_streams(const analysis::DataStreams& d);
    void behavior(const analysis::detect::BehaviorResult& b);

    /// Writes out, syncs and gives every log its final name. Empty on success, else one line
    /// naming the file and the cause (the parts are then removed).
    std::string commit();
    /// What was written, for the report's `logs` part.
    std::vector<LogFile> files() const;

private:
    struct Log {
        std::string name;
        std::FILE* f = nullptr;
        std::string buf;
        std::uint64_t records = 0;
        int error = 0;  // errno of the first failed write
    };
    enum Kind : std::size_t {
        kFlows,
        kDns,
        kHttp,
        kIrc,
        kSmtp,
        kFtp,
        kTftp,
        kShell,
        kDataStreams,
        kBehavior,
        kKinds
    };

    explicit JsonlLogs(std::filesystem::path dir) : dir_(std::move(dir)) {}
    void flush(Log& log);
    void finish_line(Log& log);
    template <typename Record>
    void write(Kind kind, const Record& r);
    void discard();

    std::filesystem::path dir_;
    std::array<Log, kKinds> logs_;
    bool committed_ = false;
};

}  // namespace botscope::report
