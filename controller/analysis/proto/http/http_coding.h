#pragma once
// Content codings of HTTP bodies (RFC 9110 8.4.1): gzip and deflate undone with zlib, so that
// a bot's download or command reply served compressed is typed, hashed and read as what it
// is. Bounded: the caller caps the output (a small coded body can inflate a thousandfold).

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace botscope::analysis::http {

class Inflater {
public:
    enum class Coding : std::uint8_t { kGzip, kDeflate };

    /// "gzip" and "x-gzip" (RFC 9110), "deflate" (a zlib stream, or a raw deflate stream as
    /// some servers send), case-insensitive; nullptr for any other coding.
    static std::unique_ptr<Inflater> for_coding(std::string_view content_encoding);

    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    /// Decodes `in`, handing each piece of output (at most 16 KiB) to `out`, until the input is
    /// used up, the stream ended, the data proved invalid, or `budget` output bytes were given
    /// (then limited() is true and the rest is not decoded). Returns the bytes given to `out`.
    template <typename Out>
    std::uint64_t feed(std::span<const std::uint8_t> in, std::uint64_t budget, Out&& out) {
        std::uint64_t given = 0;
        while (!in.empty() && !failed_ && !ended_ && given < budget) {
            std::span<const std::uint8_t> piece = step(in, budget - given);
            given += piece.size();
            if (!piece.empty())
                out(piece);
        }
        if (given >= budget && !ended_ && !failed_ && !in.empty())
            limited_ = true;
        return given;
    }

    Coding coding() const { return coding_; }
    /// The coded stream reached its end (gzip: with its trailer checked).
    bool ended() const { return ended_; }
    /// The data was not valid for its coding; nothing more is decoded.
    bool failed() const { return failed_; }
    /// Output stopped at the budget.
    bool limited() const { return limited_; }

private:
    explicit Inflater(Coding c);
    /// Decodes from the front of `in` (advancing it) into the output buffer, at most `room`
    /// bytes; returns what was written.
    std::span<const std::uint8_t> step(std::span<const std::uint8_t>& in, std::uint64_t room);
    bool init(int window_bits);

    struct Stream;
    std::unique_ptr<Stream> z_;
    Coding coding_;
    bool ended_ = false;
    bool failed_ = false;
    bool limited_ = false;
    bool raw_tried_ = false;         ///< deflate: fell back to raw deflate once
    std::uint64_t consumed_ = 0;     ///< coded bytes taken so far
    std::uint8_t head_[2] = {0, 0};  ///< deflate: the first bytes, to replay as raw deflate
};

}  // namespace botscope::analysis::http
