#pragma once
// The one scanner of ISO 8601 durations (PnYnMnWnDTnHnMnS) behind parse_retention (retention.h,
// with years and months) and parse_duration (norms.h, without): it checks the syntax and yields
// the parts; what each caller accepts and how it adds them up stays with the caller.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace contracts {

enum class DurationUnit : std::uint8_t { kYears, kMonths, kWeeks, kDays, kHours, kMinutes, kSeconds };

struct DurationPart {
  DurationUnit unit = DurationUnit::kDays;
  std::int64_t value = 0;
};

// The parts of `text`, in order. Refused (nullopt): no leading 'P'; no part at all; a designator
// out of the order Y M W D, then (after one 'T') H M S, or twice; a 'T' with no part after it; a
// part without digits or without designator; a sign, fraction or space; a value above 10,000,009.
// Zero values are parts like any other.
std::optional<std::vector<DurationPart>> scan_iso_duration(std::string_view text);

}  // namespace contracts
