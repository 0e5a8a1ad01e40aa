// libFuzzer target for the readers of libvirt's domain and snapshot XML (machinery/domain_xml).
// The XML comes from the daemon, but it describes a domain a sample ran in, so it is read as
// untrusted: whatever the input, the readers return a value or an error, within their limits.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "machinery/domain_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view xml(reinterpret_cast<const char*>(data), size);
    auto d = botscope::machinery::parse_live_devices(xml, "org.botscope.agent.0");
    if (d) {
        // Everything returned was in the input.
        if (d->tap.size() > size || d->mac.size() > size || d->agent_socket.size() > size)
            std::abort();
    } else if (d.error().code != "bad_xml" && d.error().code != "no_interface") {
        std::abort();
    }
    auto s = botscope::machinery::parse_snapshot_state(xml);
    if (!s && s.error().code != "bad_xml")
        std::abort();
    return 0;
}
