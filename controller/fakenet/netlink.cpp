#include "fakenet/netlink.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

namespace botscope::fakenet {

namespace {

constexpr int kReplyTimeoutMs = 1000;
constexpr std::size_t kReceiveBuffer = 64 * 1024;
/// Messages sent to rtnetlink in one write: each is ~40 bytes, the kernel's buffer is far larger.
constexpr std::size_t kAddressBatch = 64;

/// A netlink message under construction: header, fixed part, attributes (nested ones too).
class Message {
public:
    Message(std::uint16_t type, std::uint16_t flags, std::uint32_t seq) {
        nlmsghdr h{};
        h.nlmsg_type = type;
        h.nlmsg_flags = flags;
        h.nlmsg_seq = seq;
        append(&h, sizeof h);
    }
    void append(const void* data, std::size_t n) {
        const auto* p = static_cast<const std::uint8_t*>(data);
        buf_.insert(buf_.end(), p, p + n);
        buf_.resize(NLMSG_ALIGN(buf_.size()), 0);
        header()->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
    }
    void attr(std::uint16_t type, const void* data, std::size_t n) {
        nlattr a{};
        a.nla_type = type;
        a.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + n);
        std::size_t at = buf_.size();
        buf_.resize(at + NLA_HDRLEN);
        std::memcpy(buf_.data() + at, &a, sizeof a);
        append(data, n);
    }
    /// Opens a nested attribute; close() fixes its length.
    std::size_t open(std::uint16_t type) {
        std::size_t at = buf_.size();
        nlattr a{};
        a.nla_type = static_cast<std::uint16_t>(type | NLA_F_NESTED);
        append(&a, sizeof a);
        return at;
    }
    void close(std::size_t at) {
        auto len = static_cast<std::uint16_t>(buf_.size() - at);
        std::memcpy(buf_.data() + at, &len, sizeof len);
    }
    std::span<const std::uint8_t> bytes() const { return buf_; }

private:
    nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
    std::vector<std::uint8_t> buf_;
};

/// The attributes in [data, data + len), checked: a kernel reply is trusted no further than
/// its own lengths say.
std::vector<std::pair<std::uint16_t, std::span<const std::uint8_t>>> attributes(
    std::span<const std::uint8_t> data) {
    std::vector<std::pair<std::uint16_t, std::span<const std::uint8_t>>> out;
    std::size_t off = 0;
    while (off + NLA_HDRLEN <= data.size()) {
        nlattr a;
        std::memcpy(&a, data.data() + off, sizeof a);
        if (a.nla_len < NLA_HDRLEN || a.nla_len > data.size() - off)
            break;
        out.emplace_back(static_cast<std::uint16_t>(a.nla_type & NLA_TYPE_MASK),
                         data.subspan(off + NLA_HDRLEN, a.nla_len - NLA_HDRLEN));
        off += NLA_ALIGN(a.nla_len);
    }
    return out;
}

std::optional<std::span<const std::uint8_t>> find(std::span<const std::uint8_t> data,
                                                  std::uint16_t type) {
    for (const auto& [t, v] : attributes(data))
        if (t == type)
            return v;
    return std::nullopt;
}

std::string errno_text(int e) {
    return std::strerror(e);
}

/// A netlink socket of `protocol`, closed on destruction.
struct Socket {
    explicit Socket(int protocol)
        : fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)) {}
    ~Socket() {
        if (fd >= 0)
            ::close(fd);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd;
};

bool send_all(int fd, std::span<const std::uint8_t> bytes) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t n = ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                         sizeof kernel);
    return n == static_cast<ssize_t>(bytes.size());
}

/// Receives one datagram (which may hold several messages) within the deadline.
std::optional<std::vector<std::uint8_t>> receive(int fd, std::string& error) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, kReplyTimeoutMs);
    if (r <= 0) {
        error = r == 0 ? "no reply from the kernel within 1 s" : errno_text(errno);
        return std::nullopt;
    }
    std::vector<std::uint8_t> buf(kReceiveBuffer);
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
        error = errno_text(errno);
        return std::nullopt;
    }
    buf.resize(static_cast<std::size_t>(n));
    return buf;
}

/// Each message in a datagram, with its header checked.
template <typename Fn>
void for_each_message(std::span<const std::uint8_t> data, Fn&& fn) {
    std::size_t off = 0;
    while (off + NLMSG_HDRLEN <= data.size()) {
        nlmsghdr h;
        std::memcpy(&h, data.data() + off, sizeof h);
        if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > data.size() - off)
            return;
        if (!fn(h, data.subspan(off + NLMSG_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN)))
            return;
        off += NLMSG_ALIGN(h.nlmsg_len);
    }
}

int error_code(std::span<const std::uint8_t> payload) {
    nlmsgerr e{};
    if (payload.size() < sizeof e)
        return EPROTO;
    std::memcpy(&e, payload.data(), sizeof e);
    return -e.error;
}

std::uint32_t be32(Ipv4 ip) {
    return htonl(ip);
}

}  // namespace

// --- conntrack ---------------------------------------------------------------------------------

ConntrackLookup::ConntrackLookup()
    : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER)) {
    if (fd_ < 0)
        error_ = "cannot open a conntrack netlink socket: " + errno_text(errno);
}

ConntrackLookup::~ConntrackLookup() {
    if (fd_ >= 0)
        ::close(fd_);
}

std::optional<Endpoint> ConntrackLookup::original_udp(const Endpoint& client,
                                                      const Endpoint& local) {
    if (fd_ < 0)
        return std::nullopt;
    const std::uint32_t seq = ++seq_;
    Message m(static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET),
              NLM_F_REQUEST, seq);
    nfgenmsg g{};
    g.nfgen_family = AF_INET;
    g.version = NFNETLINK_V0;
    m.append(&g, sizeof g);
    // The reply direction of a redirected datagram: from where it arrived back to the client.
    auto tuple = m.open(CTA_TUPLE_REPLY);
    auto ip = m.open(CTA_TUPLE_IP);
    std::uint32_t src = be32(local.ip), dst = be32(client.ip);
    m.attr(CTA_IP_V4_SRC, &src, 4);
    m.attr(CTA_IP_V4_DST, &dst, 4);
    m.close(ip);
    auto proto = m.open(CTA_TUPLE_PROTO);
    std::uint8_t num = IPPROTO_UDP;
    std::uint16_t sport = htons(local.port), dport = htons(client.port);
    m.attr(CTA_PROTO_NUM, &num, 1);
    m.attr(CTA_PROTO_SRC_PORT, &sport, 2);
    m.attr(CTA_PROTO_DST_PORT, &dport, 2);
    m.close(proto);
    m.close(tuple);
    if (!send_all(fd_, m.bytes())) {
        error_ = "conntrack request failed: " + errno_text(errno);
        return std::nullopt;
    }
    // Replies of earlier lookups that timed out may still arrive: skip other sequence numbers.
    for (int datagrams = 0; datagrams < 8; ++datagrams) {
        auto data = receive(fd_, error_);
        if (!data)
            return std::nullopt;
        std::optional<Endpoint> found;
        bool done = false;
        for_each_message(*data, [&](const nlmsghdr& h, std::span<const std::uint8_t> body) {
            if (h.nlmsg_seq != seq)
                return true;
            done = true;
            if (h.nlmsg_type == NLMSG_ERROR) {
                int e = error_code(body);
                error_ = e == ENOENT ? "no conntrack entry" : "conntrack: " + errno_text(e);
                return false;
            }
            if (body.size() < sizeof(nfgenmsg))
                return false;
            auto attrs = body.subspan(NLMSG_ALIGN(sizeof(nfgenmsg)));
            auto orig = find(attrs, CTA_TUPLE_ORIG);
            if (!orig)
                return false;
            auto oip = find(*orig, CTA_TUPLE_IP);
            auto oproto = find(*orig, CTA_TUPLE_PROTO);
            if (!oip || !oproto)
                return false;
            auto d = find(*oip, CTA_IP_V4_DST);
            auto p = find(*oproto, CTA_PROTO_DST_PORT);
            if (!d || d->size() != 4 || !p || p->size() != 2)
                return false;
            std::uint32_t a;
            std::uint16_t port;
            std::memcpy(&a, d->data(), 4);
            std::memcpy(&port, p->data(), 2);
            found = Endpoint{ntohl(a), ntohs(port)};
            return false;
        });
        if (done) {
            if (found)
                error_.clear();
            else if (error_.empty())
                error_ = "conntrack reply without an original tuple";
            return found;
        }
    }
    error_ = "conntrack: no reply to this lookup";
    return std::nullopt;
}

util::Result<std::size_t> flush_conntrack(const Subnet& subnet) {
    Socket s(NETLINK_NETFILTER);
    if (s.fd < 0)
        return util::Error{"netlink", "cannot open a conntrack netlink socket: " + errno_text(errno)};
    nfgenmsg g{};
    g.nfgen_family = AF_INET;
    g.version = NFNETLINK_V0;
    Message dump(static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET),
                 NLM_F_REQUEST | NLM_F_DUMP, 1);
    dump.append(&g, sizeof g);
    if (!send_all(s.fd, dump.bytes()))
        return util::Error{"netlink", "conntrack dump failed: " + errno_text(errno)};
    // The original tuples of the sandbox's connections, as the kernel wrote them: deleted by
    // handing the same bytes back.
    std::vector<std::vector<std::uint8_t>> tuples;
    std::string error;
    bool done = false;
    for (int datagrams = 0; !done && datagrams < 65536; ++datagrams) {
        auto data = receive(s.fd, error);
        if (!data)
            return util::Error{"netlink", "conntrack dump: " + error};
        for_each_message(*data, [&](const nlmsghdr& h, std::span<const std::uint8_t> body) {
            if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) {
                done = true;
                return false;
            }
            if (body.size() < sizeof(nfgenmsg))
                return true;
            auto orig = find(body.subspan(NLMSG_ALIGN(sizeof(nfgenmsg))), CTA_TUPLE_ORIG);
            if (!orig)
                return true;
            auto ip = find(*orig, CTA_TUPLE_IP);
            auto src = ip ? find(*ip, CTA_IP_V4_SRC) : std::nullopt;
            if (!src || src->size() != 4)
                return true;
            std::uint32_t v;
            std::memcpy(&v, src->data(), 4);
            if (subnet.contains(ntohl(v)))
                tuples.emplace_back(orig->begin(), orig->end());
            return true;
        });
    }
    std::size_t deleted = 0;
    std::uint32_t seq = 1;
    for (const auto& t : tuples) {
        Message del(static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE),
                    NLM_F_REQUEST | NLM_F_ACK, ++seq);
        del.append(&g, sizeof g);
        auto at = del.open(CTA_TUPLE_ORIG);
        del.append(t.data(), t.size());
        del.close(at);
        if (!send_all(s.fd, del.bytes()))
            return util::Error{"netlink", "conntrack delete failed: " + errno_text(errno)};
        auto data = receive(s.fd, error);
        if (!data)
            return util::Error{"netlink", "conntrack delete: " + error};
        for_each_message(*data, [&](const nlmsghdr& h, std::span<const std::uint8_t> body) {
            // ENOENT: it ended by itself meanwhile.
            if (h.nlmsg_type == NLMSG_ERROR && error_code(body) == 0)
                ++deleted;
            return false;
        });
    }
    return deleted;
}

// --- addresses ---------------------------------------------------------------------------------

unsigned interface_index(const std::string& name) {
    return ::if_nametoindex(name.c_str());
}

util::Result<std::vector<std::pair<Ipv4, int>>> interface_addresses(const std::string& name) {
    unsigned index = interface_index(name);
    if (index == 0)
        return util::Error{"no_interface", "interface " + name + " does not exist"};
    Socket s(NETLINK_ROUTE);
    if (s.fd < 0)
        return util::Error{"netlink", "cannot open a route netlink socket: " + errno_text(errno)};
    Message m(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1);
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_INET;
    m.append(&ifa, sizeof ifa);
    if (!send_all(s.fd, m.bytes()))
        return util::Error{"netlink", "address dump failed: " + errno_text(errno)};
    std::vector<std::pair<Ipv4, int>> out;
    std::string error;
    // A dump of a host with very many addresses could go on: bounded by the datagrams read.
    for (int datagrams = 0; datagrams < 4096; ++datagrams) {
        auto data = receive(s.fd, error);
        if (!data)
            return util::Error{"netlink", "address dump: " + error};
        bool done = false;
        for_each_message(*data, [&](const nlmsghdr& h, std::span<const std::uint8_t> body) {
            if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) {
                done = true;
                return false;
            }
            if (h.nlmsg_type != RTM_NEWADDR || body.size() < sizeof(ifaddrmsg))
                return true;
            ifaddrmsg a;
            std::memcpy(&a, body.data(), sizeof a);
            if (a.ifa_index != index || a.ifa_family != AF_INET)
                return true;
            auto local = find(body.subspan(NLMSG_ALIGN(sizeof a)), IFA_LOCAL);
            if (local && local->size() == 4) {
                std::uint32_t v;
                std::memcpy(&v, local->data(), 4);
                out.emplace_back(ntohl(v), a.ifa_prefixlen);
            }
            return true;
        });
        if (done)
            return out;
    }
    return util::Error{"netlink", "address dump did not end"};
}

namespace {

/// Sends RTM_NEWADDR or RTM_DELADDR for each address, in batches, and counts the successes;
/// `benign` is the error that means "already so" (EEXIST, EADDRNOTAVAIL).
util::Result<std::size_t> change_addresses(const std::string& name,
                                           const std::vector<Ipv4>& addresses, bool add) {
    unsigned index = interface_index(name);
    if (index == 0)
        return util::Error{"no_interface", "interface " + name + " does not exist"};
    Socket s(NETLINK_ROUTE);
    if (s.fd < 0)
        return util::Error{"netlink", "cannot open a route netlink socket: " + errno_text(errno)};
    const int benign = add ? EEXIST : EADDRNOTAVAIL;
    std::size_t changed = 0;
    std::uint32_t seq = 0;
    for (std::size_t at = 0; at < addresses.size(); at += kAddressBatch) {
        std::vector<std::uint8_t> batch;
        std::size_t n = std::min(kAddressBatch, addresses.size() - at);
        for (std::size_t i = 0; i < n; ++i) {
            Message m(add ? RTM_NEWADDR : RTM_DELADDR,
                      static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_ACK |
                                                 (add ? NLM_F_CREATE | NLM_F_EXCL : 0)),
                      ++seq);
            ifaddrmsg ifa{};
            ifa.ifa_family = AF_INET;
            ifa.ifa_prefixlen = 32;
            ifa.ifa_scope = RT_SCOPE_UNIVERSE;
            ifa.ifa_index = index;
            m.append(&ifa, sizeof ifa);
            std::uint32_t v = be32(addresses[at + i]);
            m.attr(IFA_LOCAL, &v, 4);
            m.attr(IFA_ADDRESS, &v, 4);
            auto b = m.bytes();
            batch.insert(batch.end(), b.begin(), b.end());
        }
        if (!send_all(s.fd, batch))
            return util::Error{"netlink", "address change failed: " + errno_text(errno)};
        std::size_t acked = 0;
        std::string error;
        while (acked < n) {
            auto data = receive(s.fd, error);
            if (!data)
                return util::Error{"netlink", "address change: " + error};
            std::string failure;
            for_each_message(*data, [&](const nlmsghdr& h, std::span<const std::uint8_t> body) {
                if (h.nlmsg_type != NLMSG_ERROR)
                    return true;
                ++acked;
                int e = error_code(body);
                if (e == 0)
                    ++changed;
                else if (e != benign && failure.empty())
                    failure = errno_text(e);
                return true;
            });
            if (!failure.empty())
                return util::Error{"netlink", std::string(add ? "adding" : "removing") +
                                                  " addresses on " + name + ": " + failure};
        }
    }
    return changed;
}

}  // namespace

util::Result<std::size_t> add_host_addresses(const std::string& name,
                                             const std::vector<Ipv4>& addresses) {
    return change_addresses(name, addresses, true);
}

util::Result<std::size_t> remove_host_addresses(const std::string& name,
                                                const std::vector<Ipv4>& addresses) {
    return change_addresses(name, addresses, false);
}

}  // namespace botscope::fakenet
