#pragma once
// A Recorder that keeps everything in memory, for the services' unit tests and fuzzers.

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fakenet/session.h"

namespace botscope::fakenet::testing {

struct MemoryRecorder : Recorder {
    std::vector<std::pair<std::string, Json>> records;
    std::vector<std::string> messages;
    std::size_t keep_messages = 100;  ///< store_message() returns "" past this many

    void record(std::string_view kind, Json fields) override {
        records.emplace_back(std::string(kind), std::move(fields));
    }
    std::string store_message(std::string_view message) override {
        if (messages.size() >= keep_messages)
            return "";
        messages.emplace_back(message);
        char name[32];
        std::snprintf(name, sizeof name, "mail/%03zu.eml", messages.size());
        return name;
    }
    /// The records of one kind, in order.
    std::vector<Json> of(std::string_view kind) const {
        std::vector<Json> out;
        for (const auto& [k, j] : records)
            if (k == kind)
                out.push_back(j);
        return out;
    }
};

/// A record's keys in order: the services promise the field order of their records.
inline std::vector<std::string> keys(const Json& j) {
    std::vector<std::string> out;
    for (auto it = j.begin(); it != j.end(); ++it)
        out.push_back(it.key());
    return out;
}

}  // namespace botscope::fakenet::testing
