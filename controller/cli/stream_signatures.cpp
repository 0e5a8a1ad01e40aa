#include "cli/stream_signatures.h"

#include <utility>

namespace botscope::cli {

using report::Json;

StreamSignatures::StreamSignatures(std::shared_ptr<const yara::RuleSet> rules,
                                   std::chrono::seconds timeout)
    : rules_(rules), scanner_(std::move(rules), timeout) {}

void StreamSignatures::warn(std::string text) {
    if (warnings_.size() < kMaxWarnings)
        warnings_.push_back(std::move(text));
    else
        ++warnings_omitted_;
}

void StreamSignatures::inspect(const analysis::InspectedStream& s) {
    if (timeouts_ >= kMaxTimeouts) {
        ++skipped_;
        return;
    }
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

Json StreamSignatures::to_json() const {
    Json j = {{"status", "ok"},
              {"rules", rules_->rules()},
              {"streams_scanned", streams_},
              {"bytes_scanned", bytes_},
              {"streams_truncated", truncated_},
              {"streams_skipped", skipped_},
              {"matches", matches_},
              {"matches_omitted", matches_omitted_},
              {"warnings", warnings_}};
    if (warnings_omitted_)
        j["warnings_omitted"] = warnings_omitted_;
    return j;
}

Json StreamSignatures::not_run(const char* status, const std::string& why) {
    return {{"status", status}, {"error", why}};
}

}  // namespace botscope::cli
