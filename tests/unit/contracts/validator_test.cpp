#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "contracts/validator.h"

using contracts::ErrorCode;
using contracts::FieldError;
using contracts::PayloadValidator;

namespace {

// Closed at every level, with formats reached through properties, items, additionalProperties,
// allOf and local $refs.
constexpr const char* kSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "additionalProperties": false,
  "required": ["id", "when"],
  "properties": {
    "id": {"type": "string", "pattern": "^A[0-9]+$", "maxLength": 6},
    "when": {"type": "string", "format": "date-time"},
    "count": {"type": "integer", "minimum": 1, "maximum": 9},
    "kind": {"type": "string", "enum": ["forced", "dublin"]},
    "fixed": {"const": "x"},
    "tags": {"type": "array", "maxItems": 3, "uniqueItems": true,
             "items": {"type": "string", "minLength": 2}},
    "legs": {"type": "array", "items": {"$ref": "#/definitions/leg"}},
    "dates": {"type": "object", "additionalProperties": {"type": "string", "format": "date"}},
    "a/b~c": {"type": "string", "format": "uuid"},
    "contact": {"allOf": [{"$ref": "#/definitions/contact"}]},
    "doctor_visit_due": {"type": "boolean", "x-sensitivity": "medical"}
  },
  "definitions": {
    "leg": {"type": "object", "additionalProperties": false, "required": ["std"],
            "properties": {"std": {"type": "string", "format": "date-time"},
                           "at": {"type": "string", "format": "time"}}},
    "contact": {"type": "object", "additionalProperties": false,
                "properties": {"email": {"type": "string", "format": "email"}}}
  }
})";

PayloadValidator compiled(const char* schema = kSchema) {
  auto validator = PayloadValidator::compile(schema);
  if (!validator) FAIL("schema does not compile: " << validator.error().detail);
  return std::move(*validator);
}

// A valid payload with `member` (a JSON `"key": value` fragment) added or replacing the default.
std::string payload_with(const std::string& members) { return "{" + members + "}"; }

std::string describe(const std::vector<FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.pointer + " " + e.code + " " + e.reason + "\n";
  return out;
}

// Checks that the payload is rejected with exactly one error, at `pointer` with `code`.
FieldError single_error(PayloadValidator& validator, const std::string& payload,
                        const std::string& pointer, const std::string& code) {
  const auto outcome = validator.validate(payload);
  INFO(payload << "\n" << describe(outcome.errors));
  CHECK(outcome.code == ErrorCode::kSchemaViolation);
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].pointer == pointer);
  CHECK(outcome.errors[0].code == code);
  CHECK_FALSE(outcome.errors[0].reason.empty());
  return outcome.errors[0];
}

const std::string kBase = R"("id": "A1", "when": "2025-03-12T07:05:00+01:00")";

}  // namespace

TEST_CASE("validate accepts a payload that matches the schema", "[contracts][validator]") {
  auto validator = compiled();
  const auto outcome = validator.validate(payload_with(kBase + R"(,
      "count": 3, "kind": "forced", "fixed": "x", "tags": ["ab", "cd"],
      "legs": [{"std": "2025-03-12T13:40:00+03:00", "at": "13:40:00+03:00"}],
      "dates": {"deadline": "2024-02-29"}, "a/b~c": "7d0f3b7e-2f7a-4c8e-9a55-0e0b7a9a1c01",
      "contact": {"email": "boekingen@dtv.example"}, "doctor_visit_due": false)"));
  INFO(describe(outcome.errors));
  CHECK(outcome.ok());
  CHECK(outcome.code == ErrorCode::kNone);
  CHECK(outcome.errors.empty());
}

TEST_CASE("validate names each kind of schema error with its pointer and code",
          "[contracts][validator]") {
  auto validator = compiled();
  SECTION("type") {
    const auto error =
        single_error(validator, payload_with(kBase + R"(, "count": "3")"), "/count", "type");
    CHECK(error.reason == "must be an integer (found string)");
  }
  SECTION("pattern") {
    const auto error = single_error(validator, R"({"id": "B1", "when": "2025-03-12T07:05:00Z"})",
                                    "/id", "pattern");
    CHECK(error.reason == "does not match the pattern ^A[0-9]+$");
  }
  SECTION("maxLength") {
    const auto error = single_error(
        validator, R"({"id": "A123456", "when": "2025-03-12T07:05:00Z"})", "/id", "maxLength");
    CHECK(error.reason == "must be at most 6 characters long");
  }
  SECTION("minimum") {
    const auto error =
        single_error(validator, payload_with(kBase + R"(, "count": 0)"), "/count", "minimum");
    CHECK(error.reason == "must be at least 1");
  }
  SECTION("maximum") {
    const auto error =
        single_error(validator, payload_with(kBase + R"(, "count": 10)"), "/count", "maximum");
    CHECK(error.reason == "must be at most 9");
  }
  SECTION("enum") {
    const auto error =
        single_error(validator, payload_with(kBase + R"(, "kind": "voluntary")"), "/kind", "enum");
    CHECK(error.reason == R"(must be one of "forced", "dublin")");
  }
  SECTION("const") {
    const auto error =
        single_error(validator, payload_with(kBase + R"(, "fixed": "y")"), "/fixed", "const");
    CHECK(error.reason == R"(must be "x")");
  }
  SECTION("maxItems") {
    single_error(validator, payload_with(kBase + R"(, "tags": ["ab", "cd", "ef", "gh"])"), "/tags",
                 "maxItems");
  }
  SECTION("uniqueItems") {
    single_error(validator, payload_with(kBase + R"(, "tags": ["ab", "ab"])"), "/tags",
                 "uniqueItems");
  }
  SECTION("minLength inside an array item") {
    single_error(validator, payload_with(kBase + R"(, "tags": ["ab", "c"])"), "/tags/1",
                 "minLength");
  }
  SECTION("additionalProperties points at the unknown property") {
    const auto error = single_error(validator, payload_with(kBase + R"(, "name": "J. Doe")"),
                                    "/name", "additionalProperties");
    CHECK(error.reason == "property 'name' is not in the contract");
  }
  SECTION("additionalProperties inside an array item reached through $ref") {
    single_error(validator, payload_with(kBase + R"(, "legs": [{"std": "2025-03-12T13:40:00Z",
                 "gate": "D7"}])"),
                 "/legs/0/gate", "additionalProperties");
  }
  SECTION("type of the whole payload") {
    const auto error = single_error(validator, "[]", "", "type");
    CHECK(error.reason == "must be an object (found array)");
  }
}

TEST_CASE("validate points a missing required field at the field itself",
          "[contracts][validator]") {
  auto validator = compiled();
  const auto error = single_error(validator, R"({"id": "A1"})", "/when", "required");
  CHECK(error.reason == "required property 'when' is missing");
}

TEST_CASE("validate points a missing required field inside an array item at that item",
          "[contracts][validator]") {
  auto validator = compiled();
  single_error(validator,
               payload_with(kBase + R"(, "legs": [{"std": "2025-03-12T13:40:00Z"}, {}])"),
               "/legs/1/std", "required");
}

TEST_CASE("validate reports every error, without valijson's wrapper errors",
          "[contracts][validator]") {
  auto validator = compiled();
  const auto outcome = validator.validate(R"({"id": 7, "count": 0, "kind": "x", "extra1": 1,
      "extra2": 2, "legs": [{"std": "yesterday"}]})");
  INFO(describe(outcome.errors));
  CHECK(outcome.code == ErrorCode::kSchemaViolation);
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& e : outcome.errors) found.emplace_back(e.pointer, e.code);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"/count", "minimum"},
      {"/extra1", "additionalProperties"},
      {"/extra2", "additionalProperties"},  // valijson itself names only the first
      {"/id", "type"},
      {"/kind", "enum"},
      {"/legs/0/std", "format"},
      {"/when", "required"},
  };
  CHECK(found == expected);
}

TEST_CASE("validate checks formats where the schema puts them", "[contracts][validator]") {
  auto validator = compiled();
  SECTION("date-time at the top level, a day that does not exist") {
    const auto error = single_error(validator, R"({"id": "A1", "when": "2023-02-29T10:00:00Z"})",
                                    "/when", "format");
    CHECK(error.reason.find("date-time") != std::string::npos);
  }
  SECTION("date-time inside an array item reached through $ref") {
    single_error(validator, payload_with(kBase + R"(, "legs": [{"std": "2025-03-12T13:40:00Z"},
                 {"std": "2025-03-12 13:40"}])"),
                 "/legs/1/std", "format");
  }
  SECTION("time inside an array item") {
    single_error(validator, payload_with(kBase + R"(, "legs": [{"std": "2025-03-12T13:40:00Z",
                 "at": "13:40"}])"),
                 "/legs/0/at", "format");
  }
  SECTION("date under additionalProperties") {
    single_error(validator, payload_with(kBase + R"(, "dates": {"ok": "2024-02-29",
                 "bad": "2023-02-29"})"),
                 "/dates/bad", "format");
  }
  SECTION("uuid under a key that needs RFC 6901 escaping") {
    single_error(validator, payload_with(kBase + R"(, "a/b~c": "not-a-uuid")"), "/a~1b~0c",
                 "format");
  }
  SECTION("email through allOf and $ref") {
    single_error(validator, payload_with(kBase + R"(, "contact": {"email": "dtv.example"})"),
                 "/contact/email", "format");
  }
  SECTION("format does not apply to a value of another type") {
    const auto outcome = validator.validate(R"({"id": "A1", "when": 20250312})");
    REQUIRE(outcome.errors.size() == 1);
    CHECK(outcome.errors[0].code == "type");
  }
}

TEST_CASE("validate ignores formats it does not know", "[contracts][validator]") {
  auto validator = compiled(R"({"type": "object", "properties": {
      "host": {"type": "string", "format": "hostname"}}})");
  CHECK(validator.validate(R"({"host": "!! not a host !!"})").ok());
}

TEST_CASE("validate ignores unknown keywords such as x-sensitivity", "[contracts][validator]") {
  auto validator = compiled(R"({"type": "object", "additionalProperties": false,
      "properties": {"medication": {"type": "boolean", "x-sensitivity": "medical"}}})");
  CHECK(validator.validate(R"({"medication": true})").ok());
  single_error(validator, R"({"medication": "yes"})", "/medication", "type");
}

TEST_CASE("validate reports if-then requirements without the conditional wrapper",
          "[contracts][validator]") {
  auto validator = compiled(R"({"type": "object", "properties": {
      "purpose": {"enum": ["departure", "transfer"]}, "departure_id": {"type": "string"}},
      "if": {"required": ["purpose"], "properties": {"purpose": {"const": "departure"}}},
      "then": {"required": ["departure_id"]}})");
  CHECK(validator.validate(R"({"purpose": "transfer"})").ok());
  single_error(validator, R"({"purpose": "departure"})", "/departure_id", "required");
}

TEST_CASE("validate reports the errors of every allOf branch, not just the first failing one",
          "[contracts][validator]") {
  auto validator = compiled(R"({"type": "object", "allOf": [
      {"required": ["a"]},
      {"if": {"required": ["kind"], "properties": {"kind": {"const": "x"}}},
       "then": {"required": ["x_id"]}},
      {"properties": {"n": {"type": "integer", "minimum": 5}}},
      {"required": ["b"]}]})");
  const auto outcome = validator.validate(R"({"kind": "x", "n": 1})");
  INFO(describe(outcome.errors));
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& e : outcome.errors) found.emplace_back(e.pointer, e.code);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"/a", "required"}, {"/b", "required"}, {"/n", "minimum"}, {"/x_id", "required"}};
  CHECK(found == expected);
}

TEST_CASE("validate reports an anyOf that no branch satisfies", "[contracts][validator]") {
  auto validator = compiled(R"({"type": "object",
      "anyOf": [{"required": ["transport_id"]}, {"required": ["departure_id"]}]})");
  CHECK(validator.validate(R"({"departure_id": "DEP-2025-000417"})").ok());
  const auto outcome = validator.validate("{}");
  INFO(describe(outcome.errors));
  CHECK(outcome.code == ErrorCode::kSchemaViolation);
  bool has_any_of = false;
  for (const auto& e : outcome.errors) has_any_of |= e.code == "anyOf" && e.pointer.empty();
  CHECK(has_any_of);
}

TEST_CASE("validate keeps working when reused with valid and invalid payloads",
          "[contracts][validator]") {
  auto validator = compiled();
  for (int i = 0; i < 3; ++i) {
    CHECK(validator.validate(payload_with(kBase)).ok());
    CHECK(validator.validate(R"({"id": "B1", "when": "2025-03-12T07:05:00Z"})").errors.size() == 1);
  }
}

TEST_CASE("validate rejects a payload that is not JSON, naming the byte offset",
          "[contracts][validator]") {
  auto validator = compiled();
  const auto outcome = validator.validate(R"({"id": "A1", "when": })");
  CHECK(outcome.code == ErrorCode::kInvalidPayload);
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].pointer == "");
  CHECK(outcome.errors[0].code == "json");
  INFO(outcome.errors[0].reason);
  CHECK(outcome.errors[0].reason.rfind("payload is not valid JSON (byte offset 21)", 0) == 0);
  CHECK(outcome.errors[0].reason.find("last read") == std::string::npos);
}

TEST_CASE("validate rejects an empty payload as invalid JSON", "[contracts][validator]") {
  auto validator = compiled();
  const auto outcome = validator.validate("");
  CHECK(outcome.code == ErrorCode::kInvalidPayload);
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].code == "json");
}

TEST_CASE("validate rejects a number JSON cannot represent as invalid JSON",
          "[contracts][validator]") {
  auto validator = compiled();
  const auto outcome = validator.validate(R"({"id": "A1", "when": "x", "count": 1e999})");
  CHECK(outcome.code == ErrorCode::kInvalidPayload);
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].code == "json");
}

TEST_CASE("compile rejects schemas it cannot use", "[contracts][validator]") {
  const auto [name, schema] = GENERATE(table<const char*, const char*>({
      {"not JSON", R"({"type": )"},
      {"not an object", R"(["type"])"},
      {"another draft", R"({"$schema": "http://json-schema.org/draft-04/schema#"})"},
      {"bad keyword value", R"({"type": "object", "properties": {"a": {"minLength": "two"}}})"},
      {"$ref to nowhere", R"({"properties": {"a": {"$ref": "#/definitions/missing"}}})"},
      {"remote $ref", R"({"properties": {"a": {"$ref": "https://example.invalid/s.json"}}})"},
      {"format where it would not be checked",
       R"({"properties": {"a": {"anyOf": [{"type": "string", "format": "date-time"}]}}})"},
  }));
  INFO(name);
  const auto validator = PayloadValidator::compile(schema);
  REQUIRE_FALSE(validator);
  CHECK(validator.error().code == ErrorCode::kConfig);
  CHECK_FALSE(validator.error().detail.empty());
}

TEST_CASE("compile accepts a recursive schema and validate terminates on it",
          "[contracts][validator]") {
  auto validator = compiled(R"({"$ref": "#/definitions/node", "definitions": {"node": {
      "type": "object", "additionalProperties": false,
      "properties": {"at": {"type": "string", "format": "date"},
                     "next": {"$ref": "#/definitions/node"}}}}})");
  CHECK(validator.validate(R"({"at": "2024-02-29", "next": {"next": {"at": "2025-01-01"}}})").ok());
  single_error(validator, R"({"next": {"next": {"at": "2023-02-29"}}})", "/next/next/at", "format");
}
