#include "analysis/proto/http/http_coding.h"

#include <zlib.h>

#include <algorithm>
#include <array>

#include "util/text.h"

namespace botscope::analysis::http {

struct Inflater::Stream {
    z_stream z{};
    bool live = false;
    std::array<std::uint8_t, 16 * 1024> out{};
    ~Stream() {
        if (live)
            inflateEnd(&z);
    }
};

std::unique_ptr<Inflater> Inflater::for_coding(std::string_view content_encoding) {
    std::string c = util::to_lower(content_encoding);
    // A list of codings ("gzip, identity") is rare from the servers bots talk to; only a
    // single coding is undone.
    std::unique_ptr<Inflater> out;
    if (c == "gzip" || c == "x-gzip")
        out.reset(new Inflater(Coding::kGzip));
    else if (c == "deflate")
        out.reset(new Inflater(Coding::kDeflate));
    if (out && out->failed_)
        return nullptr;
    return out;
}

Inflater::Inflater(Coding c) : z_(std::make_unique<Stream>()), coding_(c) {
    // gzip: 16 + 15 reads a gzip wrapper; deflate: 15 reads a zlib one (RFC 9110), and a raw
    // stream is tried if its first bytes are no zlib header.
    failed_ = !init(c == Coding::kGzip ? 16 + MAX_WBITS : MAX_WBITS);
}

Inflater::~Inflater() = default;

bool Inflater::init(int window_bits) {
    if (z_->live)
        inflateEnd(&z_->z);
    z_->z = z_stream{};
    z_->live = inflateInit2(&z_->z, window_bits) == Z_OK;
    return z_->live;
}

std::span<const std::uint8_t> Inflater::step(std::span<const std::uint8_t>& in,
                                             std::uint64_t room) {
    z_stream& z = z_->z;
    // zlib's counts are 32-bit: feed at most 1 GiB at a time.
    const auto avail = static_cast<uInt>(std::min<std::size_t>(in.size(), 1u << 30));
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = avail;
    z.next_out = z_->out.data();
    z.avail_out = static_cast<uInt>(std::min<std::uint64_t>(z_->out.size(), room));
    int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t used = avail - z.avail_in;
    const std::size_t made = static_cast<std::size_t>(z.next_out - z_->out.data());
    for (std::size_t i = 0; i < used && consumed_ + i < 2; ++i)
        head_[consumed_ + i] = in[i];
    consumed_ += used;
    in = in.subspan(used);
    if (rc == Z_STREAM_END) {
        ended_ = true;
    } else if (rc == Z_DATA_ERROR && coding_ == Coding::kDeflate && !raw_tried_ && consumed_ <= 2 &&
               made == 0) {
        // No zlib header: a raw deflate stream. Start again from its first bytes.
        raw_tried_ = true;
        std::uint64_t replay = consumed_;
        consumed_ = 0;
        if (!init(-MAX_WBITS)) {
            failed_ = true;
        } else if (replay > 0) {
            std::uint8_t head[2] = {head_[0], head_[1]};
            std::span<const std::uint8_t> h(head, replay);
            return step(h, room);  // at most 2 bytes: the rest follows in the next step
        }
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        failed_ = true;
    } else if (rc == Z_BUF_ERROR && used == 0 && made == 0) {
        failed_ = true;  // no progress possible: never loop
    }
    return {z_->out.data(), made};
}

}  // namespace botscope::analysis::http
