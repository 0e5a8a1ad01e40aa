// botscope-agent: command line, secret, work directory, transport; then serves forever.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "agent.h"
#include "transport.h"

namespace {

using namespace botscope::guest;
namespace fs = std::filesystem;
namespace proto = botscope::agent::proto;

constexpr const char* kUsage =
    "usage: botscope-agent --secret-file FILE --workdir DIR [transport] [options]\n"
    "transport (default: --virtio org.botscope.agent.0):\n"
    "  --virtio NAME        the virtio-serial port with this name (Windows: or the port's\n"
    "                       path, opened as a plain device: Z:\\dev\\vport1p1 under Wine)\n"
    "  --tcp ADDR:PORT      TCP listener (fallback for guests without virtio; port 0 = any)\n"
    "  --allow ADDR         TCP: serve only this peer address, the controller's (repeatable)\n"
    "  --unix PATH          unix socket listener (Linux; tests)\n"
    "options:\n"
    "  --watch DIR          report files created/changed under DIR (repeatable; default: the\n"
    "                       work directory and the temp folder)\n"
    "  --autostart-root DIR Linux autostart locations are looked up under DIR (default /)\n"
    "  --auth-timeout MS    connect-to-authenticated limit (default 10000)\n"
    "  --frame-timeout MS   first-to-last byte of one frame (default 30000)\n"
    "  --idle-timeout MS    authenticated session without a request (default 3600000)\n"
    "  --poll MS            process watch interval (default 100)\n"
    "The secret file holds the per-VM secret: 16-1024 bytes, or its hex on one line.\n";

bool parse_ms(const char* s, int& out) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (!end || *end != '\0' || v < 1 || v > 86'400'000)
        return false;
    out = static_cast<int>(v);
    return true;
}

bool load_secret(const fs::path& p, std::vector<std::uint8_t>& secret, std::string& error) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        error = "cannot read secret file " + p.string();
        return false;
    }
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    error = proto::parse_secret(data, secret);
    return error.empty();
}

}  // namespace

int main(int argc, char** argv) {
    Config config;
    std::string secret_file, tcp, unix_path, virtio = "org.botscope.agent.0";
    std::vector<std::string> watch;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "botscope-agent: %s needs a value\n%s", a.c_str(), kUsage);
                std::exit(2);
            }
            return argv[++i];
        };
        bool ok = true;
        if (a == "--secret-file")
            secret_file = value();
        else if (a == "--workdir")
            config.workdir = value();
        else if (a == "--tcp")
            tcp = value();
        else if (a == "--unix")
            unix_path = value();
        else if (a == "--virtio")
            virtio = value();
        else if (a == "--watch")
            watch.emplace_back(value());
        else if (a == "--autostart-root")
            config.autostart_root = value();
        else if (a == "--auth-timeout")
            ok = parse_ms(value(), config.auth_timeout_ms);
        else if (a == "--frame-timeout")
            ok = parse_ms(value(), config.frame_timeout_ms);
        else if (a == "--idle-timeout")
            ok = parse_ms(value(), config.idle_timeout_ms);
        else if (a == "--poll")
            ok = parse_ms(value(), config.poll_ms);
        else if (a == "--allow")
            config.allow.emplace_back(value());
        else if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else {
            std::fprintf(stderr, "botscope-agent: unknown option %s\n%s", a.c_str(), kUsage);
            return 2;
        }
        if (!ok) {
            std::fprintf(stderr, "botscope-agent: bad value for %s\n", a.c_str());
            return 2;
        }
    }
    if (secret_file.empty() || config.workdir.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    std::string error;
    if (!load_secret(secret_file, config.secret, error)) {
        std::fprintf(stderr, "botscope-agent: %s\n", error.c_str());
        return 2;
    }
    std::error_code ec;
    config.workdir = fs::absolute(config.workdir, ec);
    if (ec || !fs::is_directory(config.workdir, ec)) {
        std::fprintf(stderr, "botscope-agent: work directory %s does not exist\n",
                     config.workdir.string().c_str());
        return 2;
    }
    if (watch.empty()) {
        config.watch_dirs.push_back(config.workdir);
        fs::path tmp = fs::temp_directory_path(ec);
        if (!ec && fs::absolute(tmp, ec) != config.workdir)
            config.watch_dirs.push_back(tmp);
    } else {
        for (auto& w : watch)
            config.watch_dirs.push_back(fs::absolute(w, ec));
    }
    if (!transport_init(error)) {
        std::fprintf(stderr, "botscope-agent: %s\n", error.c_str());
        return 1;
    }
    std::unique_ptr<Listener> listener;
    if (!tcp.empty())
        listener = listen_tcp(tcp, error);
    else if (!unix_path.empty())
        listener = listen_unix(unix_path, error);
    else
        listener = open_virtio(virtio, error);
    if (!listener) {
        std::fprintf(stderr, "botscope-agent: %s\n", error.c_str());
        return 1;
    }
    // The one line on stdout: tests and scripts read the chosen port from it.
    std::printf("botscope-agent listening on %s\n", listener->where().c_str());
    std::fflush(stdout);
    Agent agent(std::move(config));
    return agent.serve(*listener);
}
