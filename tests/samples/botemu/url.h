#pragma once
// Download URLs of the .download and .update commands, and the names their files are saved
// under.
//
// Accepted: `http://HOST[:PORT]/PATH` and `tftp://HOST[:PORT]/FILE` (scheme in any case), HOST
// a dotted quad or a host name (dns_client.h's rules), at most kMaxUrlLength characters of
// printable ASCII without spaces. No user info, no IPv6 literals, no percent-decoding (the path
// is sent as written). A fragment ("#...") is dropped.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bounds.h"
#include "util/result.h"

namespace botscope::botemu {

enum class Scheme { kHttp, kTftp };

struct Url {
    Scheme scheme = Scheme::kHttp;
    std::string host;             ///< as written
    std::optional<Ipv4> address;  ///< when the host is a dotted quad
    std::uint16_t port = 80;      ///< 80 for http, 69 for tftp unless given
    std::string path;             ///< http: from the first '/' ("/" when none); tftp: the file
                                  ///< name without the leading '/'
    /// "http://10.66.0.1/update.exe" (the port only when not the default).
    std::string to_string() const;
};

/// Parses a URL; the error's code is "bad_url" and its message says why.
util::Result<Url> parse_url(std::string_view text);

/// The file name a download is saved under: the last component of `name` (after the last '/'
/// or '\', so "c:\windows\update.exe" and "../../etc/passwd" give "update.exe" and "passwd"),
/// characters outside [A-Za-z0-9._-] removed, leading dots removed (no hidden files, no ".."),
/// at most kMaxFileName characters; "download.bin" when nothing is left.
std::string sanitize_file_name(std::string_view name);

}  // namespace botscope::botemu
