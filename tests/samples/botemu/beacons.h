#pragma once
// The periodic HTTP check-ins: a GET of http://kBeaconHost/gate.php?id=DIGITS&v=2 on port
// kBeaconPort every interval (jittered by up to kBeaconJitter), at most kMaxBeacons a run, from
// the join on. They run on a thread of their own, as the bots' check-in timers ran beside their
// command handlers: a command that takes seconds does not bend the rhythm (the analysis calls
// requests a beacon only when their intervals are steady). The host is resolved once; a
// failure or a refusal there ends the beacons.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "net.h"
#include "resolve.h"

namespace botscope::botemu {

class Beacons {
public:
    /// `seed` seeds the beacons' own random numbers (the jitter, DNS ids): nothing is shared
    /// with the IRC thread but the stop flag.
    Beacons(Ipv4 resolver, int interval_seconds, std::uint64_t seed);
    /// Stops the beacons and waits for the thread (at most one beacon's time).
    ~Beacons();
    Beacons(const Beacons&) = delete;
    Beacons& operator=(const Beacons&) = delete;

    /// Starts the beacons of the bot whose nick has `digits`, the first one interval from now,
    /// none past `run_end`. Later calls (a rejoin, a reconnect) change nothing.
    void start(std::string digits, net::Deadline run_end);

    int sent() const { return sent_; }

private:
    void run(const std::string& digits, net::Deadline run_end);
    /// One beacon; false when there will be no more (the host did not resolve acceptably).
    bool send_one(const std::string& digits, net::Deadline run_end);

    Ipv4 resolver_;
    std::chrono::milliseconds interval_;
    Rng rng_;
    std::optional<Ipv4> address_;
    std::atomic<int> sent_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;  ///< guarded by mutex_
    std::thread thread_;
};

}  // namespace botscope::botemu
