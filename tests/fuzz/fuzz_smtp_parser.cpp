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

using namespace botscope::analysis;
using namespace botscope::analysis::smtp;

namespace {

struct Piece {
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t size = 0;
    std::span<const std::uint8_t> span() const { return {bytes.get(), size}; }
};

Piece copy(std::span<const std::uint8_t> s) {
    Piece p;
    p.bytes = std::make_unique<std::uint8_t[]>(s.empty() ? 1 : s.size());
    std::copy(s.begin(), s.end(), p.bytes.get());
    p.size = s.size();
    return p;
}

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
    (void)parse_reply_line(text);
    (void)parse_reply_line(text, true);
    if (auto p = parse_mail_path(text, "FROM"))
        check(p->address.size() <= kMaxAddressLength);
    if (auto d = base64_decode(text))
        check(d->size() <= kMaxBase64Input);
    check(sasl_plain_user(text).user.size() <= kMaxUserLength);
    check(sasl_login_user(text).user.size() <= kMaxUserLength);
    check(sasl_cram_md5_user(text).user.size() <= kMaxUserLength);
    if (auto v = mime_param(text, "filename", kMaxFilenameLength))
        check(v->size() <= kMaxFilenameLength);

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
    Direction next = Direction::kResp;
    Timestamp ts = 1;
    std::size_t start = 0;
    while (start <= data.size() && !a.gave_up()) {
        std::size_t end = start;
        while (end < data.size() && data[end] != 0)
            ++end;
        std::span<const std::uint8_t> rec = data.subspan(start, end - start);
        Direction dir = next;
        bool gap = false;
        if (!rec.empty() && (rec[0] == 'C' || rec[0] == 'S' || rec[0] == 'G' || rec[0] == 'H')) {
            dir = (rec[0] == 'C' || rec[0] == 'G') ? Direction::kOrig : Direction::kResp;
            gap = rec[0] == 'G' || rec[0] == 'H';
            rec = rec.subspan(1);
        }
        next = opposite(dir);
        ++ts;
        if (gap) {
            a.on_gap(dir, rec.size(), ts);
        } else {
            const std::size_t cut = rec.size() / 3;
            Piece p1 = copy(rec.first(cut));
            Piece p2 = copy(rec.subspan(cut));
            a.on_data(dir, p1.span(), ts);
            if (!a.gave_up())
                a.on_data(dir, p2.span(), ts);
        }
        start = end + 1;
    }
    a.on_eof(Direction::kOrig, ts);
    a.on_eof(Direction::kResp, ts);
    a.on_end(ts + 1);
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
