#include <doctest/doctest.h>

#include "review/time_text.h"

namespace test_time {

using namespace botscope::review;

TEST_CASE("dates and ISO 8601 times are read as UTC epoch seconds") {
    CHECK(parse_time("1970-01-01") == 0.0);
    CHECK(parse_time("2026-11-02") == 1793577600.0);
    CHECK(parse_time("2026-11-02T10:00:02Z") == 1793613602.0);
    CHECK(parse_time("2026-11-02 10:00:02") == 1793613602.0);
    CHECK(parse_time("2026-11-02T10:00") == 1793613600.0);
    CHECK(parse_time("2026-11-02T11:00:02+01:00") == 1793613602.0);
    CHECK(parse_time("2026-11-02T09:30:02-0030") == 1793613602.0);
    CHECK(*parse_time("2026-11-02T10:00:02.250Z") == doctest::Approx(1793613602.25));
    CHECK(parse_time("2024-02-29") == 1709164800.0);
}

TEST_CASE("anything else is refused, impossible dates too") {
    for (const char* bad : {"", "2026", "2026-11", "2026-13-01", "2026-02-29", "2026-11-31",
                            "26-11-02", "2026-11-02T", "2026-11-02T25:00", "2026-11-02T10:60",
                            "2026-11-02T10:00:02Q", "2026-11-02T10:00:02+1", "2026-11-02x",
                            "yesterday", "2026-11-02T10:00:02.Z", "2026-11-02T10:00:02Z "})
        CHECK_MESSAGE(!parse_time(bad), bad);
}

TEST_CASE("times are written as RFC 3339 UTC, with milliseconds for STIX") {
    CHECK(format_time(1793613602.0) == "2026-11-02T10:00:02Z");
    CHECK(format_time_ms(1793613602.25) == "2026-11-02T10:00:02.250Z");
    CHECK(format_time_ms(1793613602.9996) == "2026-11-02T10:00:03.000Z");
    CHECK(format_time_ms(-5) == "1970-01-01T00:00:00.000Z");
    CHECK(format_time_ms(1e300) == "9999-12-31T23:59:59.000Z");
}

}  // namespace test_time
