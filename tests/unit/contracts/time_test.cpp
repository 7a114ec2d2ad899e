#include <catch2/catch.hpp>

#include "contracts/time.h"

TEST_CASE("RFC 3339 times parse with their offset and print as UTC with milliseconds", "[contracts][time]") {
  auto t = contracts::parse_rfc3339("2025-03-03T09:12:00+01:00");
  REQUIRE(t);
  CHECK(*t == 1740989520000);
  CHECK(contracts::format_rfc3339(*t) == "2025-03-03T08:12:00.000Z");
  auto frac = contracts::parse_rfc3339("2024-02-29T23:59:59.1234Z");
  REQUIRE(frac);
  CHECK(contracts::format_rfc3339(*frac) == "2024-02-29T23:59:59.123Z");
  auto negative = contracts::parse_rfc3339("2025-01-01T00:30:00-02:00");
  REQUIRE(negative);
  CHECK(contracts::format_rfc3339(*negative) == "2025-01-01T02:30:00.000Z");
}

TEST_CASE("RFC 3339 parsing names what is wrong", "[contracts][time]") {
  struct Case {
    const char* text;
    const char* problem;
  };
  auto c = GENERATE(Case{"2025-03-03", "no T"}, Case{"2025-03-03T09:12+01:00", "hh:mm:ss"},
                    Case{"2025-03-03T09:12:00", "no offset"}, Case{"03-03-2025T09:12:00Z", "YYYY-MM-DD"},
                    Case{"2025-03-03T09:12:00.Z", "decimal point"});
  auto t = contracts::parse_rfc3339(c.text);
  REQUIRE_FALSE(t);
  CHECK(t.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(t.error().detail, Catch::Contains(c.problem));
}
