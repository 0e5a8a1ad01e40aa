#pragma once
// The report's `http` section.

#include "analysis/proto/http/http_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"connections": N, "requests": N, "responses": N, "unmatched_responses": N,
///  "executables": N, "dropped": N, "count": N, "omitted": N, "transactions": [sample]}. Each
///  transaction carries its flow,
/// client and server, a `request` and a `response` object (either is null when that half was
/// never seen) and a `body` object per half that carried bytes: length seen, MD5/SHA-256,
/// `complete`, and `executable: {"kind", "size"}` when the body is a PE, MZ or ELF file.
/// Optional header values appear only when the message had them.
Json to_json(const analysis::http::HttpResult& result);

/// One transaction, as in the report's list and in http.jsonl.
Json to_json(const analysis::http::HttpTransaction& t);

}  // namespace botscope::report
