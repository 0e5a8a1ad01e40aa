#include "report/behavior_json.h"

#include "analysis/distinct_count.h"

namespace botscope::report {

Json spam_run_json(const analysis::detect::SpamRun& s) {
    Json servers = Json::array();
    for (const auto& ep : s.server_list)
        servers.push_back(endpoint_json(ep));
    Json j;
    j["client"] = s.client.to_string();
    j["start"] = ts_json(s.start);
    j["end"] = ts_json(s.end);
    j["sessions"] = s.sessions;
    j["servers"] = s.servers;
    j["server_list"] = std::move(servers);
    j["messages"] = s.messages;
    j["messages_accepted"] = s.messages_accepted;
    j["recipients"] = s.recipients;
    j["recipient_domains"] = s.recipient_domains;
    j["top_domains"] = counted_json(s.top_domains);
    j["senders"] = counted_json(s.senders);
    j["subjects"] = counted_json(s.subjects);
    j["mx_lookups"] = s.mx_lookups;
    j["servers_after_mx"] = s.servers_after_mx;
    j["unanswered_servers"] = s.unanswered_servers;
    j["attempted"] = s.attempted;
    if (s.estimated) {
        j["estimated"] = true;
        j["estimate_error"] = analysis::DistinctCounter::kRelativeError;
    }
    j["messages_per_minute"] = optional_json(s.messages_per_minute);
    j["evidence"] = evidence_json(s.evidence);
    j["command"] = command_ref_json(s.command);
    return j;
}

}  // namespace botscope::report
