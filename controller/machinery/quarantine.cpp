#include "machinery/quarantine.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/fd.h"
#include "util/text.h"

namespace botscope::machinery {

namespace {

using util::Done;
using util::Error;
using util::Result;

// Largest count stored; keeps the number well inside int when a machine fails forever.
constexpr int kMaxCount = 1'000'000;

using util::Fd;

std::string errno_text(int err) {
    return std::strerror(err);
}

Error corrupt(const std::filesystem::path& file, const std::string& why) {
    return Error{"corrupt", "machine health file " + file.string() + " " + why +
                                ": fix or delete it (releasing the machine removes it)"};
}

Result<MachineHealth> parse(const std::filesystem::path& file, const std::string& machine,
                            const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
        return corrupt(file, "is not valid JSON");
    if (!j.is_object())
        return corrupt(file, "is not a JSON object");
    auto field = [&](const char* name) -> const nlohmann::json* {
        auto it = j.find(name);
        return it == j.end() ? nullptr : &*it;
    };
    const auto* m = field("machine");
    const auto* n = field("consecutive_failures");
    const auto* q = field("quarantined");
    const auto* e = field("last_error");
    const auto* s = field("since");
    if (!m || !m->is_string())
        return corrupt(file, "has no \"machine\" string");
    if (m->get_ref<const std::string&>() != machine)
        return corrupt(file, "is for machine '" + m->get_ref<const std::string&>() + "', not '" +
                                 machine + "'");
    if (!n || !n->is_number_integer() || n->get<long long>() < 0 || n->get<long long>() > kMaxCount)
        return corrupt(file, "has no \"consecutive_failures\" count between 0 and " +
                                 std::to_string(kMaxCount));
    if (!q || !q->is_boolean())
        return corrupt(file, "has no \"quarantined\" true/false");
    if (!e || !e->is_string() ||
        e->get_ref<const std::string&>().size() > QuarantineStore::kMaxReasonBytes)
        return corrupt(file, "has no \"last_error\" string of at most " +
                                 std::to_string(QuarantineStore::kMaxReasonBytes) + " bytes");
    if (!s || !s->is_string() || s->get_ref<const std::string&>().size() > 64)
        return corrupt(file, "has no \"since\" time");
    MachineHealth h;
    h.machine = machine;
    h.consecutive_failures = static_cast<int>(n->get<long long>());
    h.quarantined = q->get<bool>();
    h.last_error = e->get<std::string>();
    h.since = s->get<std::string>();
    return h;
}

// Reads the file without following a symlink and without reading more than the limit: the file
// may have been replaced by anything.
Result<MachineHealth> read_health(const std::filesystem::path& file, const std::string& machine) {
    Fd f(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (f.fd < 0) {
        int err = errno;
        if (err == ENOENT)
            return MachineHealth{machine, 0, false, "", ""};
        if (err == ELOOP)
            return corrupt(file, "is a symbolic link");
        return Error{"io",
                     "cannot open machine health file " + file.string() + ": " + errno_text(err)};
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0)
        return Error{"io", "cannot stat " + file.string() + ": " + errno_text(errno)};
    if (!S_ISREG(st.st_mode))
        return corrupt(file, "is not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > QuarantineStore::kMaxFileBytes)
        return corrupt(file, "is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                                 std::to_string(QuarantineStore::kMaxFileBytes));
    std::string text;
    std::vector<char> buf(QuarantineStore::kMaxFileBytes + 1);
    for (;;) {
        ssize_t r = ::read(f.fd, buf.data(), buf.size());
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return Error{"io", "cannot read " + file.string() + ": " + errno_text(errno)};
        }
        if (r == 0)
            break;
        text.append(buf.data(), static_cast<std::size_t>(r));
        if (text.size() > QuarantineStore::kMaxFileBytes)
            return corrupt(file, "grew over the limit of " +
                                     std::to_string(QuarantineStore::kMaxFileBytes) + " bytes");
    }
    return parse(file, machine, text);
}

Result<Done> fsync_dir(const std::filesystem::path& dir) {
    Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.fd < 0 || ::fsync(d.fd) != 0)
        return Error{"io", "cannot sync directory " + dir.string() + ": " + errno_text(errno)};
    return Done{};
}

// Temporary file in the same directory, fsync, rename over the target, fsync of the directory:
// a reader sees the old file or the new one, also after a crash.
Result<Done> write_atomic(const std::filesystem::path& file, const std::string& content) {
    std::string tmpl = file.string() + ".tmp.XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    int raw = ::mkostemp(name.data(), O_CLOEXEC);
    if (raw < 0)
        return Error{"io", "cannot create a temporary file next to " + file.string() + ": " +
                               errno_text(errno)};
    std::string tmp(name.data());
    auto give_up = [&](const std::string& what, int err) -> Result<Done> {
        ::unlink(tmp.c_str());
        return Error{"io", "cannot write " + file.string() + " (" + what + "): " + errno_text(err)};
    };
    {
        Fd f(raw);
        std::size_t done = 0;
        while (done < content.size()) {
            ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return give_up("write", errno);
            }
            done += static_cast<std::size_t>(n);
        }
        if (::fchmod(f.fd, 0644) != 0)
            return give_up("chmod", errno);
        if (::fsync(f.fd) != 0)
            return give_up("fsync", errno);
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0)
        return give_up("rename", errno);
    return fsync_dir(file.parent_path());
}

// A failure reason as stored: valid UTF-8 (libvirt and guest output may carry any bytes; bad
// sequences become U+FFFD), cut to kMaxReasonBytes on a character boundary.
std::string clean_reason(const std::string& reason) {
    std::string valid =
        nlohmann::json::parse(
            nlohmann::json(reason).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
            .get<std::string>();
    if (valid.size() <= QuarantineStore::kMaxReasonBytes)
        return valid;
    std::size_t cut = QuarantineStore::kMaxReasonBytes;
    while (cut > 0 && (static_cast<unsigned char>(valid[cut]) & 0xC0) == 0x80)
        --cut;  // valid[cut] continues a character: start the cut before that character
    return valid.substr(0, cut);
}

std::string to_json(const MachineHealth& h) {
    nlohmann::json j = {{"machine", h.machine},
                        {"consecutive_failures", h.consecutive_failures},
                        {"quarantined", h.quarantined},
                        {"last_error", h.last_error},
                        {"since", h.since}};
    // `replace`: a hand-edited machine name or time cannot make dump() throw.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Serialises read-modify-write across processes (`botscope vm release` vs. the controller).
class DirLock {
public:
    static Result<std::unique_ptr<DirLock>> take(const std::filesystem::path& dir) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec)
            return Error{"io", "cannot create machine health directory " + dir.string() + ": " +
                                   ec.message()};
        auto path = dir / ".lock";
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return Error{"io", "cannot open lock file " + path.string() + ": " + errno_text(errno)};
        auto lock = std::unique_ptr<DirLock>(new DirLock(fd));
        while (::flock(fd, LOCK_EX) != 0) {
            if (errno != EINTR)
                return Error{"io", "cannot lock " + path.string() + ": " + errno_text(errno)};
        }
        return lock;
    }

private:
    explicit DirLock(int fd) : fd_(fd) {}
    Fd fd_;  // closing it releases the lock
};

}  // namespace

QuarantineStore::QuarantineStore(std::filesystem::path dir, int threshold)
    : dir_(std::move(dir)), threshold_(threshold < 1 ? 1 : threshold) {}

Result<Done> QuarantineStore::check_name(const std::string& machine) {
    auto bad = [&](const std::string& why) {
        return Error{"bad_name", "machine name '" + machine + "' " + why +
                                     ": use 1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.'"};
    };
    if (machine.empty())
        return bad("is empty");
    if (machine.size() > 64)
        return bad("is longer than 64 characters");
    if (machine.front() == '.')
        return bad("starts with '.'");
    for (char ch : machine) {
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return bad("contains a character other than A-Z a-z 0-9 . _ -");
    }
    return Done{};
}

std::filesystem::path QuarantineStore::file_of(const std::string& machine) const {
    return dir_ / (machine + ".json");
}

Result<MachineHealth> QuarantineStore::get(const std::string& machine) const {
    if (auto ok = check_name(machine); !ok)
        return ok.error();
    return read_health(file_of(machine), machine);
}

Result<MachineHealth> QuarantineStore::update(const std::string& machine,
                                              const std::function<bool(MachineHealth&)>& change) {
    if (auto ok = check_name(machine); !ok)
        return ok.error();
    std::lock_guard guard(*mutex_);
    auto lock = DirLock::take(dir_);
    if (!lock)
        return lock.error();
    auto health = read_health(file_of(machine), machine);
    if (!health)
        return health.error();
    MachineHealth h = health.value();
    if (!change(h))
        return h;
    if (auto w = write_atomic(file_of(machine), to_json(h)); !w)
        return w.error();
    return h;
}

Result<MachineHealth> QuarantineStore::record_failure(const std::string& machine,
                                                      const std::string& reason) {
    return update(machine, [&](MachineHealth& h) {
        std::string now = util::utc_now_iso8601();
        if (h.consecutive_failures < kMaxCount)
            ++h.consecutive_failures;
        h.last_error = clean_reason(reason);
        if (!h.quarantined) {
            if (h.consecutive_failures == 1)
                h.since = now;
            if (h.consecutive_failures >= threshold_) {
                h.quarantined = true;
                h.since = now;
            }
        }
        return true;
    });
}

Result<Done> QuarantineStore::record_success(const std::string& machine) {
    auto r = update(machine, [](MachineHealth& h) {
        if (h.consecutive_failures == 0)
            return false;  // nothing changes: spare the fsync on every successful task
        h.consecutive_failures = 0;
        if (!h.quarantined)
            h.since.clear();
        return true;
    });
    if (!r)
        return r.error();
    return Done{};
}

Result<Done> QuarantineStore::release(const std::string& machine) {
    if (auto ok = check_name(machine); !ok)
        return ok.error();
    std::lock_guard guard(*mutex_);
    auto lock = DirLock::take(dir_);
    if (!lock)
        return lock.error();
    auto file = file_of(machine);
    if (::unlink(file.c_str()) != 0) {
        if (errno == ENOENT)
            return Done{};
        return Error{
            "io", "cannot remove machine health file " + file.string() + ": " + errno_text(errno)};
    }
    return fsync_dir(dir_);
}

}  // namespace botscope::machinery
