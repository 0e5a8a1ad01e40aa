#include "analysis/engine/stream_digest.h"

#include <algorithm>

#include "analysis/proto/tftp/tftp_parser.h"
#include "analysis/stream_inspector.h"

namespace botscope::analysis {

StreamDigest::StreamDigest(const AnalyzerContext& ctx, std::string_view service, DataStreams& out)
    : ctx_(ctx), service_(service), out_(out), last_(ctx.flow.start) {}

void StreamDigest::on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) {
    Side& s = side_[static_cast<int>(dir)];
    if (ctx_.inspector) {
        // The announcing protocol named the file, not this connection: the service says what
        // carried it, the flow which one.
        if (s.hasher.size() == 0 && !s.file)
            s.file = ctx_.inspector->file_begin({ctx_.flow.id, service_, {}});
        if (s.file)
            ctx_.inspector->file_data(s.file, data);
    }
    s.hasher.update(data);
    std::size_t room = kDigestSniffBytes - s.head.size();
    s.head.insert(s.head.end(), data.begin(), data.begin() + std::min(room, data.size()));
    last_ = std::max(last_, ts);
}

void StreamDigest::on_gap(Direction dir, std::uint64_t, Timestamp ts) {
    side_[static_cast<int>(dir)].gap = true;
    last_ = std::max(last_, ts);
}

void StreamDigest::on_eof(Direction dir, Timestamp ts) {
    side_[static_cast<int>(dir)].eof = true;
    last_ = std::max(last_, ts);
}

void StreamDigest::on_end(Timestamp) {
    if (ended_)
        return;
    ended_ = true;
    for (Side& s : side_)
        if (s.file)
            ctx_.inspector->file_end(s.file, !s.gap && s.eof);
    if (out_.list.size() >= kMaxDataStreams) {
        ++out_.dropped;
        return;
    }
    int c = side_[1].hasher.size() > side_[0].hasher.size() ? 1 : 0;
    Side& s = side_[c];
    DataStream d;
    d.flow = ctx_.flow.id;
    d.service = std::string(service_);
    d.orig = ctx_.flow.orig;
    d.resp = ctx_.flow.resp;
    d.start = ctx_.flow.start;
    d.end = last_;
    d.content = static_cast<Direction>(c);
    d.size = s.hasher.size();
    d.other_bytes = side_[1 - c].hasher.size();
    d.gap = s.gap;
    d.closed = s.eof;
    auto [md5, sha256] = s.hasher.finish();
    if (!s.gap && d.size > 0) {
        d.md5 = std::move(md5);
        d.sha256 = std::move(sha256);
    }
    d.kind = tftp::sniff_file_kind(s.head, d.size <= s.head.size());
    out_.list.push_back(std::move(d));
}

}  // namespace botscope::analysis
