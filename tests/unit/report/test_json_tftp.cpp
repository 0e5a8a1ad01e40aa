// Shape of the report's `tftp` section.

#include <doctest/doctest.h>

#include "analysis/proto/tftp/tftp_json.h"

namespace test_json_tftp {

namespace {

using namespace botscope::analysis;
using namespace botscope::analysis::tftp;

TftpTransfer downloaded() {
    TftpTransfer t;
    t.ts = 1'100'000'000'000'000'000;
    t.last_ts = t.ts + 250'000'000;
    t.request_flow = 3;
    t.data_flow = 4;
    t.client = Endpoint{IpAddress::v4(192, 168, 0, 253), 50618};
    t.server = Endpoint{IpAddress::v4(192, 168, 0, 10), 69};
    t.server_data_port = 3445;
    t.operation = Operation::kRead;
    t.filename = "msblast.exe";
    t.mode = "octet";
    t.options_requested = {{"blksize", "1468"}, {"tsize", "0"}, {"blksize", "8"}};
    t.oack_seen = true;
    t.options_acked = {{"blksize", "1468"}};
    t.block_size = 1468;
    t.data_blocks = 5;
    t.bytes = 6176;
    t.blocks_acked = 5;
    t.completed = true;
    t.final_acked = true;
    t.md5 = "5ae1a6c2b5d1e1f5d1f1b1a1c1d1e1f1";
    t.sha256 = std::string(64, 'a');
    t.hash_complete = true;
    t.file_kind = "pe";
    return t;
}

}  // namespace

TEST_CASE("json tftp: a completed download") {
    TftpResult r;
    r.transfers.push_back(downloaded());
    r.dropped = 2;
    auto j = botscope::report::to_json(r);

    CHECK(j["dropped"] == 2);
    CHECK(j["evicted"] == 0);
    REQUIRE(j["transfers"].size() == 1);
    const auto& t = j["transfers"][0];
    CHECK(t["operation"] == "read");
    CHECK(t["filename"] == "msblast.exe");
    CHECK(t["client"]["ip"] == "192.168.0.253");
    CHECK(t["client"]["port"] == 50618);
    CHECK(t["server"]["port"] == 69);
    CHECK(t["server_data_port"] == 3445);
    CHECK(t["request_flow"] == 3);
    CHECK(t["data_flow"] == 4);
    CHECK(t["ts"].is_number());
    CHECK(t["options_requested"]["blksize"] == "1468");  // first of a repeated name
    CHECK(t["options_requested"]["tsize"] == "0");
    CHECK(t["options_acked"]["blksize"] == "1468");
    CHECK(t["block_size"] == 1468);
    CHECK(t["bytes"] == 6176);
    CHECK(t["completed"] == true);
    CHECK(t["hash_complete"] == true);
    CHECK(t["md5"] == "5ae1a6c2b5d1e1f5d1f1b1a1c1d1e1f1");
    CHECK(t["file_kind"] == "pe");
    CHECK_FALSE(t.contains("error"));
    CHECK_FALSE(t.contains("filename_truncated"));
}

TEST_CASE("json tftp: an unanswered request and an error leave out what was not seen") {
    TftpResult r;
    TftpTransfer lone;
    lone.operation = Operation::kWrite;
    lone.filename = "";
    lone.mode = "octet";
    lone.malformed_request = true;
    r.transfers.push_back(lone);
    TftpTransfer refused = downloaded();
    refused.error = TftpError{1, "File not found", false};
    refused.completed = false;
    refused.md5.clear();
    refused.sha256.clear();
    refused.hash_complete = false;
    refused.file_kind.clear();
    r.transfers.push_back(refused);
    auto j = botscope::report::to_json(r);

    const auto& a = j["transfers"][0];
    CHECK(a["operation"] == "write");
    CHECK(a["malformed_request"] == true);
    CHECK_FALSE(a.contains("data_flow"));
    CHECK_FALSE(a.contains("server_data_port"));
    CHECK_FALSE(a.contains("options_acked"));
    CHECK_FALSE(a.contains("md5"));

    const auto& b = j["transfers"][1];
    CHECK(b["error"]["code"] == 1);
    CHECK(b["error"]["message"] == "File not found");
    CHECK(b["error"]["from"] == "server");
    CHECK_FALSE(b.contains("sha256"));
    CHECK_FALSE(b.contains("file_kind"));
}

}  // namespace test_json_tftp
