#include "options.h"

#include "dns_client.h"
#include "util/text.h"

namespace botscope::botemu {

namespace {

util::Error usage_error(std::string why) {
    return util::Error{"usage", std::move(why)};
}

std::optional<int> bounded(std::string_view text, int lo, int hi) {
    auto v = util::parse_u64(text);
    if (!v || *v < static_cast<std::uint64_t>(lo) || *v > static_cast<std::uint64_t>(hi))
        return std::nullopt;
    return static_cast<int>(*v);
}

}  // namespace

util::Result<Options> parse_options(std::span<const std::string_view> args) {
    Options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view opt = args[i];
        if (opt == "--help" || opt == "-h") {
            o.help = true;
            continue;
        }
        if (i + 1 == args.size())
            return usage_error(std::string(opt) +
                               (opt.starts_with("--") ? " needs a value" : ": unknown argument"));
        const std::string_view value = args[++i];
        auto range = [&](int lo, int hi) -> std::optional<int> { return bounded(value, lo, hi); };
        if (opt == "--cnc") {
            if (!is_valid_hostname(value) && !fakenet::parse_ipv4(value))
                return usage_error("--cnc: not a host name or address: " + std::string(value));
            o.cnc = std::string(value);
        } else if (opt == "--port") {
            auto v = range(1, 65535);
            if (!v)
                return usage_error("--port: 1 to 65535");
            o.port = static_cast<std::uint16_t>(*v);
        } else if (opt == "--resolver") {
            o.resolver = fakenet::parse_ipv4(value);
            if (!o.resolver)
                return usage_error("--resolver: not an IPv4 address: " + std::string(value));
        } else if (opt == "--max-seconds") {
            auto v = range(1, kMaxMaxSeconds);
            if (!v)
                return usage_error("--max-seconds: 1 to " + std::to_string(kMaxMaxSeconds));
            o.max_seconds = *v;
        } else if (opt == "--beacon-seconds") {
            auto v = range(kMinBeaconSeconds, kMaxBeaconSeconds);
            if (!v)
                return usage_error("--beacon-seconds: " + std::to_string(kMinBeaconSeconds) +
                                   " to " + std::to_string(kMaxBeaconSeconds));
            o.beacon_seconds = *v;
        } else {
            return usage_error("unknown option " + std::string(opt));
        }
    }
    return o;
}

std::string usage_text() {
    return "usage: botscope-botemu [--cnc NAME] [--port N] [--resolver IP] [--max-seconds S]\n"
           "                       [--beacon-seconds S]\n"
           "A bounded, harmless IRC bot of 2004-2005 for the botscope sandbox. It refuses to run\n"
           "unless its resolver, its C&C's address and its own address are inside " +
           kSandboxNet.to_string() +
           ".\n"
           "  --cnc NAME          C&C host name (default " +
           std::string(kDefaultCnc) +
           ")\n"
           "  --port N            C&C port (default " +
           std::to_string(kDefaultCncPort) +
           ")\n"
           "  --resolver IP       DNS resolver (default: the first nameserver of\n"
           "                      /etc/resolv.conf; Windows: 10.66.0.1)\n"
           "  --max-seconds S     run at most S seconds (default " +
           std::to_string(kDefaultMaxSeconds) + ", at most " + std::to_string(kMaxMaxSeconds) +
           ")\n"
           "  --beacon-seconds S  HTTP beacon interval (default " +
           std::to_string(kDefaultBeaconSeconds) +
           ", 1 to 60)\n"
           "Exit codes: 0 done, 2 usage, 3 refused (outside the sandbox), 4 C&C unreachable.\n";
}

}  // namespace botscope::botemu
