// libFuzzer target for the HTTP parser and analyzer.
//
// Input layout: two bytes (big-endian) give how many payload bytes are the client's, the third
// steers the run (cut sizes, where a gap goes, whether a FIN comes first), the rest is payload:
// the client's bytes then the server's. Every piece is copied into its own heap buffer of
// exactly its size so AddressSanitizer sees any read past its end.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "analysis/proto/http/http_analyzer.h"
#include "analysis/proto/http/http_parser.h"

using namespace botscope::analysis;

namespace {

struct HeapCopy {
    std::unique_ptr<std::uint8_t[]> buf;
    std::size_t size = 0;

    explicit HeapCopy(std::span<const std::uint8_t> s)
        : buf(std::make_unique<std::uint8_t[]>(s.empty() ? 1 : s.size())), size(s.size()) {
        if (!s.empty())
            std::memcpy(buf.get(), s.data(), s.size());
    }
    std::span<const std::uint8_t> span() const { return {buf.get(), size}; }
    std::string_view text() const { return {reinterpret_cast<const char*>(buf.get()), size}; }
};

void parse_everything(std::span<const std::uint8_t> data) {
    HeapCopy whole(data);
    (void)http::classify_executable(whole.span());
    (void)http::probe_request(whole.span());
    (void)http::probe_response(whole.span());

    auto rest = whole.span();
    while (!rest.empty()) {
        auto scan = http::scan_line(rest);
        std::size_t len = scan.status == http::ParseStatus::kOk ? scan.length : rest.size();
        HeapCopy line(rest.first(len));
        auto text = line.text();
        (void)http::parse_request_line(text, false);
        (void)http::parse_request_line(text, true);
        (void)http::parse_status_line(text);
        auto h = http::parse_header_line(text);
        if (h.status == http::ParseStatus::kOk) {
            (void)http::parse_content_length(h.value);
            (void)http::is_chunked_coding(h.value);
            (void)http::list_has_token(h.value, "100-continue");
        }
        (void)http::is_continuation_line(text);
        (void)http::parse_chunk_size_line(text);
        (void)http::is_known_method(text);
        if (scan.status != http::ParseStatus::kOk)
            break;
        rest = rest.subspan(scan.consumed);
    }
}

// Feeds one direction's bytes in pieces whose sizes cycle through a steered pattern.
class Feeder {
public:
    Feeder(Direction dir, std::span<const std::uint8_t> data) : dir_(dir), data_(data) {}
    bool done() const { return data_.empty(); }

    void step(http::HttpAnalyzer& a, std::size_t piece, Timestamp ts) {
        auto n = std::min(std::max<std::size_t>(piece, 1), data_.size());
        HeapCopy copy(data_.first(n));
        a.on_data(dir_, copy.span(), ts);
        data_ = data_.subspan(n);
    }

private:
    Direction dir_;
    std::span<const std::uint8_t> data_;
};

void run_analyzer(std::span<const std::uint8_t> orig, std::span<const std::uint8_t> resp,
                  std::uint8_t steer) {
    Weirds weirds;
    http::HttpResult result;
    AnalyzerContext ctx;
    ctx.flow.id = 1;
    ctx.flow.transport = Transport::kTcp;
    ctx.weirds = &weirds;
    http::HttpAnalyzer a(ctx, result);

    constexpr std::array<std::size_t, 8> kPieces = {1, 3, 17, 64, 200, 1460, 4096, 65536};
    std::size_t pattern = steer & 7;
    std::size_t gap_after = (steer >> 3) & 7;  // gap after this many pieces (7: none)
    bool early_fin = (steer & 0x40) != 0;

    Feeder fo(Direction::kOrig, orig);
    Feeder fr(Direction::kResp, resp);
    Timestamp ts = 1'000'000'000;
    std::size_t step = 0;
    while ((!fo.done() || !fr.done()) && !a.gave_up()) {
        auto piece = kPieces[(pattern + step) % kPieces.size()];
        if (!fo.done())
            fo.step(a, piece, ts);
        if (!fr.done())
            fr.step(a, piece, ts + 1);
        if (gap_after != 7 && step == gap_after)
            a.on_gap((steer & 0x80) ? Direction::kResp : Direction::kOrig, piece * 3 + 1, ts);
        if (early_fin && fo.done())
            a.on_eof(Direction::kOrig, ts);
        ++step;
        ts += 1000;
    }
    a.on_eof(Direction::kOrig, ts);
    a.on_eof(Direction::kResp, ts);
    a.on_end(ts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> input(data, size);
    if (input.size() < 3)
        return 0;
    std::size_t orig_len = (std::size_t{input[0]} << 8) | input[1];
    std::uint8_t steer = input[2];
    auto payload = input.subspan(3);
    orig_len = std::min(orig_len, payload.size());

    parse_everything(payload);

    HeapCopy orig(payload.first(orig_len));
    HeapCopy resp(payload.subspan(orig_len));
    ProbeInput in;
    in.orig = orig.span();
    in.resp = resp.span();
    (void)http::probe(in);

    run_analyzer(orig.span(), resp.span(), steer);
    // The whole input once more as a single client stream: deep request parsing.
    run_analyzer(payload, {}, steer);
    return 0;
}
