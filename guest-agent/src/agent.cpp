#include "agent.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace botscope::guest {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Seen client nonces kept for replay detection: 32 bytes each, so 64 KiB of memory bounds the
// window; a replay older than this many sessions is still useless without the secret, since
// the proof also covers the agent's fresh nonce.
constexpr std::size_t kSeenNonces = 2048;
// Responses stay well under kMaxHeader: lists are paged.
constexpr std::size_t kPageBudget = 48 * 1024;
// Hashing budget of one dropped-file listing.
constexpr std::uint64_t kMaxHashBytes = 1024ull * 1024 * 1024;
// Files visited per scan of the watched folders.
constexpr std::size_t kMaxScanEntries = 200'000;
constexpr std::size_t kIoChunk = 64 * 1024;
// The slowest a frame's body may arrive: a bound against a sender that stalls, not a speed
// goal. 2 MiB/s was met by an idle host but not by the sanitizer build's client and agent on
// two loaded cores (16 MiB took over 10 s), which failed a put that was merely slow.
constexpr std::uint32_t kSlowestBytesPerSecond = 256u << 10;

std::chrono::milliseconds body_allowance(std::uint32_t body_len) {
    return std::chrono::milliseconds(std::uint64_t{body_len} * 1000 / kSlowestBytesPerSecond);
}
constexpr std::string_view kTempPrefix = ".bsa-tmp-";
// Polls a new process may take to show its image and command line: Windows (and wine, under
// load) fills the command line in well after the image, so allow two seconds at 100 ms.
constexpr int kDetailPolls = 20;
// Polls a child that still shows its parent's command line gets to exec.
constexpr int kExecPolls = 3;

void log(const std::string& msg) {
    std::fprintf(stderr, "botscope-agent: %s\n", msg.c_str());
    std::fflush(stderr);
}

std::string bounded(std::string s) {
    if (s.size() > proto::kMaxFieldBytes)
        s.resize(proto::kMaxFieldBytes);
    return s;
}

json ok_response(std::string_view op) {
    json j;
    j["op"] = op;
    j["ok"] = true;
    return j;
}

Io read_exact(Stream& st, std::uint8_t* p, std::size_t n, Deadline d) {
    while (n > 0) {
        std::size_t got = 0;
        Io r = st.read_some(p, n, got, d);
        if (r != Io::kOk)
            return r;
        p += got;
        n -= got;
    }
    return Io::kOk;
}

/// Reads and drops a body; it still counts towards the frame's MAC.
Io discard(Stream& st, std::uint32_t n, Deadline d, std::optional<proto::FrameMac>& mac) {
    std::vector<std::uint8_t> buf(std::min<std::size_t>(n, kIoChunk));
    while (n > 0) {
        std::size_t got = 0;
        Io r = st.read_some(buf.data(), std::min<std::size_t>(n, buf.size()), got, d);
        if (r != Io::kOk)
            return r;
        if (mac)
            mac->update({buf.data(), got});
        n -= static_cast<std::uint32_t>(got);
    }
    return Io::kOk;
}

/// The end of a request: its MAC trailer, when the session has keys. kOk only when it matches.
enum class Trailer : std::uint8_t { kOk, kBad, kLost };
Trailer check_trailer(Stream& st, Deadline d, std::optional<proto::FrameMac>& mac) {
    if (!mac)
        return Trailer::kOk;
    proto::Mac got{};
    if (read_exact(st, got.data(), got.size(), d) != Io::kOk)
        return Trailer::kLost;
    auto want = mac->finish();
    mac.reset();
    return proto::equal_constant_time(got, want) ? Trailer::kOk : Trailer::kBad;
}

json bad_mac(std::string_view op) {
    return proto::error_response(op, proto::err::kBadMac,
                                 "the request failed its MAC; closing the session");
}

std::string hash_file(const fs::path& p, std::uint64_t limit, std::uint64_t& hashed) {
    std::string error;
    File f = File::open_read(p, error);
    if (!f.is_open())
        return {};
    proto::Sha256 h;
    std::vector<std::uint8_t> buf(kIoChunk);
    std::uint64_t total = 0;
    for (;;) {
        long long n = f.read(buf);
        if (n < 0)
            return {};
        if (n == 0)
            break;
        total += static_cast<std::uint64_t>(n);
        if (total > limit)
            return {};
        h.update({buf.data(), static_cast<std::size_t>(n)});
    }
    hashed += total;
    auto d = h.finish();
    return proto::to_hex(d);
}

/// Packs entries[start..] into a page that stays within the budget.
json page(const std::vector<json>& entries, std::int64_t start, std::string_view op) {
    json r = ok_response(op);
    json list = json::array();
    std::size_t used = 0;
    std::size_t i = start < 0 ? entries.size() : static_cast<std::size_t>(start);
    if (i > entries.size())
        i = entries.size();
    for (; i < entries.size(); ++i) {
        std::size_t sz = proto::dump_header(entries[i]).size() + 1;
        if (used + sz > kPageBudget && !list.empty())
            break;
        used += sz;
        list.push_back(entries[i]);
    }
    r["entries"] = std::move(list);
    r["next"] = i;
    r["more"] = i < entries.size();
    r["total"] = entries.size();
    return r;
}

}  // namespace

struct Agent::Session {
    Stream& stream;
    enum class State : std::uint8_t { kNew, kChallenged, kAuthed } state = State::kNew;
    proto::Nonce client_nonce{};
    proto::Nonce agent_nonce{};
    // Frame MACs, from the first frame after the handshake on.
    std::optional<proto::FrameSigner> send_mac, recv_mac;

    bool send(const json& header, std::span<const std::uint8_t> body = {}) {
        std::string h = proto::dump_header(header);
        if (h.size() > proto::kMaxHeader)
            h = proto::dump_header(
                proto::error_response(proto::get_string(header, "op").value_or(""),
                                      proto::err::kTooLarge, "response header over the limit"));
        auto prefix = proto::encode_prefix(static_cast<std::uint32_t>(h.size()),
                                           static_cast<std::uint32_t>(body.size()));
        std::span<const std::uint8_t> hb{reinterpret_cast<const std::uint8_t*>(h.data()), h.size()};
        Deadline d = Clock::now() + std::chrono::seconds(60);
        if (stream.write_all(prefix.data(), prefix.size(), d) != Io::kOk)
            return false;
        if (stream.write_all(hb.data(), hb.size(), d) != Io::kOk)
            return false;
        if (!body.empty() && stream.write_all(body.data(), body.size(), d) != Io::kOk)
            return false;
        if (!send_mac)
            return true;
        auto m = send_mac->next();
        m.update(prefix);
        m.update(hb);
        m.update(body);
        auto mac = m.finish();
        return stream.write_all(mac.data(), mac.size(), d) == Io::kOk;
    }
};

Agent::Agent(Config config) : config_(std::move(config)) {
    watcher_ = std::thread([this] { watcher_loop(); });
}

Agent::~Agent() {
    stop_ = true;
    if (watcher_.joinable())
        watcher_.join();
}

int Agent::serve(Listener& listener) {
    log("listening on " + listener.where());
    for (;;) {
        std::string error;
        auto stream = listener.next(error);
        if (!stream) {
            log("transport failed: " + error);
            return 1;
        }
        if (!listener.concurrent()) {
            run_session(*stream);
            continue;
        }
        // Sockets: a process in the guest can connect too. Only the controller's address is
        // served when it is known (--allow); each connection gets its own thread, and when
        // every slot is taken the oldest connection that has not authenticated is ended, so
        // connections held open without a word cannot keep the controller out for the
        // authentication deadline.
        const std::string from = stream->address();
        if (!config_.allow.empty() &&
            std::find(config_.allow.begin(), config_.allow.end(), from) == config_.allow.end()) {
            log("refusing a connection from " + (from.empty() ? "an unknown address" : from) +
                ": not an --allow address");
            continue;
        }
        auto slot = std::make_shared<Slot>();
        slot->stream = stream.get();
        {
            std::lock_guard lock(slots_mu_);
            if (slots_.size() >= kMaxSessions) {
                auto idle = std::find_if(slots_.begin(), slots_.end(),
                                         [](const auto& s) { return !s->authed.load(); });
                if (idle == slots_.end()) {
                    log("refusing " + from + ": every session is in use");
                    continue;
                }
                log("ending the oldest unauthenticated session for a connection from " + from);
                (*idle)->stream->abort();
                slots_.erase(idle);
            }
            slots_.push_back(slot);
        }
        std::thread([this, slot, s = std::move(stream)]() mutable {
            run_session(*s, &slot->authed);
            std::lock_guard lock(slots_mu_);
            slots_.remove(slot);
            slot->stream = nullptr;
        }).detach();
    }
}

void Agent::run_session(Stream& stream, std::atomic<bool>* authed_flag) {
    struct Finish {
        Stream& st;
        ~Finish() { st.finish(); }
    } finish{stream};
    Session s{stream, Session::State::kNew, {}, {}, {}, {}};
    const Deadline auth_deadline =
        Clock::now() + std::chrono::milliseconds(config_.auth_timeout_ms);
    for (;;) {
        const bool authed = s.state == Session::State::kAuthed;
        if (authed && authed_flag)
            authed_flag->store(true);
        Deadline wait = authed ? Clock::now() + std::chrono::milliseconds(config_.idle_timeout_ms)
                               : auth_deadline;
        std::array<std::uint8_t, proto::kPrefixSize> pre{};
        std::size_t got = 0;
        Io r = stream.read_some(pre.data(), pre.size(), got, wait);
        if (r != Io::kOk) {
            if (r == Io::kTimeout)
                s.send(proto::error_response("", proto::err::kTimeout,
                                             authed ? "idle timeout" : "authentication timeout"));
            return;
        }
        Deadline frame_deadline =
            Clock::now() + std::chrono::milliseconds(config_.frame_timeout_ms);
        if (!authed && auth_deadline < frame_deadline)
            frame_deadline = auth_deadline;
        if (got < pre.size()) {
            r = read_exact(stream, pre.data() + got, pre.size() - got, frame_deadline);
            if (r != Io::kOk) {
                if (r == Io::kTimeout)
                    s.send(proto::error_response("", proto::err::kTimeout,
                                                 "frame not complete before the deadline"));
                return;
            }
        }
        proto::Prefix prefix;
        auto ps = proto::decode_prefix(pre, authed ? proto::kMaxHeader : proto::kMaxPreAuthHeader,
                                       authed ? proto::kMaxBody : 0, prefix);
        if (ps != proto::PrefixStatus::kOk) {
            // The stream cannot be resynchronised after a bad prefix: answer and close.
            std::string why =
                ps == proto::PrefixStatus::kBadMagic      ? "bad magic"
                : ps == proto::PrefixStatus::kEmptyHeader ? "empty header"
                : ps == proto::PrefixStatus::kHeaderTooLarge
                    ? "header length " + std::to_string(prefix.header_len) + " over the limit"
                    : "body length " + std::to_string(prefix.body_len) + " over the limit";
            s.send(proto::error_response("", proto::prefix_error_code(ps), why));
            return;
        }
        // A large body gets time on top of the frame deadline, at the slowest rate a working
        // controller sends (and this agent hashes twice: content and MAC); a stalled peer still
        // runs into it.
        frame_deadline += body_allowance(prefix.body_len);
        std::string header(prefix.header_len, '\0');
        r = read_exact(stream, reinterpret_cast<std::uint8_t*>(header.data()), header.size(),
                       frame_deadline);
        if (r != Io::kOk) {
            if (r == Io::kTimeout)
                s.send(proto::error_response("", proto::err::kTimeout,
                                             "frame not complete before the deadline"));
            return;
        }
        std::optional<proto::FrameMac> mac;
        if (s.recv_mac) {
            mac.emplace(s.recv_mac->next());
            mac->update(pre);
            mac->update({reinterpret_cast<const std::uint8_t*>(header.data()), header.size()});
        }
        auto parsed = proto::parse_header(header);
        std::string_view op;
        if (parsed.error.empty()) {
            if (auto o = proto::get_string(parsed.json, "op"))
                op = *o;
        }
        // Nothing is acted on before its MAC is checked; put checks it before the file is kept.
        auto read_rest = [&]() {
            if (discard(stream, prefix.body_len, frame_deadline, mac) != Io::kOk)
                return Trailer::kLost;
            return check_trailer(stream, frame_deadline, mac);
        };
        if (!parsed.error.empty() || op.empty()) {
            json e = parsed.error.empty()
                         ? proto::error_response("", proto::err::kBadRequest, "no op field")
                         : proto::error_response("", parsed.error, parsed.message);
            if (!authed) {
                s.send(e);
                return;
            }
            Trailer t = read_rest();
            if (t != Trailer::kOk) {
                if (t == Trailer::kBad)
                    s.send(bad_mac(""));
                return;
            }
            if (!s.send(e))
                return;
            continue;
        }
        bool close = false;
        json resp;
        if (op == proto::op::kFetch && authed) {
            // fetch answers with its own (streamed) frame.
            if (prefix.body_len != 0) {
                s.send(proto::error_response(op, proto::err::kBadRequest, "fetch takes no body"));
                return;
            }
            if (Trailer t = read_rest(); t != Trailer::kOk) {
                if (t == Trailer::kBad)
                    s.send(bad_mac(op));
                return;
            }
            if (!op_fetch(s, parsed.json))
                return;
            continue;
        }
        if (authed && op != proto::op::kPut) {
            if (Trailer t = read_rest(); t != Trailer::kOk) {
                if (t == Trailer::kBad)
                    s.send(bad_mac(op));
                return;
            }
        }
        resp = dispatch(s, parsed.json, prefix.body_len, op, mac, close);
        if (!s.send(resp) || close)
            return;
        if (op == proto::op::kAuth2 && s.state == Session::State::kAuthed && !s.send_mac) {
            // The handshake's answer went out plain; every frame after it carries a MAC.
            auto keys = proto::session_keys(config_.secret, s.client_nonce, s.agent_nonce);
            s.send_mac = proto::FrameSigner{keys.agent, 0};
            s.recv_mac = proto::FrameSigner{keys.controller, 0};
        }
    }
}

json Agent::dispatch(Session& s, const json& req, std::uint32_t body_len, std::string_view op,
                     std::optional<proto::FrameMac>& mac, bool& close) {
    using State = Session::State;
    if (s.state != State::kAuthed) {
        close = true;
        if (s.state == State::kNew && op == proto::op::kAuth1) {
            auto version = proto::get_int(req, "version");
            if (!version || *version != proto::kVersion) {
                json e = proto::error_response(
                    op, proto::err::kBadVersion,
                    "this agent speaks protocol version " + std::to_string(proto::kVersion));
                e["version"] = proto::kVersion;
                return e;
            }
            auto nonce = proto::get_hex<proto::kNonceSize>(req, "nonce");
            if (!nonce)
                return proto::error_response(op, proto::err::kBadRequest,
                                             "nonce must be 64 hex digits");
            {
                std::lock_guard lock(mu_);
                if (seen_nonce_set_.contains(*nonce)) {
                    log("replayed challenge from " + s.stream.peer());
                    return proto::error_response(op, proto::err::kReplayedChallenge,
                                                 "this challenge nonce was already used");
                }
                seen_nonce_set_.insert(*nonce);
                seen_nonces_.push_back(*nonce);
                if (seen_nonces_.size() > kSeenNonces) {
                    seen_nonce_set_.erase(seen_nonces_.front());
                    seen_nonces_.pop_front();
                }
            }
            if (!random_bytes(s.agent_nonce))
                return proto::error_response(op, proto::err::kOsError,
                                             "no random bytes: " + last_error_text());
            s.client_nonce = *nonce;
            auto proof = proto::agent_proof(config_.secret, s.client_nonce, s.agent_nonce);
            json r = ok_response(op);
            r["version"] = proto::kVersion;
            r["nonce"] = proto::to_hex(s.agent_nonce);
            r["proof"] = proto::to_hex(proof);
            s.state = State::kChallenged;
            close = false;
            return r;
        }
        if (s.state == State::kChallenged && op == proto::op::kAuth2) {
            auto proof = proto::get_hex<32>(req, "proof");
            auto expect = proto::client_proof(config_.secret, s.client_nonce, s.agent_nonce);
            if (!proof || !proto::equal_constant_time(*proof, expect)) {
                log("authentication failed from " + s.stream.peer());
                return proto::error_response(op, proto::err::kAuthFailed,
                                             "proof does not match the secret");
            }
            s.state = State::kAuthed;
            close = false;
            return ok_response(op);
        }
        return proto::error_response(op, proto::err::kNotAuthenticated,
                                     "authenticate first (auth1, then auth2)");
    }

    if (op == proto::op::kHello)
        return op_hello();
    if (op == proto::op::kPut)
        return op_put(s, req, body_len, mac, close);
    if (op == proto::op::kWatchStart)
        return op_watch_start();
    if (op == proto::op::kExec)
        return op_exec(req);
    if (op == proto::op::kProcesses)
        return op_processes(req);
    if (op == proto::op::kDropped)
        return op_dropped(req);
    if (op == proto::op::kSockets)
        return op_sockets(req);
    if (op == proto::op::kAutostart)
        return op_autostart(req);
    if (op == proto::op::kKill)
        return op_kill(req);
    if (op == proto::op::kSetClock)
        return op_set_clock(req);
    if (op == proto::op::kAuth1 || op == proto::op::kAuth2)
        return proto::error_response(op, proto::err::kBadRequest, "already authenticated");
    return proto::error_response(op, proto::err::kUnknownOp, "unknown operation");
}

json Agent::op_hello() {
    OsInfo os = os_info();
    json r = ok_response(proto::op::kHello);
    r["os"] = os.os;
    r["os_version"] = os.version;
    r["arch"] = os.arch;
    r["hostname"] = bounded(os.hostname);
    r["agent_version"] = kAgentVersion;
    r["version"] = proto::kVersion;
    r["time_ms"] = wall_clock_ms();
    r["work_dir"] = bounded(path_utf8(config_.workdir));
    std::lock_guard lock(mu_);
    r["watching"] = watching_;
    return r;
}

json Agent::op_put(Session& s, const json& req, std::uint32_t body_len,
                   std::optional<proto::FrameMac>& mac, bool& close) {
    const auto op = proto::op::kPut;
    const Deadline d = Clock::now() + std::chrono::milliseconds(config_.frame_timeout_ms) +
                       body_allowance(body_len);
    auto fail_and_discard = [&](std::string_view code, const std::string& msg) {
        // The body must still be read off the stream, or the next frame would start inside it.
        if (discard(s.stream, body_len, d, mac) != Io::kOk) {
            close = true;
            return proto::error_response(op, code, msg);
        }
        Trailer t = check_trailer(s.stream, d, mac);
        if (t != Trailer::kOk) {
            close = true;
            if (t == Trailer::kBad)
                return bad_mac(op);
        }
        return proto::error_response(op, code, msg);
    };
    auto name = proto::get_string(req, "name");
    if (!name)
        return fail_and_discard(proto::err::kBadRequest, "put needs a string name");
    auto ns = proto::check_name(*name);
    if (ns != proto::NameStatus::kOk)
        return fail_and_discard(proto::err::kBadName, std::string(proto::name_status_text(ns)));
    auto size = proto::get_int(req, "size");
    if (!size || *size != static_cast<std::int64_t>(body_len))
        return fail_and_discard(proto::err::kBadRequest, "size must equal the body length");
    std::optional<proto::Digest> want;
    if (req.contains("sha256")) {
        want = proto::get_hex<32>(req, "sha256");
        if (!want)
            return fail_and_discard(proto::err::kBadRequest, "sha256 must be 64 hex digits");
    }

    std::array<std::uint8_t, 8> rnd{};
    random_bytes(rnd);
    fs::path tmp = config_.workdir / (std::string(kTempPrefix) + proto::to_hex(rnd));
    fs::path final_path = config_.workdir / path_from_utf8(std::string(*name));
    std::string error;
    File f = File::create_new(tmp, error);
    if (!f.is_open())
        return fail_and_discard(proto::err::kIoError, "cannot create file: " + error);

    proto::Sha256 h;
    std::vector<std::uint8_t> buf(kIoChunk);
    std::uint32_t left = body_len;
    bool write_ok = true;
    while (left > 0) {
        std::size_t got = 0;
        Io r = s.stream.read_some(buf.data(), std::min<std::size_t>(left, buf.size()), got, d);
        if (r != Io::kOk) {
            f.close();
            std::error_code ec;
            fs::remove(tmp, ec);
            close = true;
            return proto::error_response(op, proto::err::kTimeout, "file content not received");
        }
        left -= static_cast<std::uint32_t>(got);
        h.update({buf.data(), got});
        if (mac)
            mac->update({buf.data(), got});
        if (write_ok && !f.write_all({buf.data(), got}, error))
            write_ok = false;
    }
    f.close();
    std::error_code ec;
    // A forged request must leave nothing behind: the MAC decides before the file is kept.
    if (Trailer t = check_trailer(s.stream, d, mac); t != Trailer::kOk) {
        fs::remove(tmp, ec);
        close = true;
        return t == Trailer::kBad
                   ? bad_mac(op)
                   : proto::error_response(op, proto::err::kTimeout, "file content not received");
    }
    if (!write_ok) {
        fs::remove(tmp, ec);
        return proto::error_response(op, proto::err::kIoError, "write failed: " + error);
    }
    auto digest = h.finish();
    if (want && !proto::equal_constant_time(*want, digest)) {
        fs::remove(tmp, ec);
        return proto::error_response(op, proto::err::kHashMismatch,
                                     "content does not match sha256");
    }
    error = replace_file(tmp, final_path);
    if (!error.empty()) {
        fs::remove(tmp, ec);
        return proto::error_response(op, proto::err::kIoError, "cannot rename: " + error);
    }
    json r = ok_response(op);
    r["name"] = *name;
    r["size"] = body_len;
    r["sha256"] = proto::to_hex(digest);
    return r;
}

std::map<std::string, Agent::FileStamp> Agent::scan_files() const {
    std::map<std::string, FileStamp> out;
    std::size_t visited = 0;
    for (const auto& dir : config_.watch_dirs) {
        std::error_code ec;
        // Links are not followed: a link planted by the sample must not steer the scan.
        fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
        for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (++visited > kMaxScanEntries)
                return out;
            std::error_code e2;
            if (!it->is_regular_file(e2) || it->is_symlink(e2))
                continue;
            auto fname = it->path().filename().string();
            if (fname.starts_with(kTempPrefix))
                continue;
            FileStamp st;
            st.size = it->file_size(e2);
            if (e2)
                continue;
            auto t = it->last_write_time(e2);
            if (e2)
                continue;
            st.mtime = static_cast<std::int64_t>(t.time_since_epoch().count());
            out[path_utf8(it->path())] = st;
        }
    }
    return out;
}

std::map<std::string, std::string> Agent::autostart_snapshot() const {
    std::map<std::string, std::string> out;
    for (auto& e : autostart_entries(config_.autostart_root)) {
        std::string key = e.kind + '\n' + e.location + '\n' + e.name;
        out[key] = e.value;
    }
    return out;
}

void Agent::start_watch_locked() {
    watching_ = true;
    events_.clear();
    events_truncated_ = false;
    tree_.clear();
    exit_codes_.clear();
    pending_.clear();
    live_.clear();
    for (auto& p : list_processes())
        live_[p.pid] = p;
    file_baseline_ = scan_files();
    autostart_baseline_ = autostart_snapshot();
    dropped_.clear();
    dropped_json_.clear();
}

json Agent::op_watch_start() {
    std::lock_guard lock(mu_);
    start_watch_locked();
    json r = ok_response(proto::op::kWatchStart);
    r["time_ms"] = wall_clock_ms();
    r["processes"] = live_.size();
    r["files"] = file_baseline_.size();
    r["autostart"] = autostart_baseline_.size();
    return r;
}

void Agent::poll_locked() {
    std::vector<std::pair<std::uint32_t, int>> exited;
    reap_children(exited);
    for (auto& [pid, code] : exited)
        exit_codes_[pid] = code;
    if (!watching_)
        return;
    auto now = list_processes();
    std::map<std::uint32_t, ProcBasic> next;
    for (auto& p : now)
        next[p.pid] = p;
    auto emit = [&](json ev) {
        if (events_.size() >= proto::kMaxProcessEvents) {
            events_truncated_ = true;
            return;
        }
        ev["seq"] = events_.size();
        if (!ev.contains("time_ms"))
            ev["time_ms"] = wall_clock_ms();
        events_.push_back(std::move(ev));
    };
    // Exits first, so a reused pid shows as exit then start.
    for (auto& [pid, old] : live_) {
        auto it = next.find(pid);
        bool gone =
            it == next.end() || (old.start_key != 0 && it->second.start_key != old.start_key);
        if (!gone)
            continue;
        json ev{{"type", "exit"}, {"pid", pid}, {"in_tree", tree_.contains(pid)}};
        if (auto c = exit_codes_.find(pid); c != exit_codes_.end())
            ev["exit_code"] = c->second;
        emit(std::move(ev));
    }
    std::vector<std::uint32_t> deferred;
    for (auto& [pid, p] : next) {
        auto it = live_.find(pid);
        if (it != live_.end() && (it->second.start_key == p.start_key || it->second.start_key == 0))
            continue;
        if (tree_.contains(p.ppid))
            tree_.insert(pid);
        std::string image, cmdline;
        process_details(pid, image, cmdline);
        // A child caught between fork and exec still shows its parent's command line: give it
        // the same few polls to show what it runs (a plain fork keeps it, and is reported so).
        bool unexeced = false;
        if (!cmdline.empty()) {
            std::string parent_image, parent_cmdline;
            process_details(p.ppid, parent_image, parent_cmdline);
            unexeced = cmdline == parent_cmdline;
        }
        // A process caught right at its creation may not show its image and command line yet
        // (Windows fills the PEB as the loader runs): look again at the next polls, keeping
        // what was read in case it exits meanwhile.
        if (image.empty() || cmdline.empty() || unexeced) {
            PendingStart& ps = pending_[pid];
            if (ps.polls == 0)
                ps.first_seen_ms = wall_clock_ms();
            ps.ppid = p.ppid;
            if (!image.empty())
                ps.image = image;
            if (!cmdline.empty())
                ps.cmdline = cmdline;
            const bool missing = image.empty() || cmdline.empty();
            if (++ps.polls < (missing ? kDetailPolls : kExecPolls)) {
                deferred.push_back(pid);
                continue;
            }
            image = ps.image;
            cmdline = ps.cmdline;
        }
        json ev{{"type", "start"},
                {"pid", pid},
                {"ppid", p.ppid},
                {"image", bounded(image)},
                {"cmdline", bounded(cmdline)},
                {"in_tree", tree_.contains(pid)}};
        // When it was first seen, not when its details came.
        if (auto ps = pending_.find(pid); ps != pending_.end()) {
            ev["time_ms"] = ps->second.first_seen_ms;
            pending_.erase(ps);
        }
        emit(std::move(ev));
    }
    for (auto pid : deferred)
        next.erase(pid);
    // Deferred processes that are already gone: report them without details.
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (next.contains(it->first) ||
            std::find(deferred.begin(), deferred.end(), it->first) != deferred.end()) {
            ++it;
            continue;
        }
        emit(json{{"type", "start"},
                  {"pid", it->first},
                  {"ppid", it->second.ppid},
                  {"image", bounded(it->second.image)},
                  {"cmdline", bounded(it->second.cmdline)},
                  {"in_tree", tree_.contains(it->first)},
                  {"time_ms", it->second.first_seen_ms}});
        emit(json{{"type", "exit"}, {"pid", it->first}, {"in_tree", tree_.contains(it->first)}});
        it = pending_.erase(it);
    }
    live_ = std::move(next);
}

void Agent::watcher_loop() {
    while (!stop_) {
        {
            std::lock_guard lock(mu_);
            poll_locked();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(config_.poll_ms));
    }
}

json Agent::op_exec(const json& req) {
    const auto op = proto::op::kExec;
    auto name = proto::get_string(req, "name");
    if (!name)
        return proto::error_response(op, proto::err::kBadRequest, "exec needs a string name");
    auto ns = proto::check_name(*name);
    if (ns != proto::NameStatus::kOk)
        return proto::error_response(op, proto::err::kBadName,
                                     std::string(proto::name_status_text(ns)));
    std::vector<std::string> args;
    if (req.contains("args")) {
        const json* a = proto::get_array(req, "args");
        if (!a || a->size() > proto::kMaxArgs)
            return proto::error_response(op, proto::err::kBadRequest,
                                         "args must be an array of at most 64 strings");
        for (const auto& v : *a) {
            if (!v.is_string())
                return proto::error_response(op, proto::err::kBadRequest,
                                             "every argument must be a string");
            const auto& s = v.get_ref<const std::string&>();
            if (s.size() > proto::kMaxArgBytes || s.find('\0') != std::string::npos)
                return proto::error_response(op, proto::err::kBadRequest,
                                             "an argument is too long or contains NUL");
            args.push_back(s);
        }
    }
    fs::path exe = config_.workdir / path_from_utf8(std::string(*name));
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(exe, ec)))
        return proto::error_response(op, proto::err::kNotFound,
                                     "no regular file of that name in the work directory");
    std::lock_guard lock(mu_);
    if (!watching_)
        start_watch_locked();
    SpawnResult sr = spawn_detached(exe, args, config_.workdir);
    if (!sr.error.empty())
        return proto::error_response(op, proto::err::kOsError, "cannot start: " + sr.error);
    tree_.insert(sr.pid);
    // Recorded now, so even a process that exits before the next poll is reported.
    std::string cmdline = path_utf8(exe);
    for (auto& a : args)
        cmdline += ' ' + a;
    if (events_.size() < proto::kMaxProcessEvents)
        events_.push_back(json{{"seq", events_.size()},
                               {"time_ms", wall_clock_ms()},
                               {"type", "start"},
                               {"pid", sr.pid},
                               {"ppid", current_pid()},
                               {"image", bounded(path_utf8(exe))},
                               {"cmdline", bounded(cmdline)},
                               {"in_tree", true}});
    ProcBasic pb;
    pb.pid = sr.pid;
    live_[sr.pid] = pb;  // start_key 0: the next poll fills it in without a second event
    json r = ok_response(op);
    r["pid"] = sr.pid;
    return r;
}

json Agent::op_processes(const json& req) {
    std::lock_guard lock(mu_);
    poll_locked();
    json r = page(events_, proto::get_int(req, "start").value_or(0), proto::op::kProcesses);
    r["truncated"] = events_truncated_;
    r["watching"] = watching_;
    json alive = json::array();
    for (auto pid : tree_)
        if (live_.contains(pid))
            alive.push_back(pid);
    r["tree_alive"] = std::move(alive);
    return r;
}

json Agent::op_dropped(const json& req) {
    std::lock_guard lock(mu_);
    if (!watching_)
        return proto::error_response(proto::op::kDropped, proto::err::kBadRequest,
                                     "no watch running (watch_start or exec first)");
    auto start = proto::get_int(req, "start").value_or(0);
    if (start == 0) {
        dropped_.clear();
        dropped_json_.clear();
        dropped_truncated_ = false;
        std::uint64_t hashed = 0;
        for (auto& [path, st] : scan_files()) {
            auto b = file_baseline_.find(path);
            bool created = b == file_baseline_.end();
            if (!created && b->second.size == st.size && b->second.mtime == st.mtime)
                continue;
            if (dropped_.size() >= proto::kMaxDropped) {
                dropped_truncated_ = true;
                break;
            }
            DroppedFile df;
            df.path = path_from_utf8(path);
            df.size = st.size;
            json e{{"id", dropped_.size() + 1},
                   {"path", bounded(path)},
                   {"size", st.size},
                   {"status", created ? "created" : "modified"}};
            if (st.size > proto::kMaxBody) {
                e["too_large"] = true;
            } else if (hashed + st.size <= kMaxHashBytes) {
                df.sha256 = hash_file(df.path, proto::kMaxBody, hashed);
                if (!df.sha256.empty())
                    e["sha256"] = df.sha256;
            }
            dropped_.push_back(std::move(df));
            dropped_json_.push_back(std::move(e));
        }
    }
    json r = page(dropped_json_, start, proto::op::kDropped);
    r["truncated"] = dropped_truncated_;
    return r;
}

bool Agent::op_fetch(Session& s, const json& req) {
    const auto op = proto::op::kFetch;
    fs::path path;
    {
        std::lock_guard lock(mu_);
        auto id = proto::get_int(req, "id");
        if (!id || *id < 1 || static_cast<std::uint64_t>(*id) > dropped_.size())
            return s.send(proto::error_response(op, proto::err::kNotFound,
                                                "no dropped file with that id (list first)"));
        path = dropped_[static_cast<std::size_t>(*id - 1)].path;
    }
    std::string error;
    std::uint64_t hashed = 0;
    std::string sha = hash_file(path, proto::kMaxBody, hashed);
    File f = File::open_read(path, error);
    long long size = f.is_open() ? f.size() : -1;
    if (sha.empty() || size < 0)
        return s.send(proto::error_response(op, proto::err::kIoError,
                                            "cannot read the file (gone or over the limit)"));
    if (size > static_cast<long long>(proto::kMaxBody))
        return s.send(
            proto::error_response(op, proto::err::kTooLarge, "file grew over the size limit"));
    json r = ok_response(op);
    r["size"] = size;
    r["sha256"] = sha;
    // Header and body go out as one frame; the body is streamed, never held whole in memory.
    std::string h = proto::dump_header(r);
    auto prefix = proto::encode_prefix(static_cast<std::uint32_t>(h.size()),
                                       static_cast<std::uint32_t>(size));
    Deadline d = Clock::now() + std::chrono::milliseconds(config_.frame_timeout_ms) +
                 std::chrono::seconds(60);
    std::optional<proto::FrameMac> mac;
    if (s.send_mac) {
        mac.emplace(s.send_mac->next());
        mac->update(prefix);
        mac->update({reinterpret_cast<const std::uint8_t*>(h.data()), h.size()});
    }
    if (s.stream.write_all(prefix.data(), prefix.size(), d) != Io::kOk ||
        s.stream.write_all(reinterpret_cast<const std::uint8_t*>(h.data()), h.size(), d) != Io::kOk)
        return false;
    std::vector<std::uint8_t> buf(kIoChunk);
    auto left = static_cast<std::uint64_t>(size);
    while (left > 0) {
        long long n = f.read({buf.data(), std::min<std::size_t>(buf.size(), left)});
        if (n <= 0) {
            // The file shrank since it was measured: pad, and the client's hash check tells.
            std::fill(buf.begin(), buf.end(), 0);
            n = static_cast<long long>(std::min<std::uint64_t>(buf.size(), left));
        }
        if (mac)
            mac->update({buf.data(), static_cast<std::size_t>(n)});
        if (s.stream.write_all(buf.data(), static_cast<std::size_t>(n), d) != Io::kOk)
            return false;
        left -= static_cast<std::uint64_t>(n);
    }
    if (!mac)
        return true;
    auto m = mac->finish();
    return s.stream.write_all(m.data(), m.size(), d) == Io::kOk;
}

json Agent::op_sockets(const json& req) {
    const auto op = proto::op::kSockets;
    auto start = proto::get_int(req, "start").value_or(0);
    std::lock_guard lock(mu_);
    if (start == 0) {
        std::string error;
        auto socks = listening_sockets(error);
        if (!error.empty())
            return proto::error_response(op, proto::err::kOsError, error);
        sockets_json_.clear();
        for (auto& s : socks) {
            if (sockets_json_.size() >= proto::kMaxSockets)
                break;
            json e{{"proto", s.proto}, {"address", s.address}, {"port", s.port}, {"pid", s.pid}};
            if (s.pid != 0) {
                std::string image, cmdline;
                process_details(s.pid, image, cmdline);
                e["image"] = bounded(image);
                e["in_tree"] = tree_.contains(s.pid);
            }
            sockets_json_.push_back(std::move(e));
        }
    }
    return page(sockets_json_, start, op);
}

json Agent::op_autostart(const json& req) {
    const auto op = proto::op::kAutostart;
    auto start = proto::get_int(req, "start").value_or(0);
    std::lock_guard lock(mu_);
    if (!watching_)
        return proto::error_response(op, proto::err::kBadRequest,
                                     "no watch running (watch_start or exec first)");
    if (start == 0) {
        autostart_json_.clear();
        for (auto& e : autostart_entries(config_.autostart_root)) {
            std::string key = e.kind + '\n' + e.location + '\n' + e.name;
            auto b = autostart_baseline_.find(key);
            if (b != autostart_baseline_.end() && b->second == e.value)
                continue;
            if (autostart_json_.size() >= proto::kMaxAutostart)
                break;
            autostart_json_.push_back(
                json{{"kind", e.kind},
                     {"location", bounded(e.location)},
                     {"name", bounded(e.name)},
                     {"value", bounded(e.value)},
                     {"status", b == autostart_baseline_.end() ? "added" : "changed"}});
        }
    }
    return page(autostart_json_, start, op);
}

json Agent::op_kill(const json& req) {
    const auto op = proto::op::kKill;
    std::lock_guard lock(mu_);
    poll_locked();
    std::set<std::uint32_t> roots;
    if (req.contains("pid")) {
        auto pid = proto::get_int(req, "pid");
        if (!pid || *pid <= 0 || *pid > UINT32_MAX)
            return proto::error_response(op, proto::err::kBadRequest, "pid must be positive");
        roots.insert(static_cast<std::uint32_t>(*pid));
    } else {
        roots = tree_;
    }
    std::vector<std::uint32_t> all_killed;
    // A few rounds: a process may fork between listing and killing.
    for (int round = 0; round < 3; ++round) {
        std::set<std::uint32_t> set = roots;
        auto procs = list_processes();
        bool grew = true;
        while (grew) {
            grew = false;
            for (auto& p : procs)
                if (set.contains(p.ppid) && !set.contains(p.pid)) {
                    set.insert(p.pid);
                    grew = true;
                }
        }
        std::vector<std::uint32_t> targets;
        std::set<std::uint32_t> alive;
        for (auto& p : procs)
            alive.insert(p.pid);
        for (auto pid : set)
            if (alive.contains(pid) && pid > 4 && pid != current_pid())
                targets.push_back(pid);
        if (targets.empty())
            break;
        for (auto pid : kill_processes(targets)) {
            all_killed.push_back(pid);
            roots.insert(pid);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::vector<std::pair<std::uint32_t, int>> exited;
        reap_children(exited);
        for (auto& [pid, code] : exited)
            exit_codes_[pid] = code;
    }
    std::sort(all_killed.begin(), all_killed.end());
    all_killed.erase(std::unique(all_killed.begin(), all_killed.end()), all_killed.end());
    json r = ok_response(op);
    r["killed"] = all_killed;
    return r;
}

json Agent::op_set_clock(const json& req) {
    const auto op = proto::op::kSetClock;
    auto ms = proto::get_int(req, "time_ms");
    // 2000-01-01 .. 2100-01-01: anything else is a controller bug, not a plausible clock.
    if (!ms || *ms < 946'684'800'000 || *ms > 4'102'444'800'000)
        return proto::error_response(op, proto::err::kBadRequest,
                                     "time_ms must be between 2000-01-01 and 2100-01-01");
    std::string error = set_wall_clock_ms(*ms);
    if (!error.empty())
        return proto::error_response(op, proto::err::kOsError, "cannot set the clock: " + error);
    json r = ok_response(op);
    r["time_ms"] = wall_clock_ms();
    return r;
}

}  // namespace botscope::guest
