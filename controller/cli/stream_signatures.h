#pragma once
// YARA's network rules over reassembled TCP streams, as analyze-pcap runs them: the engine
// hands each direction of a finished connection (analysis/stream_inspector.h) to a scanner of
// the rule trees' `network` folders, and the matches become `network.signatures`. The files
// the protocols carried (HTTP bodies, FTP and DCC transfers, TFTP) are kept as they arrive and
// scanned with the rules for files when each ends (`network.signatures.files`).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analysis/stream_inspector.h"
#include "report/json_common.h"
#include "yara/yara.h"

namespace botscope::cli {

class StreamSignatures final : public analysis::StreamInspector {
public:
    static constexpr std::size_t kMaxMatches = 256;  ///< listed in the report
    static constexpr std::size_t kMaxWarnings = 50;
    /// A hostile capture could make every stream a slow scan: after this many timeouts the
    /// remaining streams are not scanned (counted in streams_skipped).
    static constexpr std::size_t kMaxTimeouts = 10;
    static constexpr std::chrono::seconds kTimeout{5};  ///< per stream direction

    static constexpr std::size_t kMaxFileBytes = 16u << 20;    ///< kept of one file
    static constexpr std::size_t kMaxFilesBytes = 128u << 20;  ///< kept of the open files
    static constexpr std::size_t kMaxFilesListed = 256;

    /// `stream_rules` for the streams, `file_rules` (may be null) for the carried files.
    StreamSignatures(std::shared_ptr<const yara::RuleSet> stream_rules,
                     std::shared_ptr<const yara::RuleSet> file_rules,
                     std::chrono::seconds timeout = kTimeout);

    void inspect(const analysis::InspectedStream& s) override;
    FileId file_begin(const analysis::CarvedFile& f) override;
    void file_data(FileId id, std::span<const std::uint8_t> bytes) override;
    void file_end(FileId id, bool complete) override;

    /// {status, rules, streams_scanned, bytes_scanned, streams_truncated, streams_skipped,
    /// matches, matches_omitted, warnings}
    report::Json to_json() const;

    /// `network.signatures` when no scan ran: `status` "disabled" or "error", and why.
    static report::Json not_run(const char* status, const std::string& why);

private:
    struct OpenFile {
        analysis::FlowId flow = 0;
        std::string protocol;
        std::string name;
        std::vector<std::uint8_t> bytes;
        std::uint64_t size = 0;  ///< all that arrived, kept or not
    };

    void warn(std::string text);
    bool out_of_time();

    std::shared_ptr<const yara::RuleSet> rules_;
    yara::Scanner scanner_;
    std::shared_ptr<const yara::RuleSet> file_rules_;
    std::unique_ptr<yara::Scanner> file_scanner_;
    std::map<FileId, OpenFile> open_files_;
    FileId next_file_ = 1;
    std::size_t open_bytes_ = 0;
    report::Json files_ = report::Json::array();
    std::uint64_t files_scanned_ = 0;
    std::uint64_t file_bytes_ = 0;
    std::uint64_t files_truncated_ = 0;
    std::uint64_t files_omitted_ = 0;
    report::Json matches_ = report::Json::array();
    std::uint64_t matches_omitted_ = 0;
    std::uint64_t streams_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t truncated_ = 0;
    std::uint64_t skipped_ = 0;
    std::size_t timeouts_ = 0;
    std::vector<std::string> warnings_;
    std::uint64_t warnings_omitted_ = 0;
};

}  // namespace botscope::cli
