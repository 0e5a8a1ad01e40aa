#include "beacons.h"

#include <exception>

#include "actions.h"
#include "fetch.h"
#include "util/byte_reader.h"

namespace botscope::botemu {

using net::Clock;
using net::Deadline;

Beacons::Beacons(Ipv4 resolver, int interval_seconds, std::uint64_t seed)
    : resolver_(resolver), interval_(std::int64_t{interval_seconds} * 1000), rng_(seed) {}

Beacons::~Beacons() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void Beacons::start(std::string digits, Deadline run_end) {
    if (thread_.joinable())
        return;
    thread_ = std::thread([this, digits = std::move(digits), run_end] {
        // Nothing may escape a thread; a beacon that cannot go on just ends.
        try {
            run(digits, run_end);
        } catch (const std::exception& e) {
            log_line(std::string("beacons stopped: ") + e.what());
        }
    });
}

void Beacons::run(const std::string& digits, Deadline run_end) {
    const auto spread =
        static_cast<std::int64_t>(static_cast<double>(interval_.count()) * kBeaconJitter);
    Clock::time_point due = Clock::now() + interval_;
    while (sent_ < kMaxBeacons) {
        {
            std::unique_lock lock(mutex_);
            if (wake_.wait_until(lock, std::min(due, run_end), [this] { return stop_; }))
                return;
        }
        if (Clock::now() >= run_end || !send_one(digits, run_end))
            return;
        const auto jitter = std::chrono::milliseconds(
            static_cast<std::int64_t>(draw(rng_, 0, static_cast<std::uint32_t>(2 * spread))) -
            spread);
        due += interval_ + jitter;
        while (due <= Clock::now())  // a slow beacon skips slots rather than catch up
            due += interval_;
    }
}

bool Beacons::send_one(const std::string& digits, Deadline run_end) {
    if (!address_) {
        auto ip = resolve_host(resolver_, kBeaconHost, rng_,
                               std::min(run_end, net::after_ms(kDnsTimeoutMs * kDnsTries)));
        if (!ip) {
            log_line("beacons stopped: " + ip.error().message);
            return false;
        }
        address_ = ip.value();
    }
    const int n = ++sent_;
    const Deadline deadline = std::min(run_end, net::after_ms(kBeaconTimeoutMs));
    auto socket = net::tcp_connect(*address_, kBeaconPort, deadline);
    if (!socket) {
        log_line("beacon " + std::to_string(n) + ": " + socket.error().message);
        return true;
    }
    const std::string path = "/gate.php?id=" + digits + "&v=2";
    std::string response;
    if (net::send_all(socket.value(), build_get_request(kBeaconHost, kBeaconPort, path), deadline))
        while (response.size() < kMaxBeaconResponse &&
               net::receive(socket.value(), response, kMaxBeaconResponse - response.size(),
                            deadline) == net::Received::kData) {
        }
    auto r = parse_http_response(util::as_bytes(response), true);
    log_line("beacon " + std::to_string(n) + ": " +
             (r.code != 0 ? "HTTP " + std::to_string(r.code) : "no HTTP answer"));
    return true;
}

}  // namespace botscope::botemu
