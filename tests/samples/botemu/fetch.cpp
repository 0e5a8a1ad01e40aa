#include "fetch.h"

#include "analysis/proto/http/http_parser.h"
#include "analysis/proto/tftp/tftp_parser.h"
#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::botemu {

namespace http = analysis::http;
namespace tftp = analysis::tftp;

namespace {

// Reads header lines from `pos` up to the empty line; false when they did not end yet.
bool read_headers(std::span<const std::uint8_t> data, std::size_t& pos, HttpResponse& r) {
    while (true) {
        auto scan = http::scan_line(data.subspan(pos));
        if (scan.status != http::ParseStatus::kOk)
            return false;
        auto line = util::as_chars(data.subspan(pos, scan.length));
        pos += scan.consumed;
        if (line.empty())
            return true;
        auto field = http::parse_header_line(line);
        if (field.status != http::ParseStatus::kOk)
            continue;  // tolerated, as browsers did
        if (util::iequals(field.name, "Content-Length")) {
            r.content_length = http::parse_content_length(field.value);
            if (!r.content_length)
                r.error = "bad Content-Length";
        } else if (util::iequals(field.name, "Transfer-Encoding") &&
                   http::is_chunked_coding(field.value)) {
            r.error = "chunked response";
        }
    }
}

}  // namespace

std::string build_get_request(std::string_view host, std::uint16_t port, std::string_view path) {
    std::string req = "GET " + std::string(path) + " HTTP/1.0\r\nHost: " + std::string(host);
    if (port != 80)
        req += ":" + std::to_string(port);
    req += "\r\nUser-Agent: " + std::string(kUserAgent) +
           "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    return req;
}

HttpResponse parse_http_response(std::span<const std::uint8_t> data, bool closed) {
    HttpResponse r;
    // Failures after the status line keep its code: a beacon reports it even when the body
    // was not read whole.
    auto fail = [&r](std::string why) {
        r.status = HttpResponse::Status::kError;
        r.error = std::move(why);
        return r;
    };
    auto incomplete = [&](std::string why) {
        if (closed)
            return fail(std::move(why));
        r.status = HttpResponse::Status::kIncomplete;
        return r;
    };
    const std::string too_large =
        "response header larger than " + std::to_string(kMaxHttpHeaderBytes) + " bytes";
    auto head = data.first(std::min(data.size(), kMaxHttpHeaderBytes));
    auto first = http::scan_line(head);
    if (first.status != http::ParseStatus::kOk) {
        if (head.size() == kMaxHttpHeaderBytes)
            return fail(too_large);
        return incomplete("connection closed before the status line");
    }
    auto status = http::parse_status_line(util::as_chars(head.first(first.length)));
    if (status.status != http::ParseStatus::kOk)
        return fail("not an HTTP response");
    r.code = status.code;
    std::size_t pos = first.consumed;
    if (!read_headers(head, pos, r)) {
        if (head.size() == kMaxHttpHeaderBytes)
            return fail(too_large);
        return incomplete("connection closed inside the response header");
    }
    if (!r.error.empty())
        return fail(r.error);
    r.body = data.subspan(pos);
    if (r.content_length) {
        if (r.body.size() < *r.content_length)
            return incomplete("connection closed after " + std::to_string(r.body.size()) + " of " +
                              std::to_string(*r.content_length) + " bytes");
        r.body = r.body.first(static_cast<std::size_t>(*r.content_length));
    } else if (!closed) {
        return incomplete({});  // the body ends when the server closes
    }
    r.status = HttpResponse::Status::kOk;
    return r;
}

std::vector<std::uint8_t> build_tftp_rrq(std::string_view file) {
    std::vector<std::uint8_t> p = {0, static_cast<std::uint8_t>(tftp::Opcode::kRrq)};
    p.insert(p.end(), file.begin(), file.end());
    p.push_back(0);
    for (char c : std::string_view("octet"))
        p.push_back(static_cast<std::uint8_t>(c));
    p.push_back(0);
    return p;
}

std::vector<std::uint8_t> build_tftp_ack(std::uint16_t block) {
    return {0, static_cast<std::uint8_t>(tftp::Opcode::kAck), static_cast<std::uint8_t>(block >> 8),
            static_cast<std::uint8_t>(block & 0xFF)};
}

TftpReceiver::Reply TftpReceiver::on_datagram(std::span<const std::uint8_t> payload) {
    using S = Step;
    if (done_)
        return {S::kIgnore, 0, {}};
    auto p = tftp::parse_packet(payload);
    if (!p.ok())
        return {S::kIgnore, 0, {}};
    switch (static_cast<tftp::Opcode>(p.opcode)) {
        case tftp::Opcode::kError:
            return {S::kFailed, 0,
                    "TFTP error " + std::to_string(p.error_code) +
                        (p.error_message.empty() ? "" : ": " + p.error_message)};
        case tftp::Opcode::kData:
            break;
        case tftp::Opcode::kOack:
            return {S::kFailed, 0, "TFTP server answered options that were not asked for"};
        case tftp::Opcode::kRrq:
        case tftp::Opcode::kWrq:
        case tftp::Opcode::kAck:
            return {S::kIgnore, 0, {}};
    }
    if (p.block == static_cast<std::uint16_t>(next_block_ - 1) && next_block_ != 1)
        return {S::kAck, p.block, {}};  // our ACK was lost: say it again
    if (p.block != next_block_)
        return {S::kIgnore, 0, {}};
    if (p.data.size() > kTftpBlockSize)
        return {S::kFailed, 0, "TFTP block larger than " + std::to_string(kTftpBlockSize)};
    if (p.data.size() > max_bytes_ - data_.size())
        return {S::kFailed, 0, "file larger than " + std::to_string(max_bytes_ / 1024) + " KB"};
    data_.insert(data_.end(), p.data.begin(), p.data.end());
    ++next_block_;
    if (p.data.size() < kTftpBlockSize) {
        done_ = true;
        return {S::kDone, p.block, {}};
    }
    if (next_block_ == 0)
        return {S::kFailed, 0, "TFTP block numbers wrapped"};
    return {S::kAck, p.block, {}};
}

}  // namespace botscope::botemu
