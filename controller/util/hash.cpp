#include "util/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace botscope::util {

namespace detail {

namespace {
EVP_MD_CTX* ctx_of(void* p) {
    return static_cast<EVP_MD_CTX*>(p);
}

/// OpenSSL 3 looks the algorithm up in its provider tables on every init given EVP_sha256()
/// (an implicit fetch, with locks): fetched once, an init is cheap. The analysis hashes every
/// HTTP body and mail, so a flood of short sessions made the lookups a twentieth of its time.
const EVP_MD* fetched(Digest::Kind kind) {
    static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return kind == Digest::Kind::kMd5 ? md5 : sha256;
}
}  // namespace

Digest::Digest(Kind kind) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const EVP_MD* md = fetched(kind);
    // Only allocation failure can make these fail: that is broken setup, not hostile input.
    if (!ctx || !md || EVP_DigestInit_ex2(ctx, md, nullptr) != 1)
        throw std::bad_alloc();
    ctx_ = ctx;
}

Digest::~Digest() {
    EVP_MD_CTX_free(ctx_of(ctx_));
}

Digest::Digest(Digest&& other) noexcept : ctx_(other.ctx_) {
    other.ctx_ = nullptr;
}

Digest& Digest::operator=(Digest&& other) noexcept {
    if (this != &other) {
        EVP_MD_CTX_free(ctx_of(ctx_));
        ctx_ = other.ctx_;
        other.ctx_ = nullptr;
    }
    return *this;
}

void Digest::update(std::span<const std::uint8_t> data) {
    if (!data.empty())
        EVP_DigestUpdate(ctx_of(ctx_), data.data(), data.size());
}

void Digest::finish(std::span<std::uint8_t> out) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_of(ctx_), md, &len);
    std::memcpy(out.data(), md, std::min<std::size_t>(len, out.size()));
}

}  // namespace detail

std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key,
                                         std::span<const std::uint8_t> message) {
    std::array<std::uint8_t, 32> out{};
    unsigned int len = 0;
    static const std::uint8_t kNoKey = 0;
    HMAC(EVP_sha256(), key.empty() ? &kNoKey : key.data(), static_cast<int>(key.size()),
         message.data(), message.size(), out.data(), &len);
    return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0xf]);
    }
    return out;
}

std::array<std::uint8_t, 20> sha1(std::span<const std::uint8_t> data) {
    std::array<std::uint8_t, 20> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha1(), nullptr) != 1 ||
        len != out.size())
        throw std::bad_alloc();  // as Digest: only a broken libcrypto gets here
    return out;
}

std::string md5_hex(std::span<const std::uint8_t> data) {
    Md5 h;
    h.update(data);
    return to_hex(h.finish());
}

std::string sha256_hex(std::span<const std::uint8_t> data) {
    Sha256 h;
    h.update(data);
    return to_hex(h.finish());
}

}  // namespace botscope::util
