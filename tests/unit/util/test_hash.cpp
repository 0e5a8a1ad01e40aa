#include <doctest/doctest.h>

#include <string>

#include "util/byte_reader.h"
#include "util/hash.h"
#include "util/text.h"

namespace test_hash {

using namespace botscope::util;

namespace {
std::string md5s(std::string_view s) {
    return md5_hex(as_bytes(s));
}
std::string sha(std::string_view s) {
    return sha256_hex(as_bytes(s));
}
}  // namespace

TEST_CASE("MD5 matches the RFC 1321 test suite") {
    CHECK(md5s("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(md5s("a") == "0cc175b9c0f1b6a831c399e269772661");
    CHECK(md5s("abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(md5s("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
    CHECK(
        md5s("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
        "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("SHA-256 matches FIPS 180-2 vectors") {
    CHECK(sha("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    std::string million(1'000'000, 'a');
    CHECK(sha(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-1 matches FIPS 180-2 vectors") {
    auto sha1s = [](std::string_view s) { return to_hex(sha1(as_bytes(s))); };
    CHECK(sha1s("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(sha1s("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(sha1s("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST_CASE("incremental hashing equals one-shot at every split point") {
    std::string data;
    for (int i = 0; i < 300; ++i)
        data.push_back(static_cast<char>(i * 7));
    std::string whole_md5 = md5s(data), whole_sha = sha(data);
    for (std::size_t cut = 0; cut <= data.size(); cut += 13) {
        FileHasher h;
        h.update(as_bytes(std::string_view(data).substr(0, cut)));
        h.update(as_bytes(std::string_view(data).substr(cut)));
        auto [m, s] = h.finish();
        CHECK(m == whole_md5);
        CHECK(s == whole_sha);
        CHECK(h.size() == data.size());
    }
}

TEST_CASE("HMAC-SHA256 matches RFC 4231") {
    std::string key(20, '\x0b');
    auto mac = hmac_sha256(as_bytes(key), as_bytes("Hi There"));
    CHECK(to_hex(mac) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    auto mac2 = hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"));
    CHECK(to_hex(mac2) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    std::string long_key(131, '\xaa');
    auto mac3 = hmac_sha256(as_bytes(long_key),
                            as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"));
    CHECK(to_hex(mac3) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("ByteReader never reads past the end and fails sticky") {
    const std::uint8_t data[] = {0x01, 0x02, 0x03};
    ByteReader r(data);
    CHECK(r.u16be() == 0x0102);
    CHECK(r.ok());
    CHECK(r.u16be() == 0);  // only one byte left
    CHECK_FALSE(r.ok());
    CHECK(r.offset() == 2);  // a failed read consumes nothing
    CHECK(r.u8() == 0x03);
    CHECK(r.bytes(1).empty());
    CHECK_FALSE(r.seek(4));
    ByteReader r2(data);
    CHECK(r2.u32le() == 0);
    CHECK_FALSE(r2.ok());
    CHECK(r2.skip(3) == true);
}

TEST_CASE("text helpers") {
    CHECK(iequals("PRIVMSG", "privmsg"));
    CHECK_FALSE(iequals("PRIVMSG", "privms"));
    CHECK(istarts_with("EHLO example", "ehlo"));
    CHECK(trim("  a b \r\n") == "a b");
    CHECK(split("a,,b", ',').size() == 2);
    CHECK(split("a,,b", ',', false).size() == 3);
    CHECK(parse_u64("6667") == 6667u);
    CHECK_FALSE(parse_u64("66a").has_value());
    CHECK_FALSE(parse_u64("").has_value());
    CHECK_FALSE(parse_u64("99999999999999999999999").has_value());
    bool cut = false;
    CHECK(bounded_copy("abcdef", 3, &cut) == "abc");
    CHECK(cut);
}

}  // namespace test_hash
