// The behavioural signatures: each a named conclusion a reader can check, with the evidence
// behind it taken from the report's own findings (reports/README.md lists them).

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "report/assess.h"
#include "report/assess_util.h"

namespace botscope::report {

using namespace assess_detail;

namespace {

/// Verbs of the era's bots that harvest what the user owns: CD keys, the protected store,
/// keystrokes, mail addresses.
bool stealer_verb(std::string_view verb) {
    static constexpr std::array<std::string_view, 12> kVerbs = {
        "getcdkeys",      "cdkeys", "harvest.cdkeys", "harvest.emails", "harvest.aol", "pstore",
        "harvest.pstore", "keylog", "keylogger",      "findpass",       "passwords",   "clipboard"};
    return std::find(kVerbs.begin(), kVerbs.end(), verb) != kVerbs.end();
}

class Builder {
public:
    void add(std::string name, int severity, std::string description, std::string evidence) {
        for (auto& s : out_) {
            if (s["name"] == name) {
                add_unique(s["evidence"], std::move(evidence));
                s["severity"] = std::max(s["severity"].get<int>(), severity);
                return;
            }
        }
        out_.push_back({{"name", std::move(name)},
                        {"severity", severity},
                        {"description", std::move(description)},
                        {"evidence", Json::array({std::move(evidence)})}});
    }

    Json take() {
        std::stable_sort(out_.begin(), out_.end(), [](const Json& a, const Json& b) {
            return a["severity"].get<int>() > b["severity"].get<int>();
        });
        Json list = Json::array();
        for (auto& s : out_)
            list.push_back(std::move(s));
        return list;
    }

private:
    std::vector<Json> out_;
};

std::string flows_text(const Json& finding) {
    const Json& ev = get(finding, "evidence");
    const Json& flows = list(get(ev, "flows"));
    if (flows.empty())
        return "";
    std::string s = " (flow";
    s += flows.size() > 1 ? "s " : " ";
    for (std::size_t i = 0; i < flows.size() && i < 3; ++i)
        s += (i ? "," : "") + std::to_string(count(flows[i]));
    if (count(get(ev, "flows_total")) > 3)
        s += ",... of " + std::to_string(count(get(ev, "flows_total")));
    return s + ")";
}

void irc_signatures(const Json& behavior, Builder& b) {
    for (const auto& c : list(get(behavior, "cnc", "irc"))) {
        std::string where = endpoint_text(get(c, "server"));
        std::string ev = "IRC to " + where;
        if (get(c, "server_name").is_string())
            ev += " (" + text(get(c, "server_name")) + ")";
        ev += " as " + text(get(c, "nick"), "?");
        for (const auto& ch : list(get(c, "channels")))
            ev += " " + text(ch);
        ev += ", " + std::to_string(count(get(c, "commands"))) + " commands (flow " +
              std::to_string(count(get(c, "flow"))) + ")";
        // A person chatting speaks IRC too: it is a C&C once orders arrived over it.
        if (count(get(c, "commands")) > 0)
            b.add("irc_cnc", 4, "takes orders from an IRC server (a channel its bots share)", ev);
        else
            b.add("irc_session", 2, "joins an IRC server (no bot command seen)", ev);
        if (!standard_irc_port(count(get(c, "server", "port"))))
            b.add("irc_cnc_nonstandard_port", 2,
                  "its IRC controller listens off the IRC ports, to pass filters", where);
    }
}

void command_signatures(const Json& behavior, Builder& b) {
    for (const auto& c : list(get(behavior, "commands"))) {
        std::string via = text(get(c, "via"));
        std::string ev =
            text(get(c, "text")) + " (" + via + ", from " + text(get(c, "from"), "?") + ")";
        b.add("bot_commands", 3, "received commands in a bot's command syntax", ev);
        if (via == "http")
            b.add("http_cnc", 4, "takes orders from the replies of a web server it polls", ev);
        if (stealer_verb(text(get(c, "verb"))))
            b.add("steals_information", 4,
                  "was told to harvest keys, passwords or addresses from the host", ev);
    }
    for (const auto& h : list(get(behavior, "cnc", "http_beacons")))
        b.add("http_beacon", 3, "polls a web server at a regular period, as HTTP bots check in",
              endpoint_text(get(h, "server")) + " " + text(get(h, "host")) +
                  text(get(h, "uri_pattern")) + " every " +
                  std::to_string(static_cast<long long>(number(get(h, "period")))) + " s, " +
                  std::to_string(count(get(h, "requests"))) + " requests");
}

void traffic_signatures(const Json& behavior, Builder& b) {
    for (const auto& f : list(get(behavior, "floods"))) {
        std::string kind = text(get(f, "kind"), "unknown");
        std::string ev = kind + " flood on " + text(get(f, "target")) + ": " +
                         std::to_string(count(get(f, "packets"))) + " packets, peak " +
                         std::to_string(static_cast<long long>(number(get(f, "peak_pps")))) +
                         " pps from " + std::to_string(count(get(f, "sources"))) + " sources" +
                         flows_text(f);
        b.add("dos_" + kind + "_flood", 4, "floods a target (denial of service)", ev);
    }
    for (const auto& s : list(get(behavior, "scans"))) {
        std::string kind = text(get(s, "kind"));
        std::string transport = text(get(s, "transport"), "tcp");
        std::string ranges;
        for (const auto& r : list(get(s, "target_ranges")))
            ranges += " " + text(r);
        std::string ev = text(get(s, "scanner")) + " probed " +
                         std::to_string(count(get(s, "targets"))) + " addresses" + ranges +
                         flows_text(s);
        if (kind == "vertical") {
            b.add("port_scan", 3, "probes many ports of one host", ev);
            continue;
        }
        std::size_t n = 0;
        for (const auto& p : list(get(s, "ports"))) {
            if (++n > 5)
                break;
            std::string name = (transport == "udp" ? "scan_udp_" : "worm_scan_") +
                               std::to_string(count(get(p, "port")));
            b.add(name, 4, "scans many addresses on one port, as a worm looks for hosts to infect",
                  ev);
        }
    }
    for (const auto& s : list(get(behavior, "spam_runs")))
        b.add("spam_run", 4, "sends mail to many servers (spam relay or mass mailer)",
              text(get(s, "client")) + ": " + std::to_string(count(get(s, "messages"))) +
                  " messages to " + std::to_string(count(get(s, "servers"))) + " servers after " +
                  std::to_string(count(get(s, "mx_lookups"))) + " MX lookups" + flows_text(s));
}

void transfer_signatures(const Json& behavior, Builder& b) {
    for (const auto& d : list(get(behavior, "downloads")))
        b.add("downloads_executable", 2, "fetched a program over the network",
              text(get(d, "protocol")) + " " + text(get(d, "url"), text(get(d, "name"), "?")) +
                  " (" + text(get(d, "kind"), "?") + ", " + std::to_string(count(get(d, "size"))) +
                  " bytes)");
    for (const auto& r : list(get(behavior, "remote_shells"))) {
        std::string ev = text(get(r, "shell"), "shell") + " driven by " +
                         text(get(r, "controller"), "?") + " (flow " +
                         std::to_string(count(get(r, "flow"))) + ")";
        b.add("remote_shell", 4, "a command shell driven over the network", ev);
        if (get(r, "download_execute") == true)
            b.add("download_execute", 5, "a shell fetched a file and started it, as worms spread",
                  ev);
    }
}

void guest_signatures(const Json& guest, Builder& b) {
    for (const auto& a : list(get(guest, "autostart")))
        b.add("autostart_added", 2, "made itself start with the system",
              text(get(a, "kind")) + " " + text(get(a, "location")) + " " + text(get(a, "name")) +
                  " = " + text(get(a, "value")) + " (" + text(get(a, "status")) + ")");
    for (const auto& l : list(get(guest, "listening"))) {
        std::string addr = text(get(l, "address"));
        bool loopback = addr.rfind("127.", 0) == 0 || addr == "::1";
        if (get(l, "in_tree") != true || loopback)
            continue;
        b.add("listening_backdoor", 2, "listens for connections from the network",
              text(get(l, "proto"), "tcp") + " " + addr + ":" +
                  std::to_string(count(get(l, "port"))) + " by " + text(get(l, "image"), "?") +
                  " (pid " + std::to_string(count(get(l, "pid"))) + ")");
    }
}

/// A rule's `severity` meta is 1 to 10, as published rule sets write it; signatures are 1 to 5.
int yara_severity(const Json& match) {
    const Json& s = get(match, "meta", "severity");
    if (!s.is_number())
        return 3;
    return std::clamp(static_cast<int>((number(s) + 1) / 2), 1, 5);
}

std::string match_text(const Json& m, const std::string& on) {
    std::string family = text(get(m, "meta", "family"));
    return text(get(m, "namespace")) + ":" + text(get(m, "rule")) +
           (family.empty() ? "" : " (" + family + ")") + " on " + on;
}

void yara_signatures(const Json& report, Builder& b) {
    for (const auto& scan : list(get(report, "signatures", "scans")))
        for (const auto& m : list(get(scan, "matches")))
            b.add("yara_match", yara_severity(m),
                  "a YARA rule matched the sample or a file it dropped or downloaded",
                  match_text(m, text(get(scan, "file"))));
    for (const auto& f : list(get(get(report, "network", "signatures"), "files")))
        for (const auto& m : list(get(f, "matches")))
            b.add("yara_match", yara_severity(m),
                  "a YARA rule matched the sample or a file it dropped or downloaded",
                  match_text(m, text(get(f, "protocol")) + " " + text(get(f, "name"))));
    for (const auto& m : list(get(get(report, "network", "signatures"), "matches")))
        b.add("yara_network_match", yara_severity(m), "a YARA rule matched its network traffic",
              match_text(
                  m, "flow " + std::to_string(count(get(m, "flow"))) + " " + text(get(m, "dir"))));
}

}  // namespace

Json behaviour_signatures(const Json& report) {
    Builder b;
    const Json& behavior = get(report, "behavior");
    irc_signatures(behavior, b);
    command_signatures(behavior, b);
    traffic_signatures(behavior, b);
    transfer_signatures(behavior, b);
    guest_signatures(get(report, "guest"), b);
    yara_signatures(report, b);
    return b.take();
}

}  // namespace botscope::report
