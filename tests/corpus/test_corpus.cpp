// Real captures that nobody on this project wrote, with the facts their origin projects'
// test suites assert (../shared/captures/README.md). Set BOTSCOPE_CAPTURES to use another
// copy of that folder. Without the folder the test is skipped, or fails when
// BOTSCOPE_CORPUS_REQUIRED is on (support/required.h; tools/check sets it).

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "analysis/pcap_source.h"
#include "report/network_json.h"
#include "support/required.h"

using botscope::report::Json;
namespace fs = std::filesystem;

fs::path captures_dir() {
    if (const char* env = std::getenv("BOTSCOPE_CAPTURES"))
        return env;
    return BOTSCOPE_CAPTURES_DEFAULT;
}

namespace {

/// The `network` section for a capture, as a user sees it in the report.
Json analyse(const std::string& rel) {
    fs::path p = captures_dir() / rel;
    auto out = botscope::analysis::analyze_capture_file(p.string());
    INFO(out.message);
    REQUIRE(out.error == botscope::analysis::CaptureError::kNone);
    return botscope::report::network_to_json(out.result);
}

const Json& only(const Json& list) {
    REQUIRE(list.size() == 1);
    return list[0];
}

std::set<std::string> values(const Json& list, const char* key) {
    std::set<std::string> s;
    for (const auto& e : list)
        s.insert(e[key].get<std::string>());
    return s;
}

bool sent_contains(const Json& session, const std::string& cmd, const std::string& target,
                   const std::string& text) {
    for (const auto& m : session["sent"])
        if (m["command"] == cmd && m["target"] == target && m["text"] == text)
            return true;
    return false;
}

const Json* flow_to_port(const Json& net, int port) {
    for (const auto& f : net["flows"]["list"])
        if (f["resp"]["port"] == port)
            return &f;
    return nullptr;
}

const std::string kZeek = "zeek/testing/btest/Traces/";

}  // namespace

TEST_CASE("zeek irc-basic: the freenode login, join and message") {
    Json net = analyse(kZeek + "irc-basic.pcap");
    const Json& s = only(net["irc"]["sessions"]);
    CHECK(s["client"]["ip"] == "192.168.6.110");
    CHECK(s["server"]["port"] == 6667);
    CHECK(s["nick"] == "brotest");
    CHECK(s["user"] == "brotest");
    CHECK(values(s["channels"], "name") == std::set<std::string>{"#brotest"});
    CHECK(sent_contains(s, "PRIVMSG", "#brotest", "test"));
    CHECK(s["server_name"] == "leguin.freenode.net");
}

TEST_CASE("zeek irc-whitespace: extra whitespace does not hide the same facts") {
    Json net = analyse(kZeek + "irc-whitespace.pcap");
    const Json& s = only(net["irc"]["sessions"]);
    CHECK(s["nick"] == "brotest");
    CHECK(s["user"] == "brotest");
    CHECK(values(s["channels"], "name") == std::set<std::string>{"#BROTEST"});
    CHECK(sent_contains(s, "PRIVMSG", "#BROTEST", "test"));
}

TEST_CASE("zeek irc-more-commands: bad TCP checksums, OPER, KICK, INVITE, an invalid nick") {
    Json net = analyse(kZeek + "irc-more-commands.pcap");
    const Json& sessions = net["irc"]["sessions"];
    REQUIRE(sessions.size() == 2);  // every packet kept despite its checksum
    std::set<std::string> nicks;
    bool kick = false, invite = false, oper = false, squit = false, part = false;
    for (const auto& s : sessions) {
        CHECK(s["client"]["ip"] == "172.16.238.1");
        CHECK(s["server"]["ip"] == "172.16.238.10");
        CHECK(s["server"]["port"] == 6667);
        CHECK(s["password"] == "test");
        CHECK(s["user"] == "tim");
        for (const auto& n : s["nicks"])
            nicks.insert(n["nick"].get<std::string>());
        for (const auto& m : s["sent"]) {
            kick |= m["command"] == "KICK";
            invite |= m["command"] == "INVITE";
            oper |= m["command"] == "OPER";
            squit |= m["command"] == "SQUIT";
            part |= m["command"] == "PART";
        }
    }
    CHECK(nicks == std::set<std::string>{"tim", "tim_", "!!!!"});
    CHECK((kick && invite && oper && squit && part));
    bool invalid_nick = false;
    for (const auto& a : net["anomalies"])
        invalid_nick |= a["name"] == "irc_invalid_nick";
    CHECK(invalid_nick);
}

TEST_CASE("zeek irc-dcc-send (pcapng): the DCC offer and its data connection") {
    Json net = analyse(kZeek + "irc-dcc-send.pcapng");
    CHECK(net["capture"]["format"] == "pcapng");
    const Json& s = only(net["irc"]["sessions"]);
    CHECK(s["nick"] == "tim2");
    CHECK(s["user"] == "tim");
    CHECK(s["password"] == "test");
    CHECK(values(s["channels"], "name") == std::set<std::string>{"#testing"});
    REQUIRE(s["dcc"].size() >= 1);
    const Json& dcc = s["dcc"][0];
    CHECK(dcc["type"] == "SEND");
    CHECK(dcc["argument"] == "ssh.trace");
    CHECK(dcc["ip"] == "10.0.0.7");
    CHECK(dcc["port"] == 59130);
    CHECK(dcc["size"] == 1320211);
    const Json* data = flow_to_port(net, 59130);
    REQUIRE(data);
    CHECK((*data)["resp_payload_bytes"] == 1320211);  // conn.log resp_bytes
    CHECK((*data)["state"] == "SF");
    // The offer announced the connection, so its content was digested whole.
    const Json& stream = only(net["data_streams"]["list"]);
    CHECK(stream["service"] == "irc-dcc");
    CHECK(stream["flow"] == (*data)["id"]);
    CHECK(stream["sender"] == "resp");
    CHECK(stream["size"] == 1320211);
    CHECK(stream["closed"] == true);
    CHECK(stream["sha256"].get<std::string>().size() == 64);
}

TEST_CASE("arkime irc.pcap: IRC on port 8000") {
    Json net = analyse("arkime/tests/pcap/irc.pcap");
    CHECK(net["capture"]["packets"] == 29);
    const Json& s = only(net["irc"]["sessions"]);
    CHECK(s["server"]["port"] == 8000);
    CHECK(s["nick"] == "molochtest");
    CHECK(values(s["channels"], "name") == std::set<std::string>{"#moloch-fpc"});
}

TEST_CASE("arkime irc-cap-req.pcap: IRC on port 80 with IRCv3 tags and CAP REQ") {
    Json net = analyse("arkime/tests/pcap/irc-cap-req.pcap");
    const Json& s = only(net["irc"]["sessions"]);
    CHECK(s["server"]["port"] == 80);
    CHECK(s["nick"] == "THE-USER");
    CHECK(values(s["channels"], "name") == std::set<std::string>{"#THE-USER"});
    CHECK(net["http"]["transactions"].empty());  // port 80, yet not HTTP
}

TEST_CASE("arkime bigendian.pcap: a big-endian file with one ICMP session") {
    Json net = analyse("arkime/tests/pcap/bigendian.pcap");
    CHECK(net["capture"]["byte_order"] == "big-endian");
    CHECK(net["capture"]["packets"] == 2);
    CHECK(net["capture"]["bytes"] == 196);
    const Json& f = only(net["flows"]["list"]);
    CHECK(f["proto"] == "icmp");
    CHECK(f["orig_packets"].get<int>() + f["resp_packets"].get<int>() == 2);
}

TEST_CASE("arkime dns-wiresharkrepo.pcap: 19 queries of many types, all answered") {
    Json net = analyse("arkime/tests/pcap/dns-wiresharkrepo.pcap");
    const Json& dns = net["dns"];
    CHECK(dns["queries"] == 19);
    CHECK(dns["malformed"] == 0);
    CHECK(dns["unmatched_responses"] == 0);
    std::set<std::string> types;
    std::map<std::string, std::string> first_rdata;
    bool nxdomain = false;
    for (const auto& t : dns["transactions"]) {
        types.insert(t["qtype_name"].get<std::string>());
        CHECK(t["answered"] == true);
        if (t["rcode_name"] == "NXDOMAIN")
            nxdomain = true;
        if (t.contains("answers") && !t["answers"].empty()) {
            auto key = t["query"].get<std::string>() + "/" + t["qtype_name"].get<std::string>();
            first_rdata.emplace(key, t["answers"][0]["rdata"].get<std::string>());
        }
    }
    for (const char* t : {"A", "AAAA", "MX", "TXT", "LOC", "ANY", "PTR", "NS", "SRV"}) {
        CAPTURE(t);
        CHECK(types.count(t) == 1);
    }
    CHECK(nxdomain);
    CHECK(first_rdata["www.netbsd.org/A"] == "204.152.190.12");
    CHECK(first_rdata["www.netbsd.org/AAAA"] == "2001:4f8:4:7:2e0:81ff:fe52:9a6b");
    CHECK(first_rdata["104.9.192.66.in-addr.arpa/PTR"] == "66-192-9-104.gen.twtelecom.net");
    CHECK(first_rdata["www.google.com/AAAA"] == "www.l.google.com");  // the CNAME
}

TEST_CASE("zeek smtp.pcap: two sessions six years apart") {
    Json net = analyse(kZeek + "smtp.pcap");
    const Json& sessions = net["smtp"]["sessions"];
    bool first = false, second = false;
    for (const auto& s : sessions) {
        for (const auto& m : s["messages"]) {
            if (m["mail_from"] == "gurpartap@patriots.in") {
                first = true;
                CHECK(s["helo"] == "GP");
                CHECK(values(m["rcpt_to"], "address") ==
                      std::set<std::string>{"raj_deol2002in@yahoo.co.in"});
                CHECK(m["headers"]["subject"] == "SMTP");
            }
            if (m["mail_from"] == "albert@example.com") {
                second = true;
                CHECK(m["rcpt_to"].size() == 3);
                CHECK(m["headers"]["subject"] == "Re: Bro SMTP CC Header");
            }
        }
    }
    CHECK(first);
    CHECK(second);
}

TEST_CASE("suricata-verify bug-3616-smtp: the attachment name") {
    Json net = analyse("suricata-verify/tests/bug-3616-smtp/input.pcap");
    const Json& s = only(net["smtp"]["sessions"]);
    CHECK(s["helo"] == "GP");
    const Json& m = only(s["messages"]);
    CHECK(m["mail_from"] == "gurpartap@patriots.in");
    CHECK(values(m["rcpt_to"], "address") == std::set<std::string>{"raj_deol2002in@yahoo.co.in"});
    bool news = false;
    for (const auto& a : m["attachments"])
        news |= a == "NEWS.txt";
    CHECK(news);
}

TEST_CASE("suricata-verify output-eve-tftp-01: an RRQ of rfc1350.txt") {
    Json net = analyse("suricata-verify/tests/output-eve-tftp-01/input.pcap");
    const Json& t = only(net["tftp"]["transfers"]);
    CHECK(t["operation"] == "read");
    CHECK(t["filename"] == "rfc1350.txt");
    CHECK(t["mode"] == "octet");
    CHECK(t["client"]["ip"] == "192.168.0.253");
    CHECK(t["server"]["ip"] == "192.168.0.10");
    CHECK(t["server"]["port"] == 69);
    CHECK(t["bytes"] == 24599);
    CHECK(t["data_blocks"] == 49);
    CHECK(t["completed"] == true);
}

TEST_CASE("zeek-spicy-tftp tftp_wrq: a WRQ of rfc1350.txt") {
    Json net = analyse("zeek-spicy-tftp/testing/Traces/tftp_wrq.pcap");
    const Json& t = only(net["tftp"]["transfers"]);
    CHECK(t["operation"] == "write");
    CHECK(t["filename"] == "rfc1350.txt");
    CHECK(t["bytes"] == 24599);
    CHECK(t["data_blocks"] == 49);
}

TEST_CASE("zeek-spicy-tftp tftp_oack: options, OACK, and the NULL link type") {
    Json net = analyse("zeek-spicy-tftp/testing/Traces/tftp_oack.pcap");
    CHECK(net["capture"]["link_name"] == "null");
    const Json& t = only(net["tftp"]["transfers"]);
    CHECK(t["filename"] == "hello.txt");
    CHECK(t["bytes"] == 446);
    CHECK(t["data_blocks"] == 2);
}

TEST_CASE("nDPI tftp.pcap: pcapng under a .pcap name, malformed requests, options") {
    Json net = analyse("nDPI/tests/cfgs/default/pcap/tftp.pcap");
    CHECK(net["capture"]["format"] == "pcapng");
    CHECK(net["capture"]["ts_backwards"].get<int>() >= 1);
    int empty_names = 0;
    bool wrq_options = false;
    for (const auto& t : net["tftp"]["transfers"]) {
        if (t["filename"] == "")
            ++empty_names;
        if (t["operation"] == "write" && t["filename"] == "empty100KB" &&
            t["options_requested"]["blksize"] == "1468" &&
            t["options_requested"]["tsize"] == "100000")
            wrq_options = true;
    }
    CHECK(empty_names == 2);
    CHECK(wrq_options);
    bool weird = false;
    for (const auto& a : net["anomalies"])
        weird |= a["name"] == "tftp_empty_filename";
    CHECK(weird);
}

int main(int argc, char** argv) {
    std::error_code ec;
    if (!fs::is_directory(captures_dir(), ec))
        return botscope::testing::skip_or_fail(
            "corpus", "BOTSCOPE_CORPUS_REQUIRED",
            captures_dir().string() + " not found (set BOTSCOPE_CAPTURES to another copy)");
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
