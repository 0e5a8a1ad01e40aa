// The PostgreSQL fixture the multi-host queue's tests use (issue 13): a server of its own on a
// unix socket only, answering as `postgres`, and nothing of it left after the test. Skipped
// where PostgreSQL is not installed, unless BOTSCOPE_VM_REQUIRED says it must be; where it is
// installed, a server that does not start fails.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "support/pg_server.h"
#include "support/required.h"

namespace botscope::testing::test_pg_server {

namespace {

namespace fs = std::filesystem;

// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool tcp_listens(int port) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
}

// Whether process `pid` still runs; a zombie does not (where nothing reaps orphans, as in some
// containers, the stopped postmaster stays one).
bool running(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat))
        return false;
    auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

}  // namespace

TEST_CASE("pg server: a private PostgreSQL on a unix socket, gone with the fixture") {
    if (!PgServer::installed()) {
        const std::string why = "PostgreSQL is not installed (Debian package postgresql)";
        if (required("BOTSCOPE_VM_REQUIRED"))
            FAIL(why << " (BOTSCOPE_VM_REQUIRED is set: this must run here)");
        MESSAGE("skipped: " << why << " (set BOTSCOPE_VM_REQUIRED=1 to make this a failure)");
        return;
    }
    std::string why;
    auto pg = PgServer::start(&why);
    REQUIRE_MESSAGE(pg, why);
    CHECK(pg->user() == "postgres");
    CHECK(pg->database() == "botscope");
    CHECK(pg->psql("select 1") == "1\n");
    CHECK(pg->psql("select current_user, current_database()") == "postgres|botscope\n");

    pg->psql(
        "create table task (id serial primary key, sample text not null);"
        "insert into task (sample) values ('a.exe'), ('b.exe')");
    CHECK(pg->psql("select id, sample from task order by id") == "1|a.exe\n2|b.exe\n");
    CHECK_THROWS_AS(pg->psql("select * from no_such_table"), std::runtime_error);

    // Only the socket, in a folder only the server's user (and root) can enter.
    const fs::path socket = fs::path(pg->socket_dir()) / (".s.PGSQL." + std::to_string(pg->port()));
    CHECK(fs::is_socket(socket));
    struct stat st {};
    REQUIRE(::stat(pg->socket_dir().c_str(), &st) == 0);
    CHECK((st.st_mode & 077) == 0);
    CHECK_FALSE(tcp_listens(pg->port()));

    long pid = 0;
    std::ifstream(fs::path(pg->socket_dir()) / "data" / "postmaster.pid") >> pid;
    REQUIRE(pid > 1);
    const fs::path folder = pg->folder();
    pg.reset();
    CHECK_FALSE(fs::exists(folder));
    CHECK_FALSE(running(pid));  // pg_ctl -w stop returns once the postmaster has exited
}

}  // namespace botscope::testing::test_pg_server
