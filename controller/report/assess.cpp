// The verdict and the traits (reports/README.md, "The verdict and the traits").

#include "report/assess.h"

#include <algorithm>
#include <map>
#include <set>

#include "report/assess_util.h"

namespace botscope::report {

using namespace assess_detail;

namespace {

// --- verdict --------------------------------------------------------------------------------

/// 0 with no signature; otherwise the worst signature sets the base (twice its severity) and
/// each further one that is more than informative adds a point, two at most: one IRC C&C is 8,
/// a C&C that also floods and scans is 10, a program that only fetched an executable is 4.
int score(const Json& signatures) {
    int worst = 0;
    int notable = 0;
    for (const auto& s : signatures) {
        int sev = static_cast<int>(count(get(s, "severity")));
        worst = std::max(worst, sev);
        if (sev >= 2)
            ++notable;
    }
    if (worst == 0)
        return 0;
    return std::min(10, 2 * worst + std::clamp(notable - 1, 0, 2));
}

std::string level(int score) {
    return score == 0 ? "clean" : score <= 5 ? "suspicious" : "malicious";
}

std::string family_id(const std::string& family) {
    std::string id;
    for (char c : family) {
        if (c == '/' || c == ' ' || c == ',')
            break;
        id += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return id;
}

/// The family YARA names, the most severe rule first: on the sample itself is high
/// confidence, on a dropped file or the traffic medium.
Json yara_family(const Json& report) {
    Json best;
    double best_rank = -1;
    auto consider = [&](const Json& m, const std::string& on, double confidence_rank) {
        // A rule for a kind of bot rather than a family (signatures/README.md) names none.
        std::string family = text(get(m, "meta", "family"));
        if (family.empty() || family == "generic")
            return;
        double rank = confidence_rank * 100 + number(get(m, "meta", "severity"));
        if (rank <= best_rank)
            return;
        best_rank = rank;
        best = {{"name", family_id(family)},
                {"confidence", confidence_rank >= 2 ? "high" : "medium"},
                {"evidence", Json::array({"YARA " + text(get(m, "namespace")) + ":" +
                                          text(get(m, "rule")) + " (" + family + ") on " + on})}};
    };
    for (const auto& scan : list(get(report, "signatures", "scans")))
        for (const auto& m : list(get(scan, "matches")))
            consider(m, text(get(scan, "file")), text(get(scan, "kind")) == "sample" ? 2 : 1);
    const Json& net = get(report, "network", "signatures");
    for (const auto& f : list(get(net, "files")))
        for (const auto& m : list(get(f, "matches")))
            consider(m, text(get(f, "protocol")) + " " + text(get(f, "name")), 1);
    for (const auto& m : list(get(net, "matches")))
        consider(m, "flow " + std::to_string(count(get(m, "flow"))), 1);
    return best;
}

/// Without a YARA match, the command syntax names the family, with low confidence: Agobot's
/// commands are dotted module names (scan.start, harvest.cdkeys, ddos.synflood), RBot's and
/// rxBot's are short verbs (advscan, ddos.syn).
Json behaviour_family(const Json& behavior) {
    std::string agobot, rbot;
    for (const auto& c : list(get(behavior, "commands"))) {
        std::string verb = text(get(c, "verb"));
        bool ago = verb.rfind("scan.", 0) == 0 || verb.rfind("bot.", 0) == 0 ||
                   verb.rfind("harvest.", 0) == 0 || verb.rfind("cvar.", 0) == 0 ||
                   verb == "ddos.synflood" || verb == "ddos.udpflood" || verb == "ddos.httpflood";
        bool rx = verb == "advscan" || verb == "ddos.syn" || verb == "ddos.udp" ||
                  verb == "ddos.ack" || verb == "scanall";
        if (ago && agobot.empty())
            agobot = text(get(c, "text"));
        if (rx && rbot.empty())
            rbot = text(get(c, "text"));
    }
    auto guess = [](const char* name, const std::string& example) {
        return Json{{"name", name},
                    {"confidence", "low"},
                    {"evidence", Json::array({"command syntax: " + example})}};
    };
    if (!agobot.empty())
        return guess("agobot", agobot);
    if (!rbot.empty())
        return guess("rbot", rbot);
    return nullptr;
}

/// Signature names, by the classification entry they support.
struct ClassRule {
    const char* kind;
    bool (*matches)(const std::string& signature);
};

bool starts(const std::string& s, const char* prefix) {
    return s.rfind(prefix, 0) == 0;
}

constexpr ClassRule kSpreading[] = {
    {"network_worm",
     [](const std::string& s) {
         return starts(s, "worm_scan_") || starts(s, "scan_udp_") || s == "download_execute";
     }},
};

constexpr ClassRule kCapabilities[] = {
    {"irc_bot", [](const std::string& s) { return s == "irc_cnc"; }},
    {"http_bot", [](const std::string& s) { return s == "http_beacon" || s == "http_cnc"; }},
    {"dos", [](const std::string& s) { return starts(s, "dos_"); }},
    {"spam_relay", [](const std::string& s) { return s == "spam_run"; }},
    {"downloader", [](const std::string& s) { return s == "downloads_executable"; }},
    {"backdoor",
     [](const std::string& s) { return s == "listening_backdoor" || s == "remote_shell"; }},
    {"infostealer", [](const std::string& s) { return s == "steals_information"; }},
};

template <std::size_t N>
Json classify(const Json& signatures, const ClassRule (&rules)[N]) {
    Json out = Json::array();
    for (const auto& rule : rules) {
        Json evidence = Json::array();
        for (const auto& s : signatures) {
            if (!rule.matches(text(get(s, "name"))))
                continue;
            for (const auto& e : list(get(s, "evidence")))
                if (evidence.size() < 5)
                    add_unique(evidence, text(get(s, "name")) + ": " + text(e));
        }
        if (!evidence.empty())
            out.push_back({{"kind", rule.kind}, {"evidence", std::move(evidence)}});
    }
    return out;
}

bool executable_name(const std::string& name) {
    auto dot = name.rfind('.');
    if (dot == std::string::npos)
        return false;
    std::string ext = family_id(name.substr(dot + 1));
    return ext == "exe" || ext == "pif" || ext == "scr" || ext == "com" || ext == "bat" ||
           ext == "cmd" || ext == "zip" || ext == "vbs";
}

/// A mass mailer sends itself: mail carrying a program, or a YARA rule tagged so.
Json mass_mailer_evidence(const Json& report) {
    Json evidence = Json::array();
    for (const auto& s : list(get(get(report, "network", "smtp"), "sessions")))
        for (const auto& m : list(get(s, "messages")))
            for (const auto& a : list(get(m, "attachments"))) {
                std::string name = text(get(a, "name"), text(a));
                if (executable_name(name) && evidence.size() < 5)
                    add_unique(evidence,
                               "mail to " + endpoint_text(get(s, "resp")) + " carries " + name);
            }
    for (const auto& scan : list(get(report, "signatures", "scans")))
        for (const auto& m : list(get(scan, "matches")))
            for (const auto& tag : list(get(m, "tags")))
                if (text(tag) == "massmailer" && evidence.size() < 5)
                    add_unique(evidence,
                               "YARA " + text(get(m, "rule")) + " on " + text(get(scan, "file")));
    return evidence;
}

Json verdict(const Json& report) {
    Json signatures = behaviour_signatures(report);
    int s = score(signatures);
    Json family = yara_family(report);
    if (family.is_null())
        family = behaviour_family(get(report, "behavior"));
    Json spreading = classify(signatures, kSpreading);
    if (Json mm = mass_mailer_evidence(report); !mm.empty())
        spreading.push_back({{"kind", "mass_mailer"}, {"evidence", std::move(mm)}});
    Json classification = {{"spreading", std::move(spreading)},
                           {"capabilities", classify(signatures, kCapabilities)}};
    return {{"score", s},
            {"level", level(s)},
            {"family", std::move(family)},
            {"signatures", std::move(signatures)},
            {"classification", std::move(classification)}};
}

}  // namespace

Json assess(const Json& report) {
    Json traits_part = traits(report);
    return {{"verdict", verdict(report)}, {"traits", std::move(traits_part)}};
}

void add_assessment(Json& report) {
    Json a = assess(report);
    report["verdict"] = std::move(a["verdict"]);
    report["traits"] = std::move(a["traits"]);
}

}  // namespace botscope::report
