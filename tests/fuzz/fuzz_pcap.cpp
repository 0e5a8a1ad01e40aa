// The whole capture path: file header, records, link/IP/transport decoding, fragments, TCP
// reassembly, protocol detection and every analyzer, then the JSON report, and every record
// (protocol records, data streams, findings) as its log writes it, and every stream as the
// YARA inspector would be given it.

#include <cstdint>
#include <span>

#include "analysis/log_sink.h"
#include "analysis/pcap_source.h"
#include "analysis/proto/dns/dns_json.h"
#include "analysis/proto/ftp/ftp_json.h"
#include "analysis/proto/http/http_json.h"
#include "analysis/proto/irc/irc_json.h"
#include "analysis/proto/shell/shell_json.h"
#include "analysis/proto/smtp/smtp_json.h"
#include "analysis/proto/tftp/tftp_json.h"
#include "report/behavior_json.h"
#include "report/jsonl_logs.h"
#include "report/network_json.h"

namespace {

using namespace botscope::analysis;
using botscope::report::Json;
using botscope::report::to_json;

/// Serialises each record as jsonl_logs.h does, into nothing: no files in a fuzz run.
class DiscardingSink final : public LogSink {
public:
    void flow(const FlowRecord& r) override { use(botscope::report::flow_line(r)); }
    void dns(const dns::DnsTransaction& t) override { line(to_json(t)); }
    void http(const http::HttpTransaction& t) override { line(to_json(t)); }
    void irc(const irc::IrcSession& s) override { line(to_json(s)); }
    void smtp(const smtp::SmtpSession& s) override { line(to_json(s)); }
    void ftp(const ftp::FtpSession& s) override { line(to_json(s)); }
    void shell(const shell::ShellSession& s) override { line(to_json(s)); }
    void tftp(const tftp::TftpTransfer& t) override { line(to_json(t)); }
    void line(const Json& j) { use(j.dump(-1, ' ', false, Json::error_handler_t::replace)); }

private:
    void use(const std::string& s) { bytes_ += s.size(); }
    std::size_t bytes_ = 0;
};

/// Reads every byte of every stream handed over, as a scanner would.
class ReadingInspector final : public StreamInspector {
public:
    void inspect(const InspectedStream& s) override {
        for (std::uint8_t b : s.data)
            sum_ += b;
        sum_ += s.flow->id + s.service.size();
    }

private:
    std::uint64_t sum_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    DiscardingSink sink;
    ReadingInspector inspector;
    auto out = analyze_capture_bytes({data, size}, &sink, &inspector);
    if (out.error == CaptureError::kNone) {
        for (const auto& d : out.result.data_streams.list)
            sink.line(botscope::report::data_stream_json(d));
        botscope::report::behavior_records(
            out.behavior, [&sink](const char*, std::size_t, Json finding) { sink.line(finding); });
        auto doc = botscope::report::dump(
            botscope::report::pcap_report("<fuzz>", out.result, out.behavior));
        (void)doc;
    }
    return 0;
}
