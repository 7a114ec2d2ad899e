#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "broker/policy/redaction.h"

namespace {

using broker::policy::RecipientView;
using nlohmann::json;

// A health action perspective (C7) with medical fields at the top, nested and inside an array.
constexpr const char* kSchema = R"({
  "type": "object",
  "definitions": {"leg": {"type": "object", "properties": {
      "flight": {"type": "string"},
      "oxygen": {"type": "boolean", "x-sensitivity": "medical"}}}},
  "properties": {
    "fit_to_travel": {"type": "string", "x-sensitivity": "medical"},
    "transport_requirements": {"type": "array", "items": {"type": "string"}},
    "escort": {"type": "object", "properties": {
        "level": {"type": "string"},
        "medication_days": {"type": "integer", "x-sensitivity": "medical"}}},
    "legs": {"type": "array", "items": {"$ref": "#/definitions/leg"}},
    "contact_point": {"type": "string"}
  }
})";

constexpr const char* kPayload = R"({
  "fit_to_travel": "yes-with-conditions",
  "transport_requirements": ["WHEELCHAIR"],
  "escort": {"level": "NURSE", "medication_days": 14},
  "legs": [{"flight": "ZZ1417", "oxygen": true}, {"flight": "ZZ2210", "oxygen": false}],
  "contact_point": "+31 00 000 0000"
})";

std::vector<broker::policy::SensitiveField> fields() {
  auto f = broker::policy::sensitive_fields(kSchema);
  REQUIRE(f);
  return *f;
}

std::vector<std::string> removed_pointers(const broker::policy::Redaction& r) {
  std::vector<std::string> out;
  for (const auto& x : r.removed) out.push_back(x.pointer);
  return out;
}

}  // namespace

TEST_CASE("sensitive fields are found at any depth, through arrays and $ref", "[policy]") {
  std::vector<std::string> patterns;
  for (const auto& f : fields()) {
    CHECK(f.sensitivity == "medical");
    patterns.push_back(f.pattern);
  }
  std::sort(patterns.begin(), patterns.end());
  CHECK(patterns == std::vector<std::string>{"/escort/medication_days", "/fit_to_travel", "/legs/*/oxygen"});
}

TEST_CASE("a care provider receives the medical fields", "[policy]") {
  RecipientView gza;
  gza.is_care_provider = true;
  auto r = broker::policy::redact(kPayload, fields(), gza);
  REQUIRE(r);
  CHECK(r->removed.empty());
  CHECK(r->basis == "role:care-provider");
  CHECK(json::parse(r->payload) == json::parse(kPayload));
}

TEST_CASE("a recipient without consent gets the payload with every medical field removed", "[policy]") {
  auto r = broker::policy::redact(kPayload, fields(), RecipientView{});
  REQUIRE(r);
  CHECK(removed_pointers(*r) ==
        std::vector<std::string>{"/escort/medication_days", "/fit_to_travel", "/legs/0/oxygen", "/legs/1/oxygen"});
  for (const auto& x : r->removed) CHECK(x.rule == "medical:no-consent");
  auto got = json::parse(r->payload);
  CHECK_FALSE(got.contains("fit_to_travel"));
  CHECK(got["escort"] == json{{"level", "NURSE"}});
  CHECK(got["legs"] == json::parse(R"([{"flight":"ZZ1417"},{"flight":"ZZ2210"}])"));
  CHECK(got["contact_point"] == "+31 00 000 0000");
  CHECK(r->basis.empty());
}

TEST_CASE("a valid consent lets the medical fields through and names the consent", "[policy]") {
  RecipientView kmar;
  kmar.consent_id = "consent-000981";
  auto r = broker::policy::redact(kPayload, fields(), kmar);
  REQUIRE(r);
  CHECK(r->removed.empty());
  CHECK(r->basis == "consent:consent-000981");
}

TEST_CASE("a projection keeps only the listed fields, after the medical rule", "[policy]") {
  RecipientView airline;
  airline.has_projection = true;
  airline.projection = {"/transport_requirements", "/escort/level", "/legs/*/flight"};
  auto r = broker::policy::redact(kPayload, fields(), airline);
  REQUIRE(r);
  auto got = json::parse(r->payload);
  CHECK(got == json::parse(R"({"transport_requirements":["WHEELCHAIR"],"escort":{"level":"NURSE"},
                               "legs":[{"flight":"ZZ1417"},{"flight":"ZZ2210"}]})"));
  std::map<std::string, std::string> rule_of;
  for (const auto& x : r->removed) rule_of[x.pointer] = x.rule;
  CHECK(rule_of["/fit_to_travel"] == "medical:no-consent");
  CHECK(rule_of["/contact_point"] == "projection");
  CHECK(rule_of.size() == 5);  // 4 medical + contact_point
}

TEST_CASE("a projection applies to care providers too", "[policy]") {
  RecipientView view;
  view.is_care_provider = true;
  view.has_projection = true;
  view.projection = {"/fit_to_travel"};
  auto r = broker::policy::redact(kPayload, fields(), view);
  REQUIRE(r);
  CHECK(json::parse(r->payload) == json{{"fit_to_travel", "yes-with-conditions"}});
}

TEST_CASE("a payload without sensitive fields passes unchanged", "[policy]") {
  auto r = broker::policy::redact(R"({"a":1})", fields(), RecipientView{});
  REQUIRE(r);
  CHECK(r->removed.empty());
  CHECK(r->payload == R"({"a":1})");
}

TEST_CASE("pointer patterns match per segment", "[policy]") {
  CHECK(broker::policy::pointer_matches("/legs/*/oxygen", "/legs/12/oxygen"));
  CHECK_FALSE(broker::policy::pointer_matches("/legs/*/oxygen", "/legs/12"));
  CHECK_FALSE(broker::policy::pointer_matches("/legs/0/oxygen", "/legs/1/oxygen"));
  CHECK(broker::policy::pointer_matches("/a~1b", "/a~1b"));
}

TEST_CASE("redaction refuses a payload that is not JSON", "[policy]") {
  auto r = broker::policy::redact("{", fields(), RecipientView{});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == contracts::ErrorCode::kInvalidPayload);
}

// Found by tests/fuzz/fuzz_redaction (docs/fuzzing.md, finding 4): an allOf of two $refs back to the
// same definition doubled the walk at every level, 2^32 steps for one schema, and the broker's
// first delivery of such a contract hung.
TEST_CASE("sensitive fields of a schema whose $refs recurse through an allOf are found at once", "[policy]") {
  auto f = broker::policy::sensitive_fields(R"({"$ref": "#/definitions/node", "definitions": {"node": {
      "allOf": [{"$ref": "#/definitions/node"}, {"$ref": "#/definitions/node"},
                {"properties": {"diagnosis": {"type": "string", "x-sensitivity": "medical"}}}]}}})");
  REQUIRE(f);
  REQUIRE_FALSE(f->empty());
  for (const auto& field : *f) CHECK(field.pattern == "/diagnosis");
}

TEST_CASE("sensitive fields of a schema recursing through two properties are refused, not walked for ever", "[policy]") {
  // Every path /left/right/left/... is a different pattern: 2^depth of them.
  auto f = broker::policy::sensitive_fields(R"({"$ref": "#/definitions/tree", "definitions": {"tree": {
      "properties": {"notes": {"type": "string", "x-sensitivity": "medical"},
                     "left": {"$ref": "#/definitions/tree"}, "right": {"$ref": "#/definitions/tree"}}}}})");
  REQUIRE_FALSE(f);
  CHECK(f.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(f.error().detail, Catch::Contains("steps"));
}

TEST_CASE("sensitive fields of a schema recursing through one property are found down to the depth bound", "[policy]") {
  auto f = broker::policy::sensitive_fields(R"({"$ref": "#/definitions/step", "definitions": {"step": {
      "properties": {"notes": {"type": "string", "x-sensitivity": "medical"},
                     "next": {"$ref": "#/definitions/step"}}}}})");
  REQUIRE(f);
  std::set<std::string> patterns;
  for (const auto& field : *f) patterns.insert(field.pattern);
  CHECK(patterns.count("/notes") == 1);
  CHECK(patterns.count("/next/notes") == 1);
  CHECK(patterns.count("/next/next/next/next/next/next/next/next/notes") == 1);
}

TEST_CASE("a prepared payload redacts exactly as redact() for every view without a projection", "[policy]") {
  const auto sensitive = fields();
  const std::vector<std::string> payloads = {
      kPayload,
      R"({"transport_requirements":["NONE"],"contact_point":"x"})",              // no medical field
      R"({"legs":[{"flight":"ZZ1","oxygen":true},{"flight":"ZZ2"},{"oxygen":false}]})",  // only in the array
      R"({"escort":{"level":"NONE"},"fit_to_travel":"no"})",
  };
  RecipientView none;
  RecipientView care;
  care.is_care_provider = true;
  RecipientView consented;
  consented.consent_id = "cons-7";
  for (const auto& payload : payloads) {
    auto prepared = broker::policy::prepare_payload(payload, sensitive);
    REQUIRE(prepared);
    for (const auto* view : {&none, &care, &consented}) {
      INFO(payload << " care=" << view->is_care_provider << " consent=" << view->consent_id);
      auto full = broker::policy::redact(payload, sensitive, *view);
      REQUIRE(full);
      auto quick = broker::policy::redact_prepared(payload, *prepared, *view);
      CHECK(removed_pointers(quick) == removed_pointers(*full));
      for (std::size_t i = 0; i < quick.removed.size() && i < full->removed.size(); ++i) {
        CHECK(quick.removed[i].rule == full->removed[i].rule);
      }
      CHECK(quick.basis == full->basis);
      if (full->removed.empty()) {
        CHECK(quick.payload == payload);  // sent as submitted
      } else {
        CHECK(quick.payload == full->payload);
      }
    }
  }
  auto bad = broker::policy::prepare_payload("{not json", sensitive);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == contracts::ErrorCode::kInvalidPayload);
}

TEST_CASE("a payload prepared from its spans is the one prepared from its DOM, byte for byte", "[policy][fast]") {
  const auto sensitive = fields();
  const std::vector<std::string> payloads = {
      kPayload,
      R"({"transport_requirements":["NONE"],"contact_point":"x"})",  // no medical field
      R"({"legs":[{"flight":"ZZ1","oxygen":true},{"flight":"ZZ2"},{"oxygen":false}]})",
      R"( { "escort" : { "medication_days" : 3 , "level" : "NONE" } , "fit_to_travel" : "no" } )",
      R"({"z":"\u00e9\n\"q\"","fit_to_travel":"n\\o","a":[{},[]],"~key/x":"y","B":null})",
      R"({"legs":[{"oxygen":true},{"oxygen":true}],"escort":{"medication_days":-7}})",
  };
  for (const auto& payload : payloads) {
    INFO(payload);
    contracts::JsonSpans spans;
    REQUIRE(spans.parse(payload, 31));
    auto quick = broker::policy::prepare_from_spans(spans, sensitive);
    REQUIRE(quick);
    const auto dom = broker::policy::prepare_parsed_payload(json::parse(payload), sensitive);
    CHECK(quick->medical == dom.medical);
    CHECK(quick->without_medical == dom.without_medical);
  }
  // A float in what is kept: nlohmann prints it its own way, so the DOM writes the text.
  contracts::JsonSpans spans;
  REQUIRE(spans.parse(R"({"fit_to_travel":"no","weight":1.5})", 31));
  CHECK_FALSE(broker::policy::prepare_from_spans(spans, sensitive));
  // ... but without a medical field nothing is written: no text, nothing to refuse.
  REQUIRE(spans.parse(R"({"weight":1.5})", 31));
  auto none = broker::policy::prepare_from_spans(spans, sensitive);
  REQUIRE(none);
  CHECK(none->medical.empty());
}
