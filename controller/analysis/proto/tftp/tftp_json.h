#pragma once
// The report's `tftp` section.

#include "analysis/proto/tftp/tftp_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"count": N, "omitted": N, "transfers": [sample], "dropped": N, "evicted": N,
/// "unmatched_datagrams": N}. Each transfer carries its endpoints, file name, options, block
/// counts, completion, error and the file's MD5/SHA-256; optional facts (data flow, OACK, error,
/// digests, kind) appear only when known.
Json to_json(const analysis::tftp::TftpResult& result);

/// One transfer, as in the report's list and in tftp.jsonl.
Json to_json(const analysis::tftp::TftpTransfer& t);

}  // namespace botscope::report
