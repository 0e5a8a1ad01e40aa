#pragma once
// YARA's network rules over reassembled TCP streams, as analyze-pcap runs them: the engine
// hands each direction of a finished connection (analysis/stream_inspector.h) to a scanner of
// the rule trees' `network` folders, and the matches become `network.signatures`.

#include <chrono>
#include <cstdint>
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

    explicit StreamSignatures(std::shared_ptr<const yara::RuleSet> rules,
                              std::chrono::seconds timeout = kTimeout);

    void inspect(const analysis::InspectedStream& s) override;

    /// {status, rules, streams_scanned, bytes_scanned, streams_truncated, streams_skipped,
    /// matches, matches_omitted, warnings}
    report::Json to_json() const;

    /// `network.signatures` when no scan ran: `status` "disabled" or "error", and why.
    static report::Json not_run(const char* status, const std::string& why);

private:
    void warn(std::string text);

    std::shared_ptr<const yara::RuleSet> rules_;
    yara::Scanner scanner_;
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
