#include "contracts/iso_duration.h"

namespace contracts {

std::optional<std::vector<DurationPart>> scan_iso_duration(std::string_view text) {
  if (text.size() < 3 || text[0] != 'P') return std::nullopt;
  std::vector<DurationPart> parts;
  bool in_time = false;
  std::string_view order = "YMWD";  // designators still allowed, in order
  std::size_t i = 1;
  while (i < text.size()) {
    if (text[i] == 'T') {
      if (in_time || i + 1 == text.size()) return std::nullopt;
      in_time = true;
      order = "HMS";
      ++i;
      continue;
    }
    std::int64_t value = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (value > 1'000'000) return std::nullopt;
      value = value * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start || i == text.size()) return std::nullopt;
    const auto at = order.find(text[i]);
    if (at == std::string_view::npos) return std::nullopt;
    order.remove_prefix(at + 1);
    DurationUnit unit = DurationUnit::kDays;
    switch (text[i]) {
      case 'Y': unit = DurationUnit::kYears; break;
      case 'M': unit = in_time ? DurationUnit::kMinutes : DurationUnit::kMonths; break;
      case 'W': unit = DurationUnit::kWeeks; break;
      case 'D': unit = DurationUnit::kDays; break;
      case 'H': unit = DurationUnit::kHours; break;
      default: unit = DurationUnit::kSeconds; break;  // 'S': the only designator left
    }
    parts.push_back({unit, value});
    ++i;
  }
  if (parts.empty()) return std::nullopt;
  return parts;
}

}  // namespace contracts
