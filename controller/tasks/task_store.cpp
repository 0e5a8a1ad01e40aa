#include "tasks/task_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "report/atomic_file.h"
#include "tasks/task_runner.h"
#include "util/hash.h"

namespace botscope::tasks {

namespace fs = std::filesystem;
using report::Json;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "localhost";
    return buf;
}

util::Error store_error(const std::string& what, const QSqlError& e) {
    std::string detail = e.text().toStdString();
    return util::Error{"store", what + ": " + (detail.empty() ? "unknown database error" : detail)};
}

/// The columns every read selects, in TaskRecord's order.
constexpr const char* kColumns =
    "id, sha256, sample_path, options, priority, state, attempts, machine, avoid, owner, stage, "
    "error, queued, started, finished, timings";

std::string text(const QVariant& v) {
    return v.isNull() ? std::string() : v.toString().toStdString();
}

TaskRecord read_record(const QSqlQuery& q) {
    TaskRecord r;
    r.id = q.value(0).toLongLong();
    r.sha256 = text(q.value(1));
    r.sample_path = text(q.value(2));
    Json o = Json::parse(text(q.value(3)), nullptr, false);
    r.options = TaskOptions::from_json(o.is_object() ? o : Json::object());
    r.priority = q.value(4).toInt();
    r.state = parse_state(text(q.value(5))).value_or(TaskState::failed);
    r.attempts = q.value(6).toInt();
    r.machine = text(q.value(7));
    r.avoid = text(q.value(8));
    r.owner = text(q.value(9));
    r.stage = text(q.value(10));
    r.error = text(q.value(11));
    r.queued_ms = q.value(12).toLongLong();
    r.started_ms = q.value(13).toLongLong();
    r.finished_ms = q.value(14).toLongLong();
    r.timings = Json::parse(text(q.value(15)), nullptr, false);
    if (r.timings.is_discarded())
        r.timings = nullptr;
    return r;
}

QVariant null_if_empty(const std::string& s) {
    return s.empty() ? QVariant() : QVariant(QString::fromStdString(s));
}

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

/// The highest numbered folder in <data>/tasks: tasks submitted before the store existed keep
/// their numbers, new ones count on from there.
std::int64_t highest_task_folder(const fs::path& data_dir) {
    std::int64_t top = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(data_dir / "tasks", ec)) {
        std::string n = e.path().filename().string();
        std::int64_t v = 0;
        auto [p, err] = std::from_chars(n.data(), n.data() + n.size(), v);
        if (err == std::errc() && p == n.data() + n.size())
            top = std::max(top, v);
    }
    return top;
}

}  // namespace

const char* state_name(TaskState s) {
    switch (s) {
        case TaskState::pending:
            return "pending";
        case TaskState::running:
            return "running";
        case TaskState::analysing:
            return "analysing";
        case TaskState::reported:
            return "reported";
        case TaskState::failed:
            return "failed";
    }
    return "failed";
}

std::optional<TaskState> parse_state(std::string_view s) {
    for (auto st : {TaskState::pending, TaskState::running, TaskState::analysing,
                    TaskState::reported, TaskState::failed})
        if (s == state_name(st))
            return st;
    return std::nullopt;
}

Json TaskOptions::to_json() const {
    Json j = Json::object();
    if (timeout)
        j["timeout"] = timeout->count();
    if (machine)
        j["machine"] = *machine;
    if (operator_script)
        j["operator"] = *operator_script;
    if (!dns.empty())
        j["dns"] = dns;
    if (platform)
        j["platform"] = *platform;
    return j;
}

TaskOptions TaskOptions::from_json(const Json& j) {
    TaskOptions o;
    if (auto t = j.find("timeout"); t != j.end() && t->is_number_integer())
        o.timeout = std::chrono::seconds(t->get<std::int64_t>());
    if (auto m = j.find("machine"); m != j.end() && m->is_string())
        o.machine = m->get<std::string>();
    if (auto m = j.find("operator"); m != j.end() && m->is_string())
        o.operator_script = m->get<std::string>();
    if (auto d = j.find("dns"); d != j.end() && d->is_array())
        for (const auto& e : *d)
            if (e.is_string())
                o.dns.push_back(e.get<std::string>());
    if (auto p = j.find("platform"); p != j.end() && p->is_string())
        o.platform = p->get<std::string>();
    return o;
}

struct TaskStore::Impl {
    QString connection;
    bool postgres = false;
    std::string host = host_name();

    QSqlDatabase db() const { return QSqlDatabase::database(connection, false); }

    /// Prepares and runs `sql` with `binds` in order. Error names `what`.
    util::Result<QSqlQuery> exec(const std::string& what, const std::string& sql,
                                 const std::vector<QVariant>& binds = {}) {
        // A lock another controller holds for a moment (SQLite's busy timeout covers most;
        // PostgreSQL serialisation on a schema change) is retried, a few times.
        for (int attempt = 0;; ++attempt) {
            QSqlQuery q(db());
            bool ok = false;
            if (binds.empty()) {
                // PostgreSQL cannot prepare DDL (CREATE TABLE): statements without values run
                // as they are.
                ok = q.exec(qs(sql));
            } else {
                if (!q.prepare(qs(sql)))
                    return store_error(what, q.lastError());
                for (const auto& b : binds)
                    q.addBindValue(b);
                ok = q.exec();
            }
            if (ok)
                return q;
            QSqlError e = q.lastError();
            bool busy = e.text().contains("locked") || e.text().contains("busy");
            if (!busy || attempt >= 20)
                return store_error(what, e);
            std::this_thread::sleep_for(std::chrono::milliseconds(50 * (attempt + 1)));
        }
    }
};

util::Result<TaskStore> TaskStore::open(const Config& config, const std::string& name) {
    static std::atomic<unsigned> counter{0};
    const auto& sc = config.store;
    TaskStore store;
    store.impl_ = new Impl;
    Impl& im = *store.impl_;
    im.connection = qs("botscope-" + name + "-" + std::to_string(counter++));
    im.postgres = sc.driver == "postgres";
    {
        QSqlDatabase db =
            QSqlDatabase::addDatabase(im.postgres ? "QPSQL" : "QSQLITE", im.connection);
        if (!db.isValid())
            return util::Error{
                "store", std::string("the Qt Sql driver ") + (im.postgres ? "QPSQL" : "QSQLITE") +
                             " is not installed (libqt6sql6-" + (im.postgres ? "psql" : "sqlite") +
                             "; tools/setup installs it)"};
        if (im.postgres) {
            db.setHostName(qs(sc.host));
            db.setPort(sc.port);
            db.setDatabaseName(qs(sc.database));
            if (!sc.user.empty())
                db.setUserName(qs(sc.user));
            if (!sc.password_file.empty()) {
                std::ifstream in(sc.password_file);
                std::string pw;
                if (!in || !std::getline(in, pw))
                    return util::Error{
                        "store", "cannot read the password file " + sc.password_file.string()};
                db.setPassword(qs(pw));
            }
            db.setConnectOptions("connect_timeout=10");
            store.describe_ =
                "postgres:" + sc.database + "@" + sc.host + ":" + std::to_string(sc.port);
        } else {
            fs::path file = sc.path.empty() ? config.data_dir / "tasks.db" : sc.path;
            std::error_code ec;
            fs::create_directories(file.parent_path(), ec);
            if (ec)
                return util::Error{
                    "store", "cannot create " + file.parent_path().string() + ": " + ec.message()};
            db.setDatabaseName(qs(file.string()));
            // Several controllers and threads write: wait for the lock rather than fail.
            db.setConnectOptions("QSQLITE_BUSY_TIMEOUT=30000");
            store.describe_ = "sqlite:" + file.string();
        }
        if (!db.open())
            return store_error("cannot open the task store " + store.describe_, db.lastError());
    }
    if (!im.postgres) {
        // WAL: readers (botscope status) never wait for the writers. synchronous=NORMAL keeps
        // every commit across a crash of the process, which is what kill -9 tests.
        for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"})
            if (auto r = im.exec("cannot set up " + store.describe_, pragma); !r)
                return r.error();
    }
    const std::string id_column = im.postgres ? "id BIGINT GENERATED BY DEFAULT AS IDENTITY "
                                                "PRIMARY KEY"
                                              : "id INTEGER PRIMARY KEY AUTOINCREMENT";
    const std::string schema[] = {
        "CREATE TABLE IF NOT EXISTS tasks (" + id_column +
            ", sha256 TEXT NOT NULL, dedup TEXT UNIQUE, sample_path TEXT NOT NULL, "
            "options TEXT NOT NULL, want TEXT, priority INTEGER NOT NULL DEFAULT 0, state TEXT NOT "
            "NULL, "
            "attempts INTEGER NOT NULL DEFAULT 0, machine TEXT, avoid TEXT, owner TEXT, "
            "stage TEXT, error TEXT, queued BIGINT NOT NULL, started BIGINT, finished BIGINT, "
            "timings TEXT, platform TEXT)",
        "CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state, priority, id)",
        "CREATE TABLE IF NOT EXISTS controllers (id TEXT PRIMARY KEY, host TEXT NOT NULL, "
        "pid BIGINT NOT NULL, started BIGINT NOT NULL, heartbeat BIGINT NOT NULL)",
    };
    for (const auto& sql : schema) {
        // Two controllers starting at once on PostgreSQL can race on CREATE ... IF NOT EXISTS
        // (a unique violation in its catalogue): the loser finds the table made next time.
        util::Result<QSqlQuery> r = util::Error{};
        for (int attempt = 0; attempt < 5; ++attempt) {
            r = im.exec("cannot create the tables of " + store.describe_, sql);
            if (r)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        if (!r)
            return r.error();
    }
    // A store made before tasks knew their platform gets the column (NULL: any machine).
    if (!im.exec("probe " + store.describe_, "SELECT platform FROM tasks WHERE 1 = 0"))
        if (auto r = im.exec("cannot add the platform column to " + store.describe_,
                             "ALTER TABLE tasks ADD COLUMN platform TEXT");
            !r)
            return r.error();
    // A store made beside folders of earlier tasks numbers its tasks after them.
    auto empty = im.exec("cannot read " + store.describe_, "SELECT COUNT(*) FROM tasks");
    if (!empty)
        return empty.error();
    if (empty->next() && empty->value(0).toLongLong() == 0) {
        if (std::int64_t top = highest_task_folder(config.data_dir); top > 0) {
            std::string sql =
                im.postgres ? "SELECT setval(pg_get_serial_sequence('tasks', 'id'), ?)"
                            : "INSERT INTO sqlite_sequence (name, seq) SELECT 'tasks', ? WHERE NOT "
                              "EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'tasks')";
            if (auto r = im.exec("cannot number the tasks of " + store.describe_, sql,
                                 {QVariant::fromValue<qlonglong>(top)});
                !r)
                return r.error();
        }
    }
    return store;
}

TaskStore::TaskStore(TaskStore&& o) noexcept : impl_(o.impl_), describe_(std::move(o.describe_)) {
    o.impl_ = nullptr;
}

TaskStore::~TaskStore() {
    if (!impl_)
        return;
    QString name = impl_->connection;
    {
        QSqlDatabase db = QSqlDatabase::database(name, false);
        if (db.isOpen())
            db.close();
    }
    QSqlDatabase::removeDatabase(name);
    delete impl_;
}

util::Result<Enqueued> TaskStore::enqueue(const std::string& sha256, const std::string& sample_path,
                                          const TaskOptions& options, int priority, bool force) {
    auto& im = *impl_;
    // dedup holds the hash of every task queued without --force; UNIQUE makes the check and
    // the insert one step, whichever controller comes first.
    auto ins = im.exec("cannot queue " + sample_path,
                       "INSERT INTO tasks (sha256, dedup, sample_path, options, want, priority, "
                       "state, queued, platform) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON "
                       "CONFLICT DO NOTHING RETURNING id",
                       {qs(sha256), force ? QVariant() : QVariant(qs(sha256)), qs(sample_path),
                        qs(options.to_json().dump()),
                        options.machine ? QVariant(qs(*options.machine)) : QVariant(), priority,
                        QVariant::fromValue<qlonglong>(now_ms()),
                        options.platform ? QVariant(qs(*options.platform)) : QVariant()});
    if (!ins)
        return ins.error();
    if (ins->next())
        return Enqueued{ins->value(0).toLongLong(), false, TaskState::pending};
    auto q = im.exec("cannot read " + describe_, "SELECT id, state FROM tasks WHERE dedup = ?",
                     {qs(sha256)});
    if (!q)
        return q.error();
    if (!q->next())
        return util::Error{"store", "the task of " + sha256 + " vanished while it was queued"};
    return Enqueued{q->value(0).toLongLong(), true,
                    parse_state(text(q->value(1))).value_or(TaskState::failed)};
}

util::Result<std::optional<TaskRecord>> TaskStore::claim(const std::string& owner,
                                                         const std::string& machine,
                                                         const std::string& platform,
                                                         std::optional<std::int64_t> only,
                                                         bool honour_avoid) {
    auto& im = *impl_;
    std::string pick =
        "SELECT id FROM tasks WHERE state = 'pending' AND (want IS NULL OR want = ?) AND "
        "(platform IS NULL OR platform = ?)";
    std::vector<QVariant> binds = {qs(owner), QVariant::fromValue<qlonglong>(now_ms()), qs(machine),
                                   qs(machine), qs(platform)};
    if (honour_avoid) {
        pick += " AND (avoid IS NULL OR avoid <> ?)";
        binds.push_back(qs(machine));
    }
    if (only) {
        pick += " AND id = ?";
        binds.push_back(QVariant::fromValue<qlonglong>(*only));
    }
    pick += " ORDER BY priority DESC, id LIMIT 1";
    if (im.postgres)
        pick += " FOR UPDATE SKIP LOCKED";
    auto q = im.exec("cannot claim a task in " + describe_,
                     "UPDATE tasks SET state = 'running', owner = ?, started = ?, machine = ?, "
                     "attempts = attempts + 1, stage = NULL WHERE id = (" +
                         pick + ") AND state = 'pending' RETURNING " + kColumns,
                     binds);
    if (!q)
        return q.error();
    if (!q->next())
        return std::optional<TaskRecord>();
    return std::optional<TaskRecord>(read_record(q.value()));
}

util::Result<util::Done> TaskStore::set_stage(std::int64_t id, const std::string& owner,
                                              const std::string& stage) {
    auto q = impl_->exec("cannot record task " + std::to_string(id) + "'s stage",
                         "UPDATE tasks SET stage = ? WHERE id = ? AND owner = ?",
                         {qs(stage), QVariant::fromValue<qlonglong>(id), qs(owner)});
    if (!q)
        return q.error();
    return util::Done{};
}

util::Result<util::Done> TaskStore::to_analysing(std::int64_t id, const std::string& owner) {
    auto q = impl_->exec("cannot record task " + std::to_string(id) + "'s analysis",
                         "UPDATE tasks SET state = 'analysing', stage = 'analyse' WHERE id = ? "
                         "AND owner = ?",
                         {QVariant::fromValue<qlonglong>(id), qs(owner)});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return util::Error{"store",
                           "task " + std::to_string(id) + " is no longer held by " + owner};
    return util::Done{};
}

util::Result<util::Done> TaskStore::finish(std::int64_t id, const std::string& owner, bool ok,
                                           const std::string& stage, const std::string& error,
                                           const Json& timings) {
    auto q = impl_->exec("cannot record the end of task " + std::to_string(id),
                         "UPDATE tasks SET state = ?, owner = NULL, stage = ?, error = ?, "
                         "finished = ?, timings = ? WHERE id = ? AND owner = ?",
                         {ok ? "reported" : "failed", null_if_empty(stage), null_if_empty(error),
                          QVariant::fromValue<qlonglong>(now_ms()),
                          timings.is_object() ? QVariant(qs(timings.dump())) : QVariant(),
                          QVariant::fromValue<qlonglong>(id), qs(owner)});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return util::Error{"store",
                           "task " + std::to_string(id) + " is no longer held by " + owner};
    return util::Done{};
}

util::Result<TaskState> TaskStore::requeue(std::int64_t id, const std::string& owner,
                                           const std::string& avoid, int max_attempts,
                                           const std::string& why, bool refund) {
    const int limit = max_attempts + (refund ? 1 : 0);
    auto q = impl_->exec(
        "cannot queue task " + std::to_string(id) + " again",
        "UPDATE tasks SET state = CASE WHEN attempts < ? THEN 'pending' ELSE 'failed' END, "
        "attempts = attempts - ?, owner = NULL, avoid = ?, error = ?, "
        "finished = CASE WHEN attempts < ? THEN NULL ELSE CAST(? AS BIGINT) END WHERE id = ? AND "
        "owner = ? "
        "RETURNING state",
        {limit, refund ? 1 : 0, null_if_empty(avoid), null_if_empty(why), limit,
         QVariant::fromValue<qlonglong>(now_ms()), QVariant::fromValue<qlonglong>(id), qs(owner)});
    if (!q)
        return q.error();
    if (!q->next())
        return util::Error{"store",
                           "task " + std::to_string(id) + " is no longer held by " + owner};
    return parse_state(text(q->value(0))).value_or(TaskState::failed);
}

util::Result<bool> TaskStore::take_over(std::int64_t id, const std::string& from,
                                        const std::string& to) {
    auto q = impl_->exec("cannot take over task " + std::to_string(id),
                         "UPDATE tasks SET owner = ? WHERE id = ? AND owner = ?",
                         {qs(to), QVariant::fromValue<qlonglong>(id), qs(from)});
    if (!q)
        return q.error();
    return q->numRowsAffected() == 1;
}

util::Result<std::int64_t> TaskStore::fail_pending(const std::vector<std::int64_t>& ids,
                                                   const std::string& why,
                                                   const std::string& platform) {
    std::int64_t n = 0;
    for (auto id : ids) {
        auto q = impl_->exec("cannot fail task " + std::to_string(id),
                             "UPDATE tasks SET state = 'failed', stage = 'queue', error = ?, "
                             "finished = ? WHERE id = ? AND state = 'pending' AND (? = '' OR "
                             "platform = ?)",
                             {qs(why), QVariant::fromValue<qlonglong>(now_ms()),
                              QVariant::fromValue<qlonglong>(id), qs(platform), qs(platform)});
        if (!q)
            return q.error();
        n += q->numRowsAffected();
    }
    return n;
}

util::Result<std::optional<TaskRecord>> TaskStore::get(std::int64_t id) {
    auto q = impl_->exec("cannot read task " + std::to_string(id),
                         std::string("SELECT ") + kColumns + " FROM tasks WHERE id = ?",
                         {QVariant::fromValue<qlonglong>(id)});
    if (!q)
        return q.error();
    if (!q->next())
        return std::optional<TaskRecord>();
    return std::optional<TaskRecord>(read_record(q.value()));
}

util::Result<std::vector<TaskRecord>> TaskStore::get_many(const std::vector<std::int64_t>& ids) {
    std::vector<TaskRecord> out;
    constexpr std::size_t kChunk = 500;  // well under every engine's bind limit
    for (std::size_t at = 0; at < ids.size(); at += kChunk) {
        std::string sql = std::string("SELECT ") + kColumns + " FROM tasks WHERE id IN (";
        std::vector<QVariant> binds;
        for (std::size_t i = at; i < std::min(ids.size(), at + kChunk); ++i) {
            sql += i == at ? "?" : ", ?";
            binds.push_back(QVariant::fromValue<qlonglong>(ids[i]));
        }
        auto q = impl_->exec("cannot read the tasks of " + describe_, sql + ")", binds);
        if (!q)
            return q.error();
        while (q->next())
            out.push_back(read_record(q.value()));
    }
    return out;
}

util::Result<std::vector<TaskRecord>> TaskStore::list(const std::vector<TaskState>& states,
                                                      std::size_t limit) {
    std::string sql = std::string("SELECT ") + kColumns + " FROM tasks";
    std::vector<QVariant> binds;
    if (!states.empty()) {
        sql += " WHERE state IN (";
        for (std::size_t i = 0; i < states.size(); ++i) {
            sql += i ? ", ?" : "?";
            binds.emplace_back(state_name(states[i]));
        }
        sql += ")";
    }
    sql += " ORDER BY id DESC LIMIT ?";
    binds.push_back(QVariant::fromValue<qlonglong>(static_cast<qlonglong>(limit)));
    auto q = impl_->exec("cannot list the tasks of " + describe_, sql, binds);
    if (!q)
        return q.error();
    std::vector<TaskRecord> out;
    while (q->next())
        out.push_back(read_record(q.value()));
    return out;
}

util::Result<QueueCounts> TaskStore::counts() {
    auto q = impl_->exec("cannot count the tasks of " + describe_,
                         "SELECT state, COUNT(*) FROM tasks GROUP BY state");
    if (!q)
        return q.error();
    QueueCounts c;
    while (q->next()) {
        auto s = parse_state(text(q->value(0)));
        std::int64_t n = q->value(1).toLongLong();
        if (!s)
            continue;
        switch (*s) {
            case TaskState::pending:
                c.pending = n;
                break;
            case TaskState::running:
                c.running = n;
                break;
            case TaskState::analysing:
                c.analysing = n;
                break;
            case TaskState::reported:
                c.reported = n;
                break;
            case TaskState::failed:
                c.failed = n;
                break;
        }
    }
    return c;
}

util::Result<util::Done> TaskStore::register_controller(const std::string& id) {
    auto t = QVariant::fromValue<qlonglong>(now_ms());
    auto q =
        impl_->exec("cannot register the controller in " + describe_,
                    "INSERT INTO controllers (id, host, pid, started, heartbeat) VALUES "
                    "(?, ?, ?, ?, ?)",
                    {qs(id), qs(impl_->host), QVariant::fromValue<qlonglong>(::getpid()), t, t});
    if (!q)
        return q.error();
    return util::Done{};
}

util::Result<util::Done> TaskStore::heartbeat(const std::string& id) {
    auto q = impl_->exec("cannot update the controller's heartbeat in " + describe_,
                         "UPDATE controllers SET heartbeat = ? WHERE id = ?",
                         {QVariant::fromValue<qlonglong>(now_ms()), qs(id)});
    if (!q)
        return q.error();
    return util::Done{};
}

util::Result<util::Done> TaskStore::unregister_controller(const std::string& id) {
    auto q = impl_->exec("cannot unregister the controller in " + describe_,
                         "DELETE FROM controllers WHERE id = ?", {qs(id)});
    if (!q)
        return q.error();
    return util::Done{};
}

util::Result<std::vector<ControllerRow>> TaskStore::controllers() {
    auto q = impl_->exec("cannot list the controllers in " + describe_,
                         "SELECT id, host, pid, started, heartbeat FROM controllers ORDER BY id");
    if (!q)
        return q.error();
    std::vector<ControllerRow> out;
    while (q->next())
        out.push_back({text(q->value(0)), text(q->value(1)), q->value(2).toLongLong(),
                       q->value(3).toLongLong(), q->value(4).toLongLong()});
    return out;
}

util::Result<std::vector<TaskRecord>> TaskStore::orphans(std::chrono::seconds stale) {
    auto ctl = controllers();
    if (!ctl)
        return ctl.error();
    std::set<std::string> alive;
    const std::int64_t now = now_ms();
    for (const auto& c : ctl.value()) {
        // On this host the pid says it at once (a controller busy in a long libvirt call is
        // alive); elsewhere only the heartbeat can.
        bool dead = c.host == impl_->host
                        ? ::kill(static_cast<pid_t>(c.pid), 0) != 0 && errno == ESRCH
                        : now - c.heartbeat_ms > stale.count() * 1000;
        if (!dead)
            alive.insert(c.id);
        else
            (void)impl_->exec("cannot remove a dead controller",
                              "DELETE FROM controllers WHERE "
                              "id = ?",
                              {qs(c.id)});
    }
    auto held = list({TaskState::running, TaskState::analysing}, 100000);
    if (!held)
        return held.error();
    std::vector<TaskRecord> out;
    for (auto& t : held.value())
        if (!alive.count(t.owner))
            out.push_back(std::move(t));
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
}

std::string new_controller_id() {
    std::mt19937_64 r{std::random_device{}()};
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r()));
    return host_name() + ":" + std::to_string(::getpid()) + ":" + std::string(buf, 8);
}

util::Result<std::unique_ptr<ControllerPresence>> ControllerPresence::start(const Config& config,
                                                                            const std::string& id) {
    {
        auto s = TaskStore::open(config, "presence");
        if (!s)
            return s.error();
        if (auto r = s->register_controller(id); !r)
            return r.error();
    }
    std::unique_ptr<ControllerPresence> p(new ControllerPresence);
    p->thread_ = std::thread([&config, id, self = p.get()] {
        auto s = TaskStore::open(config, "heartbeat");
        std::unique_lock lock(self->mu_);
        while (!self->stop_) {
            if (self->cv_.wait_for(lock, std::chrono::seconds(5), [self] { return self->stop_; }))
                break;
            lock.unlock();
            if (s)
                (void)s->heartbeat(id);
            lock.lock();
        }
        lock.unlock();
        if (s)
            (void)s->unregister_controller(id);
    });
    return p;
}

ControllerPresence::~ControllerPresence() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

fs::path stored_sample_path(const fs::path& data_dir, const std::string& sha256) {
    return data_dir / "samples" / sha256;
}

std::string sample_platform(std::span<const std::uint8_t> head) {
    auto at = [&](std::size_t i) -> unsigned { return i < head.size() ? head[i] : 0u; };
    if (at(0) == 0x7f && at(1) == 'E' && at(2) == 'L' && at(3) == 'F')
        return "linux";
    if (at(0) == '#' && at(1) == '!')
        return "linux";
    if (at(0) == 'M' && at(1) == 'Z') {
        std::size_t pe = at(0x3c) | at(0x3d) << 8 | at(0x3e) << 16 | std::size_t(at(0x3f)) << 24;
        if (pe >= 0x40 && pe + 4 <= head.size() && at(pe) == 'P' && at(pe + 1) == 'E' &&
            at(pe + 2) == 0 && at(pe + 3) == 0)
            return "windows";
    }
    return "";
}

util::Result<StoredSample> store_sample(const fs::path& data_dir, const fs::path& sample) {
    auto s = read_sample_file(sample);
    if (!s)
        return s.error();
    StoredSample out;
    out.sha256 = s->sha256;
    out.size = s->bytes.size();
    out.platform = sample_platform(s->bytes);
    out.path = stored_sample_path(data_dir, out.sha256);
    std::error_code ec;
    if (fs::exists(out.path, ec) && fs::file_size(out.path, ec) == out.size)
        return out;
    fs::create_directories(out.path.parent_path(), ec);
    if (ec)
        return util::Error{
            "data_dir", "cannot create " + out.path.parent_path().string() + ": " + ec.message()};
    std::string err =
        report::write_file_atomic(out.path.string(), std::string(s->bytes.begin(), s->bytes.end()));
    if (!err.empty())
        return util::Error{"data_dir", "cannot store the sample: " + err};
    return out;
}

}  // namespace botscope::tasks
