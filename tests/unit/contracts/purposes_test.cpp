// A contract's `purposes`: per consumer, the consent purpose for which it receives medical fields.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "contracts/registry.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using contracts::ContractRegistry;

namespace {

void write_contract(const test_support::TempDir& dir, const std::string& purposes) {
  std::ofstream(dir / "a.care.v1.json", std::ios::binary)
      << R"({"contract": "a.care", "version": 1, "description": "d", "owner": "GZA", "consumers": ["DVO", "KMAR"],)"
      << R"( "purposes": )" << purposes
      << R"(, "schema": {"type": "object", "properties": {"fit": {"type": "string", "x-sensitivity": "medical"}}}})";
}

bool has_problem(const std::vector<std::string>& problems, const std::string& text) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("a contract declares the consent purpose for which a consumer receives medical fields",
          "[contracts][registry][consent]") {
  test_support::TempDir dir;
  write_contract(dir, R"({"DVO": "safe-transport-and-removal"})");
  auto registry = ContractRegistry::load(dir.path());
  REQUIRE(registry);
  auto* c = registry->find("a.care", 1);
  REQUIRE(c);
  CHECK(c->purpose_for("DVO") == "safe-transport-and-removal");
  CHECK(c->purpose_for("KMAR").empty());  // none declared: no consent opens its medical fields
  CHECK(contracts::lint_contract_set(dir.path(), {"GZA", "DVO", "KMAR"}).empty());
}

TEST_CASE("lint refuses a purpose that is not a consent purpose, or for a partner that is not a consumer",
          "[contracts][lint][consent]") {
  test_support::TempDir dir;
  write_contract(dir, R"({"COA": "continuity-of-care", "KMAR": 7})");
  auto problems = contracts::lint_contract_set(dir.path(), {"GZA", "DVO", "KMAR", "COA"});
  CHECK(has_problem(problems, "a.care.v1.json: purpose for 'COA', which is not a consumer"));
  CHECK(has_problem(problems, "a.care.v1.json: purpose for 'KMAR' must be a consent purpose"));
  CHECK_FALSE(ContractRegistry::load(dir.path()));

  write_contract(dir, R"({"DVO": "marketing"})");
  problems = contracts::lint_contract_set(dir.path(), {"GZA", "DVO", "KMAR"});
  CHECK(has_problem(problems, "a.care.v1.json: purpose 'marketing' for 'DVO' is not a purpose of consent.registered"));
  CHECK(has_problem(problems, "(one of: article64-assessment, continuity-of-care, fitness-to-travel-assessment, "
                              "safe-transport-and-removal)"));
  CHECK_FALSE(ContractRegistry::load(dir.path()));
}

TEST_CASE("a set's own consent.registered decides which purposes contracts may declare",
          "[contracts][lint][consent]") {
  test_support::TempDir dir;
  write_contract(dir, R"({"DVO": "safe-transport-and-removal"})");
  std::ofstream(dir / "consent.registered.v1.json", std::ios::binary)
      << R"({"contract": "consent.registered", "version": 1, "description": "d", "owner": "GZA", "consumers": ["GZA"],)"
      << R"( "schema": {"type": "object", "properties": {"purpose": {"type": "string", "enum": ["continuity-of-care"]}}}})";
  const auto problems = contracts::lint_contract_set(dir.path(), {"GZA", "DVO", "KMAR"});
  CHECK(has_problem(problems, "purpose 'safe-transport-and-removal' for 'DVO' is not a purpose of consent.registered "
                              "(one of: continuity-of-care)"));
}

namespace {

void write_bases(const test_support::TempDir& dir, const std::string& bases) {
  std::ofstream(dir / "a.notice.v1.json", std::ios::binary)
      << R"({"contract": "a.notice", "version": 1, "description": "d", "owner": "DTV", "consumers": ["GEM-0014", "KMAR"],)"
      << R"( "delivery_bases": )" << bases << R"(, "schema": {"type": "object"}})";
}

}  // namespace

TEST_CASE("a contract names the legal basis each consumer receives it under", "[contracts][registry]") {
  test_support::TempDir dir;
  write_bases(dir, R"({"GEM-0014": "agreement NCV-2024-014"})");
  auto registry = ContractRegistry::load(dir.path());
  REQUIRE(registry);
  auto* c = registry->find("a.notice", 1);
  REQUIRE(c);
  CHECK(c->delivery_basis_for("GEM-0014") == "agreement NCV-2024-014");
  CHECK(c->delivery_basis_for("KMAR").empty());
}

TEST_CASE("lint refuses a delivery basis for a non-consumer, an empty one, or one that is not text",
          "[contracts][lint]") {
  test_support::TempDir dir;
  write_bases(dir, R"({"COA": "x", "KMAR": "", "GEM-0014": 7})");
  auto problems = contracts::lint_contract_set(dir.path(), {"DTV", "GEM-0014", "KMAR", "COA"});
  CHECK(has_problem(problems, "a.notice.v1.json: delivery basis for 'COA', which is not a consumer"));
  CHECK(has_problem(problems, "a.notice.v1.json: delivery basis for 'KMAR' must be the legal basis or agreement they receive under"));
  CHECK(has_problem(problems, "a.notice.v1.json: delivery basis for 'GEM-0014' must be the legal basis or agreement"));
  CHECK_FALSE(ContractRegistry::load(dir.path()));
  write_bases(dir, R"(["agreement"])");
  CHECK(has_problem(contracts::lint_contract_set(dir.path(), {"DTV", "GEM-0014", "KMAR"}),
                    "'delivery_bases' must map consumer ids to the legal basis or agreement they receive under"));
}
