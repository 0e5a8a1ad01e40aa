#pragma once
// The content of an expected connection (expectations.h): an FTP data connection or a DCC
// transfer carries one file in one direction, with no protocol around it. Each direction is
// hashed as it streams by; the one that carried more bytes is the file.
//
// Limits: kMaxDataStreams records kept per capture (counted beyond); kDigestSniffBytes of the
// file kept to tell its kind.

#include <memory>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "util/hash.h"

namespace botscope::analysis {

inline constexpr std::size_t kMaxDataStreams = 4096;
inline constexpr std::size_t kDigestSniffBytes = 4096;

struct DataStream {
    FlowId flow = 0;
    std::string service;  ///< the expectation's: "ftp-data", "irc-dcc"
    Endpoint orig;
    Endpoint resp;
    Timestamp start = 0;
    Timestamp end = 0;
    Direction content = Direction::kOrig;  ///< the direction that carried the file
    std::uint64_t size = 0;                ///< its bytes seen
    std::uint64_t other_bytes = 0;         ///< bytes the other way (DCC acknowledgements)
    std::string md5;                       ///< of the content; empty when a gap broke it
    std::string sha256;
    bool gap = false;     ///< bytes of the content were not captured
    bool closed = false;  ///< the content's sender closed the connection (FIN)
    std::string kind;     ///< "pe", "mz", "elf", "zip"... or "" (tftp::sniff_file_kind)
};

struct DataStreams {
    std::vector<DataStream> list;  ///< in the order the connections ended
    std::uint64_t dropped = 0;
};

class StreamDigest final : public StreamAnalyzer {
public:
    StreamDigest(const AnalyzerContext& ctx, std::string_view service, DataStreams& out);

    void on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) override;
    void on_gap(Direction dir, std::uint64_t len, Timestamp ts) override;
    void on_eof(Direction dir, Timestamp ts) override;
    void on_end(Timestamp ts) override;
    bool gave_up() const override { return false; }

private:
    struct Side {
        util::FileHasher hasher;
        std::vector<std::uint8_t> head;
        bool gap = false;
        bool eof = false;
        std::uint64_t file = 0;  ///< the content as a file for the inspector, 0 when none
    };
    AnalyzerContext ctx_;
    std::string_view service_;
    DataStreams& out_;
    Side side_[2];
    Timestamp last_ = 0;
    bool ended_ = false;
};

}  // namespace botscope::analysis
