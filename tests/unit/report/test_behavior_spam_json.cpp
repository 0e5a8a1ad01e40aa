// Shape of a spam run in the report's `behavior` part.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "report/behavior_json.h"

namespace test_behavior_spam_json {

using namespace botscope::analysis;
using botscope::report::Json;

TEST_CASE("spam run json: every field, null rate and command when absent") {
    detect::SpamRun s;
    s.client = IpAddress::v4(10, 66, 0, 5);
    s.start = 1'136'073'600'000'000'000;
    s.end = s.start + 90'000'000'000;
    s.sessions = 5;
    s.servers = 4;
    s.server_list = {{IpAddress::v4(198, 51, 100, 10), 25}, {IpAddress::v4(198, 51, 100, 11), 25}};
    s.messages = 30;
    s.messages_accepted = 28;
    s.recipients = 31;
    s.recipient_domains = 12;
    s.top_domains = {{"d0.example", 9}, {"d1.example", 4}};
    s.senders = {{"x@spam.example", 30}};
    s.subjects = {{"Cheap pills", 30}};
    s.mx_lookups = 4;
    s.servers_after_mx = 3;
    s.unanswered_servers = 1;
    s.messages_per_minute = 20.0;
    s.evidence.flows = {3, 5};
    s.evidence.flows_total = 5;

    Json j = botscope::report::spam_run_json(s);
    CHECK(j["client"] == "10.66.0.5");
    CHECK(j["start"].get<double>() == doctest::Approx(1136073600.0));
    CHECK(j["end"].get<double>() == doctest::Approx(1136073690.0));
    CHECK(j["sessions"] == 5);
    CHECK(j["servers"] == 4);
    REQUIRE(j["server_list"].size() == 2);
    CHECK(j["server_list"][1]["ip"] == "198.51.100.11");
    CHECK(j["server_list"][1]["port"] == 25);
    CHECK(j["messages"] == 30);
    CHECK(j["messages_accepted"] == 28);
    CHECK(j["recipients"] == 31);
    CHECK(j["recipient_domains"] == 12);
    CHECK(j["top_domains"][0]["value"] == "d0.example");
    CHECK(j["top_domains"][0]["count"] == 9);
    CHECK(j["senders"][0]["count"] == 30);
    CHECK(j["subjects"][0]["value"] == "Cheap pills");
    CHECK(j["mx_lookups"] == 4);
    CHECK(j["servers_after_mx"] == 3);
    CHECK(j["unanswered_servers"] == 1);
    CHECK(j["attempted"] == false);
    CHECK(j["messages_per_minute"] == 20.0);
    CHECK(j["evidence"]["flows"] == Json::array({3, 5}));
    CHECK(j["evidence"]["flows_total"] == 5);
    CHECK(j["command"].is_null());

    s.messages_per_minute.reset();
    s.command = 2;
    Json k = botscope::report::spam_run_json(s);
    CHECK(k["messages_per_minute"].is_null());
    CHECK(k["command"] == 2);

    // The report keeps insertion order: a reader finds a spam run's fields in this order, and
    // no field beyond these.
    std::vector<std::string> keys;
    for (const auto& [key, value] : k.items())
        keys.push_back(key);
    CHECK(keys == std::vector<std::string>{"client",
                                           "start",
                                           "end",
                                           "sessions",
                                           "servers",
                                           "server_list",
                                           "messages",
                                           "messages_accepted",
                                           "recipients",
                                           "recipient_domains",
                                           "top_domains",
                                           "senders",
                                           "subjects",
                                           "mx_lookups",
                                           "servers_after_mx",
                                           "unanswered_servers",
                                           "attempted",
                                           "messages_per_minute",
                                           "evidence",
                                           "command"});
}

}  // namespace test_behavior_spam_json
