#pragma once
// DNS over UDP and TCP: pairs every query with its response by (flow, transaction id) and
// keeps a bounded table of transactions plus a per-name summary.
//
// A bot that resolves its C&C name tells the analyst where it wants to go even when the
// sinkhole answers NXDOMAIN or nothing, so unanswered queries are kept, and a response that
// arrives without a query (capture started late) still becomes a transaction.
//
// Limits:
//   kMaxTransactions          10,000  transactions kept in memory (later ones counted in
//                                     `dropped`; with a log sink every one is logged)
//   kMaxOpenUnkept            4,096   transactions past kMaxTransactions waiting for their
//                                     response before being logged; past it a new one is
//                                     logged at once (its response is then logged unmatched)
//   kMaxAnswersPerTransaction 16      records kept per response (the rest counted)
//   kMaxStoredAnswers         50,000  records kept across all transactions
//   kMaxNames                 2,000   distinct names in the summary
//   kMaxAddressesPerName      16      distinct addresses kept per summarised name
//   kMaxConsecutiveInvalid    20      unparsable messages in a row before a flow is ignored
// Names, rdata and question counts are bounded by the parser (dns_parser.h).

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/proto/dns/dns_parser.h"
#include "analysis/types.h"

namespace botscope::analysis::dns {

inline constexpr std::size_t kMaxTransactions = 10'000;
inline constexpr std::size_t kMaxOpenUnkept = 4'096;
inline constexpr std::size_t kMaxAnswersPerTransaction = 16;
inline constexpr std::size_t kMaxStoredAnswers = 50'000;
inline constexpr std::size_t kMaxNames = 2'000;
inline constexpr std::size_t kMaxAddressesPerName = 16;
inline constexpr std::uint32_t kMaxConsecutiveInvalid = 20;

/// Ports whose flows the UDP probe claims without looking at the payload.
inline constexpr std::uint16_t kPortDns = 53;
inline constexpr std::uint16_t kPortMdns = 5353;
inline constexpr std::uint16_t kPortLlmnr = 5355;

/// Analyzer name used for weirds.
inline constexpr std::string_view kAnalyzerName = "dns";

inline constexpr std::string_view kWeirdMalformed = "dns_malformed";
inline constexpr std::string_view kWeirdTruncatedMessage = "dns_truncated_message";
inline constexpr std::string_view kWeirdNameTooLong = "dns_name_too_long";
inline constexpr std::string_view kWeirdTooManyLabels = "dns_too_many_labels";
inline constexpr std::string_view kWeirdPointerLoop = "dns_pointer_loop";
inline constexpr std::string_view kWeirdTooManyPointers = "dns_too_many_pointers";
inline constexpr std::string_view kWeirdUnmatchedResponse = "dns_unmatched_response";
inline constexpr std::string_view kWeirdDuplicateResponse = "dns_duplicate_response";
inline constexpr std::string_view kWeirdRecordLimit = "dns_record_limit";
inline constexpr std::string_view kWeirdAnswerLimit = "dns_answer_limit";
inline constexpr std::string_view kWeirdNameSummaryLimit = "dns_name_summary_limit";
inline constexpr std::string_view kWeirdTcpGap = "dns_tcp_gap";
inline constexpr std::string_view kWeirdGaveUp = "dns_gave_up";

/// Every anomaly this analyzer reports. Message-level ones are reported only once the flow has
/// carried one well-formed message, so a non-DNS payload on port 53 does not flood the table.
inline constexpr std::array kWeirds = {
    WeirdInfo{kWeirdMalformed,
              "unreadable structure (short header, bad label type, pointer into the header or "
              "past the end, zero-length TCP frame) or rdata that does not fit its type"},
    WeirdInfo{kWeirdTruncatedMessage, "the message ended before the sections its header announced"},
    WeirdInfo{kWeirdNameTooLong, "a name longer than 1025 characters; kept cut at the limit"},
    WeirdInfo{kWeirdTooManyLabels, "a name of more than 255 labels; kept cut at the limit"},
    WeirdInfo{kWeirdPointerLoop,
              "a compression pointer pointed forward or into its own name (a loop)"},
    WeirdInfo{kWeirdTooManyPointers, "a name followed more than 16 compression pointers"},
    WeirdInfo{kWeirdUnmatchedResponse,
              "a response with no query seen on its flow (not reported for mDNS and LLMNR)"},
    WeirdInfo{kWeirdDuplicateResponse,
              "another response to an already answered query (possible spoofing)"},
    WeirdInfo{kWeirdRecordLimit, "the transaction table is full; later transactions dropped"},
    WeirdInfo{kWeirdAnswerLimit, "a response carried more records than are kept"},
    WeirdInfo{kWeirdNameSummaryLimit, "the per-name summary is full; later names not summarised"},
    WeirdInfo{kWeirdTcpGap,
              "bytes missing in a DNS-over-TCP stream; that direction cannot be framed again"},
    WeirdInfo{kWeirdGaveUp, "20 unparsable messages in a row; the flow is ignored from then on"},
};

/// Header flags as seen on the wire (AA, TC, RA, AD, CD from the response; RD from the query
/// when it was seen).
struct DnsFlags {
    bool aa = false;
    bool tc = false;
    bool rd = false;
    bool ra = false;
    bool ad = false;
    bool cd = false;
};

/// One resource record of a response (answer, authority or additional; OPT is not kept).
struct DnsAnswer {
    Section section = Section::kAnswer;
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t rclass = 0;
    std::uint32_t ttl = 0;
    std::string rdata;  ///< rendered text, see DnsRecord::rdata
};

/// A query and its response, paired by (flow, transaction id).
struct DnsTransaction {
    Timestamp ts = 0;  ///< the query's time; the response's when no query was seen
    FlowId flow = 0;
    Transport transport = Transport::kUdp;
    Endpoint client;  ///< the side that sent the query
    Endpoint server;
    std::uint16_t trans_id = 0;
    std::uint8_t opcode = 0;
    std::string query;  ///< first question's name ("" when the message had none)
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;  ///< for mDNS without the unicast-response bit
    std::uint16_t qdcount = 0;
    bool query_seen = false;            ///< false for a response whose query was not captured
    std::uint32_t retransmissions = 0;  ///< the same question sent again before an answer

    bool answered = false;
    Timestamp response_ts = 0;
    std::uint8_t rcode = 0;
    DnsFlags flags;
    std::uint16_t ancount = 0;
    std::uint16_t nscount = 0;
    std::uint16_t arcount = 0;
    std::vector<DnsAnswer> answers;  ///< at most kMaxAnswersPerTransaction, wire order
    std::uint32_t answers_dropped = 0;
    std::uint32_t extra_responses = 0;  ///< responses after the first (only the first is kept)
    /// Either message was truncated, malformed, or had a name or rdata problem.
    bool malformed = false;

    /// Round-trip time, when both the query and its response were seen.
    std::optional<Timestamp> rtt() const {
        if (!answered || !query_seen)
            return std::nullopt;
        return response_ts - ts;
    }
};

/// What a reader wants to know about one name at a glance: how often it was asked for and
/// what it resolved to (A/AAAA records in the answer section of its responses).
struct DnsNameSummary {
    std::string name;  ///< as first seen; names are grouped case-insensitively
    std::uint64_t queries = 0;
    std::uint64_t responses = 0;
    std::uint64_t nxdomain = 0;
    Timestamp first_ts = 0;
    Timestamp last_ts = 0;
    std::vector<IpAddress> addresses;  ///< distinct, at most kMaxAddressesPerName
    bool addresses_truncated = false;
};

/// The `dns` section of the report.
struct DnsResult {
    std::vector<DnsTransaction> transactions;  ///< in order of first message
    std::uint64_t dropped = 0;                 ///< transactions not kept (kMaxTransactions)
    std::uint64_t answers_dropped = 0;         ///< records not kept (per-transaction or total)
    std::size_t stored_answers = 0;

    std::vector<DnsNameSummary> names;  ///< in order of first appearance
    std::uint64_t names_dropped = 0;    ///< messages whose name did not fit in the summary
    /// Lower-cased name -> index in `names`; lookup only, not reported.
    std::map<std::string, std::size_t, std::less<>> name_index;

    std::uint64_t messages = 0;
    std::uint64_t queries = 0;
    std::uint64_t responses = 0;
    std::uint64_t malformed = 0;  ///< messages with any parse problem
    std::uint64_t unmatched_responses = 0;
};

/// Where one message came from, as the tracker needs it.
struct MessageMeta {
    Timestamp ts = 0;
    FlowId flow = 0;
    Transport transport = Transport::kUdp;
    Endpoint src;
    Endpoint dst;
};

/// Pairs queries and responses into DnsResult, and hands each transaction to the log sink
/// once it is closed (its flow ended or its id was reused). Shared by the UDP and TCP
/// analyzers. It keeps one pending entry per open transaction: those kept in the result
/// (at most kMaxTransactions) and, with a sink, at most kMaxOpenUnkept others.
class TransactionTracker {
public:
    TransactionTracker(DnsResult& result, LogSink* logs) : result_(result), logs_(logs) {}

    /// Records one message whose header was read.
    void on_message(const MessageMeta& meta, const DnsMessage& msg, Weirds* weirds);

    /// The flow is over: its transactions are closed and their ids may be reused.
    void forget_flow(FlowId flow);

private:
    static constexpr std::size_t kUnkept = static_cast<std::size_t>(-1);
    struct Open {
        std::size_t index = kUnkept;  ///< in result_.transactions, or kUnkept: held in `own`
        DnsTransaction own;
    };
    using Pending = std::map<std::pair<FlowId, std::uint16_t>, Open>;

    void on_query(const MessageMeta& meta, const DnsMessage& msg, Weirds* weirds);
    void on_response(const MessageMeta& meta, const DnsMessage& msg, Weirds* weirds);
    void fill_response(DnsTransaction& t, bool kept, const MessageMeta& meta, const DnsMessage& msg,
                       Weirds* weirds);
    void note_resolution(std::string_view name, const MessageMeta& meta, const DnsMessage& msg,
                         Weirds* weirds);
    DnsNameSummary* summary_for(std::string_view name, const MessageMeta& meta, Weirds* weirds);
    bool full(const MessageMeta& meta, Weirds* weirds);
    DnsTransaction& txn(Open& o) {
        return o.index == kUnkept ? o.own : result_.transactions[o.index];
    }
    /// Keeps `t` in the result if there is room, else holds it for the log.
    void open(const Pending::key_type& key, DnsTransaction&& t, const MessageMeta& meta,
              Weirds* weirds);
    Pending::iterator close(Pending::iterator it);

    DnsResult& result_;
    LogSink* logs_;
    Pending pending_;
    std::size_t unkept_open_ = 0;
};

/// Per-flow decision of whether the traffic is DNS: confirmed by one well-formed message,
/// abandoned after kMaxConsecutiveInvalid unparsable ones in a row.
struct FlowGate {
    bool confirmed = false;
    bool gave_up = false;
    std::uint32_t consecutive_invalid = 0;
};

/// DNS, mDNS and LLMNR over UDP. One instance serves every UDP flow it claims.
class DnsUdpAnalyzer final : public DatagramAnalyzer {
public:
    explicit DnsUdpAnalyzer(DnsResult& result, LogSink* logs = nullptr)
        : result_(result), tracker_(result, logs) {}

    /// Claims flows to or from ports 53, 5353 and 5355, and on any other port (but NetBIOS
    /// 137/138) a payload that check_plausible() accepts as a whole message.
    bool probe(const Datagram& d) override;
    void on_datagram(const Datagram& d, Weirds& weirds) override;
    void on_flow_end(FlowId flow, Timestamp ts) override;
    void finish(Timestamp ts) override;

private:
    DnsResult& result_;
    TransactionTracker tracker_;
    std::map<FlowId, FlowGate> flows_;
};

/// DNS over TCP: 2-byte length-prefixed messages (RFC 1035 4.2.2), in both directions.
class DnsTcpAnalyzer final : public StreamAnalyzer {
public:
    DnsTcpAnalyzer(const AnalyzerContext& ctx, DnsResult& result)
        : ctx_(ctx), result_(result), tracker_(result, ctx.logs) {}

    void on_data(Direction dir, std::span<const std::uint8_t> data, Timestamp ts) override;
    void on_gap(Direction dir, std::uint64_t len, Timestamp ts) override;
    void on_end(Timestamp ts) override;
    bool gave_up() const override { return gate_.gave_up; }

private:
    struct Side {
        /// Bytes of a frame not yet complete; never more than one frame (2 + 65535 bytes).
        std::vector<std::uint8_t> partial;
        bool lost_sync = false;
    };

    void handle_frame(Direction dir, std::span<const std::uint8_t> message, Timestamp ts);
    void handle_zero_length(Timestamp ts);

    AnalyzerContext ctx_;
    DnsResult& result_;
    TransactionTracker tracker_;
    FlowGate gate_;
    std::array<Side, 2> sides_;
    bool ended_ = false;
};

/// TCP probe: the responder port is 53 or 5353 and the first bytes of the first direction
/// with data frame a plausible DNS message (check_plausible on the framed prefix).
ProbeResult probe(const ProbeInput& in);

}  // namespace botscope::analysis::dns
