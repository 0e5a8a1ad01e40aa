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
// md5/sha256 are empty unless `complete`. Ordered by (ts, flow, url); at most kMaxFindings
// transfers are kept one by one (the collector keeps the first kMaxFindings HTTP and TFTP
// downloads to close); once commands are linked to them, equal ones are grouped into one entry
// with their count (behavior.h, Download). A transfer past the cap that equals one kept still
// counts in its entry; the others are added to `dropped`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "analysis/detect/behavior.h"
#include "analysis/network_result.h"

namespace botscope::analysis::detect {

/// The download one HTTP transaction or TFTP transfer is, if it is one.
std::optional<Download> http_download(const http::HttpTransaction& t);
std::optional<Download> tftp_download(const tftp::TftpTransfer& t);

/// What makes two transfers the same download.
using DownloadKey = std::tuple<std::string, std::string, IpAddress, Endpoint, std::string,
                               std::uint64_t, std::string, std::string, bool>;
DownloadKey download_key(const Download& d);

/// Transfers past the cap equal to one kept: counted into its entry by group_downloads.
struct DownloadRepeats {
    std::uint64_t count = 0;
    Timestamp last_ts = 0;
    std::vector<FlowId> flows;  ///< the first kMaxEvidenceFlows
};

/// HTTP and TFTP downloads as their records close: the first kMaxFindings, then repeats of
/// those counted, the rest dropped.
struct DownloadCollector {
    void add(std::optional<Download> d);

    std::vector<Download> list;
    std::map<DownloadKey, DownloadRepeats> repeats;  ///< keys of `list` only
    std::uint64_t dropped = 0;
};

/// Every transfer, ungrouped: the collector's list (taken from it) and the FTP and DCC ones of
/// `net`.
std::vector<Download> find_downloads(const NetworkResult& net, DownloadCollector& collected,
                                     std::uint64_t& dropped);

/// After match_commands: equal transfers of b.downloads become one entry at the place of the
/// first, with the repeats past the cap added; commands' references follow their transfer
/// into its entry. Repeats whose transfers were all cut count in b.dropped.
void group_downloads(BehaviorResult& b, const DownloadCollector& collected);

}  // namespace botscope::analysis::detect
