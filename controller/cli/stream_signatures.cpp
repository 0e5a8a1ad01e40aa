#include "cli/stream_signatures.h"

#include <utility>

namespace botscope::cli {

using report::Json;

StreamSignatures::StreamSignatures(std::shared_ptr<const yara::RuleSet> stream_rules,
                                   std::shared_ptr<const yara::RuleSet> file_rules,
                                   std::chrono::seconds timeout)
    : rules_(stream_rules), scanner_(std::move(stream_rules), timeout), file_rules_(file_rules) {
    if (file_rules_ && file_rules_->rules() > 0)
        file_scanner_ = std::make_unique<yara::Scanner>(std::move(file_rules), timeout);
}

bool StreamSignatures::out_of_time() {
    if (timeouts_ < kMaxTimeouts)
        return false;
    ++skipped_;
    return true;
}

void StreamSignatures::warn(std::string text) {
    if (warnings_.size() < kMaxWarnings)
        warnings_.push_back(std::move(text));
    else
        ++warnings_omitted_;
}

void StreamSignatures::inspect(const analysis::InspectedStream& s) {
    if (out_of_time())
        return;
    const char* dir = s.dir == analysis::Direction::kOrig ? "orig" : "resp";
    yara::Externals ext;
    ext.filename = "flow-" + std::to_string(s.flow->id) + "-" + dir;
    ext.filetype = "tcp-stream";
    yara::ScanResult r = scanner_.scan(s.data, ext);
    ++streams_;
    bytes_ += s.data.size();
    if (s.truncated)
        ++truncated_;
    std::string where = "flow " + std::to_string(s.flow->id) + " " + dir;
    if (r.status != yara::ScanResult::Status::kOk) {
        if (r.status == yara::ScanResult::Status::kTimeout && ++timeouts_ == kMaxTimeouts)
            warn("stopped scanning streams after " + std::to_string(kMaxTimeouts) + " timeouts");
        warn(where + ": " + yara::status_name(r.status) + ": " + r.error);
    }
    for (const auto& w : r.warnings)
        warn(where + ": " + w);
    matches_omitted_ += r.matches_omitted;
    for (const auto& m : r.matches) {
        if (matches_.size() >= kMaxMatches) {
            ++matches_omitted_;
            continue;
        }
        nlohmann::json y = yara::to_json(m);
        Json j = {{"flow", s.flow->id},
                  {"dir", dir},
                  {"orig", report::endpoint_json(s.flow->orig)},
                  {"resp", report::endpoint_json(s.flow->resp)},
                  {"service", s.service.empty() ? Json(nullptr) : Json(std::string(s.service))}};
        for (const char* key : {"rule", "namespace", "tags", "meta", "strings", "strings_omitted"})
            if (y.contains(key))
                j[key] = y[key];
        matches_.push_back(std::move(j));
    }
}

StreamSignatures::FileId StreamSignatures::file_begin(const analysis::CarvedFile& f) {
    if (!file_scanner_)
        return 0;
    FileId id = next_file_++;
    OpenFile& o = open_files_[id];
    o.flow = f.flow;
    o.protocol = std::string(f.protocol);
    o.name = std::string(f.name);
    return id;
}

void StreamSignatures::file_data(FileId id, std::span<const std::uint8_t> bytes) {
    auto it = open_files_.find(id);
    if (it == open_files_.end())
        return;
    OpenFile& o = it->second;
    o.size += bytes.size();
    std::size_t take =
        std::min({bytes.size(), kMaxFileBytes - o.bytes.size(), kMaxFilesBytes - open_bytes_});
    o.bytes.insert(o.bytes.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
    open_bytes_ += take;
}

void StreamSignatures::file_end(FileId id, bool complete) {
    auto it = open_files_.find(id);
    if (it == open_files_.end())
        return;
    OpenFile o = std::move(it->second);
    open_files_.erase(it);
    open_bytes_ -= o.bytes.size();
    if (o.bytes.empty() || out_of_time())
        return;
    bool truncated = o.bytes.size() < o.size;
    yara::Externals ext =
        yara::Externals::of(o.name.substr(o.name.find_last_of('/') + 1), "carved-" + o.protocol);
    yara::ScanResult r = file_scanner_->scan(o.bytes, ext);
    ++files_scanned_;
    file_bytes_ += o.bytes.size();
    if (truncated)
        ++files_truncated_;
    if (r.status == yara::ScanResult::Status::kTimeout && ++timeouts_ == kMaxTimeouts)
        warn("stopped scanning streams and files after " + std::to_string(kMaxTimeouts) +
             " timeouts");
    if (r.matches.empty() && r.status == yara::ScanResult::Status::kOk)
        return;
    if (files_.size() >= kMaxFilesListed) {
        ++files_omitted_;
        return;
    }
    nlohmann::json y = yara::to_json(r);
    Json j = {{"flow", o.flow},
              {"protocol", o.protocol},
              {"name", o.name},
              {"size", o.size},
              {"complete", complete && !truncated},
              {"scanned_bytes", o.bytes.size()},
              {"status", yara::status_name(r.status)}};
    if (!r.error.empty())
        j["error"] = r.error;
    Json matches = Json::array();
    for (const auto& m : y["matches"]) {
        Json mj;
        for (const char* key : {"rule", "namespace", "tags", "meta", "strings", "strings_omitted"})
            if (m.contains(key))
                mj[key] = m[key];
        matches.push_back(std::move(mj));
    }
    j["matches"] = std::move(matches);
    if (r.matches_omitted)
        j["matches_omitted"] = r.matches_omitted;
    files_.push_back(std::move(j));
}

Json StreamSignatures::to_json() const {
    Json j = {{"status", "ok"},
              {"rules", rules_->rules()},
              {"streams_scanned", streams_},
              {"bytes_scanned", bytes_},
              {"streams_truncated", truncated_},
              {"streams_skipped", skipped_},
              {"matches", matches_},
              {"matches_omitted", matches_omitted_},
              {"file_rules", file_rules_ ? file_rules_->rules() : 0},
              {"files_scanned", files_scanned_},
              {"file_bytes_scanned", file_bytes_},
              {"files_truncated", files_truncated_},
              {"files", files_},
              {"files_omitted", files_omitted_},
              {"warnings", warnings_}};
    if (warnings_omitted_)
        j["warnings_omitted"] = warnings_omitted_;
    return j;
}

Json StreamSignatures::not_run(const char* status, const std::string& why) {
    return {{"status", status}, {"error", why}};
}

}  // namespace botscope::cli
