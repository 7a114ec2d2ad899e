#pragma once
// Hand-written checkers for the JSON Schema `format` keyword. valijson 1.0 builds a std::regex on
// every format check (~400 us); these run in tens of nanoseconds. PayloadValidator strips `format`
// from the schema it hands to valijson and calls these instead (docs/contracts.md, "Formats").
// All functions are pure and thread-safe.

#include <cstdint>
#include <string_view>

namespace contracts {

enum class Format : std::uint8_t {
  kUnchecked = 0,  // a format we do not check (draft 7 lets validators ignore unknown formats)
  kDateTime,       // RFC 3339 date-time: 2025-03-03T09:12:00+01:00, 2025-03-03T08:12:00.5Z
  kDate,           // RFC 3339 full-date: 2025-03-03
  kTime,           // RFC 3339 full-time, offset required: 09:12:00+01:00
  kEmail,          // pragmatic addr-spec: local@domain.tld (no quoted local parts, no IP literals)
  kUuid,           // 8-4-4-4-12 hexadecimal digits, any case, any version
};

// The Format named `name` in a schema ("date-time", ...); kUnchecked for any other name.
Format format_from_name(std::string_view name);

// The schema name of `format` ("date-time"); "" for kUnchecked.
std::string_view to_string(Format format);

// One line for a FieldError reason: what a valid value looks like.
std::string_view describe(Format format);

// Calendar-exact: the day must exist in that month and year (2024-02-29 yes, 2023-02-29 no). A leap
// second (:60) is accepted only where it can occur, at 23:59:60 UTC.
bool is_valid_date_time(std::string_view text);
bool is_valid_date(std::string_view text);
bool is_valid_time(std::string_view text);
bool is_valid_email(std::string_view text);
bool is_valid_uuid(std::string_view text);

// Dispatches to the checker for `format`; true for kUnchecked.
bool matches_format(Format format, std::string_view text);

}  // namespace contracts
