#pragma once
// The botscope guest agent protocol, shared by the agent (guest-agent/) and the host client
// (controller/agent/). PROTOCOL.md is the prose version of this file; the two must agree.
//
// Limits (all enforced on both sides before anything is allocated):
//   kMaxHeader     64 KiB   JSON header of one frame
//   kMaxPreAuthHeader 1 KiB header before authentication (and no body)
//   kMaxBody       64 MiB   binary content after a header (= largest file put or fetched)
//   kMaxNameBytes  200      a file name in the work directory (UTF-8 bytes)
//   kMaxJsonDepth  8        nesting of arrays/objects in a header
//
// Frame layout (byte order big-endian):
//   0  4  magic "BSA1"
//   4  4  header length H (1..kMaxHeader)
//   8  4  body length B (0..kMaxBody)
//   12 H  header: one UTF-8 JSON object
//   .. B  body: raw bytes (file content), only where the operation defines one

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sha256.h"

namespace botscope::agent::proto {

inline constexpr int kVersion = 2;
inline constexpr std::array<std::uint8_t, 4> kMagic = {'B', 'S', 'A', '1'};
inline constexpr std::size_t kPrefixSize = 12;
inline constexpr std::uint32_t kMaxHeader = 64 * 1024;
inline constexpr std::uint32_t kMaxPreAuthHeader = 1024;
inline constexpr std::uint32_t kMaxBody = 64 * 1024 * 1024;
inline constexpr std::size_t kMaxNameBytes = 200;
inline constexpr int kMaxJsonDepth = 8;
inline constexpr std::size_t kNonceSize = 32;
inline constexpr std::size_t kMinSecretSize = 16;
inline constexpr std::size_t kMaxSecretSize = 1024;
inline constexpr std::size_t kMaxArgs = 64;
inline constexpr std::size_t kMaxArgBytes = 4096;
inline constexpr std::size_t kMaxProcessEvents = 4096;
inline constexpr std::size_t kMaxDropped = 256;
inline constexpr std::size_t kMaxSockets = 1024;
inline constexpr std::size_t kMaxAutostart = 512;
/// Longest string the agent puts in a list entry (paths, command lines, registry values).
inline constexpr std::size_t kMaxFieldBytes = 2048;

/// Operation names, as they appear in the header's "op" field.
namespace op {
inline constexpr std::string_view kAuth1 = "auth1";
inline constexpr std::string_view kAuth2 = "auth2";
inline constexpr std::string_view kHello = "hello";
inline constexpr std::string_view kPut = "put";
inline constexpr std::string_view kWatchStart = "watch_start";
inline constexpr std::string_view kExec = "exec";
inline constexpr std::string_view kProcesses = "processes";
inline constexpr std::string_view kDropped = "dropped";
inline constexpr std::string_view kFetch = "fetch";
inline constexpr std::string_view kSockets = "sockets";
inline constexpr std::string_view kAutostart = "autostart";
inline constexpr std::string_view kKill = "kill";
inline constexpr std::string_view kSetClock = "set_clock";
}  // namespace op

/// Error codes in a response's "error" field (PROTOCOL.md lists what each means).
namespace err {
inline constexpr std::string_view kBadFrame = "bad_frame";
inline constexpr std::string_view kHeaderTooLarge = "header_too_large";
inline constexpr std::string_view kBodyTooLarge = "body_too_large";
inline constexpr std::string_view kBadJson = "bad_json";
inline constexpr std::string_view kBadRequest = "bad_request";
inline constexpr std::string_view kUnknownOp = "unknown_op";
inline constexpr std::string_view kBadVersion = "bad_version";
inline constexpr std::string_view kNotAuthenticated = "not_authenticated";
inline constexpr std::string_view kAuthFailed = "auth_failed";
inline constexpr std::string_view kReplayedChallenge = "replayed_challenge";
inline constexpr std::string_view kBadName = "bad_name";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kHashMismatch = "hash_mismatch";
inline constexpr std::string_view kTooLarge = "too_large";
inline constexpr std::string_view kIoError = "io_error";
inline constexpr std::string_view kOsError = "os_error";
inline constexpr std::string_view kTimeout = "timeout";
inline constexpr std::string_view kBadMac = "bad_mac";
}  // namespace err

/// Authentication labels: each proof covers a label naming its direction, so a proof the agent
/// computes can never be replayed as the controller's proof (reflection), and both nonces.
inline constexpr std::string_view kAgentProofLabel = "botscope-agent-v1 agent proof";
inline constexpr std::string_view kClientProofLabel = "botscope-agent-v1 client proof";

using Nonce = std::array<std::uint8_t, kNonceSize>;
using Digest = std::array<std::uint8_t, 32>;

/// The per-VM secret from the content of its file: hex (as vm-templates/testguest/build writes
/// it; surrounding whitespace ignored) or, when it is not hex, the raw bytes. Both sides read the
/// file with this function. Returns an empty string, or why the content is refused.
inline std::string parse_secret(std::string_view data, std::vector<std::uint8_t>& secret) {
    if (data.size() > 2 * kMaxSecretSize + 2)
        return "secret file too large (at most 1024 bytes)";
    std::string_view t = data;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' '))
        t.remove_suffix(1);
    std::vector<std::uint8_t> hex(t.size() / 2);
    if (t.size() % 2 == 0 && !t.empty() && from_hex(t, hex))
        secret = std::move(hex);
    else
        secret.assign(data.begin(), data.end());
    if (secret.size() < kMinSecretSize || secret.size() > kMaxSecretSize)
        return "secret must be 16..1024 bytes";
    return {};
}

/// HMAC(secret, label || first || second).
inline Digest auth_proof(std::span<const std::uint8_t> secret, std::string_view label,
                         const Nonce& first, const Nonce& second) {
    std::string msg(label);
    msg.append(reinterpret_cast<const char*>(first.data()), first.size());
    msg.append(reinterpret_cast<const char*>(second.data()), second.size());
    return hmac_sha256(secret, {reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
}
/// The agent's proof: HMAC(secret, agent label || client nonce || agent nonce).
inline Digest agent_proof(std::span<const std::uint8_t> secret, const Nonce& client_nonce,
                          const Nonce& agent_nonce) {
    return auth_proof(secret, kAgentProofLabel, client_nonce, agent_nonce);
}
/// The controller's proof: HMAC(secret, client label || agent nonce || client nonce).
inline Digest client_proof(std::span<const std::uint8_t> secret, const Nonce& client_nonce,
                           const Nonce& agent_nonce) {
    return auth_proof(secret, kClientProofLabel, agent_nonce, client_nonce);
}

/// Labels of the frame keys, one per direction, so that a frame can never be reflected.
inline constexpr std::string_view kControllerFramesLabel = "botscope-agent-v2 controller frames";
inline constexpr std::string_view kAgentFramesLabel = "botscope-agent-v2 agent frames";
/// The MAC trailer after every frame of an authenticated session.
inline constexpr std::size_t kMacSize = 32;
using Mac = std::array<std::uint8_t, kMacSize>;

/// One session's frame keys, derived from the secret and both of its nonces: known only to
/// the two ends of that handshake, so whatever takes over the stream later cannot forge a frame.
struct SessionKeys {
    Digest controller{};  ///< frames the controller sends
    Digest agent{};       ///< frames the agent sends
};
inline SessionKeys session_keys(std::span<const std::uint8_t> secret, const Nonce& client_nonce,
                                const Nonce& agent_nonce) {
    return {auth_proof(secret, kControllerFramesLabel, client_nonce, agent_nonce),
            auth_proof(secret, kAgentFramesLabel, client_nonce, agent_nonce)};
}

/// The MAC of frame number `seq` (0, 1, ... per direction since the handshake):
/// HMAC-SHA256(key, u64be(seq) || prefix || header || body), fed in pieces as the frame goes.
class FrameMac {
public:
    FrameMac(const Digest& key, std::uint64_t seq) : h_(key) {
        std::array<std::uint8_t, 8> s{};
        for (int i = 7; i >= 0; --i, seq >>= 8)
            s[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(seq & 0xff);
        h_.update(s);
    }
    void update(std::span<const std::uint8_t> data) { h_.update(data); }
    Mac finish() { return h_.finish(); }

private:
    HmacSha256 h_;
};

/// One direction of an authenticated session: its key and the number of the next frame.
struct FrameSigner {
    Digest key{};
    std::uint64_t seq = 0;
    FrameMac next() { return FrameMac(key, seq++); }
};

/// The fixed 12-byte start of a frame.
struct Prefix {
    std::uint32_t header_len = 0;
    std::uint32_t body_len = 0;
};

enum class PrefixStatus : std::uint8_t {
    kOk,
    kBadMagic,
    kEmptyHeader,
    kHeaderTooLarge,
    kBodyTooLarge
};

inline std::string_view prefix_error_code(PrefixStatus s) {
    switch (s) {
        case PrefixStatus::kOk:
            return {};
        case PrefixStatus::kBadMagic:
        case PrefixStatus::kEmptyHeader:
            return err::kBadFrame;
        case PrefixStatus::kHeaderTooLarge:
            return err::kHeaderTooLarge;
        case PrefixStatus::kBodyTooLarge:
            return err::kBodyTooLarge;
    }
    return err::kBadFrame;
}

/// Decodes and checks a prefix against the given limits (which differ before authentication).
inline PrefixStatus decode_prefix(std::span<const std::uint8_t, kPrefixSize> p,
                                  std::uint32_t max_header, std::uint32_t max_body, Prefix& out) {
    for (std::size_t i = 0; i < kMagic.size(); ++i)
        if (p[i] != kMagic[i])
            return PrefixStatus::kBadMagic;
    auto be32 = [&](std::size_t o) {
        return (std::uint32_t{p[o]} << 24) | (std::uint32_t{p[o + 1]} << 16) |
               (std::uint32_t{p[o + 2]} << 8) | std::uint32_t{p[o + 3]};
    };
    out.header_len = be32(4);
    out.body_len = be32(8);
    if (out.header_len == 0)
        return PrefixStatus::kEmptyHeader;
    if (out.header_len > max_header)
        return PrefixStatus::kHeaderTooLarge;
    if (out.body_len > max_body)
        return PrefixStatus::kBodyTooLarge;
    return PrefixStatus::kOk;
}

inline std::array<std::uint8_t, kPrefixSize> encode_prefix(std::uint32_t header_len,
                                                           std::uint32_t body_len) {
    std::array<std::uint8_t, kPrefixSize> p{};
    for (std::size_t i = 0; i < 4; ++i)
        p[i] = kMagic[i];
    for (int i = 0; i < 4; ++i) {
        p[4 + i] = static_cast<std::uint8_t>(header_len >> (24 - 8 * i));
        p[8 + i] = static_cast<std::uint8_t>(body_len >> (24 - 8 * i));
    }
    return p;
}

/// Serialises a header; invalid UTF-8 in strings (file names, command lines from the guest) is
/// replaced rather than thrown on.
inline std::string dump_header(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Result of parsing a header: the object, or an error code and message.
struct HeaderParse {
    nlohmann::json json;
    std::string_view error;  // empty when ok
    std::string message;
};

/// Parses a header: one JSON object, nesting at most kMaxJsonDepth, no exceptions. The depth
/// check runs before the parser so that no hostile header can make the parser or the
/// destructor recurse deeply.
inline HeaderParse parse_header(std::string_view text) {
    HeaderParse r;
    int depth = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > kMaxJsonDepth) {
                r.error = err::kBadJson;
                r.message = "header nests deeper than " + std::to_string(kMaxJsonDepth);
                return r;
            }
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    r.json = nlohmann::json::parse(text, nullptr, false);
    if (r.json.is_discarded()) {
        r.json = nullptr;
        r.error = err::kBadJson;
        r.message = "header is not valid JSON";
        return r;
    }
    if (!r.json.is_object()) {
        r.json = nullptr;
        r.error = err::kBadJson;
        r.message = "header is not a JSON object";
    }
    return r;
}

/// Checked field access: each returns nullopt when the field is absent or of another type, so
/// a hostile header never reaches nlohmann's throwing accessors.
inline std::optional<std::string_view> get_string(const nlohmann::json& j, std::string_view key) {
    if (!j.is_object())
        return std::nullopt;
    auto it = j.find(key);
    if (it == j.end() || !it->is_string())
        return std::nullopt;
    return std::string_view(it->get_ref<const std::string&>());
}

inline std::optional<std::int64_t> get_int(const nlohmann::json& j, std::string_view key) {
    if (!j.is_object())
        return std::nullopt;
    auto it = j.find(key);
    if (it == j.end())
        return std::nullopt;
    if (it->is_number_unsigned()) {
        auto v = it->get<std::uint64_t>();
        if (v > static_cast<std::uint64_t>(INT64_MAX))
            return std::nullopt;
        return static_cast<std::int64_t>(v);
    }
    if (it->is_number_integer())
        return it->get<std::int64_t>();
    return std::nullopt;
}

inline std::optional<bool> get_bool(const nlohmann::json& j, std::string_view key) {
    if (!j.is_object())
        return std::nullopt;
    auto it = j.find(key);
    if (it == j.end() || !it->is_boolean())
        return std::nullopt;
    return it->get<bool>();
}

inline const nlohmann::json* get_array(const nlohmann::json& j, std::string_view key) {
    if (!j.is_object())
        return nullptr;
    auto it = j.find(key);
    if (it == j.end() || !it->is_array())
        return nullptr;
    return &*it;
}

/// Decodes a hex field of exactly N bytes.
template <std::size_t N>
inline std::optional<std::array<std::uint8_t, N>> get_hex(const nlohmann::json& j,
                                                          std::string_view key) {
    auto s = get_string(j, key);
    if (!s)
        return std::nullopt;
    std::array<std::uint8_t, N> out{};
    if (!from_hex(*s, out))
        return std::nullopt;
    return out;
}

/// Why a file name was refused; kOk when it is safe to use as one path component in the work
/// directory on both Windows and Linux.
enum class NameStatus : std::uint8_t {
    kOk,
    kEmpty,
    kTooLong,
    kSeparator,
    kDotName,
    kControlChar,
    kReservedChar,
    kTrailingDotOrSpace,
    kDeviceName,
    kBadUtf8,
};

inline std::string_view name_status_text(NameStatus s) {
    switch (s) {
        case NameStatus::kOk:
            return "ok";
        case NameStatus::kEmpty:
            return "empty name";
        case NameStatus::kTooLong:
            return "name longer than 200 bytes";
        case NameStatus::kSeparator:
            return "name contains a path separator";
        case NameStatus::kDotName:
            return "name is . or .. or starts with ..";
        case NameStatus::kControlChar:
            return "name contains a control character or NUL";
        case NameStatus::kReservedChar:
            return "name contains a character reserved on Windows (: * ? \" < > |)";
        case NameStatus::kTrailingDotOrSpace:
            return "name ends with a dot or a space";
        case NameStatus::kDeviceName:
            return "name is a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)";
        case NameStatus::kBadUtf8:
            return "name is not valid UTF-8";
    }
    return "invalid name";
}

/// Checks UTF-8 strictly (no overlongs, no surrogates, at most U+10FFFF).
inline bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (s.size() - i <= n)
            return false;
        for (std::size_t k = 1; k <= n; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/// The name sanitiser: accepts only a single, plain file name. It rejects rather than rewrites,
/// so the controller learns exactly which name was refused. Rules: 1..kMaxNameBytes bytes of
/// valid UTF-8; no '/' or '\\' (which also rules out `\\?\` prefixes and UNC paths); no ':' (drive
/// letters, NTFS streams) or other characters Windows reserves; no control characters or NUL;
/// not "." or "..", and no leading ".." at all; no trailing dot or space (Windows strips them,
/// so "a.exe." would alias "a.exe"); not a DOS device name, with or without an extension
/// ("CON", "nul.txt", "COM1.exe"), in any case, also when followed by spaces or dots.
inline NameStatus check_name(std::string_view name) {
    if (name.empty())
        return NameStatus::kEmpty;
    if (name.size() > kMaxNameBytes)
        return NameStatus::kTooLong;
    for (char ch : name) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '/' || c == '\\')
            return NameStatus::kSeparator;
        if (c < 0x20 || c == 0x7f)
            return NameStatus::kControlChar;
    }
    for (char ch : name)
        if (ch == ':' || ch == '*' || ch == '?' || ch == '"' || ch == '<' || ch == '>' || ch == '|')
            return NameStatus::kReservedChar;
    if (name.substr(0, 2) == "..")
        return NameStatus::kDotName;
    if (name.back() == '.' || name.back() == ' ')
        return name == "." ? NameStatus::kDotName : NameStatus::kTrailingDotOrSpace;
    if (!valid_utf8(name))
        return NameStatus::kBadUtf8;
    // The device check looks at the part before the first dot, with trailing spaces removed
    // ("NUL .txt" is also the device on Windows).
    std::string_view stem = name.substr(0, name.find('.'));
    while (!stem.empty() && stem.back() == ' ')
        stem.remove_suffix(1);
    auto upper = [](std::string_view s) {
        std::string u(s);
        for (auto& c : u)
            if (c >= 'a' && c <= 'z')
                c = static_cast<char>(c - 'a' + 'A');
        return u;
    };
    std::string u = upper(stem);
    if (u == "CON" || u == "PRN" || u == "AUX" || u == "NUL" || u == "CONIN$" || u == "CONOUT$")
        return NameStatus::kDeviceName;
    if (u.size() == 4 && (u.starts_with("COM") || u.starts_with("LPT")) && u[3] >= '0' &&
        u[3] <= '9')
        return NameStatus::kDeviceName;
    // COM¹ ² ³ and LPT¹ ² ³ (superscript digits) are device names on Windows too.
    if ((u.starts_with("COM") || u.starts_with("LPT")) &&
        (u.substr(3) == "\xc2\xb9" || u.substr(3) == "\xc2\xb2" || u.substr(3) == "\xc2\xb3"))
        return NameStatus::kDeviceName;
    return NameStatus::kOk;
}

/// Builds an error response header.
inline nlohmann::json error_response(std::string_view op, std::string_view code,
                                     std::string_view message) {
    nlohmann::json j;
    j["op"] = op;
    j["ok"] = false;
    j["error"] = code;
    j["message"] = message;
    return j;
}

}  // namespace botscope::agent::proto
