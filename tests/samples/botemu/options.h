#pragma once
// The emulator's command line. Every option is bounded; none can widen the sandbox.
//
//   botscope-botemu [--cnc NAME] [--port N] [--resolver IP] [--max-seconds S]
//                   [--beacon-seconds S] [--help]

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "bounds.h"
#include "util/result.h"

namespace botscope::botemu {

struct Options {
    std::string cnc{kDefaultCnc};                ///< a host name or a dotted quad
    std::uint16_t port = kDefaultCncPort;        ///< 1-65535
    std::optional<Ipv4> resolver;                ///< a dotted quad; checked by the gate later
    int max_seconds = kDefaultMaxSeconds;        ///< 1-kMaxMaxSeconds
    int beacon_seconds = kDefaultBeaconSeconds;  ///< kMinBeaconSeconds-kMaxBeaconSeconds
    bool help = false;
};

/// Parses the arguments after the program name. The error ("usage") says which one is wrong.
util::Result<Options> parse_options(std::span<const std::string_view> args);

std::string usage_text();

}  // namespace botscope::botemu
