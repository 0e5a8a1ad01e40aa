// Batches on the pool of the two real test guests (issue 13): a directory analysed once per
// distinct sample; the controller killed with SIGKILL during a run and during an analysis,
// then restarted; two controllers sharing one PostgreSQL queue; a watched folder. Every case
// runs the real `botscope` binary against the real libvirtd, guests, fakenet and capture.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "support/pg_server.h"
#include "support/required.h"
#include "util/hash.h"
#include "vm_harness.h"

namespace botscope::e2e::test_batch {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// The file's bytes; "" when it cannot be read (a /proc entry of a process that just ended).
std::string slurp(const fs::path& p) {
    try {
        std::ifstream in(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    } catch (const std::exception&) {
        return {};
    }
}

std::string sha256_of(const std::string& bytes) {
    return util::sha256_hex(
        std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

void write_file(const fs::path& p, const std::string& bytes, bool executable = true) {
    std::ofstream(p, std::ios::binary) << bytes;
    fs::permissions(p, executable ? fs::perms(0755) : fs::perms(0644));
}

/// The bot emulator with its nick prefix replaced (same length): another variant, as a
/// honeypot collects them, that must show its own nicks.
std::string botemu_variant(const std::string& country) {
    std::string bin = slurp(botemu());
    REQUIRE(bin.size() > 1000);
    auto at = bin.find("[USA|XP|SP2]-");
    REQUIRE(at != std::string::npos);
    bin.replace(at + 1, 3, country);
    return bin;
}

/// A script that drops a file naming itself, so its report can be told from the others'.
std::string probe(int n) {
    return "#!/bin/sh\necho \"probe-" + std::to_string(n) +
           " $$\" > /tmp/probe.log\nnslookup probe" + std::to_string(n) +
           ".botscope.test 10.66.0.1 >/dev/null 2>&1\nsleep 1\n";
}

/// Two guests, one queue: the pool's configuration.
std::string pool_machines() {
    return "machines = testguest, testguest2\n";
}

std::string second_guest() {
    return std::string("[testguest2]\ndomain = ") + kDomain2 +
           "\nip = 10.66.0.11\nsecret_file = " + secret_file2() + "\n";
}

/// A `botscope` running in the background, its output in files.
struct Spawned {
    explicit Spawned(const std::vector<std::string>& args, const fs::path& out_dir) {
        std::vector<std::string> all = {std::getenv("BOTSCOPE_BIN")};
        all.insert(all.end(), args.begin(), args.end());
        out = out_dir / ("out-" + std::to_string(::getpid()) + "-" + std::to_string(++count));
        pid = ::fork();
        if (pid == 0) {
            int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> argv;
            for (auto& a : all)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }
    ~Spawned() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    /// The exit code, or -1 when it did not end within `deadline`.
    int wait(std::chrono::seconds deadline) {
        auto end = std::chrono::steady_clock::now() + deadline;
        while (std::chrono::steady_clock::now() < end) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(100ms);
        }
        return -1;
    }
    void kill9() {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        pid = -1;
    }
    std::string output() const { return slurp(out); }

    pid_t pid = -1;
    fs::path out;
    static inline int count = 0;
};

/// Waits until `pred` holds, polling; false after `deadline`.
template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (pred())
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

/// The numbered task folders holding a report.
std::map<std::string, json> reports(const fs::path& data) {
    std::map<std::string, json> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(data / "tasks", ec)) {
        if (!e.is_directory() || !fs::exists(e.path() / "report.json"))
            continue;
        std::ifstream in(e.path() / "report.json");
        out[e.path().filename().string()] = json::parse(in);
    }
    return out;
}

/// No file of an unfinished write anywhere under `dir`.
void no_partial_files(const fs::path& dir) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        std::string n = e.path().filename().string();
        INFO(e.path());
        CHECK(n.find(".part") == std::string::npos);
        CHECK(n.find(".tmp") == std::string::npos);
    }
}

std::string domain_state(const char* domain) {
    auto r = testing::run_process({"virsh", "-q", "-c", "qemu:///system", "domstate", domain}, 30s);
    std::string s = r.out;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

void no_vm_running() {
    CHECK(domain_state(kDomain) == "shut off");
    CHECK(domain_state(kDomain2) == "shut off");
}

/// Processes whose command line contains every one of `needles`.
std::vector<pid_t> processes_with(const std::vector<std::string>& needles) {
    std::vector<pid_t> out;
    for (const auto& e : fs::directory_iterator("/proc")) {
        std::string name = e.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit))
            continue;
        std::string cmd = slurp(e.path() / "cmdline");
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        if (std::all_of(needles.begin(), needles.end(),
                        [&](const std::string& n) { return cmd.find(n) != std::string::npos; }))
            out.push_back(std::stoi(name));
    }
    return out;
}

/// A stage line in any task's task.log under `data`.
bool any_task_at(const fs::path& data, const std::string& stage) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(data / "tasks", ec))
        if (slurp(e.path() / "task.log").find(" " + stage + "\n") != std::string::npos)
            return true;
    return false;
}

json status(const Sandbox& sb) {
    auto r = botscope(sb.with({"status", "--json"}), 60s);
    REQUIRE(r.exit_code == 0);
    return parse_json(r);
}

}  // namespace

TEST_CASE("batch: a directory on two guests, one report per distinct sample, each its own") {
    Sandbox sb(pool_machines(), "", second_guest());
    fs::path in = sb.root / "in";
    fs::create_directories(in);
    std::map<std::string, std::string> content;  // file -> bytes
    content["bot-usa"] = slurp(botemu());
    content["bot-jpn"] = botemu_variant("JPN");
    content["bot-deu"] = botemu_variant("DEU");
    for (int n : {1, 2, 3})
        content["probe-" + std::to_string(n) + ".sh"] = probe(n);
    content["probe-1-copy.sh"] = content["probe-1.sh"];  // duplicates under other names
    content["bot-usa.renamed"] = content["bot-usa"];
    content["quiet.sh"] = "#!/bin/sh\nsleep 1\n";
    content["notes.txt"] = "not a program, only text\n";
    for (const auto& [name, bytes] : content)
        write_file(in / name, bytes, name != "notes.txt");
    write_file(in / "empty", "");

    auto r = botscope(sb.with({"batch", in.string(), "--timeout", "5", "--json"}), 600s);
    INFO(r.err);
    // notes.txt cannot be executed: its task fails, and the batch says so.
    CHECK(r.exit_code == 5);
    json summary = parse_json(r);
    REQUIRE(summary["refused"].size() == 1);
    CHECK(summary["refused"][0]["file"].get<std::string>().find("empty") != std::string::npos);
    const json& rows = summary["tasks"];
    CHECK(rows.size() == 8);

    std::set<std::string> distinct;
    for (const auto& [_, bytes] : content)
        distinct.insert(sha256_of(bytes));
    REQUIRE(distinct.size() == 8);
    auto reps = reports(sb.data);
    REQUIRE(reps.size() == 8);
    std::set<std::string> reported;
    std::set<std::string> machines;
    for (const auto& [id, rep] : reps) {
        const std::string sha = rep["task"]["sample"]["sha256"];
        CHECK(reported.insert(sha).second);  // never one sample twice
        machines.insert(rep["task"]["machine"]["name"].get<std::string>());
        // The stored copy the guest ran is the file's content.
        CHECK(sha256_of(slurp(sb.data / "tasks" / id / "sample")) == sha);
    }
    CHECK(reported == distinct);
    CHECK(machines == std::set<std::string>{"testguest", "testguest2"});

    // Each report is its own sample's: the bots' nicks carry their variant's country, the
    // probes dropped a file naming themselves.
    for (const auto& [id, rep] : reps) {
        const std::string sha = rep["task"]["sample"]["sha256"];
        for (const auto& [name, bytes] : content) {
            if (sha256_of(bytes) != sha)
                continue;
            INFO(name << " (task " << id << ")");
            if (name.rfind("bot-", 0) == 0 && name != "bot-usa.renamed") {
                std::string country = name == "bot-usa" ? "USA" : name == "bot-jpn" ? "JPN" : "DEU";
                REQUIRE(rep["traits"]["irc"].is_object());
                for (const auto& nick : rep["traits"]["irc"]["nicks"])
                    CHECK(nick.get<std::string>().rfind("[" + country + "|", 0) == 0);
            } else if (name.rfind("probe-", 0) == 0 && name.find("copy") == std::string::npos) {
                std::string marker = name.substr(0, name.size() - 3) + " ";
                bool found = false;
                for (const auto& f : rep["guest"]["dropped"]["files"])
                    if (f["stored"].is_string())
                        found |= slurp(sb.data / "tasks" / id / f["stored"].get<std::string>())
                                     .find(marker) != std::string::npos;
                CHECK(found);
            } else if (name == "notes.txt") {
                CHECK(rep["task"]["status"] == "failed");
                CHECK(rep["task"]["error"]["stage"] == "inject");
            }
        }
    }
    // The duplicates are one task, with both names.
    std::size_t with_two_names = 0;
    for (const auto& row : rows)
        with_two_names += row["files"].size() == 2;
    CHECK(with_two_names == 2);
    no_partial_files(sb.data);
    no_vm_running();

    // A rerun runs nothing: every sample is known.
    auto again = botscope(sb.with({"batch", in.string(), "--json", "--quiet"}), 120s);
    CHECK(again.exit_code == 5);
    CHECK(again.seconds < 30);
    CHECK(reports(sb.data).size() == 8);
    json st = status(sb);
    CHECK(st["counts"]["reported"] == 7);
    CHECK(st["counts"]["failed"] == 1);
    CHECK(st["counts"]["pending"] == 0);
}

TEST_CASE("batch: kill -9 during a run; the restart re-runs it, nothing twice, no VM left on") {
    Sandbox sb(pool_machines(), "", second_guest());
    fs::path in = sb.root / "in";
    fs::create_directories(in);
    for (int n = 11; n <= 13; ++n)
        write_file(in / ("probe-" + std::to_string(n) + ".sh"), probe(n));
    {
        Spawned first(sb.with({"batch", in.string(), "--timeout", "5", "--quiet"}), sb.root);
        REQUIRE_MESSAGE(eventually([&] { return any_task_at(sb.data, "run"); }, 180s),
                        first.output());
        std::this_thread::sleep_for(1s);
        first.kill9();
    }
    // What the dead controller left: a VM running a sample, a task in running.
    json st = status(sb);
    CHECK(st["counts"]["running"].get<int>() >= 1);
    CHECK((domain_state(kDomain) == "running" || domain_state(kDomain2) == "running"));

    auto r = botscope(sb.with({"batch", in.string(), "--timeout", "5", "--json"}), 600s);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("queued again") != std::string::npos);
    auto reps = reports(sb.data);
    CHECK(reps.size() == 3);
    std::set<std::string> shas;
    int retried = 0;
    for (const auto& [id, rep] : reps) {
        CHECK(rep["task"]["status"] == "completed");
        shas.insert(rep["task"]["sample"]["sha256"].get<std::string>());
        retried += rep["task"].value("attempts", 1) == 2;
    }
    CHECK(shas.size() == 3);
    CHECK(retried >= 1);
    // The interrupted attempts were set aside whole, never mixed into the reports.
    CHECK(fs::is_directory(sb.data / "interrupted"));
    no_partial_files(sb.data / "tasks");
    no_vm_running();
    CHECK(processes_with({"analyze-pcap", sb.data.string()}).empty());
}

TEST_CASE("batch: kill -9 during an analysis; the restart analyses it again, without a rerun") {
    Sandbox sb(pool_machines(), "", second_guest());
    fs::path in = sb.root / "in";
    fs::create_directories(in);
    for (int n = 21; n <= 23; ++n)
        write_file(in / ("probe-" + std::to_string(n) + ".sh"), probe(n));
    std::string stopped_task;
    {
        Spawned first(sb.with({"batch", in.string(), "--timeout", "4", "--quiet"}), sb.root);
        std::vector<pid_t> analysis;
        // The analysis child of a task, caught and held (SIGSTOP) so that the controller is
        // certainly in the middle of it when it dies.
        REQUIRE_MESSAGE(eventually(
                            [&] {
                                analysis = processes_with({"analyze-pcap", sb.data.string()});
                                for (pid_t p : analysis)
                                    ::kill(p, SIGSTOP);
                                return !analysis.empty();
                            },
                            240s),
                        first.output());
        std::string cmd = slurp("/proc/" + std::to_string(analysis[0]) + "/cmdline");
        auto at = cmd.find("/tasks/");
        REQUIRE(at != std::string::npos);
        stopped_task = cmd.substr(at + 7, cmd.find('/', at + 7) - at - 7);
        first.kill9();
        // The child goes with its controller (PR_SET_PDEATHSIG): no second writer of the folder.
        CHECK(eventually(
            [&] {
                return processes_with({"analyze-pcap", sb.data.string()}).empty();
            },
            10s));
    }
    json st = status(sb);
    bool analysing = false;
    for (const auto& t : st["active"])
        analysing |=
            std::to_string(t["id"].get<long long>()) == stopped_task && t["state"] == "analysing";
    CHECK(analysing);
    CHECK_FALSE(fs::exists(sb.data / "tasks" / stopped_task / "report.json"));

    auto r = botscope(sb.with({"batch", in.string(), "--timeout", "4", "--json"}), 600s);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("analysing it again") != std::string::npos);
    auto reps = reports(sb.data);
    CHECK(reps.size() == 3);
    REQUIRE(reps.count(stopped_task) == 1);
    const json& rep = reps[stopped_task];
    CHECK(rep["task"]["status"] == "completed");
    CHECK_FALSE(rep["task"].contains("attempts"));  // analysed again, not run again
    CHECK(rep["network"]["capture"]["packets"].get<long long>() > 0);
    CHECK(slurp(sb.data / "tasks" / stopped_task / "task.log").find(" revert\n") !=
          std::string::npos);
    no_partial_files(sb.data / "tasks");
    no_vm_running();
}

TEST_CASE("batch: two controllers, one PostgreSQL queue, one guest each: every sample once") {
    std::string why;
    auto pg = testing::PgServer::start(&why);
    if (!pg) {
        if (testing::required("BOTSCOPE_VM_REQUIRED"))
            FAIL("PostgreSQL is needed here: " << why);
        MESSAGE("skipped: " << why);
        return;
    }
    std::string store = "[store]\ndriver = postgres\nhost = " + pg->socket_dir() +
                        "\nport = " + std::to_string(pg->port()) + "\nuser = " + pg->user() +
                        "\ndatabase = " + pg->database() + "\n";
    // One shared report directory; each host lists only its own guest.
    Sandbox a("", "", store);
    Sandbox b;
    const fs::path shared = a.data;
    std::ofstream(b.config) << "[botscope]\ndata_dir = " << shared.string()
                            << "\nmachines = testguest2\n"
                            << second_guest() << store;
    // One fakenet serves every controller of the host: started here from the second host's
    // configuration, it knows only testguest2, and must still serve the first guest when a task
    // begins there (the guest's address must not stay one of the host's decoys).
    CHECK(botscope(b.with({"fakenet", "stop"}), 60s).exit_code == 0);
    auto started = botscope(b.with({"fakenet", "start"}), 60s);
    REQUIRE_MESSAGE(started.exit_code == 0, started.err);
    fs::path in = a.root / "in";
    fs::create_directories(in);
    for (int n = 31; n <= 34; ++n)
        write_file(in / ("probe-" + std::to_string(n) + ".sh"), probe(n));

    Spawned first(a.with({"batch", in.string(), "--timeout", "4", "--quiet"}), a.root);
    Spawned second(b.with({"batch", in.string(), "--timeout", "4", "--quiet"}), a.root);
    int ra = first.wait(600s), rb = second.wait(600s);
    INFO(first.output());
    INFO(second.output());
    CHECK(ra == 0);
    CHECK(rb == 0);
    auto reps = reports(shared);
    CHECK(reps.size() == 4);
    std::set<std::string> shas, machines;
    for (const auto& [id, rep] : reps) {
        CHECK(rep["task"]["status"] == "completed");
        shas.insert(rep["task"]["sample"]["sha256"].get<std::string>());
        machines.insert(rep["task"]["machine"]["name"].get<std::string>());
        // The probe's lookup was answered, on either guest.
        CHECK(rep["network"]["dns"]["responses"].get<int>() >= 1);
    }
    CHECK(shas.size() == 4);
    CHECK(machines == std::set<std::string>{"testguest", "testguest2"});
    CHECK(pg->psql("SELECT COUNT(*) FROM tasks WHERE state = 'reported'").find("4") !=
          std::string::npos);
    no_vm_running();
}

TEST_CASE("serve --watch: files dropped into the folder, one written slowly, each analysed once") {
    Sandbox sb(pool_machines() + "timeout = 4\n", "", second_guest());
    fs::path in = sb.root / "in";
    fs::create_directories(in);
    Spawned serve(sb.with({"serve", "--watch", in.string(), "--settle", "1"}), sb.root);
    std::this_thread::sleep_for(1s);
    write_file(in / "probe-41.sh", probe(41));
    write_file(in / "probe-42.sh", probe(42));
    // A honeypot storing a download: the file open for writing, a pause longer than the
    // settle time, then the rest.
    const std::string slow = probe(43) + "# " + std::string(4000, 'z') + "\n";
    {
        int fd = ::open((in / "slow.sh").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0755);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, slow.data(), 100) == 100);
        std::this_thread::sleep_for(4s);
        REQUIRE(::write(fd, slow.data() + 100, slow.size() - 100) ==
                static_cast<ssize_t>(slow.size() - 100));
        ::close(fd);
    }
    CHECK(eventually([&] { return status(sb)["counts"]["reported"] == 3; }, 300s));
    ::kill(serve.pid, SIGTERM);
    CHECK(serve.wait(120s) == 0);
    INFO(serve.output());
    auto reps = reports(sb.data);
    CHECK(reps.size() == 3);
    std::set<std::string> shas;
    for (const auto& [_, rep] : reps)
        shas.insert(rep["task"]["sample"]["sha256"].get<std::string>());
    CHECK(shas ==
          std::set<std::string>{sha256_of(probe(41)), sha256_of(probe(42)), sha256_of(slow)});
    no_vm_running();
}

}  // namespace botscope::e2e::test_batch
