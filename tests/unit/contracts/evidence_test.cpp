#include <catch2/catch.hpp>

#include "contracts/evidence.h"

using contracts::EvidenceField;

TEST_CASE("evidence fields are the properties a schema marks, at any depth, medical ones known", "[contracts][evidence]") {
  const auto fields = contracts::evidence_fields(R"({
    "type": "object",
    "properties": {
      "arrived_at": {"type": "string", "x-evidence": true},
      "notes": {"type": "string", "x-evidence": false},
      "transfer": {"type": "object", "properties": {
        "deadline": {"type": "string", "x-evidence": true},
        "a/b~c": {"type": "string", "x-evidence": true}}},
      "seals": {"type": "array", "items": {"type": "string"}, "x-evidence": true},
      "health": {"type": "object", "x-sensitivity": "medical", "properties": {
        "valid_until": {"type": "string", "x-evidence": true}}},
      "fit_to_travel": {"type": "string", "x-sensitivity": "medical", "x-evidence": true}
    }})");
  REQUIRE(fields);
  CHECK(*fields == std::vector<EvidenceField>{{"/arrived_at", false},
                                              {"/fit_to_travel", true},
                                              {"/health/valid_until", true},
                                              {"/seals", false},
                                              {"/transfer/a~1b~0c", false},
                                              {"/transfer/deadline", false}});
}

TEST_CASE("a schema without x-evidence has no evidence fields", "[contracts][evidence]") {
  const auto fields = contracts::evidence_fields(R"({"type":"object","properties":{"a":{"type":"string"}}})");
  REQUIRE(fields);
  CHECK(fields->empty());
}

TEST_CASE("a misplaced or malformed x-evidence is refused naming where", "[contracts][evidence]") {
  struct Case {
    const char* schema;
    const char* problem;
  };
  const Case cases[] = {
      {R"({"properties":{"a":{"x-evidence":"yes"}}})", "x-evidence at /a must be true or false"},
      {R"({"properties":{"list":{"type":"array","items":{"properties":{"t":{"x-evidence":true}}}}}})",
       "x-evidence under /list/items: only properties reached through \"properties\" can be evidence fields"},
      {R"({"allOf":[{"properties":{"a":{"x-evidence":true}}}]})",
       "x-evidence under the schema's root/allOf: only properties reached through \"properties\" can be evidence fields"},
      {R"({"x-evidence":true})", "x-evidence at the schema's root: mark properties, not the whole payload"},
      {"not json", "evidence fields: the schema is not JSON"},
  };
  for (const auto& c : cases) {
    INFO(c.schema);
    auto r = contracts::evidence_fields(c.schema);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == contracts::ErrorCode::kConfig);
    CHECK(r.error().detail == c.problem);
  }
}

TEST_CASE("evidence values are the fields' compact JSON, in field order, absent ones left out", "[contracts][evidence]") {
  const std::vector<EvidenceField> fields{{"/arrived_at", false}, {"/missing", false}, {"/transfer/deadline", false},
                                          {"/seals", false}, {"/fit", true}};
  const auto values = contracts::evidence_values(
      fields, R"({"fit": "no", "seals": ["S-1", "S-2"], "arrived_at": "2025-03-12T06:10:00Z",
                  "transfer": {"deadline": "2025-04-01"}})");
  REQUIRE(values.size() == 4);
  CHECK(values[0].pointer == "/arrived_at");
  CHECK(values[0].json == "\"2025-03-12T06:10:00Z\"");
  CHECK(values[1].pointer == "/transfer/deadline");
  CHECK(values[2].json == R"(["S-1","S-2"])");
  CHECK(values[3].medical);
  CHECK(contracts::evidence_values(fields, "not json").empty());
  CHECK(contracts::evidence_values({}, "{}").empty());
}

#include <filesystem>

#include "contracts/registry.h"

TEST_CASE("the migration-chain set marks the evidence the inspector's questions need", "[contracts][evidence]") {
  auto registry = contracts::ContractRegistry::load(std::filesystem::path(KETEN_SOURCE_DIR) / "contracts/migration-chain");
  INFO((registry ? std::string() : registry.error().detail));
  REQUIRE(registry);
  auto fields = [&](const char* name, std::uint32_t version) {
    const contracts::Contract* c = registry->find(name, version);
    REQUIRE(c);
    return c->evidence;
  };
  CHECK(fields("health.action-perspective.published", 1) ==
        std::vector<EvidenceField>{{"/valid_from", true}, {"/valid_until", true}});
  CHECK(fields("custody.handover.recorded", 1) ==
        std::vector<EvidenceField>{{"/action_perspective_version_acknowledged", true},
                                   {"/arrived_at", false},
                                   {"/belongings_handed_over", false},
                                   {"/handed_over_at", false}});
  CHECK(fields("transport.ordered", 1) == std::vector<EvidenceField>{{"/action_perspective_required", false},
                                                                      {"/latest_arrival_at", false},
                                                                      {"/pickup_at", false}});
  CHECK(fields("dublin.claim.status", 2).size() == 4);
  CHECK(fields("removability.checked", 1).size() == 3);
  CHECK(fields("transport.cancelled", 1).size() == 3);
  CHECK(fields("detention.imposed", 1) ==
        std::vector<EvidenceField>{{"/imposed_at", false}, {"/medical_intake_due_by", true}});
  CHECK(fields("care.handover.status", 1) ==
        std::vector<EvidenceField>{{"/channel", false}, {"/status", false}, {"/status_at", false}});  // A4
  CHECK(fields("person.informed", 1).size() == 7);  // A20: when, to whom, about what, how, in which language
  CHECK(fields("departure.scheduled", 1).empty());
}
