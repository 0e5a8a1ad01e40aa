#pragma once
// The guest's part of a task report: what the agent saw (processes, dropped files, listening
// sockets, autostart entries), and the capture's figures. Field meanings: reports/README.md.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "agent/agent_client.h"
#include "capture/live_capture.h"
#include "report/json_common.h"

namespace botscope::tasks {

report::Json hello_json(const agent::Hello& h);

/// Asks the agent for everything it watched and kills the run's process tree, all by
/// `deadline`. Dropped files are fetched into `files_dir` under their SHA-256 until
/// `max_bytes` received in total; the report shows what arrived, and the guest's listing
/// beside it when they differ. Adds "processes", "dropped", "listening", "autostart", "killed"
/// and "lists" (what each list lost to a cap or to malformed entries) to `guest`; an operation
/// that failed is listed under "errors", and "error" is set when the process list itself
/// could not be read (the task then fails: without it the report would claim nothing ran).
void collect_guest(agent::Client& client, const std::filesystem::path& files_dir,
                   std::uint64_t max_bytes, std::chrono::steady_clock::time_point deadline,
                   report::Json& guest);

report::Json capture_json(const capture::Stats& s, const std::string& interface);

}  // namespace botscope::tasks
