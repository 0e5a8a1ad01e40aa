#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/proto/dns/dns_parser.h"
#include "fakenet/dns_responder.h"
#include "memory_recorder.h"
#include "util/byte_reader.h"

namespace botscope::fakenet::test_dns {

namespace dns = analysis::dns;
using testing::MemoryRecorder;
using testing::keys;

namespace {

const ConnInfo kConn{0, {0x0A42000Au, 1025}, {0x0A420001u, 53}};

std::string name_wire(std::string_view name) {
    std::string out;
    for (std::size_t start = 0; start < name.size();) {
        auto dot = name.find('.', start);
        if (dot == std::string_view::npos)
            dot = name.size();
        out.push_back(static_cast<char>(dot - start));
        out.append(name.substr(start, dot - start));
        start = dot + 1;
    }
    out.push_back('\0');
    return out;
}

void put16(std::string& s, std::uint16_t v) {
    s.push_back(static_cast<char>(v >> 8));
    s.push_back(static_cast<char>(v & 0xFF));
}

struct Query {
    std::uint16_t id = 0x1234;
    std::uint16_t flags = 0x0100;  // RD
    std::uint16_t qdcount = 1;
    std::uint16_t arcount = 0;
    std::string question;
    std::string additional;

    Query(std::string_view name, std::uint16_t qtype, std::uint16_t qclass = 1) {
        question = name_wire(name);
        put16(question, qtype);
        put16(question, qclass);
    }
    std::string bytes() const {
        std::string s;
        put16(s, id);
        put16(s, flags);
        put16(s, qdcount);
        put16(s, 0);
        put16(s, 0);
        put16(s, arcount);
        return s + question + additional;
    }
};

struct Result {
    std::optional<std::string> reply;
    dns::DnsMessage msg;
    MemoryRecorder rec;
};

Result ask(const std::string& query, const DnsPolicy& policy = {},
           std::string_view transport = "udp") {
    Result r;
    r.reply = answer_dns(util::as_bytes(query), policy, kConn, transport, r.rec);
    if (r.reply)
        r.msg = dns::parse_message(util::as_bytes(*r.reply));
    return r;
}

std::vector<const dns::DnsRecord*> section(const dns::DnsMessage& m, dns::Section s) {
    std::vector<const dns::DnsRecord*> out;
    for (const auto& r : m.records)
        if (r.section == s)
            out.push_back(&r);
    return out;
}

/// Checks what every good answer shares and returns the one "dns" record.
Json check_answer(const Result& r, std::uint8_t rcode) {
    REQUIRE(r.reply);
    CHECK(r.msg.status == dns::ParseStatus::kOk);
    CHECK(r.msg.header.id == 0x1234);
    CHECK(r.msg.header.qr);
    CHECK(r.msg.header.ra);
    CHECK(r.msg.header.rd);
    CHECK(r.msg.header.rcode == rcode);
    CHECK(r.reply->size() <= kMaxUdpResponse);
    REQUIRE(r.rec.records.size() == 1);
    CHECK(r.rec.records[0].first == "dns");
    return r.rec.records[0].second;
}

}  // namespace

TEST_CASE("dns: A is the sinkhole, with the record the report reads") {
    Query q("Evil.Example.COM", dns::kTypeA);
    auto r = ask(q.bytes());
    Json rec = check_answer(r, dns::kRcodeNoError);
    CHECK(r.msg.header.aa);
    CHECK_FALSE(r.msg.header.tc);
    REQUIRE(r.msg.questions.size() == 1);
    CHECK(r.msg.questions[0].name == "Evil.Example.COM");  // the case as asked (0x20 bits)
    auto answers = section(r.msg, dns::Section::kAnswer);
    REQUIRE(answers.size() == 1);
    CHECK(answers[0]->name == "Evil.Example.COM");
    CHECK(answers[0]->type == dns::kTypeA);
    CHECK(answers[0]->ttl == 300);
    CHECK(answers[0]->rdata == "10.66.0.1");
    CHECK(section(r.msg, dns::Section::kAuthority).empty());

    CHECK(keys(rec) == std::vector<std::string>{"conn", "client", "server", "transport", "id",
                                                "name", "type", "rcode", "answers"});
    CHECK(rec["conn"] == 0);
    CHECK(rec["client"] == "10.66.0.10:1025");
    CHECK(rec["server"] == "10.66.0.1:53");
    CHECK(rec["transport"] == "udp");
    CHECK(rec["id"] == 0x1234);
    CHECK(rec["name"] == "Evil.Example.COM");
    CHECK(rec["type"] == "A");
    CHECK(rec["rcode"] == "NOERROR");
    CHECK(rec["answers"] == Json::array({"10.66.0.1"}));
}

TEST_CASE("dns: the policy's names and dead names") {
    DnsPolicy p;
    p.names["cc.evil.test"] = 0x0A420032u;
    p.nxdomain.insert("dead.test");
    p.ttl = 60;

    auto mapped = ask(Query("CC.evil.test", dns::kTypeA).bytes(), p);
    check_answer(mapped, dns::kRcodeNoError);
    auto a = section(mapped.msg, dns::Section::kAnswer);
    REQUIRE(a.size() == 1);
    CHECK(a[0]->rdata == "10.66.0.50");
    CHECK(a[0]->ttl == 60);
    // Only the name itself is mapped; a name below it gets the sinkhole.
    auto below = ask(Query("www.cc.evil.test", dns::kTypeA).bytes(), p);
    CHECK(section(below.msg, dns::Section::kAnswer).at(0)->rdata == "10.66.0.1");

    for (std::string dead : {"dead.test", "irc.DEAD.test", "a.b.dead.test"}) {
        for (std::uint16_t type : {dns::kTypeA, dns::kTypeMx, dns::kTypeAaaa}) {
            CAPTURE(dead);
            CAPTURE(type);
            auto r = ask(Query(dead, type).bytes(), p);
            Json rec = check_answer(r, dns::kRcodeNxDomain);
            CHECK(r.msg.header.aa);
            CHECK(section(r.msg, dns::Section::kAnswer).empty());
            auto soa = section(r.msg, dns::Section::kAuthority);
            REQUIRE(soa.size() == 1);
            CHECK(soa[0]->type == dns::kTypeSoa);
            CHECK(soa[0]->name == "test");  // the dead name's parent says it does not exist
            CHECK(soa[0]->rdata.find("ns1.sandbox.test hostmaster.sandbox.test 2005010101 ") == 0);
            CHECK(rec["rcode"] == "NXDOMAIN");
            CHECK(rec["answers"] == Json::array());
        }
    }
    // A name that only ends like a dead one is alive.
    check_answer(ask(Query("notdead.test", dns::kTypeA).bytes(), p), dns::kRcodeNoError);
}

TEST_CASE("dns: AAAA, ANY, CNAME, SOA and unknown types get no answer and an SOA") {
    for (std::uint16_t type : {std::uint16_t{dns::kTypeAaaa}, std::uint16_t{dns::kTypeAny},
                               std::uint16_t{dns::kTypeCname}, std::uint16_t{dns::kTypeSoa},
                               std::uint16_t{dns::kTypeSrv}, std::uint16_t{65280}}) {
        CAPTURE(type);
        auto r = ask(Query("irc.example.net", type).bytes());
        Json rec = check_answer(r, dns::kRcodeNoError);
        CHECK(section(r.msg, dns::Section::kAnswer).empty());
        auto soa = section(r.msg, dns::Section::kAuthority);
        REQUIRE(soa.size() == 1);
        CHECK(soa[0]->name == "example.net");
        CHECK(rec["type"] == dns::type_name(type));
        CHECK(rec["answers"] == Json::array());
    }
    auto unknown = ask(Query("x.test", 65280).bytes());
    CHECK(unknown.rec.records.at(0).second["type"] == "TYPE65280");
}

TEST_CASE("dns: MX, NS, PTR and TXT answers") {
    auto mx = ask(Query("victim.example.com", dns::kTypeMx).bytes());
    Json rec = check_answer(mx, dns::kRcodeNoError);
    auto ans = section(mx.msg, dns::Section::kAnswer);
    REQUIRE(ans.size() == 1);
    CHECK(ans[0]->rdata == "10 mail.victim.example.com");
    auto add = section(mx.msg, dns::Section::kAdditional);
    REQUIRE(add.size() == 1);
    CHECK(add[0]->name == "mail.victim.example.com");
    CHECK(add[0]->rdata == "10.66.0.1");
    CHECK(rec["answers"] == Json::array({"mail.victim.example.com"}));

    auto ns = ask(Query("example.org", dns::kTypeNs).bytes());
    check_answer(ns, dns::kRcodeNoError);
    CHECK(section(ns.msg, dns::Section::kAnswer).at(0)->rdata == "ns1.sandbox.test");
    CHECK(section(ns.msg, dns::Section::kAdditional).at(0)->name == "ns1.sandbox.test");
    CHECK(section(ns.msg, dns::Section::kAdditional).at(0)->rdata == "10.66.0.1");

    auto ptr = ask(Query("200.0.66.10.in-addr.arpa", dns::kTypePtr).bytes());
    Json prec = check_answer(ptr, dns::kRcodeNoError);
    CHECK(section(ptr.msg, dns::Section::kAnswer).at(0)->rdata == "host-10-66-0-200.sandbox.test");
    CHECK(prec["answers"] == Json::array({"host-10-66-0-200.sandbox.test"}));
    for (std::string odd : {"x.0.66.10.in-addr.arpa", "0.66.10.in-addr.arpa",
                            "300.0.66.10.in-addr.arpa", "1.0.0.0.ip6.arpa"}) {
        CAPTURE(odd);
        auto r = ask(Query(odd, dns::kTypePtr).bytes());
        check_answer(r, dns::kRcodeNoError);
        CHECK(section(r.msg, dns::Section::kAnswer).empty());
        CHECK(section(r.msg, dns::Section::kAuthority).size() == 1);
    }

    auto txt = ask(Query("example.com", dns::kTypeTxt).bytes());
    Json trec = check_answer(txt, dns::kRcodeNoError);
    CHECK(section(txt.msg, dns::Section::kAnswer).at(0)->rdata == "\"v=spf1 -all\"");
    CHECK(trec["answers"] == Json::array({"v=spf1 -all"}));
}

TEST_CASE("dns: hostile questions get FORMERR, not a crash or an answer") {
    // The question's name is a pointer to itself.
    Query loop("x", dns::kTypeA);
    loop.question = std::string("\xC0\x0C\x00\x01\x00\x01", 6);
    // A pointer into the header, and a label that runs past the end.
    Query into_header("x", dns::kTypeA);
    into_header.question = std::string("\xC0\x02\x00\x01\x00\x01", 6);
    Query overrun("x", dns::kTypeA);
    overrun.question = std::string(
        "\x3F"
        "abc",
        4);
    Query no_type("x", dns::kTypeA);
    no_type.question = name_wire("example.com") + std::string("\x00", 1);
    Query bad_label("x", dns::kTypeA);
    bad_label.question = std::string("\x41zz\x00\x00\x01\x00\x01", 8);
    // 5 labels of 63: 321 wire bytes, over RFC 1035's 255.
    const std::string l63(63, 'a');
    Query too_long(l63 + "." + l63 + "." + l63 + "." + l63 + "." + l63, dns::kTypeA);
    Query none("x", dns::kTypeA);
    none.qdcount = 0;
    none.question.clear();

    for (const Query* q : {&loop, &into_header, &overrun, &no_type, &bad_label, &too_long, &none}) {
        auto r = ask(q->bytes());
        REQUIRE(r.reply);
        CHECK(r.msg.status == dns::ParseStatus::kOk);
        CHECK(r.msg.header.qr);
        CHECK(r.msg.header.rcode == 1);
        CHECK(r.msg.header.qdcount == 0);
        CHECK(r.msg.records.empty());
        CHECK(r.reply->size() == dns::kHeaderSize);
        REQUIRE(r.rec.records.size() == 1);
        const Json& rec = r.rec.records[0].second;
        CHECK(rec["rcode"] == "FORMERR");
        CHECK(rec["type"].is_null());
        CHECK(rec["answers"] == Json::array());
    }
    CHECK(ask(none.bytes()).rec.records[0].second["name"].is_null());
    CHECK(ask(too_long.bytes()).rec.records[0].second["name"].get<std::string>().size() == 319);
}

TEST_CASE("dns: qdcount past one answers the first question only") {
    Query q("first.test", dns::kTypeA);
    q.qdcount = 65535;
    auto r = ask(q.bytes());
    check_answer(r, dns::kRcodeNoError);
    CHECK(r.msg.header.qdcount == 1);
    CHECK(r.msg.questions.at(0).name == "first.test");
    CHECK(section(r.msg, dns::Section::kAnswer).size() == 1);
}

TEST_CASE("dns: nothing is sent for responses and headers cut short") {
    Query resp("x.test", dns::kTypeA);
    resp.flags = 0x8180;
    for (const std::string& bytes :
         {resp.bytes(), std::string("\x12\x34\x01\x00", 4), std::string()}) {
        MemoryRecorder rec;
        CHECK_FALSE(answer_dns(util::as_bytes(bytes), {}, kConn, "udp", rec));
        CHECK(rec.records.empty());
    }
}

TEST_CASE("dns: other opcodes are NOTIMP, other classes REFUSED") {
    for (std::uint16_t opcode : {1, 2, 4, 5, 15}) {
        Query q("x.test", dns::kTypeA);
        q.flags = static_cast<std::uint16_t>(opcode << 11);
        auto r = ask(q.bytes());
        REQUIRE(r.reply);
        CHECK(r.msg.header.opcode == opcode);
        CHECK(r.msg.header.rcode == 4);
        CHECK_FALSE(r.msg.header.aa);
        CHECK(r.msg.records.empty());
        CHECK(r.rec.records.at(0).second["rcode"] == "NOTIMP");
        CHECK(r.rec.records.at(0).second["name"] == "x.test");
    }
    auto chaos = ask(Query("version.bind", dns::kTypeTxt, 3).bytes());
    Json rec = check_answer(chaos, 5);
    CHECK(chaos.msg.records.empty());
    CHECK(rec["rcode"] == "REFUSED");
    // ANY as a class is answered as IN.
    CHECK(
        section(ask(Query("x.test", dns::kTypeA, 255).bytes()).msg, dns::Section::kAnswer).size() ==
        1);
}

TEST_CASE("dns: EDNS0 gets an OPT back") {
    Query q("example.com", dns::kTypeMx);
    q.arcount = 1;
    q.additional = std::string("\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11);
    auto r = ask(q.bytes());
    check_answer(r, dns::kRcodeNoError);
    auto add = section(r.msg, dns::Section::kAdditional);
    REQUIRE(add.size() == 2);  // the MX host's A, then the OPT
    CHECK(add[1]->type == dns::kTypeOpt);
    CHECK(add[1]->rclass == kMaxEdnsResponse);
    // Without one, none.
    auto plain = ask(Query("example.com", dns::kTypeMx).bytes());
    CHECK(section(plain.msg, dns::Section::kAdditional).size() == 1);
}

TEST_CASE("dns: the largest possible answers fit a plain UDP response") {
    const std::string l63(63, 'q');
    const std::string longest = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'z');
    for (std::uint16_t type :
         {dns::kTypeA, dns::kTypeMx, dns::kTypeNs, dns::kTypeAaaa, dns::kTypeTxt}) {
        CAPTURE(type);
        auto r = ask(Query(longest, type).bytes());
        check_answer(r, dns::kRcodeNoError);
        CHECK_FALSE(r.msg.header.tc);
        CHECK(r.msg.records.size() >= 1);
    }
}

// --- DNS over TCP ---------------------------------------------------------------------------

namespace {

std::string framed(const std::string& msg) {
    std::string s;
    put16(s, static_cast<std::uint16_t>(msg.size()));
    return s + msg;
}

/// The messages of a TCP reply stream.
std::vector<dns::DnsMessage> unframe(const std::string& stream) {
    std::vector<dns::DnsMessage> out;
    auto bytes = util::as_bytes(stream);
    while (!bytes.empty()) {
        auto f = dns::frame_tcp(bytes);
        REQUIRE(f.status == dns::TcpFrame::Status::kOk);
        out.push_back(dns::parse_message(f.message));
        bytes = bytes.subspan(f.consumed);
    }
    return out;
}

}  // namespace

TEST_CASE("dns tcp: frames in one read or one byte at a time") {
    const ConnInfo conn{7, {0x0A42000Au, 1100}, {0x08080808u, 53}};
    const std::string stream = framed(Query("a.test", dns::kTypeA).bytes()) +
                               framed(Query("b.test", dns::kTypeMx).bytes());
    for (bool bytewise : {false, true}) {
        MemoryRecorder rec;
        DnsPolicy policy;
        auto s = make_dns_tcp_session(conn, policy, rec);
        Output out;
        if (bytewise) {
            for (char c : stream) {
                s->on_data(std::string_view(&c, 1), 0, out);
                CHECK(s->buffered() <= kMaxDnsTcpBuffered);
            }
        } else {
            s->on_data(stream, 0, out);
        }
        CHECK_FALSE(out.close);
        CHECK(s->buffered() == 0);
        auto msgs = unframe(out.data);
        REQUIRE(msgs.size() == 2);
        CHECK(msgs[0].questions.at(0).name == "a.test");
        CHECK(msgs[1].questions.at(0).name == "b.test");
        REQUIRE(rec.records.size() == 2);
        CHECK(rec.records[0].second["transport"] == "tcp");
        CHECK(rec.records[0].second["conn"] == 7);
        CHECK(rec.records[0].second["server"] == "8.8.8.8:53");
    }
}

TEST_CASE("dns tcp: bad lengths close, and so does the 64th message") {
    DnsPolicy policy;
    for (std::string bad : {std::string("\x00\x00", 2), std::string("\x40\x01", 2),
                            std::string("\xFF\xFF", 2) + std::string(100, 'x')}) {
        MemoryRecorder rec;
        auto s = make_dns_tcp_session(kConn, policy, rec);
        Output out;
        s->on_data(bad, 0, out);
        CHECK(out.close);
        CHECK(out.data.empty());
        CHECK(s->buffered() == 0);
        Output more;
        s->on_data(framed(Query("x.test", dns::kTypeA).bytes()), 0, more);
        CHECK(more.data.empty());  // nothing after the close
    }

    MemoryRecorder rec;
    auto s = make_dns_tcp_session(kConn, policy, rec);
    std::string many;
    for (std::size_t i = 0; i < kMaxTcpMessages + 5; ++i)
        many += framed(Query("n" + std::to_string(i) + ".test", dns::kTypeA).bytes());
    Output out;
    s->on_data(many, 0, out);
    CHECK(out.close);
    CHECK(unframe(out.data).size() == kMaxTcpMessages);
    CHECK(rec.records.size() == kMaxTcpMessages);

    // Garbage inside good framing is skipped; the connection goes on.
    MemoryRecorder rec2;
    auto g = make_dns_tcp_session(kConn, policy, rec2);
    Output out2;
    g->on_data(framed("junk") + framed(Query("ok.test", dns::kTypeA).bytes()), 0, out2);
    CHECK_FALSE(out2.close);
    CHECK(unframe(out2.data).size() == 1);
}

}  // namespace botscope::fakenet::test_dns
