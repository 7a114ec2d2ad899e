// check_sensitive_coverage (broker/policy/coverage.h): the lint rule that every x-sensitivity field
// is covered by the delivery rules. Table-driven over small contracts; then the whole
// migration-chain set against the partner roles of examples/migration-chain/keten.toml.
#include "broker/policy/coverage.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "contracts/registry.h"
#include "contracts/validator.h"

namespace {

using broker::policy::PartnerKind;
using broker::policy::PartnerKinds;

constexpr const char* kMedicalTop = R"({"type":"object","properties":{
  "flight":{"type":"string"},
  "escort":{"type":"string","x-sensitivity":"medical"}}})";
constexpr const char* kMedicalNested = R"({"type":"object","definitions":{"leg":{"type":"object","properties":{
  "oxygen":{"type":"boolean","x-sensitivity":"medical"}}}},"properties":{
  "legs":{"type":"array","items":{"$ref":"#/definitions/leg"}}}})";
constexpr const char* kNoMedical = R"({"type":"object","properties":{"flight":{"type":"string"}}})";
constexpr const char* kOtherTag = R"({"type":"object","properties":{
  "religion":{"type":"string","x-sensitivity":"special-category"}}})";

contracts::Contract make_contract(const std::string& schema, std::vector<std::string> consumers,
                                  std::map<std::string, std::vector<std::string>, std::less<>> projections) {
  auto validator = contracts::PayloadValidator::compile(schema);
  REQUIRE(validator);
  contracts::Contract c{"flight.planned", 3, "", {"DTV"}, std::move(consumers), "flight.planned.v3.json",
                        std::move(*validator)};
  c.schema_json = schema;
  c.projections = std::move(projections);
  return c;
}

const PartnerKinds kKinds = {{"DTV", PartnerKind::kChainPartner},
                             {"KMAR", PartnerKind::kChainPartner},
                             {"GZA", PartnerKind::kCareProvider},
                             {"AIR-ZZ", PartnerKind::kNonChain},
                             {"PTR-001", PartnerKind::kNonChain}};

}  // namespace

TEST_CASE("lint rejects sensitive fields the delivery rules do not cover", "[policy][lint]") {
  struct Row {
    const char* what;
    const char* schema;
    std::vector<std::string> consumers;
    std::map<std::string, std::vector<std::string>, std::less<>> projections;
    PartnerKinds kinds;
    std::vector<std::string> expected;  // one problem line each must contain these words; {} = clean
  };
  const std::vector<Row> rows = {
      {"medical field, chain and care consumers only", kMedicalTop, {"KMAR", "GZA"}, {}, kKinds, {}},
      {"medical field, non-chain consumer without projection", kMedicalTop, {"KMAR", "AIR-ZZ"}, {}, kKinds,
       {"flight.planned.v3.json: flight.planned v3: consumer AIR-ZZ (non-chain) has no projection", "/escort"}},
      {"medical field nested in an array through $ref", kMedicalNested, {"AIR-ZZ"}, {}, kKinds,
       {"consumer AIR-ZZ", "/legs/*/oxygen"}},
      {"two non-chain consumers, one with a projection", kMedicalTop, {"AIR-ZZ", "PTR-001"},
       {{"AIR-ZZ", {"/flight"}}}, kKinds, {"consumer PTR-001 (non-chain)"}},
      {"non-chain consumer with a projection", kMedicalTop, {"AIR-ZZ"}, {{"AIR-ZZ", {"/flight"}}}, kKinds, {}},
      {"non-chain projection listing a medical field (consent still required)", kMedicalTop, {"AIR-ZZ"},
       {{"AIR-ZZ", {"/escort"}}}, kKinds, {}},
      {"no medical fields, non-chain consumer without projection", kNoMedical, {"AIR-ZZ"}, {}, kKinds, {}},
      {"roles unknown (no --config)", kMedicalTop, {"AIR-ZZ"}, {}, {}, {}},
      {"consumer missing from the config", kMedicalTop, {"GEM-0014"}, {}, kKinds, {}},
      {"unknown sensitivity value", kOtherTag, {"KMAR"}, {}, {},
       {"field /religion has x-sensitivity \"special-category\"", "no delivery rule covers"}},
  };
  for (const auto& row : rows) {
    INFO(row.what);
    const auto contract = make_contract(row.schema, row.consumers, row.projections);
    const auto problems = broker::policy::check_sensitive_coverage(contract, row.kinds);
    INFO([&] {
      std::string all;
      for (const auto& p : problems) all += p + "\n";
      return all;
    }());
    if (row.expected.empty()) {
      CHECK(problems.empty());
      continue;
    }
    REQUIRE(problems.size() == 1);
    for (const auto& word : row.expected) CHECK(problems[0].find(word) != std::string::npos);
  }
}

TEST_CASE("partner roles are read by their config names", "[policy][lint]") {
  CHECK(broker::policy::partner_kind("chain-partner") == PartnerKind::kChainPartner);
  CHECK(broker::policy::partner_kind("care-provider") == PartnerKind::kCareProvider);
  CHECK(broker::policy::partner_kind("non-chain") == PartnerKind::kNonChain);
  CHECK_FALSE(broker::policy::partner_kind("airline").has_value());
  CHECK_FALSE(broker::policy::partner_kind("").has_value());
}

TEST_CASE("the migration-chain set covers its medical fields for the domain's non-chain parties",
          "[policy][lint]") {
  auto registry = contracts::ContractRegistry::load(std::filesystem::path(KETEN_SOURCE_DIR) /
                                                    "contracts/migration-chain");
  REQUIRE(registry);
  // domain/migration-chain.md §1: the non-chain executors and the care providers.
  const PartnerKinds kinds = {{"AIR-ZZ", PartnerKind::kNonChain},  {"PTR-001", PartnerKind::kNonChain},
                              {"GEM-0014", PartnerKind::kNonChain}, {"GZA", PartnerKind::kCareProvider},
                              {"DJI-MD", PartnerKind::kCareProvider}, {"IND-BMA", PartnerKind::kCareProvider}};
  const auto problems = broker::policy::check_sensitive_coverage(*registry, kinds);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  INFO(all);
  CHECK(problems.empty());

  // Without its projection for AIR-ZZ, health.action-perspective.published would fail.
  auto* health = registry->find("health.action-perspective.published", 1);
  REQUIRE(health != nullptr);
  health->projections.erase("AIR-ZZ");
  const auto broken = broker::policy::check_sensitive_coverage(*health, kinds);
  REQUIRE(broken.size() == 1);
  CHECK(broken[0].find("consumer AIR-ZZ (non-chain) has no projection") != std::string::npos);
  CHECK(broken[0].find("/contact_point") != std::string::npos);
}
