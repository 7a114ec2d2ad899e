// What a refused payload costs and says (contracts/validator.h, docs/contracts.md "Error cap"): at
// most kMaxListedErrors FieldErrors and kMaxListedErrorBytes of them, then a too_many_errors marker
// counting the rest; checking stops after kMaxCollectedErrors; and describe_refusal names the cause
// of a refusal before the schema (depth, duplicate key, UTF-8, JSON) in the receipt's detail.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "contracts/validator.h"

using contracts::ErrorCode;
using contracts::kMaxCollectedErrors;
using contracts::kMaxListedErrors;
using contracts::kTooManyErrorsCode;
using contracts::PayloadValidator;

namespace {

PayloadValidator compiled(const char* schema) {
  auto validator = PayloadValidator::compile(schema);
  if (!validator) FAIL("schema does not compile: " << validator.error().detail);
  return std::move(*validator);
}

// test.notice v1's schema (tests/data/contracts), the contract the integration tests abuse.
constexpr const char* kNotice = R"({
  "type": "object", "additionalProperties": false, "required": ["planned_at", "location", "items"],
  "properties": {
    "planned_at": {"type": "string", "format": "date-time"},
    "location": {"type": "string", "enum": ["AZC-TER-APEL", "DC-ROTTERDAM", "SCHIPHOL-G"]},
    "items": {"type": "array", "items": {"type": "object", "additionalProperties": false,
      "required": ["id", "count"],
      "properties": {"id": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{4}$"}, "count": {"type": "integer", "minimum": 0}}}},
    "note": {"type": "string", "maxLength": 200}}})";

std::string with_items(const std::string& item, int count) {
  std::string out =
      R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[)";
  for (int i = 0; i < count; ++i) out += (i ? "," : "") + item;
  return out + "]}";
}

std::string with_undeclared(int count, const std::string& prefix = "x") {
  std::string out =
      R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[])";
  for (int i = 0; i < count; ++i) out += ",\"" + prefix + std::to_string(i) + "\":0";
  return out + "}";
}

// The number a too_many_errors reason starts with.
unsigned long left_out(const contracts::FieldError& marker) {
  return std::strtoul(marker.reason.c_str(), nullptr, 10);
}

}  // namespace

TEST_CASE("a payload breaking its schema 100 000 times lists 100 errors and a marker",
          "[contracts][validator][cap]") {
  auto validator = compiled(kNotice);
  const auto payload =
      GENERATE(with_items("1", 100'000), with_items("{}", 50'000), with_undeclared(100'000),
               with_items(R"({"id":"x","count":-1})", 40'000));
  const auto outcome = validator.validate(payload);
  CHECK(outcome.code == ErrorCode::kSchemaViolation);
  REQUIRE(outcome.errors.size() == kMaxListedErrors + 1);
  const auto& marker = outcome.errors.back();
  CHECK(marker.code == kTooManyErrorsCode);
  CHECK(marker.pointer.empty());
  // Checking stopped at the bound, so the count is a lower bound and says so.
  CHECK_FALSE(outcome.complete);
  CHECK(outcome.found >= kMaxCollectedErrors / 4);
  CHECK(outcome.found <= kMaxCollectedErrors);
  CHECK(left_out(marker) == outcome.found - kMaxListedErrors);
  CHECK_THAT(marker.reason, Catch::Contains("or more errors not listed"));
  for (std::size_t i = 0; i < kMaxListedErrors; ++i)
    CHECK(outcome.errors[i].code != kTooManyErrorsCode);
}

TEST_CASE("errors above the cap but within the bound are counted exactly",
          "[contracts][validator][cap]") {
  auto validator = compiled(kNotice);
  const auto outcome = validator.validate(with_items("1", 150));
  REQUIRE(outcome.errors.size() == kMaxListedErrors + 1);
  CHECK(outcome.complete);
  CHECK(outcome.found == 150);
  CHECK(outcome.errors.back().code == kTooManyErrorsCode);
  CHECK(outcome.errors.back().reason == "50 more errors not listed");
  // The listed ones are the first in pointer order.
  CHECK(outcome.errors.front().pointer == "/items/0");
  CHECK(outcome.errors[kMaxListedErrors - 1].pointer == "/items/99");
}

TEST_CASE("a refusal with at most 100 errors lists them all, without a marker",
          "[contracts][validator][cap]") {
  auto validator = compiled(kNotice);
  for (int count : {1, 99, 100}) {
    const auto outcome = validator.validate(with_items("1", count));
    CHECK(outcome.errors.size() == static_cast<std::size_t>(count));
    CHECK(outcome.found == static_cast<std::size_t>(count));
    CHECK(outcome.complete);
    CHECK(outcome.errors.back().code == "type");
  }
  const auto one_more = validator.validate(with_items("1", 101));
  REQUIRE(one_more.errors.size() == kMaxListedErrors + 1);
  CHECK(one_more.errors.back().reason == "1 more error not listed");
}

TEST_CASE("errors with long pointers are listed up to the byte bound, the rest counted",
          "[contracts][validator][cap]") {
  auto validator = compiled(kNotice);
  // 60 undeclared properties with 4 KiB names: each error carries the name twice (pointer, reason).
  const auto outcome = validator.validate(with_undeclared(60, std::string(4096, 'k')));
  REQUIRE_FALSE(outcome.errors.empty());
  CHECK(outcome.found == 60);
  CHECK(outcome.complete);
  std::size_t bytes = 0;
  for (const auto& e : outcome.errors) bytes += e.pointer.size() + e.code.size() + e.reason.size();
  CHECK(bytes <= contracts::kMaxListedErrorBytes + 100);
  REQUIRE(outcome.errors.back().code == kTooManyErrorsCode);
  CHECK(left_out(outcome.errors.back()) == 60 - (outcome.errors.size() - 1));
}

TEST_CASE("many equal items under uniqueItems are one error, found without comparing every pair",
          "[contracts][validator][cap]") {
  // valijson compares every pair and, collecting, records one error per equal pair: 4.5 million
  // for 3000 equal items. The walk sorts and names the array once.
  auto validator = compiled(R"({"type": "object", "properties": {
      "remarks": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}})");
  std::string payload = R"({"remarks":[)";
  for (int i = 0; i < 3000; ++i) payload += (i ? "," : "") + std::string("\"same\"");
  payload += "]}";
  const auto outcome = validator.validate(payload);
  CHECK(outcome.code == ErrorCode::kSchemaViolation);
  CHECK(outcome.complete);
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].code == "uniqueItems");
  CHECK(outcome.errors[0].pointer == "/remarks");
  CHECK(validator.validate(R"({"remarks":["a","b","c"]})").ok());
  CHECK(validator.validate(R"({"remarks":[{"a":1,"b":[1,2]},{"b":[1,2],"a":1}]})").code ==
        ErrorCode::kSchemaViolation);
  CHECK_FALSE(validator.validate(R"({"remarks":[1, 1.0]})").ok());  // type error and equal numbers
}

TEST_CASE("describe_refusal names the cause of a refusal before the schema",
          "[contracts][validator][cap]") {
  auto validator = compiled(kNotice);
  SECTION("too deep: the limit and where") {
    std::string payload = R"({"note":)";
    for (int i = 0; i < 40; ++i) payload += "[";
    const auto detail = contracts::describe_refusal(validator.validate(payload), "test.notice", 1);
    CHECK_THAT(detail, Catch::Contains("deeper than the limit of 32 levels"));
    CHECK_THAT(detail, Catch::Contains("(at /note/0/0/"));
    CHECK_THAT(detail, !Catch::Contains("UTF-8"));
  }
  SECTION("a duplicate key: which key, at which pointer") {
    const auto detail = contracts::describe_refusal(
        validator.validate(R"({"items":[{"id":"AB1234","count":1,"id":"CD5678"}]})"), "test.notice",
        1);
    CHECK(detail == "property 'id' appears more than once in the same object (at /items/0/id)");
  }
  SECTION("invalid UTF-8 and invalid JSON keep their byte offsets") {
    CHECK(contracts::describe_refusal(validator.validate("{\"note\":\"caf\xc3\x28\"}"),
                                      "test.notice",
                                      1) == "payload is not valid UTF-8 (byte offset 12)");
    CHECK_THAT(
        contracts::describe_refusal(validator.validate(R"({"note": nope})"), "test.notice", 1),
        Catch::StartsWith("payload is not valid JSON (byte offset "));
  }
  SECTION("a long pointer is cut in the detail, not in the FieldError") {
    const std::string key(1000, 'k');
    const auto outcome = validator.validate("{\"" + key + "\":1,\"" + key + "\":2}");
    REQUIRE(outcome.errors.size() == 1);
    CHECK(outcome.errors[0].pointer == "/" + key);
    CHECK(contracts::describe_refusal(outcome, "test.notice", 1).size() < 600);
  }
  SECTION("schema violations: how many places, and how many are listed") {
    CHECK(contracts::describe_refusal(validator.validate(with_items("1", 1)), "test.notice", 1) ==
          "payload violates test.notice v1 in 1 place");
    CHECK(contracts::describe_refusal(validator.validate(with_items("1", 2)), "test.notice", 1) ==
          "payload violates test.notice v1 in 2 places");
    CHECK(contracts::describe_refusal(validator.validate(with_items("1", 150)), "test.notice", 1) ==
          "payload violates test.notice v1 in 150 places (the first 100 listed)");
    CHECK_THAT(
        contracts::describe_refusal(validator.validate(with_items("1", 100'000)), "test.notice", 1),
        Catch::Matches(
            "payload violates test.notice v1 in [0-9]+ or more places \\(the first 100 listed\\)"));
  }
}
