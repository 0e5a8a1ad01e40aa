#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "fakenet/content.h"
#include "fakenet/http_sink.h"
#include "memory_recorder.h"
#include "util/byte_reader.h"
#include "util/hash.h"

namespace botscope::fakenet::test_http {

using testing::MemoryRecorder;
using testing::keys;

namespace {

const ConnInfo kConn{3, {0x0A42000Au, 1090}, {0x0A420001u, 8080}};

std::string sha(std::string_view s) {
    return util::sha256_hex(util::as_bytes(s));
}

struct Client {
    MemoryRecorder rec;
    std::unique_ptr<TcpSession> session;
    bool closed = false;

    explicit Client(HttpConfig cfg = {}) { session = make_http_session(kConn, cfg, rec); }
    std::string send(std::string_view data, std::size_t piece = 0) {
        std::string got;
        while (!data.empty()) {
            const std::size_t n = piece == 0 ? data.size() : std::min(piece, data.size());
            Output out;
            session->on_data(data.substr(0, n), 0, out);
            CHECK(session->buffered() <= kHttpMaxHead);
            got += out.data;
            closed = closed || out.close;
            data.remove_prefix(n);
        }
        return got;
    }
    std::vector<Json> requests() const { return rec.of("http"); }
};

/// One response cut from a stream: its head and body.
struct Response {
    std::string head;
    std::string body;
};

/// `no_body[i]`: response i answers a HEAD (a Content-Length but no body follows).
std::vector<Response> responses(std::string stream, std::vector<bool> no_body = {}) {
    std::vector<Response> out;
    while (!stream.empty()) {
        const bool head_only = out.size() < no_body.size() && no_body[out.size()];
        const auto end = stream.find("\r\n\r\n");
        REQUIRE(end != std::string::npos);
        Response r;
        r.head = stream.substr(0, end + 4);
        std::size_t len = 0;
        if (auto cl = r.head.find("Content-Length: "); cl != std::string::npos && !head_only)
            len = std::stoul(r.head.substr(cl + 16));
        REQUIRE(end + 4 + len <= stream.size());
        r.body = stream.substr(end + 4, len);
        stream.erase(0, end + 4 + len);
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

TEST_CASE("http: a download gets the PE stub, and the record says so") {
    Client c;
    const std::string got = c.send(
        "GET /updates/bot.exe?v=2 HTTP/1.1\r\nHost: update.example.com\r\n"
        "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n\r\n");
    auto rs = responses(got);
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].head ==
          "HTTP/1.1 200 OK\r\nServer: Apache/2.2.3 (Unix)\r\nContent-Length: " +
              std::to_string(pe_stub().size()) +
              "\r\nContent-Type: application/x-msdownload\r\nConnection: keep-alive\r\n\r\n");
    CHECK(rs[0].body == pe_stub());
    CHECK_FALSE(c.closed);
    REQUIRE(c.requests().size() == 1);
    const Json r = c.requests()[0];
    CHECK(keys(r) == std::vector<std::string>{"conn", "client", "server", "method", "host", "uri",
                                              "version", "user_agent", "body_bytes", "status",
                                              "served"});
    CHECK(r["conn"] == 3);
    CHECK(r["client"] == "10.66.0.10:1090");
    CHECK(r["server"] == "10.66.0.1:8080");
    CHECK(r["method"] == "GET");
    CHECK(r["host"] == "update.example.com");
    CHECK(r["uri"] == "/updates/bot.exe?v=2");
    CHECK(r["version"] == "1.1");
    CHECK(r["user_agent"] == "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)");
    CHECK(r["body_bytes"] == 0);
    CHECK(r["status"] == 200);
    CHECK(keys(r["served"]) == std::vector<std::string>{"kind", "content_type", "bytes", "sha256"});
    CHECK(r["served"]["kind"] == "pe-stub");
    CHECK(r["served"]["content_type"] == "application/x-msdownload");
    CHECK(r["served"]["bytes"] == pe_stub().size());
    CHECK(r["served"]["sha256"] == sha(pe_stub()));
}

TEST_CASE("http: keep-alive and close as each version asks") {
    {
        Client c;
        auto rs = responses(c.send("GET / HTTP/1.0\r\n\r\n"));
        CHECK(rs.at(0).head.find("Connection: close\r\n") != std::string::npos);
        CHECK(c.closed);
        CHECK(c.send("GET / HTTP/1.0\r\n\r\n").empty());  // nothing after the close
        CHECK(c.requests().size() == 1);
        CHECK(c.requests()[0]["host"].is_null());
        CHECK(c.requests()[0]["user_agent"].is_null());
    }
    {
        Client c;
        auto rs = responses(c.send("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        CHECK(rs.at(0).head.find("Connection: keep-alive\r\n") != std::string::npos);
        CHECK_FALSE(c.closed);
    }
    {
        Client c;
        auto rs = responses(c.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        CHECK(rs.at(0).head.find("Connection: close\r\n") != std::string::npos);
        CHECK(c.closed);
    }
    {
        HttpConfig cfg;
        cfg.max_requests = 2;
        Client c(cfg);
        auto rs = responses(
            c.send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n"));
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].head.find("Connection: keep-alive") != std::string::npos);
        CHECK(rs[1].head.find("Connection: close") != std::string::npos);
        CHECK(c.closed);
    }
}

TEST_CASE("http: pipelined requests are answered in order, whatever the split") {
    const std::string stream =
        "\r\nGET /a.gif HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /gate.php HTTP/1.1\r\nContent-Length: 11\r\n\r\nid=1&os=xp2"
        "HEAD /b.exe HTTP/1.1\n\n"
        "GET /c.txt HTTP/1.1\r\n\r\n";
    for (std::size_t piece : {0, 1, 5}) {
        CAPTURE(piece);
        Client c;
        auto rs = responses(c.send(stream, piece), {false, false, true, false});
        REQUIRE(rs.size() == 4);
        CHECK(rs[0].body == content_for("/a.gif").body);
        CHECK(rs[0].head.find("Content-Type: image/gif") != std::string::npos);
        CHECK(rs[1].body == "OK");
        CHECK(rs[2].head.find("Content-Length: " + std::to_string(pe_stub().size())) !=
              std::string::npos);
        CHECK(rs[3].head.find("Content-Type: text/plain") != std::string::npos);
        CHECK(rs[3].body == "OK");

        auto reqs = c.requests();
        REQUIRE(reqs.size() == 4);
        CHECK(reqs[0]["uri"] == "/a.gif");
        CHECK(reqs[1]["method"] == "POST");
        CHECK(reqs[1]["body_bytes"] == 11);
        CHECK(reqs[2]["method"] == "HEAD");
        CHECK(reqs[2]["served"]["kind"] == "pe-stub");
        CHECK(reqs[2]["served"]["bytes"] == 0);
        CHECK(reqs[2]["served"]["sha256"].is_null());
        CHECK(reqs[3]["uri"] == "/c.txt");
        CHECK_FALSE(c.closed);
    }
}

TEST_CASE("http: chunked bodies are skipped, trailers too") {
    Client c;
    const std::string got = c.send(
        "POST /upload.php HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
        "5;name=x\r\nhello\r\n"
        "00000A\r\n0123456789\r\n"
        "0\r\nX-Trailer: y\r\n\r\n"
        "GET /next HTTP/1.1\r\n\r\n",
        3);
    CHECK(got.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
    auto rs = responses(got.substr(25));
    REQUIRE(rs.size() == 2);
    auto reqs = c.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0]["body_bytes"] == 15);
    CHECK(reqs[1]["uri"] == "/next");
    CHECK_FALSE(c.closed);
}

TEST_CASE("http: bodies that cannot be framed are answered, then the connection closes") {
    const char* bad[] = {
        // A chunk size that overflows 64 bits, one past 2^31 - 1, one negative, one not hex.
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000000\r\n",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n80000000\r\n",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        // Chunk data not followed by its CRLF.
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
        // A Content-Length that is not a number, or two that disagree.
        "POST /x HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        // A transfer coding that cannot be framed.
        "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    };
    for (const char* req : bad) {
        CAPTURE(req);
        Client c;
        auto rs = responses(c.send(req));
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(rs[0].head.find("Connection: close") != std::string::npos);
        CHECK(c.closed);
        CHECK(c.requests().at(0)["status"] == 200);
    }
    Client c;
    c.send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n" +
           std::string(9000, 'f') + "\r\n");
    CHECK(c.closed);
    CHECK(c.requests().at(0)["body_bytes"] == 3);
}

TEST_CASE("http: a huge Content-Length is refused with 413") {
    Client c;
    auto rs = responses(c.send("POST /x HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\nxx"));
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].head.rfind("HTTP/1.1 413 Request Entity Too Large\r\n", 0) == 0);
    CHECK(c.closed);
    auto r = c.requests().at(0);
    CHECK(r["status"] == 413);
    CHECK(r["served"]["kind"] == "error");
    CHECK(r["body_bytes"] == 0);

    // The same limit over chunks.
    Client d;
    d.send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\n");
    CHECK(d.closed);
    CHECK(d.requests().at(0)["status"] == 413);

    // Just under the limit is read and counted.
    Client e;
    e.send("PUT /f HTTP/1.1\r\nContent-Length: " + std::to_string(kHttpMaxBody) + "\r\n\r\n");
    const std::string block(1 << 16, 'z');
    for (std::uint64_t sent = 0; sent < kHttpMaxBody; sent += block.size())
        e.send(block);
    CHECK(e.requests().at(0)["body_bytes"] == kHttpMaxBody);
    CHECK_FALSE(e.closed);
}

TEST_CASE("http: a head past 16 KiB is 431, a request line that does not parse 400") {
    Client c;
    std::string head = "GET /x HTTP/1.1\r\n";
    while (head.size() <= kHttpMaxHead)
        head += "X-Pad: " + std::string(100, 'p') + "\r\n";
    auto rs = responses(c.send(head, 1000));
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].head.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
    CHECK(c.closed);
    CHECK(c.session->buffered() == 0);
    auto r = c.requests().at(0);
    CHECK(r["status"] == 431);
    CHECK(r["method"] == "GET");  // the request line was read
    CHECK(r["uri"] == "/x");

    // One endless line.
    Client d;
    d.send(std::string(3 * kHttpMaxHead, 'A'), 4096);
    CHECK(d.closed);
    CHECK(d.requests().at(0)["status"] == 431);
    CHECK(d.requests().at(0)["method"].is_null());

    for (std::string junk :
         {std::string("\x16\x03\x01\x00\x10\r\n\r\n", 9), std::string("GET\r\n\r\n"),
          std::string("GET / FTP/1.0\r\n\r\n"), std::string("GET /a\x01b HTTP/1.1\r\n\r\n")}) {
        CAPTURE(junk);
        Client e;
        auto got = responses(e.send(junk));
        REQUIRE(got.size() == 1);
        CHECK(got[0].head.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
        CHECK(e.closed);
        auto rec = e.requests().at(0);
        CHECK(rec["status"] == 400);
        CHECK(rec["method"].is_null());
        CHECK(rec["uri"].is_null());
        CHECK(rec["version"].is_null());
        CHECK(rec["served"]["kind"] == "error");
    }
}

TEST_CASE("http: any method is answered") {
    Client c;
    auto rs = responses(c.send("HELLO /x.zip HTTP/1.1\r\n\r\nPROPFIND / HTTP/1.1\r\n\r\n"));
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].head.find("Content-Type: application/zip") != std::string::npos);
    CHECK(c.requests().at(0)["method"] == "HELLO");
    CHECK(c.requests().at(1)["method"] == "PROPFIND");
}

TEST_CASE("http: CONNECT gets 200 and a close, no tunnel") {
    Client c;
    const std::string got =
        c.send("CONNECT mx.example.com:25 HTTP/1.0\r\n\r\nHELO spam\r\nMAIL FROM:<a@b>\r\n");
    CHECK(got == "HTTP/1.1 200 Connection established\r\n\r\n");
    CHECK(c.closed);
    auto r = c.requests().at(0);
    CHECK(r["method"] == "CONNECT");
    CHECK(r["uri"] == "mx.example.com:25");
    CHECK(r["served"]["kind"] == "none");
    CHECK(r["served"]["content_type"].is_null());
}

TEST_CASE("http: wire bytes in the record are escaped") {
    Client c;
    c.send(std::string("GET /a\xff.php HTTP/1.1\r\nHost: h\xc3\r\nUser-Agent: \x7f\r\n\r\n"));
    auto r = c.requests().at(0);
    CHECK(r["uri"] == "/a\\xff.php");
    CHECK(r["host"] == "h\\xc3");
    CHECK(r["user_agent"] == "\\x7f");
    CHECK_NOTHROW((void)r.dump());
}

}  // namespace botscope::fakenet::test_http
