#pragma once
// Starting fakenet as a daemon, shared by `botscope fakenet start` and `botscope submit` (which
// starts it when it is not running, so that a sample never runs without its fake internet).

#include <string>

#include "fakenet/session.h"
#include "tasks/config.h"
#include "util/result.h"

namespace botscope::cli {

struct FakenetStart {
    fakenet::Json status;  ///< its answer to "status"
    bool started = false;  ///< false: it was already running
};

/// Returns the running instance's status, starting it first when nothing answers on the
/// control socket: a detached `botscope fakenet run` with the same configuration, its output in
/// the configured log file. Waits up to 15 s for it to answer. Errors quote the log's last lines.
util::Result<FakenetStart> ensure_fakenet(const tasks::Config& config);

}  // namespace botscope::cli
