// The ISO 8601 duration scanner (contracts/iso_duration.h) that parse_retention and parse_duration
// share: the parts it yields, and every refusal, so both callers refuse the same malformed text.
#include "contracts/iso_duration.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "contracts/norms.h"
#include "contracts/retention.h"

namespace {

using contracts::DurationUnit;

std::vector<std::pair<DurationUnit, std::int64_t>> parts(std::string_view text) {
  auto scanned = contracts::scan_iso_duration(text);
  REQUIRE(scanned);
  std::vector<std::pair<DurationUnit, std::int64_t>> out;
  for (const auto& p : *scanned) out.emplace_back(p.unit, p.value);
  return out;
}

}  // namespace

TEST_CASE("a duration scans into its parts in order, M reading months before T and minutes after",
          "[contracts][duration]") {
  using P = std::vector<std::pair<DurationUnit, std::int64_t>>;
  CHECK(parts("P10Y") == P{{DurationUnit::kYears, 10}});
  CHECK(parts("P1Y2M3W4DT5H6M7S") == P{{DurationUnit::kYears, 1},
                                       {DurationUnit::kMonths, 2},
                                       {DurationUnit::kWeeks, 3},
                                       {DurationUnit::kDays, 4},
                                       {DurationUnit::kHours, 5},
                                       {DurationUnit::kMinutes, 6},
                                       {DurationUnit::kSeconds, 7}});
  CHECK(parts("PT15M") == P{{DurationUnit::kMinutes, 15}});
  CHECK(parts("P18M") == P{{DurationUnit::kMonths, 18}});
  CHECK(parts("PT0S") == P{{DurationUnit::kSeconds, 0}});
  CHECK(parts("P10000009D") == P{{DurationUnit::kDays, 10'000'009}});  // the largest value taken
}

TEST_CASE("the duration scanner refuses malformed text", "[contracts][duration]") {
  for (const char* bad : {
           "",             // empty
           "P",            // no part
           "PT",           // no part after T
           "P1DT",         // T at the end
           "1D",           // no P
           "p1D",          // lower-case P
           "P1d",          // lower-case designator
           "PD",           // no digits
           "P1",           // no designator
           "P1DT2",        // no designator after T
           "P-1D",         // a sign
           "P+1D",         // a sign
           "P1.5D",        // a fraction
           "P1,5D",        // a decimal comma
           "P 1D",         // a space
           "P1D ",         // trailing space
           "P1DT1HT1M",    // T twice
           "PT1HT",        // T twice, at the end
           "P1D1Y",        // out of order
           "P1M1Y",        // out of order
           "P1D1D",        // twice
           "PT1S1M",       // out of order after T
           "PT1H2H",       // twice after T
           "PT1D",         // a date designator after T
           "P1H",          // a time designator before T
           "P1S",          // a time designator before T
           "P1X",          // unknown designator
           "P10000010D",   // too large
           "P99999999D",   // too large
           "P1Y1M1W1D1H",  // H before T
       }) {
    INFO(bad);
    CHECK_FALSE(contracts::scan_iso_duration(bad).has_value());
    // Both callers refuse what the scanner refuses.
    CHECK_FALSE(contracts::parse_retention(bad).has_value());
    CHECK_FALSE(contracts::parse_duration(bad).has_value());
  }
}

TEST_CASE("what the callers add to the scanner: no years or months for norms, above zero for retention",
          "[contracts][duration]") {
  CHECK(contracts::scan_iso_duration("P1Y"));
  CHECK_FALSE(contracts::parse_duration("P1Y"));
  CHECK_FALSE(contracts::parse_duration("P1M"));
  CHECK(contracts::parse_duration("PT1M") == 60'000);
  CHECK(contracts::scan_iso_duration("PT0S"));
  CHECK(contracts::parse_duration("PT0S") == 0);
  CHECK_FALSE(contracts::parse_retention("PT0S"));
  CHECK_FALSE(contracts::parse_retention("P0Y0M"));
  const auto p = contracts::parse_retention("P1Y6MT1H");
  REQUIRE(p);
  CHECK(p->years == 1);
  CHECK(p->months == 6);
  CHECK(p->fixed == 3'600'000);
}
