#include <doctest/doctest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "analysis/proto/http/http_analyzer.h"
#include "analysis/proto/http/http_parser.h"
#include "util/byte_reader.h"
#include "util/hash.h"

namespace test_http {

using namespace botscope::analysis;
using namespace botscope::analysis::http;
using botscope::util::as_bytes;

namespace {

constexpr Timestamp kT2004 = 1'100'000'000'000'000'000;  // late 2004, in ns

std::string sha256_of(std::string_view s) {
    return botscope::util::sha256_hex(as_bytes(s));
}

/// One connection with its own result and weirds, fed as the engine would feed it.
struct Conn {
    Weirds weirds;
    HttpResult result;
    AnalyzerContext ctx;
    std::unique_ptr<HttpAnalyzer> a;

    Conn() {
        ctx.flow.id = 42;
        ctx.flow.transport = Transport::kTcp;
        ctx.flow.orig = {IpAddress::v4(10, 0, 0, 5), 1042};
        ctx.flow.resp = {IpAddress::v4(192, 168, 7, 1), 80};
        ctx.weirds = &weirds;
        a = std::make_unique<HttpAnalyzer>(ctx, result);
    }

    // Every piece gets its own heap copy so a read past the piece is a read past a buffer.
    void send(Direction d, std::string_view s, Timestamp ts = kT2004) {
        std::vector<std::uint8_t> copy(s.begin(), s.end());
        a->on_data(d, copy, ts);
    }
    void client(std::string_view s, Timestamp ts = kT2004) { send(Direction::kOrig, s, ts); }
    void server(std::string_view s, Timestamp ts = kT2004) { send(Direction::kResp, s, ts); }
    void end(Timestamp ts = kT2004) { a->on_end(ts); }
    const HttpTransaction& txn(std::size_t i) const { return result.transactions.at(i); }
    std::uint64_t weird(std::string_view name) const { return weirds.count(name); }
};

/// `data` compressed with zlib: `window_bits` 16 + 15 writes gzip, 15 zlib, -15 raw deflate.
std::string compress(std::string_view data, int window_bits) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, data.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

/// A 200 response carrying `body` as is, with Content-Encoding `coding`.
std::string coded_response(std::string_view coding, std::string_view body) {
    return "HTTP/1.1 200 OK\r\nContent-Encoding: " + std::string(coding) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::string repeat(char c, std::size_t n) {
    return std::string(n, c);
}

// A minimal PE image: MZ header whose e_lfanew (0x3C) points at "PE\0\0" at 0x80.
std::string pe_image(std::size_t size = 600) {
    std::string img(size, '\0');
    img[0] = 'M';
    img[1] = 'Z';
    img[0x3c] = static_cast<char>(0x80);
    img[0x80] = 'P';
    img[0x81] = 'E';
    for (std::size_t i = 0x100; i < size; ++i)
        img[i] = static_cast<char>(i * 7);
    return img;
}

const std::string kGetRequest =
    "GET /bots/update.exe?id=4711 HTTP/1.1\r\n"
    "Host: dl.example.net\r\n"
    "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n"
    "Referer: http://dl.example.net/\r\n"
    "Accept: */*\r\n"
    "\r\n";
const std::string kGetBody = "hello from the payload server\n";
const std::string kGetResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: Apache/1.3.33 (Unix)\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 30\r\n"
    "\r\n" +
    kGetBody;

void check_get_transaction(const Conn& c) {
    REQUIRE(c.result.transactions.size() == 1);
    const auto& t = c.txn(0);
    CHECK(t.flow == 42);
    CHECK(t.client.port == 1042);
    CHECK(t.server.port == 80);
    CHECK(t.has_request);
    CHECK(t.method == "GET");
    CHECK(t.uri == "/bots/update.exe?id=4711");
    CHECK_FALSE(t.uri_truncated);
    CHECK(t.version == "1.1");
    CHECK(t.host == "dl.example.net");
    CHECK(t.user_agent == "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)");
    CHECK(t.referer == "http://dl.example.net/");
    CHECK(t.request_headers == 4);
    CHECK(t.request_body.length == 0);
    CHECK(t.has_response);
    CHECK(t.status_code == 200);
    CHECK(t.reason == "OK");
    CHECK(t.server_header == "Apache/1.3.33 (Unix)");
    CHECK(t.response_content_type == "text/plain");
    REQUIRE(t.content_length.has_value());
    CHECK(*t.content_length == 30);
    CHECK_FALSE(t.chunked);
    CHECK(t.response_body.length == kGetBody.size());
    CHECK(t.response_body.sha256 == sha256_of(kGetBody));
    CHECK(t.response_body.md5.empty());  // MD5 is kept for executables only
    CHECK(t.response_body.complete());
    CHECK(t.response_body.executable == ExecutableKind::kNone);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parser

TEST_CASE("http: scan_line finds LF and drops one CR") {
    auto s = scan_line(as_bytes("abc\r\ndef"));
    CHECK(s.status == ParseStatus::kOk);
    CHECK(s.length == 3);
    CHECK(s.consumed == 5);
    CHECK(scan_line(as_bytes("abc\r")).status == ParseStatus::kIncomplete);
    auto bare = scan_line(as_bytes("\n"));
    CHECK(bare.length == 0);
    CHECK(bare.consumed == 1);
}

TEST_CASE("http: request lines") {
    auto r = parse_request_line("POST /gate.php?a=1 HTTP/1.0");
    REQUIRE(r.status == ParseStatus::kOk);
    CHECK(r.method == "POST");
    CHECK(r.target == "/gate.php?a=1");
    CHECK(r.version == "1.0");
    CHECK_FALSE(r.target_cut);

    // Bots send unescaped spaces; the target runs to the last space before the version.
    auto spaced = parse_request_line("GET /my docs/a b.txt HTTP/1.1");
    REQUIRE(spaced.status == ParseStatus::kOk);
    CHECK(spaced.target == "/my docs/a b.txt");

    CHECK(parse_request_line("GET /index.html").status == ParseStatus::kError);  // HTTP/0.9
    CHECK(parse_request_line("GET  HTTP/1.1").status == ParseStatus::kError);
    CHECK(parse_request_line("GET HTTP/1.1").status == ParseStatus::kError);
    CHECK(parse_request_line("G(T / HTTP/1.1").status == ParseStatus::kError);
    CHECK(parse_request_line("GET /a\x01 HTTP/1.1").status == ParseStatus::kError);
    CHECK(parse_request_line("GET / HTTP/1.1x").status == ParseStatus::kError);
    CHECK(parse_request_line(repeat('A', kMaxMethodLength + 1) + " / HTTP/1.1").status ==
          ParseStatus::kError);
    CHECK(parse_request_line("").status == ParseStatus::kError);

    const std::string long_line = "SEARCH /" + repeat('A', 100);
    auto cut = parse_request_line(long_line, true);
    REQUIRE(cut.status == ParseStatus::kOk);
    CHECK(cut.method == "SEARCH");
    CHECK(cut.target.size() == 101);
    CHECK(cut.target_cut);
    CHECK(cut.version.empty());
}

TEST_CASE("http: status lines") {
    auto s = parse_status_line("HTTP/1.1 302 Found");
    REQUIRE(s.status == ParseStatus::kOk);
    CHECK(s.version == "1.1");
    CHECK(s.code == 302);
    CHECK(s.reason == "Found");
    auto bare = parse_status_line("HTTP/1.0 404");
    REQUIRE(bare.status == ParseStatus::kOk);
    CHECK(bare.code == 404);
    CHECK(bare.reason.empty());
    CHECK(parse_status_line("HTTP/1.1 2000 Huh").status == ParseStatus::kError);
    CHECK(parse_status_line("HTTP/1.1 099 Low").status == ParseStatus::kError);
    CHECK(parse_status_line("HTTP/1.1 20x OK").status == ParseStatus::kError);
    CHECK(parse_status_line("HTTP/2 200 OK").status == ParseStatus::kError);
    CHECK(parse_status_line("ICY 200 OK").status == ParseStatus::kError);
    CHECK(parse_status_line("HTTP/1.1").status == ParseStatus::kError);
}

TEST_CASE("http: header lines") {
    auto h = parse_header_line("Host:   dl.example.net  ");
    REQUIRE(h.status == ParseStatus::kOk);
    CHECK(h.name == "Host");
    CHECK(h.value == "dl.example.net");
    auto spaced = parse_header_line("Content-Length : 5");
    REQUIRE(spaced.status == ParseStatus::kOk);
    CHECK(spaced.name == "Content-Length");
    CHECK(parse_header_line("no colon here").status == ParseStatus::kError);
    CHECK(parse_header_line(": empty name").status == ParseStatus::kError);
    CHECK(parse_header_line("Bad Name: x").status == ParseStatus::kError);
    CHECK(is_continuation_line(" more"));
    CHECK(is_continuation_line("\tmore"));
    CHECK_FALSE(is_continuation_line("X: y"));
}

TEST_CASE("http: chunk sizes, including hostile ones") {
    auto ok = parse_chunk_size_line("1a");
    REQUIRE(ok.status == ParseStatus::kOk);
    CHECK(ok.size == 26);
    auto ext = parse_chunk_size_line("1A ; name=\"value\"");
    REQUIRE(ext.status == ParseStatus::kOk);
    CHECK(ext.size == 26);
    CHECK(ext.has_extension);
    CHECK(parse_chunk_size_line("0").size == 0);
    CHECK(parse_chunk_size_line("0").status == ParseStatus::kOk);
    auto zeros = parse_chunk_size_line("000000000000000000000010");
    REQUIRE(zeros.status == ParseStatus::kOk);
    CHECK(zeros.size == 16);
    CHECK(parse_chunk_size_line("7fffffff").status == ParseStatus::kOk);

    CHECK(parse_chunk_size_line("-1").error == ChunkSizeError::kNegative);
    CHECK(parse_chunk_size_line("").error == ChunkSizeError::kEmpty);
    CHECK(parse_chunk_size_line(";ext").error == ChunkSizeError::kEmpty);
    CHECK(parse_chunk_size_line("zz").error == ChunkSizeError::kNotHex);
    CHECK(parse_chunk_size_line("0x10").error == ChunkSizeError::kNotHex);
    CHECK(parse_chunk_size_line("+5").error == ChunkSizeError::kNotHex);
    CHECK(parse_chunk_size_line("10000000000000000").error == ChunkSizeError::kOverflow);
    auto huge = parse_chunk_size_line("ffffffffffffffff");
    CHECK(huge.status == ParseStatus::kError);
    CHECK(huge.error == ChunkSizeError::kTooLarge);
    CHECK(parse_chunk_size_line("80000000").error == ChunkSizeError::kTooLarge);
}

TEST_CASE("http: framing header values") {
    CHECK(parse_content_length(" 42 ") == 42u);
    CHECK_FALSE(parse_content_length("-1"));
    CHECK_FALSE(parse_content_length("4 2"));
    CHECK_FALSE(parse_content_length("0x10"));
    CHECK_FALSE(parse_content_length("99999999999999999999999"));
    CHECK(is_chunked_coding("chunked"));
    CHECK(is_chunked_coding("gzip, Chunked"));
    CHECK_FALSE(is_chunked_coding("chunked, gzip"));
    CHECK_FALSE(is_chunked_coding("identity"));
    CHECK(list_has_token("100-Continue", "100-continue"));
    CHECK_FALSE(list_has_token("100-continuex", "100-continue"));
}

TEST_CASE("http: executables are recognised by their headers") {
    CHECK(classify_executable(as_bytes(pe_image())) == ExecutableKind::kPe);
    // e_lfanew beyond the sniffed prefix: MZ only.
    auto far = pe_image();
    far[0x3c] = 0;
    far[0x3d] = 0x40;  // 0x4000
    CHECK(classify_executable(as_bytes(far)) == ExecutableKind::kMz);
    auto wild = pe_image();
    for (int i = 0; i < 4; ++i)
        wild[0x3c + i] = static_cast<char>(0xff);
    CHECK(classify_executable(as_bytes(wild)) == ExecutableKind::kMz);
    CHECK(classify_executable(as_bytes("MZ")) == ExecutableKind::kMz);
    CHECK(classify_executable(as_bytes("\x7f"
                                       "ELF\x01\x01\x01")) == ExecutableKind::kElf);
    CHECK(classify_executable(as_bytes("M")) == ExecutableKind::kNone);
    CHECK(classify_executable(as_bytes("<html>")) == ExecutableKind::kNone);
    CHECK(classify_executable({}) == ExecutableKind::kNone);
    CHECK(std::string(executable_kind_name(ExecutableKind::kPe)) == "pe");
}

TEST_CASE("http: probe matches requests and responses by content, not port") {
    auto req = [](std::string_view s) { return probe_request(as_bytes(s)); };
    CHECK(req("GET / HTTP/1.1\r\n") == ProbeResult::kMatch);
    CHECK(req("POST /gate.php HTTP/1.0\r\n") == ProbeResult::kMatch);
    CHECK(req("PROPFIND /dav/ HTTP/1.1\r\n") == ProbeResult::kMatch);
    CHECK(req("G") == ProbeResult::kNeedMore);
    CHECK(req("GE") == ProbeResult::kNeedMore);
    CHECK(req("GET /index") == ProbeResult::kNeedMore);
    CHECK(req("GET /index HTTP/") == ProbeResult::kNeedMore);
    // The IIS WebDAV exploit's URI is tens of kilobytes: a long target is enough.
    CHECK(req("SEARCH /" + repeat('\x90', kProbeLongTarget)) == ProbeResult::kMatch);
    CHECK(req("NICK bot123\r\nUSER bot 0 0 :bot\r\n") == ProbeResult::kNoMatch);
    CHECK(req("USER a b c :d\r\n") == ProbeResult::kNoMatch);
    CHECK(req("CAP REQ :multi-prefix\r\n") == ProbeResult::kNoMatch);
    CHECK(req("PASS secret\r\n") == ProbeResult::kNoMatch);
    CHECK(req("HELO mail.example.com\r\n") == ProbeResult::kNoMatch);
    CHECK(req("EHLO x\r\n") == ProbeResult::kNoMatch);
    CHECK(req("get / HTTP/1.1\r\n") == ProbeResult::kNoMatch);
    CHECK(req("GET / FTP/1.0\r\n") == ProbeResult::kNoMatch);
    CHECK(req("GET  / HTTP/1.1\r\n") == ProbeResult::kNoMatch);
    CHECK(req("GET / HTTP/2.0\r\n") == ProbeResult::kNoMatch);
    CHECK(req("GET /a\r\n") == ProbeResult::kNoMatch);

    auto resp = [](std::string_view s) { return probe_response(as_bytes(s)); };
    CHECK(resp("HTTP/1.1 200 OK\r\n") == ProbeResult::kMatch);
    CHECK(resp("HTTP/1") == ProbeResult::kNeedMore);
    CHECK(resp("220 mail.example.com ESMTP\r\n") == ProbeResult::kNoMatch);
    CHECK(resp("220 ProFTPD Server ready.\r\n") == ProbeResult::kNoMatch);
    CHECK(resp(":irc.example.net NOTICE AUTH :*** Looking up your hostname\r\n") ==
          ProbeResult::kNoMatch);

    FlowInfo port80;
    port80.resp.port = 80;
    auto both = [&](std::string_view o, std::string_view r) {
        return probe(ProbeInput{as_bytes(o), as_bytes(r), &port80});
    };
    CHECK(both("NICK x\r\nUSER x x x :x\r\n", "") == ProbeResult::kNoMatch);  // IRC on port 80
    CHECK(both("", ":irc.example.net NOTICE AUTH :hi\r\n") == ProbeResult::kNoMatch);
    CHECK(both("", "220 smtp ready\r\n") == ProbeResult::kNoMatch);
    CHECK(both("", "") == ProbeResult::kNeedMore);
    CHECK(both("GET", "") == ProbeResult::kNeedMore);
    CHECK(both("GET / HTTP/1.0\r\n", "") == ProbeResult::kMatch);
    CHECK(both("", "HTTP/1.0 200 OK\r\n") == ProbeResult::kMatch);
}

TEST_CASE("http: weird table names are unique and prefixed") {
    for (std::size_t i = 0; i < kWeirds.size(); ++i) {
        CHECK(kWeirds[i].name.substr(0, 5) == "http_");
        CHECK_FALSE(kWeirds[i].description.empty());
        for (std::size_t j = i + 1; j < kWeirds.size(); ++j)
            CHECK(kWeirds[i].name != kWeirds[j].name);
    }
    CHECK(weird_name(Weird::kBodyGap) == "http_body_gap");
}

// ---------------------------------------------------------------------------------------------
// Analyzer

TEST_CASE("http: a GET and its response, timestamps and fields") {
    Conn c;
    c.client(kGetRequest, kT2004 + 1000);
    c.server(kGetResponse, kT2004 + 5000);
    c.end(kT2004 + 9000);
    check_get_transaction(c);
    CHECK(c.txn(0).request_ts == kT2004 + 1000);
    CHECK(c.txn(0).response_ts == kT2004 + 5000);
    CHECK(c.result.connections == 1);
    CHECK(c.result.requests == 1);
    CHECK(c.result.responses == 1);
    CHECK(c.weirds.entries().empty());
}

TEST_CASE("http: messages split at every byte position give the same transaction") {
    for (std::size_t k = 0; k <= kGetRequest.size(); ++k) {
        CAPTURE(k);
        Conn c;
        c.client(std::string_view(kGetRequest).substr(0, k));
        c.client(std::string_view(kGetRequest).substr(k));
        c.server(kGetResponse);
        c.end();
        check_get_transaction(c);
    }
    for (std::size_t k = 0; k <= kGetResponse.size(); ++k) {
        CAPTURE(k);
        Conn c;
        c.client(kGetRequest);
        c.server(std::string_view(kGetResponse).substr(0, k));
        c.server(std::string_view(kGetResponse).substr(k));
        c.end();
        check_get_transaction(c);
    }
    Conn bytewise;
    for (char ch : kGetRequest)
        bytewise.client(std::string_view(&ch, 1));
    for (char ch : kGetResponse)
        bytewise.server(std::string_view(&ch, 1));
    bytewise.end();
    check_get_transaction(bytewise);
}

TEST_CASE("http: pipelined requests pair with responses in order") {
    Conn c;
    c.client(
        "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
        "HEAD /two HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /three HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /four HTTP/1.1\r\nHost: a\r\n\r\n");
    c.server(
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
        // A HEAD response declares a length but carries no body.
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
        "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nfour");
    c.end();
    REQUIRE(c.result.transactions.size() == 4);
    CHECK(c.txn(0).uri == "/one");
    CHECK(c.txn(0).response_body.sha256 == sha256_of("one"));
    CHECK(c.txn(1).method == "HEAD");
    CHECK(c.txn(1).status_code == 200);
    CHECK(*c.txn(1).content_length == 1000);
    CHECK(c.txn(1).response_body.length == 0);
    CHECK(c.txn(2).uri == "/three");
    CHECK(c.txn(2).status_code == 304);
    CHECK(c.txn(2).response_body.length == 0);
    CHECK(c.txn(3).uri == "/four");
    CHECK(c.txn(3).status_code == 404);
    CHECK(c.txn(3).response_body.sha256 == sha256_of("four"));
    CHECK(c.weirds.entries().empty());
}

TEST_CASE("http: chunked body with extensions and trailers is de-chunked and hashed") {
    const std::string request = "GET /cfg.txt HTTP/1.1\r\nHost: c2.example\r\n\r\n";
    const std::string response =
        "HTTP/1.1 200 OK\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "4;name=value\r\nWiki\r\n"
        "5\r\npedia\r\n"
        "E ; ext\r\n in\r\n\r\nchunks.\r\n"
        "0\r\n"
        "X-Trailer: yes\r\n"
        "\r\n";
    const std::string expected_body = "Wikipedia in\r\n\r\nchunks.";
    const std::string expected = botscope::util::sha256_hex(as_bytes(expected_body));
    for (std::size_t k = 0; k <= response.size(); ++k) {
        CAPTURE(k);
        Conn c;
        c.client(request);
        c.server(std::string_view(response).substr(0, k));
        c.server(std::string_view(response).substr(k));
        // A pipelined second exchange proves the trailers were consumed exactly.
        c.client("GET /next HTTP/1.1\r\n\r\n");
        c.server("HTTP/1.1 204 No Content\r\n\r\n");
        c.end();
        REQUIRE(c.result.transactions.size() == 2);
        const auto& t = c.txn(0);
        CHECK(t.chunked);
        CHECK_FALSE(t.content_length.has_value());
        CHECK(t.response_body.length == expected_body.size());
        CHECK(t.response_body.sha256 == expected);
        CHECK(t.response_body.complete());
        CHECK(c.txn(1).uri == "/next");
        CHECK(c.txn(1).status_code == 204);
        CHECK(c.weirds.entries().empty());
    }
}

TEST_CASE("http: an MZ/PE download is flagged with its size") {
    const std::string img = pe_image(5000);
    Conn c;
    c.client("GET /msupd.exe HTTP/1.0\r\nHost: 10.9.9.9\r\n\r\n");
    c.server("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
             std::to_string(img.size()) + "\r\n\r\n");
    // Delivered in small segments as TCP would.
    for (std::size_t off = 0; off < img.size(); off += 1460)
        c.server(std::string_view(img).substr(off, 1460));
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    const auto& b = c.txn(0).response_body;
    CHECK(b.executable == ExecutableKind::kPe);
    CHECK(b.length == 5000);
    CHECK(b.sha256 == sha256_of(img));
    CHECK(c.result.executables == 1);
}

TEST_CASE("http: close-delimited ELF body ends at the server's FIN") {
    const std::string elf = std::string(
                                "\x7f"
                                "ELF\x01\x01\x01",
                                7) +
                            repeat('x', 300);
    Conn c;
    c.client("GET /x86 HTTP/1.0\r\n\r\n");
    c.server("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
    c.server(elf);
    c.a->on_eof(Direction::kResp, kT2004);
    CHECK(c.result.transactions.size() == 1);  // recorded at the FIN, before on_end
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    const auto& b = c.txn(0).response_body;
    CHECK(b.executable == ExecutableKind::kElf);
    CHECK(b.length == elf.size());
    CHECK(b.complete());
}

TEST_CASE("http: close-delimited body is recorded at on_end without a FIN") {
    Conn c;
    c.client("GET / HTTP/1.0\r\n\r\n");
    c.server("HTTP/1.0 200 OK\r\n\r\n<html>partial");
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    CHECK(c.txn(0).response_body.length == 13);
    CHECK(c.txn(0).response_body.complete());
}

TEST_CASE("http: a POST body (stolen data) is hashed and the 100-continue dance handled") {
    const std::string body = "user=admin&pass=hunter2&cc=4111111111111111";
    Conn c;
    c.client(
        "POST /gate.php HTTP/1.1\r\nHost: drop.example\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Expect: 100-continue\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n");
    c.server("HTTP/1.1 100 Continue\r\n\r\n");
    c.client(body);
    c.server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    const auto& t = c.txn(0);
    CHECK(t.method == "POST");
    CHECK(t.expect_continue);
    CHECK(t.request_content_type == "application/x-www-form-urlencoded");
    CHECK(t.request_body.length == body.size());
    CHECK(t.request_body.sha256 == sha256_of(body));
    CHECK(t.interim_responses == 1);
    CHECK(t.status_code == 200);
    CHECK(t.response_body.sha256 == sha256_of("ok"));
    CHECK(c.result.unmatched_responses == 0);
}

TEST_CASE("http: chunked request body") {
    Conn c;
    c.client(
        "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        "GET /after HTTP/1.1\r\n\r\n");
    c.end();
    REQUIRE(c.result.transactions.size() == 2);
    CHECK(c.txn(0).request_body.sha256 == sha256_of("abcde"));
    CHECK_FALSE(c.txn(0).has_response);
    CHECK(c.txn(1).uri == "/after");
}

TEST_CASE("http: hostile chunk sizes end the body and the stream resynchronises") {
    for (std::string bad : {"-1", "ffffffffffffffffff", "fffffffff", "80000000", "zz", ""}) {
        CAPTURE(bad);
        Conn c;
        c.client("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
        c.server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n" + bad +
                 "\r\nJUNK JUNK\r\n\x90\x90\x90\r\n"
                 "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
        c.end();
        CHECK(c.weird("http_bad_chunk_size") == 1);
        REQUIRE(c.result.transactions.size() == 2);
        CHECK(c.txn(0).response_body.framing_error);
        CHECK(c.txn(0).response_body.length == 2);
        CHECK_FALSE(c.txn(0).response_body.complete());
        CHECK(c.txn(1).uri == "/b");
        CHECK(c.txn(1).response_body.sha256 == sha256_of("b"));
    }
}

TEST_CASE("http: chunk data without its CRLF is read leniently") {
    Conn c;
    c.client("GET / HTTP/1.1\r\n\r\n");
    c.server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab3\r\ncde\r\n0\r\n\r\n");
    c.end();
    CHECK(c.weird("http_chunk_missing_crlf") == 1);
    REQUIRE(c.result.transactions.size() == 1);
    CHECK(c.txn(0).response_body.sha256 == sha256_of("abcde"));
}

TEST_CASE("http: a gap inside a body keeps the body going, flagged") {
    Conn c;
    c.client("GET /f HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n");
    c.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123");
    c.a->on_gap(Direction::kResp, 3, kT2004);
    c.server("789HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");
    c.end();
    CHECK(c.weird("http_body_gap") == 1);
    REQUIRE(c.result.transactions.size() == 2);
    const auto& b = c.txn(0).response_body;
    CHECK(b.gap);
    CHECK_FALSE(b.complete());
    CHECK(b.length == 7);
    CHECK(b.sha256 == sha256_of("0123789"));
    CHECK(c.txn(1).uri == "/g");
    CHECK(c.txn(1).response_body.sha256 == sha256_of("z"));
}

TEST_CASE("http: a gap running past the end of a body resyncs on the next status line") {
    Conn c;
    c.client("GET /f HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n");
    c.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123");
    c.a->on_gap(Direction::kResp, 20, kT2004);
    c.server("ength: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");
    c.end();
    REQUIRE(c.result.transactions.size() == 2);
    CHECK(c.txn(0).response_body.gap);
    CHECK(c.txn(1).response_body.sha256 == sha256_of("z"));
}

TEST_CASE("http: a gap inside headers gives up that message only") {
    Conn c;
    c.client("GET /first HTTP/1.1\r\nHost: a\r\nUser-Ag");
    c.a->on_gap(Direction::kOrig, 50, kT2004);
    c.client("ent: lost\r\n\r\nGET /second HTTP/1.1\r\nHost: b\r\n\r\n");
    c.end();
    CHECK(c.weird("http_header_gap") == 1);
    REQUIRE(c.result.transactions.size() == 2);
    CHECK(c.txn(0).uri == "/first");
    CHECK(c.txn(0).host == "a");
    CHECK(c.txn(0).request_incomplete);
    CHECK(c.txn(0).user_agent.empty());
    CHECK(c.txn(1).uri == "/second");
    CHECK(c.txn(1).host == "b");
    CHECK_FALSE(c.txn(1).request_incomplete);
}

TEST_CASE("http: an over-long header line is dropped and the rest of the head parsed") {
    Conn c;
    c.client("GET / HTTP/1.1\r\nCookie: " + repeat('c', 3 * kMaxLineLength) +
             "\r\nHost: after.example\r\n\r\n");
    c.end();
    CHECK(c.weird("http_header_too_long") == 1);
    REQUIRE(c.result.transactions.size() == 1);
    CHECK(c.txn(0).host == "after.example");
}

TEST_CASE("http: too many headers are flagged but framing is still honoured") {
    std::string req = "POST /x HTTP/1.1\r\n";
    for (int i = 0; i < 150; ++i)
        req += "X-Pad-" + std::to_string(i) + ": 1\r\n";
    req += "User-Agent: late\r\nContent-Length: 4\r\n\r\nBODYGET /y HTTP/1.1\r\n\r\n";
    Conn c;
    c.client(req);
    c.end();
    CHECK(c.weird("http_too_many_headers") == 1);
    REQUIRE(c.result.transactions.size() == 2);
    CHECK(c.txn(0).user_agent.empty());
    CHECK(c.txn(0).request_body.sha256 == sha256_of("BODY"));
    CHECK(c.txn(1).uri == "/y");
}

TEST_CASE("http: a 70 KB WebDAV exploit URI is kept truncated with its full length") {
    const std::string target = "/" + repeat('\x90', 70000);
    const std::string line = "SEARCH " + target + " HTTP/1.1";
    Conn c;
    c.client(line + "\r\nHost: victim\r\nContent-Length: 0\r\n\r\n");
    c.server("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    c.end();
    CHECK(c.weird("http_start_line_too_long") == 1);
    REQUIRE(c.result.transactions.size() == 1);
    const auto& t = c.txn(0);
    CHECK(t.method == "SEARCH");
    CHECK(t.uri.size() == kMaxUriLength);
    CHECK(t.uri_truncated);
    CHECK(t.request_line_length == line.size());
    CHECK(t.version.empty());
    CHECK(t.host == "victim");
    CHECK(t.status_code == 400);
}

TEST_CASE("http: long header values and reasons are bounded") {
    Conn c;
    c.client("GET / HTTP/1.1\r\nUser-Agent: " + repeat('u', 3000) + "\r\n\r\n");
    c.server("HTTP/1.1 200 " + repeat('r', 3000) + "\r\nContent-Length: 0\r\n\r\n");
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    CHECK(c.txn(0).user_agent.size() == kMaxFieldLength);
    CHECK(c.txn(0).reason.size() == kMaxFieldLength);
    CHECK(c.txn(0).fields_truncated);
}

TEST_CASE("http: folded header lines continue the previous value") {
    Conn c;
    c.client("GET / HTTP/1.0\r\nUser-Agent: Bot/1.0\r\n (Windows)\r\n\r\n");
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    CHECK(c.txn(0).user_agent == "Bot/1.0 (Windows)");
}

TEST_CASE("http: a response with no request is recorded on its own") {
    Conn c;
    c.server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    c.end();
    CHECK(c.weird("http_unmatched_response") == 1);
    CHECK(c.result.unmatched_responses == 1);
    REQUIRE(c.result.transactions.size() == 1);
    CHECK_FALSE(c.txn(0).has_request);
    CHECK(c.txn(0).status_code == 200);
    CHECK(c.txn(0).response_body.length == 2);
}

TEST_CASE("http: a request never answered is recorded at the end") {
    Conn c;
    c.client("GET /silent HTTP/1.1\r\n\r\n");
    CHECK(c.result.transactions.empty());
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    CHECK(c.txn(0).uri == "/silent");
    CHECK_FALSE(c.txn(0).has_response);
}

TEST_CASE("http: a body cut by the end of the stream is marked truncated") {
    Conn c;
    c.client("GET /big HTTP/1.1\r\n\r\n");
    c.server("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nMZ partial");
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    const auto& b = c.txn(0).response_body;
    CHECK(b.truncated);
    CHECK_FALSE(b.complete());
    CHECK(b.length == 10);
    CHECK(b.executable == ExecutableKind::kMz);
}

TEST_CASE("http: CONNECT 200 turns the connection into a tunnel") {
    Conn c;
    c.client("CONNECT mail.example:25 HTTP/1.0\r\n\r\n");
    c.server("HTTP/1.0 200 Connection established\r\n\r\n220 mail ESMTP\r\n");
    c.client("HELO bot\r\nMAIL FROM:<a@b>\r\n");
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    CHECK(c.txn(0).tunnel);
    CHECK(c.txn(0).status_code == 200);
    CHECK(c.weirds.entries().empty());
    CHECK_FALSE(c.a->gave_up());
}

TEST_CASE("http: bad content length is reported") {
    Conn c;
    c.client("GET / HTTP/1.1\r\n\r\n");
    c.server("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nrest");
    c.end();
    CHECK(c.weird("http_bad_content_length") == 1);
    REQUIRE(c.result.transactions.size() == 1);
    // Without a usable length the body runs to the close.
    CHECK(c.txn(0).response_body.sha256 == sha256_of("rest"));
}

TEST_CASE("http: Content-Length together with chunked: chunked wins") {
    Conn c;
    c.client(
        "POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1\r\nA\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
    c.end();
    CHECK(c.weird("http_content_length_and_chunked") == 1);
    REQUIRE(c.result.transactions.size() == 2);
    CHECK(c.txn(0).request_body.sha256 == sha256_of("A"));
    CHECK(c.txn(1).uri == "/next");
}

TEST_CASE("http: garbage gives up quietly; weirds only after confirmation") {
    Conn c;
    for (int i = 0; i < 25 && !c.a->gave_up(); ++i)
        c.client("NOT AN HTTP LINE\r\n");
    CHECK(c.a->gave_up());
    c.end();
    CHECK(c.weirds.entries().empty());
    CHECK(c.result.transactions.empty());
    CHECK(c.result.connections == 0);

    Conn d;
    d.client("GET / HTTP/1.1\r\n\r\n");
    for (int i = 0; i < 25 && !d.a->gave_up(); ++i)
        d.client("\x01\x02garbage\r\n");
    CHECK(d.a->gave_up());
    CHECK(d.weird("http_bad_request_line") == kMaxInvalidMessages);
    d.end();
    CHECK(d.result.transactions.size() == 1);
}

TEST_CASE("http: transactions past the per-connection limit are counted, not stored") {
    Conn c;
    const std::size_t n = kMaxTransactionsPerConnection + 5;
    for (std::size_t i = 0; i < n; ++i) {
        c.client("GET / HTTP/1.1\r\n\r\n");
        c.server("HTTP/1.1 204 No Content\r\n\r\n");
    }
    c.end();
    CHECK(c.result.transactions.size() == kMaxTransactionsPerConnection);
    CHECK(c.result.dropped == 5);
    CHECK(c.result.requests == n);
    CHECK(c.weird("http_transaction_limit") == 1);
}

TEST_CASE("http: pipeline overflow evicts the oldest unanswered but keeps pairing right") {
    Conn c;
    const std::size_t n = kMaxOpenTransactions + 8;
    for (std::size_t i = 0; i < n; ++i)
        c.client("GET /r" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
    for (std::size_t i = 0; i < n; ++i) {
        auto body = "b" + std::to_string(i);
        c.server("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                 body);
    }
    c.end();
    CHECK(c.weird("http_pipeline_overflow") == 8);
    CHECK(c.weird("http_unmatched_response") == 0);
    CHECK(c.result.requests == n);
    CHECK(c.result.responses == n);
    std::size_t paired = 0;
    for (const auto& t : c.result.transactions) {
        if (!t.has_request || !t.has_response)
            continue;
        ++paired;
        CHECK(t.response_body.sha256 == sha256_of("b" + t.uri.substr(2)));
    }
    CHECK(paired == n - 8);
}

TEST_CASE("http: hostile bodies and heads, each sent twice around a huge gap") {
    auto twice = [](Direction dir, const std::string& in, Conn& c) {
        c.send(dir, in);
        c.a->on_gap(dir, std::uint64_t{1} << 40, kT2004);
        c.send(dir, in);
        c.end();
    };
    SUBCASE("a chunk-size line of 20000 hex digits") {
        Conn c;
        twice(Direction::kOrig,
              "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + repeat('f', 20000) + "\r\n",
              c);
        CHECK(c.weird("http_bad_chunk_size") == 2);
        REQUIRE(c.result.transactions.size() == 2);
        CHECK(c.txn(0).request_body.framing_error);
        CHECK(c.txn(1).request_body.framing_error);
    }
    SUBCASE("Content-Length of 2^64-1") {
        Conn c;
        const std::string in = "GET / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\nabc";
        twice(Direction::kOrig, in, c);
        REQUIRE(c.result.transactions.size() == 1);
        const auto& b = c.txn(0).request_body;
        CHECK(b.length == 3 + in.size());
        CHECK(b.gap);
        CHECK(b.truncated);
    }
    SUBCASE("a run of CRs longer than a line") {
        Conn c;
        twice(Direction::kOrig, "GET / HTTP/1.1\r\n" + repeat('\n', 100) + repeat('\r', 10000), c);
        CHECK(c.weird("http_header_gap") == 1);
        CHECK(c.weird("http_bad_request_line") == 0);
        CHECK(c.result.transactions.size() == 2);
    }
    SUBCASE("NUL bytes as a header line") {
        Conn c;
        twice(Direction::kOrig, std::string("GET / HTTP/1.1\r\n\0\0\0\r\n\r\n", 24), c);
        CHECK(c.weird("http_bad_header_line") == 2);
        CHECK(c.result.transactions.size() == 2);
    }
    SUBCASE("a 2 GiB chunk announced by the server") {
        Conn c;
        twice(Direction::kResp,
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\nabc", c);
        CHECK(c.weird("http_bad_chunk_size") == 0);
        // The gap outran the chunk, so the second copy starts a message of its own.
        REQUIRE(c.result.transactions.size() == 2);
        CHECK(c.txn(0).response_body.gap);
        CHECK(c.txn(0).response_body.length == 3);
        CHECK(c.txn(1).response_body.truncated);
        CHECK(c.txn(1).response_body.length == 3);
    }
    SUBCASE("requests sent by the server side are not responses") {
        Conn c;
        twice(Direction::kResp, kGetRequest, c);
        CHECK(c.result.transactions.empty());
        CHECK(c.result.connections == 0);
    }
}

TEST_CASE("http: a gzip body is decoded: typed, hashed and sized as its content") {
    const std::string pe = pe_image(50'000);
    const std::string gz = compress(pe, 16 + 15);
    Conn c;
    c.client("GET /x.exe HTTP/1.1\r\nHost: a\r\n\r\n");
    // In 7-byte pieces: the decoder streams across every boundary.
    std::string resp = coded_response("gzip", gz);
    for (std::size_t at = 0; at < resp.size(); at += 7)
        c.server(std::string_view(resp).substr(at, 7));
    c.end();
    REQUIRE(c.result.transactions.size() == 1);
    const HttpBody& b = c.txn(0).response_body;
    CHECK(b.coding == "gzip");
    CHECK(b.length == pe.size());
    CHECK(b.sha256 == sha256_of(pe));
    CHECK(b.md5 == botscope::util::md5_hex(as_bytes(pe)));
    CHECK(b.executable == ExecutableKind::kPe);
    CHECK(b.wire_length == gz.size());
    CHECK(b.wire_sha256 == sha256_of(gz));
    CHECK(b.complete());
    CHECK_FALSE(b.coding_error);
    CHECK(c.result.executables == 1);
}

TEST_CASE("http: deflate bodies, zlib-wrapped or raw, give their text") {
    for (int bits : {15, -15}) {
        CAPTURE(bits);
        const std::string text = ".ddos.syn 10.66.0.200 80 60\n.scan 10.66.0.x 445";
        Conn c;
        c.client("GET /cmd.txt HTTP/1.1\r\nHost: a\r\n\r\n");
        c.server(coded_response("Deflate", compress(text, bits)));
        c.end();
        const HttpBody& b = c.txn(0).response_body;
        CHECK(b.coding == "deflate");
        CHECK(b.small == text);
        CHECK(b.length == text.size());
        CHECK(b.complete());
    }
}

TEST_CASE("http: coded bodies that lie, end early or inflate a thousandfold") {
    // Not gzip at all: the body is what was transferred.
    {
        Conn c;
        c.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        c.server(coded_response("gzip", "plain text, not gzip"));
        c.end();
        const HttpBody& b = c.txn(0).response_body;
        CHECK(b.coding_error);
        CHECK(b.coding.empty());
        CHECK(b.length == 20);
        CHECK(b.sha256 == sha256_of("plain text, not gzip"));
        CHECK(b.small == "plain text, not gzip");
    }
    // A gzip stream cut short but framed as complete: what decoded is only a start.
    {
        std::string gz = compress(pe_image(20'000), 16 + 15);
        gz.resize(gz.size() / 2);
        Conn c;
        c.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        c.server(coded_response("gzip", gz));
        c.end();
        const HttpBody& b = c.txn(0).response_body;
        CHECK(b.coding == "gzip");
        CHECK(b.truncated);
        CHECK_FALSE(b.complete());
    }
    // 64 MiB of zeros in about 64 KB: decoding stops at kMaxDecodedBody.
    {
        const std::string bomb = compress(std::string(64u << 20, '\0'), 16 + 15);
        CHECK(bomb.size() < 100'000);
        Conn c;
        c.client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        c.server(coded_response("gzip", bomb));
        c.end();
        const HttpBody& b = c.txn(0).response_body;
        CHECK(b.coding_limit);
        CHECK(b.length == kMaxDecodedBody);
        CHECK(b.wire_length == bomb.size());
        CHECK_FALSE(b.complete());
        CHECK(c.result.decoded_bytes == kMaxDecodedBody);
    }
}

}  // namespace test_http
