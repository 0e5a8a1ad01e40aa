#pragma once
// What a report says that a reviewer searches, compares and exports: the sample, the verdict,
// the C&C and its IRC channels and nicks, names looked up, URLs fetched, file hashes and YARA
// rules. One Facts per report; the index (index.h) keeps one per task as a JSON line.
//
// Read from the report's `traits` and `verdict` when it has them (reports since they were
// added), else from its `network`, `behavior`, `task`, `guest` and `signatures` parts. Every
// list is capped at kMaxItems and every text at kMaxText bytes, so one entry stays small
// whatever the report holds.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/json_common.h"

namespace botscope::review {

using report::Json;

inline constexpr std::size_t kMaxItems = 64;  ///< entries of each list in Facts
inline constexpr std::size_t kMaxText = 256;  ///< bytes of each text in Facts

struct CncEndpoint {
    std::string protocol;  ///< irc or http
    std::string ip;
    std::uint16_t port = 0;
    std::vector<std::string> names;  ///< DNS names the sample resolved to `ip`
    /// The sample learned `ip` from DNS in the sandbox, where every name resolves to fakenet's
    /// address: the address says nothing of the real C&C, its name does.
    bool sandbox_address = false;

    /// "10.66.0.1:6667", or "irc.example.net:6667" for a sandbox address: what identifies the
    /// C&C across samples.
    std::string key() const;
    /// "10.66.0.1:6667" ([addr]:port for IPv6).
    std::string endpoint() const;
};

struct Channel {
    std::string name;
    std::string key;     ///< "" when none was given
    std::string server;  ///< the C&C's key() it was joined on, "" when unknown
};

struct FileHash {
    std::string role;  ///< sample, download, dropped
    std::string name;  ///< file name, URL or guest path; may be ""
    std::string sha256;
    std::string md5;  ///< "" when unknown
};

struct Facts {
    std::string id;    ///< the task's id; "" for a report outside the task store
    std::string kind;  ///< task or pcap
    std::string status;
    std::string finished;  ///< as the report says it (ISO 8601)
    double time = 0;       ///< epoch seconds: finished, else started, else the capture's start
    std::string sample_name, sample_sha256, sample_md5;
    std::string machine;
    std::optional<int> score;  ///< verdict.score, 0..10
    std::string level;         ///< verdict.level; "" without a verdict
    std::string family;        ///< verdict.family.name; "" when none
    std::vector<CncEndpoint> cnc;
    std::vector<Channel> channels;
    std::vector<std::string> nicks;
    std::string nick_pattern;          ///< traits.irc.nick_pattern, a regex; "" when none
    std::vector<std::string> domains;  ///< every name looked up
    std::vector<std::string> urls;
    std::vector<FileHash> hashes;
    std::vector<std::string> yara;  ///< rule names that matched (files and streams)
};

/// The facts of a report (either kind). Members of the wrong type are ignored.
Facts extract_facts(const Json& report);

/// One index line's object, and back: nullopt when `j` is not such an object.
Json facts_to_json(const Facts& f);
std::optional<Facts> facts_from_json(const Json& j);

}  // namespace botscope::review
