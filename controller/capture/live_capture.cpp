#include "capture/live_capture.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <thread>

namespace botscope::capture {

namespace {

using Clock = std::chrono::steady_clock;

/// Size of the pcap file header and of each record header (pcap_dump writes 32-bit timestamps).
constexpr std::uint64_t kFileHeaderBytes = 24;
constexpr std::uint64_t kRecordHeaderBytes = 16;
/// libpcap's largest snapshot length (MAXIMUM_SNAPLEN); larger values are clamped by libpcap.
constexpr int kMaxSnaplen = 262144;
/// Packets handled per pcap_dispatch call, so that a flood cannot keep the thread from seeing
/// the stop request.
constexpr int kDispatchBatch = 4096;
/// Safety net for the poll: libpcap may need a periodic read even without a wake-up.
constexpr int kPollMs = 100;
/// How long stop() keeps reading what the kernel still holds under continuous traffic.
constexpr auto kDrainLimit = std::chrono::milliseconds(500);
constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};
struct DumperCloser {
    void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};

class UniqueFd {
public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    ~UniqueFd() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return fd_; }
    void reset(int fd) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

std::string errno_text(int e) {
    return std::strerror(e);
}

Error activate_error(const std::string& interface, pcap_t* p, int rc) {
    std::string code;
    switch (rc) {
        case PCAP_ERROR_NO_SUCH_DEVICE:
            code = "no_device";
            break;
        case PCAP_ERROR_PERM_DENIED:
        case PCAP_ERROR_PROMISC_PERM_DENIED:
            code = "permission";
            break;
        case PCAP_ERROR_IFACE_NOT_UP:
            code = "interface_down";
            break;
        default:
            code = "pcap";
            break;
    }
    std::string detail = pcap_geterr(p);
    std::string message = "cannot capture on interface '" + interface +
                          "': " + pcap_statustostr(rc) +
                          (detail.empty() ? "" : " (" + detail + ")");
    if (code == "no_device")
        message += "; check the name with `ip link` (a VM's tap changes with every revert)";
    else if (code == "permission")
        message += "; capturing needs root or CAP_NET_RAW";
    return Error{code, message};
}

}  // namespace

struct LiveCapture::Impl {
    std::string interface;
    std::filesystem::path out;
    std::uint64_t max_bytes = 0;
    bool immediate = false;
    // The dumper is declared after the pcap handle so that it is closed first.
    std::unique_ptr<pcap_t, PcapCloser> pcap;
    std::unique_ptr<pcap_dumper_t, DumperCloser> dumper;
    UniqueFd wake;  // eventfd: stop() writes to it so that the thread's poll() returns at once
    int pcap_fd = -1;
    Clock::time_point started;
    std::thread thread;
    // Written by the capture thread only, read by stop() after the join.
    Stats stats;
    bool cap_reached = false;
    std::optional<Result<Stats>> result;

    static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes);
    void run() noexcept;
    void loop();
};

void LiveCapture::Impl::on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    // Called from pcap_dispatch on the capture thread: no allocation, nothing that throws.
    auto* self = reinterpret_cast<Impl*>(user);
    if (!self->cap_reached) {
        std::uint64_t need = kRecordHeaderBytes + h->caplen;
        // stats.bytes <= max_bytes always holds, so the subtraction cannot wrap.
        if (need <= self->max_bytes - self->stats.bytes) {
            pcap_dump(reinterpret_cast<u_char*>(self->dumper.get()), h, bytes);
            self->stats.bytes += need;
            ++self->stats.packets;
            return;
        }
        // Stop writing for good rather than fit smaller packets later: a file with holes in
        // it would mislead the flow and timing analysis.
        self->cap_reached = true;
        self->stats.truncated = true;
    }
    ++self->stats.packets_over_cap;
}

void LiveCapture::Impl::run() noexcept {
    // Nothing may escape a std::thread; an allocation failure ends the capture early instead.
    try {
        loop();
    } catch (...) {
        stats.ended_early = "internal error in the capture thread";
    }
}

void LiveCapture::Impl::loop() {
    pollfd fds[2] = {{pcap_fd, POLLIN, 0}, {wake.get(), POLLIN, 0}};
    for (;;) {
        int r = ::poll(fds, 2, kPollMs);
        if (r < 0 && errno != EINTR) {
            stats.ended_early = "poll on the capture socket failed: " + errno_text(errno);
            return;
        }
        bool stopping = r > 0 && (fds[1].revents & POLLIN);
        int n =
            pcap_dispatch(pcap.get(), kDispatchBatch, on_packet, reinterpret_cast<u_char*>(this));
        if (n < 0) {
            stats.ended_early = std::string("reading interface '") + interface +
                                "' failed: " + pcap_geterr(pcap.get());
            return;
        }
        if (stopping)
            break;
        // A socket error that libpcap does not turn into a read error would make poll()
        // return at once forever: end rather than spin.
        if (n == 0 && r > 0 && (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
            stats.ended_early =
                "the capture socket of interface '" + interface + "' reported an error or hang-up";
            return;
        }
    }
    // Drain. Everything that reached the interface before stop() is in the kernel buffer, but
    // in block mode the last, partly filled block is handed over only by the kernel's retire
    // timer, which closes a block that has been open for one to two timeouts: wait for that
    // (quiet periods cost only this wait), yet never longer than kDrainLimit under traffic.
    auto now = Clock::now();
    auto settled = now + std::chrono::milliseconds(immediate ? 0 : 3 * kBlockTimeoutMs);
    auto limit = now + kDrainLimit;
    pollfd pfd{pcap_fd, POLLIN, 0};
    while ((now = Clock::now()) < limit) {
        int n =
            pcap_dispatch(pcap.get(), kDispatchBatch, on_packet, reinterpret_cast<u_char*>(this));
        if (n < 0) {
            stats.ended_early = std::string("reading interface '") + interface +
                                "' failed: " + pcap_geterr(pcap.get());
            break;
        }
        if (n > 0)
            continue;
        if (now >= settled)
            break;
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(settled - now);
        ::poll(&pfd, 1, static_cast<int>(wait.count()) + 1);
    }
}

LiveCapture::LiveCapture(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LiveCapture::LiveCapture(LiveCapture&&) noexcept = default;

LiveCapture& LiveCapture::operator=(LiveCapture&& o) noexcept {
    if (this != &o) {
        if (impl_)
            (void)stop();
        impl_ = std::move(o.impl_);
    }
    return *this;
}

LiveCapture::~LiveCapture() {
    if (impl_)
        (void)stop();
}

Result<LiveCapture> LiveCapture::start(const std::string& interface,
                                       const std::filesystem::path& out, Options options) {
    if (auto name = check_interface_name(interface); !name)
        return name.error();
    if (options.max_bytes < kFileHeaderBytes)
        return Error{"bad_options", "capture on '" + interface + "': max_bytes " +
                                        std::to_string(options.max_bytes) +
                                        " is smaller than the 24-byte pcap file header"};
    if (options.snaplen < 1 || options.snaplen > kMaxSnaplen)
        return Error{"bad_options", "capture on '" + interface + "': snaplen " +
                                        std::to_string(options.snaplen) + " is not in 1.." +
                                        std::to_string(kMaxSnaplen)};
    if (options.buffer_bytes < 1)
        return Error{"bad_options", "capture on '" + interface + "': buffer_bytes " +
                                        std::to_string(options.buffer_bytes) + " must be positive"};

    // pcap_dump_open takes "-" for standard output; a capture file must be a real file.
    if (out.empty() || out == "-")
        return Error{"bad_options", "capture on '" + interface + "': no output file given"};

    auto impl = std::make_unique<Impl>();
    impl->interface = interface;
    impl->out = out;
    impl->max_bytes = options.max_bytes;
    impl->immediate = options.immediate;

    char err[PCAP_ERRBUF_SIZE] = "";
    impl->pcap.reset(pcap_create(interface.c_str(), err));
    if (!impl->pcap)
        return Error{"pcap", "cannot capture on interface '" + interface + "': " + err};
    pcap_t* p = impl->pcap.get();
    // Setters only fail on an already activated handle, which this one is not.
    pcap_set_snaplen(p, options.snaplen);
    pcap_set_promisc(p, 0);
    pcap_set_immediate_mode(p, options.immediate ? 1 : 0);
    pcap_set_buffer_size(p, options.buffer_bytes);
    pcap_set_timeout(p, kBlockTimeoutMs);
    if (int rc = pcap_activate(p); rc < 0)
        return activate_error(interface, p, rc);
    // Warnings (rc > 0) such as "promiscuous mode not supported" do not matter: promisc is off.

    if (!options.filter.empty()) {
        bpf_program prog{};
        if (pcap_compile(p, &prog, options.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
            return Error{"bad_filter", "capture filter '" + options.filter + "' for interface '" +
                                           interface + "' does not compile: " + pcap_geterr(p)};
        int rc = pcap_setfilter(p, &prog);
        pcap_freecode(&prog);
        if (rc != 0)
            return Error{"bad_filter", "cannot set capture filter '" + options.filter +
                                           "' on interface '" + interface + "': " + pcap_geterr(p)};
    }
    if (pcap_setnonblock(p, 1, err) != 0)
        return Error{"pcap", "cannot make the capture on '" + interface + "' non-blocking: " + err};
    impl->pcap_fd = pcap_get_selectable_fd(p);
    if (impl->pcap_fd < 0)
        return Error{"pcap", "interface '" + interface + "' has no pollable capture descriptor"};
    impl->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (impl->wake.get() < 0)
        return Error{"system",
                     "eventfd for the capture on '" + interface + "': " + errno_text(errno)};

    impl->dumper.reset(pcap_dump_open(p, out.c_str()));
    if (!impl->dumper)
        return Error{"io_error", "cannot create capture file " + out.string() + " for interface '" +
                                     interface + "': " + pcap_geterr(p)};
    impl->stats.bytes = kFileHeaderBytes;
    impl->started = Clock::now();
    // The socket is bound and filtered since pcap_activate/pcap_setfilter: from here on the
    // kernel queues every matching packet, whether or not the thread is reading yet.
    try {
        impl->thread = std::thread([raw = impl.get()] { raw->run(); });
    } catch (const std::system_error& e) {
        impl->dumper.reset();
        std::error_code ec;
        std::filesystem::remove(out, ec);
        return Error{"system", "cannot start the capture thread for interface '" + interface +
                                   "': " + e.what()};
    }
    return LiveCapture(std::move(impl));
}

Result<Stats> LiveCapture::stop() {
    if (!impl_)
        return Error{"not_started", "stop() on a capture that was moved from"};
    Impl& s = *impl_;
    if (s.result)
        return *s.result;

    std::uint64_t one = 1;
    // A full eventfd counter (EAGAIN) still wakes the poll, so the result needs no check.
    [[maybe_unused]] auto w = ::write(s.wake.get(), &one, sizeof one);
    if (s.thread.joinable())
        s.thread.join();

    Stats st = s.stats;
    st.seconds = std::chrono::duration<double>(Clock::now() - s.started).count();
    pcap_stat ps{};
    if (pcap_stats(s.pcap.get(), &ps) == 0) {
        st.kernel_drops = ps.ps_drop;
        st.interface_drops = ps.ps_ifdrop;
    }

    FILE* f = pcap_dump_file(s.dumper.get());
    bool write_failed = pcap_dump_flush(s.dumper.get()) != 0 || std::ferror(f) != 0;
    s.dumper.reset();
    s.pcap.reset();
    std::error_code ec;
    auto size = std::filesystem::file_size(s.out, ec);
    if (write_failed || ec || size != st.bytes) {
        std::string what =
            ec ? ec.message()
               : "wrote " + std::to_string(size) + " of " + std::to_string(st.bytes) + " bytes";
        s.result = Result<Stats>(
            Error{"io_error", "capture file " + s.out.string() + " of interface '" + s.interface +
                                  "' is incomplete (" + what + "); is the disk full?"});
    } else {
        s.result = Result<Stats>(std::move(st));
    }
    return *s.result;
}

Result<Done> check_interface_name(const std::string& interface) {
    bool ok = !interface.empty() && interface.size() <= kMaxInterfaceName && interface != "." &&
              interface != ".." && interface != "all" && interface != "default";
    for (char c : interface) {
        bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
        ok = ok && allowed;
    }
    if (!ok)
        return Error{"bad_interface",
                     "'" + interface +
                         "' is not a usable interface name (1 to 15 of A-Z a-z 0-9 . _ -, "
                         "not '.', '..', 'all' or 'default')"};
    return Done{};
}

Result<Done> disable_ipv6(const std::string& interface) {
    if (auto name = check_interface_name(interface); !name)
        return name.error();
    std::string path = "/proc/sys/net/ipv6/conf/" + interface + "/disable_ipv6";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        int e = errno;
        if (e == ENOENT)
            return Error{"no_device", "cannot turn off IPv6 on '" + interface + "': " + path +
                                          " does not exist (no such interface in this network "
                                          "namespace, or IPv6 is disabled on the host)"};
        if (e == EACCES || e == EPERM || e == EROFS)
            return Error{"permission", "cannot turn off IPv6 on '" + interface + "': " + path +
                                           ": " + errno_text(e) +
                                           " (needs root and a writable /proc/sys)"};
        return Error{"io_error", "cannot open " + path + ": " + errno_text(e)};
    }
    if (::write(fd.get(), "1\n", 2) != 2)
        return Error{"io_error", "cannot write 1 to " + path + ": " + errno_text(errno)};
    return Done{};
}

}  // namespace botscope::capture
