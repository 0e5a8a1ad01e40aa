#pragma once
// Connections an analyzer announced before they opened: an FTP data connection after PASV or
// PORT, a DCC transfer after its offer. The engine looks a new TCP flow's responder up here
// and, on a match, hands the flow to a digest of its content (stream_digest.h) instead of
// probing it, so that a file fetched over FTP or DCC gets its size and hashes.
//
// Limits: kMaxExpectations pending at once (the oldest is forgotten first); each lives for
// kExpectationLifetime of capture time.

#include <deque>
#include <string_view>

#include "analysis/types.h"

namespace botscope::analysis {

inline constexpr std::size_t kMaxExpectations = 1024;
inline constexpr Timestamp kExpectationLifetime = 300'000'000'000;  // 300 s

class Expectations {
public:
    /// A connection to `responder` is expected from `ts` on, carrying `service` (a static
    /// name such as "ftp-data").
    void expect(const Endpoint& responder, Timestamp ts, std::string_view service);

    /// The service of a pending expectation for `responder` at `ts`, which it consumes; empty
    /// when none.
    std::string_view take(const Endpoint& responder, Timestamp ts);

    bool empty() const { return pending_.empty(); }

private:
    struct Entry {
        Endpoint responder;
        Timestamp ts;
        std::string_view service;
    };
    std::deque<Entry> pending_;
};

}  // namespace botscope::analysis
