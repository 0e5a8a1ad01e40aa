#include "report/network_json.h"

#include <algorithm>
#include <tuple>

#include "analysis/network_result.h"
#include "analysis/proto/dns/dns_json.h"
#include "analysis/proto/ftp/ftp_json.h"
#include "analysis/proto/http/http_json.h"
#include "analysis/proto/irc/irc_json.h"
#include "analysis/proto/shell/shell_json.h"
#include "analysis/proto/smtp/smtp_json.h"
#include "analysis/proto/tftp/tftp_json.h"
#include "report/assess.h"
#include "report/behavior_json.h"
#include "report/jsonl_logs.h"

namespace botscope::report {

using namespace botscope::analysis;

namespace {

Json capture_json(const CaptureInfo& c) {
    Json j;
    j["format"] = c.format;
    j["byte_order"] = c.byte_order;
    j["ts_precision"] = c.ts_precision;
    j["link_type"] = c.link_type;
    j["link_name"] = c.link_name;
    j["snaplen"] = c.snaplen;
    j["file_size"] = c.file_size;
    j["packets"] = c.packets;
    j["bytes"] = c.bytes;
    j["captured_bytes"] = c.captured_bytes;
    if (c.packets > 0) {
        j["first_ts"] = ts_json(c.first_ts);
        j["last_ts"] = ts_json(c.last_ts);
        j["duration"] = ts_json(c.last_ts - c.first_ts);
    } else {
        j["first_ts"] = nullptr;
        j["last_ts"] = nullptr;
        j["duration"] = 0.0;
    }
    j["truncated"] = c.truncated;
    if (c.truncated)
        j["truncation_reason"] = c.truncation_reason;
    j["snapped_packets"] = c.snapped_packets;
    j["ts_backwards"] = c.ts_backwards;
    j["ts_clamped"] = c.ts_clamped;
    j["non_ip_packets"] = c.non_ip_packets;
    j["decode_errors"] = c.decode_errors;
    j["ip_fragments"] = c.fragments;
    j["reassembled_datagrams"] = c.reassembled_datagrams;
    return j;
}

Json host_json(const HostRecord& h) {
    Json j;
    j["ip"] = h.addr.to_string();
    j["packets_sent"] = h.packets_sent;
    j["bytes_sent"] = h.bytes_sent;
    j["packets_received"] = h.packets_received;
    j["bytes_received"] = h.bytes_received;
    j["flows_originated"] = h.flows_originated;
    j["flows_responded"] = h.flows_responded;
    j["first_ts"] = ts_json(h.first_ts);
    j["last_ts"] = ts_json(h.last_ts);
    return j;
}

Json flow_json(const FlowRecord& f) {
    // The log's writer is the one definition of a flow's fields.
    return Json::parse(flow_line(f));
}

/// The flows the report lists: those an analyzer claimed first, then the sample of the others,
/// at most kReportFlows, by id.
std::vector<const FlowRecord*> listed_flows(const NetworkResult& net) {
    std::vector<const FlowRecord*> out;
    for (int pass = 0; pass < 2 && out.size() < kReportFlows; ++pass)
        for (const auto& f : net.flows)
            if (f.service.empty() == (pass == 1) && out.size() < kReportFlows)
                out.push_back(&f);
    std::sort(out.begin(), out.end(),
              [](const FlowRecord* a, const FlowRecord* b) { return a->id < b->id; });
    return out;
}

/// The busiest hosts (packets sent and received), at most kReportHosts, in order of appearance.
std::vector<const HostRecord*> listed_hosts(const NetworkResult& net) {
    std::vector<const HostRecord*> out;
    for (const auto& h : net.hosts)
        out.push_back(&h);
    if (out.size() > kReportHosts) {
        auto busier = [](const HostRecord* a, const HostRecord* b) {
            auto pa = a->packets_sent + a->packets_received;
            auto pb = b->packets_sent + b->packets_received;
            return pa != pb ? pa > pb
                            : std::tie(a->first_ts, a->addr) < std::tie(b->first_ts, b->addr);
        };
        std::nth_element(out.begin(), out.begin() + kReportHosts, out.end(), busier);
        out.resize(kReportHosts);
        std::sort(out.begin(), out.end(), [](const HostRecord* a, const HostRecord* b) {
            return std::tie(a->first_ts, a->addr) < std::tie(b->first_ts, b->addr);
        });
    }
    return out;
}

}  // namespace

Json data_stream_json(const DataStream& d) {
    return {{"flow", d.flow},
            {"service", d.service},
            {"orig", endpoint_json(d.orig)},
            {"resp", endpoint_json(d.resp)},
            {"start", ts_json(d.start)},
            {"end", ts_json(d.end)},
            {"sender", d.content == Direction::kOrig ? "orig" : "resp"},
            {"size", d.size},
            {"other_bytes", d.other_bytes},
            {"md5", d.md5.empty() ? Json(nullptr) : Json(d.md5)},
            {"sha256", d.sha256.empty() ? Json(nullptr) : Json(d.sha256)},
            {"gap", d.gap},
            {"closed", d.closed},
            {"kind", d.kind}};
}

Json network_to_json(const NetworkResult& net) {
    Json j;
    j["capture"] = capture_json(net.capture);

    Json hosts = Json::array();
    for (const HostRecord* h : listed_hosts(net))
        hosts.push_back(host_json(*h));
    std::uint64_t host_count = net.hosts.size() + net.hosts_dropped;
    j["hosts"] = {{"count", host_count},
                  {"count_estimated", net.hosts_dropped > 0},
                  {"dropped", host_count - hosts.size()},
                  {"list", std::move(hosts)}};

    Json flows = Json::array();
    for (const FlowRecord* f : listed_flows(net))
        flows.push_back(flow_json(*f));
    j["flows"] = {{"count", net.flows_total},
                  {"dropped", net.flows_total - flows.size()},
                  {"by_service", net.flows_by_service},
                  {"peak_live", net.peak_live_flows},
                  {"peak_reassembly_bytes", net.peak_reassembly_bytes},
                  {"tcp_gap_bytes", net.tcp_gap_bytes},
                  {"tcp_retransmitted_bytes", net.tcp_retransmitted_bytes},
                  {"list", std::move(flows)}};

    j["dns"] = to_json(net.dns);
    j["http"] = to_json(net.http);
    j["smtp"] = to_json(net.smtp);
    j["irc"] = to_json(net.irc);
    j["tftp"] = to_json(net.tftp);
    j["ftp"] = to_json(net.ftp);
    j["shell"] = to_json(net.shell);

    Json streams = sample_list(net.data_streams.list, data_stream_json);
    const std::size_t omitted = net.data_streams.list.size() - streams.size();
    j["data_streams"] = {{"count", net.data_streams.list.size() + net.data_streams.dropped},
                         {"omitted", omitted},
                         {"dropped", net.data_streams.dropped},
                         {"list", std::move(streams)}};

    Json anomalies = Json::array();
    for (const auto& [name, e] : net.weirds.entries()) {
        Json a;
        a["name"] = name;
        a["analyzer"] = e.analyzer;
        a["count"] = e.count;
        a["first_ts"] = ts_json(e.first_ts);
        a["first_flow"] = e.first_flow == 0 ? Json(nullptr) : Json(e.first_flow);
        if (!e.first_detail.empty())
            a["detail"] = e.first_detail;
        anomalies.push_back(std::move(a));
    }
    j["anomalies"] = std::move(anomalies);
    return j;
}

Json logs_json(const JsonlLogs& logs) {
    Json j = Json::array();
    for (const auto& f : logs.files())
        j.push_back({{"name", f.name}, {"records", f.records}});
    return j;
}

Json pcap_report(const std::string& path, const NetworkResult& net,
                 const analysis::detect::BehaviorResult& behavior, const JsonlLogs* logs,
                 Json stream_signatures) {
    Json j;
    j["schema"] = kSchema;
    j["generator"] = {{"name", "botscope"}, {"version", BOTSCOPE_VERSION}};
    j["kind"] = "pcap";
    j["source"] = {{"path", path}};
    j["network"] = network_to_json(net);
    if (!stream_signatures.is_null())
        j["network"]["signatures"] = std::move(stream_signatures);
    j["behavior"] = behavior_to_json(behavior);
    add_assessment(j);
    if (logs)
        j["logs"] = logs_json(*logs);
    return j;
}

std::string dump(const Json& j) {
    return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace botscope::report
