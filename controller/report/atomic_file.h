#pragma once
// Writes a file so that readers see either the old content or the whole new one: a temporary
// file in the same directory, fsync, rename over the target, fsync of the directory.

#include <string>
#include <string_view>

namespace botscope::report {

/// Returns an empty string on success, else a one-line message naming the path and the cause.
/// On failure the target is untouched and no temporary file is left behind.
std::string write_file_atomic(const std::string& path, std::string_view content);

}  // namespace botscope::report
