// fakenet with the real test guest: the bundled bot emulator commanded by the default operator
// (the demo's sample), and the sandbox's isolation seen from inside the guest.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "capture/live_capture.h"
#include "fakenet/firewall.h"
#include "vm_harness.h"

namespace botscope::e2e::test_fakenet {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::size_t bot_said(const json& fakenet, const std::string& needle) {
    std::size_t n = 0;
    for (const auto& r : fakenet["irc"]["list"])
        if (r["event"] == "bot" && r["text"].get<std::string>().find(needle) != std::string::npos)
            ++n;
    return n;
}

/// A listener of the host's own, outside fakenet; accepted() says whether anyone came.
struct HostListener {
    HostListener(const char* ip, std::uint16_t port) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::inet_pton(AF_INET, ip, &a.sin_addr);
        ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 8) == 0;
    }
    ~HostListener() { ::close(fd); }
    bool accepted() const {
        int c = ::accept(fd, nullptr, nullptr);
        if (c >= 0)
            ::close(c);
        return c >= 0;
    }
    int fd = -1;
    bool ok = false;
};

/// Watches every interface that could carry a packet out of the host (all but loopback, the
/// analysis bridge and the VMs' taps) for the outside addresses the guest tries.
struct EgressWatch {
    explicit EgressWatch(const fs::path& dir) {
        for (const auto& e : fs::directory_iterator("/sys/class/net")) {
            std::string name = e.path().filename().string();
            if (name == "lo" || name == "virbr-bs0" || name.rfind("vnet", 0) == 0)
                continue;
            capture::Options o;
            o.filter = "net 203.0.113.0/24 or net 198.51.100.0/24";
            auto c = capture::LiveCapture::start(name, dir / (name + ".pcap"), o);
            if (c)
                watches.emplace_back(name, std::move(c.value()));
        }
    }
    void check_silent() {
        REQUIRE_MESSAGE(!watches.empty(), "no uplink to watch on this host");
        for (auto& w : watches) {
            auto st = w.second.stop();
            REQUIRE(st);
            INFO("interface " << w.first);
            CHECK(st->packets == 0);
        }
    }
    std::vector<std::pair<std::string, capture::LiveCapture>> watches;
};

std::string escape_log(const fs::path& data, const json& rep) {
    for (const auto& f : rep["guest"]["dropped"]["files"])
        if (f["path"] == "/tmp/escape.log") {
            std::ifstream in(data / "tasks" / rep["task"]["id"].get<std::string>() / "files" /
                             f["sha256"].get<std::string>());
            return std::string(std::istreambuf_iterator<char>(in), {});
        }
    return "";
}

}  // namespace

TEST_CASE("the bot emulator, commanded by the default operator, shows its C&C and behaviour") {
    REQUIRE_MESSAGE(!botemu().empty(), "BOTSCOPE_BOTEMU is not set");
    Sandbox box("timeout = 45");
    Run r = botscope(box.with({"submit", botemu(), "--json"}), std::chrono::seconds(300));
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    json rep = parse_json(r);
    const json& net = rep["network"];
    const json& beh = rep["behavior"];
    const json& fn = rep["fakenet"];
    REQUIRE(fn["status"] == "ok");
    CHECK(fn["operator"]["name"] == "default");

    // The C&C: its name, server address and port, nick, channel and key.
    bool resolved = false;
    for (const auto& t : net["dns"]["transactions"])
        resolved = resolved || t["query"] == "cnc.botscope.test";
    CHECK(resolved);
    REQUIRE(beh["cnc"]["irc"].size() == 1);
    const json& cnc = beh["cnc"]["irc"][0];
    CHECK(cnc["server"]["ip"] == "10.66.0.1");
    CHECK(cnc["server"]["port"] == 8080);
    std::string nick = cnc["nick"];
    CHECK(nick.rfind("[USA|XP|SP2]-", 0) == 0);
    REQUIRE(net["irc"]["sessions"].size() == 1);
    const json& session = net["irc"]["sessions"][0];
    CHECK(session["password"] == "bs-srvpass");
    REQUIRE(session["channels"].size() == 1);
    CHECK(session["channels"][0]["name"] == "#bs-botnet");
    CHECK(session["channels"][0]["key"] == "bs-key");

    // Each operator command as received, and the behaviour it caused.
    std::map<std::string, const json*> by_verb;
    for (const auto& c : beh["commands"])
        by_verb[c["verb"]] = &c;
    for (const char* verb : {"advscan", "login", "ddos.syn", "ddos.udp", "ddos.ping",
                             "spam.start", "download", "update"}) {
        INFO("command " << verb);
        CHECK(by_verb.count(verb) == 1);
    }
    CHECK((*by_verb["advscan"])["where"] == "topic");
    CHECK((*by_verb["ddos.ping"])["where"] == "private");
    std::map<std::string, const json*> floods;
    for (const auto& f : beh["floods"])
        floods[f["kind"]] = &f;
    for (const auto& kind_verb : {std::pair<std::string, std::string>{"syn", "ddos.syn"},
                                  {"udp", "ddos.udp"},
                                  {"icmp", "ddos.ping"}}) {
        const std::string& kind = kind_verb.first;
        const std::string& verb = kind_verb.second;
        INFO("flood " << kind);
        REQUIRE(floods.count(kind) == 1);
        const json& f = *floods[kind];
        CHECK(f["target"] == "10.66.0.200");
        CHECK(f["peak_pps"].get<double>() >= 50);
        REQUIRE(f["command"].is_number());
        CHECK(beh["commands"][f["command"].get<std::size_t>()]["verb"] == verb);
    }
    CHECK(floods["syn"]->at("ports")[0] == 80);  // and 445, the scan's probe of the same target
    bool scan = false;
    for (const auto& s : beh["scans"]) {
        if (s["ports"][0]["port"] != 445)
            continue;
        scan = true;
        CHECK(s["targets"].get<int>() >= 200);
        CHECK(s["targets_answered"].get<int>() >= 200);  // the catch-all answers them all
        REQUIRE(s["command"].is_number());
        CHECK(beh["commands"][s["command"].get<std::size_t>()]["verb"] == "advscan");
    }
    CHECK(scan);
    REQUIRE(beh["spam_runs"].size() == 1);
    const json& spam = beh["spam_runs"][0];
    CHECK(spam["messages"] == 5);
    CHECK(spam["recipient_domains"].get<int>() == 10);
    REQUIRE(spam["command"].is_number());
    CHECK(beh["commands"][spam["command"].get<std::size_t>()]["verb"] == "spam.start");

    // Downloads: the stub fakenet serves, with its hash, over HTTP and TFTP; and in the guest.
    std::string stub;
    for (const auto& h : fn["http"]["list"])
        if (h["uri"] == "/update.exe")
            stub = h["served"]["sha256"];
    REQUIRE(stub.size() == 64);
    std::set<std::string> protocols;
    for (const auto& d : beh["downloads"]) {
        protocols.insert(d["protocol"]);
        CHECK(d["sha256"] == stub);
        REQUIRE(d["command"].is_number());
    }
    CHECK(protocols == std::set<std::string>{"http", "tftp"});
    bool dropped = false;
    for (const auto& f : rep["guest"]["dropped"]["files"])
        dropped = dropped || (f["path"] == "/tmp/update.exe" && f["sha256"] == stub);
    CHECK(dropped);
    REQUIRE(beh["cnc"]["http_beacons"].size() >= 1);
    CHECK(beh["cnc"]["http_beacons"][0]["host"] == "update.botscope.test");

    // fakenet's part agrees with the capture.
    std::set<std::string> names, captured;
    for (const auto& d : fn["dns"]["list"])
        names.insert(d["name"]);
    for (const auto& t : net["dns"]["transactions"])
        captured.insert(t["query"]);
    CHECK(names == captured);
    std::string registered;
    for (const auto& e : fn["irc"]["list"])
        if (e["event"] == "register")
            registered = e["nick"];
    CHECK(registered == nick);
    CHECK(fn["smtp"]["count"] == spam["messages"]);
    CHECK(fn["mail"]["stored"].size() == 5);
    CHECK(bot_said(fn, "[MAIN]: Password accepted") >= 1);  // .login, maybe !login too
    CHECK(bot_said(fn, "[DDoS]") >= 6);
    CHECK(bot_said(fn, "[SCAN]") >= 1);
    std::size_t sent = 0;
    for (const auto& e : fn["irc"]["list"])
        sent += e["event"] == "operator";
    std::size_t received = 0;
    for (const auto& c : beh["commands"])
        received += c["via"] == "irc";
    CHECK(received == sent);  // every line the operator sent is a command in the capture
}

TEST_CASE("isolation: from inside the guest, everything reaches fakenet and nothing else") {
    HostListener on_bridge("10.66.0.1", 2222), everywhere("0.0.0.0", 2223);
    REQUIRE(on_bridge.ok);
    REQUIRE(everywhere.ok);
    Sandbox box("timeout = 12");
    const std::string escape = std::string(BOTSCOPE_E2E_DIR) + "/escape.sh";
    Run started = botscope(box.with({"fakenet", "start"}));
    REQUIRE_MESSAGE(started.exit_code == 0, started.err);
    auto before = fakenet::firewall_counters("virbr-bs0");
    REQUIRE(before);

    SUBCASE("fakenet running: every destination is fakenet") {
        EgressWatch watch(box.root);
        Run r = botscope(box.with({"submit", escape, "--json"}));
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        json rep = parse_json(r);
        watch.check_silent();
        CHECK_FALSE(on_bridge.accepted());
        CHECK_FALSE(everywhere.accepted());
        std::set<std::string> reached;
        for (const char* kind : {"tcp", "irc", "http", "smtp"})
            for (const auto& t : rep["fakenet"][kind]["list"])
                if (t.contains("server"))
                    reached.insert(t["server"]);
        for (const char* want : {"203.0.113.1:80", "198.51.100.1:6667", "10.66.0.77:445",
                                 "10.66.0.1:22", "10.66.0.1:16509", "10.66.0.1:2222",
                                 "10.66.0.1:2223"})
            CHECK_MESSAGE(reached.count(want), want);
        bool outside_dns = false;
        for (const auto& d : rep["fakenet"]["dns"]["list"])
            outside_dns = outside_dns || d["server"] == "198.51.100.53:53";
        CHECK(outside_dns);
        std::string log = escape_log(box.data, rep);
        INFO("escape.log: " << log);
        CHECK(log.find("10.66.0.1:2222: connected") != std::string::npos);
        CHECK(log.find("ping 203.0.113.1: answered") != std::string::npos);
        auto after = fakenet::firewall_counters("virbr-bs0");
        REQUIRE(after);
        CHECK(after->forwarded == before->forwarded);
        CHECK(after->redirected > before->redirected);
    }

    SUBCASE("fakenet stopped: the guest reaches nothing at all") {
        Run stopped = botscope(box.with({"fakenet", "stop"}));
        REQUIRE(stopped.exit_code == 0);
        Sandbox off("timeout = 12", "", "[fakenet]\nenabled = false\n");
        EgressWatch watch(off.root);
        Run r = botscope(off.with({"submit", escape, "--json"}));
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        json rep = parse_json(r);
        watch.check_silent();
        CHECK(rep["fakenet"]["status"] == "disabled");
        CHECK_FALSE(on_bridge.accepted());
        CHECK_FALSE(everywhere.accepted());
        for (const auto& f : rep["network"]["flows"]["list"]) {
            INFO(f.dump());
            CHECK(f["resp_payload_bytes"] == 0);
            if (f["proto"] == "tcp") {
                CHECK(f["state"] != "SF");
                CHECK(f["state"] != "S1");
            }
            if (f["proto"] == "icmp")
                CHECK(f["resp_packets"] == 0);  // no echo reply either
        }
        std::string log = escape_log(off.data, rep);
        INFO("escape.log: " << log);
        CHECK(log.find(": connected") == std::string::npos);
        auto after = fakenet::firewall_counters("virbr-bs0");
        REQUIRE(after);
        CHECK(after->forwarded == before->forwarded);
        Run again = botscope(box.with({"fakenet", "start"}));
        CHECK(again.exit_code == 0);
    }

    SUBCASE("removing the table leaves the host's other firewall state as it was") {
        auto rules_before = fakenet::ruleset_without_ours("virbr-bs0");
        REQUIRE(rules_before);
        Run down = botscope(box.with({"fakenet", "down"}));
        CHECK_MESSAGE(down.exit_code == 0, down.err);
        CHECK_FALSE(fakenet::firewall_present("virbr-bs0"));
        auto rules_after = fakenet::ruleset_without_ours("virbr-bs0");
        REQUIRE(rules_after);
        CHECK(rules_after.value() == rules_before.value());
        Run again = botscope(box.with({"fakenet", "start"}));
        CHECK(again.exit_code == 0);
        CHECK(fakenet::firewall_present("virbr-bs0"));
    }
}

}  // namespace botscope::e2e::test_fakenet
