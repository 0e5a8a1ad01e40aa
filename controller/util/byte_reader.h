#pragma once
// The one checked reader for binary input. Every read is bounds-checked; a read past the end
// returns zero (or an empty span), sets a sticky failure flag and consumes nothing, so a parser
// can read a whole structure and test ok() once.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace botscope::util {

class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> data) : data_(data) {}

    /// False once any read or skip went past the end.
    bool ok() const { return ok_; }
    std::size_t offset() const { return pos_; }
    std::size_t remaining() const { return data_.size() - pos_; }
    std::size_t size() const { return data_.size(); }
    std::span<const std::uint8_t> data() const { return data_; }
    /// Everything not yet read.
    std::span<const std::uint8_t> rest() const { return data_.subspan(pos_); }

    bool has(std::size_t n) const { return n <= data_.size() - pos_; }

    bool skip(std::size_t n) {
        if (!has(n))
            return fail();
        pos_ += n;
        return true;
    }

    /// Moves to an absolute offset; offsets past the end fail.
    bool seek(std::size_t off) {
        if (off > data_.size())
            return fail();
        pos_ = off;
        return true;
    }

    std::uint8_t u8() {
        if (!has(1))
            return fail(), 0;
        return data_[pos_++];
    }
    std::uint16_t u16be() {
        if (!has(2))
            return fail(), 0;
        std::uint16_t v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::uint16_t u16le() {
        if (!has(2))
            return fail(), 0;
        std::uint16_t v = static_cast<std::uint16_t>((data_[pos_ + 1] << 8) | data_[pos_]);
        pos_ += 2;
        return v;
    }
    std::uint32_t u32be() {
        if (!has(4))
            return fail(), 0;
        std::uint32_t v = (std::uint32_t{data_[pos_]} << 24) |
                          (std::uint32_t{data_[pos_ + 1]} << 16) |
                          (std::uint32_t{data_[pos_ + 2]} << 8) | std::uint32_t{data_[pos_ + 3]};
        pos_ += 4;
        return v;
    }
    std::uint32_t u32le() {
        if (!has(4))
            return fail(), 0;
        std::uint32_t v = (std::uint32_t{data_[pos_ + 3]} << 24) |
                          (std::uint32_t{data_[pos_ + 2]} << 16) |
                          (std::uint32_t{data_[pos_ + 1]} << 8) | std::uint32_t{data_[pos_]};
        pos_ += 4;
        return v;
    }

    /// The next n bytes, or an empty span (and failure) when fewer remain.
    std::span<const std::uint8_t> bytes(std::size_t n) {
        if (!has(n))
            return fail(), std::span<const std::uint8_t>{};
        auto s = data_.subspan(pos_, n);
        pos_ += n;
        return s;
    }

    /// Reads a byte at an absolute offset without moving; failure when out of range.
    std::uint8_t peek_at(std::size_t off) {
        if (off >= data_.size())
            return fail(), 0;
        return data_[off];
    }

private:
    bool fail() {
        ok_ = false;
        return false;
    }

    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

/// Views bytes as characters (for text protocols); no copy.
inline std::string_view as_chars(std::span<const std::uint8_t> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace botscope::util
