#pragma once
// TFTP transfers across flows.
//
// A TFTP request (RRQ/WRQ) goes to port 69 (or any port), and the server answers from a new
// port of its own (its transfer id), so the DATA/ACK exchange is a different UDP flow from the
// request. One TftpAnalyzer serves the whole engine and keeps a table of open transfers keyed
// by (client address, client port, server address); its probe claims request flows and any
// later flow between a known client endpoint and its server's address.
//
// Each transfer streams its file through MD5 and SHA-256 in block order: retransmitted blocks
// are counted and hashed once, a missing block stops the hash (the digest of a file with a
// hole names nothing), and block numbers may wrap after 65535 (to 0, or to 1 as some servers
// do). Nothing but the first kFileHeadBytes of a file is buffered.
//
// Limits (named below): kMaxTransfers records in the result (more are counted in `dropped`),
// kMaxLiveTransfers open transfers (past it the least recently active are closed early and
// counted in `evicted`), kTransferIdleTimeout of packet time without a packet closes a
// transfer. Timestamps that step backwards never close anything.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/proto/tftp/tftp_parser.h"
#include "analysis/types.h"
#include "util/hash.h"

namespace botscope::analysis::tftp {

/// Transfer records kept in the result; later ones are counted in TftpResult::dropped.
inline constexpr std::size_t kMaxTransfers = 10'000;
/// Transfers open at once; past it the least recently active are closed early.
inline constexpr std::size_t kMaxLiveTransfers = 4'096;
/// How many transfers one eviction closes, so a request flood costs O(1) per request.
inline constexpr std::size_t kEvictBatch = kMaxLiveTransfers / 16;
/// Packet time without any packet after which a transfer is closed (60 s).
inline constexpr Timestamp kTransferIdleTimeout = 60'000'000'000;
/// How often (packet time) idle transfers are looked for.
inline constexpr Timestamp kSweepInterval = 1'000'000'000;
/// Bytes of the start of each file kept to recognise its kind (PE headers sit within them).
inline constexpr std::size_t kFileHeadBytes = 512;

/// Every weird this analyzer reports (analyzer name "tftp").
inline constexpr std::array<WeirdInfo, 17> kWeirds{{
    {"tftp_malformed_request", "RRQ/WRQ with an unterminated name or mode, or a bad mode"},
    {"tftp_empty_filename", "RRQ/WRQ naming an empty file"},
    {"tftp_filename_too_long", "file name longer than kMaxFilenameLength; kept truncated"},
    {"tftp_malformed_options", "option list with a name lacking its value or its NUL"},
    {"tftp_option_limit", "more than kMaxOptions options, or an option cut to its limit"},
    {"tftp_bad_option_value", "blksize/timeout/windowsize/tsize value out of its RFC range"},
    {"tftp_unrequested_option", "OACK acknowledges an option the client did not request"},
    {"tftp_unexpected_oack", "OACK after data blocks, or from the client"},
    {"tftp_unknown_opcode", "opcode outside 1..6 on a TFTP flow"},
    {"tftp_malformed_packet", "DATA/ACK/ERROR too short, or ERROR message without its NUL"},
    {"tftp_wrong_direction", "DATA or ACK sent by the side that should receive it"},
    {"tftp_block_out_of_order", "DATA block ahead of the next expected one: blocks missing"},
    {"tftp_duplicate_block", "DATA block seen before (retransmission); counted once"},
    {"tftp_block_too_large", "DATA block larger than the block size in effect"},
    {"tftp_data_after_final", "new DATA block after the final short block"},
    {"tftp_unexpected_tid", "packet from a second server port of the same transfer; ignored"},
    {"tftp_transfer_limit", "more than kMaxTransfers transfers (or kMaxLiveTransfers open)"},
}};

/// True when `name` is in kWeirds.
bool is_known_weird(std::string_view name);

enum class Operation : std::uint8_t { kRead, kWrite };

/// "read" or "write".
const char* operation_name(Operation op);

/// An ERROR packet (RFC 1350 section 5).
struct TftpError {
    std::uint16_t code = 0;
    std::string message;  ///< raw bytes, at most kMaxErrorMessageLength
    bool from_client = false;
};

/// One TFTP transfer: a request and the exchange that answered it.
struct TftpTransfer {
    Timestamp ts = 0;       ///< the request
    Timestamp last_ts = 0;  ///< the last packet of the transfer
    FlowId request_flow = 0;
    /// The flow the blocks went over; unset when the server never answered. Equal to
    /// request_flow when the server answered from the port the request went to.
    std::optional<FlowId> data_flow;
    Endpoint client;
    Endpoint server;  ///< where the request went (usually port 69)
    /// The server's transfer id: the port it answered from.
    std::optional<std::uint16_t> server_data_port;
    Operation operation = Operation::kRead;
    std::string filename;  ///< raw bytes as requested, at most kMaxFilenameLength
    bool filename_truncated = false;
    std::string mode;  ///< raw, as requested (netascii/octet/mail when well-formed)
    /// The request broke RFC 1350: empty file name, unterminated field, unknown mode, or a
    /// malformed option list.
    bool malformed_request = false;
    /// Identical requests repeated before the transfer finished.
    std::uint32_t request_retransmits = 0;
    std::vector<Option> options_requested;
    bool oack_seen = false;
    std::vector<Option> options_acked;  ///< from the OACK
    /// Either option list was cut at kMaxOptions or an option at its length limits.
    bool options_truncated = false;
    /// Block size in effect: 512, or the blksize acknowledged by an OACK.
    std::uint32_t block_size = kDefaultBlockSize;
    /// Distinct DATA blocks (retransmissions counted once); keeps counting across the wrap.
    std::uint64_t data_blocks = 0;
    /// File bytes carried by those blocks: the file size once `completed`.
    std::uint64_t bytes = 0;
    /// Blocks acknowledged in sequence (ACK 0, the answer to a WRQ or an OACK, not counted).
    std::uint64_t blocks_acked = 0;
    std::uint64_t duplicate_blocks = 0;
    /// Blocks skipped over by a later block (lost, or not captured).
    std::uint64_t missing_blocks = 0;
    /// The final block (shorter than block_size) was seen.
    bool completed = false;
    /// ... and acknowledged.
    bool final_acked = false;
    std::optional<TftpError> error;
    /// Hex digests of the bytes received in order from the first block; empty when no block
    /// was seen or a block was missing. In netascii mode they cover the bytes as sent.
    std::string md5;
    std::string sha256;
    /// The digests cover the whole file: no block missing and the final block seen.
    bool hash_complete = false;
    /// What the file starts with (see sniff_file_kind): "pe", "elf", ... or "".
    std::string file_kind;
};

/// What TFTP contributes to the report.
struct TftpResult {
    /// In the order of their requests (by request flow).
    std::vector<TftpTransfer> transfers;
    /// Transfers not recorded because kMaxTransfers was reached.
    std::uint64_t dropped = 0;
    /// Transfers closed early because kMaxLiveTransfers were open (still recorded).
    std::uint64_t evicted = 0;
    /// Datagrams on TFTP flows that matched no open transfer (e.g. after it timed out).
    std::uint64_t unmatched_datagrams = 0;
};

/// One per engine: tracks every TFTP transfer of the capture.
class TftpAnalyzer final : public DatagramAnalyzer {
public:
    explicit TftpAnalyzer(TftpResult& result, LogSink* logs = nullptr);

    /// Claims (a) a flow whose datagram is a well-formed RRQ/WRQ (any port; the file name may
    /// be empty), or any RRQ/WRQ opcode sent to port 69; (b) a flow carrying DATA, ACK, ERROR
    /// or OACK between an open transfer's client endpoint and its server's address, from any
    /// server port. Reads the transfer table, never changes it.
    bool probe(const Datagram& d) override;
    void on_datagram(const Datagram& d, Weirds& weirds) override;
    /// Closes the transfer whose data flow (or whose unanswered request flow) this was.
    void on_flow_end(FlowId flow, Timestamp ts) override;
    /// Closes every open transfer and orders the records by request.
    void finish(Timestamp ts) override;
    void carve_to(StreamInspector* inspector) override { inspector_ = inspector; }

    /// Transfers currently open.
    std::size_t live_transfers() const { return live_.size(); }

private:
    struct Key {
        Endpoint client;
        IpAddress server;
        auto operator<=>(const Key&) const = default;
    };
    struct Live {
        TftpTransfer rec;
        util::FileHasher hasher;
        std::vector<std::uint8_t> head;  // first kFileHeadBytes of the file
        bool hashing = true;             // false once a block went missing
        std::uint16_t last_block = 0;    // last DATA block accepted (wire number)
        std::uint16_t last_ack = 0;
        std::uint16_t final_block = 0;
        std::uint64_t file = 0;  // the file for the inspector (stream_inspector.h), 0 when none
    };
    using LiveMap = std::map<Key, Live>;
    struct Match {
        Key key;
        bool from_client = false;
    };

    std::optional<Match> match(const Datagram& d) const;
    void handle_request(const Datagram& d, const Packet& p, Weirds& weirds);
    void handle_data(Live& t, const Datagram& d, const Packet& p, bool from_client, Weirds& weirds);
    void handle_ack(Live& t, const Datagram& d, const Packet& p, bool from_client, Weirds& weirds);
    void handle_oack(Live& t, const Datagram& d, const Packet& p, bool from_client, Weirds& weirds);
    void carve(Live& t, const Datagram& d, std::span<const std::uint8_t> data);
    void maybe_sweep(Timestamp now, Weirds* weirds);
    void sweep(Timestamp now, Weirds* weirds);
    void evict_batch(Weirds& weirds);
    LiveMap::iterator finalize(LiveMap::iterator it, Weirds* weirds);

    TftpResult& result_;
    LogSink* logs_;
    StreamInspector* inspector_ = nullptr;
    LiveMap live_;
    // Request and data flows of open transfers, so on_flow_end can find them.
    std::map<FlowId, Key> flow_keys_;
    Timestamp last_sweep_ = 0;
    bool swept_ = false;
};

}  // namespace botscope::analysis::tftp
