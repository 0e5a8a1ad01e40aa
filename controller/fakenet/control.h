#pragma once
// The controller's side of fakenet's control socket (a unix socket, root only): one JSON object
// per line each way. Requests:
//   {"op":"status"}
//   {"op":"begin","task":ID,"guest":"10.66.0.10","dir":ABSOLUTE_TASK_FOLDER,
//    "operator":{"name":N,"text":SCRIPT} or null,"dns":{"names":{NAME:ADDR},"nxdomain":[NAME]}}
//   {"op":"end","task":ID,"guest":IP} -> {"ok":true,"fakenet":{...}}: what it saw for the task
//                                    (guest optional: it tells apart two controllers' same id)
//   {"op":"stop"}
// Every answer has "ok"; a refusal has "error" for people. Plain POSIX, every call with a
// deadline, so that a task never hangs on fakenet.

#include <chrono>
#include <filesystem>

#include "fakenet/session.h"
#include "util/result.h"

namespace botscope::fakenet {

/// Largest answer read (an "end" carries the task's bounded summary: a few MB at most).
inline constexpr std::size_t kMaxControlAnswer = 64u << 20;

/// Connects, sends `request`, reads one answer line. Error codes: not_running (no socket, or
/// nothing listens on it), timeout, protocol (an answer that is not one JSON object).
util::Result<Json> control_call(const std::filesystem::path& socket, const Json& request,
                                std::chrono::milliseconds deadline);

}  // namespace botscope::fakenet
