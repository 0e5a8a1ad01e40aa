#include "fakenet/service.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QCoreApplication>
#include <QHostAddress>
#include <QLocalServer>
#include <QLocalSocket>
#include <QNetworkDatagram>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QUdpSocket>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <unordered_map>

#include "analysis/proto/dns/dns_parser.h"
#include "fakenet/classify.h"
#include "fakenet/http_sink.h"
#include "fakenet/irc_server.h"
#include "fakenet/netlink.h"
#include "fakenet/operator_script.h"
#include "fakenet/raw_sink.h"
#include "fakenet/smtp_sink.h"
#include "fakenet/tftp_server.h"
#include "util/byte_reader.h"
#include "util/hash.h"
#include "util/text.h"

namespace botscope::fakenet {

namespace fs = std::filesystem;

namespace {

constexpr int kTickMs = 100;
constexpr std::size_t kMaxControlLine = 1u << 20;  ///< a request (an operator script is ~1 KB)
constexpr std::size_t kMaxControlClients = 32;
constexpr std::size_t kMaxDnsOverrides = 1000;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr Millis kEndOfTime = 24 * 3600 * 1000;  ///< past every retransmission and idle timer

Millis now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string iso_now() {
    return util::utc_now_iso8601();
}

void log_line(const std::string& s) {
    std::fprintf(stderr, "%s fakenet: %s\n", iso_now().c_str(), s.c_str());
    std::fflush(stderr);
}

std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

/// A socket of our own, so that it can be bound before the bridge has its address
/// (IP_FREEBIND) and its buffers sized, then handed to Qt.
util::Result<int> bound_socket(int type, Ipv4 ip, std::uint16_t port) {
    int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return util::Error{"socket", std::string("socket: ") + std::strerror(errno)};
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    if (type == SOCK_DGRAM) {
        int buf = 4 << 20;  // a burst of a few thousand datagrams waits here, not in the kernel's bin
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    a.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        (type == SOCK_STREAM && ::listen(fd, 1024) != 0)) {
        int e = errno;
        ::close(fd);
        return util::Error{"bind", std::string(type == SOCK_STREAM ? "tcp " : "udp ") +
                                       format_ipv4(ip) + ":" + std::to_string(port) + ": " +
                                       std::strerror(e)};
    }
    return fd;
}

std::uint16_t bound_port(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

Endpoint original_destination(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &a, &len) != 0) {
        len = sizeof a;  // not redirected: where it arrived is where it was sent
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    }
    return {ntohl(a.sin_addr.s_addr), ntohs(a.sin_port)};
}

Ipv4 to_ipv4(const QHostAddress& a) {
    bool ok = false;
    Ipv4 v = a.toIPv4Address(&ok);
    return ok ? v : 0;
}

std::uint64_t rss_kb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return util::parse_u64(util::trim(line.substr(6, line.size() - 9))).value_or(0);
    return 0;
}

/// A task's own DNS answers (a dead C&C: NXDOMAIN), inside the sandbox only. The reason when
/// refused, else "".
std::string add_dns_answers(const Json& d, const Sandbox& sandbox, DnsPolicy& dns) {
    if (d.contains("names") && d["names"].is_object()) {
        if (d["names"].size() > kMaxDnsOverrides)
            return "too many DNS names";
        for (const auto& [name, addr] : d["names"].items()) {
            auto ip = addr.is_string() ? parse_ipv4(addr.get<std::string>()) : std::nullopt;
            if (!ip || !sandbox.contains(*ip))
                return "DNS answer for " + name + " must be an address of " +
                       sandbox.subnet.to_string();
            dns.names[util::to_lower(name)] = *ip;
        }
    }
    if (d.contains("nxdomain") && d["nxdomain"].is_array()) {
        if (d["nxdomain"].size() > kMaxDnsOverrides)
            return "too many NXDOMAIN names";
        for (const auto& n : d["nxdomain"])
            if (n.is_string())
                dns.nxdomain.insert(util::to_lower(n.get<std::string>()));
    }
    return "";
}

/// One task's world: its records, its IRC network and operator, its TFTP transfers, its DNS.
struct TaskSession {
    std::string id;
    Ipv4 guest = 0;
    fs::path dir;
    std::string began;
    DnsPolicy dns;
    Json operator_info;  ///< name, sha256, steps; null without a script
    std::unique_ptr<TaskRecords> records;
    std::unique_ptr<IrcServer> irc;
    std::unique_ptr<TftpServer> tftp;
    std::uint64_t connections = 0, datagrams = 0, refused = 0;
};

struct Conn {
    QTcpSocket* sock = nullptr;
    ConnInfo info;
    TaskSession* task = nullptr;
    std::unique_ptr<TcpSession> session;
    Protocol protocol = Protocol::kUnknown;
    std::string sniffed;
    Millis opened = 0, last_active = 0;
    std::uint64_t bytes_in = 0;
};

struct ControlClient {
    QLocalSocket* sock = nullptr;
    std::string buf;
};

class Server {
public:
    explicit Server(const ServiceConfig& c) : cfg_(c) {
        if (cfg_.listen == 0)
            cfg_.listen = cfg_.sandbox.host;
    }

    util::Result<util::Done> start();
    void stop_soon() { QTimer::singleShot(0, qApp, [] { QCoreApplication::quit(); }); }
    void shutdown();

private:
    // --- TCP -----------------------------------------------------------------------------------
    void on_accept();
    void on_read(std::uint64_t id);
    void feed(Conn& c, std::string_view data, Millis now);
    void decide(Conn& c, Protocol p, Millis now);
    void deliver(Conn& c, Output& out);
    void close_conn(std::uint64_t id);
    std::unique_ptr<TcpSession> make_session(Protocol p, Conn& c);
    // --- UDP -----------------------------------------------------------------------------------
    void on_datagrams();
    void send_datagram(const Endpoint& to, const std::string& payload);
    // --- time ----------------------------------------------------------------------------------
    void on_tick();
    // --- tasks ---------------------------------------------------------------------------------
    TaskSession& task_for(Ipv4 client);
    Json begin_task(const Json& req);
    Json end_task(const Json& req);
    std::unique_ptr<TaskSession> make_task(std::string id, Ipv4 guest, fs::path dir);
    void close_task_conns(TaskSession* t);
    // --- control -------------------------------------------------------------------------------
    void on_control_connection();
    void on_control_read(QLocalSocket* s);
    Json handle(const Json& req);
    Json status() const;
    util::Result<util::Done> ensure_firewall();

    ServiceConfig cfg_;
    FirewallSpec fw_;
    QTcpServer tcp_;
    QUdpSocket udp_;
    QLocalServer control_;
    QTimer tick_;
    ConntrackLookup conntrack_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
    std::unordered_map<Ipv4, std::size_t> per_client_;
    std::map<Ipv4, std::unique_ptr<TaskSession>> tasks_;
    std::unique_ptr<TaskSession> nobody_;  ///< traffic of guests with no task
    std::unordered_map<QLocalSocket*, ControlClient> controls_;
    std::uint64_t next_id_ = 1;
    std::string started_;
    Millis last_flush_ = 0;
    std::uint64_t total_conns_ = 0, refused_ = 0, limit_closed_ = 0, datagrams_ = 0,
                  conntrack_misses_ = 0;
    std::string last_conntrack_error_;
};

std::unique_ptr<TaskSession> Server::make_task(std::string id, Ipv4 guest, fs::path dir) {
    auto t = std::make_unique<TaskSession>();
    t->id = std::move(id);
    t->guest = guest;
    t->dir = std::move(dir);
    t->began = iso_now();
    t->dns = cfg_.dns;
    t->records = std::make_unique<TaskRecords>(t->id, guest, t->dir, cfg_.caps);
    t->tftp = std::make_unique<TftpServer>(*t->records);
    return t;
}

util::Result<util::Done> Server::ensure_firewall() {
    if (!cfg_.firewall)
        return util::Done{};
    if (!firewall_present(cfg_.bridge)) {
        if (auto r = apply_firewall(fw_); !r)
            return r.error();
        log_line("firewall table " + table_name(cfg_.bridge) + " applied");
    }
    auto d = ensure_decoys(fw_);
    if (!d)
        return d.error();
    if (d.value() > 0)
        log_line("added " + std::to_string(d.value()) + " decoy addresses on " + cfg_.bridge);
    return util::Done{};
}

util::Result<util::Done> Server::start() {
    auto t = bound_socket(SOCK_STREAM, cfg_.listen, cfg_.tcp_port);
    if (!t)
        return t.error();
    auto u = bound_socket(SOCK_DGRAM, cfg_.listen, cfg_.udp_port);
    if (!u) {
        ::close(t.value());
        return u.error();
    }
    cfg_.tcp_port = bound_port(t.value());
    cfg_.udp_port = bound_port(u.value());
    tcp_.setMaxPendingConnections(256);
    if (!tcp_.setSocketDescriptor(t.value()))
        return util::Error{"socket", "Qt refused the TCP listener"};
    if (!udp_.setSocketDescriptor(u.value(), QAbstractSocket::BoundState))
        return util::Error{"socket", "Qt refused the UDP socket"};

    fw_.bridge = cfg_.bridge;
    fw_.sandbox = cfg_.sandbox;
    fw_.tcp_port = cfg_.tcp_port;
    fw_.udp_port = cfg_.udp_port;
    fw_.answer_ping = true;
    if (cfg_.firewall) {
        if (auto r = apply_firewall(fw_); !r)
            return r.error();
        if (auto d = ensure_decoys(fw_); !d)
            log_line("decoy addresses not added yet: " + d.error().message);
    }

    QLocalServer::removeServer(QString::fromStdString(cfg_.control.string()));
    control_.setSocketOptions(QLocalServer::UserAccessOption);
    if (!control_.listen(QString::fromStdString(cfg_.control.string())))
        return util::Error{"control", "cannot listen on " + cfg_.control.string() + ": " +
                                          control_.errorString().toStdString()};
    ::chmod(cfg_.control.c_str(), 0600);

    nobody_ = make_task("", 0, {});
    IrcConfig irc;
    irc.sandbox = cfg_.sandbox;
    nobody_->irc = std::make_unique<IrcServer>(std::move(irc), *nobody_->records);
    QObject::connect(&tcp_, &QTcpServer::newConnection, [this] { on_accept(); });
    QObject::connect(&udp_, &QUdpSocket::readyRead, [this] { on_datagrams(); });
    QObject::connect(&control_, &QLocalServer::newConnection,
                     [this] { on_control_connection(); });
    QObject::connect(&tick_, &QTimer::timeout, [this] { on_tick(); });
    tick_.start(kTickMs);
    started_ = iso_now();
    log_line("serving " + cfg_.sandbox.subnet.to_string() + " on " + format_ipv4(cfg_.listen) +
             " tcp " + std::to_string(cfg_.tcp_port) + " udp " + std::to_string(cfg_.udp_port) +
             (cfg_.firewall ? ", firewall on " + cfg_.bridge : ", no firewall") + ", control " +
             cfg_.control.string());
    return util::Done{};
}

void Server::shutdown() {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, c] : conns_)
        ids.push_back(id);
    for (auto id : ids)
        close_conn(id);
    for (auto& [ip, t] : tasks_)
        t->records->flush();
    control_.close();
    QLocalServer::removeServer(QString::fromStdString(cfg_.control.string()));
    if (cfg_.firewall) {
        // The table stays (deny by default); only the host's answers to pings go with fakenet.
        fw_.answer_ping = false;
        if (auto r = apply_firewall(fw_); !r)
            log_line("could not withdraw the ping answers: " + r.error().message);
        // Redirections already decided live on in conntrack: end them with fakenet.
        if (auto f = flush_conntrack(cfg_.sandbox.subnet); !f)
            log_line("could not flush the guests' conntrack entries: " + f.error().message);
    }
}

// --- TCP ------------------------------------------------------------------------------------

TaskSession& Server::task_for(Ipv4 client) {
    auto it = tasks_.find(client);
    return it != tasks_.end() ? *it->second : *nobody_;
}

void Server::on_accept() {
    while (QTcpSocket* s = tcp_.nextPendingConnection()) {
        Ipv4 client = to_ipv4(s->peerAddress());
        ++total_conns_;
        if (conns_.size() >= cfg_.limits.max_connections ||
            per_client_[client] >= cfg_.limits.max_per_client) {
            // Accepted and closed at once: the backlog never fills, other clients get in.
            ++refused_;
            ++task_for(client).refused;
            s->abort();
            s->deleteLater();
            continue;
        }
        auto c = std::make_unique<Conn>();
        c->sock = s;
        c->info.id = next_id_++;
        c->info.client = {client, s->peerPort()};
        c->info.original = original_destination(static_cast<int>(s->socketDescriptor()));
        c->task = &task_for(client);
        ++c->task->connections;
        c->opened = c->last_active = now_ms();
        s->setReadBufferSize(kReadChunk);
        ++per_client_[client];
        const std::uint64_t id = c->info.id;
        Conn& ref = *c;
        conns_.emplace(id, std::move(c));
        QObject::connect(s, &QTcpSocket::readyRead, [this, id] { on_read(id); });
        QObject::connect(s, &QTcpSocket::disconnected,
                         [this, id] { close_conn(id); });
        if (auto p = server_first(ref.info.original.port))
            decide(ref, *p, ref.opened);
    }
}

void Server::on_read(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end())
        return;
    Conn& c = *it->second;
    char buf[kReadChunk];
    const Millis now = now_ms();
    for (;;) {
        qint64 n = c.sock->read(buf, sizeof buf);
        if (n <= 0)
            break;
        c.bytes_in += static_cast<std::uint64_t>(n);
        c.last_active = now;
        feed(c, std::string_view(buf, static_cast<std::size_t>(n)), now);
        if (conns_.find(id) == conns_.end())
            return;  // closed while fed
        if (c.bytes_in > cfg_.limits.max_bytes_in) {
            ++limit_closed_;
            close_conn(id);
            return;
        }
    }
}

void Server::feed(Conn& c, std::string_view data, Millis now) {
    if (c.session) {
        Output out;
        c.session->on_data(data, now, out);
        deliver(c, out);
        return;
    }
    std::size_t room = cfg_.limits.max_sniff_bytes - c.sniffed.size();
    c.sniffed.append(data.substr(0, room));
    std::string rest(data.substr(std::min(room, data.size())));
    bool full = c.sniffed.size() >= cfg_.limits.max_sniff_bytes;
    Classification k = classify_client(c.sniffed, c.info.original.port, full);
    if (k.need_more && !full)
        return;
    const std::uint64_t id = c.info.id;
    decide(c, k.protocol, now);
    if (rest.empty() || conns_.find(id) == conns_.end())
        return;
    Output out;
    c.session->on_data(rest, now, out);
    deliver(c, out);
}

std::unique_ptr<TcpSession> Server::make_session(Protocol p, Conn& c) {
    TaskSession& t = *c.task;
    switch (p) {
        case Protocol::kHttp:
            return make_http_session(c.info, HttpConfig{}, *t.records);
        case Protocol::kIrc:
            return t.irc->accept(c.info);
        case Protocol::kSmtp:
            return make_smtp_session(c.info, SmtpConfig{}, *t.records);
        case Protocol::kDns:
            return make_dns_tcp_session(c.info, t.dns, *t.records);
        case Protocol::kTls:
        case Protocol::kRaw:
        case Protocol::kUnknown:
            return make_raw_session(c.info, p, *t.records);
    }
    return make_raw_session(c.info, p, *t.records);
}

void Server::decide(Conn& c, Protocol p, Millis now) {
    c.protocol = p;
    c.session = make_session(p, c);
    const std::uint64_t id = c.info.id;
    Output out;
    c.session->on_open(now, out);
    deliver(c, out);
    if (conns_.find(id) == conns_.end() || c.sniffed.empty())
        return;
    std::string first = std::move(c.sniffed);
    c.sniffed.clear();
    Output more;
    c.session->on_data(first, now, more);
    deliver(c, more);
}

void Server::deliver(Conn& c, Output& out) {
    if (!out.data.empty())
        c.sock->write(out.data.data(), static_cast<qint64>(out.data.size()));
    if (c.sock->bytesToWrite() > static_cast<qint64>(cfg_.limits.max_output)) {
        ++limit_closed_;
        close_conn(c.info.id);
        return;
    }
    if (out.close) {
        // Flushes what is queued, then closes; `disconnected` then removes the connection.
        c.sock->disconnectFromHost();
    }
}

void Server::close_conn(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end())
        return;
    std::unique_ptr<Conn> c = std::move(it->second);
    conns_.erase(it);
    if (!c->session) {
        // Closed before its protocol was known: still a connection the guest made.
        Classification k = classify_client(c->sniffed, c->info.original.port, true);
        c->session = make_session(k.protocol == Protocol::kUnknown ? Protocol::kRaw : k.protocol,
                                  *c);
        Output ignored;
        if (!c->sniffed.empty())
            c->session->on_data(c->sniffed, now_ms(), ignored);
    }
    if (c->session)
        c->session->on_close(now_ms());
    if (auto pc = per_client_.find(c->info.client.ip); pc != per_client_.end()) {
        if (--pc->second == 0)
            per_client_.erase(pc);
    }
    QObject::disconnect(c->sock, nullptr, nullptr, nullptr);
    c->sock->abort();
    c->sock->deleteLater();
}

// --- UDP ------------------------------------------------------------------------------------

void Server::send_datagram(const Endpoint& to, const std::string& payload) {
    udp_.writeDatagram(payload.data(), static_cast<qint64>(payload.size()), QHostAddress(to.ip),
                       to.port);
}

void Server::on_datagrams() {
    const Endpoint local{cfg_.listen, cfg_.udp_port};
    for (std::size_t n = 0; n < cfg_.limits.max_datagrams_per_wakeup && udp_.hasPendingDatagrams();
         ++n) {
        QNetworkDatagram d = udp_.receiveDatagram(65536);
        if (!d.isValid())
            break;
        ++datagrams_;
        Endpoint client{to_ipv4(d.senderAddress()), static_cast<std::uint16_t>(d.senderPort())};
        Endpoint original = local;
        if (auto o = conntrack_.original_udp(client, local)) {
            original = *o;
        } else {
            ++conntrack_misses_;
            last_conntrack_error_ = conntrack_.last_error();
        }
        TaskSession& t = task_for(client.ip);
        ++t.datagrams;
        QByteArray bytes = d.data();
        std::span<const std::uint8_t> data(reinterpret_cast<const std::uint8_t*>(bytes.constData()),
                                           static_cast<std::size_t>(bytes.size()));
        const Millis now = now_ms();
        bool dns_port = original.port == 53;
        if (!dns_port) {
            std::vector<TftpSend> sends;
            if (t.tftp->on_datagram(client, original, data, now, sends)) {
                for (const auto& s : sends)
                    send_datagram(s.client, s.payload);
                continue;
            }
        }
        if (dns_port ||
            analysis::dns::check_plausible(data, true) == analysis::dns::Plausibility::kYes) {
            ConnInfo info{0, client, original};
            if (auto reply = answer_dns(data, t.dns, info, "udp", *t.records)) {
                send_datagram(client, *reply);
                continue;
            }
            // Not a query worth an answer (a response, a stub of a header): kept as a datagram.
        }
        record_udp(client, original, data, *t.records);
    }
    if (udp_.hasPendingDatagrams())
        QTimer::singleShot(0, [this] { on_datagrams(); });
}

// --- time -----------------------------------------------------------------------------------

void Server::on_tick() {
    const Millis now = now_ms();
    std::vector<std::uint64_t> ids;
    ids.reserve(conns_.size());
    for (const auto& [id, c] : conns_)
        ids.push_back(id);
    std::uint64_t pending_total = 0;
    for (auto id : ids) {
        auto it = conns_.find(id);
        if (it == conns_.end())
            continue;
        Conn& c = *it->second;
        if (!c.session && now - c.opened >= cfg_.limits.sniff_ms) {
            decide(c, classify_client(c.sniffed, c.info.original.port, true).protocol, now);
            if (conns_.find(id) == conns_.end())
                continue;
        }
        if (c.session) {
            Output out;
            c.session->on_tick(now, out);
            deliver(c, out);
            if (conns_.find(id) == conns_.end())
                continue;
        }
        Millis idle = c.protocol == Protocol::kIrc ? cfg_.limits.irc_idle_ms : cfg_.limits.idle_ms;
        if (now - c.last_active > idle) {
            close_conn(id);
            continue;
        }
        pending_total += static_cast<std::uint64_t>(c.sock->bytesToWrite());
    }
    if (pending_total > cfg_.limits.max_output_total) {
        // The biggest backlogs go first until the total is back under its limit.
        std::vector<std::pair<qint64, std::uint64_t>> by_size;
        for (const auto& [id, c] : conns_)
            by_size.emplace_back(c->sock->bytesToWrite(), id);
        std::sort(by_size.rbegin(), by_size.rend());
        for (const auto& [size, id] : by_size) {
            if (pending_total <= cfg_.limits.max_output_total)
                break;
            pending_total -= static_cast<std::uint64_t>(size);
            ++limit_closed_;
            close_conn(id);
        }
    }
    auto tick_tftp = [this, now](TaskSession& t) {
        std::vector<TftpSend> sends;
        t.tftp->on_tick(now, sends);
        for (const auto& s : sends)
            send_datagram(s.client, s.payload);
    };
    tick_tftp(*nobody_);
    for (auto& [ip, t] : tasks_)
        tick_tftp(*t);
    if (now - last_flush_ >= 1000) {
        last_flush_ = now;
        for (auto& [ip, t] : tasks_)
            t->records->flush();
    }
}

// --- tasks ----------------------------------------------------------------------------------

void Server::close_task_conns(TaskSession* t) {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, c] : conns_)
        if (c->task == t)
            ids.push_back(id);
    for (auto id : ids)
        close_conn(id);
}

Json Server::begin_task(const Json& req) {
    auto err = [](const std::string& m) { return Json{{"ok", false}, {"error", m}}; };
    std::string id = req.value("task", "");
    std::string guest_s = req.value("guest", "");
    std::string dir = req.value("dir", "");
    auto guest = parse_ipv4(guest_s);
    if (id.empty() || id.size() > 64)
        return err("begin: a task id (1..64 characters) is needed");
    if (!guest || !cfg_.sandbox.contains(*guest))
        return err("begin: guest '" + guest_s + "' is not an address of " +
                   cfg_.sandbox.subnet.to_string());
    std::error_code ec;
    if (!dir.empty() && (!fs::path(dir).is_absolute() || !fs::is_directory(dir, ec)))
        return err("begin: '" + dir + "' is not an existing folder given by its absolute path");
    if (tasks_.size() >= cfg_.limits.max_tasks && !tasks_.count(*guest))
        return err("begin: " + std::to_string(tasks_.size()) + " tasks already running");

    auto t = make_task(id, *guest, dir);
    if (req.contains("dns") && req["dns"].is_object()) {
        if (std::string e = add_dns_answers(req["dns"], cfg_.sandbox, t->dns); !e.empty())
            return err("begin: " + e);
    }
    IrcConfig irc;
    irc.sandbox = cfg_.sandbox;
    t->operator_info = nullptr;
    if (req.contains("operator") && req["operator"].is_object()) {
        std::string name = req["operator"].value("name", "operator");
        std::string text = req["operator"].value("text", "");
        // The controller checked it; fakenet checks again what it is about to play.
        auto script = parse_operator_script(text, name, cfg_.sandbox);
        if (!script)
            return err("begin: operator script refused: " + script.error().message);
        t->operator_info = {{"name", name},
                            {"sha256", util::sha256_hex(util::as_bytes(text))},
                            {"steps", script->steps.size()}};
        irc.script = std::move(script.value());
    }
    t->irc = std::make_unique<IrcServer>(std::move(irc), *t->records);
    if (!cfg_.sandbox.is_guest(*guest)) {
        // A guest of another controller's configuration (one fakenet serves every controller
        // of the host): its address must stop being a decoy before it sends anything.
        cfg_.sandbox.guests.push_back(*guest);
        fw_.sandbox.guests.push_back(*guest);
        log_line("guest " + guest_s + " added (task " + id + ")");
    }
    if (auto r = ensure_firewall(); !r)
        return err("begin: " + r.error().message);

    if (auto old = tasks_.find(*guest); old != tasks_.end()) {
        // A controller that died mid-task never ended it: its guest has been reverted since.
        log_line("task " + old->second->id + " on " + guest_s + " replaced by task " + id +
                 " (never ended)");
        close_task_conns(old->second.get());
        tasks_.erase(old);
    }
    // Connections the guest opened before the task began belong to no task: close them.
    std::vector<std::uint64_t> stale;
    for (const auto& [cid, c] : conns_)
        if (c->info.client.ip == *guest)
            stale.push_back(cid);
    for (auto cid : stale)
        close_conn(cid);
    log_line("task " + id + " began on " + guest_s +
             (t->operator_info.is_null() ? std::string(", no operator")
                                         : ", operator " + t->operator_info["name"].get<std::string>()));
    tasks_[*guest] = std::move(t);
    return Json{{"ok", true}, {"tcp_port", cfg_.tcp_port}, {"udp_port", cfg_.udp_port}};
}

Json Server::end_task(const Json& req) {
    std::string id = req.value("task", "");
    // Task ids are per data directory: two controllers can both run a task "3", on different
    // guests. The guest, when given, tells them apart.
    auto guest = parse_ipv4(req.value("guest", ""));
    auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const auto& kv) {
        return kv.second->id == id && (!guest || kv.first == *guest);
    });
    if (it == tasks_.end())
        return Json{{"ok", false}, {"error", "end: no task " + id + " is running"}};
    TaskSession* t = it->second.get();
    close_task_conns(t);
    // Transfers still running end now (and are recorded as incomplete): the guest is gone.
    std::vector<TftpSend> unsent;
    t->tftp->on_tick(now_ms() + kEndOfTime, unsent);
    t->records->flush();
    Json f;
    f["task"] = t->id;
    f["guest"] = format_ipv4(t->guest);
    f["began"] = t->began;
    f["ended"] = iso_now();
    f["operator"] = t->operator_info;
    f["irc_operator"] = t->irc->summary();
    f["connections"] = t->connections;
    f["refused"] = t->refused;
    f["datagrams"] = t->datagrams;
    Json s = t->records->summary();
    for (auto& [k, v] : s.items())
        f[k] = std::move(v);
    log_line("task " + id + " ended: " + std::to_string(t->records->total()) + " records");
    tasks_.erase(it);
    return Json{{"ok", true}, {"fakenet", std::move(f)}};
}

// --- control --------------------------------------------------------------------------------

void Server::on_control_connection() {
    while (QLocalSocket* s = control_.nextPendingConnection()) {
        if (controls_.size() >= kMaxControlClients) {
            s->abort();
            s->deleteLater();
            continue;
        }
        controls_[s] = ControlClient{s, {}};
        QObject::connect(s, &QLocalSocket::readyRead, [this, s] { on_control_read(s); });
        QObject::connect(s, &QLocalSocket::disconnected, [this, s] {
            controls_.erase(s);
            s->deleteLater();
        });
    }
}

void Server::on_control_read(QLocalSocket* s) {
    auto it = controls_.find(s);
    if (it == controls_.end())
        return;
    std::string& buf = it->second.buf;
    QByteArray got = s->readAll();
    buf.append(got.constData(), static_cast<std::size_t>(got.size()));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        Json req = Json::parse(line, nullptr, false);
        Json resp = req.is_object() ? handle(req)
                                    : Json{{"ok", false}, {"error", "a request is a JSON object"}};
        std::string out = dump(resp) + "\n";
        s->write(out.data(), static_cast<qint64>(out.size()));
        s->flush();
        if (req.is_object() && req.value("op", "") == "stop")
            stop_soon();
    }
    if (buf.size() > kMaxControlLine) {
        std::string out = dump(Json{{"ok", false}, {"error", "request too long"}}) + "\n";
        s->write(out.data(), static_cast<qint64>(out.size()));
        s->disconnectFromServer();
    }
}

Json Server::handle(const Json& req) {
    std::string op = req.value("op", "");
    if (op == "status")
        return status();
    if (op == "begin")
        return begin_task(req);
    if (op == "end")
        return end_task(req);
    if (op == "stop") {
        log_line("stop requested");
        return Json{{"ok", true}};
    }
    return Json{{"ok", false}, {"error", "unknown op '" + op + "'"}};
}

Json Server::status() const {
    Json s;
    s["ok"] = true;
    s["pid"] = ::getpid();
    s["version"] = BOTSCOPE_VERSION;
    s["started"] = started_;
    s["subnet"] = cfg_.sandbox.subnet.to_string();
    s["listen"] = format_ipv4(cfg_.listen);
    s["tcp_port"] = cfg_.tcp_port;
    s["udp_port"] = cfg_.udp_port;
    Json fw = {{"enabled", cfg_.firewall}, {"bridge", cfg_.bridge}};
    if (cfg_.firewall) {
        fw["present"] = firewall_present(cfg_.bridge);
        if (auto c = firewall_counters(cfg_.bridge)) {
            fw["redirected"] = c->redirected;
            fw["dropped_in"] = c->dropped_in;
            fw["forwarded"] = c->forwarded;
        }
        std::size_t decoys = 0;
        if (auto a = interface_addresses(cfg_.bridge))
            for (const auto& [ip, prefix] : a.value())
                decoys += prefix == 32 && ip != cfg_.sandbox.host && cfg_.sandbox.contains(ip);
        fw["decoys"] = decoys;
    }
    s["firewall"] = fw;
    s["connections"] = {{"open", conns_.size()},
                        {"total", total_conns_},
                        {"refused", refused_},
                        {"closed_by_limit", limit_closed_}};
    s["datagrams"] = datagrams_;
    s["conntrack_misses"] = conntrack_misses_;
    if (!last_conntrack_error_.empty())
        s["conntrack_last_error"] = last_conntrack_error_;
    Json tasks = Json::array();
    for (const auto& [ip, t] : tasks_)
        tasks.push_back({{"task", t->id},
                         {"guest", format_ipv4(ip)},
                         {"began", t->began},
                         {"records", t->records->total()}});
    s["tasks"] = tasks;
    s["unattributed_records"] = nobody_->records->total();
    s["rss_kb"] = rss_kb();
    return s;
}

/// Holds the instance lock for the process's life: a second `fakenet run` for the same control
/// socket is refused, and a dead one's stale socket can be removed safely.
util::Result<int> take_lock(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return util::Error{"lock", "cannot open " + path.string() + ": " + std::strerror(errno)};
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        std::string pid = n > 0 ? std::string(util::trim(std::string_view(buf, static_cast<std::size_t>(n)))) : "?";
        return util::Error{"running", "fakenet is already running (pid " + pid + ", lock " +
                                          path.string() + ")"};
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        // The pid is a courtesy for messages; the lock is what counts.
    }
    return fd;
}

void raise_fd_limit() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < 8192) {
        r.rlim_cur = std::min<rlim_t>(r.rlim_max, 8192);
        ::setrlimit(RLIMIT_NOFILE, &r);
    }
}

}  // namespace

util::Result<util::Done> run_service(const ServiceConfig& config) {
    auto lock = take_lock(config.lock);
    if (!lock)
        return lock.error();
    raise_fd_limit();
    // Signals arrive as readable bytes, in the event loop, not in a handler.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    int argc = 1;
    char arg0[] = "botscope-fakenet";
    char* argv[] = {arg0, nullptr};
    QCoreApplication app(argc, argv);
    Server server(config);
    if (auto r = server.start(); !r) {
        ::close(lock.value());
        if (sfd >= 0)
            ::close(sfd);
        return r.error();
    }
    std::unique_ptr<QSocketNotifier> sig;
    if (sfd >= 0) {
        sig = std::make_unique<QSocketNotifier>(sfd, QSocketNotifier::Read);
        QObject::connect(sig.get(), &QSocketNotifier::activated, [sfd, &server] {
            signalfd_siginfo si{};
            if (::read(sfd, &si, sizeof si) == sizeof si)
                log_line(std::string("signal ") + ::strsignal(static_cast<int>(si.ssi_signo)) +
                         ": stopping");
            server.stop_soon();
        });
    }
    QCoreApplication::exec();
    server.shutdown();
    log_line("stopped");
    sig.reset();
    if (sfd >= 0)
        ::close(sfd);
    ::close(lock.value());
    return util::Done{};
}

}  // namespace botscope::fakenet
