#include "report/behavior_json.h"

#include <cmath>
#include <functional>
#include <string>
#include <string_view>

#include "analysis/detect/config.h"
#include "analysis/distinct_count.h"

namespace botscope::report {

namespace {

using namespace analysis::detect;

/// Rates rounded to a thousandth: enough for a reader, and short in the file.
Json rate(double v) {
    return std::round(v * 1000) / 1000;
}

Json rate(const std::optional<double>& v) {
    return v ? rate(*v) : Json(nullptr);
}

Json duration_json(analysis::Timestamp start, analysis::Timestamp end) {
    return rate(static_cast<double>(end - start) / 1e9);
}

Json volume_json(const Volume& v) {
    Json j;
    j["start"] = ts_json(v.start);
    j["end"] = ts_json(v.end);
    j["duration"] = duration_json(v.start, v.end);
    j["packets"] = v.packets;
    j["bytes"] = v.bytes;
    j["mean_pps"] = rate(v.mean_pps);
    j["peak_pps"] = rate(v.peak_pps);
    j["mean_bps"] = rate(v.mean_bps);
    j["peak_bps"] = rate(v.peak_bps);
    j["packet_numbers"] = {{"first", v.first_packet}, {"last", v.last_packet}};
    return j;
}

Json thresholds_json(const Config& c) {
    Json j = Json::object();
    for (const auto& t : thresholds())
        j[std::string(t.name)] = threshold_value(c, t.name);
    return j;
}

}  // namespace

Json flood_json(const Flood& f) {
    Json j;
    j["kind"] = f.kind;
    j["target"] = f.target.to_string();
    Json ports = Json::array();
    for (auto p : f.ports)
        ports.push_back(p);
    j["ports"] = std::move(ports);
    j["ports_total"] = f.ports_total;
    Json v = volume_json(f.volume);
    for (auto it = v.begin(); it != v.end(); ++it)
        j[it.key()] = it.value();
    j["onset"] = ts_json(f.onset != 0 ? f.onset : f.volume.start);
    j["events"] = f.events;
    j["peak_events_per_second"] = rate(f.peak_events_per_second);
    j["sources"] = f.sources;
    if (f.sources_estimated) {
        j["sources_estimated"] = true;
        j["sources_error"] = analysis::DistinctCounter::kRelativeError;
    }
    j["spoofed_sources"] = f.spoofed_sources ? Json(*f.spoofed_sources) : Json(nullptr);
    j["connections"] = f.connections;
    j["handshakes"] = f.handshakes;
    j["replies"] = f.replies;
    if (f.reflection)
        j["reflection"] = {{"port", f.reflection->port}, {"reflectors", f.reflection->reflectors}};
    else
        j["reflection"] = nullptr;
    j["evidence"] = evidence_json(f.evidence);
    j["command"] = command_ref_json(f.command);
    return j;
}

Json scan_json(const Scan& s) {
    Json j;
    j["kind"] = s.kind;
    j["scanner"] = s.scanner.to_string();
    j["transport"] = analysis::transport_name(s.transport);
    Json ports = Json::array();
    for (const auto& [port, n] : s.ports)
        ports.push_back({{"port", port}, {"targets", n}});
    j["ports"] = std::move(ports);
    j["ports_total"] = s.ports_total;
    j["targets"] = s.targets;
    Json ranges = Json::array();
    for (const auto& r : s.ranges)
        ranges.push_back(r.first == r.last ? r.first.to_string()
                                           : r.first.to_string() + "-" + r.last.to_string());
    j["target_ranges"] = std::move(ranges);
    j["probes"] = s.probes;
    j["unproductive"] = s.unproductive;
    j["start"] = ts_json(s.volume.start);
    j["end"] = ts_json(s.volume.end);
    j["duration"] = duration_json(s.volume.start, s.volume.end);
    j["packets"] = s.volume.packets;
    j["bytes"] = s.volume.bytes;
    j["mean_probes_per_second"] = rate(s.volume.mean_pps);
    j["peak_probes_per_second"] = rate(s.volume.peak_pps);
    j["packet_numbers"] = {{"first", s.volume.first_packet}, {"last", s.volume.last_packet}};
    j["targets_answered"] = s.targets_answered;
    Json open = Json::array();
    for (const auto& e : s.open)
        open.push_back(endpoint_json(e));
    j["open"] = std::move(open);
    j["open_total"] = s.open_total;
    j["icmp_errors"] = s.icmp_errors;
    j["evidence"] = evidence_json(s.evidence);
    j["command"] = command_ref_json(s.command);
    return j;
}

Json command_json(const BotCommand& c) {
    Json j;
    j["ts"] = ts_json(c.ts);
    j["via"] = c.via;
    j["where"] = c.where;
    j["flow"] = c.flow;
    j["from"] = c.from;
    j["target"] = c.target;
    j["text"] = c.text;
    j["verb"] = c.verb;
    j["args"] = c.args;
    j["category"] = c.category;
    Json refs = Json::array();
    for (const auto& r : c.followed_by)
        refs.push_back({{"section", r.section},
                        {"index", r.index},
                        {"delay", duration_json(0, r.delay)},
                        {"target_matched", r.target_matched},
                        {"count", r.count},
                        {"last_delay", duration_json(0, r.last_delay)}});
    j["followed_by"] = std::move(refs);
    return j;
}

namespace {

Json irc_cnc_json(const IrcCnc& c) {
    return {{"flow", c.flow},
            {"client", endpoint_json(c.client)},
            {"server", endpoint_json(c.server)},
            {"server_name", c.server_name},
            {"nick", c.nick},
            {"channels", c.channels},
            {"start", ts_json(c.start)},
            {"end", ts_json(c.end)},
            {"commands", c.commands}};
}

/// Calls `fn(name, list, to_json)` for each list of findings, in the report's order.
template <typename Fn>
void each_section(const BehaviorResult& b, Fn&& fn) {
    fn("commands", b.commands, command_json);
    fn("cnc.irc", b.irc, irc_cnc_json);
    fn("cnc.http_beacons", b.beacons, beacon_json);
    fn("floods", b.floods, flood_json);
    fn("scans", b.scans, scan_json);
    fn("spam_runs", b.spam_runs, spam_run_json);
    fn("downloads", b.downloads, download_json);
    fn("remote_shells", b.remote_shells, remote_shell_json);
}

}  // namespace

void behavior_records(const BehaviorResult& b,
                      const std::function<void(const char*, std::size_t, Json)>& sink) {
    each_section(b, [&](const char* section, const auto& items, auto&& to_json) {
        for (std::size_t i = 0; i < items.size(); ++i)
            sink(section, i, to_json(items[i]));
    });
}

Json behavior_to_json(const BehaviorResult& b) {
    Json j;
    Json hosts = Json::array();
    for (const auto& h : b.hosts)
        hosts.push_back(h.to_string());
    j["analysed_hosts"] = std::move(hosts);
    j["analysed_hosts_inferred"] = b.hosts_inferred;
    each_section(b, [&](std::string_view section, const auto& items, auto&& to_json) {
        Json* parent = &j;
        if (section.starts_with("cnc.")) {
            parent = &j["cnc"];
            section.remove_prefix(4);
        }
        const std::string key(section);
        Json sample = sample_list(items, to_json, kBehaviorSampleBytes);
        const std::size_t omitted = items.size() - sample.size();
        (*parent)[key] = std::move(sample);
        if (omitted > 0)
            (*parent)[key + "_omitted"] = omitted;
    });
    j["findings_dropped"] = b.dropped;
    j["thresholds"] = thresholds_json(b.config);
    return j;
}

}  // namespace botscope::report
