#pragma once
// The generators of the pcap regression cases: one function per case folder in tests/pcap/,
// listed in one table. Every capture uses only the sandbox's own network (10.66.0.0/24, or
// 2001:db8::/32 for IPv6) and stays at a few hundred packets.

#include <optional>
#include <span>
#include <string_view>

#include "support/pcapgen.h"

namespace botscope::testing::pcap_cases {

/// A generated capture and the file format the case is meant to be written in.
struct CaseCapture {
    CaptureWriter writer;
    FileFormat format = FileFormat::kPcapLeUsec;
};

struct CaseGenerator {
    std::string_view name;  ///< the case folder's name
    CaseCapture (*generate)();
};

/// Every case, in the order of the table in cases.cpp.
std::span<const CaseGenerator> all_cases();

/// The generator of the case called `name`, or nullptr.
const CaseGenerator* find_case(std::string_view name);

/// "pcap-le-usec", "pcap-be-usec", "pcap-le-nsec", "pcap-be-nsec" or "pcapng".
std::optional<FileFormat> parse_file_format(std::string_view text);

}  // namespace botscope::testing::pcap_cases
