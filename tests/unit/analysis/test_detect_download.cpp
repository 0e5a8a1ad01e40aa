// Downloads on generated captures run through the real engine: an executable over HTTP (whole
// and cut short), over TFTP, and over FTP when only the control connection was captured; FTP
// with its data connection from a hand-filled result. Sizes and hashes against the bytes sent.

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/detect/download.h"
#include "analysis/engine.h"
#include "support/pcapgen.h"
#include "util/hash.h"

namespace test_detect_download {

using namespace botscope::analysis;
using namespace botscope::testing;
using botscope::analysis::detect::Download;
using botscope::analysis::detect::find_downloads;
namespace detect = botscope::analysis::detect;

namespace {

struct Analysis {
    NetworkResult net;
    detect::BehaviorResult behavior;
};

Analysis analyze(const CaptureWriter& w) {
    Engine e(kLinkEthernet);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    Analysis a;
    a.net = e.finish(&a.behavior);
    return a;
}

/// A small PE file: MZ, e_lfanew at 0x3c pointing at "PE\0\0", then filler.
std::string pe_file(std::size_t size) {
    std::string f(size, '\0');
    f[0] = 'M';
    f[1] = 'Z';
    f[0x3c] = static_cast<char>(0x80);
    f.replace(0x80, 4, std::string("PE\0\0", 4));
    for (std::size_t i = 0x84; i < size; ++i)
        f[i] = static_cast<char>('a' + i % 26);
    return f;
}

std::string elf_file(std::size_t size) {
    std::string f(size, 'e');
    f[0] = '\x7f';
    f.replace(1, 3, "ELF");
    return f;
}

std::string sha256(std::string_view s) {
    botscope::util::Sha256 h;
    h.update(bytes_of(s));
    return botscope::util::to_hex(h.finish());
}

void http_get(CaptureWriter& w, std::uint16_t port, const Endpoint& server, Timestamp start,
              std::string_view uri, std::string_view host, std::string_view body,
              std::size_t declared) {
    TcpConversation c(w, ep("10.66.0.5", port), server, start);
    c.handshake();
    std::string req = "GET " + std::string(uri) + " HTTP/1.0\r\n";
    if (!host.empty())
        req += "Host: " + std::string(host) + "\r\n";
    c.send(Direction::kOrig, req + "\r\n");
    c.send(Direction::kResp,
           "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
           "Content-Length: " +
               std::to_string(declared) + "\r\n\r\n");
    c.send_segments(Direction::kResp, body, 1000);
    c.close();
}

Bytes tftp(std::uint16_t opcode, std::string_view rest) {
    Bytes b = {static_cast<std::uint8_t>(opcode >> 8), static_cast<std::uint8_t>(opcode)};
    b.insert(b.end(), rest.begin(), rest.end());
    return b;
}

Bytes tftp_block(std::uint16_t opcode, std::uint16_t block, std::string_view data = {}) {
    std::string rest = {static_cast<char>(block >> 8), static_cast<char>(block & 0xff)};
    return tftp(opcode, rest + std::string(data));
}

/// An RRQ from 10.66.0.5 answered from port 3001 block by block.
void tftp_read(CaptureWriter& w, Timestamp t, std::uint16_t port, std::string_view name,
               std::string_view file) {
    const Endpoint client = ep("10.66.0.5", port);
    const Endpoint server = ep("198.51.100.69", 69);
    const Endpoint tid = ep("198.51.100.69", 3001);
    w.add_ip(t,
             udp_packet(client, server, tftp(1, std::string(name) + std::string("\0octet\0", 7))));
    std::uint16_t block = 1;
    for (std::size_t off = 0;; off += 512, ++block) {
        std::string_view chunk = file.substr(std::min(off, file.size()), 512);
        t += kMilli;
        w.add_ip(t, udp_packet(tid, client, tftp_block(3, block, chunk)));
        t += kMilli;
        w.add_ip(t, udp_packet(client, tid, tftp_block(4, block)));
        if (chunk.size() < 512)
            break;
    }
}

const Download* find(const std::vector<Download>& ds, std::string_view protocol,
                     std::string_view name) {
    for (const auto& d : ds)
        if (d.protocol == protocol && d.name == name)
            return &d;
    return nullptr;
}

}  // namespace

TEST_CASE("download: executables over HTTP and TFTP with sizes and hashes, in time order") {
    CaptureWriter w;
    const std::string pe = pe_file(3000);
    const std::string elf = elf_file(1300);
    const std::string text(700, 't');
    http_get(w, 2000, ep("203.0.113.10", 80), kT0, "/files/update.exe?v=2", "dl.example.com", pe,
             pe.size());
    // No Host header and a port of its own: the URL names the address and port.
    http_get(w, 2001, ep("203.0.113.11", 8080), kT0 + 10 * kSecond, "/x/b.exe", "", pe, pe.size());
    // Cut short: 2,000 of 3,000 declared bytes, so no hashes.
    http_get(w, 2002, ep("203.0.113.12", 80), kT0 + 20 * kSecond, "/part.exe", "p.example.org",
             std::string_view(pe).substr(0, 2000), pe.size());
    // A page is not a download.
    http_get(w, 2003, ep("203.0.113.13", 80), kT0 + 25 * kSecond, "/index.html", "example.com",
             "<html></html>", 13);
    tftp_read(w, kT0 + 30 * kSecond, 1069, "bot.elf", elf);
    tftp_read(w, kT0 + 40 * kSecond, 1070, "notes.txt", text);

    auto run = analyze(w);
    REQUIRE(run.net.http.transactions.size() == 4);
    REQUIRE(run.net.tftp.transfers.size() == 2);
    CHECK(run.behavior.dropped == 0);
    const auto& ds = run.behavior.downloads;
    REQUIRE(ds.size() == 4);
    for (std::size_t i = 1; i < ds.size(); ++i)
        CHECK(ds[i - 1].ts <= ds[i].ts);

    const Download& a = ds[0];
    CHECK(a.protocol == "http");
    CHECK(a.url == "http://dl.example.com/files/update.exe?v=2");
    CHECK(a.name == "update.exe");
    CHECK(a.kind == "pe");
    CHECK(a.size == pe.size());
    CHECK(a.complete);
    CHECK(a.md5 == botscope::util::md5_hex(bytes_of(pe)));
    CHECK(a.sha256 == sha256(pe));
    CHECK(a.client == ep("10.66.0.5", 2000));
    CHECK(a.server == ep("203.0.113.10", 80));
    CHECK(a.ts >= kT0);
    CHECK(a.ts < kT0 + kSecond);

    CHECK(ds[1].url == "http://203.0.113.11:8080/x/b.exe");
    CHECK(ds[1].sha256 == a.sha256);

    const Download& cut = ds[2];
    CHECK(cut.url == "http://p.example.org/part.exe");
    CHECK(cut.size == 2000);
    CHECK_FALSE(cut.complete);
    CHECK(cut.md5.empty());
    CHECK(cut.sha256.empty());

    const Download& t = ds[3];
    CHECK(t.protocol == "tftp");
    CHECK(t.url == "tftp://198.51.100.69/bot.elf");
    CHECK(t.kind == "elf");
    CHECK(t.size == elf.size());
    CHECK(t.complete);
    CHECK(t.sha256 == sha256(elf));
    CHECK(t.md5 == botscope::util::md5_hex(bytes_of(elf)));
    CHECK(t.client == ep("10.66.0.5", 1069));
    CHECK(t.flow == run.net.tftp.transfers[0].data_flow.value_or(0));
    CHECK(find(ds, "tftp", "notes.txt") == nullptr);
}

TEST_CASE("download: an FTP RETR of an .exe without its data connection is listed by name") {
    CaptureWriter w;
    TcpConversation c(w, ep("10.66.0.5", 1040), ep("192.0.2.21", 21), kT0);
    c.handshake();
    c.send(Direction::kResp, "220 FTP server ready\r\n");
    for (const auto& [cmd, reply] : std::vector<std::pair<std::string, std::string>>{
             {"USER anonymous", "331 Password required"},
             {"PASS x@example.com", "230 Logged in"},
             {"TYPE I", "200 Type set to I"},
             {"PASV", "227 Entering Passive Mode (192,0,2,21,19,137)"},
             {"RETR /pub/Bot.EXE", "150 Opening BINARY mode data connection (4096 bytes)"},
             {"", "226 Transfer complete"},
             {"RETR readme.txt", "150 Opening BINARY mode data connection"},
             {"", "226 Transfer complete"},
             {"RETR missing.exe", "550 No such file"},
             {"QUIT", "221 Goodbye"}}) {
        if (!cmd.empty())
            c.send(Direction::kOrig, cmd + "\r\n");
        c.send(Direction::kResp, reply + "\r\n");
    }
    c.close();
    auto run = analyze(w);
    REQUIRE(run.net.ftp.sessions.size() == 1);
    REQUIRE(run.net.ftp.sessions[0].transfers.size() == 3);
    const auto& ds = run.behavior.downloads;
    REQUIRE(ds.size() == 1);
    const Download& d = ds[0];
    CHECK(d.protocol == "ftp");
    CHECK(d.name == "/pub/Bot.EXE");
    CHECK(d.url == "ftp://192.0.2.21/pub/Bot.EXE");
    CHECK(d.client == ep("10.66.0.5", 1040));
    CHECK(d.server == ep("192.0.2.21", 21));
    if (!run.net.ftp.sessions[0].transfers[0].data_flow) {
        CHECK(d.kind.empty());
        CHECK(d.size == 0);
        CHECK(d.flow == run.net.ftp.sessions[0].flow);
    }
    CHECK_FALSE(d.complete);
    CHECK(d.md5.empty());
    CHECK(d.sha256.empty());
}

TEST_CASE("download: FTP data connections decide by content when they were captured") {
    NetworkResult net;
    ftp::FtpSession s;
    s.flow = 1;
    s.orig = ep("10.66.0.5", 1041);
    s.resp = ep("198.51.100.21", 2121);
    auto transfer = [](std::string name, std::optional<FlowId> flow, std::string kind,
                       bool complete) {
        ftp::FtpTransfer t;
        t.ts = kT0 + static_cast<Timestamp>(name.size()) * kSecond;
        t.command = "RETR";
        t.name = std::move(name);
        t.reply = 226;
        t.data_flow = flow;
        t.data_bytes = 5000;
        t.md5 = std::string(32, '1');
        t.sha256 = std::string(64, '2');
        t.data_complete = complete;
        t.file_kind = std::move(kind);
        return t;
    };
    s.transfers.push_back(transfer("update.bin", 2, "pe", true));         // content: listed
    s.transfers.push_back(transfer("fake.exe", 3, "", true));             // seen whole: not a PE
    s.transfers.push_back(transfer("headless.scr", 4, "", false));        // start lost: by name
    s.transfers.push_back(transfer("cut-short.elf.x", 5, "elf", false));  // partial: no hashes
    ftp::FtpTransfer listing = transfer("x.exe", 6, "pe", true);
    listing.command = "LIST";
    listing.listing = true;
    s.transfers.push_back(listing);
    ftp::FtpTransfer upload = transfer("y.exe", 7, "pe", true);
    upload.command = "STOR";
    s.transfers.push_back(upload);
    net.ftp.sessions.push_back(s);

    std::uint64_t dropped = 0;
    detect::DownloadCollector none;
    auto ds = find_downloads(net, none, dropped);
    REQUIRE(ds.size() == 3);
    const Download* whole = find(ds, "ftp", "update.bin");
    REQUIRE(whole != nullptr);
    CHECK(whole->url == "ftp://198.51.100.21:2121/update.bin");
    CHECK(whole->flow == 2);
    CHECK(whole->kind == "pe");
    CHECK(whole->size == 5000);
    CHECK(whole->complete);
    CHECK(whole->md5 == std::string(32, '1'));
    CHECK(whole->sha256 == std::string(64, '2'));
    const Download* headless = find(ds, "ftp", "headless.scr");
    REQUIRE(headless != nullptr);
    CHECK(headless->kind.empty());
    CHECK_FALSE(headless->complete);
    CHECK(headless->md5.empty());
    const Download* partial = find(ds, "ftp", "cut-short.elf.x");
    REQUIRE(partial != nullptr);
    CHECK(partial->kind == "elf");
    CHECK_FALSE(partial->complete);
    CHECK(partial->sha256.empty());
    CHECK(find(ds, "ftp", "fake.exe") == nullptr);
}

TEST_CASE("download: an executable fetched after the HTTP result is full is still found") {
    // 10,000 page requests fill the transactions the HTTP result keeps; the bot then fetches
    // its update, which only the collector fed as transactions close can see.
    CaptureWriter w;
    const Endpoint web = ep("203.0.113.20", 80);
    const Timestamp t = http_page_requests(w, ip("10.66.0.5"), web, kT0, http::kMaxTransactions);
    const std::string pe = pe_file(4000);
    http_get(w, 3999, web, t + kSecond, "/update.exe", "web.example", pe, pe.size());
    auto run = analyze(w);
    CHECK(run.net.http.transactions.size() == http::kMaxTransactions);
    CHECK(run.net.http.dropped == 1);
    REQUIRE(run.behavior.downloads.size() == 1);
    const Download& d = run.behavior.downloads[0];
    CHECK(d.url == "http://web.example/update.exe");
    CHECK(d.kind == "pe");
    CHECK(d.complete);
    CHECK(d.sha256 == sha256(pe));
}

TEST_CASE("download: one file fetched again and again is one entry, counted past the cap") {
    // A bot re-sent its update command at every reconnect fetches the same file each time:
    // more transfers than the findings kept one by one, then another file once.
    CaptureWriter w;
    const Endpoint web = ep("203.0.113.20", 80);
    const std::string pe = pe_file(2000);
    constexpr std::size_t kRepeats = detect::kMaxFindings + 300;
    Timestamp t = kT0;
    for (std::size_t i = 0; i < kRepeats; ++i, t += 100 * kMilli)
        http_get(w, static_cast<std::uint16_t>(2000 + i), web, t, "/update.exe", "web.example", pe,
                 pe.size());
    const std::string other = pe_file(3000);
    http_get(w, 1999, web, t, "/other.exe", "web.example", other, other.size());
    auto run = analyze(w);
    REQUIRE(run.behavior.downloads.size() == 1);
    const Download& d = run.behavior.downloads[0];
    CHECK(d.url == "http://web.example/update.exe");
    CHECK(d.count == kRepeats);
    CHECK(d.ts < kT0 + 100 * kMilli);  // the first request
    CHECK(d.last_ts > kT0 + (kRepeats - 2) * 100 * kMilli);
    CHECK(d.evidence.flows_total == kRepeats);
    CHECK(d.evidence.flows.size() == detect::kMaxEvidenceFlows);
    CHECK(d.sha256 == sha256(pe));
    // The other file came after the cap and repeats none kept: it is counted as dropped.
    CHECK(run.behavior.dropped == 1);
}

TEST_CASE("download: grouping keeps every command's reference on its transfer's entry") {
    detect::BehaviorResult b;
    auto transfer = [](Timestamp ts, FlowId flow, std::string url) {
        Download d;
        d.protocol = "http";
        d.ts = ts;
        d.flow = flow;
        d.client = ep("10.66.0.5", static_cast<std::uint16_t>(1000 + flow));
        d.server = ep("10.66.0.1", 80);
        d.url = std::move(url);
        d.kind = "pe";
        d.size = 100;
        return d;
    };
    b.downloads = {
        transfer(1 * kSecond, 1, "http://a/x.exe"), transfer(2 * kSecond, 2, "http://a/y.exe"),
        transfer(3 * kSecond, 3, "http://a/x.exe"), transfer(4 * kSecond, 4, "http://a/x.exe")};
    b.downloads[2].command = 0;
    b.downloads[3].command = 1;
    b.commands.resize(2);
    b.commands[0].followed_by.push_back({"downloads", 2, kSecond, true});
    b.commands[1].followed_by.push_back({"downloads", 1, kSecond, true});
    b.commands[1].followed_by.push_back({"downloads", 3, kSecond, true});
    detect::DownloadCollector none;
    detect::group_downloads(b, none);
    REQUIRE(b.downloads.size() == 2);
    CHECK(b.downloads[0].url == "http://a/x.exe");
    CHECK(b.downloads[0].count == 3);
    CHECK(b.downloads[0].ts == 1 * kSecond);
    CHECK(b.downloads[0].last_ts == 4 * kSecond);
    CHECK(b.downloads[0].evidence.flows == std::vector<FlowId>{1, 3, 4});
    CHECK(b.downloads[0].command == 0u);  // the first transfer that followed a command
    CHECK(b.downloads[1].url == "http://a/y.exe");
    CHECK(b.downloads[1].count == 1);
    CHECK(b.downloads[1].evidence.flows_total == 1);
    CHECK(b.commands[0].followed_by[0].index == 0);
    CHECK(b.commands[1].followed_by[0].index == 1);
    CHECK(b.commands[1].followed_by[1].index == 0);
}

TEST_CASE("download: an empty result gives nothing") {
    NetworkResult net;
    std::uint64_t dropped = 0;
    detect::DownloadCollector none;
    CHECK(find_downloads(net, none, dropped).empty());
    CHECK(dropped == 0);
}

}  // namespace test_detect_download
