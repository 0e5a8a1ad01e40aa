#include "report/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace botscope::report {

namespace {

std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return "/";
    return path.substr(0, slash);
}

std::string fail(const std::string& what, const std::string& path, int err) {
    return path + ": " + what + ": " + std::strerror(err);
}

}  // namespace

std::string write_file_atomic(const std::string& path, std::string_view content) {
    std::string dir = dir_of(path);
    std::string tmpl = path + ".tmp.XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0)
        return fail("cannot create temporary file", path, errno);
    std::string tmp(name.data());
    auto abandon = [&](const std::string& msg) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return msg;
    };
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return abandon(fail("write failed", path, errno));
        }
        done += static_cast<std::size_t>(n);
    }
    // Reports are meant to be shared: not the 0600 that mkstemp gives.
    if (::fchmod(fd, 0644) != 0)
        return abandon(fail("chmod failed", path, errno));
    if (::fsync(fd) != 0)
        return abandon(fail("fsync failed", path, errno));
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        return fail("close failed", path, errno);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return fail("rename failed", path, err);
    }
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

}  // namespace botscope::report
