// The whole capture path: file header, records, link/IP/transport decoding, fragments, TCP
// reassembly, protocol detection and every analyzer, then the JSON report.

#include <cstdint>
#include <span>

#include "analysis/pcap_source.h"
#include "report/network_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto out = botscope::analysis::analyze_capture_bytes({data, size});
    if (out.error == botscope::analysis::CaptureError::kNone) {
        auto doc = botscope::report::dump(
            botscope::report::pcap_report("<fuzz>", out.result, out.behavior));
        (void)doc;
    }
    return 0;
}
