#pragma once
// The anomalies the engine itself reports (below the protocol analyzers).

#include <array>

#include "analysis/analyzer.h"

namespace botscope::analysis {

inline constexpr std::string_view kWeirdIpTruncatedHeader = "ip_truncated_header";
inline constexpr std::string_view kWeirdIpMalformedHeader = "ip_malformed_header";
inline constexpr std::string_view kWeirdIpFragmentLimit = "ip_fragment_limit";
inline constexpr std::string_view kWeirdIpFragmentOverlap = "ip_fragment_overlap";
inline constexpr std::string_view kWeirdIpFragmentInconsistent = "ip_fragment_inconsistent";
inline constexpr std::string_view kWeirdIpFragmentBadTransport = "ip_fragment_bad_transport";
inline constexpr std::string_view kWeirdFlowTableFull = "flow_table_full";
inline constexpr std::string_view kWeirdTcpReassemblyLimit = "tcp_reassembly_limit";

inline constexpr std::array<WeirdInfo, 8> kEngineWeirds = {{
    {kWeirdIpTruncatedHeader, "the captured bytes end inside a link, IP or transport header"},
    {kWeirdIpMalformedHeader, "a header contradicts itself (version, header or total length)"},
    {kWeirdIpFragmentLimit, "a fragmented datagram over 64 KiB or 128 fragments was dropped"},
    {kWeirdIpFragmentOverlap, "fragments overlap; the bytes that arrived first were kept"},
    {kWeirdIpFragmentInconsistent, "two last fragments disagree on the datagram's length"},
    {kWeirdIpFragmentBadTransport, "a reassembled datagram has a broken transport header"},
    {kWeirdFlowTableFull, "the live flow limit was hit; the least recently seen flow ended"},
    {kWeirdTcpReassemblyLimit, "out-of-order data over a buffer limit; the hole became a gap"},
}};

}  // namespace botscope::analysis
