#pragma once
// A task's side of fakenet: the operator script and DNS answers it asks for, checked before
// the task starts; the firewall ensured and the task begun on the guest's address before the
// revert; what fakenet saw, fetched when the capture has stopped.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fakenet/firewall.h"
#include "fakenet/session.h"
#include "tasks/config.h"
#include "util/result.h"

namespace botscope::tasks {

struct OperatorChoice {
    std::string name;                ///< as asked: "default", or the file's path
    std::filesystem::path file;      ///< where it was read
    std::string text;                ///< what fakenet gets (it checks it again)
    std::size_t steps = 0;
};

/// The script for a task: `requested` (NAME in <signatures>/operator, a path to a file, or
/// "none") or else the configured one. nullopt: no operator (the IRC server only answers).
/// Code "operator", the message naming the file and line of a refused script.
util::Result<std::optional<OperatorChoice>> choose_operator(
    const Config& config, const std::optional<std::string>& requested);

/// A task's DNS answers ("name=10.66.0.5", "name=nxdomain"), on top of the configured ones,
/// each address inside the sandbox. Code "dns". The result is the "dns" of a begin request.
util::Result<fakenet::Json> dns_overrides(const Config& config,
                                          const std::vector<std::string>& entries);

/// The firewall of the configured analysis network (without the pings, which fakenet adds
/// while it runs).
fakenet::FirewallSpec firewall_spec(const Config& config);

/// Makes sure the nftables table and the decoy addresses are in place (deny by default, with
/// or without fakenet). Code "firewall".
util::Result<util::Done> ensure_isolation(const Config& config);

/// Begins the task on the guest's address. Code "fakenet".
util::Result<util::Done> begin_fakenet(const Config& config, const std::string& task,
                                       const Machine& machine, const std::filesystem::path& dir,
                                       const std::optional<OperatorChoice>& op,
                                       const fakenet::Json& dns);

/// Ends it: what fakenet saw (the report's "fakenet" part, without "status"). Code "fakenet".
util::Result<fakenet::Json> end_fakenet(const Config& config, const std::string& task,
                                        const Machine& machine);

}  // namespace botscope::tasks
