#pragma once
// Shared by the fuzz targets of the line-based TCP analyzers: plays fuzz input as a two-sided
// conversation. Records are separated by NUL bytes; a record starting with a tag byte goes
// where the tag says ('C' client data, 'S' server data, 'G' / 'H' a client / server gap as
// long as the record), any other record alternates direction. Each record's data is cut in two
// and every piece lives in its own heap buffer of exactly its size, so AddressSanitizer sees
// any over-read.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>

#include "analysis/analyzer.h"

namespace botscope::fuzz {

struct Piece {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t size = 0;
    std::span<const std::uint8_t> span() const { return {bytes.get(), size}; }
};

inline Piece copy(std::span<const std::uint8_t> s) {
    Piece p;
    p.bytes = std::make_unique<std::uint8_t[]>(s.empty() ? 1 : s.size());
    std::copy(s.begin(), s.end(), p.bytes.get());
    p.size = s.size();
    return p;
}

/// Feeds `data` to `a` as a scripted conversation whose first untagged record is the
/// server's, then ends both directions and the connection.
inline void play_script(analysis::StreamAnalyzer& a, std::span<const std::uint8_t> data) {
    using analysis::Direction;
    Direction next = Direction::kResp;
    analysis::Timestamp ts = 1;
    std::size_t start = 0;
    while (start <= data.size() && !a.gave_up()) {
        std::size_t end = start;
        while (end < data.size() && data[end] != 0)
            ++end;
        std::span<const std::uint8_t> rec = data.subspan(start, end - start);
        Direction dir = next;
        bool gap = false;
        if (!rec.empty() && (rec[0] == 'C' || rec[0] == 'S' || rec[0] == 'G' || rec[0] == 'H')) {
            dir = (rec[0] == 'C' || rec[0] == 'G') ? Direction::kOrig : Direction::kResp;
            gap = rec[0] == 'G' || rec[0] == 'H';
            rec = rec.subspan(1);
        }
        next = analysis::opposite(dir);
        ++ts;
        if (gap) {
            a.on_gap(dir, rec.size(), ts);
        } else {
            const std::size_t cut = rec.size() / 3;
            Piece p1 = copy(rec.first(cut));
            Piece p2 = copy(rec.subspan(cut));
            a.on_data(dir, p1.span(), ts);
            if (!a.gave_up())
                a.on_data(dir, p2.span(), ts);
        }
        start = end + 1;
    }
    a.on_eof(Direction::kOrig, ts);
    a.on_eof(Direction::kResp, ts);
    a.on_end(ts + 1);
}

}  // namespace botscope::fuzz
