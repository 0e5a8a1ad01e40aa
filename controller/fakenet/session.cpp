#include "fakenet/session.h"

namespace botscope::fakenet {

std::string Endpoint::to_string() const {
    return format_ipv4(ip) + ':' + std::to_string(port);
}

}  // namespace botscope::fakenet
