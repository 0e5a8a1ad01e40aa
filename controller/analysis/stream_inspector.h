#pragma once
// Content inspection of reassembled TCP streams (YARA's network rules), kept behind an
// interface so that the engine knows nothing of what inspects them.
//
// With an inspector set, the engine keeps the first bytes of each direction of every TCP
// connection, as reassembly delivered them (in order, retransmissions and overlaps resolved),
// whatever protocol the connection turned out to speak or none, and hands them over when the
// connection ends. Limits:
//   StreamCapture::per_direction  64 KiB kept of each direction (the opening: where C&C
//                                 logins, commands and replies sit)
//   StreamCapture::total          64 MiB kept across all live connections
// A direction stops being kept at a gap (what follows would be matched against bytes that
// were never next to it) or at either limit; it is then inspected as far as it got, flagged
// truncated.
//
// The same inspector is handed the files the protocols carry (HTTP response bodies, decoded;
// FTP data connections and IRC DCC transfers; TFTP transfers) as they arrive, in pieces:
// file_begin, file_data, file_end. The inspector decides what it keeps of them.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "analysis/types.h"

namespace botscope::analysis {

struct StreamCapture {
    static constexpr std::size_t kDefaultPerDirection = 64u << 10;
    static constexpr std::size_t kDefaultTotal = 64u << 20;
    std::size_t per_direction = kDefaultPerDirection;
    std::size_t total = kDefaultTotal;
};

/// One direction of a finished TCP connection.
struct InspectedStream {
    const FlowInfo* flow = nullptr;
    Direction dir = Direction::kOrig;
    std::string_view service;  ///< the analyzer that claimed the connection, or empty
    std::span<const std::uint8_t> data;
    bool truncated = false;  ///< a gap or a limit stopped the keeping
    bool gap = false;        ///< of which a gap
    Timestamp end = 0;
};

/// A file a protocol carried.
struct CarvedFile {
    FlowId flow = 0;
    std::string_view protocol;  ///< "http", "ftp-data", "dcc", "tftp"
    std::string_view name;      ///< the URL or the file's name, as sent; may be empty
};

class StreamInspector {
public:
    using FileId = std::uint64_t;

    virtual ~StreamInspector() = default;
    /// Called once per direction that carried data, when its connection ends (closed, reset,
    /// expired, evicted, or the capture ended). `s.data` lives for the call only.
    virtual void inspect(const InspectedStream& s) = 0;

    /// A file begins: an id for its pieces, or 0 when it is not wanted. Every id given is
    /// ended exactly once; `complete` is false when pieces are missing or it was cut short.
    virtual FileId file_begin(const CarvedFile& f) {
        (void)f;
        return 0;
    }
    virtual void file_data(FileId id, std::span<const std::uint8_t> bytes) {
        (void)id, (void)bytes;
    }
    virtual void file_end(FileId id, bool complete) { (void)id, (void)complete; }
};

}  // namespace botscope::analysis
