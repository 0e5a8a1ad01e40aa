#pragma once
// Downloads: executables the analysed traffic fetched, over HTTP, FTP, TFTP or IRC DCC. HTTP and
// TFTP ones are taken from each transaction or transfer as the analyzer closes it
// (DownloadCollector), so none is missed past the protocols' memory caps; FTP and DCC ones after
// the capture, once data connections are matched; pure and deterministic.
//
//   - HTTP: every response whose body was recognised as PE, MZ or ELF. ts is the request's
//     (the response's when no request was seen); url is http://<Host, or the server address
//     with :port unless 80><target> (an absolute-form target is taken as is); name is the last
//     segment of the path, query cut. Hashes when the body was seen whole.
//   - TFTP: read requests (RRQ: the client receives) whose file starts like pe/mz/elf; url
//     tftp://<server address[:port unless 69]>/<file name>; flow is the data flow (the request
//     flow when the server never answered). Hashes when every block was seen. Write requests
//     are uploads from the requesting side and are not listed.
//   - FTP: RETR transfers whose data connection was captured and starts like pe/mz/elf, or,
//     when the content is unknown (no data connection captured, or one that lost its start),
//     whose name ends in .exe, .dll, .scr, .com, .bat or .pif (case-insensitive) unless the
//     server refused the RETR (4xx/5xx): then kind "", complete false, and size the bytes
//     captured (0 without a data connection: a 150 reply's "(N bytes)" is a claim, not a
//     measure). url ftp://<server address[:port unless 21]>/<name as sent>; flow is the data
//     connection when captured, else the control connection. Hashes when the data connection
//     closed normally without gaps.
//   - DCC: files sent over an IRC DCC SEND connection (digested by the engine as announced
//     by the offer) that start like pe/mz/elf; name from the offer; url dcc://<offerer>/<name>.
// md5/sha256 are empty unless `complete`. Ordered by (ts, flow, url); at most kMaxFindings, the
// rest added to `dropped` (the collector keeps the first kMaxFindings HTTP and TFTP downloads to
// close and counts the others).

#include <cstdint>
#include <optional>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

/// The download one HTTP transaction or TFTP transfer is, if it is one.
std::optional<Download> http_download(const http::HttpTransaction& t);
std::optional<Download> tftp_download(const tftp::TftpTransfer& t);

/// HTTP and TFTP downloads as their records close: at most kMaxFindings, the rest counted.
struct DownloadCollector {
    std::vector<Download> list;
    std::uint64_t dropped = 0;
    void add(std::optional<Download> d);
};

/// Every download: those `collected` and the FTP and DCC ones of `net`.
std::vector<Download> find_downloads(const NetworkResult& net, DownloadCollector collected,
                                     std::uint64_t& dropped);

}  // namespace botscope::analysis::detect
