// Parse-time payload limits of PayloadValidator (contracts/validator.h, docs/contracts.md "Payload
// limits"): nesting depth and duplicate keys, plus numbers beyond what JSON parsers represent.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "contracts/validator.h"

using contracts::ErrorCode;
using contracts::kMaxPayloadDepth;
using contracts::PayloadValidator;

namespace {

PayloadValidator compiled(const char* schema) {
  auto validator = PayloadValidator::compile(schema);
  if (!validator) FAIL("schema does not compile: " << validator.error().detail);
  return std::move(*validator);
}

// `levels` nested arrays around a 1: "[[1]]" for 2.
std::string nested_arrays(int levels) {
  return std::string(static_cast<std::size_t>(levels), '[') + "1" + std::string(static_cast<std::size_t>(levels), ']');
}

constexpr const char* kAnything = R"({})";
constexpr const char* kLegs = R"({"type": "object", "properties": {
    "count": {"type": "integer", "minimum": 0},
    "legs": {"type": "array", "items": {"type": "object"}}}})";

}  // namespace

TEST_CASE("validate accepts nesting up to the depth limit", "[contracts][validator][limits]") {
  auto validator = compiled(kAnything);
  CHECK(validator.validate(nested_arrays(kMaxPayloadDepth)).ok());
  CHECK(validator.validate(R"({"a": {"b": [{"c": [1, 2, {"d": null}]}]}})").ok());
}

TEST_CASE("validate refuses nesting beyond the depth limit, naming the limit", "[contracts][validator][limits]") {
  auto validator = compiled(kAnything);
  const auto outcome = validator.validate(nested_arrays(kMaxPayloadDepth + 1));
  CHECK(outcome.code == ErrorCode::kInvalidPayload);
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].code == "depth");
  CHECK_THAT(outcome.errors[0].reason, Catch::Contains("limit of " + std::to_string(kMaxPayloadDepth) + " levels"));
  // The pointer names the container that is one level too deep.
  std::string pointer;
  for (int i = 1; i < kMaxPayloadDepth; ++i) pointer += "/0";
  CHECK(outcome.errors[0].pointer == pointer + "/0");
}

TEST_CASE("validate refuses a nesting bomb without exhausting the stack", "[contracts][validator][limits]") {
  auto validator = compiled(kAnything);
  for (const std::string& bomb : {nested_arrays(200000), std::string(300000, '['),
                                  [] { std::string s; for (int i = 0; i < 100000; ++i) s += R"({"a":)"; return s; }()}) {
    const auto outcome = validator.validate(bomb);
    CHECK(outcome.code == ErrorCode::kInvalidPayload);
    REQUIRE(outcome.errors.size() == 1);
    CHECK(outcome.errors[0].code == "depth");
  }
}

TEST_CASE("validate refuses a duplicate key, naming it by pointer", "[contracts][validator][limits]") {
  auto validator = compiled(kLegs);
  const auto [payload, pointer, name] = GENERATE(table<const char*, const char*, const char*>({
      {R"({"count": 1, "count": 2})", "/count", "count"},
      {R"({"legs": [{"std": "a"}, {"std": "a", "at": 1, "std": "b"}]})", "/legs/1/std", "std"},
      {R"({"a/b": 1, "x": {}, "a/b": 2})", "/a~1b", "a/b"},
      {R"({"legs": [], "count": 0, "legs": [{"x": 1}]})", "/legs", "legs"},
  }));
  INFO(payload);
  const auto outcome = validator.validate(payload);
  CHECK(outcome.code == ErrorCode::kInvalidPayload);
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].code == "duplicate_key");
  CHECK(outcome.errors[0].pointer == pointer);
  CHECK_THAT(outcome.errors[0].reason, Catch::Contains(std::string("'") + name + "'"));
}

TEST_CASE("validate allows the same key in different objects", "[contracts][validator][limits]") {
  auto validator = compiled(kLegs);
  CHECK(validator.validate(R"({"legs": [{"std": "a"}, {"std": "b"}], "count": 1})").ok());
}

TEST_CASE("validate refuses integers beyond 64 bits where the schema wants an integer", "[contracts][validator][limits]") {
  auto validator = compiled(kLegs);
  for (const char* number : {"18446744073709551617", "-18446744073709551617", "1e308"}) {
    INFO(number);
    const auto outcome = validator.validate(std::string(R"({"count": )") + number + "}");
    CHECK(outcome.code == ErrorCode::kSchemaViolation);
    bool type_error = false;  // the negative one also breaks "minimum"
    for (const auto& error : outcome.errors) type_error = type_error || (error.pointer == "/count" && error.code == "type");
    CHECK(type_error);
  }
  // A number no double holds is not JSON the broker can keep: refused as invalid.
  const auto overflow = validator.validate(R"({"count": 1e400})");
  CHECK(overflow.code == ErrorCode::kInvalidPayload);
  REQUIRE(overflow.errors.size() == 1);
  CHECK(overflow.errors[0].code == "json");
}

TEST_CASE("keys repeat freely across levels and sibling objects, and the document is handed back", "[contracts][validator][limits]") {
  auto validator = compiled(kAnything);
  for (const char* payload : {R"({"a": {"a": {"a": 1}}, "b": 2})", R"({"x": {"k": 1}, "y": {"k": 2}, "k": [{"k": 3}, {"k": 4}]})",
                              R"([{"id": 1, "id2": 2}, {"id": 1}, [{"id": 5}]])"}) {
    INFO(payload);
    nlohmann::json document;
    CHECK(validator.validate(payload, &document).ok());
    CHECK(document == nlohmann::json::parse(payload));
  }
  nlohmann::json untouched = {{"kept", true}};
  CHECK_FALSE(validator.validate(R"({"k": 1, "k": 2})", &untouched).ok());
  CHECK(untouched == nlohmann::json{{"kept", true}});  // left as it was when the payload is refused
}
