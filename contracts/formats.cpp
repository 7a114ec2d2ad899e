#include "contracts/formats.h"

#include <cstddef>

namespace contracts {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Reads exactly `n` digits at `pos` into `out`; advances `pos`. False when a digit is missing.
bool read_digits(std::string_view text, std::size_t& pos, int n, int& out) {
  if (text.size() - pos < static_cast<std::size_t>(n)) return false;
  int value = 0;
  for (int i = 0; i < n; ++i) {
    const char c = text[pos + static_cast<std::size_t>(i)];
    if (!is_digit(c)) return false;
    value = value * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(n);
  out = value;
  return true;
}

bool read_char(std::string_view text, std::size_t& pos, char expected) {
  if (pos >= text.size() || text[pos] != expected) return false;
  ++pos;
  return true;
}

bool is_leap_year(int year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap_year(year)) return 29;
  return kDays[month - 1];
}

// RFC 3339 full-date: 4DIGIT "-" 2DIGIT "-" 2DIGIT, with a day that exists.
bool parse_full_date(std::string_view text, std::size_t& pos) {
  int year = 0, month = 0, day = 0;
  if (!read_digits(text, pos, 4, year) || !read_char(text, pos, '-') ||
      !read_digits(text, pos, 2, month) || !read_char(text, pos, '-') ||
      !read_digits(text, pos, 2, day)) {
    return false;
  }
  if (month < 1 || month > 12) return false;
  return day >= 1 && day <= days_in_month(year, month);
}

// RFC 3339 full-time: HH ":" MM ":" SS ["." 1*DIGIT] ("Z" / ("+" / "-") HH ":" MM).
bool parse_full_time(std::string_view text, std::size_t& pos) {
  int hour = 0, minute = 0, second = 0;
  if (!read_digits(text, pos, 2, hour) || !read_char(text, pos, ':') ||
      !read_digits(text, pos, 2, minute) || !read_char(text, pos, ':') ||
      !read_digits(text, pos, 2, second)) {
    return false;
  }
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    if (pos == start) return false;
  }
  if (pos >= text.size()) return false;
  int offset_minutes = 0;
  const char sign = text[pos++];
  if (sign == 'Z' || sign == 'z') {
    offset_minutes = 0;
  } else if (sign == '+' || sign == '-') {
    int offset_hour = 0, offset_minute = 0;
    if (!read_digits(text, pos, 2, offset_hour) || !read_char(text, pos, ':') ||
        !read_digits(text, pos, 2, offset_minute)) {
      return false;
    }
    if (offset_hour > 23 || offset_minute > 59) return false;
    offset_minutes = (offset_hour * 60 + offset_minute) * (sign == '+' ? 1 : -1);
  } else {
    return false;
  }
  if (second == 60) {
    // Leap seconds are inserted at the end of a UTC day only.
    const int utc_minute = ((hour * 60 + minute - offset_minutes) % 1440 + 1440) % 1440;
    if (utc_minute != 23 * 60 + 59) return false;
  }
  return true;
}

// RFC 5322 atext: letters, digits and these symbols.
bool is_atext(char c) {
  return is_alpha(c) || is_digit(c) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// dot-atom: atoms of atext separated by single dots, no leading or trailing dot.
bool is_dot_atom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  char previous = '\0';
  for (const char c : text) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    previous = c;
  }
  return true;
}

// A DNS host name with at least two labels: letters, digits and inner hyphens, 1-63 per label.
bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t labels = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('.', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view label = text.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
    }
    ++labels;
    start = end + 1;
  }
  return labels >= 2;
}

}  // namespace

Format format_from_name(std::string_view name) {
  if (name == "date-time") return Format::kDateTime;
  if (name == "date") return Format::kDate;
  if (name == "time") return Format::kTime;
  if (name == "email") return Format::kEmail;
  if (name == "uuid") return Format::kUuid;
  return Format::kUnchecked;
}

std::string_view to_string(Format format) {
  switch (format) {
    case Format::kUnchecked: return "";
    case Format::kDateTime: return "date-time";
    case Format::kDate: return "date";
    case Format::kTime: return "time";
    case Format::kEmail: return "email";
    case Format::kUuid: return "uuid";
  }
  return "";
}

std::string_view describe(Format format) {
  switch (format) {
    case Format::kUnchecked: return "";
    case Format::kDateTime:
      return "not a valid date-time: expected RFC 3339 with an offset, "
             "e.g. 2025-03-03T09:12:00+01:00 or 2025-03-03T08:12:00Z, on a day that exists";
    case Format::kDate:
      return "not a valid date: expected RFC 3339 full-date YYYY-MM-DD on a day that exists, "
             "e.g. 2025-03-03";
    case Format::kTime:
      return "not a valid time: expected RFC 3339 full-time with an offset, e.g. 09:12:00+01:00";
    case Format::kEmail: return "not a valid e-mail address: expected local-part@domain.tld";
    case Format::kUuid:
      return "not a valid uuid: expected 8-4-4-4-12 hexadecimal digits, "
             "e.g. 7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c01";
  }
  return "";
}

bool is_valid_date_time(std::string_view text) {
  std::size_t pos = 0;
  if (!parse_full_date(text, pos)) return false;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't')) return false;
  ++pos;
  return parse_full_time(text, pos) && pos == text.size();
}

bool is_valid_date(std::string_view text) {
  std::size_t pos = 0;
  return parse_full_date(text, pos) && pos == text.size();
}

bool is_valid_time(std::string_view text) {
  std::size_t pos = 0;
  return parse_full_time(text, pos) && pos == text.size();
}

bool is_valid_email(std::string_view text) {
  if (text.size() > 254) return false;
  const std::size_t at = text.find('@');
  if (at == std::string_view::npos) return false;
  const std::string_view local = text.substr(0, at);
  const std::string_view domain = text.substr(at + 1);
  return local.size() <= 64 && is_dot_atom(local) && is_host_name(domain);
}

bool is_valid_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool hyphen_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen_position ? text[i] != '-' : !is_hex(text[i])) return false;
  }
  return true;
}

bool matches_format(Format format, std::string_view text) {
  switch (format) {
    case Format::kUnchecked: return true;
    case Format::kDateTime: return is_valid_date_time(text);
    case Format::kDate: return is_valid_date(text);
    case Format::kTime: return is_valid_time(text);
    case Format::kEmail: return is_valid_email(text);
    case Format::kUuid: return is_valid_uuid(text);
  }
  return true;
}

}  // namespace contracts
