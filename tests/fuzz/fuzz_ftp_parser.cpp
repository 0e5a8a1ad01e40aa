// libFuzzer target for the FTP parser and analyzer.
//
// The parser functions see the whole input as one line and one reply text. For the analyzer
// the input is a script: records separated by NUL bytes, each starting with a tag byte ('C'
// client data, 'S' server data, 'G' / 'H' a client / server gap as long as the record;
// anything else is data in alternating directions). Each record's data is cut in two at a
// position derived from its length, and every piece lives in its own heap buffer of exactly
// its size so AddressSanitizer sees over-reads. The documented bounds are checked on every
// result.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string_view>

#include "analysis/analyzer.h"
#include "analysis/proto/ftp/ftp_analyzer.h"
#include "analysis/proto/ftp/ftp_parser.h"
#include "fuzz/script_driver.h"

using namespace botscope::analysis;
using botscope::fuzz::copy;
using botscope::fuzz::Piece;
namespace fuzz = botscope::fuzz;
using namespace botscope::analysis::ftp;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

void parsers(std::span<const std::uint8_t> data) {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    check(strip_telnet(text).size() <= text.size());
    (void)parse_command(text);
    if (auto r = reply::parse_line(text, '1'); r.ok)
        check(r.code >= 100 && r.code <= 599 && r.text.size() <= text.size());
    (void)parse_port(text);
    (void)parse_eprt(text);
    (void)parse_pasv_reply(text);
    (void)parse_epsv_reply(text);
    if (auto p = parse_quoted_path(text))
        check(p->size() <= kMaxArgLength);
    (void)parse_transfer_size(text);
    if (auto n = parse_stou_name(text))
        check(n->size() <= text.size());
}

void check_result(const FtpResult& r) {
    check(r.sessions.size() <= kMaxSessions);
    for (const auto& s : r.sessions) {
        check(s.commands.size() <= kMaxCommandsPerSession);
        check(s.transfers.size() <= kMaxTransfersPerSession);
        check(s.data_channels.size() <= kMaxDataChannelsPerSession);
        check(s.users.size() <= kMaxUsers);
        check(s.last_replies.size() <= kMaxLastReplies);
        check(s.banner.size() <= kMaxReplyText);
        for (const auto& c : s.commands) {
            check(c.arg.size() <= kMaxArgLength);
            // Credentials are never kept.
            if (c.command == "PASS" || c.command == "pass")
                check(c.arg.empty());
        }
        for (const auto& t : s.transfers)
            check(t.name.size() <= kMaxArgLength);
    }
}

void analyzer(std::span<const std::uint8_t> data) {
    Weirds weirds;
    FtpResult result;
    FlowInfo flow;
    flow.id = 1;
    flow.transport = Transport::kTcp;
    flow.orig = {IpAddress::v4(10, 0, 0, 1), 1025};
    flow.resp = {IpAddress::v4(10, 0, 0, 2), 21};
    AnalyzerContext ctx{flow, &weirds};
    FtpAnalyzer a(ctx, result);
    fuzz::play_script(a, data);
    check(result.sessions.size() == 1);
    check_result(result);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Piece whole = copy({data, size});
    parsers(whole.span());
    analyzer(whole.span());
    return 0;
}
