#include "analysis/proto/tftp/tftp_json.h"

namespace botscope::report {

namespace {

using analysis::tftp::Option;
using analysis::tftp::TftpTransfer;

// Options as an object in the order sent; a name repeated keeps its first value, as servers
// do when they look an option up.
Json options_json(const std::vector<Option>& options) {
    Json j = Json::object();
    for (const auto& o : options)
        if (!j.contains(o.name))
            j[o.name] = o.value;
    return j;
}

Json transfer_json(const TftpTransfer& t) {
    Json j;
    j["ts"] = ts_json(t.ts);
    j["last_ts"] = ts_json(t.last_ts);
    j["request_flow"] = t.request_flow;
    if (t.data_flow)
        j["data_flow"] = *t.data_flow;
    j["client"] = endpoint_json(t.client);
    j["server"] = endpoint_json(t.server);
    if (t.server_data_port)
        j["server_data_port"] = *t.server_data_port;
    j["operation"] = analysis::tftp::operation_name(t.operation);
    j["filename"] = t.filename;
    if (t.filename_truncated)
        j["filename_truncated"] = true;
    j["mode"] = t.mode;
    j["malformed_request"] = t.malformed_request;
    if (t.request_retransmits > 0)
        j["request_retransmits"] = t.request_retransmits;
    if (!t.options_requested.empty())
        j["options_requested"] = options_json(t.options_requested);
    if (t.oack_seen)
        j["options_acked"] = options_json(t.options_acked);
    if (t.options_truncated)
        j["options_truncated"] = true;
    j["block_size"] = t.block_size;
    j["data_blocks"] = t.data_blocks;
    j["bytes"] = t.bytes;
    j["blocks_acked"] = t.blocks_acked;
    j["duplicate_blocks"] = t.duplicate_blocks;
    j["missing_blocks"] = t.missing_blocks;
    j["completed"] = t.completed;
    j["final_acked"] = t.final_acked;
    if (t.error) {
        Json e;
        e["code"] = t.error->code;
        e["message"] = t.error->message;
        e["from"] = t.error->from_client ? "client" : "server";
        j["error"] = std::move(e);
    }
    if (!t.md5.empty()) {
        j["md5"] = t.md5;
        j["sha256"] = t.sha256;
    }
    j["hash_complete"] = t.hash_complete;
    if (!t.file_kind.empty())
        j["file_kind"] = t.file_kind;
    return j;
}

}  // namespace

Json to_json(const analysis::tftp::TftpResult& result) {
    Json j;
    const std::uint64_t count = result.transfers.size() + result.dropped;
    Json transfers = sample_list(result.transfers, transfer_json);
    j["count"] = count;
    j["omitted"] = count - transfers.size();
    j["transfers"] = std::move(transfers);
    j["dropped"] = result.dropped;
    j["evicted"] = result.evicted;
    j["unmatched_datagrams"] = result.unmatched_datagrams;
    return j;
}

Json to_json(const analysis::tftp::TftpTransfer& t) {
    return transfer_json(t);
}

}  // namespace botscope::report
