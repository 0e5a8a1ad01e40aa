#pragma once
// What every session of a line protocol with numeric replies (SMTP, FTP) records about its
// connection, whatever the protocol: the endpoints, the greeting, the bookkeeping of the
// command log and the latest replies. Each protocol's session derives from it and adds its own
// facts and its typed command log.

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/types.h"

namespace botscope::analysis {

struct LineSession {
    Timestamp ts = 0;
    FlowId flow = 0;
    Endpoint orig;
    Endpoint resp;
    std::string banner;  ///< greeting text, lines joined by '\n'
    std::uint16_t banner_code = 0;
    std::uint64_t commands_seen = 0;        ///< every command, logged or not
    std::uint64_t commands_dropped = 0;     ///< commands past the protocol's log cap
    std::vector<std::string> last_replies;  ///< "250 OK" of the latest final replies
    bool quit = false;
    std::uint64_t invalid_lines = 0;
    bool gave_up = false;
};

}  // namespace botscope::analysis
