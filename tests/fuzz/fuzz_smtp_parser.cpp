// libFuzzer target for the SMTP parser and analyzer.
//
// The parser functions see the whole input as one line, one message and one header value.
// For the analyzer the input is a script: records separated by NUL bytes, each starting with a
// tag byte ('C' client data, 'S' server data, 'G' / 'H' a client / server gap as long as the
// record; anything else is data in alternating directions). Each record's data is cut in two at a
// position derived from its length, and every piece lives in its own heap buffer of exactly its
// size so AddressSanitizer sees over-reads. The documented bounds are checked on every result.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/proto/smtp/smtp_analyzer.h"
#include "analysis/proto/smtp/smtp_parser.h"
#include "fuzz/script_driver.h"

using namespace botscope::analysis;
using botscope::fuzz::copy;
using botscope::fuzz::Piece;
namespace fuzz = botscope::fuzz;
using namespace botscope::analysis::smtp;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

void check_summary(const MessageSummary& s) {
    check(s.headers.subject.size() <= kMaxHeaderValue);
    check(s.headers.from.size() <= kMaxHeaderValue);
    check(s.attachments.size() <= kMaxAttachments);
    for (const auto& a : s.attachments)
        check(a.size() <= kMaxFilenameLength);
}

void parsers(std::span<const std::uint8_t> data) {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    (void)parse_command(text);
    if (auto r = reply::parse_line(text, '2'); r.ok)
        check(r.code >= 200 && r.code <= 599 && r.text.size() <= text.size());
    if (auto p = parse_mail_path(text, "FROM"))
        check(p->address.size() <= kMaxAddressLength);
    if (auto d = base64_decode(text))
        check(d->size() <= kMaxBase64Input);
    check(sasl_plain_user(text).user.size() <= kMaxUserLength);
    check(sasl_login_user(text).user.size() <= kMaxUserLength);
    check(sasl_cram_md5_user(text).user.size() <= kMaxUserLength);
    if (auto v = mime_param(text, "filename", kMaxFilenameLength))
        check(v->size() <= kMaxFilenameLength);
    check(decode_encoded_words(text, kMaxFilenameLength).size() <= kMaxFilenameLength);

    LineAssembler lines(16);
    std::span<const std::uint8_t> rest = data;
    while (auto f = lines.next(rest))
        check(f->text.size() <= 16);

    MessageParser whole;
    whole.feed(data);
    const auto s = whole.finish();
    check(s.size == data.size());
    check_summary(s);
}

void check_result(const SmtpResult& r) {
    check(r.sessions.size() <= kMaxSessions);
    check(r.messages_stored <= kMaxMessagesPerResult);
    for (const auto& s : r.sessions) {
        check(s.messages.size() <= kMaxMessagesPerSession);
        check(s.commands.size() <= kMaxCommandsPerSession);
        check(s.auth.size() <= kMaxAuthAttempts);
        check(s.last_replies.size() <= kMaxLastReplies);
        check(s.extensions.size() <= kMaxExtensions);
        check(s.banner.size() <= kMaxReplyText);
        for (const auto& m : s.messages) {
            check(m.recipients.size() <= kMaxRecipientsPerMessage);
            check(m.attachments.size() <= kMaxAttachments);
            check(m.mail_from.size() <= kMaxAddressLength);
        }
    }
}

void analyzer(std::span<const std::uint8_t> data) {
    Weirds weirds;
    SmtpResult result;
    FlowInfo flow;
    flow.id = 1;
    flow.transport = Transport::kTcp;
    AnalyzerContext ctx{flow, &weirds};
    SmtpAnalyzer a(ctx, result);
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
