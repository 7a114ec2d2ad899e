// The samples in contracts/migration-chain/samples/ against their contracts:
// <contract>.valid.json must pass, <contract>.invalid-<what>.json must be rejected.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "contracts/registry.h"
#include "tests/support/file_bytes.h"

namespace fs = std::filesystem;

namespace {

const fs::path kSetDir = fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain";

struct Expected {
  std::string pointer;
  std::string code;
};

// The error each invalid sample is about. Every invalid sample must be listed here.
const std::map<std::string, Expected> kInvalidSamples = {
    {"departure.scheduled.invalid-std-date-time.json", {"/std", "format"}},
    {"departure.scheduled.invalid-missing-departure-id.json", {"/departure_id", "required"}},
    {"departure.scheduled.invalid-unknown-field.json", {"/passenger_name", "additionalProperties"}},
    {"departure.scheduled.invalid-escort-level.json", {"/escort_level", "enum"}},
    {"departure.scheduled.invalid-connection-sta.json", {"/connections/0/sta", "format"}},
    {"transport.ordered.invalid-missing-departure-id.json", {"/departure_id", "required"}},
    {"custody.handover.recorded.invalid-half.json", {"/half", "enum"}},
    {"dataitem.ownership.declared.invalid-owner-party.json", {"/owner_party", "pattern"}},
    {"dataitem.ownership.declared.invalid-missing-item-code.json", {"/item_code", "required"}},
    {"dataitem.ownership.declared.invalid-sensitivity.json", {"/sensitivity", "enum"}},
    {"dataitem.dispute.raised.invalid-reason.json", {"/reason", "enum"}},
    {"dataitem.dispute.raised.invalid-disputed-message-id.json", {"/disputed_message_id", "format"}},
    {"dataitem.dispute.raised.invalid-free-text.json", {"/comment", "additionalProperties"}},
    {"detention.imposed.invalid-legal-ground.json", {"/legal_ground", "enum"}},
    {"detention.imposed.invalid-v-nummer.json", {"/v_nummer", "pattern"}},
    {"detention.imposed.invalid-missing-hearing.json", {"/hearing_done_at", "required"}},
    {"detention.ended.invalid-end-reason.json", {"/end_reason", "enum"}},
    {"detention.ended.invalid-ended-at.json", {"/ended_at", "format"}},
    {"detention.ended.invalid-missing-detention-id.json", {"/detention_id", "required"}},
    {"care.handover.status.invalid-status.json", {"/status", "enum"}},
    {"care.handover.status.invalid-diagnosis.json", {"/diagnosis", "additionalProperties"}},
    {"care.handover.status.invalid-continuity-flag-type.json",
     {"/continuity_flags/pending_appointment", "type"}},
    {"consent.registered.invalid-recipient.json", {"/recipient", "pattern"}},
    {"consent.registered.invalid-purpose.json", {"/purpose", "enum"}},
    {"consent.registered.invalid-missing-valid-until.json", {"/valid_until", "required"}},
    {"consent.withdrawn.invalid-purpose.json", {"/purpose", "enum"}},
    {"consent.withdrawn.invalid-missing-recipient.json", {"/recipient", "required"}},
    {"consent.withdrawn.invalid-withdrawn-on.json", {"/withdrawn_on", "format"}},
    {"health.action-perspective.published.invalid-diagnosis-code.json",
     {"/icd10", "additionalProperties"}},
    {"health.action-perspective.published.invalid-free-text.json",
     {"/notes", "additionalProperties"}},
    {"health.action-perspective.published.invalid-fit-to-travel.json", {"/fit_to_travel", "enum"}},
    {"health.action-perspective.published.invalid-transport-requirement.json",
     {"/transport_requirements/0", "enum"}},
    {"article64.requested.invalid-missing-request-id.json", {"/request_id", "required"}},
    {"article64.requested.invalid-medical-grounds.json",
     {"/medical_grounds", "additionalProperties"}},
    {"article64.requested.invalid-status.json", {"/status", "enum"}},
    {"article64.decided.invalid-status.json", {"/status", "enum"}},
    {"article64.decided.invalid-granted-without-validity.json", {"/valid_until", "required"}},
    {"article64.decided.invalid-decision-ref.json", {"/decision_ref", "pattern"}},
    {"dublin.claim.status.invalid-member-state.json", {"/member_state", "enum"}},
    {"dublin.claim.status.invalid-acceptance-type.json", {"/acceptance_type", "enum"}},
    {"dublin.claim.status.invalid-missing-claim-id.json", {"/claim_id", "required"}},
    {"dublin.claim.status.invalid-accepted-without-deadline.json",
     {"/transfer_deadline", "required"}},
    {"departure.cancelled.invalid-reason.json", {"/reason", "enum"}},
    {"departure.cancelled.invalid-rebooked-without-id.json",
     {"/rebooked_departure_id", "required"}},
    {"departure.cancelled.invalid-transport-id.json", {"/transport_ids_cancelled/0", "pattern"}},
    {"dublin.claim.status.invalid-transferred-at.json", {"/transferred_at", "format"}},
    {"person.informed.invalid-channel.json", {"/channel", "enum"}},
    {"person.informed.invalid-missing-informed-at.json", {"/informed_at", "required"}},
    {"action-perspective.missing.invalid-reason.json", {"/reason", "enum"}},
    {"action-perspective.missing.invalid-needed-by.json", {"/needed_by", "format"}},
    {"dataitem.dispute.resolved.invalid-outcome.json", {"/outcome", "enum"}},
    {"dataitem.dispute.resolved.invalid-corrected-without-message.json",
     {"/corrected_by_message_id", "required"}},
    {"transport.cancelled.invalid-reason.json", {"/reason", "enum"}},
    {"transport.cancelled.invalid-transport-id.json", {"/transport_id", "pattern"}},
    {"detention.intake.recorded.invalid-missing-intake-done-at.json", {"/intake_done_at", "required"}},
    {"detention.intake.recorded.invalid-findings.json", {"/findings", "additionalProperties"}},
};

// The contracts of domain/migration-chain.md §2 (C1-C15, the dispute messages, C16-C19), which this
// suite holds to the rules below. Other contracts in the folder (airline, transport-firm and
// municipality contracts of the adapters) must still have a valid sample and reject their
// invalid samples, but their expected errors are their authors' to list.
const std::set<std::string> kChainContracts = {
    "dataitem.ownership.declared", "dataitem.dispute.raised", "returncase.opened",
    "detention.imposed", "detention.ended", "transfer.announced", "care.handover.status",
    "consent.registered", "consent.withdrawn", "health.action-perspective.published",
    "article64.requested", "article64.decided", "dublin.claim.status", "departure.scheduled",
    "departure.cancelled", "removability.checked", "departure.particulars.published",
    "transport.ordered", "transport.confirmed", "custody.handover.recorded",
    "departure.outcome.recorded",
    // The facts the inspector's questions need that the catalogue lacked.
    "person.informed", "action-perspective.missing", "dataitem.dispute.resolved",
    "transport.cancelled", "detention.intake.recorded"};

std::string describe(const std::vector<contracts::FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.pointer + " " + e.code + " " + e.reason + "\n";
  return out;
}

}  // namespace

TEST_CASE("every migration-chain sample is accepted or rejected as its name says",
          "[contracts][samples]") {
  auto registry = contracts::ContractRegistry::load(kSetDir);
  REQUIRE(registry);
  std::set<std::string> contracts_with_valid_sample;
  std::size_t invalid_seen = 0;
  std::size_t chain_invalid_seen = 0;
  for (const auto& entry : fs::directory_iterator(kSetDir / "samples")) {
    const std::string file = entry.path().filename().string();
    INFO(file);
    const std::string stem = entry.path().stem().string();
    const std::size_t invalid_at = stem.find(".invalid-");
    const bool valid = stem.size() > 6 && stem.compare(stem.size() - 6, 6, ".valid") == 0;
    REQUIRE((valid || invalid_at != std::string::npos));
    const std::string name = valid ? stem.substr(0, stem.size() - 6) : stem.substr(0, invalid_at);
    REQUIRE(registry->has_contract(name));
    auto* contract = registry->find(name, registry->versions(name).back());
    REQUIRE(contract != nullptr);

    const auto outcome = contract->validator.validate(test_support::file_bytes(entry.path()));
    INFO(describe(outcome.errors));
    if (valid) {
      CHECK(outcome.ok());
      contracts_with_valid_sample.insert(name);
      continue;
    }
    ++invalid_seen;
    CHECK(outcome.code == contracts::ErrorCode::kSchemaViolation);
    auto expected = kInvalidSamples.find(file);
    if (kChainContracts.count(name) == 0 && expected == kInvalidSamples.end()) continue;
    ++chain_invalid_seen;
    REQUIRE(expected != kInvalidSamples.end());
    bool found = false;
    for (const auto& e : outcome.errors) {
      found = found || (e.pointer == expected->second.pointer && e.code == expected->second.code);
    }
    CHECK(found);
  }
  CHECK(invalid_seen >= kInvalidSamples.size());
  CHECK(chain_invalid_seen == kInvalidSamples.size());
  for (const auto& [key, contract] : registry->all()) {
    INFO(key.first);
    CHECK(contracts_with_valid_sample.count(key.first) == 1);
  }
}

TEST_CASE("departure.scheduled samples include at least two invalid payloads",
          "[contracts][samples]") {
  std::size_t invalid = 0;
  for (const auto& entry : fs::directory_iterator(kSetDir / "samples")) {
    invalid += entry.path().filename().string().rfind("departure.scheduled.invalid-", 0) == 0;
  }
  CHECK(invalid >= 2);
}

namespace {

// Pointers (in payload terms) of the properties tagged "x-sensitivity": "medical".
void collect_medical(const nlohmann::json& schema, const std::string& pointer,
                     std::set<std::string>& out) {
  if (!schema.is_object()) return;
  if (schema.value("x-sensitivity", "") == "medical") out.insert(pointer);
  if (auto properties = schema.find("properties"); properties != schema.end()) {
    for (auto it = properties->begin(); it != properties->end(); ++it) {
      collect_medical(it.value(), pointer + "/" + it.key(), out);
    }
  }
  if (auto items = schema.find("items"); items != schema.end()) {
    collect_medical(*items, pointer + "/*", out);
  }
}

}  // namespace

TEST_CASE("the migration-chain set tags as medical exactly the fields the domain marks medical",
          "[contracts][samples]") {
  const std::map<std::string, std::set<std::string>> expected = {
      {"dataitem.ownership.declared", {}},
      {"dataitem.dispute.raised", {}},
      {"returncase.opened", {"/medical_procedure_pending"}},
      {"detention.imposed", {"/medical_intake_due_by"}},
      {"detention.ended", {}},
      {"transfer.announced", {"/warm_handover_required"}},
      {"care.handover.status", {"/continuity_flags"}},
      {"consent.registered", {"/recipient", "/purpose", "/valid_until", "/form_ref", "/signed_on"}},
      {"consent.withdrawn", {"/recipient", "/purpose", "/form_ref", "/withdrawn_on"}},
      {"health.action-perspective.published",
       {"/departure_id", "/std", "/fit_to_travel", "/transport_requirements",
        "/escort_requirements", "/medication_to_carry", "/observation_advice", "/contact_point",
        "/valid_from", "/valid_until", "/issuer_role"}},
      {"article64.requested", {}},
      {"article64.decided", {}},
      {"dublin.claim.status", {}},
      {"departure.scheduled", {"/action_perspective_ref"}},
      {"departure.cancelled", {"/medical_reason"}},
      {"removability.checked", {"/medical_procedure_pending"}},
      {"departure.particulars.published", {"/action_perspective_ref"}},
      {"transport.ordered", {"/action_perspective_ref"}},
      {"transport.confirmed", {}},
      {"custody.handover.recorded",
       {"/medication_handed_over", "/action_perspective_version_acknowledged"}},
      {"departure.outcome.recorded", {"/medical_abort"}},
      {"person.informed", {"/about_medical_advice"}},
      {"action-perspective.missing", {"/reason"}},
      {"dataitem.dispute.resolved", {}},
      {"transport.cancelled", {"/medical_reason"}},
      {"detention.intake.recorded", {}},
  };
  REQUIRE(expected.size() == kChainContracts.size());
  std::set<std::string> seen;
  for (const auto& entry : fs::directory_iterator(kSetDir)) {
    if (entry.path().extension() != ".json") continue;
    const auto file = nlohmann::json::parse(test_support::file_bytes(entry.path()));
    const std::string name = file.at("contract").get<std::string>();
    if (kChainContracts.count(name) == 0) continue;  // an adapter's contract: not in §2
    INFO(name);
    seen.insert(name);
    std::set<std::string> medical;
    collect_medical(file.at("schema"), "", medical);
    REQUIRE(expected.count(name) == 1);
    CHECK(medical == expected.at(name));
  }
  CHECK(seen == kChainContracts);
}

namespace {

// Every property name anywhere in a schema, for the "no free-text medical fields" rule.
void collect_property_names(const nlohmann::json& schema, std::set<std::string>& out) {
  if (schema.is_array()) {
    for (const auto& item : schema) collect_property_names(item, out);
    return;
  }
  if (!schema.is_object()) return;
  if (auto properties = schema.find("properties"); properties != schema.end()) {
    for (auto it = properties->begin(); it != properties->end(); ++it) out.insert(it.key());
  }
  for (const auto& [key, value] : schema.items()) {
    if (key != "enum" && key != "const") collect_property_names(value, out);
  }
}

// True when every object schema below `schema` is closed (additionalProperties: false).
bool every_object_is_closed(const nlohmann::json& schema, std::string& where,
                            const std::string& path = "") {
  if (schema.is_array()) {
    for (std::size_t i = 0; i < schema.size(); ++i) {
      if (!every_object_is_closed(schema[i], where, path + "/" + std::to_string(i))) return false;
    }
    return true;
  }
  if (!schema.is_object()) return true;
  if (schema.contains("properties") && schema.value("additionalProperties", true) != false) {
    where = path;
    return false;
  }
  for (const auto& [key, value] : schema.items()) {
    // An `if` tests a condition; its `properties` describe no content.
    if (key == "enum" || key == "const" || key == "if") continue;
    if (!every_object_is_closed(value, where, path + "/" + key)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("every migration-chain schema is closed at every level and has no free-text fields",
          "[contracts][samples]") {
  for (const auto& entry : fs::directory_iterator(kSetDir)) {
    if (entry.path().extension() != ".json") continue;
    const auto file = nlohmann::json::parse(test_support::file_bytes(entry.path()));
    const std::string name = file.at("contract").get<std::string>();
    if (kChainContracts.count(name) == 0) continue;
    INFO(name);
    std::string where;
    const bool closed = every_object_is_closed(file.at("schema"), where);
    INFO("open object at " << where);
    CHECK(closed);
    std::set<std::string> names;
    collect_property_names(file.at("schema"), names);
    for (const char* banned : {"diagnosis", "icd10", "snomed", "notes", "comment", "anamnesis",
                               "medical_grounds", "remarks_text", "free_text"}) {
      CHECK(names.count(banned) == 0);
    }
  }
}
