#pragma once
// Pure readers of the XML libvirt hands out (domain and snapshot descriptions), on Qt's
// QXmlStreamReader. The XML comes from the daemon, which is trusted more than a sample, but it
// is still read as untrusted input: bounded size and depth, no DTD (so no entity expansion).
//
// Limits:
//   kMaxXmlBytes  4 MiB   a real domain XML is a few KiB
//   kMaxXmlDepth  64      libvirt's nesting is under 10 levels
// Errors: "bad_xml" (not well-formed, too large, too deep, has a DTD, wrong root element),
//         "no_interface" (the domain has no <interface>).

#include <cstddef>
#include <string>
#include <string_view>

#include "machinery/machinery.h"
#include "util/result.h"

namespace botscope::machinery {

inline constexpr std::size_t kMaxXmlBytes = 4u << 20;
inline constexpr int kMaxXmlDepth = 64;

/// Reads a (live) <domain> XML: the first <devices><interface>'s target dev, MAC and source
/// network, and the source path of the <channel type='unix'> whose <target name=…> is `channel`.
/// A domain that is not running has no target dev: `tap` is then empty, not an error.
util::Result<LiveDevices> parse_live_devices(std::string_view xml, std::string_view channel);

/// Reads the <state> of a <domainsnapshot> XML ("running", "shutoff", …).
util::Result<std::string> parse_snapshot_state(std::string_view xml);

}  // namespace botscope::machinery
