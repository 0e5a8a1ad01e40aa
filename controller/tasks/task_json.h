#pragma once
// The guest's part of a task report: what the agent saw (processes, dropped files, listening
// sockets, autostart entries), and the capture's figures. Field meanings: reports/README.md.

#include <cstdint>
#include <filesystem>
#include <string>

#include "agent/agent_client.h"
#include "capture/live_capture.h"
#include "report/json_common.h"

namespace botscope::tasks {

report::Json hello_json(const agent::Hello& h);

/// Asks the agent for everything it watched and kills the run's process tree. Dropped files
/// are fetched into `files_dir` under their SHA-256 until `max_bytes` in total. Adds
/// "processes", "dropped", "sockets", "autostart", "killed" to `guest`; an operation that
/// failed is listed under "errors", and "error" is set when the process list itself could not
/// be read (the task then fails: without it the report would claim nothing ran).
void collect_guest(agent::Client& client, const std::filesystem::path& files_dir,
                   std::uint64_t max_bytes, report::Json& guest);

report::Json capture_json(const capture::Stats& s, const std::string& interface);

}  // namespace botscope::tasks
