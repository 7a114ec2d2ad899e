#include <catch2/catch.hpp>

#include <string>

#include "contracts/formats.h"

using contracts::Format;

TEST_CASE("date-time accepts RFC 3339 timestamps on days that exist", "[contracts][formats]") {
  const std::string text =
      GENERATE(as<std::string>{}, "2025-03-03T09:12:00+01:00", "2025-03-03T08:12:00Z",
               "2025-03-03t08:12:00z",
               "2024-02-29T12:00:00Z",              // leap year
               "2000-02-29T12:00:00Z",              // divisible by 400
               "2025-12-31T23:59:59.999999-12:00",  // fraction, negative offset
               "2025-01-31T00:00:00.5+14:00", "2025-04-30T10:00:00+05:30",
               "1998-12-31T23:59:60Z",       // leap second at 23:59:60 UTC
               "1998-12-31T15:59:60-08:00",  // the same leap second in California
               "0000-01-01T00:00:00Z");
  INFO(text);
  CHECK(contracts::is_valid_date_time(text));
}

TEST_CASE("date-time rejects malformed timestamps and days that do not exist",
          "[contracts][formats]") {
  const std::string text =
      GENERATE(as<std::string>{}, "", "2025-03-03", "2025-03-03T09:12:00",  // no offset
               "2023-02-29T12:00:00Z",                                      // not a leap year
               "1900-02-29T12:00:00Z",  // divisible by 100, not by 400
               "2025-04-31T10:00:00Z", "2025-13-01T10:00:00Z", "2025-00-10T10:00:00Z",
               "2025-01-00T10:00:00Z", "2025-01-01T24:00:00Z", "2025-01-01T10:60:00Z",
               "2025-01-01T10:00:61Z",
               "2025-01-01T10:00:60Z",   // leap second not at 23:59 UTC
               "2025-01-01 10:00:00Z",   // space instead of T
               "2025-01-01T10:00:00.Z",  // empty fraction
               "2025-01-01T10:00:00+1:00", "2025-01-01T10:00:00+01", "2025-01-01T10:00:00+24:00",
               "2025-01-01T10:00:00+01:60", "2025-1-01T10:00:00Z", "25-01-01T10:00:00Z",
               "2025-01-01T10:00:00Z ", " 2025-01-01T10:00:00Z", "2025-01-01T10:00:00ZZ",
               "2025-01-01T10:00Z", "２０２５-01-01T10:00:00Z");
  INFO(text);
  CHECK_FALSE(contracts::is_valid_date_time(text));
}

TEST_CASE("date accepts full dates on days that exist and nothing else", "[contracts][formats]") {
  CHECK(contracts::is_valid_date("2024-02-29"));
  CHECK(contracts::is_valid_date("2025-12-31"));
  CHECK_FALSE(contracts::is_valid_date("2023-02-29"));
  CHECK_FALSE(contracts::is_valid_date("2025-06-31"));
  CHECK_FALSE(contracts::is_valid_date("2025-6-30"));
  CHECK_FALSE(contracts::is_valid_date("2025-06-30T00:00:00Z"));
  CHECK_FALSE(contracts::is_valid_date("20250630"));
}

TEST_CASE("time accepts RFC 3339 full-time with an offset", "[contracts][formats]") {
  CHECK(contracts::is_valid_time("09:12:00+01:00"));
  CHECK(contracts::is_valid_time("23:59:60Z"));
  CHECK(contracts::is_valid_time("08:30:00.25z"));
  CHECK_FALSE(contracts::is_valid_time("09:12:00"));
  CHECK_FALSE(contracts::is_valid_time("9:12:00Z"));
  CHECK_FALSE(contracts::is_valid_time("24:00:00Z"));
  CHECK_FALSE(contracts::is_valid_time("12:00:60Z"));
}

TEST_CASE("email accepts ordinary addresses and rejects malformed ones", "[contracts][formats]") {
  CHECK(contracts::is_valid_email("boekingen@dtv.example"));
  CHECK(contracts::is_valid_email("first.last+tag@sub.domain.example"));
  CHECK(contracts::is_valid_email("o'brien@x-y.example"));
  CHECK_FALSE(contracts::is_valid_email("no-at-sign.example"));
  CHECK_FALSE(contracts::is_valid_email("@dtv.example"));
  CHECK_FALSE(contracts::is_valid_email("a@b@dtv.example"));
  CHECK_FALSE(contracts::is_valid_email(".lead@dtv.example"));
  CHECK_FALSE(contracts::is_valid_email("trail.@dtv.example"));
  CHECK_FALSE(contracts::is_valid_email("two..dots@dtv.example"));
  CHECK_FALSE(contracts::is_valid_email("user@localhost"));
  CHECK_FALSE(contracts::is_valid_email("user@-dtv.example"));
  CHECK_FALSE(contracts::is_valid_email("user@dtv..example"));
  CHECK_FALSE(contracts::is_valid_email("user name@dtv.example"));
  CHECK_FALSE(contracts::is_valid_email(std::string(65, 'a') + "@dtv.example"));
}

TEST_CASE("uuid accepts 8-4-4-4-12 hex digits in any case", "[contracts][formats]") {
  CHECK(contracts::is_valid_uuid("7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c01"));
  CHECK(contracts::is_valid_uuid("7D0F3B7E-2F7A-4C8E-9A55-0E0B7A9A1C01"));
  CHECK(contracts::is_valid_uuid("00000000-0000-0000-0000-000000000000"));
  CHECK_FALSE(contracts::is_valid_uuid("7d0f3b7e2f7a4c8e9a550e0b7a9a1c01"));
  CHECK_FALSE(contracts::is_valid_uuid("7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c0"));
  CHECK_FALSE(contracts::is_valid_uuid("7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c01a"));
  CHECK_FALSE(contracts::is_valid_uuid("7d0f3b7g-2f7a-4c8e-9a55-0e0b7a9a1c01"));
  CHECK_FALSE(contracts::is_valid_uuid("{7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c0}"));
}

TEST_CASE("format names map to checkers and unknown names are unchecked", "[contracts][formats]") {
  CHECK(contracts::format_from_name("date-time") == Format::kDateTime);
  CHECK(contracts::format_from_name("date") == Format::kDate);
  CHECK(contracts::format_from_name("time") == Format::kTime);
  CHECK(contracts::format_from_name("email") == Format::kEmail);
  CHECK(contracts::format_from_name("uuid") == Format::kUuid);
  CHECK(contracts::format_from_name("hostname") == Format::kUnchecked);
  CHECK(contracts::matches_format(Format::kUnchecked, "anything at all"));
  CHECK_FALSE(contracts::matches_format(Format::kDate, "2023-02-29"));
  CHECK(contracts::to_string(Format::kDateTime) == "date-time");
}
