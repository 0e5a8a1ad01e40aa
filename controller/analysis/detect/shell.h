#pragma once
// Remote shells: every cleartext shell session (proto/shell), with the files its operator
// fetched (tftp GET; ftp -s: with the server and files its `echo`ed script named) and started
// (start FILE, or a command naming an executable). A started file whose name (folder dropped,
// case ignored) is one fetched before is download and execute. Ordered by (start, flow); at
// most kMaxFindings, the rest added to `dropped`. Pure and deterministic.

#include <cstdint>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

std::vector<RemoteShell> detect_shells(const NetworkResult& net, std::uint64_t& dropped);

}  // namespace botscope::analysis::detect
