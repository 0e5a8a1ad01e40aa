// Download URLs and the names downloads are saved under.

#include <doctest/doctest.h>

#include "url.h"

namespace botscope::botemu::test_url {

TEST_CASE("url: http and tftp URLs") {
    auto u = parse_url("http://10.66.0.1/update.exe");
    REQUIRE(u);
    CHECK(u->scheme == Scheme::kHttp);
    CHECK(u->host == "10.66.0.1");
    CHECK(u->address == 0x0A420001u);
    CHECK(u->port == 80);
    CHECK(u->path == "/update.exe");
    CHECK(u->to_string() == "http://10.66.0.1/update.exe");

    auto n = parse_url("HTTP://update.botscope.test:8080/gate.php?id=1&v=2#frag");
    REQUIRE(n);
    CHECK(n->host == "update.botscope.test");
    CHECK_FALSE(n->address);
    CHECK(n->port == 8080);
    CHECK(n->path == "/gate.php?id=1&v=2");
    CHECK(n->to_string() == "http://update.botscope.test:8080/gate.php?id=1&v=2");
    CHECK(parse_url("http://10.66.0.1").value().path == "/");

    auto t = parse_url("tftp://10.66.0.1/bot.exe");
    REQUIRE(t);
    CHECK(t->scheme == Scheme::kTftp);
    CHECK(t->port == 69);
    CHECK(t->path == "bot.exe");
    CHECK(t->to_string() == "tftp://10.66.0.1/bot.exe");
}

TEST_CASE("url: malformed URLs say why") {
    struct Case {
        std::string text;
        const char* why;
    };
    const Case cases[] = {
        {"ftp://10.66.0.1/x", "not an http:// or tftp:// URL"},
        {"10.66.0.1/x", "not an http:// or tftp:// URL"},
        {"http://user:pw@10.66.0.1/x", "URL with user info"},
        {"http://10.66.0.1:0/x", "bad port in URL"},
        {"http://10.66.0.1:65536/x", "bad port in URL"},
        {"http://10.66.0.1:x/x", "bad port in URL"},
        {"http://[::1]/x", "bad port in URL"},
        {"http://bad_host!/x", "bad host in URL"},
        {"http:///x", "bad host in URL"},
        {"tftp://10.66.0.1/", "tftp:// URL without a file name"},
        {"http://10.66.0.1/a b", "URL with a space or a control character"},
        {"http://10.66.0.1/\x01", "URL with a space or a control character"},
        {"http://10.66.0.1/" + std::string(400, 'a'), "URL longer than 400 characters"},
    };
    for (const auto& c : cases) {
        auto r = parse_url(c.text);
        REQUIRE_MESSAGE(!r, c.text);
        CHECK(r.error().code == "bad_url");
        CHECK(r.error().message == c.why);
    }
}

TEST_CASE("url: file names are the last component, sanitised") {
    CHECK(sanitize_file_name("../../etc/passwd") == "passwd");
    CHECK(sanitize_file_name("c:\\windows\\system32\\update.exe") == "update.exe");
    CHECK(sanitize_file_name("/update.exe") == "update.exe");
    CHECK(sanitize_file_name("/gate.php?id=1") == "gate.php");
    CHECK(sanitize_file_name("..") == "download.bin");
    CHECK(sanitize_file_name("...bashrc") == "bashrc");
    CHECK(sanitize_file_name("/") == "download.bin");
    CHECK(sanitize_file_name("") == "download.bin");
    CHECK(sanitize_file_name("we ird$name;rm -rf.exe") == "weirdnamerm-rf.exe");
    CHECK(sanitize_file_name("t\xc3\xa9l\xc3\xa9.exe") == "tl.exe");
    CHECK(sanitize_file_name(std::string(100, 'a')) == std::string(kMaxFileName, 'a'));
    CHECK(sanitize_file_name("a/b\\..\\c.exe") == "c.exe");
}

}  // namespace botscope::botemu::test_url
