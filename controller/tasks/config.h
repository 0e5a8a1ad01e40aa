#pragma once
// botscope.ini: where the data lives, how to reach libvirt, and the analysis machines, one
// section each (as Cuckoo's machinery files have them). Read with QSettings; every key is
// checked, an unknown one is an error (a typo must not silently fall back to a default).
//
// Found in this order: --config FILE, $BOTSCOPE_CONFIG, ~/.config/botscope/botscope.ini, else
// the built-in defaults, which point at the bundled Linux test guest (vm-templates/testguest).
// The data directory: --data-dir, $BOTSCOPE_DATA, data_dir in the file, /var/lib/botscope.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fakenet/sandbox.h"
#include "util/result.h"

namespace botscope::tasks {

struct Machine {
    std::string name;  ///< the section name; what `vm` commands and --machine take
    std::string domain;
    std::string snapshot = "clean";
    std::string platform = "linux";  ///< linux or windows: how the sample is named and run
    std::string ip;                  ///< the guest's address (the analysed host of its captures)
    std::filesystem::path secret_file;
    /// "virtio" (the channel's unix socket, from the live domain XML) or "tcp:ADDR:PORT".
    std::string transport = "virtio";
    std::string channel = "org.botscope.agent.0";
    /// Capture interface; empty = the domain's tap device, read after each revert.
    std::string interface;
};

/// [fakenet]: the fake internet on the analysis network (one instance serves every guest on it).
struct FakenetConfig {
    bool enabled = true;               ///< false: guests get no answers (the firewall still holds)
    std::string bridge = "virbr-bs0";  ///< the analysis network's bridge
    /// subnet, address (the host's, which fakenet listens on and every name resolves to) and
    /// target ($TARGET of operator scripts); `guests` are the machines' addresses.
    fakenet::Sandbox sandbox;
    fakenet::Ipv4 listen = 0;  ///< where fakenet binds; 0: sandbox.host
    std::uint16_t tcp_port = 65530;
    std::uint16_t udp_port = 65530;
    bool firewall = true;  ///< the nftables table and the decoy addresses (deny by default)
    std::filesystem::path control = "/run/botscope/fakenet.sock";
    std::filesystem::path lock = "/run/botscope/fakenet.lock";
    std::filesystem::path log_file = "/var/log/botscope/fakenet.log";
    std::string operator_script = "default";  ///< a name in signatures/operator, a path, or ""
    std::map<std::string, fakenet::Ipv4> dns_names;  ///< lower-case name -> sandbox address
    std::set<std::string> dns_nxdomain;              ///< names answered NXDOMAIN (a dead C&C)
    std::size_t mail_keep = 20;                      ///< messages stored per task as .eml
};

/// [store]: the task queue (tasks/task_store.h).
struct StoreConfig {
    std::string driver = "sqlite";  ///< sqlite (one host) or postgres (several hosts)
    std::filesystem::path path;     ///< sqlite: the database file; empty: <data_dir>/tasks.db
    std::string host;               ///< postgres: a host name, or a unix socket's directory
    std::uint16_t port = 5432;
    std::string database = "botscope";
    std::string user;  ///< empty: the libpq default (this user's name)
    /// A file holding the password (read when connecting, never stored in the INI file).
    std::filesystem::path password_file;
};

struct Config {
    std::filesystem::path source;  ///< the file read; empty = built-in defaults
    std::filesystem::path data_dir = "/var/lib/botscope";
    std::string libvirt_uri = "qemu:///system";
    std::chrono::seconds timeout{30};          ///< default run time of a sample
    std::chrono::seconds libvirt_timeout{60};  ///< deadline of one libvirt call
    std::chrono::seconds agent_timeout{20};    ///< connect + authenticate after a revert
    /// The whole collect stage, whatever the agent answers: 256 files of 1 MiB take 3 s here.
    std::chrono::seconds collect_timeout{120};
    /// The analysis of a task's capture runs in a child process held to these: a capture that
    /// makes it hang, crash or grow fails the analysis stage, not the controller.
    std::chrono::seconds analysis_timeout{600};
    std::uint64_t analysis_memory_bytes = 2048ull << 20;
    std::uint64_t capture_max_bytes = 256ull << 20;  ///< pcap size cap per task
    std::uint64_t dropped_max_bytes = 256ull << 20;  ///< fetched dropped files, in total
    bool destroy_after =
        true;  ///< power the VM off after a task (an infected VM idles at 25 % CPU)
    /// signatures/ (YARA rules, operator scripts); default: the source tree's.
    std::filesystem::path signatures_dir = BOTSCOPE_SIGNATURES_DIR;
    /// Further YARA rule trees (published sets), beside signatures/static and network.
    std::vector<std::filesystem::path> rules_dirs;
    std::chrono::seconds scan_timeout{60};  ///< YARA, per file scanned

    /// The YARA rule trees: signatures/static and signatures/network where they exist, then
    /// rules_dirs.
    std::vector<std::filesystem::path> rule_trees() const;
    std::vector<Machine> machines;
    FakenetConfig fakenet;
    StoreConfig store;
    /// Runs of one task on a VM before it fails: an interrupted run (the controller died) or a
    /// machine that failed before the sample ran is retried until then.
    int max_attempts = 2;

    const Machine* machine(const std::string& name) const;
};

/// Where a command line's options come from.
struct ConfigSources {
    std::optional<std::filesystem::path> config_file;  ///< --config
    std::optional<std::filesystem::path> data_dir;     ///< --data-dir
};

/// Finds and reads the configuration. Errors name the file and the key.
util::Result<Config> load_config(const ConfigSources& sources);

/// Reads one file (no search, no environment): tests and load_config.
util::Result<Config> read_config_file(const std::filesystem::path& path);

/// The built-in configuration: the bundled test guest.
Config default_config();

/// Parses a [fakenet] dns value: "name=10.66.0.5, dead.example=nxdomain". Errors name the entry.
util::Result<util::Done> parse_dns_overrides(const std::string& value, FakenetConfig& out);

/// The documented search order, for messages: which file was read, or "built-in defaults".
std::string describe_source(const Config& config);

}  // namespace botscope::tasks
