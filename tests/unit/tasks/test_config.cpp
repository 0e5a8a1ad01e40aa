// botscope.ini: the keys a user writes, the errors a typo gets, the search order.

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "tasks/config.h"
#include "tasks/task_runner.h"

namespace botscope::tasks::test_config {

namespace {

namespace fs = std::filesystem;

struct TempIni {
    explicit TempIni(const std::string& text) {
        path = fs::temp_directory_path() /
               ("botscope-config-" + std::to_string(std::random_device{}()) + ".ini");
        std::ofstream(path) << text;
    }
    ~TempIni() {
        std::error_code ec;
        fs::remove(path, ec);
    }
    fs::path path;
};

std::string error_of(const std::string& text) {
    TempIni f(text);
    auto r = read_config_file(f.path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(f.path.string()) == 0);  // names the file first
    return r.error().message;
}

}  // namespace

TEST_CASE("a full configuration is read key by key") {
    TempIni f(R"(; a comment
[botscope]
data_dir = /srv/botscope
libvirt_uri = qemu+ssh://lab/system
timeout = 120
libvirt_timeout = 30
agent_timeout = 10
capture_max_mb = 64
dropped_max_mb = 8
destroy_after = false
signatures_dir = /srv/sigs
rules_dir = /srv/rules/a, /srv/rules/b
scan_timeout = 15
machines = win7, xp

[xp]
domain = xp-sp3
snapshot = ready
platform = windows
ip = 10.66.0.21
secret_file = /srv/botscope/xp.secret
transport = tcp:10.66.0.21:8477

[win7]
platform = windows
ip = 10.66.0.20
secret_file = /srv/botscope/win7.secret
interface = vnet-w7
)");
    auto r = read_config_file(f.path);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    const Config& c = r.value();
    CHECK(c.source == f.path);
    CHECK(c.data_dir == "/srv/botscope");
    CHECK(c.libvirt_uri == "qemu+ssh://lab/system");
    CHECK(c.timeout.count() == 120);
    CHECK(c.libvirt_timeout.count() == 30);
    CHECK(c.agent_timeout.count() == 10);
    CHECK(c.capture_max_bytes == 64ull << 20);
    CHECK(c.dropped_max_bytes == 8ull << 20);
    CHECK_FALSE(c.destroy_after);
    CHECK(c.signatures_dir == "/srv/sigs");
    CHECK(c.rules_dirs == std::vector<std::filesystem::path>{"/srv/rules/a", "/srv/rules/b"});
    CHECK(c.scan_timeout.count() == 15);
    // Trees that do not exist under signatures_dir are left out; the user's are kept, so that
    // a typo in rules_dir is an error when the rules are checked, not silence.
    CHECK(c.rule_trees() == c.rules_dirs);
    REQUIRE(c.machines.size() == 2);
    // machines = decides the order in which they are tried
    CHECK(c.machines[0].name == "win7");
    CHECK(c.machines[0].domain == "win7");  // the section name by default
    CHECK(c.machines[0].snapshot == "clean");
    CHECK(c.machines[0].transport == "virtio");
    CHECK(c.machines[0].interface == "vnet-w7");
    CHECK(c.machines[1].name == "xp");
    CHECK(c.machines[1].domain == "xp-sp3");
    CHECK(c.machines[1].snapshot == "ready");
    CHECK(c.machines[1].platform == "windows");
    CHECK(c.machines[1].transport == "tcp:10.66.0.21:8477");
    CHECK(c.machine("xp") == &c.machines[1]);
    CHECK(c.machine("nope") == nullptr);
}

TEST_CASE("a file without machines keeps the bundled test machines: two Linux, one Windows") {
    TempIni f("[botscope]\ntimeout = 5\n");
    auto r = read_config_file(f.path);
    REQUIRE(r.ok());
    REQUIRE(r->machines.size() == 3);
    CHECK(r->machines[0].domain == "botscope-testguest");
    CHECK(r->machines[0].ip == "10.66.0.10");
    CHECK(r->machines[0].platform == "linux");
    CHECK(r->machines[1].domain == "botscope-testguest2");
    CHECK(r->machines[1].ip == "10.66.0.11");
    CHECK(r->machines[2].domain == "botscope-wineguest");
    CHECK(r->machines[2].ip == "10.66.0.20");
    CHECK(r->machines[2].platform == "windows");
    CHECK(r->fakenet.sandbox.guests.size() == 3);
    CHECK(r->fakenet.sandbox.is_guest(fakenet::parse_ipv4("10.66.0.11").value()));
    CHECK(r->timeout.count() == 5);
    // botscope's own rules: signatures/static and signatures/network of the source tree.
    REQUIRE(r->rule_trees().size() == 2);
    CHECK(r->rule_trees()[0].filename() == "static");
    CHECK(r->rule_trees()[1].filename() == "network");
}

TEST_CASE("typos and bad values are errors that name the key") {
    CHECK(error_of("[botscope]\ntimout = 5\n").find("unknown key 'timout' in [botscope]") !=
          std::string::npos);
    CHECK(error_of("[botscope]\ntimeout = 5s\n").find("bad value '5s' for timeout") !=
          std::string::npos);
    CHECK(error_of("[botscope]\ntimeout = 0\n").find("timeout") != std::string::npos);
    CHECK(error_of("[botscope]\ndestroy_after = yes\n").find("destroy_after") != std::string::npos);
    CHECK(error_of("[vm1]\nip = 10.66.0.20\nsecret_file = /s\nsnapshto = x\n")
              .find("unknown key 'snapshto' in [vm1]") != std::string::npos);
    CHECK(error_of("[vm1]\nip = 10.66.0.300\nsecret_file = /s\n").find("bad value '10.66.0.300'") !=
          std::string::npos);
    CHECK(
        error_of("[vm1]\nip = 10.66.0.20\nsecret_file = /s\nplatform = macos\n").find("platform") !=
        std::string::npos);
    CHECK(error_of("[vm1]\nip = 10.66.0.20\nsecret_file = /s\ntransport = tcp:host:1\n")
              .find("transport") != std::string::npos);
    CHECK(error_of("[vm1]\nip = 10.66.0.20\nsecret_file = /s\ntransport = tcp:10.0.0.1:0\n")
              .find("transport") != std::string::npos);
    CHECK(error_of("[vm1]\nsecret_file = /s\n").find("[vm1] needs ip") != std::string::npos);
    CHECK(error_of("[vm1]\nip = 10.66.0.20\n").find("needs secret_file") != std::string::npos);
    CHECK(error_of("[botscope]\nmachines = vm1\n").find("no [vm1] section") != std::string::npos);
    CHECK(error_of("[botscope]\nmachines = "
                   "vm1\n[vm1]\nip=10.66.0.2\nsecret_file=/s\n[vm2]\nip=10.66.0.3\n")
              .find("[vm2] is not in machines") != std::string::npos);
    CHECK(error_of("[botscope]\nmachines = vm1, vm1\n[vm1]\nip=10.66.0.2\nsecret_file=/s\n")
              .find("listed twice") != std::string::npos);
    CHECK(error_of("[botscope]\nmachines = ../x\n").find("bad machine name") != std::string::npos);
    CHECK(error_of("timeout = 5\n").find("outside a section") != std::string::npos);
    CHECK(error_of("[botscope]\nscan_timeout = 0\n").find("scan_timeout") != std::string::npos);
    CHECK(error_of("[botscope]\nrules_dir = ,\n").find("bad value ',' for rules_dir") !=
          std::string::npos);
}

TEST_CASE("a missing or oversized file is an error, not the defaults") {
    auto r = read_config_file("/nonexistent/botscope.ini");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("/nonexistent/botscope.ini") != std::string::npos);
    TempIni big(std::string(2 << 20, ';'));
    auto b = read_config_file(big.path);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().message.find("larger than 1 MiB") != std::string::npos);
}

TEST_CASE("search order: --config, $BOTSCOPE_CONFIG, then defaults; data dir overrides") {
    TempIni a("[botscope]\ntimeout = 11\ndata_dir = /from/file\n");
    TempIni b("[botscope]\ntimeout = 22\n");
    ::unsetenv("BOTSCOPE_DATA");
    ::setenv("BOTSCOPE_CONFIG", b.path.c_str(), 1);
    ::setenv("HOME", "/nonexistent-home", 1);

    ConfigSources s;
    s.config_file = a.path;
    auto r = load_config(s);
    REQUIRE(r.ok());
    CHECK(r->timeout.count() == 11);
    CHECK(r->data_dir == "/from/file");

    auto env = load_config({});
    REQUIRE(env.ok());
    CHECK(env->timeout.count() == 22);
    CHECK(env->source == b.path);

    ::setenv("BOTSCOPE_DATA", "/from/env", 1);
    CHECK(load_config(s)->data_dir == "/from/env");
    s.data_dir = "/from/option";
    CHECK(load_config(s)->data_dir == "/from/option");

    ::unsetenv("BOTSCOPE_CONFIG");
    ::unsetenv("BOTSCOPE_DATA");
    auto def = load_config({});
    REQUIRE(def.ok());
    CHECK(def->source.empty());
    CHECK(describe_source(def.value()) == "built-in defaults");
    CHECK(def->data_dir == "/var/lib/botscope");
    CHECK(def->machines.at(0).secret_file == "/var/lib/botscope/testguest/agent.secret");

    ::setenv("BOTSCOPE_CONFIG", "/nonexistent/botscope.ini", 1);
    CHECK_FALSE(load_config({}).ok());  // named but missing: an error, not the defaults
    ::unsetenv("BOTSCOPE_CONFIG");
}

TEST_CASE("the sample's name in the guest never comes from the user's file name") {
    CHECK(guest_sample_name("/x/netprobe.sh", "linux") == "sample.sh");
    CHECK(guest_sample_name("/x/bot.EXE", "windows") == "sample.EXE");
    CHECK(guest_sample_name("/x/bot", "windows") == "sample.exe");
    CHECK(guest_sample_name("/x/bot", "linux") == "sample");
    CHECK(guest_sample_name("/x/a.b c", "windows") == "sample.exe");
    CHECK(guest_sample_name("/x/a.toolongext", "linux") == "sample");
    CHECK(guest_sample_name("/x/con.exe:stream", "windows") == "sample.exe");
}

TEST_CASE("[fakenet]: every key is read and checked, and the machines must be on its network") {
    TempIni f(R"([fakenet]
enabled = true
bridge = virbr-lab1
subnet = 10.77.0.0/24
address = 10.77.0.1
target = 10.77.0.250
tcp_port = 40000
udp_port = 40001
firewall = true
control = /run/bs/fn.sock
lock = /run/bs/fn.lock
log_file = /var/log/bs/fn.log
operator = quiet
dns = cnc.example.test=10.77.0.5, Dead.Example.test.=nxdomain
mail_keep = 3

[lab]
domain = lab-xp
ip = 10.77.0.21
secret_file = /srv/lab.secret
)");
    auto r = read_config_file(f.path);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    const FakenetConfig& fn = r->fakenet;
    CHECK(fn.bridge == "virbr-lab1");
    CHECK(fn.sandbox.subnet.to_string() == "10.77.0.0/24");
    CHECK(fakenet::format_ipv4(fn.sandbox.host) == "10.77.0.1");
    CHECK(fakenet::format_ipv4(fn.sandbox.target) == "10.77.0.250");
    CHECK(fn.sandbox.guests == std::vector<fakenet::Ipv4>{0x0A4D0015u});
    CHECK(fn.tcp_port == 40000);
    CHECK(fn.udp_port == 40001);
    CHECK(fn.control == "/run/bs/fn.sock");
    CHECK(fn.operator_script == "quiet");
    CHECK(fn.dns_names.at("cnc.example.test") == 0x0A4D0005u);
    CHECK(fn.dns_nxdomain.count("dead.example.test") == 1);
    CHECK(fn.mail_keep == 3);
    REQUIRE(r->machines.size() == 1);  // [fakenet] is no machine
}

TEST_CASE("[fakenet]: typos and addresses outside the sandbox are errors naming the key") {
    CHECK(error_of("[fakenet]\nenable = true\n").find("unknown key 'enable' in [fakenet]") !=
          std::string::npos);
    CHECK(error_of("[fakenet]\nsubnet = 10.66.0.1/24\n").find("subnet") != std::string::npos);
    CHECK(error_of("[fakenet]\ntarget = 192.0.2.1\n").find("target 192.0.2.1") !=
          std::string::npos);
    CHECK(error_of("[fakenet]\ntcp_port = 70000\n").find("tcp_port") != std::string::npos);
    CHECK(error_of("[fakenet]\ndns = cnc.example\n").find("dns") != std::string::npos);
    CHECK(error_of("[fakenet]\ncontrol = relative.sock\n").find("control") != std::string::npos);
    CHECK(error_of("[x]\ndomain = x\nip = 192.168.1.5\nsecret_file = /s\n")
              .find("not in fakenet's subnet 10.66.0.0/24") != std::string::npos);
    // With fakenet off, a machine elsewhere is fine.
    TempIni off(
        "[fakenet]\nenabled = false\n[x]\ndomain = x\nip = 192.168.1.5\nsecret_file = /s\n");
    CHECK(read_config_file(off.path).ok());
}

}  // namespace botscope::tasks::test_config

namespace botscope::tasks::test_config_store {

TEST_CASE("[store]: the queue's engine, every key checked") {
    auto read = [](const std::string& text) {
        std::string path = (std::filesystem::temp_directory_path() /
                            ("botscope-store-" + std::to_string(std::random_device{}()) + ".ini"))
                               .string();
        std::ofstream(path) << text;
        auto r = read_config_file(path);
        std::filesystem::remove(path);
        return r;
    };
    auto r = read(
        "[botscope]\nmax_attempts = 3\n[store]\ndriver = postgres\nhost = /run/pg\n"
        "port = 5433\ndatabase = queue\nuser = bs\n");
    REQUIRE_MESSAGE(r.ok(), r.error().text());
    CHECK(r->store.driver == "postgres");
    CHECK(r->store.host == "/run/pg");
    CHECK(r->store.port == 5433);
    CHECK(r->store.database == "queue");
    CHECK(r->store.user == "bs");
    CHECK(r->max_attempts == 3);
    // [store] is not a machine.
    CHECK(r->machines.size() == 3);
    auto defaults = read("[botscope]\ntimeout = 5\n");
    REQUIRE(defaults.ok());
    CHECK(defaults->store.driver == "sqlite");
    CHECK(defaults->max_attempts == 2);
    for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
             {"[store]\ndriver = mysql\n", "bad value 'mysql' for driver in [store]"},
             {"[store]\ndriver = postgres\n", "driver = postgres needs host"},
             {"[store]\nport = 0\n", "bad value '0' for port in [store]"},
             {"[store]\nhots = x\n", "unknown key 'hots' in [store]"},
             {"[botscope]\nmax_attempts = 0\n", "bad value '0' for max_attempts"}}) {
        auto e = read(text);
        REQUIRE_FALSE(e.ok());
        CHECK_MESSAGE(e.error().message.find(want) != std::string::npos, e.error().message);
    }
}

}  // namespace botscope::tasks::test_config_store
