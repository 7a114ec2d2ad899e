// The samples in contracts/migration-chain/samples/ against their contracts:
// <contract>.valid.json must pass, <contract>.invalid-<what>.json must be rejected.
#include <catch2/catch.hpp>

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
