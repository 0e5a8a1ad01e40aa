#pragma once
// A temporary folder for one test, removed with everything in it at the end, once the reports
// and logs the test left in it have been checked against their schemas (report_check.h).

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "support/report_check.h"

namespace botscope::testing {

struct TempDir {
    /// Made by mkdtemp under the system's temporary folder, named `prefix-XXXXXX`.
    explicit TempDir(std::string_view prefix = "botscope-test") {
        std::string pattern =
            (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::system_error(errno, std::generic_category(),
                                    "cannot create a temporary folder " + pattern);
        path = pattern;
    }
    ~TempDir() {
        if (!hand_written_reports)
            check_reports_before_removal(path);
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    /// Writes `text` to the file `name` in the folder.
    void write(const std::string& name, std::string_view text) const {
        std::ofstream(path / name, std::ios::binary) << text;
    }

    std::filesystem::path path;
    /// The reports in the folder were written by the test itself, partial or hostile on
    /// purpose (a report from an older botscope, or one someone edited), to show that their
    /// readers cope: they are not botscope's output, and not checked against the schema.
    bool hand_written_reports = false;
};

}  // namespace botscope::testing
