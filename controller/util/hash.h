#pragma once
// Hashes through OpenSSL's libcrypto: its MD5 and SHA-256 use the CPU's SHA extensions and
// tuned assembly, several times faster than portable code, and hashing every HTTP body, mail
// and transferred file is the analysis engine's hottest path.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace botscope::util {

namespace detail {
/// One incremental digest (an EVP_MD_CTX); movable, not copyable.
class Digest {
public:
    enum class Kind : std::uint8_t { kMd5, kSha256 };
    explicit Digest(Kind kind);
    ~Digest();
    Digest(Digest&& other) noexcept;
    Digest& operator=(Digest&& other) noexcept;
    Digest(const Digest&) = delete;
    Digest& operator=(const Digest&) = delete;

    void update(std::span<const std::uint8_t> data);
    /// Writes the digest into `out` (16 or 32 bytes); the object is spent afterwards.
    void finish(std::span<std::uint8_t> out);

private:
    void* ctx_ = nullptr;  // EVP_MD_CTX, kept out of this header
};
}  // namespace detail

/// Incremental MD5 (RFC 1321). Used only to name files as other tools do, never for security.
class Md5 {
public:
    void update(std::span<const std::uint8_t> data) { d_.update(data); }
    std::array<std::uint8_t, 16> finish() {
        std::array<std::uint8_t, 16> out{};
        d_.finish(out);
        return out;
    }

private:
    detail::Digest d_{detail::Digest::Kind::kMd5};
};

/// Incremental SHA-256 (FIPS 180-4).
class Sha256 {
public:
    void update(std::span<const std::uint8_t> data) { d_.update(data); }
    std::array<std::uint8_t, 32> finish() {
        std::array<std::uint8_t, 32> out{};
        d_.finish(out);
        return out;
    }

private:
    detail::Digest d_{detail::Digest::Kind::kSha256};
};

/// HMAC-SHA256 (RFC 2104).
std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key,
                                         std::span<const std::uint8_t> message);

/// Lower-case hex of bytes.
std::string to_hex(std::span<const std::uint8_t> bytes);

/// SHA-1 (FIPS 180-4) in one go: only for the name-based UUIDs of RFC 9562 (version 5), which
/// are defined over it; never for anything that needs collision resistance.
std::array<std::uint8_t, 20> sha1(std::span<const std::uint8_t> data);

std::string md5_hex(std::span<const std::uint8_t> data);
std::string sha256_hex(std::span<const std::uint8_t> data);

/// Hashes a stream incrementally and keeps its size: the pair every file record carries.
class FileHasher {
public:
    void update(std::span<const std::uint8_t> data) {
        md5_.update(data);
        sha256_.update(data);
        size_ += data.size();
    }
    std::uint64_t size() const { return size_; }
    /// Hex digests; call once.
    std::pair<std::string, std::string> finish() {
        auto m = md5_.finish();
        auto s = sha256_.finish();
        return {to_hex(m), to_hex(s)};
    }

private:
    Md5 md5_;
    Sha256 sha256_;
    std::uint64_t size_ = 0;
};

}  // namespace botscope::util
