#pragma once
// A real PostgreSQL server for one test (issue 13: the multi-host queue's store), in a fresh
// temporary folder, reachable only through a unix socket in that folder, stopped and removed at
// the end. Debian's packages (postgresql-15) provide the programs, /usr/lib/postgresql/<v>/bin;
// the newest version found is used.
//
// Layout: /tmp/botscope-pg-XXXXXX (mode 0755, the test's user) holds `pg` (the server's user,
// mode 0700): the data folder `pg/data`, the server log `pg/server.log` and the socket
// `pg/.s.PGSQL.<port>`. The server refuses to run as root, so a root test runs it, and initdb,
// as the `postgres` user (setpriv); a test run by anyone else runs it as that user.
//
// Authentication is `trust` on the socket: any local user that reaches the socket may log in
// as any role. Only the folder's owner and root can reach it (mode 0700 on `pg`), and there is
// no TCP listener (listen_addresses=''), so that is the server's user and root: our controller,
// which runs as root, connects as `postgres` without a password.
//
// Settings for speed, not durability: fsync, synchronous_commit and full_page_writes off. A
// test killed before its destructor runs leaves the server running; `pg_ctl -D
// /tmp/botscope-pg-*/pg/data stop` ends it.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace botscope::testing {

struct Run;

class PgServer {
public:
    /// Whether PostgreSQL's programs are here. A test skips only without them: once they are,
    /// a server that does not start is a failure.
    static bool installed();

    /// initdb into a fresh temporary folder, start the server (pg_ctl -w) and create the
    /// database `botscope`. Null, with `why` saying what failed (and the server log's tail),
    /// when PostgreSQL is not installed or does not start. `port` is a TCP port free when it
    /// started; it only names the socket file, nothing listens on it.
    static std::unique_ptr<PgServer> start(std::string* why);

    /// pg_ctl stop -m fast (then -m immediate, then SIGKILL), and removes the folder. Never
    /// throws.
    ~PgServer();
    PgServer(const PgServer&) = delete;
    PgServer& operator=(const PgServer&) = delete;

    /// What a client gives as host: the folder holding the socket.
    std::string socket_dir() const { return socket_dir_.string(); }
    int port() const { return port_; }
    std::string user() const { return "postgres"; }
    std::string database() const { return "botscope"; }
    /// The temporary folder holding everything, removed by the destructor.
    const std::filesystem::path& folder() const { return folder_; }
    /// A libpq connection string for the server.
    std::string conninfo() const;

    /// Runs `sql` (one or more statements, in one psql -c, so at most about 100 KiB) through
    /// psql on the socket, against database() as user(), stopping at the first error. Returns
    /// stdout: tuples only, unaligned ('|' between columns, one row a line). Throws
    /// std::runtime_error with psql's message when a statement fails: a test's SQL failing is
    /// a broken test.
    std::string psql(const std::string& sql) const { return psql_on(database(), sql); }

private:
    PgServer() = default;
    std::string configure() const;
    Run run(const std::vector<std::string>& argv) const;
    std::string psql_on(const std::string& database, const std::string& sql) const;
    bool stop(const char* mode) const;

    std::filesystem::path folder_, socket_dir_, data_dir_, log_, bin_dir_;
    int port_ = 0;
    bool started_ = false;
    bool as_postgres_ = false;  ///< the server's programs run as `postgres`: the test is root
};

}  // namespace botscope::testing
