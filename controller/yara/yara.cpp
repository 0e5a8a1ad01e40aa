#include "yara/yara.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yara.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <string_view>
#include <system_error>

namespace botscope::yara {

namespace fs = std::filesystem;

namespace {

/// libyara is initialised once per process and never finalised: scanners may live until exit.
bool library_ready(std::string& error) {
    static std::once_flag once;
    static int rc = ERROR_SUCCESS;
    std::call_once(once, [] { rc = yr_initialize(); });
    if (rc != ERROR_SUCCESS)
        error = "libyara failed to initialise (error " + std::to_string(rc) + ")";
    return rc == ERROR_SUCCESS;
}

const char* const kExternals[] = {"filename", "filepath", "extension", "filetype"};

bool rule_file(const fs::path& p) {
    auto ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".yar" || ext == ".yara";
}

/// The files a rule file includes, resolved as libyara does (relative to the including file).
std::vector<fs::path> includes_of(const fs::path& file) {
    std::vector<fs::path> out;
    std::error_code ec;
    if (fs::file_size(file, ec) > kMaxRuleFileBytes || ec)
        return out;  // refused when it is added, with the reason
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        std::string_view v = line;
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
            v.remove_prefix(1);
        if (!v.starts_with("include"))
            continue;
        v.remove_prefix(7);
        std::size_t open = v.find_first_not_of(" \t");
        if (open == std::string_view::npos || open == 0 || v[open] != '"')
            continue;
        std::size_t close = v.find('"', open + 1);
        if (close == std::string_view::npos)
            continue;
        fs::path inc(v.substr(open + 1, close - open - 1));
        if (inc.is_relative())
            inc = file.parent_path() / inc;
        std::error_code ec;
        fs::path canon = fs::weakly_canonical(inc, ec);
        out.push_back(ec ? inc : canon);
    }
    return out;
}

struct Source {
    fs::path file;
    std::string ns;
};

/// The rule files of `tree` for `target`, each with its namespace, in a stable order.
bool collect(const fs::path& tree, Target target, std::vector<Source>& out,
             std::vector<Diagnostic>& diags) {
    std::error_code ec;
    auto status = fs::status(tree, ec);
    if (ec || !fs::exists(status)) {
        diags.push_back({true, tree.string(), 0, "no such file or directory"});
        return false;
    }
    fs::path abs = fs::absolute(tree).lexically_normal();
    if (abs.filename().empty())  // "dir/"
        abs = abs.parent_path();
    const std::string root_name = abs.filename().string();
    if (fs::is_regular_file(status)) {
        if (target != Target::kStreams)  // a lone file holds rules for files
            out.push_back({tree, fs::path(root_name).stem().string()});
        return true;  // add_file checks its size
    }
    if (!fs::is_directory(status)) {
        diags.push_back({true, tree.string(), 0, "neither a rule file nor a directory"});
        return false;
    }
    std::vector<Source> found;
    fs::recursive_directory_iterator it(tree, fs::directory_options::none, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        std::error_code entry_ec;  // a broken link in a published set is no reason to stop
        if (!it->is_regular_file(entry_ec) || !rule_file(it->path()))
            continue;
        if (it->file_size(entry_ec) > kMaxRuleFileBytes) {
            diags.push_back({true, it->path().string(), 0,
                             "larger than " + std::to_string(kMaxRuleFileBytes >> 20) +
                                 " MiB, not a rule file botscope reads"});
            return false;
        }
        fs::path rel = it->path().parent_path().lexically_relative(tree);
        bool network = root_name == "network";
        for (const auto& part : rel)
            network |= part == "network";
        if ((target == Target::kFiles && network) || (target == Target::kStreams && !network))
            continue;
        std::string ns = root_name;
        if (!rel.empty() && rel != ".")
            ns += "/" + rel.generic_string();
        found.push_back({it->path(), ns});
        if (found.size() > kMaxRuleFiles) {
            diags.push_back({true, tree.string(), 0,
                             "more than " + std::to_string(kMaxRuleFiles) + " rule files"});
            return false;
        }
    }
    if (ec) {
        diags.push_back({true, tree.string(), 0, ec.message()});
        return false;
    }
    std::sort(found.begin(), found.end(),
              [](const Source& a, const Source& b) { return a.file < b.file; });
    out.insert(out.end(), found.begin(), found.end());
    return true;
}

struct CompileContext {
    std::vector<Diagnostic>* diags;
    std::string file;  // the file being added, when libyara names none
};

void on_compile_message(int level, const char* file, int line, const YR_RULE*, const char* msg,
                        void* user) {
    auto* c = static_cast<CompileContext*>(user);
    c->diags->push_back(
        {level == YARA_ERROR_LEVEL_ERROR, file ? file : c->file, line, msg ? msg : "(no message)"});
}

/// A compiler with the external variables defined; null (and a diagnostic) when it fails.
YR_COMPILER* new_compiler(CompileContext& ctx) {
    YR_COMPILER* c = nullptr;
    if (yr_compiler_create(&c) != ERROR_SUCCESS) {
        ctx.diags->push_back({true, "", 0, "libyara could not make a compiler (out of memory)"});
        return nullptr;
    }
    yr_compiler_set_callback(c, on_compile_message, &ctx);
    for (const char* name : kExternals)
        yr_compiler_define_string_variable(c, name, "");
    return c;
}

/// Adds one file; false when it has errors (reported through the callback).
bool add_file(YR_COMPILER* c, const Source& s, CompileContext& ctx) {
    std::error_code ec;
    auto size = fs::file_size(s.file, ec);
    if (ec) {
        ctx.diags->push_back({true, s.file.string(), 0, ec.message()});
        return false;
    }
    if (size > kMaxRuleFileBytes) {
        ctx.diags->push_back({true, s.file.string(), 0,
                              "larger than " + std::to_string(kMaxRuleFileBytes >> 20) +
                                  " MiB, not a rule file botscope reads"});
        return false;
    }
    std::FILE* fp = std::fopen(s.file.c_str(), "re");
    if (!fp) {
        ctx.diags->push_back({true, s.file.string(), 0, std::strerror(errno)});
        return false;
    }
    ctx.file = s.file.string();
    int errors = yr_compiler_add_file(c, fp, s.ns.c_str(), s.file.c_str());
    std::fclose(fp);
    return errors == 0;
}

}  // namespace

std::string Diagnostic::text() const {
    std::string s = file;
    if (line > 0)
        s += ":" + std::to_string(line);
    return s + (s.empty() ? "" : ": ") + (error ? "error: " : "warning: ") + message;
}

RuleSet::~RuleSet() {
    if (rules_)
        yr_rules_destroy(rules_);
}

std::shared_ptr<const RuleSet> RuleSet::compile(const std::vector<fs::path>& trees, Target target,
                                                std::vector<Diagnostic>& diagnostics) {
    std::string init_error;
    if (!library_ready(init_error)) {
        diagnostics.push_back({true, "", 0, init_error});
        return nullptr;
    }
    std::vector<Source> sources;
    bool ok = true;
    for (const auto& t : trees)
        ok &= collect(t, target, sources, diagnostics);
    // A file another one includes is compiled through that include only.
    std::set<fs::path> included;
    for (const auto& s : sources)
        for (auto& inc : includes_of(s.file))
            included.insert(std::move(inc));
    std::erase_if(sources, [&included](const Source& s) {
        std::error_code ec;
        fs::path canon = fs::weakly_canonical(s.file, ec);
        return included.count(ec ? s.file : canon) > 0;
    });

    CompileContext ctx{&diagnostics, {}};
    YR_COMPILER* compiler = new_compiler(ctx);
    if (!compiler)
        return nullptr;
    std::shared_ptr<RuleSet> set(new RuleSet());
    std::size_t i = 0;
    for (; ok && i < sources.size(); ++i) {
        if (!add_file(compiler, sources[i], ctx))
            ok = false;
        else
            set->files_.push_back(sources[i].file.string());
    }
    // A compiler takes nothing more after an error: the rest are checked one by one, each
    // in a compiler of its own, so that every broken file is named.
    for (; i < sources.size(); ++i) {
        CompileContext alone{&diagnostics, {}};
        if (YR_COMPILER* c = new_compiler(alone)) {
            add_file(c, sources[i], alone);
            yr_compiler_destroy(c);
        }
    }
    if (ok && yr_compiler_get_rules(compiler, &set->rules_) != ERROR_SUCCESS) {
        diagnostics.push_back({true, "", 0, "libyara could not build the rules (out of memory)"});
        ok = false;
    }
    yr_compiler_destroy(compiler);
    if (!ok)
        return nullptr;
    YR_RULE* rule;
    yr_rules_foreach(set->rules_, rule) {
        set->names_.push_back(std::string(rule->ns->name) + ":" + rule->identifier);
    }
    return set;
}

Externals Externals::of(const fs::path& file, std::string filetype) {
    Externals e;
    e.filename = file.filename().string();
    e.filepath = file.parent_path().string();
    e.extension = file.extension().string();
    if (!e.extension.empty() && e.extension[0] == '.')
        e.extension.erase(0, 1);
    e.filetype = std::move(filetype);
    return e;
}

namespace {

struct ScanContext {
    ScanResult* out;
};

void add_match(YR_SCAN_CONTEXT* context, const YR_RULE* rule, ScanResult& out) {
    if (out.matches.size() >= kMaxMatches) {
        ++out.matches_omitted;
        return;
    }
    RuleMatch m;
    m.rule = rule->identifier;
    m.ns = rule->ns->name;
    const char* tag;
    yr_rule_tags_foreach(rule, tag) {
        m.tags.emplace_back(tag);
    }
    const YR_META* meta;
    yr_rule_metas_foreach(rule, meta) {
        switch (meta->type) {
            case META_TYPE_INTEGER:
                m.meta[meta->identifier] = meta->integer;
                break;
            case META_TYPE_BOOLEAN:
                m.meta[meta->identifier] = meta->integer != 0;
                break;
            default:
                // Rule text is not guaranteed UTF-8; the JSON writer replaces what is not.
                m.meta[meta->identifier] = meta->string ? meta->string : "";
                break;
        }
    }
    const YR_STRING* string;
    yr_rule_strings_foreach(rule, string) {
        // libyara packs its matches without regard to alignment (UBSan says so), so each is
        // copied out rather than read in place, and the list walked by hand.
        for (const YR_MATCH* p = context->matches[string->idx].head; p != nullptr;) {
            YR_MATCH match;
            std::memcpy(&match, p, sizeof match);
            p = match.next;
            if (match.is_private)
                continue;
            if (m.strings.size() >= kMaxStringHits) {
                ++m.strings_omitted;
                continue;
            }
            StringHit h;
            h.id = string->identifier;
            h.offset = static_cast<std::uint64_t>(match.base + match.offset);
            h.length = static_cast<std::uint32_t>(match.match_length);
            auto n =
                std::min<std::size_t>(static_cast<std::size_t>(match.data_length), kMaxHitBytes);
            h.data.assign(reinterpret_cast<const char*>(match.data), n);
            m.strings.push_back(std::move(h));
        }
    }
    out.matches.push_back(std::move(m));
}

int on_scan_message(YR_SCAN_CONTEXT* context, int message, void* data, void* user) {
    ScanResult& out = *static_cast<ScanContext*>(user)->out;
    switch (message) {
        case CALLBACK_MSG_RULE_MATCHING:
            add_match(context, static_cast<const YR_RULE*>(data), out);
            break;
        case CALLBACK_MSG_TOO_MANY_MATCHES: {
            const auto* s = static_cast<const YR_STRING*>(data);
            if (out.warnings.size() < 16)
                out.warnings.push_back(std::string("string ") + s->identifier +
                                       " has too many matches; the rest were not counted");
            break;
        }
        default:
            break;
    }
    return CALLBACK_CONTINUE;
}

struct MemArg {
    std::span<const std::uint8_t> bytes;
};

int scan_mem(YR_SCANNER* s, const void* arg) {
    const auto* a = static_cast<const MemArg*>(arg);
    return yr_scanner_scan_mem(s, a->bytes.data(), a->bytes.size());
}

int scan_fd(YR_SCANNER* s, const void* arg) {
    return yr_scanner_scan_fd(s, *static_cast<const int*>(arg));
}

}  // namespace

Scanner::Scanner(std::shared_ptr<const RuleSet> rules, std::chrono::seconds timeout)
    : rules_(std::move(rules)) {
    if (!library_ready(create_error_))
        return;
    if (!rules_ || yr_scanner_create(rules_->handle(), &scanner_) != ERROR_SUCCESS) {
        create_error_ = "libyara could not make a scanner";
        scanner_ = nullptr;
        return;
    }
    yr_scanner_set_timeout(scanner_, static_cast<int>(std::max<std::int64_t>(1, timeout.count())));
}

Scanner::~Scanner() {
    if (scanner_)
        yr_scanner_destroy(scanner_);
}

ScanResult Scanner::run(const Externals& ext, int (*go)(YR_SCANNER*, const void*),
                        const void* arg) {
    ScanResult r;
    if (!scanner_) {
        r.status = ScanResult::Status::kError;
        r.error = create_error_;
        return r;
    }
    yr_scanner_define_string_variable(scanner_, "filename", ext.filename.c_str());
    yr_scanner_define_string_variable(scanner_, "filepath", ext.filepath.c_str());
    yr_scanner_define_string_variable(scanner_, "extension", ext.extension.c_str());
    yr_scanner_define_string_variable(scanner_, "filetype", ext.filetype.c_str());
    ScanContext ctx{&r};
    yr_scanner_set_callback(scanner_, on_scan_message, &ctx);
    int rc = go(scanner_, arg);
    if (rc == ERROR_SCAN_TIMEOUT) {
        r.status = ScanResult::Status::kTimeout;
        r.error = "the scan ran past its timeout; the matches so far are kept";
    } else if (rc != ERROR_SUCCESS) {
        r.status = ScanResult::Status::kError;
        r.error = "libyara error " + std::to_string(rc);
        if (rc == ERROR_INSUFFICIENT_MEMORY)
            r.error += " (out of memory)";
        else if (rc == ERROR_COULD_NOT_MAP_FILE)
            r.error += " (could not map the file)";
    }
    return r;
}

ScanResult Scanner::scan(std::span<const std::uint8_t> bytes, const Externals& ext) {
    // libyara guards each scan against SIGBUS from a mapped file that shrinks under it, at two
    // sigaction and two sigprocmask calls a scan: a third of the time on a capture of many
    // short streams. Bytes in our own heap cannot fault so.
    if (scanner_)
        yr_scanner_set_flags(scanner_, SCAN_FLAGS_NO_TRYCATCH);
    MemArg a{bytes};
    return run(ext, scan_mem, &a);
}

ScanResult Scanner::scan_file(const fs::path& file, const Externals& ext) {
    ScanResult r;
    if (scanner_)
        yr_scanner_set_flags(scanner_, 0);
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        r.status = ScanResult::Status::kError;
        r.error = file.string() + ": " + std::strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
        r.status = ScanResult::Status::kError;
        r.error = file.string() + ": not a regular file";
    } else if (static_cast<std::uintmax_t>(st.st_size) > kMaxScanBytes) {
        r.status = ScanResult::Status::kError;
        r.error = file.string() + ": larger than " + std::to_string(kMaxScanBytes >> 20) +
                  " MiB, not scanned";
    } else {
        r = run(ext, scan_fd, &fd);
    }
    if (fd >= 0)
        ::close(fd);
    return r;
}

const char* status_name(ScanResult::Status s) {
    switch (s) {
        case ScanResult::Status::kOk:
            return "ok";
        case ScanResult::Status::kTimeout:
            return "timeout";
        case ScanResult::Status::kError:
            return "error";
    }
    return "error";
}

nlohmann::json to_json(const RuleMatch& m) {
    nlohmann::json j;
    j["rule"] = m.rule;
    j["namespace"] = m.ns;
    j["tags"] = m.tags;
    j["meta"] = m.meta;
    auto& strings = j["strings"] = nlohmann::json::array();
    for (const auto& h : m.strings) {
        std::string hex;
        hex.reserve(h.data.size() * 2);
        static const char* digits = "0123456789abcdef";
        for (unsigned char c : h.data) {
            hex += digits[c >> 4];
            hex += digits[c & 15];
        }
        strings.push_back(
            {{"id", h.id}, {"offset", h.offset}, {"length", h.length}, {"data_hex", hex}});
    }
    if (m.strings_omitted)
        j["strings_omitted"] = m.strings_omitted;
    return j;
}

nlohmann::json to_json(const ScanResult& r) {
    nlohmann::json j;
    j["status"] = status_name(r.status);
    if (!r.error.empty())
        j["error"] = r.error;
    auto& ms = j["matches"] = nlohmann::json::array();
    for (const auto& m : r.matches)
        ms.push_back(to_json(m));
    if (r.matches_omitted)
        j["matches_omitted"] = r.matches_omitted;
    if (!r.warnings.empty())
        j["warnings"] = r.warnings;
    return j;
}

}  // namespace botscope::yara
