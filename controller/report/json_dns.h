#pragma once
// The report's `dns` section.

#include "analysis/proto/dns/dns_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"messages", "queries", "responses", "malformed", "unmatched_responses", "unanswered",
///  "transactions": [...], "dropped", "answers_dropped", "names": [...], "names_dropped"}.
/// Optional per-transaction keys (rtt, rcode, answers...) appear only when measured.
Json to_json(const analysis::dns::DnsResult& result);

}  // namespace botscope::report
