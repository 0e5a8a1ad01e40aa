// The shared protocol header on its own: the portable SHA-256/HMAC against FIPS 180-4 and
// RFC 4231 vectors and against OpenSSL, the name sanitiser, the frame prefix and header checks.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "harness.h"
#include "protocol/protocol.h"
#include "util/hash.h"

namespace test_protocol {

namespace proto = botscope::agent::proto;
using botscope::agent::test::bytes;

namespace {
std::string sha_hex(std::string_view s) {
    return proto::to_hex(proto::sha256(bytes(s)));
}
std::vector<std::uint8_t> unhex(std::string_view h) {
    std::vector<std::uint8_t> out(h.size() / 2);
    REQUIRE(proto::from_hex(h, out));
    return out;
}
}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 examples") {
    CHECK(sha_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    proto::Sha256 h;
    std::string a(1000, 'a');
    for (int i = 0; i < 1000; ++i)
        h.update(a);
    CHECK(proto::to_hex(h.finish()) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("hmac-sha256 matches RFC 4231") {
    // Test case 1
    auto k1 = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    CHECK(proto::to_hex(proto::hmac_sha256(k1, bytes("Hi There"))) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    // Test case 2
    CHECK(proto::to_hex(proto::hmac_sha256(bytes("Jefe"), bytes("what do ya want for nothing?"))) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Test case 6: a key longer than the block
    std::vector<std::uint8_t> k6(131, 0xaa);
    CHECK(proto::to_hex(proto::hmac_sha256(
              k6, bytes("Test Using Larger Than Block-Size Key - Hash Key First"))) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("portable sha256 and hmac agree with OpenSSL on random inputs") {
    std::mt19937 rng(4);
    for (int i = 0; i < 200; ++i) {
        std::vector<std::uint8_t> key(rng() % 150), msg(rng() % 3000);
        for (auto& b : key)
            b = static_cast<std::uint8_t>(rng());
        for (auto& b : msg)
            b = static_cast<std::uint8_t>(rng());
        CHECK(proto::to_hex(proto::sha256(msg)) == botscope::util::sha256_hex(msg));
        auto a = proto::hmac_sha256(key, msg);
        auto b = botscope::util::hmac_sha256(key, msg);
        CHECK(proto::to_hex(a) == botscope::util::to_hex(b));
        // Incremental in uneven pieces equals one shot (frame MACs are fed that way).
        proto::Sha256 inc;
        proto::HmacSha256 hinc(key);
        std::size_t pos = 0;
        while (pos < msg.size()) {
            std::size_t n = std::min<std::size_t>(msg.size() - pos, rng() % 130);
            inc.update(std::span(msg).subspan(pos, n));
            hinc.update(std::span(msg).subspan(pos, n));
            pos += n;
        }
        CHECK(inc.finish() == proto::sha256(msg));
        CHECK(hinc.finish() == a);
    }
}

TEST_CASE("the name sanitiser") {
    using S = proto::NameStatus;
    const std::pair<std::string, S> cases[] = {
        {"sample.exe", S::kOk},
        {"bot", S::kOk},
        {".hidden", S::kOk},
        {"a..b.exe", S::kOk},
        {"CONSOLE.exe", S::kOk},
        {"COM10", S::kOk},
        {"\xc3\xa9t\xc3\xa9.exe", S::kOk},
        {"", S::kEmpty},
        {"../x", S::kSeparator},
        {"..\\x", S::kSeparator},
        {"C:\\x", S::kSeparator},
        {"C:x", S::kReservedChar},
        {"\\\\?\\C:\\x", S::kSeparator},
        {"//server/share", S::kSeparator},
        {"/etc/passwd", S::kSeparator},
        {"..", S::kDotName},
        {".", S::kDotName},
        {"..x", S::kDotName},
        {"CON", S::kDeviceName},
        {"con", S::kDeviceName},
        {"nul.txt", S::kDeviceName},
        {"NUL .txt", S::kDeviceName},
        {"Aux.exe", S::kDeviceName},
        {"PRN", S::kDeviceName},
        {"COM1", S::kDeviceName},
        {"com9.exe", S::kDeviceName},
        {"LPT1", S::kDeviceName},
        {"lpt5.dll", S::kDeviceName},
        {"COM\xc2\xb9", S::kDeviceName},
        {"CONIN$", S::kDeviceName},
        {std::string("a\0b", 3), S::kControlChar},
        {"a\nb", S::kControlChar},
        {"a\x7f", S::kControlChar},
        {"a.exe.", S::kTrailingDotOrSpace},
        {"a.exe ", S::kTrailingDotOrSpace},
        {"a:stream", S::kReservedChar},
        {"a*b", S::kReservedChar},
        {"a|b", S::kReservedChar},
        {"\xff\xfe", S::kBadUtf8},
        {"\xc0\xaf", S::kBadUtf8},
        {"\xed\xa0\x80", S::kBadUtf8},
        {std::string(200, 'a'), S::kOk},
        {std::string(201, 'a'), S::kTooLong},
        {std::string(10000, 'a'), S::kTooLong},
    };
    for (const auto& c : cases) {
        // No structured binding: clang 14 cannot capture one in CAPTURE's lambda.
        const std::string& name = c.first;
        CAPTURE(name);
        CHECK(proto::check_name(name) == c.second);
    }
}

TEST_CASE("frame prefixes are checked before anything is allocated") {
    proto::Prefix p;
    auto ok = proto::encode_prefix(10, 20);
    CHECK(proto::decode_prefix(ok, proto::kMaxHeader, proto::kMaxBody, p) ==
          proto::PrefixStatus::kOk);
    CHECK(p.header_len == 10);
    CHECK(p.body_len == 20);
    auto big = proto::encode_prefix(proto::kMaxHeader + 1, 0);
    CHECK(proto::decode_prefix(big, proto::kMaxHeader, proto::kMaxBody, p) ==
          proto::PrefixStatus::kHeaderTooLarge);
    auto body = proto::encode_prefix(5, 0xffffffff);
    CHECK(proto::decode_prefix(body, proto::kMaxHeader, proto::kMaxBody, p) ==
          proto::PrefixStatus::kBodyTooLarge);
    auto empty = proto::encode_prefix(0, 0);
    CHECK(proto::decode_prefix(empty, proto::kMaxHeader, proto::kMaxBody, p) ==
          proto::PrefixStatus::kEmptyHeader);
    auto bad = ok;
    bad[0] = 'X';
    CHECK(proto::decode_prefix(bad, proto::kMaxHeader, proto::kMaxBody, p) ==
          proto::PrefixStatus::kBadMagic);
}

TEST_CASE("headers: objects only, bounded nesting, no exceptions") {
    CHECK(proto::parse_header(R"({"op":"hello"})").error.empty());
    CHECK(proto::parse_header("[1,2]").error == proto::err::kBadJson);
    CHECK(proto::parse_header("{\"op\":").error == proto::err::kBadJson);
    CHECK(proto::parse_header(std::string(5000, '[')).error == proto::err::kBadJson);
    CHECK(proto::parse_header(R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}})").error ==
          proto::err::kBadJson);
    CHECK(proto::parse_header(R"({"s":"[[[[[[[[[[[[[[[["})").error.empty());
    auto h = proto::parse_header(R"({"op":5,"size":-1,"big":18446744073709551615})");
    REQUIRE(h.error.empty());
    CHECK(!proto::get_string(h.json, "op"));
    CHECK(proto::get_int(h.json, "size") == -1);
    CHECK(!proto::get_int(h.json, "big"));
    CHECK(!proto::get_hex<32>(h.json, "op"));
}

}  // namespace test_protocol
