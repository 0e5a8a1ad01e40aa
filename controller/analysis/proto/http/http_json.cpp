#include "analysis/proto/http/http_json.h"

namespace botscope::report {

namespace {

using analysis::http::ExecutableKind;
using analysis::http::HttpBody;
using analysis::http::HttpTransaction;

void put_if(Json& j, const char* key, const std::string& value) {
    if (!value.empty())
        j[key] = value;
}

// A body that carried no bytes and lost none is left out rather than shown as zeros.
bool has_body(const HttpBody& b) {
    return b.length > 0 || !b.complete();
}

Json body_json(const HttpBody& b) {
    Json j;
    j["length"] = b.length;
    if (!b.md5.empty())
        j["md5"] = b.md5;
    if (!b.sha256.empty())
        j["sha256"] = b.sha256;
    // The hashes describe the whole body only when nothing was lost.
    j["complete"] = b.complete();
    if (!b.small.empty())
        j["text"] = b.small;
    if (b.gap)
        j["gap"] = true;
    if (b.truncated)
        j["truncated"] = true;
    if (b.framing_error)
        j["framing_error"] = true;
    if (!b.coding.empty()) {
        // Length, digests and text above are of the decoded content; these of the transfer.
        j["coding"] = b.coding;
        j["wire_length"] = b.wire_length;
        if (!b.wire_sha256.empty())
            j["wire_sha256"] = b.wire_sha256;
        if (b.coding_limit)
            j["coding_limit"] = true;
    }
    if (b.coding_error)
        j["coding_error"] = true;
    if (b.executable != ExecutableKind::kNone) {
        Json e;
        e["kind"] = analysis::http::executable_kind_name(b.executable);
        e["size"] = b.length;
        j["executable"] = std::move(e);
    }
    return j;
}

Json request_json(const HttpTransaction& t) {
    Json j;
    j["ts"] = ts_json(t.request_ts);
    j["method"] = t.method;
    j["uri"] = t.uri;
    if (t.uri_truncated) {
        j["uri_truncated"] = true;
        j["request_line_length"] = t.request_line_length;
    }
    put_if(j, "version", t.version);
    put_if(j, "host", t.host);
    put_if(j, "user_agent", t.user_agent);
    put_if(j, "referer", t.referer);
    put_if(j, "content_type", t.request_content_type);
    if (t.expect_continue)
        j["expect_continue"] = true;
    j["headers"] = t.request_headers;
    if (t.request_incomplete)
        j["incomplete"] = true;
    if (has_body(t.request_body))
        j["body"] = body_json(t.request_body);
    return j;
}

Json response_json(const HttpTransaction& t) {
    Json j;
    j["ts"] = ts_json(t.response_ts);
    j["version"] = t.response_version;
    j["status"] = t.status_code;
    j["reason"] = t.reason;
    put_if(j, "content_type", t.response_content_type);
    if (t.content_length)
        j["content_length"] = *t.content_length;
    j["chunked"] = t.chunked;
    put_if(j, "content_encoding", t.content_encoding);
    put_if(j, "location", t.location);
    put_if(j, "server", t.server_header);
    j["headers"] = t.response_headers;
    if (t.interim_responses > 0)
        j["interim_responses"] = t.interim_responses;
    if (t.response_incomplete)
        j["incomplete"] = true;
    if (has_body(t.response_body))
        j["body"] = body_json(t.response_body);
    return j;
}

Json transaction_json(const HttpTransaction& t) {
    Json j;
    j["flow"] = t.flow;
    j["client"] = endpoint_json(t.client);
    j["server"] = endpoint_json(t.server);
    j["request"] = t.has_request ? request_json(t) : Json(nullptr);
    j["response"] = t.has_response ? response_json(t) : Json(nullptr);
    if (t.tunnel)
        j["tunnel"] = true;
    if (t.fields_truncated)
        j["fields_truncated"] = true;
    return j;
}

}  // namespace

Json to_json(const analysis::http::HttpResult& result) {
    Json j;
    j["connections"] = result.connections;
    j["requests"] = result.requests;
    j["responses"] = result.responses;
    j["unmatched_responses"] = result.unmatched_responses;
    j["executables"] = result.executables;
    j["dropped"] = result.dropped;
    const std::uint64_t count = result.transactions.size() + result.dropped;
    Json txns = sample_list(result.transactions, transaction_json);
    j["count"] = count;
    j["omitted"] = count - txns.size();
    j["transactions"] = std::move(txns);
    return j;
}

Json to_json(const analysis::http::HttpTransaction& t) {
    return transaction_json(t);
}

}  // namespace botscope::report
