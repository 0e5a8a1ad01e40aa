#include "fakenet/http_sink.h"

#include <algorithm>
#include <optional>
#include <string>

#include "analysis/proto/http/http_parser.h"
#include "fakenet/content.h"
#include "fakenet/raw_sink.h"
#include "util/byte_reader.h"
#include "util/hash.h"
#include "util/text.h"

namespace botscope::fakenet {

namespace http = analysis::http;

namespace {

constexpr std::string_view kServer = "Apache/2.2.3 (Unix)";

/// What a request head says, as far as it could be read.
struct Head {
    bool request_line_ok = false;
    std::string method;
    std::string uri;
    std::string version;
    std::optional<std::string> host;
    std::optional<std::string> user_agent;
    std::optional<std::uint64_t> content_length;
    bool bad_length = false;  ///< unparsable, or two that differ
    bool has_transfer_coding = false;
    bool chunked = false;
    bool connection_close = false;
    bool connection_keep_alive = false;
    bool expect_continue = false;
};

/// The lines of a head, LF-terminated with an optional CR; the last may be unterminated.
class HeadLines {
public:
    explicit HeadLines(std::string_view head) : rest_(head) {}
    std::optional<std::string_view> next() {
        if (rest_.empty())
            return std::nullopt;
        auto nl = rest_.find('\n');
        std::string_view line = rest_.substr(0, nl);
        rest_ = nl == std::string_view::npos ? std::string_view() : rest_.substr(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        return line;
    }

private:
    std::string_view rest_;
};

void read_header(Head& h, std::string_view line) {
    const http::HeaderField f = http::parse_header_line(line);
    if (f.status != http::ParseStatus::kOk)
        return;
    if (util::iequals(f.name, "Host") && !h.host) {
        h.host = util::bounded_copy(f.value, http::kMaxFieldLength);
    } else if (util::iequals(f.name, "User-Agent") && !h.user_agent) {
        h.user_agent = util::bounded_copy(f.value, http::kMaxFieldLength);
    } else if (util::iequals(f.name, "Content-Length")) {
        auto n = http::parse_content_length(f.value);
        if (!n || (h.content_length && *h.content_length != *n))
            h.bad_length = true;
        else
            h.content_length = n;
    } else if (util::iequals(f.name, "Transfer-Encoding")) {
        h.has_transfer_coding = true;
        h.chunked = http::is_chunked_coding(f.value);
    } else if (util::iequals(f.name, "Connection")) {
        h.connection_close = h.connection_close || http::list_has_token(f.value, "close");
        h.connection_keep_alive =
            h.connection_keep_alive || http::list_has_token(f.value, "keep-alive");
    } else if (util::iequals(f.name, "Expect")) {
        h.expect_continue = http::list_has_token(f.value, "100-continue");
    }
}

/// Reads a head; `complete` says whether it ended with its empty line (else only a complete
/// first line is read, for the record of a head that was too large).
Head parse_head(std::string_view text, bool complete) {
    Head h;
    HeadLines lines(text);
    auto first = lines.next();
    if (!first || (!complete && text.find('\n') == std::string_view::npos))
        return h;
    const bool cut = first->size() > http::kMaxLineLength;
    const http::RequestLine rl =
        http::parse_request_line(first->substr(0, http::kMaxLineLength), cut);
    if (rl.status != http::ParseStatus::kOk)
        return h;
    h.request_line_ok = true;
    h.method = std::string(rl.method);
    h.uri = util::bounded_copy(rl.target, http::kMaxUriLength);
    h.version = std::string(rl.version);
    if (!complete)
        return h;
    std::size_t n = 0;
    while (auto line = lines.next()) {
        if (line->empty())
            break;
        if (++n > http::kMaxHeaders && !util::istarts_with(*line, "Content-Length") &&
            !util::istarts_with(*line, "Transfer-Encoding"))
            continue;  // past the stored fields, only framing still counts
        read_header(h, *line);
    }
    return h;
}

class HttpSession : public TcpSession {
public:
    HttpSession(const ConnInfo& conn, const HttpConfig& config, Recorder& rec)
        : conn_(conn), config_(config), rec_(rec) {}

    void on_data(std::string_view data, Millis now, Output& out) override {
        (void)now;
        while (!data.empty() && state_ != State::kClosed) {
            switch (state_) {
                case State::kHead:
                    head_bytes(data, out);
                    break;
                case State::kBody:
                case State::kChunkData: {
                    const std::size_t n =
                        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
                    remaining_ -= n;
                    body_bytes_ += n;
                    data.remove_prefix(n);
                    if (remaining_ == 0) {
                        if (state_ == State::kBody)
                            respond(200, out);
                        else
                            state_ = State::kChunkDataEnd;
                    }
                    break;
                }
                case State::kChunkDataEnd:
                    chunk_data_end(data, out);
                    break;
                case State::kChunkSize:
                    chunk_size_bytes(data, out);
                    break;
                case State::kTrailers:
                    trailer_bytes(data, out);
                    break;
                case State::kClosed:
                    return;
            }
        }
    }

    std::size_t buffered() const override { return head_.size() + line_.size(); }

private:
    enum class State : std::uint8_t {
        kHead,
        kBody,
        kChunkSize,
        kChunkData,
        kChunkDataEnd,
        kTrailers,
        kClosed,
    };

    /// Collects the head byte by byte up to its empty line; leading empty lines are skipped
    /// (RFC 7230 3.5).
    void head_bytes(std::string_view& data, Output& out) {
        std::size_t i = 0;
        for (; i < data.size(); ++i) {
            const char c = data[i];
            if (head_.empty() && (c == '\r' || c == '\n'))
                continue;
            if (head_.size() >= kHttpMaxHead) {
                data = {};
                return too_large(out);
            }
            head_.push_back(c);
            if (c == '\n' && line_start_) {
                data.remove_prefix(i + 1);
                return start_request(out);
            }
            if (c == '\n')
                line_start_ = true;
            else if (c != '\r')
                line_start_ = false;
        }
        data.remove_prefix(i);
    }

    void too_large(Output& out) {
        head_info_ = parse_head(head_, false);
        close_after_ = true;
        respond(431, out);
    }

    void start_request(Output& out) {
        head_info_ = parse_head(head_, true);
        head_.clear();
        line_start_ = false;
        const Head& h = head_info_;
        if (!h.request_line_ok) {
            close_after_ = true;
            return respond(400, out);
        }
        if (h.method == "CONNECT") {
            close_after_ = true;
            return respond(200, out);
        }
        if (h.has_transfer_coding && !h.chunked) {
            close_after_ = true;  // a coding we cannot frame: the body's end is unknown
            return respond(200, out);
        }
        if (!h.chunked && h.bad_length) {
            close_after_ = true;
            return respond(200, out);
        }
        if (!h.chunked && h.content_length.value_or(0) > kHttpMaxBody) {
            close_after_ = true;
            return respond(413, out);
        }
        const bool has_body = h.chunked || h.content_length.value_or(0) > 0;
        if (has_body && h.expect_continue)
            out.data += "HTTP/1.1 100 Continue\r\n\r\n";
        if (h.chunked) {
            state_ = State::kChunkSize;
        } else if (has_body) {
            remaining_ = *h.content_length;
            state_ = State::kBody;
        } else {
            respond(200, out);
        }
    }

    /// A body whose framing broke: answer, then close (what follows cannot be found).
    void unframed(Output& out) {
        line_.clear();
        close_after_ = true;
        respond(200, out);
    }

    void chunk_size_bytes(std::string_view& data, Output& out) {
        const auto nl = data.find('\n');
        const std::string_view part = data.substr(0, nl);
        if (line_.size() + part.size() > http::kMaxLineLength) {
            data = {};
            return unframed(out);
        }
        line_.append(part);
        if (nl == std::string_view::npos) {
            data = {};
            return;
        }
        data.remove_prefix(nl + 1);
        std::string_view line = line_;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        const http::ChunkSize cs = http::parse_chunk_size_line(line);
        line_.clear();
        if (cs.status != http::ParseStatus::kOk)
            return unframed(out);
        if (cs.size > kHttpMaxBody - body_bytes_) {
            close_after_ = true;
            return respond(413, out);
        }
        if (cs.size == 0) {
            state_ = State::kTrailers;
            line_start_ = true;
            trailer_bytes_ = 0;
            return;
        }
        remaining_ = cs.size;
        state_ = State::kChunkData;
    }

    void chunk_data_end(std::string_view& data, Output& out) {
        const char c = data.front();
        data.remove_prefix(1);
        if (c == '\r' && !saw_cr_) {
            saw_cr_ = true;
            return;
        }
        const bool ok = c == '\n';
        saw_cr_ = false;
        if (!ok)
            return unframed(out);
        state_ = State::kChunkSize;
    }

    /// Trailer fields are skipped up to the empty line that ends them.
    void trailer_bytes(std::string_view& data, Output& out) {
        std::size_t i = 0;
        for (; i < data.size(); ++i) {
            const char c = data[i];
            if (++trailer_bytes_ > kHttpMaxHead) {
                data = {};
                return unframed(out);
            }
            if (c == '\n' && line_start_) {
                data.remove_prefix(i + 1);
                return respond(200, out);
            }
            if (c == '\n')
                line_start_ = true;
            else if (c != '\r')
                line_start_ = false;
        }
        data.remove_prefix(i);
    }

    bool keep_alive() const {
        const Head& h = head_info_;
        if (close_after_ || requests_ + 1 >= config_.max_requests)
            return false;
        if (h.version == "1.1")
            return !h.connection_close;
        return h.connection_keep_alive && !h.connection_close;
    }

    void respond(int status, Output& out) {
        const Head& h = head_info_;
        const bool keep = keep_alive();
        std::string head = "HTTP/1.1 ";
        Json served;
        if (status == 200 && h.method == "CONNECT") {
            head += "200 Connection established\r\n\r\n";
            out.data += head;
            served = {
                {"kind", "none"}, {"content_type", nullptr}, {"bytes", 0}, {"sha256", nullptr}};
        } else {
            Content c;
            switch (status) {
                case 200:
                    head += "200 OK\r\n";
                    c = content_for(h.uri);
                    break;
                case 400:
                    head += "400 Bad Request\r\n";
                    c = error_page("400 Bad Request");
                    break;
                case 413:
                    head += "413 Request Entity Too Large\r\n";
                    c = error_page("413 Request Entity Too Large");
                    break;
                default:
                    head += "431 Request Header Fields Too Large\r\n";
                    c = error_page("431 Request Header Fields Too Large");
                    break;
            }
            head += "Server: " + std::string(kServer) + "\r\n";
            head += "Content-Length: " + std::to_string(c.body.size()) + "\r\n";
            head += "Content-Type: " + c.content_type + "\r\n";
            head += keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
            out.data += head;
            const bool send_body = h.method != "HEAD";
            if (send_body)
                out.data += c.body;
            served = {{"kind", c.kind},
                      {"content_type", c.content_type},
                      {"bytes", send_body ? c.body.size() : 0},
                      {"sha256",
                       send_body ? Json(util::sha256_hex(util::as_bytes(c.body))) : Json(nullptr)}};
        }
        record(status, std::move(served));
        ++requests_;
        if (!keep) {
            out.close = true;
            state_ = State::kClosed;
            head_.clear();
            head_.shrink_to_fit();
            line_.clear();
            return;
        }
        state_ = State::kHead;
        head_info_ = Head{};
        body_bytes_ = 0;
        remaining_ = 0;
        line_start_ = false;
    }

    static Content error_page(std::string_view title) {
        return {"text/html", "<html><body><h1>" + std::string(title) + "</h1></body></html>\n",
                "error"};
    }

    void record(int status, Json served) {
        const Head& h = head_info_;
        auto text = [&](const std::string& s) {
            return h.request_line_ok ? Json(printable_text(s)) : Json(nullptr);
        };
        Json j = connection_fields(conn_);
        j["method"] = text(h.method);
        j["host"] = printable_or_null(h.host);
        j["uri"] = text(h.uri);
        j["version"] = text(h.version);
        j["user_agent"] = printable_or_null(h.user_agent);
        j["body_bytes"] = body_bytes_;
        j["status"] = status;
        j["served"] = std::move(served);
        rec_.record("http", std::move(j));
    }

    ConnInfo conn_;
    HttpConfig config_;
    Recorder& rec_;
    State state_ = State::kHead;
    std::string head_;  ///< the head being collected
    std::string line_;  ///< a chunk-size line being collected
    bool line_start_ = false;
    bool saw_cr_ = false;
    Head head_info_;
    std::uint64_t remaining_ = 0;
    std::uint64_t body_bytes_ = 0;
    std::size_t trailer_bytes_ = 0;
    bool close_after_ = false;
    std::size_t requests_ = 0;
};

}  // namespace

std::unique_ptr<TcpSession> make_http_session(const ConnInfo& conn, const HttpConfig& config,
                                              Recorder& rec) {
    return std::make_unique<HttpSession>(conn, config, rec);
}

}  // namespace botscope::fakenet
