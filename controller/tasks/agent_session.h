#pragma once
// Reaching a machine's guest agent right after a revert: the secret from its file, then
// connect-and-authenticate attempts until the agent answers or the deadline passes.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/agent_client.h"
#include "tasks/config.h"
#include "util/result.h"

namespace botscope::tasks {

/// The machine's secret (hex or raw bytes, 16..1024; proto::parse_secret). Code "secret".
util::Result<std::vector<std::uint8_t>> read_secret(const Machine& machine);

/// Connects over the machine's transport: for virtio, `agent_socket` (the channel's unix
/// socket from the live domain XML). Retries while the agent is not up yet; an agent that
/// accepts but never answers, or refuses the secret, fails with the last reason once `timeout`
/// has passed.
util::Result<agent::Client> connect_agent(const Machine& machine, const std::string& agent_socket,
                                          const std::vector<std::uint8_t>& secret,
                                          std::chrono::milliseconds timeout);

}  // namespace botscope::tasks
