#include "contracts/retention.h"

#include <cstdint>

#include "contracts/iso_duration.h"

namespace contracts {
namespace {

constexpr Millis kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;

// Howard Hinnant's civil-calendar algorithms (proleptic Gregorian, days since 1970-01-01).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<RetentionPeriod> parse_retention(std::string_view text) {
  auto parts = scan_iso_duration(text);
  if (!parts) return std::nullopt;
  RetentionPeriod out;
  out.text = std::string(text);
  for (const auto& [unit, value] : *parts) {
    switch (unit) {
      case DurationUnit::kYears: out.years = static_cast<int>(value); break;
      case DurationUnit::kMonths: out.months = static_cast<int>(value); break;
      case DurationUnit::kWeeks: out.fixed += value * 7 * kDay; break;
      case DurationUnit::kDays: out.fixed += value * kDay; break;
      case DurationUnit::kHours: out.fixed += value * kHour; break;
      case DurationUnit::kMinutes: out.fixed += value * kMinute; break;
      case DurationUnit::kSeconds: out.fixed += value * kSecond; break;
    }
  }
  if (out.years == 0 && out.months == 0 && out.fixed == 0) return std::nullopt;
  return out;
}

Millis retention_deadline(Millis accepted_at, const RetentionPeriod& period) {
  Millis t = accepted_at;
  if (period.years != 0 || period.months != 0) {
    std::int64_t days = t / kDay;
    Millis in_day = t % kDay;
    if (in_day < 0) {
      in_day += kDay;
      --days;
    }
    std::int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, y, m, d);
    const std::int64_t months = y * 12 + (m - 1) + period.years * std::int64_t{12} + period.months;
    y = months / 12;
    m = static_cast<unsigned>(months % 12) + 1;
    if (d > days_in_month(y, m)) d = days_in_month(y, m);
    t = days_from_civil(y, m, d) * kDay + in_day;
  }
  return t + period.fixed;
}

}  // namespace contracts
