#include "review/report_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd.h"

namespace botscope::review {

namespace fs = std::filesystem;

namespace {

using util::Fd;

}  // namespace

util::Result<std::string> read_bounded(const fs::path& path, std::size_t max_bytes) {
    // Non-blocking so that a FIFO named as a report fails the regular-file check instead of
    // hanging the open.
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
    if (f.fd < 0)
        return util::Error{errno == ENOENT ? "missing" : "unreadable",
                           path.string() + ": " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
        return util::Error{"unreadable", path.string() + ": not a regular file"};
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
        return util::Error{"too_large", path.string() + ": " + std::to_string(st.st_size) +
                                            " bytes, more than the " +
                                            std::to_string(max_bytes >> 20) + " MiB allowed"};
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < data.size()) {
        ssize_t n = ::read(f.fd, data.data() + got, data.size() - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return util::Error{"unreadable", path.string() + ": " + std::strerror(errno)};
        if (n == 0)
            break;  // shrank while read: what is there is all there is
        got += static_cast<std::size_t>(n);
    }
    data.resize(got);
    return data;
}

util::Result<Json> read_report(const fs::path& given, std::size_t max_bytes) {
    std::error_code ec;
    fs::path path = fs::is_directory(given, ec) ? given / "report.json" : given;
    auto text = read_bounded(path, max_bytes);
    if (!text)
        return text.error();
    // Parsed without exceptions: a hostile file is an answer, not a crash.
    Json doc = Json::parse(text.value(), nullptr, false);
    if (doc.is_discarded())
        return util::Error{"malformed", path.string() + ": not valid JSON"};
    auto schema = doc.is_object() && doc.contains("schema") && doc["schema"].is_string()
                      ? doc["schema"].get<std::string>()
                      : std::string();
    if (schema.rfind("botscope.report/", 0) != 0)
        return util::Error{"not_a_report", path.string() +
                                               ": not a botscope report (no \"schema\": "
                                               "\"botscope.report/N\")"};
    return doc;
}

}  // namespace botscope::review
