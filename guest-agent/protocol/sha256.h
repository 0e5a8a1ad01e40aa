#pragma once
// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in portable C++. The agent cannot use
// OpenSSL (Debian ships no mingw-w64 build of it), and the agent only hashes the files it sends
// and the short authentication messages, so speed matters little. The controller uses OpenSSL
// (util/hash.h); the agent test suite checks both against each other and against the FIPS 180-4
// and RFC 4231 vectors.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace botscope::agent::proto {

/// Incremental SHA-256.
class Sha256 {
public:
    Sha256() { reset(); }

    void reset() {
        state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        buffered_ = 0;
        total_ = 0;
    }

    void update(std::span<const std::uint8_t> data) {
        total_ += data.size();
        std::size_t i = 0;
        if (buffered_ > 0) {
            while (buffered_ < 64 && i < data.size())
                buf_[buffered_++] = data[i++];
            if (buffered_ < 64)
                return;
            block(buf_.data());
            buffered_ = 0;
        }
        for (; data.size() - i >= 64; i += 64)
            block(data.data() + i);
        while (i < data.size())
            buf_[buffered_++] = data[i++];
    }

    void update(std::string_view s) {
        update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
    }

    /// The digest; the object is reset afterwards.
    std::array<std::uint8_t, 32> finish() {
        const std::uint64_t bits = total_ * 8;
        static constexpr std::uint8_t kPad[64] = {0x80};
        std::size_t pad = buffered_ < 56 ? 56 - buffered_ : 120 - buffered_;
        update({kPad, pad});
        std::uint8_t len[8];
        for (int i = 0; i < 8; ++i)
            len[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
        update({len, 8});
        std::array<std::uint8_t, 32> out{};
        for (std::size_t i = 0; i < 8; ++i)
            for (std::size_t j = 0; j < 4; ++j)
                out[i * 4 + j] = static_cast<std::uint8_t>(state_[i] >> (24 - 8 * j));
        reset();
        return out;
    }

private:
    static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

    void block(const std::uint8_t* p) {
        static constexpr std::uint32_t kK[64] = {
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2};
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = (std::uint32_t{p[4 * i]} << 24) | (std::uint32_t{p[4 * i + 1]} << 16) |
                   (std::uint32_t{p[4 * i + 2]} << 8) | std::uint32_t{p[4 * i + 3]};
        for (int i = 16; i < 64; ++i) {
            std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
        std::uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
        for (int i = 0; i < 64; ++i) {
            std::uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            std::uint32_t ch = (e & f) ^ (~e & g);
            std::uint32_t t1 = h + s1 + ch + kK[i] + w[i];
            std::uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            std::uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            std::uint32_t t2 = s0 + maj;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state_[0] += a;
        state_[1] += b;
        state_[2] += c;
        state_[3] += d;
        state_[4] += e;
        state_[5] += f;
        state_[6] += g;
        state_[7] += h;
    }

    std::array<std::uint32_t, 8> state_{};
    std::array<std::uint8_t, 64> buf_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_ = 0;
};

inline std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

/// HMAC-SHA256 (RFC 2104): keys longer than the 64-byte block are hashed first.
inline std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key,
                                                std::span<const std::uint8_t> message) {
    std::array<std::uint8_t, 64> k{};
    if (key.size() > 64) {
        auto d = sha256(key);
        for (std::size_t i = 0; i < d.size(); ++i)
            k[i] = d[i];
    } else {
        for (std::size_t i = 0; i < key.size(); ++i)
            k[i] = key[i];
    }
    std::array<std::uint8_t, 64> ipad{}, opad{};
    for (std::size_t i = 0; i < 64; ++i) {
        ipad[i] = static_cast<std::uint8_t>(k[i] ^ 0x36);
        opad[i] = static_cast<std::uint8_t>(k[i] ^ 0x5c);
    }
    Sha256 inner;
    inner.update(ipad);
    inner.update(message);
    auto ih = inner.finish();
    Sha256 outer;
    outer.update(opad);
    outer.update(ih);
    return outer.finish();
}

/// Incremental HMAC-SHA256, for messages that arrive or leave in pieces (a frame's body).
class HmacSha256 {
public:
    explicit HmacSha256(std::span<const std::uint8_t> key) {
        std::array<std::uint8_t, 64> k{};
        if (key.size() > 64) {
            auto d = sha256(key);
            for (std::size_t i = 0; i < d.size(); ++i)
                k[i] = d[i];
        } else {
            for (std::size_t i = 0; i < key.size(); ++i)
                k[i] = key[i];
        }
        std::array<std::uint8_t, 64> ipad{};
        for (std::size_t i = 0; i < 64; ++i) {
            ipad[i] = static_cast<std::uint8_t>(k[i] ^ 0x36);
            opad_[i] = static_cast<std::uint8_t>(k[i] ^ 0x5c);
        }
        inner_.update(ipad);
    }
    void update(std::span<const std::uint8_t> data) { inner_.update(data); }
    std::array<std::uint8_t, 32> finish() {
        auto ih = inner_.finish();
        Sha256 outer;
        outer.update(opad_);
        outer.update(ih);
        return outer.finish();
    }

private:
    Sha256 inner_;
    std::array<std::uint8_t, 64> opad_{};
};

/// Lower-case hex.
inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0xf]);
    }
    return out;
}

/// Decodes hex (either case) of exactly `out.size()` bytes; false on any other input.
inline bool from_hex(std::string_view hex, std::span<std::uint8_t> out) {
    if (hex.size() != out.size() * 2)
        return false;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return true;
}

/// Compares in time independent of where the first difference is (proof checks).
inline bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    if (a.size() != b.size())
        return false;
    std::uint8_t diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
    return diff == 0;
}

}  // namespace botscope::agent::proto
