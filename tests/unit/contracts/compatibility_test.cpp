#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "contracts/compatibility.h"

using contracts::CompatibilityMode;
using contracts::SchemaChange;
using json = nlohmann::json;
using Kind = SchemaChange::Kind;

namespace {

// A closed schema with one field of each kind the table changes.
json base_schema() {
  return json::parse(R"({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": false,
    "required": ["departure_id", "escort_level"],
    "properties": {
      "departure_id": {"type": "string", "pattern": "^DEP-[0-9]{4}-[0-9]{6}$"},
      "escort_level": {"type": "string", "enum": ["none", "kmar", "kmar+medical"]},
      "baggage_kg": {"type": "number", "minimum": 0, "maximum": 40},
      "hold_items": {"type": "integer"},
      "pier": {"type": "string"},
      "medication_to_carry": {"type": "boolean"}
    }
  })");
}

constexpr CompatibilityMode kAllModes[] = {
    CompatibilityMode::kBackward,           CompatibilityMode::kForward,
    CompatibilityMode::kFull,               CompatibilityMode::kBackwardTransitive,
    CompatibilityMode::kForwardTransitive,  CompatibilityMode::kFullTransitive,
    CompatibilityMode::kNone};

// Which modes accept a change, spelled out rather than derived from the change's flags.
const std::set<CompatibilityMode> kBackwardOnly = {CompatibilityMode::kBackward,
                                                   CompatibilityMode::kBackwardTransitive,
                                                   CompatibilityMode::kNone};
const std::set<CompatibilityMode> kForwardOnly = {CompatibilityMode::kForward,
                                                  CompatibilityMode::kForwardTransitive,
                                                  CompatibilityMode::kNone};
const std::set<CompatibilityMode> kNoneOnly = {CompatibilityMode::kNone};
const std::set<CompatibilityMode> kEveryMode(std::begin(kAllModes), std::end(kAllModes));

struct Row {
  const char* change;
  std::function<void(json&)> edit;  // turns the old (base) schema into the new one
  Kind kind;
  const char* pointer;
  std::set<CompatibilityMode> accepted_by;
};

json& prop(json& schema, const char* name) { return schema["properties"][name]; }

void drop_required(json& schema, const char* name) {
  auto& required = schema["required"];
  required.erase(std::remove(required.begin(), required.end(), json(name)), required.end());
}

const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      {"add an optional property",
       [](json& s) { prop(s, "report_by") = {{"type", "string"}, {"format", "date-time"}}; },
       Kind::kPropertyAdded, "/report_by", kBackwardOnly},
      {"add a required property",
       [](json& s) {
         prop(s, "std") = {{"type", "string"}, {"format", "date-time"}};
         s["required"].push_back("std");
       },
       Kind::kPropertyAdded, "/std", kNoneOnly},
      {"remove an optional property", [](json& s) { s["properties"].erase("pier"); },
       Kind::kPropertyRemoved, "/pier", kForwardOnly},
      {"remove a required property",
       [](json& s) {
         s["properties"].erase("escort_level");
         drop_required(s, "escort_level");
       },
       Kind::kPropertyRemoved, "/escort_level", kNoneOnly},
      {"make an optional property required",
       [](json& s) { s["required"].push_back("pier"); }, Kind::kBecameRequired, "/pier",
       kForwardOnly},
      {"make a required property optional", [](json& s) { drop_required(s, "escort_level"); },
       Kind::kBecameOptional, "/escort_level", kBackwardOnly},
      {"narrow a type (number to integer)",
       [](json& s) { prop(s, "baggage_kg")["type"] = "integer"; }, Kind::kTypeNarrowed,
       "/baggage_kg", kForwardOnly},
      {"widen a type (integer to number)",
       [](json& s) { prop(s, "hold_items")["type"] = "number"; }, Kind::kTypeWidened,
       "/hold_items", kBackwardOnly},
      {"change a type (boolean to string)",
       [](json& s) { prop(s, "medication_to_carry")["type"] = "string"; }, Kind::kTypeChanged,
       "/medication_to_carry", kNoneOnly},
      {"narrow an enum", [](json& s) { prop(s, "escort_level")["enum"] = {"none", "kmar"}; },
       Kind::kEnumNarrowed, "/escort_level", kForwardOnly},
      {"widen an enum",
       [](json& s) { prop(s, "escort_level")["enum"].push_back("kmar+psych"); },
       Kind::kEnumWidened, "/escort_level", kBackwardOnly},
      {"change a pattern",
       [](json& s) { prop(s, "departure_id")["pattern"] = "^DEP-[0-9]{4}-[0-9]{7}$"; },
       Kind::kPatternChanged, "/departure_id", kNoneOnly},
      {"add a pattern", [](json& s) { prop(s, "pier")["pattern"] = "^[A-H]$"; },
       Kind::kPatternChanged, "/pier", kForwardOnly},
      {"add a format", [](json& s) { prop(s, "pier")["format"] = "date-time"; },
       Kind::kFormatChanged, "/pier", kForwardOnly},
      {"tighten a bound", [](json& s) { prop(s, "baggage_kg")["maximum"] = 32; },
       Kind::kBoundNarrowed, "/baggage_kg", kForwardOnly},
      {"loosen a bound", [](json& s) { prop(s, "baggage_kg").erase("minimum"); },
       Kind::kBoundWidened, "/baggage_kg", kBackwardOnly},
      {"add a sensitivity tag",
       [](json& s) { prop(s, "medication_to_carry")["x-sensitivity"] = "medical"; },
       Kind::kSensitivityAdded, "/medication_to_carry", kNoneOnly},
      {"open a closed object", [](json& s) { s.erase("additionalProperties"); }, Kind::kOpened,
       "", kBackwardOnly},
      {"change a keyword the checker does not reason about",
       [](json& s) { s["minProperties"] = 3; }, Kind::kOtherChange, "", kNoneOnly},
  };
  return table;
}

std::string mode_name(CompatibilityMode mode) { return std::string(contracts::to_string(mode)); }

}  // namespace

TEST_CASE("every kind of schema change is accepted by exactly the modes it is compatible with",
          "[contracts][compatibility]") {
  const auto& row = rows()[GENERATE(range(std::size_t{0}, rows().size()))];
  INFO(row.change);
  json new_schema = base_schema();
  row.edit(new_schema);
  auto changes = contracts::compare_schemas(base_schema().dump(), new_schema.dump());
  REQUIRE(changes);
  REQUIRE(changes->size() == 1);
  const SchemaChange& change = changes->front();
  CHECK(change.kind == row.kind);
  CHECK(change.pointer == row.pointer);
  CHECK_FALSE(change.explanation.empty());
  for (const CompatibilityMode mode : kAllModes) {
    INFO(mode_name(mode));
    CHECK(contracts::is_allowed(change, mode) == (row.accepted_by.count(mode) == 1));
  }
}

TEST_CASE("removing a sensitivity tag is refused by every mode but NONE",
          "[contracts][compatibility]") {
  json old_schema = base_schema();
  prop(old_schema, "medication_to_carry")["x-sensitivity"] = "medical";
  auto changes = contracts::compare_schemas(old_schema.dump(), base_schema().dump());
  REQUIRE(changes);
  REQUIRE(changes->size() == 1);
  CHECK(changes->front().kind == Kind::kSensitivityRemoved);
  for (const CompatibilityMode mode : kAllModes) {
    INFO(mode_name(mode));
    CHECK(contracts::is_allowed(changes->front(), mode) == (mode == CompatibilityMode::kNone));
  }
}

TEST_CASE("identical schemas have no changes, whatever the key order and descriptions",
          "[contracts][compatibility]") {
  json other = base_schema();
  prop(other, "pier")["description"] = "pier or gate area";
  auto changes = contracts::compare_schemas(base_schema().dump(), other.dump());
  REQUIRE(changes);
  CHECK(changes->empty());
}

TEST_CASE("compatibility follows local $refs and nested objects and arrays",
          "[contracts][compatibility]") {
  const std::string old_schema = R"({
    "type": "object", "additionalProperties": false,
    "properties": {
      "from": {"$ref": "#/definitions/location"},
      "connections": {"type": "array", "items": {"type": "object", "additionalProperties": false,
        "properties": {"std": {"type": "string", "format": "date-time"}}}}
    },
    "definitions": {"location": {"type": "object", "additionalProperties": false,
      "required": ["code"], "properties": {"code": {"type": "string"},
      "kind": {"enum": ["coa-azc", "g-pier"]}}}}})";
  json new_schema = json::parse(old_schema);
  new_schema["definitions"]["location"]["properties"]["kind"]["enum"] = {"coa-azc"};
  new_schema["properties"]["connections"]["items"]["properties"]["sta"] = {{"type", "string"}};
  auto changes = contracts::compare_schemas(old_schema, new_schema.dump());
  REQUIRE(changes);
  REQUIRE(changes->size() == 2);
  CHECK(changes->at(0).pointer == "/connections/*/sta");
  CHECK(changes->at(0).kind == Kind::kPropertyAdded);
  CHECK(changes->at(1).pointer == "/from/kind");
  CHECK(changes->at(1).kind == Kind::kEnumNarrowed);
  CHECK_THAT(changes->at(1).explanation, Catch::Contains("\"g-pier\""));
}

TEST_CASE("a transitive mode checks against every earlier version, a plain mode only the previous",
          "[contracts][compatibility]") {
  json v1 = base_schema();
  json v2 = base_schema();
  prop(v2, "escort_level")["enum"] = {"none", "kmar"};  // v2 declares NONE: allowed
  using contracts::VersionedSchema;
  std::vector<VersionedSchema> versions = {
      {1, v1.dump(), CompatibilityMode::kBackward},
      {2, v2.dump(), CompatibilityMode::kNone},
      {3, v2.dump(), CompatibilityMode::kBackward},
  };
  CHECK(contracts::check_versions(versions).empty());

  versions[2].mode = CompatibilityMode::kBackwardTransitive;
  const auto problems = contracts::check_versions(versions);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].old_version == 1);
  CHECK(problems[0].new_version == 3);
  CHECK(problems[0].change.kind == Kind::kEnumNarrowed);
  const std::string text = contracts::describe_break(problems[0].change, problems[0].mode, 1, 3);
  CHECK_THAT(text, Catch::Contains("/escort_level") && Catch::Contains("\"kmar+medical\"") &&
                       Catch::Contains("BACKWARD_TRANSITIVE") && Catch::Contains("v1"));
}

TEST_CASE("compatibility modes parse from their names and nothing else",
          "[contracts][compatibility]") {
  for (const CompatibilityMode mode : kAllModes) {
    CHECK(contracts::parse_compatibility_mode(contracts::to_string(mode)) == mode);
  }
  CHECK_FALSE(contracts::parse_compatibility_mode("backward").has_value());
  CHECK_FALSE(contracts::parse_compatibility_mode("FULLY").has_value());
  CHECK_FALSE(contracts::parse_compatibility_mode("").has_value());
}

TEST_CASE("compare_schemas refuses text that is not JSON", "[contracts][compatibility]") {
  auto changes = contracts::compare_schemas("{", "{}");
  REQUIRE_FALSE(changes);
  CHECK(changes.error().code == contracts::ErrorCode::kConfig);
}
