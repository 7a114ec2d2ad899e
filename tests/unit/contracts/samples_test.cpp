// The samples in contracts/migration-chain/samples/ against their contracts:
// <contract>.valid.json must pass, <contract>.invalid-<what>.json must be rejected.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "contracts/registry.h"

namespace fs = std::filesystem;

namespace {

const fs::path kSetDir = fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

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
};

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

    const auto outcome = contract->validator.validate(read_file(entry.path()));
    INFO(describe(outcome.errors));
    if (valid) {
      CHECK(outcome.ok());
      contracts_with_valid_sample.insert(name);
      continue;
    }
    ++invalid_seen;
    CHECK(outcome.code == contracts::ErrorCode::kSchemaViolation);
    auto expected = kInvalidSamples.find(file);
    REQUIRE(expected != kInvalidSamples.end());
    bool found = false;
    for (const auto& e : outcome.errors) {
      found = found || (e.pointer == expected->second.pointer && e.code == expected->second.code);
    }
    CHECK(found);
  }
  CHECK(invalid_seen == kInvalidSamples.size());
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
      {"custody.handover.recorded",
       {"/medication_handed_over", "/action_perspective_version_acknowledged"}},
      {"departure.outcome.recorded", {"/medical_abort"}},
      {"departure.particulars.published", {"/action_perspective_ref"}},
      {"departure.scheduled", {"/action_perspective_ref"}},
      {"removability.checked", {"/medical_procedure_pending"}},
      {"returncase.opened", {"/medical_procedure_pending"}},
      {"transfer.announced", {"/warm_handover_required"}},
      {"transport.confirmed", {}},
      {"transport.ordered", {"/action_perspective_ref"}},
  };
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(kSetDir)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const auto file = nlohmann::json::parse(read_file(entry.path()));
    const std::string name = file.at("contract").get<std::string>();
    INFO(name);
    std::set<std::string> medical;
    collect_medical(file.at("schema"), "", medical);
    REQUIRE(expected.count(name) == 1);
    CHECK(medical == expected.at(name));
  }
  CHECK(files == expected.size());
}
