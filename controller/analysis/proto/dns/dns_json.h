#pragma once
// The report's `dns` section.

#include "analysis/proto/dns/dns_analyzer.h"
#include "report/json_common.h"

namespace botscope::report {

/// {"messages", "queries", "responses", "malformed", "unmatched_responses", "unanswered",
///  "count", "omitted", "transactions": [...], "dropped", "answers_dropped", "names_omitted",
///  "names": [...], "names_dropped"}; the lists are samples (json_common.h: sample_list).
/// Optional per-transaction keys (rtt, rcode, answers...) appear only when measured.
Json to_json(const analysis::dns::DnsResult& result);

/// One transaction, as in the report's list and in dns.jsonl.
Json to_json(const analysis::dns::DnsTransaction& t);

}  // namespace botscope::report
