#pragma once
// What the bot does when commanded: floods, the scan, the spam run, downloads. Each action is short
// and runs to its end before the IRC loop goes on; each checks its targets with the gate (and net.h
// checks every packet again), and draws on the run's budgets, so the whole run stays within
// bounds.h however many commands arrive.

#include <functional>
#include <string>
#include <string_view>

#include "command.h"
#include "net.h"
#include "resolve.h"

namespace botscope::botemu {

/// One line on stdout ("botemu: ..."), flushed: the guest agent keeps it for debugging.
void log_line(std::string_view text);

/// What is left of the run's bounds.
struct Budgets {
    std::size_t flood_packets = kMaxFloodPacketsTotal;
    std::size_t scan_attempts = kMaxScanAttempts;
    std::size_t spam_messages = kMaxSpamMessages;
    std::size_t downloads = kMaxDownloads;
};

class Actions {
public:
    /// Sends one reply (its text, "[DDoS]: ...") to whoever gave the command.
    using Reply = std::function<void(const std::string&)>;

    /// `self` is the bot's address (scans sweep its /24 by default and skip it); nothing runs
    /// past `run_end`. The budgets last as long as this object: make one per run.
    Actions(Ipv4 resolver, Ipv4 self, net::Deadline run_end, Rng& rng);

    /// The nick's digits, which name the bot in HELO and Message-IDs.
    void set_digits(std::string digits) { digits_ = std::move(digits); }

    /// Runs a command the IRC side accepted, or replies why it cannot run (bad arguments,
    /// refused). Login and quit are the IRC side's; they are ignored here.
    void run(const ParsedCommand& command, const Reply& reply);

    const Budgets& budgets() const { return budgets_; }

private:
    void flood(Verb verb, const FloodArgs& args, const Reply& reply);
    void scan(const ScanArgs& args, const Reply& reply);
    void spam(const SpamArgs& args, const Reply& reply);
    void download(Verb verb, const DownloadArgs& args, const Reply& reply);
    net::Deadline within(int seconds) const;

    Ipv4 resolver_;
    Ipv4 self_;
    std::string digits_;
    net::Deadline run_end_;
    Rng& rng_;
    Budgets budgets_;
};

}  // namespace botscope::botemu
