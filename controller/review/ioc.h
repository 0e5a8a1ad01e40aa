#pragma once
// Indicators across reports, for the tools that look for infected hosts: C&C endpoints and
// their DNS names, IRC channels with their keys, nicks and nick patterns, URLs fetched, file
// hashes; each with when it was first and last seen (the times of the reports that show it)
// and how many samples show it. Samples that share a C&C endpoint, a C&C name, or a channel on
// the same server are one botnet: a cluster (union-find over those links).
//
// The writers of each format are in ioc_format.h.

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "review/facts.h"

namespace botscope::review {

/// Indicator types, stable names (the `type` column of every format).
///   cnc           address:port of a C&C the sample dialled (not one the sandbox's DNS gave)
///   cnc_domain    a DNS name of a C&C
///   irc_channel   a channel joined on a C&C (context: key, server)
///   irc_nick      a nick used (when the report has no nick pattern)
///   irc_nick_pattern  a regular expression over a sample's nicks (the verdict's traits)
///   url           a URL fetched
///   sha256, md5   of the sample, a download or a dropped file (context: role, name)
struct Indicator {
    std::string type;
    std::string value;
    std::string protocol;  ///< cnc, cnc_domain: irc or http; "" otherwise
    std::map<std::string, std::set<std::string>> context;  ///< key, server, port, role, name...
    double first_seen = 0, last_seen = 0;
    std::set<std::string> samples;   ///< sample ids (sha256, else "task:<id>")
    std::set<std::string> families;  ///< verdict families of those samples
    std::set<int> clusters;          ///< ids of the clusters its samples are in
};

struct Sample {
    std::string id;  ///< sha256, else "task:<id>"
    std::string name;
    std::string family;
    double first_seen = 0, last_seen = 0;
    std::set<std::string> tasks;
    int cluster = 0;  ///< 0: no C&C seen
};

struct Cluster {
    int id = 0;  ///< 1.., in order of first seen
    std::vector<std::string> samples;
    /// What ties them: "cnc 10.66.0.1:6667", "cnc_domain irc.example.net",
    /// "irc_channel #bots on 10.66.0.1:6667", each with the samples that show it.
    std::map<std::string, std::set<std::string>> links;
    std::set<std::string> families;
    double first_seen = 0, last_seen = 0;
};

struct IocSet {
    std::vector<Indicator> indicators;  ///< by type, then value
    std::map<std::string, Sample> samples;
    std::vector<Cluster> clusters;
    std::size_t reports = 0;  ///< reports taken in
    std::optional<double> since;
};

/// The indicators of the reports finished at or after `since`.
IocSet collect_iocs(const std::vector<Facts>& reports, std::optional<double> since = {});

}  // namespace botscope::review
