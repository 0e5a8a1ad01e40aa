#include "tasks/agent_session.h"

#include <fstream>
#include <iterator>
#include <thread>

#include "protocol/protocol.h"

namespace botscope::tasks {

util::Result<std::vector<std::uint8_t>> read_secret(const Machine& machine) {
    // Whoever can read the secret can pose as the controller to the guest, or as the agent to
    // the controller: a file others can read is refused, not used.
    namespace fs = std::filesystem;
    const std::string file = machine.secret_file.string();
    std::error_code ec;
    auto st = fs::status(machine.secret_file, ec);
    if (ec)
        return util::Error{"secret", "cannot read the agent secret of " + machine.name + " (" +
                                         file + "): " + ec.message()};
    auto perms = static_cast<unsigned>(st.permissions()) & 0777u;
    if ((perms & 044u) != 0) {
        std::string mode = {'0', static_cast<char>('0' + (perms >> 6)),
                            static_cast<char>('0' + ((perms >> 3) & 7u)),
                            static_cast<char>('0' + (perms & 7u))};
        return util::Error{"secret", "the agent secret of " + machine.name + " (" + file +
                                         ") is readable by group or others (mode " + mode +
                                         "): chmod 600 " + file};
    }
    std::ifstream in(machine.secret_file, std::ios::binary);
    if (!in)
        return util::Error{"secret", "cannot read the agent secret of " + machine.name + " (" +
                                         machine.secret_file.string() + ")"};
    std::string data(2 * agent::proto::kMaxSecretSize + 3, '\0');
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<std::size_t>(in.gcount()));
    std::vector<std::uint8_t> secret;
    std::string err = agent::proto::parse_secret(data, secret);
    if (!err.empty())
        return util::Error{"secret", machine.secret_file.string() + ": " + err};
    return secret;
}

util::Result<agent::Client> connect_agent(const Machine& machine, const std::string& agent_socket,
                                          const std::vector<std::uint8_t>& secret,
                                          std::chrono::milliseconds timeout) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + timeout;
    std::string where;
    std::string tcp_addr;
    std::uint16_t tcp_port = 0;
    if (machine.transport == "virtio") {
        if (agent_socket.empty())
            return util::Error{"no_channel", "domain " + machine.domain + " has no channel " +
                                                 machine.channel + " (see vm-templates/)"};
        where = agent_socket;
    } else {
        // "tcp:ADDR:PORT", checked when the configuration was read.
        auto colon = machine.transport.rfind(':');
        tcp_addr = machine.transport.substr(4, colon - 4);
        tcp_port = static_cast<std::uint16_t>(std::stoi(machine.transport.substr(colon + 1)));
        where = tcp_addr + ":" + std::to_string(tcp_port);
    }
    util::Error last{"timeout", "no attempt made"};
    int attempts = 0;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            break;
        agent::Options o;
        // Short attempts first, longer ones as they fail (1 s, 2 s, ... 5 s), none eating the
        // whole budget: a connection can land before the agent reopened its port (after a
        // revert, or right after collect closed the previous session), and what it sent then
        // is never answered. 5 s attempts made collect's new handshake cost 5 s.
        o.connect_timeout =
            std::min(left, std::chrono::milliseconds(std::min(1'000 * (attempts + 1), 5'000)));
        ++attempts;
        auto c = tcp_port ? agent::Client::connect_tcp(tcp_addr, tcp_port, secret, o)
                          : agent::Client::connect_unix(where, secret, o);
        if (c)
            return std::move(c.value());
        last = c.error();
        if (last.code == "fake_agent" || last.code == "auth_failed")
            break;  // a wrong secret does not get better with retries
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return util::Error{
        last.code == "fake_agent" || last.code == "auth_failed" ? last.code : "agent_timeout",
        "the agent of " + machine.name + " did not answer on " + where + " within " +
            std::to_string(timeout.count() / 1000) + " s (" + std::to_string(attempts) +
            " attempts; last: " + last.text() + ")"};
}

}  // namespace botscope::tasks
