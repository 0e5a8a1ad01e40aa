#pragma once
// The `network` part of a report, and the document `analyze-pcap` prints.

#include <string>

#include "analysis/detect/behavior.h"
#include "analysis/network_result.h"
#include "report/json_common.h"

namespace botscope::report {

class JsonlLogs;

/// Report schema identifier; bumped on any incompatible change (reports/README.md).
inline constexpr const char* kSchema = "botscope.report/1";

/// What the report lists of the network part, whatever the capture; counts stay whole and the
/// logs (jsonl_logs.h) hold every record.
inline constexpr std::size_t kReportFlows = 250;
inline constexpr std::size_t kReportHosts = 100;

Json network_to_json(const analysis::NetworkResult& net);

/// A data connection digested whole (an FTP data connection, an IRC DCC transfer).
Json data_stream_json(const analysis::DataStream& d);

/// The whole document for a capture analysed on its own; `stream_signatures`, unless null,
/// becomes `network.signatures` (YARA over the TCP streams, cli/stream_signatures.h).
Json pcap_report(const std::string& path, const analysis::NetworkResult& net,
                 const analysis::detect::BehaviorResult& behavior, const JsonlLogs* logs = nullptr,
                 Json stream_signatures = nullptr);

/// The report's `logs` part: each log written beside it and its count of records.
Json logs_json(const JsonlLogs& logs);

/// Serialises with invalid UTF-8 from the wire replaced, never throwing.
std::string dump(const Json& j);

}  // namespace botscope::report
