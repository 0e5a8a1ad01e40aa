#pragma once
// Options shared by the commands that work with VMs (submit, vm).

#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "tasks/config.h"

#define CONFIG_OPTIONS_HELP                                                                 \
    "  --config FILE     configuration (default: $BOTSCOPE_CONFIG, then\n"                  \
    "                    ~/.config/botscope/botscope.ini, then built-in defaults)\n"        \
    "  --data-dir DIR    tasks and machine state (default: $BOTSCOPE_DATA, then data_dir\n" \
    "                    in the configuration, then /var/lib/botscope)\n"

namespace botscope::cli {

/// Handles --config and --data-dir at argv[i]: 0 when argv[i] is neither, 1 when it was one
/// (i is moved past its value), -1 on a missing value (a message was printed).
inline int parse_config_option(int argc, char** argv, int& i, tasks::ConfigSources& sources) {
    std::string_view a = argv[i];
    if (a != "--config" && a != "--data-dir")
        return 0;
    if (i + 1 >= argc) {
        std::fprintf(stderr, "botscope: %s needs a value\n", argv[i]);
        return -1;
    }
    if (a == "--config")
        sources.config_file = argv[++i];
    else
        sources.data_dir = argv[++i];
    return 1;
}

inline std::optional<std::chrono::seconds> parse_seconds(std::string_view v) {
    long n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 86'400)
        return std::nullopt;
    return std::chrono::seconds(n);
}

}  // namespace botscope::cli
