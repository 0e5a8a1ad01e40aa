#include "analysis/engine/expectations.h"

namespace botscope::analysis {

void Expectations::expect(const Endpoint& responder, Timestamp ts, std::string_view service) {
    if (pending_.size() >= kMaxExpectations)
        pending_.pop_front();
    pending_.push_back({responder, ts, service});
}

std::string_view Expectations::take(const Endpoint& responder, Timestamp ts) {
    // Few are pending at a time; a linear search from the newest is cheap and picks the
    // latest announcement of a reused port.
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
        if (it->responder != responder)
            continue;
        if (ts < it->ts - kExpectationLifetime || ts > it->ts + kExpectationLifetime)
            continue;
        std::string_view service = it->service;
        pending_.erase(std::next(it).base());
        return service;
    }
    while (!pending_.empty() && pending_.front().ts + kExpectationLifetime < ts)
        pending_.pop_front();
    return {};
}

}  // namespace botscope::analysis
