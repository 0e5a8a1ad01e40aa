#include "analysis/proto/http/http_analyzer.h"

#include <algorithm>
#include <string>

#include "analysis/log_sink.h"
#include "analysis/stream_inspector.h"
#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::analysis::http {

namespace {

constexpr std::string_view kAnalyzerName = "http";
constexpr std::size_t kMaxDetail = 64;

std::string_view detail_of(std::string_view s) {
    return s.substr(0, kMaxDetail);
}

}  // namespace

std::string_view weird_name(Weird w) {
    return kWeirds[static_cast<std::size_t>(w)].name;
}

ProbeResult probe(const ProbeInput& in) {
    auto req = in.orig.empty() ? ProbeResult::kNeedMore : probe_request(in.orig);
    auto resp = in.resp.empty() ? ProbeResult::kNeedMore : probe_response(in.resp);
    if (req == ProbeResult::kMatch || resp == ProbeResult::kMatch)
        return ProbeResult::kMatch;
    // HTTP servers never speak first (SMTP and FTP banners, IRC notices do), and a client
    // whose first bytes are not a request line is not speaking HTTP.
    if (req == ProbeResult::kNoMatch || resp == ProbeResult::kNoMatch)
        return ProbeResult::kNoMatch;
    return ProbeResult::kNeedMore;
}

HttpAnalyzer::HttpAnalyzer(const AnalyzerContext& ctx, HttpResult& result)
    : ctx_(ctx), result_(result) {}

HttpAnalyzer::~HttpAnalyzer() = default;

void HttpAnalyzer::on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) {
    Side& s = side(dir);
    while (!data.empty() && !gave_up_ && !ended_) {
        switch (s.state) {
            case State::kClosed:
                return;
            case State::kBodyLength:
            case State::kChunkData: {
                auto take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, data.size()));
                feed_body(s, data.first(take));
                data = data.subspan(take);
                s.remaining -= take;
                if (s.remaining == 0) {
                    if (s.state == State::kBodyLength)
                        finish_message(dir, State::kStartLine);
                    else
                        s.state = State::kChunkDataEnd;
                }
                break;
            }
            case State::kBodyClose:
                feed_body(s, data);
                data = {};
                break;
            case State::kStartLine:
            case State::kHeaders:
            case State::kChunkSize:
            case State::kChunkDataEnd:
            case State::kTrailers:
            case State::kDesync: {
                auto scan = scan_line(data);
                if (scan.status != ParseStatus::kOk) {
                    append_line_bytes(s, data, ts);
                    data = {};
                    break;
                }
                append_line_bytes(s, data.first(scan.consumed - 1), ts);
                data = data.subspan(scan.consumed);
                std::string_view line = s.line;
                // The CR may have arrived in an earlier piece than the LF, so strip it here.
                if (!s.line_cut && !line.empty() && line.back() == '\r')
                    line.remove_suffix(1);
                handle_line(dir, line, s.line_cut, ts);
                reset_line(s);
                break;
            }
        }
    }
}

void HttpAnalyzer::append_line_bytes(Side& s, std::span<const std::uint8_t> bytes, Timestamp ts) {
    if (bytes.empty())
        return;
    if (s.line_total == 0)
        s.line_ts = ts;
    s.line_total += bytes.size();
    s.line_ends_cr = bytes.back() == '\r';
    auto room = kMaxLineLength - s.line.size();
    auto keep = std::min(room, bytes.size());
    s.line.append(util::as_chars(bytes.first(keep)));
    if (keep < bytes.size())
        s.line_cut = true;
}

void HttpAnalyzer::reset_line(Side& s) {
    s.line.clear();
    s.line_cut = false;
    s.line_ends_cr = false;
    s.line_total = 0;
}

void HttpAnalyzer::reset_head(Side& s) {
    s.header_lines = 0;
    s.header_limit_reported = false;
    s.content_length.reset();
    s.chunked = false;
    s.transfer_encoding = false;
    s.last_field = nullptr;
    s.remaining = 0;
    s.sha256 = util::Sha256{};
    s.md5.reset();
    s.md5_decided = false;
    s.body_bytes = 0;
    s.sniff.clear();
    s.inflater.reset();
    s.wire_sha256 = util::Sha256{};
    s.wire_bytes = 0;
    s.wire_sniff.clear();
}

void HttpAnalyzer::handle_line(Direction dir, std::string_view line, bool cut, Timestamp ts) {
    Side& s = side(dir);
    switch (s.state) {
        case State::kStartLine:
            handle_start_line(dir, line, cut, ts);
            return;
        case State::kHeaders:
            handle_header_line(dir, line, cut, ts);
            return;
        case State::kChunkSize:
            handle_chunk_size(dir, line, ts);
            return;
        case State::kChunkDataEnd:
            s.state = State::kChunkSize;
            if (line.empty() && !cut)
                return;
            // Lenient like the servers bots talked to: read the line as the next chunk size.
            weird(Weird::kChunkMissingCrlf, ts, detail_of(line));
            handle_chunk_size(dir, line, ts);
            return;
        case State::kTrailers:
            if (line.empty() && !cut) {
                finish_message(dir, State::kStartLine);
                return;
            }
            if (cut)
                weird(Weird::kHeaderTooLong, ts, detail_of(line));
            return;
        case State::kDesync: {
            // Only a complete start line resynchronises: body bytes rarely look like one.
            bool start = false;
            if (dir == Direction::kOrig) {
                auto rl = parse_request_line(line, cut);
                start = rl.status == ParseStatus::kOk && !rl.version.empty();
            } else {
                start = parse_status_line(line).status == ParseStatus::kOk;
            }
            if (!start)
                return;
            s.state = State::kStartLine;
            handle_start_line(dir, line, cut, ts);
            return;
        }
        case State::kBodyLength:
        case State::kBodyClose:
        case State::kChunkData:
        case State::kClosed:
            // Body and closed states never collect lines.
            return;
    }
}

void HttpAnalyzer::handle_start_line(Direction dir, std::string_view line, bool cut, Timestamp ts) {
    // Stray CRLFs between messages are allowed (RFC 7230 3.5).
    if (line.empty() && !cut)
        return;
    if (dir == Direction::kOrig) {
        auto rl = parse_request_line(line, cut);
        if (rl.status != ParseStatus::kOk) {
            weird(Weird::kBadRequestLine, ts, detail_of(line));
            invalid_message();
            return;
        }
        confirmed_ = true;
        if (cut)
            weird(Weird::kStartLineTooLong, ts, detail_of(line));
        begin_request(rl, ts);
    } else {
        auto sl = parse_status_line(line);
        if (sl.status != ParseStatus::kOk) {
            weird(Weird::kBadStatusLine, ts, detail_of(line));
            invalid_message();
            return;
        }
        confirmed_ = true;
        if (cut)
            weird(Weird::kStartLineTooLong, ts, detail_of(line));
        begin_response(sl, ts);
    }
}

HttpAnalyzer::OpenTxn* HttpAnalyzer::new_txn(Timestamp ts) {
    if (open_.size() >= kMaxOpenTransactions) {
        // Evict the oldest request still waiting; its response, if it ever comes, is recorded
        // on its own so that later responses keep pairing with the right requests.
        auto it = std::find_if(open_.begin(), open_.end(), [this](const auto& t) {
            return !t->resp_started && t.get() != orig_.txn;
        });
        if (it != open_.end()) {
            weird(Weird::kPipelineOverflow, ts);
            ++evicted_unanswered_;
            record(std::move((*it)->rec), ts);
            open_.erase(it);
        }
    }
    open_.push_back(make_txn());
    return open_.back().get();
}

std::unique_ptr<HttpAnalyzer::OpenTxn> HttpAnalyzer::make_txn() const {
    auto t = std::make_unique<OpenTxn>();
    t->rec.flow = ctx_.flow.id;
    t->rec.client = ctx_.flow.orig;
    t->rec.server = ctx_.flow.resp;
    return t;
}

HttpAnalyzer::OpenTxn* HttpAnalyzer::first_unanswered() {
    for (auto& t : open_)
        if (!t->resp_started)
            return t.get();
    return nullptr;
}

void HttpAnalyzer::begin_request(const RequestLine& rl, Timestamp ts) {
    OpenTxn* t = new_txn(ts);
    auto& r = t->rec;
    r.has_request = true;
    r.request_ts = orig_.line_ts;
    r.method = util::bounded_copy(rl.method, kMaxMethodLength);
    r.uri = util::bounded_copy(rl.target, kMaxUriLength, &r.uri_truncated);
    if (rl.target_cut)
        r.uri_truncated = true;
    r.request_line_length = orig_.line_total - (orig_.line_ends_cr ? 1 : 0);
    r.version = std::string(rl.version);
    reset_head(orig_);
    orig_.txn = t;
    orig_.state = State::kHeaders;
}

void HttpAnalyzer::begin_response(const StatusLine& sl, Timestamp ts) {
    // 101 ends HTTP on this connection, so it is the final response, not an interim one.
    bool interim = sl.code >= 100 && sl.code < 200 && sl.code != 101;
    OpenTxn* t = evicted_unanswered_ > 0 ? nullptr : first_unanswered();
    reset_head(resp_);
    resp_.state = State::kHeaders;
    if (interim) {
        // Counted on the request at the end of the head; holding no transaction here keeps the
        // oldest unanswered request free to be evicted.
        resp_.interim = true;
        resp_.txn = nullptr;
        return;
    }
    if (!t) {
        if (evicted_unanswered_ > 0) {
            --evicted_unanswered_;
        } else {
            weird(Weird::kUnmatchedResponse, ts, std::to_string(sl.code));
            ++result_.unmatched_responses;
        }
        // Kept outside the queue: no request waits for it, so it is recorded as soon as it
        // ends and never holds a queue slot.
        detached_ = make_txn();
        t = detached_.get();
        t->req_done = true;
    }
    t->resp_started = true;
    auto& r = t->rec;
    r.has_response = true;
    r.response_ts = resp_.line_ts;
    r.response_version = std::string(sl.version);
    r.status_code = sl.code;
    r.reason = util::bounded_copy(sl.reason, kMaxFieldLength, &r.fields_truncated);
    resp_.txn = t;
}

void HttpAnalyzer::handle_header_line(Direction dir, std::string_view line, bool cut,
                                      Timestamp ts) {
    Side& s = side(dir);
    if (line.empty() && !cut) {
        end_of_head(dir, ts);
        return;
    }
    ++s.header_lines;
    if (cut) {
        weird(Weird::kHeaderTooLong, ts, detail_of(line));
        s.last_field = nullptr;
        return;
    }
    if (is_continuation_line(line)) {
        if (s.last_field && s.txn) {
            auto more = util::trim(line);
            bool cut_field = false;
            auto appended = util::bounded_copy(std::string(*s.last_field) + " " + std::string(more),
                                               kMaxFieldLength, &cut_field);
            *s.last_field = std::move(appended);
            if (cut_field)
                s.txn->rec.fields_truncated = true;
        }
        return;
    }
    s.last_field = nullptr;
    auto h = parse_header_line(line);
    if (h.status != ParseStatus::kOk) {
        weird(Weird::kBadHeaderLine, ts, detail_of(line));
        return;
    }
    if (s.header_lines > kMaxHeaders) {
        if (!s.header_limit_reported) {
            s.header_limit_reported = true;
            weird(Weird::kTooManyHeaders, ts);
        }
        // Framing must still follow what the peer will do, or the next message is lost.
        if (!util::iequals(h.name, "content-length") && !util::iequals(h.name, "transfer-encoding"))
            return;
    }
    store_field(dir, h.name, h.value, ts);
}

void HttpAnalyzer::store_field(Direction dir, std::string_view name, std::string_view value,
                               Timestamp ts) {
    Side& s = side(dir);
    if (util::iequals(name, "content-length")) {
        auto v = parse_content_length(value);
        if (!v) {
            weird(Weird::kBadContentLength, ts, detail_of(value));
        } else if (s.content_length && *s.content_length != *v) {
            // Two lengths is the request-smuggling shape; keep the first as most servers did.
            weird(Weird::kBadContentLength, ts, detail_of(value));
        } else {
            s.content_length = v;
        }
    } else if (util::iequals(name, "transfer-encoding")) {
        s.transfer_encoding = true;
        s.chunked = is_chunked_coding(value);
    }
    // Interim (1xx) heads and heads without a transaction keep only framing.
    if (!s.txn || s.interim)
        return;
    auto& r = s.txn->rec;
    auto keep = [&](std::string& field) {
        if (!field.empty())
            return;
        field = util::bounded_copy(value, kMaxFieldLength, &r.fields_truncated);
        s.last_field = &field;
    };
    if (dir == Direction::kOrig) {
        if (util::iequals(name, "host"))
            keep(r.host);
        else if (util::iequals(name, "user-agent"))
            keep(r.user_agent);
        else if (util::iequals(name, "referer"))
            keep(r.referer);
        else if (util::iequals(name, "content-type"))
            keep(r.request_content_type);
        else if (util::iequals(name, "expect") && list_has_token(value, "100-continue"))
            r.expect_continue = true;
    } else {
        if (util::iequals(name, "content-type"))
            keep(r.response_content_type);
        else if (util::iequals(name, "content-encoding"))
            keep(r.content_encoding);
        else if (util::iequals(name, "location"))
            keep(r.location);
        else if (util::iequals(name, "server"))
            keep(r.server_header);
        else if (util::iequals(name, "content-length"))
            r.content_length = s.content_length;
        else if (util::iequals(name, "transfer-encoding"))
            r.chunked = s.chunked;
    }
}

void HttpAnalyzer::end_of_head(Direction dir, Timestamp ts) {
    Side& s = side(dir);
    s.last_field = nullptr;
    if (s.chunked && s.content_length)
        weird(Weird::kContentLengthAndChunked, ts);

    if (dir == Direction::kOrig) {
        if (s.txn)
            s.txn->rec.request_headers = s.header_lines;
        if (s.chunked) {
            s.state = State::kChunkSize;
        } else if (!s.transfer_encoding && s.content_length && *s.content_length > 0) {
            s.remaining = *s.content_length;
            s.state = State::kBodyLength;
        } else {
            // Requests are never close-delimited: no length means no body.
            finish_message(dir, State::kStartLine);
        }
        return;
    }

    if (s.interim) {
        if (OpenTxn* u = evicted_unanswered_ > 0 ? nullptr : first_unanswered())
            ++u->rec.interim_responses;
        s.interim = false;
        s.state = State::kStartLine;
        return;
    }
    if (!s.txn) {
        s.state = State::kStartLine;
        return;
    }
    auto& r = s.txn->rec;
    r.response_headers = s.header_lines;
    bool head = r.has_request && r.method == "HEAD";
    bool connect_ok = r.has_request && r.method == "CONNECT" && r.status_code / 100 == 2;
    bool switched = r.status_code == 101;
    if (head || connect_ok || switched || r.status_code == 204 || r.status_code == 304) {
        if (connect_ok || switched)
            r.tunnel = true;
        finish_message(dir, State::kStartLine);
        if (connect_ok || switched)
            enter_tunnel();
        return;
    }
    s.inflater = Inflater::for_coding(r.content_encoding);
    if (s.chunked) {
        s.state = State::kChunkSize;
    } else if (s.transfer_encoding) {
        // A coding other than chunked last: the body runs to the close (RFC 7230 3.3.3).
        s.state = State::kBodyClose;
    } else if (s.content_length) {
        if (*s.content_length == 0) {
            finish_message(dir, State::kStartLine);
        } else {
            s.remaining = *s.content_length;
            s.state = State::kBodyLength;
        }
    } else {
        s.state = State::kBodyClose;
    }
}

void HttpAnalyzer::handle_chunk_size(Direction dir, std::string_view line, Timestamp ts) {
    Side& s = side(dir);
    auto cs = parse_chunk_size_line(line);
    if (cs.status != ParseStatus::kOk) {
        weird(Weird::kBadChunkSize, ts,
              std::string(chunk_size_error_name(cs.error)) + ": " + std::string(detail_of(line)));
        if (s.txn)
            body_of(dir, *s.txn).framing_error = true;
        invalid_message();
        finish_message(dir, State::kDesync);
        return;
    }
    if (cs.size == 0) {
        s.state = State::kTrailers;
        return;
    }
    s.remaining = cs.size;
    s.state = State::kChunkData;
}

namespace {

/// Bytes of a body enough to tell an executable's start ("MZ", "\x7fELF").
constexpr std::size_t kMd5DecisionBytes = 4;

bool executable_start(std::span<const std::uint8_t> head) {
    return (head.size() >= 2 && head[0] == 'M' && head[1] == 'Z') ||
           (head.size() >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' &&
            head[3] == 'F');
}

}  // namespace

void HttpAnalyzer::feed_body(Side& s, std::span<const std::uint8_t> bytes) {
    if (bytes.empty())
        return;
    if (!s.inflater) {
        feed_content(s, bytes);
        return;
    }
    s.wire_sha256.update(bytes);
    s.wire_bytes += bytes.size();
    if (s.wire_sniff.size() < kSniffBytes) {
        auto n = std::min(kSniffBytes - s.wire_sniff.size(), bytes.size());
        s.wire_sniff.insert(s.wire_sniff.end(), bytes.begin(), bytes.begin() + n);
    }
    std::uint64_t total_left = kMaxDecodedTotal - std::min(kMaxDecodedTotal, result_.decoded_bytes);
    std::uint64_t budget =
        std::min(kMaxDecodedBody - std::min(kMaxDecodedBody, s.body_bytes), total_left);
    result_.decoded_bytes += s.inflater->feed(
        bytes, budget, [&](std::span<const std::uint8_t> out) { feed_content(s, out); });
}

void HttpAnalyzer::carve(Side& s, std::span<const std::uint8_t> bytes) {
    if (!s.file_asked) {
        s.file_asked = true;
        if (&s == &resp_ && s.txn) {
            const auto& r = s.txn->rec;
            std::string url =
                "http://" + (r.host.empty() ? ctx_.flow.resp.addr.to_string() : r.host) + r.uri;
            s.file = ctx_.inspector->file_begin({ctx_.flow.id, "http", url});
        }
    }
    if (s.file)
        ctx_.inspector->file_data(s.file, bytes);
}

void HttpAnalyzer::feed_content(Side& s, std::span<const std::uint8_t> bytes) {
    if (ctx_.inspector)
        carve(s, bytes);
    // Until decided, `sniff` holds the whole body so far (fewer than kMd5DecisionBytes).
    std::size_t before = s.sniff.size();
    if (s.sniff.size() < kSniffBytes) {
        auto n = std::min(kSniffBytes - s.sniff.size(), bytes.size());
        auto head = bytes.first(n);
        s.sniff.insert(s.sniff.end(), head.begin(), head.end());
    }
    if (!s.md5_decided && s.sniff.size() >= kMd5DecisionBytes) {
        s.md5_decided = true;
        if (executable_start(s.sniff)) {
            s.md5.emplace();
            s.md5->update(std::span<const std::uint8_t>(s.sniff).first(before));
        }
    }
    if (s.md5)
        s.md5->update(bytes);
    s.sha256.update(bytes);
    s.body_bytes += bytes.size();
}

void HttpAnalyzer::finish_body(Side& s, HttpBody& body) {
    finish_file(s, body);
    if (s.inflater && s.wire_bytes > 0) {
        if (s.inflater->failed()) {
            // Not what its header said: the body is the bytes transferred, as without a coding.
            body.coding_error = true;
            s.body_bytes = s.wire_bytes;
            s.sha256 = std::move(s.wire_sha256);
            s.sniff = s.wire_sniff;
            s.md5.reset();  // MD5 is kept for executables only; this body was not one
            s.md5_decided = true;
        } else {
            body.coding = s.inflater->coding() == Inflater::Coding::kGzip ? "gzip" : "deflate";
            body.wire_length = s.wire_bytes;
            if (s.wire_bytes > 0)
                body.wire_sha256 = util::to_hex(s.wire_sha256.finish());
            body.coding_limit = s.inflater->limited();
            // Transferred whole but the coded stream never ended: what decoded is a start.
            if (!s.inflater->ended() && !body.gap && !body.truncated && !body.framing_error &&
                !body.coding_limit)
                body.truncated = true;
        }
    }
    body.length = s.body_bytes;
    if (body.length > 0) {
        if (!s.md5_decided && executable_start(s.sniff)) {
            s.md5.emplace();
            s.md5->update(s.sniff);
        }
        if (s.md5)
            body.md5 = util::to_hex(s.md5->finish());
        body.sha256 = util::to_hex(s.sha256.finish());
        body.executable = classify_executable(s.sniff);
        if (body.executable != ExecutableKind::kNone)
            ++result_.executables;
        else if (body.length <= kMaxSmallBody && body.complete())
            body.small.assign(s.sniff.begin(), s.sniff.end());
    }
}

void HttpAnalyzer::finish_file(Side& s, const HttpBody& body) {
    if (s.file) {
        // A body whose coding proved invalid was handed over decoded as far as it went.
        bool whole = !body.gap && !body.truncated && !body.framing_error &&
                     (!s.inflater ||
                      (s.inflater->ended() && !s.inflater->failed() && !s.inflater->limited()));
        ctx_.inspector->file_end(s.file, whole);
    }
    s.file = 0;
    s.file_asked = false;
}

void HttpAnalyzer::finish_message(Direction dir, State next) {
    Side& s = side(dir);
    if (OpenTxn* t = s.txn; t && !s.interim) {
        finish_body(s, body_of(dir, *t));
        if (dir == Direction::kOrig)
            t->req_done = true;
        else
            t->resp_done = true;
    }
    s.txn = nullptr;
    s.interim = false;
    reset_head(s);
    s.state = next;
    if (detached_ && detached_->resp_done) {
        auto ts = detached_->rec.response_ts;
        record(std::move(detached_->rec), ts);
        detached_.reset();
    }
    flush_done();
}

void HttpAnalyzer::abandon_message(Direction dir, State next) {
    Side& s = side(dir);
    if (s.txn && !s.interim) {
        if (dir == Direction::kOrig)
            s.txn->rec.request_incomplete = true;
        else
            s.txn->rec.response_incomplete = true;
    }
    finish_message(dir, next);
}

void HttpAnalyzer::enter_tunnel() {
    // What follows a CONNECT or an upgrade is another protocol: stop parsing both directions.
    for (auto dir : {Direction::kOrig, Direction::kResp}) {
        Side& s = side(dir);
        if (s.txn)
            finish_message(dir, State::kClosed);
        s.state = State::kClosed;
        reset_line(s);
    }
}

void HttpAnalyzer::flush_done() {
    while (!open_.empty() && open_.front()->req_done && open_.front()->resp_done) {
        auto& rec = open_.front()->rec;
        auto ts = rec.has_response ? rec.response_ts : rec.request_ts;
        record(std::move(rec), ts);
        open_.pop_front();
    }
}

void HttpAnalyzer::record(HttpTransaction&& t, Timestamp ts) {
    if (t.has_request)
        ++result_.requests;
    if (t.has_response)
        ++result_.responses;
    if (ctx_.logs != nullptr)
        ctx_.logs->http(t);
    if (recorded_ >= kMaxTransactionsPerConnection ||
        result_.transactions.size() >= kMaxTransactions) {
        ++result_.dropped;
        if (!limit_reported_) {
            limit_reported_ = true;
            weird(Weird::kTransactionLimit, ts);
        }
        return;
    }
    ++recorded_;
    result_.transactions.push_back(std::move(t));
}

void HttpAnalyzer::invalid_message() {
    if (++invalid_ >= kMaxInvalidMessages)
        gave_up_ = true;
}

void HttpAnalyzer::weird(Weird w, Timestamp ts, std::string_view detail) {
    // Until a valid start line was seen this may not be HTTP at all; stay quiet.
    if (!confirmed_)
        return;
    ctx_.weird(kAnalyzerName, weird_name(w), ts, detail);
}

void HttpAnalyzer::on_gap(Direction dir, std::uint64_t len, Timestamp ts) {
    if (gave_up_ || ended_)
        return;
    Side& s = side(dir);
    auto mark_body_gap = [&] {
        if (s.txn && !s.interim)
            body_of(dir, *s.txn).gap = true;
        weird(Weird::kBodyGap, ts);
    };
    switch (s.state) {
        case State::kClosed:
            return;
        case State::kDesync:
            break;
        case State::kBodyClose:
            mark_body_gap();
            break;
        case State::kBodyLength:
        case State::kChunkData: {
            mark_body_gap();
            if (len < s.remaining) {
                s.remaining -= len;
                break;
            }
            // The gap swallowed the end of the body; anything past it was framing we lost.
            bool beyond = len > s.remaining;
            s.remaining = 0;
            if (s.state == State::kChunkData && !beyond) {
                s.state = State::kChunkDataEnd;
            } else {
                finish_message(dir, beyond ? State::kDesync : State::kStartLine);
                if (beyond)
                    weird(Weird::kHeaderGap, ts);
            }
            break;
        }
        case State::kChunkSize:
        case State::kChunkDataEnd:
        case State::kTrailers:
            mark_body_gap();
            finish_message(dir, State::kDesync);
            break;
        case State::kHeaders:
            weird(Weird::kHeaderGap, ts);
            abandon_message(dir, State::kDesync);
            break;
        case State::kStartLine:
            // Whole messages may have been lost: wait for the next clean start line.
            weird(Weird::kHeaderGap, ts);
            s.state = State::kDesync;
            break;
    }
    reset_line(s);
}

void HttpAnalyzer::on_eof(Direction dir, Timestamp ts) {
    (void)ts;
    if (ended_)
        return;
    Side& s = side(dir);
    switch (s.state) {
        case State::kClosed:
            return;
        case State::kBodyClose:
        case State::kTrailers:
            finish_message(dir, State::kClosed);
            break;
        case State::kBodyLength:
        case State::kChunkData:
        case State::kChunkSize:
        case State::kChunkDataEnd:
            if (s.txn && !s.interim)
                body_of(dir, *s.txn).truncated = true;
            finish_message(dir, State::kClosed);
            break;
        case State::kHeaders:
            abandon_message(dir, State::kClosed);
            break;
        case State::kStartLine:
        case State::kDesync:
            break;
    }
    s.state = State::kClosed;
    reset_line(s);
}

void HttpAnalyzer::on_end(Timestamp ts) {
    if (ended_)
        return;
    on_eof(Direction::kOrig, ts);
    on_eof(Direction::kResp, ts);
    ended_ = true;
    // Both sides are finished now: what is left are requests that never got an answer.
    for (auto& t : open_)
        record(std::move(t->rec), ts);
    open_.clear();
    if (confirmed_)
        ++result_.connections;
}

}  // namespace botscope::analysis::http
