#pragma once
// The pure halves of the two download protocols and of the beacon: HTTP/1.0 requests and
// responses, TFTP read requests and the receiving side of a transfer. The sockets are in
// actions.cpp.
//
// HTTP limits: the status line and headers must end within kMaxHttpHeaderBytes; chunked
// responses are refused (an HTTP/1.0 request gets none from a sane server); a Content-Length
// is honoured, otherwise the body ends when the server closes. Lines are read with the
// analysis' HTTP parser (scan_line, parse_status_line, parse_header_line).
//
// TFTP (RFC 1350, octet mode, no options): blocks of kTftpBlockSize, each acknowledged; a
// block shorter than that ends the transfer; at most kMaxDownloadBytes are kept, past that
// the transfer fails. Datagrams are read with the analysis' TFTP parser.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bounds.h"

namespace botscope::botemu {

/// An HTTP/1.0 GET with Host, User-Agent (kUserAgent), Accept and Connection: close.
/// `host` goes into the Host header as given (with ":port" when not 80).
std::string build_get_request(std::string_view host, std::uint16_t port, std::string_view path);

struct HttpResponse {
    enum class Status { kOk, kIncomplete, kError };
    Status status = Status::kIncomplete;
    std::string error;  ///< when kError
    std::uint16_t code = 0;
    std::optional<std::uint64_t> content_length;
    /// The body (a view into the parsed bytes), cut to Content-Length.
    std::span<const std::uint8_t> body;
};

/// Parses what has been read of a response. `closed` says the server has closed the
/// connection, so nothing more will come: a response still incomplete then is an error.
/// kIncomplete otherwise means "read on".
HttpResponse parse_http_response(std::span<const std::uint8_t> data, bool closed);

/// A read request for `file` in octet mode.
std::vector<std::uint8_t> build_tftp_rrq(std::string_view file);
/// An acknowledgement of `block`.
std::vector<std::uint8_t> build_tftp_ack(std::uint16_t block);

/// The receiving side of one TFTP transfer.
class TftpReceiver {
public:
    enum class Step {
        kAck,     ///< acknowledge `block` (a new block, or the last one again)
        kDone,    ///< acknowledge `block`, then the file is complete
        kIgnore,  ///< not a datagram of this transfer at this point; keep waiting
        kFailed,  ///< the transfer is over: `error` says why
    };
    struct Reply {
        Step step = Step::kIgnore;
        std::uint16_t block = 0;
        std::string error;
    };

    explicit TftpReceiver(std::size_t max_bytes = kMaxDownloadBytes) : max_bytes_(max_bytes) {}

    /// One datagram from the server's transfer port.
    Reply on_datagram(std::span<const std::uint8_t> payload);

    const std::vector<std::uint8_t>& data() const { return data_; }
    bool done() const { return done_; }

private:
    std::size_t max_bytes_;
    std::uint16_t next_block_ = 1;
    std::vector<std::uint8_t> data_;
    bool done_ = false;
};

}  // namespace botscope::botemu
