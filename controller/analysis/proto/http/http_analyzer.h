#pragma once
// HTTP/1.0 and 1.1 over TCP: pairs requests with responses (pipelining: requests queue and
// responses answer them in order), frames bodies (Content-Length, chunked, close-delimited) and
// hashes them as they stream past, flagging executables. The first valid request or status
// line confirms the stream (the probe already demanded one); weirds are reported only after
// that. Bad start lines and bad chunk sizes count as invalid messages; at kMaxInvalidMessages
// the analyzer gives up. A gap inside a body keeps the body going with its `gap` flag; a gap
// in a head abandons that message and skips lines until the next valid start line.
//
// Limits (besides the parser's):
//   kMaxTransactions                10000  records kept per result; the rest are counted
//   kMaxTransactionsPerConnection   10000  records kept per connection; the rest are counted
//   kMaxOpenTransactions               32  requests waiting for their response; past it the
//                                          oldest unanswered one is recorded without a response
//   kMaxInvalidMessages                20  bad start lines or chunk sizes before giving up
//   kMaxDecodedBody                32 MiB  decoded from one gzip or deflate body
//   kMaxDecodedTotal                1 GiB  decoded from all of them: a capture of small bodies
//                                          that each inflate a thousandfold stays bounded

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/proto/http/http_coding.h"
#include "analysis/proto/http/http_parser.h"
#include "analysis/types.h"
#include "util/hash.h"

namespace botscope::analysis::http {

inline constexpr std::size_t kMaxTransactions = 10000;
inline constexpr std::size_t kMaxTransactionsPerConnection = 10000;
inline constexpr std::size_t kMaxOpenTransactions = 32;
inline constexpr std::size_t kMaxInvalidMessages = 20;
inline constexpr std::uint64_t kMaxDecodedBody = 32ull << 20;
inline constexpr std::uint64_t kMaxDecodedTotal = 1ull << 30;

/// Anomalies this analyzer reports, indexing kWeirds.
enum class Weird : std::uint8_t {
    kBadRequestLine,
    kBadStatusLine,
    kStartLineTooLong,
    kHeaderTooLong,
    kTooManyHeaders,
    kBadHeaderLine,
    kBadContentLength,
    kContentLengthAndChunked,
    kBadChunkSize,
    kChunkMissingCrlf,
    kUnmatchedResponse,
    kPipelineOverflow,
    kTransactionLimit,
    kBodyGap,
    kHeaderGap,
};

/// The one table of HTTP anomaly names, in Weird order.
inline constexpr std::array<WeirdInfo, 15> kWeirds = {{
    {"http_bad_request_line", "a client line where a request line belongs does not parse"},
    {"http_bad_status_line", "a server line where a status line belongs does not parse"},
    {"http_start_line_too_long", "a request or status line is longer than kMaxLineLength"},
    {"http_header_too_long", "a header or trailer line is longer than kMaxLineLength; dropped"},
    {"http_too_many_headers", "a message has more than kMaxHeaders header lines"},
    {"http_bad_header_line", "a header line has no colon or its name is not a token"},
    {"http_bad_content_length", "Content-Length is not a number or disagrees with another"},
    {"http_content_length_and_chunked", "both Content-Length and chunked; chunked wins"},
    {"http_bad_chunk_size", "chunk size not hex, negative, overflowing or above kMaxChunkSize"},
    {"http_chunk_missing_crlf", "chunk data is not followed by an empty line"},
    {"http_unmatched_response", "a response arrived with no request waiting for it"},
    {"http_pipeline_overflow", "over kMaxOpenTransactions requests awaited their response"},
    {"http_transaction_limit", "transactions past the per-connection or per-result limit"},
    {"http_body_gap", "bytes of a body were not captured; its hash covers the rest"},
    {"http_header_gap", "bytes in or between message heads were not captured"},
}};
static_assert(kWeirds.size() == static_cast<std::size_t>(Weird::kHeaderGap) + 1);

/// The stable `http_...` name of an anomaly.
std::string_view weird_name(Weird w);

/// One body as it streamed past, after de-chunking and, for a gzip or deflate content coding,
/// decoding (length, digests, type and `small` are then of the decoded content).
struct HttpBody {
    std::uint64_t length = 0;  ///< bytes actually seen
    /// Hex digests of the seen bytes; empty when length is 0. MD5 only for a body that starts
    /// like an executable (MZ or ELF): hashing every body twice would halve the throughput.
    std::string md5;
    std::string sha256;
    bool gap = false;            ///< bytes inside the body were not captured
    bool truncated = false;      ///< the stream ended before the declared end of the body
    bool framing_error = false;  ///< a bad chunk size ended the body early
    ExecutableKind executable = ExecutableKind::kNone;
    /// The whole body, when at most kMaxSmallBody bytes, complete and no executable.
    std::string small;
    /// The content coding undone ("gzip", "deflate"); empty when none was.
    std::string coding;
    /// With a coding: the bytes transferred, and their SHA-256.
    std::uint64_t wire_length = 0;
    std::string wire_sha256;
    /// The coded data was invalid: length, digests and type are those of the bytes
    /// transferred, as without a coding.
    bool coding_error = false;
    /// Decoding stopped at kMaxDecodedBody (or the analysis's kMaxDecodedTotal): the digests
    /// are of the decoded start only.
    bool coding_limit = false;

    /// The hashes describe the whole body.
    bool complete() const { return !gap && !truncated && !framing_error && !coding_limit; }
};

/// A request paired with its response. Either half may be missing: a request never answered
/// (has_response false) or a response without a known request (has_request false).
struct HttpTransaction {
    FlowId flow = 0;
    Endpoint client;
    Endpoint server;

    bool has_request = false;
    Timestamp request_ts = 0;  ///< first byte of the request line
    std::string method;
    std::string uri;                        ///< at most kMaxUriLength bytes
    bool uri_truncated = false;             ///< uri holds only the first bytes of the target
    std::uint64_t request_line_length = 0;  ///< bytes of the whole request line on the wire
    std::string version;                    ///< "1.1"; empty when the line was cut before it
    std::string host;
    std::string user_agent;
    std::string referer;
    std::string request_content_type;
    bool expect_continue = false;  ///< Expect: 100-continue
    std::uint32_t request_headers = 0;
    bool request_incomplete = false;  ///< the head was cut by a gap or the end of the stream
    HttpBody request_body;

    bool has_response = false;
    Timestamp response_ts = 0;  ///< first byte of the final (non-1xx) status line
    std::string response_version;
    std::uint16_t status_code = 0;
    std::string reason;
    std::string response_content_type;
    std::optional<std::uint64_t> content_length;  ///< as declared by the response
    bool chunked = false;
    std::string content_encoding;
    std::string location;
    std::string server_header;  ///< the Server header
    std::uint32_t response_headers = 0;
    std::uint32_t interim_responses = 0;  ///< 1xx responses before the final one
    bool response_incomplete = false;
    HttpBody response_body;

    bool tunnel = false;            ///< CONNECT 2xx or 101: the rest of the stream is not HTTP
    bool fields_truncated = false;  ///< some stored header value was cut at kMaxFieldLength
};

/// Everything the HTTP analyzers of one analysis contribute to the report.
struct HttpResult {
    /// At most kMaxTransactions, in order of completion.
    std::vector<HttpTransaction> transactions;
    std::uint64_t dropped = 0;  ///< transactions past kMaxTransactions or the per-connection limit
    std::uint64_t connections = 0;          ///< streams confirmed as HTTP
    std::uint64_t requests = 0;             ///< including dropped ones
    std::uint64_t responses = 0;            ///< final responses, including dropped ones
    std::uint64_t unmatched_responses = 0;  ///< responses with no request waiting
    std::uint64_t executables = 0;          ///< bodies recognised as PE, MZ or ELF
    std::uint64_t decoded_bytes = 0;        ///< content-coded bodies' output, all connections
};

/// Claims a stream when the client's first bytes are a request line or the server's start with
/// `HTTP/1.`; never decides on the port.
ProbeResult probe(const ProbeInput& in);

/// One TCP connection's HTTP; writes finished transactions into the shared HttpResult as they
/// complete and everything still open at on_end.
class HttpAnalyzer final : public StreamAnalyzer {
public:
    HttpAnalyzer(const AnalyzerContext& ctx, HttpResult& result);
    ~HttpAnalyzer() override;

    void on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) override;
    void on_gap(Direction dir, std::uint64_t len, Timestamp ts) override;
    void on_eof(Direction dir, Timestamp ts) override;
    void on_end(Timestamp ts) override;
    bool gave_up() const override { return gave_up_; }

private:
    enum class State : std::uint8_t {
        kStartLine,
        kHeaders,
        kBodyLength,
        kBodyClose,
        kChunkSize,
        kChunkData,
        kChunkDataEnd,
        kTrailers,
        kDesync,  ///< framing lost: skip lines until a valid start line
        kClosed,
    };

    struct OpenTxn {
        HttpTransaction rec;
        bool req_done = false;
        bool resp_started = false;
        bool resp_done = false;
    };

    /// Parsing state of one direction.
    struct Side {
        State state = State::kStartLine;
        std::string line;
        bool line_cut = false;
        bool line_ends_cr = false;     ///< the last byte seen of the line was CR
        std::uint64_t line_total = 0;  ///< bytes of the line on the wire, kept or not
        Timestamp line_ts = 0;

        OpenTxn* txn = nullptr;  ///< the message being parsed, owned by open_ or detached_
        bool interim = false;    ///< parsing the head of a 1xx response
        std::uint32_t header_lines = 0;
        bool header_limit_reported = false;
        std::optional<std::uint64_t> content_length;
        bool chunked = false;
        bool transfer_encoding = false;     ///< a Transfer-Encoding header was present
        std::string* last_field = nullptr;  ///< where a folded continuation line goes

        std::uint64_t remaining = 0;  ///< Content-Length or chunk bytes still expected
        util::Sha256 sha256;
        /// MD5 only for executables (MZ or ELF start), the key AV reports of the era use;
        /// decided on the body's first kMd5DecisionBytes, which `sniff` holds until then.
        std::optional<util::Md5> md5;
        bool md5_decided = false;
        std::uint64_t body_bytes = 0;
        std::vector<std::uint8_t> sniff;  ///< first kSniffBytes of the body
        /// A response body's content coding being undone; the wire_ fields follow the bytes
        /// transferred, for its wire digest and in case the coded data proves invalid.
        std::unique_ptr<Inflater> inflater;
        util::Sha256 wire_sha256;
        std::uint64_t wire_bytes = 0;
        std::vector<std::uint8_t> wire_sniff;
        /// The response body as a file for the inspector (stream_inspector.h), 0 when none.
        std::uint64_t file = 0;
        bool file_asked = false;
    };

    Side& side(Direction dir) { return dir == Direction::kOrig ? orig_ : resp_; }
    HttpBody& body_of(Direction dir, OpenTxn& t) {
        return dir == Direction::kOrig ? t.rec.request_body : t.rec.response_body;
    }

    void append_line_bytes(Side& s, std::span<const std::uint8_t> bytes, Timestamp ts);
    void handle_line(Direction dir, std::string_view line, bool cut, Timestamp ts);
    void handle_start_line(Direction dir, std::string_view line, bool cut, Timestamp ts);
    void begin_request(const RequestLine& rl, Timestamp ts);
    void begin_response(const StatusLine& sl, Timestamp ts);
    void reset_head(Side& s);
    void reset_line(Side& s);
    OpenTxn* first_unanswered();
    void handle_header_line(Direction dir, std::string_view line, bool cut, Timestamp ts);
    void store_field(Direction dir, std::string_view name, std::string_view value, Timestamp ts);
    void end_of_head(Direction dir, Timestamp ts);
    void handle_chunk_size(Direction dir, std::string_view line, Timestamp ts);
    void feed_body(Side& s, std::span<const std::uint8_t> bytes);
    void feed_content(Side& s, std::span<const std::uint8_t> bytes);
    void carve(Side& s, std::span<const std::uint8_t> bytes);
    void finish_file(Side& s, const HttpBody& body);
    void finish_message(Direction dir, State next);
    void finish_body(Side& s, HttpBody& body);
    void abandon_message(Direction dir, State next);
    void enter_tunnel();
    OpenTxn* new_txn(Timestamp ts);
    std::unique_ptr<OpenTxn> make_txn() const;
    void flush_done();
    void record(HttpTransaction&& t, Timestamp ts);
    void invalid_message();
    void weird(Weird w, Timestamp ts, std::string_view detail = {});

    AnalyzerContext ctx_;
    HttpResult& result_;
    Side orig_;
    Side resp_;
    std::deque<std::unique_ptr<OpenTxn>> open_;  ///< requests in order, awaiting completion
    std::unique_ptr<OpenTxn> detached_;          ///< a response no queued request waits for
    std::uint64_t evicted_unanswered_ = 0;
    std::uint64_t recorded_ = 0;
    std::size_t invalid_ = 0;
    bool confirmed_ = false;
    bool gave_up_ = false;
    bool limit_reported_ = false;
    bool ended_ = false;
};

}  // namespace botscope::analysis::http
