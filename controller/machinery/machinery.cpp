#include "machinery/machinery.h"

// The _LAST enumerators let the state switches below be exhaustive without `default`, and
// out-of-range values from a newer daemon be caught before they are cast to an enum.
#define VIR_ENUM_SENTINELS
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <QString>
#include <QXmlStreamWriter>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "machinery/domain_xml.h"

namespace botscope::machinery {

namespace detail {

// Why a connection can no longer be used. Shared with libvirt's close callback, which may fire on
// the event loop thread after the Hypervisor is gone, so it lives on its own.
struct Death {
    mutable std::mutex m;
    bool dead = false;
    std::string reason;

    void mark(std::string why) {
        std::lock_guard lock(m);
        if (!dead) {
            dead = true;
            reason = std::move(why);
        }
    }
    bool is_dead() const {
        std::lock_guard lock(m);
        return dead;
    }
    std::string why() const {
        std::lock_guard lock(m);
        return reason;
    }
};

namespace {

// Runs on libvirt's event loop thread: no exception may leave it.
void on_close(virConnectPtr, int reason, void* opaque) noexcept {
    try {
        auto& death = *static_cast<std::shared_ptr<Death>*>(opaque);
        std::string why;
        if (reason >= 0 && reason <= VIR_CONNECT_CLOSE_REASON_CLIENT) {
            switch (static_cast<virConnectCloseReason>(reason)) {
                case VIR_CONNECT_CLOSE_REASON_ERROR:
                    why = "the connection failed with an I/O error";
                    break;
                case VIR_CONNECT_CLOSE_REASON_EOF:
                    why = "the daemon closed the connection";
                    break;
                case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
                    why = "the daemon stopped answering keepalive messages";
                    break;
                case VIR_CONNECT_CLOSE_REASON_CLIENT:
                    why = "the connection was closed by this process";
                    break;
                case VIR_CONNECT_CLOSE_REASON_LAST:
                    break;
            }
        }
        if (why.empty())
            why = "the connection was closed (reason " + std::to_string(reason) + ")";
        death->mark(std::move(why));
    } catch (...) {
        // Out of memory while composing a message: nothing better to do on this thread.
    }
}

}  // namespace

// Owns one reference to a virConnect. Workers hold it through shared_ptr, so a worker abandoned
// after a deadline still has a valid connection when libvirt finally returns.
struct ConnBox {
    virConnectPtr p = nullptr;
    // The close callback's argument. Owned here, not through libvirt's free callback: drivers
    // without close callbacks (test:///) accept the registration and never call that.
    std::unique_ptr<std::shared_ptr<Death>> close_opaque;

    ConnBox() = default;
    ConnBox(const ConnBox&) = delete;
    ConnBox& operator=(const ConnBox&) = delete;
    ~ConnBox() {
        if (!p)
            return;
        // The registered callback holds a reference to the connection: unregister first, or
        // the connection is never freed. libvirt runs and unregisters the callback under one
        // lock, so once this returns (even with "a different callback": it already fired) the
        // callback is not running and will not run; close_opaque is freed after this body.
        if (close_opaque)
            virConnectUnregisterCloseCallback(p, on_close);
        virConnectClose(p);
    }
};

struct Connection {
    std::string uri;
    Options options;
    std::shared_ptr<ConnBox> conn;
    std::shared_ptr<Death> death = std::make_shared<Death>();
};

}  // namespace detail

namespace {

using detail::Connection;
using util::Done;
using util::Error;
using util::Result;
using DomainPtr = std::shared_ptr<virDomain>;
using SnapshotPtr = std::shared_ptr<virDomainSnapshot>;

std::atomic<std::size_t> g_in_flight{0};

void quiet(void*, virErrorPtr) {}  // libvirt would print every error to stderr otherwise

std::string quoted(const std::string& s) {
    return "'" + s + "'";
}

std::string seconds(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0)
        return std::to_string(d.count() / 1000) + " s";
    return std::to_string(d.count()) + " ms";
}

// libvirt's error of the failed call; read on the thread that made it (it is thread-local).
struct LvError {
    int code = VIR_ERR_OK;
    int int1 = 0;
    std::string message;
};

LvError last_error() {
    LvError out;
    virErrorPtr e = virGetLastError();
    if (e) {
        out.code = e->code;
        out.int1 = e->int1;
        if (e->message)
            out.message = e->message;
    }
    if (out.message.empty())
        out.message = "libvirt gave no error message";
    return out;
}

// The error of a failed libvirt call `fn` on `on` ("'dom'"): a stable code from libvirt's code,
// and "connect" when the failure was the connection going away.
Error fail(const Connection& c, const char* fn, const std::string& on) {
    LvError e = last_error();
    std::string what = std::string(fn) + " on " + on + " failed: " + e.message;
    switch (e.code) {
        case VIR_ERR_NO_DOMAIN:
            return Error{"no_domain", what};
        case VIR_ERR_NO_DOMAIN_SNAPSHOT:
            return Error{"no_snapshot", what};
        case VIR_ERR_OPERATION_INVALID:
            return Error{"bad_state", what};
        default:
            break;  // libvirt has ~100 codes; the rest are told apart by the connection's state
    }
    if (c.conn && virConnectIsAlive(c.conn->p) == 0) {
        c.death->mark("the connection to " + c.uri + " broke during " + fn);
        return Error{"connect",
                     what + " (the connection to " + c.uri + " is closed: connect again)"};
    }
    return Error{"libvirt", what};
}

// State of one call on a worker thread; shared by the caller and the worker, so whichever
// leaves last frees it.
template <class T>
struct Pending {
    std::mutex m;
    std::condition_variable cv;
    std::optional<Result<T>> result;
    bool abandoned = false;  // the caller's deadline expired; nobody will take the result
};

// Runs `work` on a detached worker thread and waits up to `timeout`. On expiry the worker is
// abandoned: it owns (through its captures) everything it touches, and marks `death` so the
// connection is not used again. `call` names the libvirt function and its object for messages.
template <class T, class F>
Result<T> with_deadline(std::chrono::milliseconds timeout,
                        const std::shared_ptr<detail::Death>& death, const std::string& uri,
                        const std::string& call, F work) {
    auto pending = std::make_shared<Pending<T>>();
    g_in_flight.fetch_add(1);
    try {
        std::thread([pending_capture = pending, work_capture = std::move(work)]() mutable {
            auto p = std::move(pending_capture);
            std::optional<Result<T>> r;
            {
                // Moved into a local so that its captures (the connection, domain handles) are
                // released before the in-flight count drops.
                auto w = std::move(work_capture);
                try {
                    r.emplace(w());
                } catch (const std::exception& e) {
                    r.emplace(Error{"libvirt", "unexpected failure in a libvirt call: " +
                                                   std::string(e.what())});
                } catch (...) {
                    r.emplace(Error{"libvirt", "unexpected failure in a libvirt call"});
                }
            }
            std::unique_lock lock(p->m);
            if (p->abandoned) {
                lock.unlock();
                r.reset();  // e.g. a connection that opened too late: closed here
                g_in_flight.fetch_sub(1);
                return;
            }
            // Counted down before the caller can see the result, so the count is exact for it.
            g_in_flight.fetch_sub(1);
            p->result = std::move(r);
            lock.unlock();
            p->cv.notify_all();
        }).detach();
    } catch (const std::system_error& e) {
        g_in_flight.fetch_sub(1);
        return Error{"libvirt", "cannot start a worker thread for " + call + ": " + e.what()};
    }
    std::unique_lock lock(pending->m);
    if (!pending->cv.wait_for(lock, timeout, [&] { return pending->result.has_value(); })) {
        pending->abandoned = true;
        std::string msg = "libvirt did not answer " + call + " within " + seconds(timeout);
        if (death)
            death->mark(msg);
        return Error{"timeout", msg + "; the connection to " + uri +
                                    " is no longer used: connect again (is libvirtd hung?)"};
    }
    return std::move(*pending->result);
}

Error dead_error(const Connection& c) {
    return Error{"connect", "the libvirt connection to " + c.uri + " is dead (" + c.death->why() +
                                "): connect again"};
}

// One libvirt call on the connection, under the connection's deadline. `work` gets the
// Connection and runs on a worker thread; it must capture by value.
template <class T, class F>
Result<T> call(const std::shared_ptr<Connection>& c, const char* fn, const std::string& on,
               F work) {
    if (!c)
        return Error{"connect", "this Hypervisor was moved from; use the one it was moved to"};
    if (c->death->is_dead())
        return dead_error(*c);
    return with_deadline<T>(c->options.call_timeout, c->death, c->uri,
                            std::string(fn) + " on " + on,
                            [c, work = std::move(work)]() { return work(*c); });
}

// --- states ---------------------------------------------------------------------------------

const char* state_name(int s) {
    if (s < 0 || s >= VIR_DOMAIN_LAST)
        return "unknown";
    switch (static_cast<virDomainState>(s)) {
        case VIR_DOMAIN_NOSTATE:
            return "nostate";
        case VIR_DOMAIN_RUNNING:
            return "running";
        case VIR_DOMAIN_BLOCKED:
            return "blocked";
        case VIR_DOMAIN_PAUSED:
            return "paused";
        case VIR_DOMAIN_SHUTDOWN:
            return "shutdown";
        case VIR_DOMAIN_SHUTOFF:
            return "shutoff";
        case VIR_DOMAIN_CRASHED:
            return "crashed";
        case VIR_DOMAIN_PMSUSPENDED:
            return "pmsuspended";
        case VIR_DOMAIN_LAST:
            break;
    }
    return "unknown";
}

// Reason strings as virsh prints them (`virsh domstate --reason`).
const char* running_reason(int r) {
    if (r < 0 || r >= VIR_DOMAIN_RUNNING_LAST)
        return "unknown";
    switch (static_cast<virDomainRunningReason>(r)) {
        case VIR_DOMAIN_RUNNING_UNKNOWN:
            return "unknown";
        case VIR_DOMAIN_RUNNING_BOOTED:
            return "booted";
        case VIR_DOMAIN_RUNNING_MIGRATED:
            return "migrated";
        case VIR_DOMAIN_RUNNING_RESTORED:
            return "restored";
        case VIR_DOMAIN_RUNNING_FROM_SNAPSHOT:
            return "from snapshot";
        case VIR_DOMAIN_RUNNING_UNPAUSED:
            return "unpaused";
        case VIR_DOMAIN_RUNNING_MIGRATION_CANCELED:
            return "migration canceled";
        case VIR_DOMAIN_RUNNING_SAVE_CANCELED:
            return "save canceled";
        case VIR_DOMAIN_RUNNING_WAKEUP:
            return "event wakeup";
        case VIR_DOMAIN_RUNNING_CRASHED:
            return "crashed";
        case VIR_DOMAIN_RUNNING_POSTCOPY:
            return "post-copy";
        case VIR_DOMAIN_RUNNING_POSTCOPY_FAILED:
            return "post-copy failed";
        case VIR_DOMAIN_RUNNING_LAST:
            break;
    }
    return "unknown";
}

const char* paused_reason(int r) {
    if (r < 0 || r >= VIR_DOMAIN_PAUSED_LAST)
        return "unknown";
    switch (static_cast<virDomainPausedReason>(r)) {
        case VIR_DOMAIN_PAUSED_UNKNOWN:
            return "unknown";
        case VIR_DOMAIN_PAUSED_USER:
            return "user";
        case VIR_DOMAIN_PAUSED_MIGRATION:
            return "migrating";
        case VIR_DOMAIN_PAUSED_SAVE:
            return "saving";
        case VIR_DOMAIN_PAUSED_DUMP:
            return "dumping";
        case VIR_DOMAIN_PAUSED_IOERROR:
            return "I/O error";
        case VIR_DOMAIN_PAUSED_WATCHDOG:
            return "watchdog";
        case VIR_DOMAIN_PAUSED_FROM_SNAPSHOT:
            return "from snapshot";
        case VIR_DOMAIN_PAUSED_SHUTTING_DOWN:
            return "shutting down";
        case VIR_DOMAIN_PAUSED_SNAPSHOT:
            return "creating snapshot";
        case VIR_DOMAIN_PAUSED_CRASHED:
            return "crashed";
        case VIR_DOMAIN_PAUSED_STARTING_UP:
            return "starting up";
        case VIR_DOMAIN_PAUSED_POSTCOPY:
            return "post-copy";
        case VIR_DOMAIN_PAUSED_POSTCOPY_FAILED:
            return "post-copy failed";
        case VIR_DOMAIN_PAUSED_LAST:
            break;
    }
    return "unknown";
}

const char* shutdown_reason(int r) {
    if (r < 0 || r >= VIR_DOMAIN_SHUTDOWN_LAST)
        return "unknown";
    switch (static_cast<virDomainShutdownReason>(r)) {
        case VIR_DOMAIN_SHUTDOWN_UNKNOWN:
            return "unknown";
        case VIR_DOMAIN_SHUTDOWN_USER:
            return "user";
        case VIR_DOMAIN_SHUTDOWN_LAST:
            break;
    }
    return "unknown";
}

const char* shutoff_reason(int r) {
    if (r < 0 || r >= VIR_DOMAIN_SHUTOFF_LAST)
        return "unknown";
    switch (static_cast<virDomainShutoffReason>(r)) {
        case VIR_DOMAIN_SHUTOFF_UNKNOWN:
            return "unknown";
        case VIR_DOMAIN_SHUTOFF_SHUTDOWN:
            return "shutdown";
        case VIR_DOMAIN_SHUTOFF_DESTROYED:
            return "destroyed";
        case VIR_DOMAIN_SHUTOFF_CRASHED:
            return "crashed";
        case VIR_DOMAIN_SHUTOFF_MIGRATED:
            return "migrated";
        case VIR_DOMAIN_SHUTOFF_SAVED:
            return "saved";
        case VIR_DOMAIN_SHUTOFF_FAILED:
            return "failed";
        case VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT:
            return "from snapshot";
        case VIR_DOMAIN_SHUTOFF_DAEMON:
            return "daemon";
        case VIR_DOMAIN_SHUTOFF_LAST:
            break;
    }
    return "unknown";
}

const char* crashed_reason(int r) {
    if (r < 0 || r >= VIR_DOMAIN_CRASHED_LAST)
        return "unknown";
    switch (static_cast<virDomainCrashedReason>(r)) {
        case VIR_DOMAIN_CRASHED_UNKNOWN:
            return "unknown";
        case VIR_DOMAIN_CRASHED_PANICKED:
            return "panicked";
        case VIR_DOMAIN_CRASHED_LAST:
            break;
    }
    return "unknown";
}

DomainState describe(int s, int r) {
    DomainState out{state_name(s), "unknown"};
    if (s < 0 || s >= VIR_DOMAIN_LAST)
        return out;
    switch (static_cast<virDomainState>(s)) {
        case VIR_DOMAIN_RUNNING:
            out.reason = running_reason(r);
            break;
        case VIR_DOMAIN_PAUSED:
            out.reason = paused_reason(r);
            break;
        case VIR_DOMAIN_SHUTDOWN:
            out.reason = shutdown_reason(r);
            break;
        case VIR_DOMAIN_SHUTOFF:
            out.reason = shutoff_reason(r);
            break;
        case VIR_DOMAIN_CRASHED:
            out.reason = crashed_reason(r);
            break;
        // These have only an "unknown" reason in libvirt 9.0.
        case VIR_DOMAIN_NOSTATE:
        case VIR_DOMAIN_BLOCKED:
        case VIR_DOMAIN_PMSUSPENDED:
        case VIR_DOMAIN_LAST:
            break;
    }
    return out;
}

// --- single calls -----------------------------------------------------------------------------

Result<DomainPtr> lookup_domain(const std::shared_ptr<Connection>& c, const std::string& name) {
    return call<DomainPtr>(c, "virDomainLookupByName", quoted(name),
                           [name](Connection& c) -> Result<DomainPtr> {
                               virDomainPtr d = virDomainLookupByName(c.conn->p, name.c_str());
                               if (!d) {
                                   std::string libvirt_says = last_error().message;
                                   Error e = fail(c, "virDomainLookupByName", quoted(name));
                                   if (e.code == "no_domain")
                                       e.message = "no domain " + quoted(name) + " at " + c.uri +
                                                   " (libvirt: " + libvirt_says + ")";
                                   return e;
                               }
                               return DomainPtr(d, virDomainFree);
                           });
}

Result<DomainState> get_state(const std::shared_ptr<Connection>& c, const DomainPtr& d,
                              const std::string& name) {
    return call<DomainState>(c, "virDomainGetState", quoted(name),
                             [d, name](Connection& c) -> Result<DomainState> {
                                 int s = 0, r = 0;
                                 if (virDomainGetState(d.get(), &s, &r, 0) < 0)
                                     return fail(c, "virDomainGetState", quoted(name));
                                 return describe(s, r);
                             });
}

Result<DomainState> lookup_state(const std::shared_ptr<Connection>& c, const std::string& name) {
    auto d = lookup_domain(c, name);
    if (!d)
        return d.error();
    return get_state(c, d.value(), name);
}

std::string snap_on(const std::string& domain, const std::string& snap) {
    return "snapshot " + quoted(snap) + " of " + quoted(domain);
}

Result<SnapshotPtr> lookup_snapshot(const std::shared_ptr<Connection>& c, const DomainPtr& d,
                                    const std::string& domain, const std::string& snap) {
    std::string on = snap_on(domain, snap);
    return call<SnapshotPtr>(
        c, "virDomainSnapshotLookupByName", on,
        [d, domain, snap, on](Connection& c) -> Result<SnapshotPtr> {
            virDomainSnapshotPtr s = virDomainSnapshotLookupByName(d.get(), snap.c_str(), 0);
            if (!s) {
                std::string libvirt_says = last_error().message;
                Error e = fail(c, "virDomainSnapshotLookupByName", on);
                if (e.code == "no_snapshot")
                    e.message = "domain " + quoted(domain) + " has no snapshot " + quoted(snap) +
                                " (libvirt: " + libvirt_says + ")";
                return e;
            }
            return SnapshotPtr(s, virDomainSnapshotFree);
        });
}

Result<SnapshotInfo> describe_snapshot(const std::shared_ptr<Connection>& c, const SnapshotPtr& s,
                                       const std::string& domain, const std::string& snap) {
    std::string on = snap_on(domain, snap);
    auto xml = call<std::string>(c, "virDomainSnapshotGetXMLDesc", on,
                                 [s, on](Connection& c) -> Result<std::string> {
                                     char* x = virDomainSnapshotGetXMLDesc(s.get(), 0);
                                     if (!x)
                                         return fail(c, "virDomainSnapshotGetXMLDesc", on);
                                     std::string out(x);
                                     std::free(x);
                                     return out;
                                 });
    if (!xml)
        return xml.error();
    auto state = parse_snapshot_state(xml.value());
    if (!state)
        return Error{state.error().code, on + ": " + state.error().message};
    SnapshotInfo info;
    info.name = snap;
    info.state = state.value();
    info.running_state =
        info.state == "running" || info.state == "paused" || info.state == "blocked";
    return info;
}

// A call on a domain that returns 0 or more on success (destroy, create, revert, delete).
template <class Handle, class F>
Result<Done> simple(const std::shared_ptr<Connection>& c, const char* fn, const std::string& on,
                    Handle h, F f) {
    return call<Done>(c, fn, on, [fn, on, h, f](Connection& c) -> Result<Done> {
        if (f(h.get()) < 0)
            return fail(c, fn, on);
        return Done{};
    });
}

std::string snapshot_xml(const std::string& name) {
    QString out;
    QXmlStreamWriter w(&out);
    w.writeStartElement(QStringLiteral("domainsnapshot"));
    w.writeTextElement(QStringLiteral("name"), QString::fromStdString(name));
    w.writeTextElement(QStringLiteral("description"), QStringLiteral("taken by botscope"));
    w.writeEndElement();
    return out.toStdString();
}

// libvirt's event loop: registered once per process, before the first connection, and run on
// its own thread for as long as the process lives. Keepalive and the close callback need it.
std::optional<Error> start_event_loop() {
    static std::once_flag once;
    static std::optional<Error> failure;
    std::call_once(once, [] {
        virSetErrorFunc(nullptr, quiet);
        if (virInitialize() < 0) {
            failure = Error{"libvirt", "cannot initialise libvirt: " + last_error().message};
            return;
        }
        if (virEventRegisterDefaultImpl() < 0) {
            failure =
                Error{"libvirt", "cannot register libvirt's event loop: " + last_error().message};
            return;
        }
        try {
            std::thread([] {
                for (;;) {
                    if (virEventRunDefaultImpl() < 0)  // only on internal errors; do not spin
                        std::this_thread::sleep_for(std::chrono::milliseconds(100));
                }
            }).detach();
        } catch (const std::system_error& e) {
            failure = Error{"libvirt",
                            std::string("cannot start libvirt's event loop thread: ") + e.what()};
        }
    });
    return failure;
}

}  // namespace

// --- Hypervisor -------------------------------------------------------------------------------

Hypervisor::Hypervisor(std::shared_ptr<detail::Connection> c) : c_(std::move(c)) {}
Hypervisor::Hypervisor(Hypervisor&&) noexcept = default;
Hypervisor& Hypervisor::operator=(Hypervisor&&) noexcept = default;
Hypervisor::~Hypervisor() = default;

Result<Hypervisor> Hypervisor::connect(const std::string& uri, Options options) {
    if (auto err = start_event_loop())
        return *err;
    if (options.call_timeout.count() <= 0)
        options.call_timeout = std::chrono::milliseconds(1);

    auto c = std::make_shared<Connection>();
    c->uri = uri;
    c->options = options;

    // The connection is opened on a worker like every other call: a daemon that accepts and then
    // says nothing must not hang us. If the deadline expires, the worker closes what it opened.
    auto opened = with_deadline<std::shared_ptr<detail::ConnBox>>(
        options.call_timeout, nullptr, uri, "virConnectOpen on " + quoted(uri),
        [uri]() -> Result<std::shared_ptr<detail::ConnBox>> {
            virConnectPtr p = virConnectOpen(uri.c_str());
            if (!p) {
                LvError e = last_error();
                bool no_daemon =
                    e.code == VIR_ERR_SYSTEM_ERROR && (e.int1 == ENOENT || e.int1 == ECONNREFUSED);
                if (no_daemon)
                    return Error{"no_daemon", "cannot connect to libvirt at " + uri + ": " +
                                                  e.message +
                                                  ". Is libvirtd running? (tools/start-libvirt "
                                                  "starts it)"};
                return Error{"connect", "cannot connect to libvirt at " + uri + ": " + e.message};
            }
            auto box = std::make_shared<detail::ConnBox>();
            box->p = p;
            return box;
        });
    if (!opened)
        return opened.error();
    c->conn = opened.value();

    auto keepalive =
        call<Done>(c, "virConnectSetKeepAlive", quoted(uri), [](Connection& c) -> Result<Done> {
            int rc = virConnectSetKeepAlive(c.conn->p, c.options.keepalive_interval,
                                            static_cast<unsigned>(c.options.keepalive_count));
            // 1: the server does not support keepalive; in-process drivers (test:///) have none.
            if (rc >= 0 || last_error().code == VIR_ERR_NO_SUPPORT)
                return Done{};
            Error e = fail(c, "virConnectSetKeepAlive", quoted(c.uri));
            return Error{e.code == "libvirt" ? "connect" : e.code, e.message};
        });
    if (!keepalive)
        return keepalive.error();

    auto registered = call<Done>(
        c, "virConnectRegisterCloseCallback", quoted(uri), [](Connection& c) -> Result<Done> {
            auto opaque = std::make_unique<std::shared_ptr<detail::Death>>(c.death);
            if (virConnectRegisterCloseCallback(c.conn->p, detail::on_close, opaque.get(),
                                                nullptr) < 0) {
                if (last_error().code == VIR_ERR_NO_SUPPORT)
                    return Done{};
                Error e = fail(c, "virConnectRegisterCloseCallback", quoted(c.uri));
                return Error{e.code == "libvirt" ? "connect" : e.code, e.message};
            }
            c.conn->close_opaque = std::move(opaque);
            return Done{};
        });
    if (!registered)
        return registered.error();
    return Hypervisor(std::move(c));
}

bool Hypervisor::alive() const {
    return c_ && !c_->death->is_dead();
}

std::string Hypervisor::dead_reason() const {
    if (!c_)
        return "moved from";
    return c_->death->why();
}

const std::string& Hypervisor::uri() const {
    static const std::string none;
    return c_ ? c_->uri : none;
}

Result<DomainState> Hypervisor::state(const std::string& domain) {
    return lookup_state(c_, domain);
}

Result<SnapshotInfo> Hypervisor::snapshot(const std::string& domain, const std::string& name) {
    auto d = lookup_domain(c_, domain);
    if (!d)
        return d.error();
    auto s = lookup_snapshot(c_, d.value(), domain, name);
    if (!s)
        return s.error();
    return describe_snapshot(c_, s.value(), domain, name);
}

Result<Done> Hypervisor::revert(const std::string& domain, const std::string& snapshot) {
    auto d = lookup_domain(c_, domain);
    if (!d)
        return d.error();
    auto s = lookup_snapshot(c_, d.value(), domain, snapshot);
    if (!s)
        return s.error();
    auto info = describe_snapshot(c_, s.value(), domain, snapshot);
    if (!info)
        return info.error();
    std::string on = snap_on(domain, snapshot);

    // A running-state snapshot resumes with its memory; a shut-off one restores the disks and
    // leaves the domain off, so it is started afterwards.
    unsigned flags = info->running_state ? VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING : 0;
    auto reverted =
        simple(c_, "virDomainRevertToSnapshot", on, s.value(),
               [flags](virDomainSnapshotPtr p) { return virDomainRevertToSnapshot(p, flags); });
    if (!reverted)
        return reverted.error();

    // Looked up again: qemu restarted, the old handle's id is stale.
    auto fresh = lookup_domain(c_, domain);
    if (!fresh)
        return fresh.error();
    auto st = get_state(c_, fresh.value(), domain);
    if (!st)
        return st.error();
    if (!info->running_state && st->state == "shutoff") {
        auto started = simple(c_, "virDomainCreate", quoted(domain), fresh.value(),
                              [](virDomainPtr p) { return virDomainCreate(p); });
        if (!started)
            return Error{started.error().code, "reverted " + on +
                                                   " (a shut-off snapshot) but could not start "
                                                   "it: " +
                                                   started.error().message};
        st = get_state(c_, fresh.value(), domain);
        if (!st)
            return st.error();
    }
    if (st->state != "running")
        return Error{"bad_state", "after reverting to " + on + " the domain is " + st->state +
                                      " (" + st->reason + "), not running"};
    return Done{};
}

Result<Done> Hypervisor::destroy(const std::string& domain) {
    auto d = lookup_domain(c_, domain);
    if (!d)
        return d.error();
    auto st = get_state(c_, d.value(), domain);
    if (!st)
        return st.error();
    if (st->state == "shutoff")
        return Done{};
    auto destroyed = simple(c_, "virDomainDestroy", quoted(domain), d.value(),
                            [](virDomainPtr p) { return virDomainDestroy(p); });
    if (destroyed)
        return Done{};
    // It may have stopped on its own between the two calls.
    if (destroyed.error().code == "bad_state") {
        auto again = get_state(c_, d.value(), domain);
        if (again && again->state == "shutoff")
            return Done{};
    }
    return destroyed.error();
}

Result<LiveDevices> Hypervisor::live_devices(const std::string& domain,
                                             const std::string& channel) {
    auto d = lookup_domain(c_, domain);
    if (!d)
        return d.error();
    auto xml = call<std::string>(c_, "virDomainGetXMLDesc", quoted(domain),
                                 [dom = d.value(), domain](Connection& c) -> Result<std::string> {
                                     char* x = virDomainGetXMLDesc(dom.get(), 0);
                                     if (!x)
                                         return fail(c, "virDomainGetXMLDesc", quoted(domain));
                                     std::string out(x);
                                     std::free(x);
                                     return out;
                                 });
    if (!xml)
        return xml.error();
    auto devices = parse_live_devices(xml.value(), channel);
    if (!devices)
        return Error{devices.error().code,
                     "domain " + quoted(domain) + ": " + devices.error().message};
    if (devices->tap.empty()) {
        auto st = get_state(c_, d.value(), domain);
        std::string now = st ? st->state + " (" + st->reason + ")" : "in an unknown state";
        return Error{"bad_state", "domain " + quoted(domain) +
                                      " has no tap device (<interface><target dev>) in its live "
                                      "XML: it is " +
                                      now + "; revert or start it first"};
    }
    return devices;
}

Result<std::vector<DomainSummary>> Hypervisor::domains() {
    auto listed = call<std::vector<std::pair<std::string, DomainPtr>>>(
        c_, "virConnectListAllDomains", quoted(uri()),
        [](Connection& c) -> Result<std::vector<std::pair<std::string, DomainPtr>>> {
            virDomainPtr* raw = nullptr;
            int n = virConnectListAllDomains(c.conn->p, &raw, 0);
            if (n < 0)
                return fail(c, "virConnectListAllDomains", quoted(c.uri));
            std::vector<std::pair<std::string, DomainPtr>> out;
            // Owned at once, so that nothing leaks if a later step fails.
            for (int i = 0; i < n; ++i) {
                DomainPtr d(raw[i], virDomainFree);
                const char* name = virDomainGetName(d.get());  // local, no RPC
                out.emplace_back(name ? name : "", std::move(d));
            }
            std::free(raw);
            return out;
        });
    if (!listed)
        return listed.error();
    std::vector<DomainSummary> out;
    for (auto& entry : listed.value()) {
        // Named copies, not a structured binding: clang 14 (the fuzz build) cannot capture one.
        const std::string name = entry.first;
        const auto d = entry.second;
        DomainSummary sum;
        sum.name = name;
        auto st = get_state(c_, d, name);
        if (!st)
            return st.error();
        sum.state = st.value();
        auto snaps = call<std::vector<std::string>>(
            c_, "virDomainListAllSnapshots", quoted(name),
            [d, name](Connection& c) -> Result<std::vector<std::string>> {
                virDomainSnapshotPtr* raw = nullptr;
                int n = virDomainListAllSnapshots(d.get(), &raw, 0);
                if (n < 0)
                    return fail(c, "virDomainListAllSnapshots", quoted(name));
                std::vector<std::string> names;
                for (int i = 0; i < n; ++i) {
                    SnapshotPtr s(raw[i], virDomainSnapshotFree);
                    if (const char* sn = virDomainSnapshotGetName(s.get()))
                        names.emplace_back(sn);
                }
                std::free(raw);
                std::sort(names.begin(), names.end());
                return names;
            });
        if (!snaps)
            return snaps.error();
        sum.snapshots = std::move(snaps.value());
        out.push_back(std::move(sum));
    }
    std::sort(out.begin(), out.end(),
              [](const DomainSummary& a, const DomainSummary& b) { return a.name < b.name; });
    return out;
}

Result<Done> Hypervisor::create_snapshot(const std::string& domain, const std::string& name) {
    auto d = lookup_domain(c_, domain);
    if (!d)
        return d.error();
    std::string on = snap_on(domain, name);
    return call<Done>(
        c_, "virDomainSnapshotCreateXML", on,
        [dom = d.value(), xml = snapshot_xml(name), on](Connection& c) -> Result<Done> {
            virDomainSnapshotPtr s = virDomainSnapshotCreateXML(dom.get(), xml.c_str(), 0);
            if (!s)
                return fail(c, "virDomainSnapshotCreateXML", on);
            virDomainSnapshotFree(s);
            return Done{};
        });
}

Result<Done> Hypervisor::delete_snapshot(const std::string& domain, const std::string& name) {
    auto d = lookup_domain(c_, domain);
    if (!d)
        return d.error();
    auto s = lookup_snapshot(c_, d.value(), domain, name);
    if (!s)
        return s.error();
    return simple(c_, "virDomainSnapshotDelete", snap_on(domain, name), s.value(),
                  [](virDomainSnapshotPtr p) { return virDomainSnapshotDelete(p, 0); });
}

std::size_t calls_in_flight() {
    return g_in_flight.load();
}

}  // namespace botscope::machinery
