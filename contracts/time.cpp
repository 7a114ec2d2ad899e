#include "contracts/time.h"

#include <array>
#include <chrono>
#include <cstdio>

namespace contracts {

std::string format_rfc3339(Millis millis) {
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds{millis}};
  const auto day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()),
                static_cast<int>(clock.subseconds().count()));
  return text.data();
}

Result<Millis> parse_rfc3339(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error{ErrorCode::kConfig, "time '" + std::string(text) + "': " + std::string(why) +
                                         " (expected RFC 3339 such as 2025-03-03T09:12:00+01:00)"};
  };
  std::size_t at = 0;
  auto digits = [&](std::size_t count, int& out) {
    out = 0;
    if (at + count > text.size()) return false;
    for (std::size_t k = 0; k < count; ++k) {
      char c = text[at + k];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    at += count;
    return true;
  };
  auto literal = [&](std::string_view choices) {
    if (at < text.size() && choices.find(text[at]) != std::string_view::npos) {
      ++at;
      return true;
    }
    return false;
  };

  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(4, year) || !literal("-") || !digits(2, month) || !literal("-") || !digits(2, day)) {
    return bad("the date is not YYYY-MM-DD");
  }
  if (!literal("Tt")) return bad("no T between date and time");
  if (!digits(2, hour) || !literal(":") || !digits(2, minute) || !literal(":") ||
      !digits(2, second)) {
    return bad("the time of day is not hh:mm:ss");
  }
  int millis = 0;
  if (literal(".")) {
    int count = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++count) {
      if (count < 3) millis = millis * 10 + (text[at] - '0');
    }
    if (count == 0) return bad("no digits after the decimal point");
    for (; count < 3; ++count) millis *= 10;
  }
  int offset_minutes = 0;
  if (!literal("Zz")) {
    if (at >= text.size() || (text[at] != '+' && text[at] != '-'))
      return bad("no offset (Z or +hh:mm)");
    const int sign = text[at] == '-' ? -1 : 1;
    ++at;
    int offset_hours = 0, offset_mins = 0;
    if (!digits(2, offset_hours) || !literal(":") || !digits(2, offset_mins) || offset_hours > 23 ||
        offset_mins > 59) {
      return bad("the offset is not +hh:mm");
    }
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
  }
  if (at != text.size()) return bad("unexpected text after the offset");

  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year},
                            std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return bad("no such date");
  if (hour > 23 || minute > 59 || second > 60)
    return bad("the time of day is out of range");  // 60: leap second
  const auto local =
      sys_days{date} + hours{hour} + minutes{minute} + seconds{second} + milliseconds{millis};
  return (local - minutes{offset_minutes}).time_since_epoch().count();
}

}  // namespace contracts
