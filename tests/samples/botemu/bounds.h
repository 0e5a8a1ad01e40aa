#pragma once
// Every limit of the bot emulator, in one place. The emulator is a sample that botscope runs in
// its test guest; these numbers are what keep it harmless whatever its C&C tells it: it only
// talks to addresses of the analysis network, sends a few hundred packets at most, writes only
// its downloads, and ends by itself.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fakenet/sandbox.h"

namespace botscope::botemu {

using fakenet::Ipv4;

/// The analysis network (10.66.0.0/24). A compile-time constant on purpose: no option, file or
/// command can widen it. Every destination, resolved name and spoofed source must be in it.
inline constexpr fakenet::Subnet kSandboxNet{0x0A420000u, 24};

// --- Exit codes --------------------------------------------------------------------------------
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;
/// The safety gate refused: resolver, C&C address or local address outside the sandbox.
inline constexpr int kExitRefused = 3;
/// The C&C name did not resolve or no connection to it ever succeeded.
inline constexpr int kExitNoCnc = 4;

// --- Identity (what fakenet's operator script and the analysis expect) --------------------------
inline constexpr std::string_view kDefaultCnc = "cnc.botscope.test";
/// A non-standard IRC port on purpose: the analysis finds IRC by content, not by port.
inline constexpr std::uint16_t kDefaultCncPort = 8080;
inline constexpr std::string_view kServerPassword = "bs-srvpass";
inline constexpr std::string_view kLoginPassword = "bs-letmein";
inline constexpr std::string_view kChannel = "#bs-botnet";
inline constexpr std::string_view kChannelKey = "bs-key";
inline constexpr std::string_view kIrcUser = "bsbot";
inline constexpr std::string_view kIrcRealName = "botscope emulator";
/// Nicks are kNickPrefix plus kNickDigits random digits, as rbot's country/OS nicks were.
inline constexpr std::string_view kNickPrefix = "[USA|XP|SP2]-";
inline constexpr std::size_t kNickDigits = 5;
/// Windows has no /etc/resolv.conf: the sandbox's resolver (the host) unless --resolver.
inline constexpr Ipv4 kDefaultResolver = 0x0A420001u;

// --- Run time --------------------------------------------------------------------------------
inline constexpr int kDefaultMaxSeconds = 120;
/// --max-seconds cannot ask for more.
inline constexpr int kMaxMaxSeconds = 600;
/// Reconnects after the C&C connection closed or failed (so at most three connections a run).
inline constexpr int kMaxReconnects = 2;
inline constexpr int kReconnectDelayMs = 2000;
inline constexpr int kCncConnectTimeoutMs = 5000;
/// A line to the server that cannot be written within this is a dead connection.
inline constexpr int kSendTimeoutMs = 5000;

// --- DNS -------------------------------------------------------------------------------------
inline constexpr int kDnsTimeoutMs = 2000;
inline constexpr int kDnsTries = 3;
/// CNAMEs followed from the question name to its addresses.
inline constexpr std::size_t kMaxCnameHops = 8;
/// A DNS answer over UDP without EDNS is at most 512 bytes; larger datagrams are cut here and
/// then fail to parse.
inline constexpr std::size_t kMaxDnsDatagram = 4096;

// --- IRC -------------------------------------------------------------------------------------
/// Longer server lines are skipped whole (RFC 1459 says 512).
inline constexpr std::size_t kMaxIrcLine = 1024;
/// Bytes buffered from the server before lines are cut from them.
inline constexpr std::size_t kMaxIrcBuffer = 16 * 1024;
/// 433 (nick in use) answers before registration; then the connection is given up.
inline constexpr int kMaxNickRetries = 10;
/// Nicks remembered as logged in; the oldest is forgotten first.
inline constexpr std::size_t kMaxLoggedIn = 16;
/// Commands taken from one topic ("cmd1 | cmd2").
inline constexpr std::size_t kMaxTopicCommands = 4;
/// Rejoins after a KICK, per connection.
inline constexpr int kMaxRejoins = 3;
/// Characters of a reply line's text (an IRC line must stay under 512 bytes).
inline constexpr std::size_t kMaxReplyText = 400;

// --- Commands --------------------------------------------------------------------------------
/// Command texts longer than this are not commands.
inline constexpr std::size_t kMaxCommandText = 480;
inline constexpr std::size_t kMaxCommandArgs = 12;

// --- Floods ----------------------------------------------------------------------------------
/// Packets per flood command, paced evenly over min(SECONDS, kMaxFloodSeconds): at least
/// 250 / 3 = 83 packets a second, above the analysis' flood threshold (>= 100 packets with a
/// peak >= 50 packets/s), and far too few to hurt anything.
inline constexpr std::size_t kMaxFloodPackets = 250;
inline constexpr int kMaxFloodSeconds = 3;
/// Flood packets per run, all commands together; then floods are refused.
inline constexpr std::size_t kMaxFloodPacketsTotal = 1000;
/// Random UDP payload sizes.
inline constexpr std::size_t kMinUdpPayload = 64;
inline constexpr std::size_t kMaxUdpPayload = 512;
/// Destination ports drawn for a UDP flood on port 0: each gets about 250 / 8 = 31 packets, so
/// the analysis tells the flood from a port scan (it needs >= 4 packets a port).
inline constexpr std::size_t kUdpRandomPorts = 8;
/// Spoofed sources are drawn from these host numbers of the sandbox (10.66.0.2-10.66.0.254).
inline constexpr std::uint32_t kFirstSpoofHost = 2;
inline constexpr std::uint32_t kLastSpoofHost = 254;
/// Flood arguments accepted (the flood itself is capped at kMaxFloodSeconds).
inline constexpr std::uint32_t kMaxFloodArgSeconds = 86400;

// --- Scan ------------------------------------------------------------------------------------
/// Connection attempts per run, all scans together: one sweep of a /24.
inline constexpr std::size_t kMaxScanAttempts = 254;
inline constexpr std::size_t kMaxScanInFlight = 32;
inline constexpr int kScanConnectTimeoutMs = 1000;
/// The port when the module name ends in no digits (lsass, the era's favourite).
inline constexpr std::uint16_t kDefaultScanPort = 445;
inline constexpr std::uint32_t kMaxScanArgThreads = 1000;
inline constexpr std::uint32_t kMaxScanArgDelay = 3600;
inline constexpr std::uint32_t kMaxScanArgMinutes = 1440;

// --- Spam ------------------------------------------------------------------------------------
/// Recipient domains mail-a.test .. mail-j.test: the analysis calls >= 10 domains a spam run.
inline constexpr std::size_t kSpamDomains = 10;
/// Messages per run, all commands together; two recipients each, in distinct domains.
inline constexpr std::size_t kMaxSpamMessages = 5;
inline constexpr std::size_t kRecipientsPerMessage = 2;
inline constexpr std::uint32_t kMaxSpamArgCount = 1000;
/// A whole spam run (lookups and sessions) ends after this.
inline constexpr int kSpamSeconds = 30;
inline constexpr std::uint16_t kSmtpPort = 25;
inline constexpr int kSmtpReplyTimeoutMs = 5000;
/// Lines of one multi-line SMTP reply, and bytes of one line.
inline constexpr std::size_t kMaxSmtpReplyLines = 32;
inline constexpr std::size_t kMaxSmtpLine = 1024;

// --- Downloads -------------------------------------------------------------------------------
/// Bytes of one download; a larger file fails and nothing is kept.
inline constexpr std::size_t kMaxDownloadBytes = 1024 * 1024;
/// Downloads (and updates) per run: at most 8 MiB written.
inline constexpr std::size_t kMaxDownloads = 8;
/// Characters of a saved file's name ([A-Za-z0-9._-] only).
inline constexpr std::size_t kMaxFileName = 64;
/// A whole download (connect, transfer) ends after this.
inline constexpr int kDownloadSeconds = 15;
inline constexpr std::size_t kMaxHttpHeaderBytes = 16 * 1024;
inline constexpr std::size_t kMaxUrlLength = 400;
inline constexpr std::string_view kUserAgent = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)";
inline constexpr std::uint16_t kTftpPort = 69;
inline constexpr int kTftpTimeoutMs = 2000;
/// Retransmissions of the request or of the last ACK before a TFTP transfer fails.
inline constexpr int kTftpRetries = 3;
inline constexpr std::size_t kTftpBlockSize = 512;

// --- Beacons ---------------------------------------------------------------------------------
inline constexpr std::string_view kBeaconHost = "update.botscope.test";
inline constexpr std::uint16_t kBeaconPort = 80;
inline constexpr int kDefaultBeaconSeconds = 3;
inline constexpr int kMinBeaconSeconds = 1;
inline constexpr int kMaxBeaconSeconds = 60;
/// Each interval varies by up to this fraction either way (less than 5 %).
inline constexpr double kBeaconJitter = 0.04;
inline constexpr int kMaxBeacons = 40;
/// One beacon (connect, request, response) ends after this.
inline constexpr int kBeaconTimeoutMs = 2000;
/// Response bytes read from a beacon; the rest is not read.
inline constexpr std::size_t kMaxBeaconResponse = 4096;

}  // namespace botscope::botemu
