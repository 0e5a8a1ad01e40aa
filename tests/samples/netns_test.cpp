// botemu_netns: the real emulator refusing to leave the sandbox, on a real network.
//
// The test makes two network namespaces of its own, "dns" (10.66.0.1/24) and "bot"
// (10.66.0.10/24), joined by a veth pair, and removes them at the end whatever happens. A DNS
// responder (a thread that entered the dns namespace) answers the C&C's name; a capture (libpcap,
// from a thread in the bot namespace) records every frame the bot's side sends. The emulator
// runs in the bot namespace through `ip netns exec`.
//
// The bot namespace gets a default route via 10.66.0.1, so that a packet the gate failed to stop
// would reach the wire and show in the capture (without a route it would fail to send and the
// test could not fail). It goes no further: the dns namespace has no other link and does not
// forward (a new namespace starts with ip_forward 0), so nothing reaches any real network.
//
//   1. the C&C name resolves to 203.0.113.5: exit 3 with the refusal; the capture shows the DNS
//      query (and the ARP for the resolver) and nothing else
//   2. --resolver 192.0.2.53: exit 3 before any frame at all
//   3. the resolver from the namespace's resolv.conf (192.0.2.53): exit 3, no frame
//   4. the name resolves to 10.66.0.1, where nothing listens on 8080: exit 4 within seconds,
//      every packet to 10.66.0.1
//
// Exit 0 passed, 1 failed, 77 skipped (not root, no `ip netns`), unless BOTSCOPE_VM_REQUIRED is
// on (support/required.h) and makes a skip a failure. Usage: botemu_netns PATH-TO-botscope-botemu

#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "analysis/proto/dns/dns_parser.h"
#include "support/pcapgen.h"
#include "support/required.h"

namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

int failures = 0;

void check(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok)
        ++failures;
}

// Runs a command to its end; its exit status, or -1.
int run(const std::vector<std::string>& args, bool quiet = true) {
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (quiet) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
        }
        std::vector<char*> argv;
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs `fn` in a thread that has entered network namespace `ns` (setns affects only the
// calling thread, so the test itself stays where it is).
bool in_netns(const std::string& ns, const std::function<void()>& fn) {
    int fd = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool entered = false;
    std::thread t([&] {
        entered = setns(fd, CLONE_NEWNET) == 0;
        if (entered)
            fn();
    });
    t.join();
    close(fd);
    return entered;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

// The two namespaces and the veth pair; removed when this goes out of scope.
class Sandbox {
public:
    Sandbox() {
        const std::string id = std::to_string(getpid());
        dns = "bsemu-dns-" + id;
        bot = "bsemu-bot-" + id;
        dns_if = "bsed" + id;
        bot_if = "bseb" + id;
    }
    ~Sandbox() {
        run({"ip", "netns", "del", dns});
        run({"ip", "netns", "del", bot});
        std::error_code ec;
        std::filesystem::remove_all("/etc/netns/" + bot, ec);
    }
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    // False when namespaces cannot be made here at all (a skip).
    bool create() { return run({"ip", "netns", "add", dns}) == 0; }

    bool configure() {
        if (run({"ip", "netns", "add", bot}) != 0 ||
            run({"ip", "link", "add", dns_if, "type", "veth", "peer", "name", bot_if}) != 0 ||
            run({"ip", "link", "set", dns_if, "netns", dns}) != 0 ||
            run({"ip", "link", "set", bot_if, "netns", bot}) != 0)
            return false;
        // No IPv6: the kernel's own neighbour discovery would put frames on the link that the
        // emulator did not send. Only the emulator's traffic is then left.
        for (const auto& [ns, dev] : {std::pair{dns, dns_if}, std::pair{bot, bot_if}}) {
            const std::string link = dev;
            in_netns(ns, [&link] {
                for (const std::string& d : {std::string("all"), std::string("default"), link})
                    write_file("/proc/sys/net/ipv6/conf/" + d + "/disable_ipv6", "1");
            });
        }
        return run({"ip", "-n", dns, "addr", "add", "10.66.0.1/24", "dev", dns_if}) == 0 &&
               run({"ip", "-n", bot, "addr", "add", "10.66.0.10/24", "dev", bot_if}) == 0 &&
               run({"ip", "-n", dns, "link", "set", "lo", "up"}) == 0 &&
               run({"ip", "-n", bot, "link", "set", "lo", "up"}) == 0 &&
               run({"ip", "-n", dns, "link", "set", dns_if, "up"}) == 0 &&
               run({"ip", "-n", bot, "link", "set", bot_if, "up"}) == 0 &&
               run({"ip", "-n", bot, "route", "add", "default", "via", "10.66.0.1"}) == 0;
    }

    std::string dns, bot, dns_if, bot_if;
};

// Answers A queries on 10.66.0.1:53 in the dns namespace with `answer`.
class DnsResponder {
public:
    explicit DnsResponder(const std::string& ns) {
        thread_ = std::thread([this, ns] {
            in_netns(ns, [this] { serve(); });
            ready_ = true;  // also when entering failed: nobody waits forever
        });
        for (int i = 0; i < 200 && !ready_ && !listening_; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ~DnsResponder() {
        stop_ = true;
        thread_.join();
    }
    DnsResponder(const DnsResponder&) = delete;
    DnsResponder& operator=(const DnsResponder&) = delete;

    bool listening() const { return listening_; }
    void set_answer(Bytes address) {
        std::lock_guard lock(mutex_);
        answer_ = std::move(address);
    }
    int queries() const { return queries_; }
    void reset() { queries_ = 0; }

private:
    void serve() {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(53);
        sa.sin_addr.s_addr = htonl(0x0A420001u);
        if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            if (s >= 0)
                close(s);
            return;
        }
        listening_ = true;
        std::uint8_t buf[1500];
        while (!stop_) {
            pollfd p{s, POLLIN, 0};
            if (poll(&p, 1, 50) <= 0)
                continue;
            sockaddr_in from{};
            socklen_t len = sizeof from;
            auto n = recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n <= 0)
                continue;
            auto q = botscope::analysis::dns::parse_message({buf, static_cast<std::size_t>(n)});
            if (!q.header_ok || q.header.qr || q.questions.empty())
                continue;
            ++queries_;
            std::vector<botscope::testing::DnsRecord> rr;
            {
                std::lock_guard lock(mutex_);
                if (q.questions[0].qtype == 1)
                    rr.push_back({1, 60, answer_});
            }
            Bytes reply = botscope::testing::dns_message(q.header.id, 0x8180, q.questions[0].name,
                                                         q.questions[0].qtype, rr);
            sendto(s, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
        close(s);
    }

    std::thread thread_;
    std::atomic<bool> stop_{false}, ready_{false}, listening_{false};
    std::atomic<int> queries_{0};
    std::mutex mutex_;
    Bytes answer_ = {10, 66, 0, 1};
};

// Every frame the bot's interface sends, from a thread in the bot namespace.
class Capture {
public:
    Capture(const std::string& ns, const std::string& dev) {
        thread_ = std::thread([this, ns, dev] {
            if (!in_netns(ns, [this, &dev] { loop(dev); }))
                error_ = "cannot enter " + ns;
            done_ = true;
        });
        while (!active_ && !done_)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ~Capture() { stop(); }
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;

    bool active() const { return active_; }
    const std::string& error() const { return error_; }
    // Stops after the frames already sent have been read; returns them.
    std::vector<Bytes> stop() {
        if (thread_.joinable()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            stop_ = true;
            thread_.join();
        }
        return frames_;
    }

private:
    void loop(const std::string& dev) {
        char err[PCAP_ERRBUF_SIZE] = {};
        pcap_t* p = pcap_create(dev.c_str(), err);
        if (!p) {
            error_ = err;
            return;
        }
        pcap_set_snaplen(p, 2048);
        pcap_set_immediate_mode(p, 1);
        pcap_set_timeout(p, 50);
        if (pcap_activate(p) < 0 || pcap_setdirection(p, PCAP_D_OUT) != 0 ||
            pcap_setnonblock(p, 1, err) != 0) {
            error_ = pcap_geterr(p);
            pcap_close(p);
            return;
        }
        active_ = true;
        while (!stop_) {
            int n = pcap_dispatch(
                p, 100,
                [](u_char* self, const pcap_pkthdr* h, const u_char* bytes) {
                    auto* c = reinterpret_cast<Capture*>(self);
                    if (c->frames_.size() < 10000)
                        c->frames_.emplace_back(bytes, bytes + h->caplen);
                },
                reinterpret_cast<u_char*>(this));
            if (n == 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (n < 0)
                break;
        }
        pcap_close(p);
    }

    std::thread thread_;
    std::atomic<bool> stop_{false}, active_{false}, done_{false};
    std::string error_;
    std::vector<Bytes> frames_;
};

std::uint32_t be32(const Bytes& f, std::size_t at) {
    return (std::uint32_t{f[at]} << 24) | (std::uint32_t{f[at + 1]} << 16) |
           (std::uint32_t{f[at + 2]} << 8) | f[at + 3];
}

// What the bot put on the wire, by kind.
struct Traffic {
    int dns_queries = 0;             // UDP to 10.66.0.1:53
    int arp_for_resolver = 0;        // ARP asking for 10.66.0.1
    int ipv4_to_host = 0;            // any IPv4 to 10.66.0.1 (DNS included)
    std::vector<std::string> other;  // everything else, described
    int frames = 0;
};

Traffic classify(const std::vector<Bytes>& frames) {
    Traffic t;
    t.frames = static_cast<int>(frames.size());
    for (const Bytes& f : frames) {
        if (f.size() < 14) {
            t.other.push_back("runt frame");
            continue;
        }
        const unsigned type = (unsigned{f[12]} << 8) | f[13];
        if (type == 0x0806 && f.size() >= 42 && be32(f, 38) == 0x0A420001u) {
            ++t.arp_for_resolver;
        } else if (type == 0x0800 && f.size() >= 34) {
            const std::size_t ihl = std::size_t{f[14] & 0x0Fu} * 4;
            const std::uint32_t dst = be32(f, 30);
            const std::uint8_t proto = f[23];
            char desc[96];
            std::snprintf(desc, sizeof desc, "IPv4 proto %u to %u.%u.%u.%u", proto, f[30], f[31],
                          f[32], f[33]);
            if (dst == 0x0A420001u)
                ++t.ipv4_to_host;
            else
                t.other.push_back(desc);
            if (proto == 17 && dst == 0x0A420001u && f.size() >= 14 + ihl + 4 &&
                ((unsigned{f[14 + ihl + 2]} << 8) | f[14 + ihl + 3]) == 53)
                ++t.dns_queries;
        } else {
            char desc[64];
            std::snprintf(desc, sizeof desc, "ethertype 0x%04x", type);
            t.other.push_back(desc);
        }
    }
    return t;
}

struct Outcome {
    int exit_code = -1;
    std::string output;  // stdout and stderr
    double seconds = 0;
};

// Runs the emulator in the bot namespace; killed (by its pid) after 12 s.
Outcome run_emulator(const Sandbox& sb, const std::string& emulator,
                     const std::vector<std::string>& args) {
    Outcome o;
    char path[] = "/tmp/botemu-netns-XXXXXX";
    int out = mkstemp(path);
    if (out < 0)
        return o;
    const auto start = Clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out, 1);
        dup2(out, 2);
        std::vector<std::string> all = {"ip", "netns", "exec", sb.bot, emulator};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp("ip", argv.data());
        _exit(127);
    }
    int status = 0;
    while (pid > 0) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (Clock::now() - start > std::chrono::seconds(12)) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    o.exit_code = pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    close(out);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    o.output = ss.str();
    unlink(path);
    std::printf("     exit %d after %.2f s; output:\n%s", o.exit_code, o.seconds, o.output.c_str());
    return o;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

void case_foreign_answer(const Sandbox& sb, DnsResponder& dns, const std::string& emu) {
    std::printf("-- the C&C name resolves outside the sandbox\n");
    dns.set_answer({203, 0, 113, 5});
    dns.reset();
    Capture cap(sb.bot, sb.bot_if);
    check(cap.active(), "capture on the bot's interface " + cap.error());
    Outcome o = run_emulator(sb, emu, {"--resolver", "10.66.0.1", "--max-seconds", "20"});
    Traffic t = classify(cap.stop());
    check(o.exit_code == 3, "exit code 3");
    check(contains(o.output,
                   "botemu: refusing to run: cnc.botscope.test resolved to "
                   "203.0.113.5, outside the sandbox 10.66.0.0/24"),
          "the refusal names the name, the address and the sandbox");
    check(dns.queries() >= 1, "the responder saw the query");
    check(t.dns_queries >= 1 && t.dns_queries == t.ipv4_to_host,
          "the capture shows the DNS query and no other packet to the host (" +
              std::to_string(t.dns_queries) + " queries, " + std::to_string(t.ipv4_to_host) +
              " packets to 10.66.0.1)");
    check(t.other.empty(),
          "nothing else on the wire" + (t.other.empty() ? std::string() : ": " + t.other.front()));
}

void case_foreign_resolver(const Sandbox& sb, DnsResponder& dns, const std::string& emu,
                           bool from_resolv_conf) {
    std::printf("-- the resolver (%s) is outside the sandbox\n",
                from_resolv_conf ? "resolv.conf" : "--resolver");
    dns.reset();
    std::vector<std::string> args = {"--max-seconds", "20"};
    if (from_resolv_conf) {
        // `ip netns exec` shows /etc/netns/NAME/resolv.conf as /etc/resolv.conf.
        std::filesystem::create_directories("/etc/netns/" + sb.bot);
        write_file("/etc/netns/" + sb.bot + "/resolv.conf",
                   "# botemu_netns\nnameserver 192.0.2.53\nnameserver 10.66.0.1\n");
    } else {
        args.insert(args.begin(), {"--resolver", "192.0.2.53"});
    }
    Capture cap(sb.bot, sb.bot_if);
    check(cap.active(), "capture on the bot's interface " + cap.error());
    Outcome o = run_emulator(sb, emu, args);
    Traffic t = classify(cap.stop());
    std::error_code ec;
    std::filesystem::remove_all("/etc/netns/" + sb.bot, ec);
    check(o.exit_code == 3, "exit code 3");
    check(contains(o.output,
                   "botemu: refusing to run: resolver 192.0.2.53 is outside the "
                   "sandbox 10.66.0.0/24"),
          "the refusal names the resolver");
    check(t.frames == 0, "not a single frame sent (" + std::to_string(t.frames) + ")");
    check(dns.queries() == 0, "no query reached the sandbox's resolver either");
}

void case_no_listener(const Sandbox& sb, DnsResponder& dns, const std::string& emu) {
    std::printf("-- nothing listens on the C&C's port\n");
    dns.set_answer({10, 66, 0, 1});
    Capture cap(sb.bot, sb.bot_if);
    check(cap.active(), "capture on the bot's interface " + cap.error());
    Outcome o = run_emulator(sb, emu, {"--resolver", "10.66.0.1", "--max-seconds", "20"});
    Traffic t = classify(cap.stop());
    check(o.exit_code == 4, "exit code 4");
    check(o.seconds < 8, "within a few seconds (two reconnects, 2 s apart)");
    check(contains(o.output, "could not reach the C&C 10.66.0.1:8080"), "says why");
    check(t.other.empty(), "every packet went to 10.66.0.1" +
                               (t.other.empty() ? std::string() : ": not " + t.other.front()));
    check(t.ipv4_to_host >= 1 + 3, "the DNS query and the three connection attempts");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: botemu_netns PATH-TO-botscope-botemu\n");
        return 2;
    }
    const std::string emulator = std::filesystem::absolute(argv[1]).string();
    auto skip = [](const char* why) {
        return botscope::testing::skip_or_fail("botemu_netns", "BOTSCOPE_VM_REQUIRED", why);
    };
    if (geteuid() != 0)
        return skip("needs root (network namespaces)");
    if (run({"ip", "netns", "list"}) != 0)
        return skip("`ip netns` is unavailable");
    signal(SIGPIPE, SIG_IGN);
    const auto start = Clock::now();
    {
        Sandbox sb;
        if (!sb.create())
            return skip("cannot create a network namespace here");
        if (!sb.configure()) {
            std::printf("FAIL setting up the namespaces and the veth pair\n");
            return 1;
        }
        DnsResponder dns(sb.dns);
        check(dns.listening(), "DNS responder on 10.66.0.1:53 in the dns namespace");
        if (dns.listening()) {
            case_foreign_answer(sb, dns, emulator);
            case_foreign_resolver(sb, dns, emulator, false);
            case_foreign_resolver(sb, dns, emulator, true);
            case_no_listener(sb, dns, emulator);
        }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    check(seconds < 15, "whole test under 15 s (" + std::to_string(seconds) + " s)");
    std::printf("botemu_netns: %s\n", failures == 0 ? "passed" : "FAILED");
    return failures == 0 ? 0 : 1;
}
