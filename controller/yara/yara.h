#pragma once
// YARA through libyara: a rule set compiled once from rule trees, and scanners over it.
//
// A rule tree is a directory of .yar/.yara files, the project's own signatures/ or a published
// third-party set. Every folder of a tree is a namespace ("signatures/static"), so that two
// sets may name rules alike. A file that another file includes is compiled through that
// include only, as the sets that ship an index file expect. Rule files are input like any
// other: their number and size are capped, and a compile error names the file and the line.
//
// A scanner belongs to one thread. Every scan has a timeout, and what it reports is capped:
// matches per scan, matched strings per rule, bytes shown per string.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct YR_RULES;
struct YR_SCAN_CONTEXT;  // libyara's YR_SCANNER

namespace botscope::yara {

inline constexpr std::size_t kMaxRuleFiles = 10'000;
inline constexpr std::uintmax_t kMaxRuleFileBytes = 16u << 20;
inline constexpr std::size_t kMaxMatches = 256;              ///< rules reported per scan
inline constexpr std::size_t kMaxStringHits = 32;            ///< matched strings per rule
inline constexpr std::size_t kMaxHitBytes = 32;              ///< bytes shown per matched string
inline constexpr std::uintmax_t kMaxScanBytes = 256u << 20;  ///< a larger file is not scanned

/// A compiler's message or a problem with a rule file, naming where.
struct Diagnostic {
    bool error = true;  ///< false: a warning
    std::string file;
    int line = 0;  ///< 0 when the problem is the file itself
    std::string message;
    std::string text() const;  ///< "file:line: error: message"
};

/// Which files of the trees to compile: rules for files (samples, dropped and downloaded
/// files) or, from the trees' `network` folders, rules for reassembled streams.
enum class Target { kFiles, kStreams, kAll };

class RuleSet {
public:
    ~RuleSet();
    RuleSet(const RuleSet&) = delete;
    RuleSet& operator=(const RuleSet&) = delete;

    /// Compiles the trees (a directory, or a single rule file). Null when anything failed to
    /// compile; `diagnostics` then says what and where, for every file that has an error.
    static std::shared_ptr<const RuleSet> compile(const std::vector<std::filesystem::path>& trees,
                                                  Target target,
                                                  std::vector<Diagnostic>& diagnostics);

    std::size_t rules() const { return names_.size(); }
    /// "namespace:rule" of every rule, in compile order.
    const std::vector<std::string>& rule_names() const { return names_; }
    std::size_t files() const { return files_.size(); }
    const std::vector<std::string>& file_names() const { return files_; }
    YR_RULES* handle() const { return rules_; }

private:
    RuleSet() = default;
    YR_RULES* rules_ = nullptr;
    std::vector<std::string> names_;
    std::vector<std::string> files_;
};

/// What a scan is told about the thing it scans, as the external variables that published
/// rule sets use (filename, filepath, extension, filetype).
struct Externals {
    std::string filename;
    std::string filepath;
    std::string extension;
    std::string filetype;

    static Externals of(const std::filesystem::path& file, std::string filetype = {});
};

struct StringHit {
    std::string id;  ///< "$a"
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    std::string data;  ///< the first kMaxHitBytes matched bytes, as they are
};

struct RuleMatch {
    std::string rule;
    std::string ns;
    std::vector<std::string> tags;
    nlohmann::json meta = nlohmann::json::object();
    std::vector<StringHit> strings;
    std::uint64_t strings_omitted = 0;
};

struct ScanResult {
    enum class Status { kOk, kTimeout, kError };
    Status status = Status::kOk;
    std::string error;  ///< for kError and kTimeout: what happened, for people
    std::vector<RuleMatch> matches;
    std::uint64_t matches_omitted = 0;
    std::vector<std::string> warnings;  ///< e.g. a string with too many matches
};

class Scanner {
public:
    Scanner(std::shared_ptr<const RuleSet> rules, std::chrono::seconds timeout);
    ~Scanner();
    Scanner(const Scanner&) = delete;
    Scanner& operator=(const Scanner&) = delete;

    ScanResult scan(std::span<const std::uint8_t> bytes, const Externals& ext);
    /// A regular file of at most kMaxScanBytes, opened without following a final symlink.
    ScanResult scan_file(const std::filesystem::path& file, const Externals& ext);

private:
    ScanResult run(const Externals& ext, int (*go)(YR_SCAN_CONTEXT*, const void*), const void* arg);

    std::shared_ptr<const RuleSet> rules_;
    YR_SCAN_CONTEXT* scanner_ = nullptr;
    std::string create_error_;
};

nlohmann::json to_json(const RuleMatch& m);
nlohmann::json to_json(const ScanResult& r);
const char* status_name(ScanResult::Status s);

}  // namespace botscope::yara
