// Announced connections (FTP data after PASV/PORT, IRC DCC after an offer) are digested by the
// engine: the file's size, hashes and kind reach the FTP transfer, the data-stream list and the
// downloads.

#include <doctest/doctest.h>

#include <string>

#include "analysis/engine.h"
#include "support/bot_traffic.h"
#include "support/pcapgen.h"
#include "util/hash.h"

namespace test_stream_digest {

using namespace botscope::analysis;
using namespace botscope::testing;
using botscope::testing::kSecond;

namespace {

struct Result {
    NetworkResult net;
    detect::BehaviorResult behavior;
};

Result run(const CaptureWriter& w) {
    Engine e(kLinkEthernet);
    for (const auto& f : w.frames())
        e.process(f.ts, f.data, f.wire_len);
    Result r;
    r.net = e.finish(&r.behavior);
    return r;
}

std::string sha256_hex(const Bytes& b) {
    botscope::util::Sha256 h;
    h.update(b);
    return botscope::util::to_hex(h.finish());
}

}  // namespace

TEST_CASE("an FTP RETR in passive mode: the data connection is hashed into the transfer") {
    CaptureWriter w;
    Bytes file = fake_pe(10000);
    std::string content(file.begin(), file.end());
    TcpConversation ctl(w, ep("10.66.0.10", 1200), ep("10.66.0.1", 21), kT0);
    ctl.handshake();
    ctl.send(Direction::kResp, "220 ftp ready\r\n");
    ctl.send(Direction::kOrig, "USER anonymous\r\n");
    ctl.send(Direction::kResp, "331 password\r\n");
    ctl.send(Direction::kOrig, "PASS x@y\r\n");
    ctl.send(Direction::kResp, "230 ok\r\n");
    ctl.send(Direction::kOrig, "TYPE I\r\n");
    ctl.send(Direction::kResp, "200 binary\r\n");
    ctl.send(Direction::kOrig, "PASV\r\n");
    ctl.send(Direction::kResp, "227 Entering Passive Mode (10,66,0,1,19,137).\r\n");  // 5001
    ctl.send(Direction::kOrig, "RETR bot.exe\r\n");
    TcpConversation data(w, ep("10.66.0.10", 1201), ep("10.66.0.1", 5001), ctl.now());
    data.handshake();
    ctl.advance(data.now() - ctl.now() + kMilli);
    ctl.send(Direction::kResp, "150 Opening BINARY mode data connection (10000 bytes)\r\n");
    data.send_segments(Direction::kResp, content, 1460);
    data.close();
    ctl.advance(data.now() - ctl.now() + kMilli);
    ctl.send(Direction::kResp, "226 Transfer complete\r\n");
    ctl.send(Direction::kOrig, "QUIT\r\n");
    ctl.send(Direction::kResp, "221 bye\r\n");
    ctl.close();
    // An unannounced connection to another port is not digested.
    TcpConversation other(w, ep("10.66.0.10", 1300), ep("10.66.0.1", 5002), ctl.now());
    other.handshake();
    other.send(Direction::kResp, content.substr(0, 100));
    other.close();

    Result r = run(w);
    REQUIRE(r.net.data_streams.list.size() == 1);
    const DataStream& d = r.net.data_streams.list[0];
    CHECK(d.service == "ftp-data");
    CHECK(d.resp == ep("10.66.0.1", 5001));
    CHECK(d.content == Direction::kResp);
    CHECK(d.size == 10000);
    CHECK(d.sha256 == sha256_hex(file));
    CHECK(d.kind == "pe");
    REQUIRE(r.net.ftp.sessions.size() == 1);
    REQUIRE(r.net.ftp.sessions[0].transfers.size() == 1);
    const auto& t = r.net.ftp.sessions[0].transfers[0];
    CHECK(t.data_flow == std::optional<FlowId>(d.flow));
    CHECK(t.data_bytes == 10000);
    CHECK(t.sha256 == sha256_hex(file));
    CHECK(t.data_complete);
    CHECK(t.file_kind == "pe");
    REQUIRE(r.behavior.downloads.size() == 1);
    const auto& dl = r.behavior.downloads[0];
    CHECK(dl.protocol == "ftp");
    CHECK(dl.url == "ftp://10.66.0.1/bot.exe");
    CHECK(dl.size == 10000);
    CHECK(dl.complete);
    CHECK(dl.sha256 == sha256_hex(file));
}

TEST_CASE("a file offered over IRC DCC SEND is digested and listed as a download") {
    CaptureWriter w;
    Bytes file = fake_pe(3000);
    TcpConversation irc(w, ep("10.66.0.10", 1400), ep("10.66.0.1", 6667), kT0);
    irc.handshake();
    irc.send(Direction::kOrig, "NICK bot\r\nUSER bot 0 0 :bot\r\n");
    irc.send(Direction::kResp, ":srv 001 bot :hi\r\n");
    // 10.66.0.1 = 172097537
    irc.send(Direction::kResp,
             ":boss!b@h PRIVMSG bot :\x01"
             "DCC SEND update.exe 172097537 6000 3000\x01\r\n");
    TcpConversation dcc(w, ep("10.66.0.10", 1401), ep("10.66.0.1", 6000), irc.now());
    dcc.handshake();
    dcc.send_segments(Direction::kResp, std::string(file.begin(), file.end()), 1000);
    dcc.close();
    irc.advance(dcc.now() - irc.now());
    irc.close();

    Result r = run(w);
    REQUIRE(r.net.data_streams.list.size() == 1);
    CHECK(r.net.data_streams.list[0].service == "irc-dcc");
    CHECK(r.net.data_streams.list[0].size == 3000);
    REQUIRE(r.behavior.downloads.size() == 1);
    const auto& dl = r.behavior.downloads[0];
    CHECK(dl.protocol == "dcc");
    CHECK(dl.name == "update.exe");
    CHECK(dl.url == "dcc://10.66.0.1:6000/update.exe");
    CHECK(dl.client.addr == ip("10.66.0.10"));
    CHECK(dl.sha256 == sha256_hex(file));
}

}  // namespace test_stream_digest
