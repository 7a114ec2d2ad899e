// The consent contracts built into the broker: there for a set without their files, with the
// configured care providers as owners and every configured partner id as a valid recipient, and
// replaced by a set's own file of the same name and version.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "contracts/registry.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using contracts::ConfiguredParties;
using contracts::ContractRegistry;

namespace {

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// A set with one contract of its own and no consent files.
fs::path set_without_consent(const test_support::TempDir& dir) {
  write_file(dir / "a.thing.v1.json",
             R"({"contract": "a.thing", "version": 1, "description": "d", "owner": "DTV",)"
             R"( "consumers": ["AIR-KLM"], "schema": {"type": "object"}})");
  return dir.path();
}

// The ids the broker config allows, which a pattern like ^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$ would not all pass.
const ConfiguredParties kParties{{"DTV", "AIR-KLM", "gza", "DJI_MD", "ind.bma"}, {"gza", "ind.bma"}};

std::string consent(const std::string& recipient) {
  return R"({"recipient": ")" + recipient +
         R"(", "purpose": "safe-transport-and-removal", "valid_until": "2026-03-01T00:00:00Z"})";
}

}  // namespace

TEST_CASE("a contract set without consent files still has the built-in consent contracts",
          "[contracts][registry][consent]") {
  test_support::TempDir dir;
  auto registry = ContractRegistry::load(set_without_consent(dir), kParties);
  REQUIRE(registry);
  for (const char* name : {"consent.registered", "consent.withdrawn"}) {
    auto* c = registry->find(name, 1);
    REQUIRE(c);
    CHECK(c->builtin);
    CHECK(c->owners == std::vector<std::string>{"gza", "ind.bma"});
    CHECK(c->consumers == std::vector<std::string>{"gza", "ind.bma"});
  }
  CHECK_FALSE(registry->find("a.thing", 1)->builtin);
  CHECK(contracts::lint_contract_set(dir.path(), kParties.partners).empty());
}

TEST_CASE("the built-in consent recipient accepts every configured partner id and nothing else",
          "[contracts][registry][consent]") {
  test_support::TempDir dir;
  auto registry = ContractRegistry::load(set_without_consent(dir), kParties);
  REQUIRE(registry);
  auto* registered = registry->find("consent.registered", 1);
  REQUIRE(registered);
  for (const auto& id : kParties.partners) {
    INFO(id);
    CHECK(registered->validator.validate(consent(id)).ok());
  }
  auto unknown = registered->validator.validate(consent("NOBODY"));
  REQUIRE_FALSE(unknown.ok());
  REQUIRE(unknown.errors.size() == 1);
  CHECK(unknown.errors[0].pointer == "/recipient");
}

TEST_CASE("a set's own consent file of the same name and version replaces the built-in one",
          "[contracts][registry][consent]") {
  test_support::TempDir dir;
  set_without_consent(dir);
  write_file(dir / "consent.registered.v1.json",
             R"({"contract": "consent.registered", "version": 1, "description": "our own", "owner": ["gza"],)"
             R"( "consumers": ["gza"], "schema": {"type": "object", "properties": {"recipient": {"type": "string"}}}})");
  auto registry = ContractRegistry::load(dir.path(), kParties);
  REQUIRE(registry);
  auto* registered = registry->find("consent.registered", 1);
  REQUIRE(registered);
  CHECK_FALSE(registered->builtin);
  CHECK(registered->description == "our own");
  CHECK(registry->find("consent.withdrawn", 1)->builtin);  // the other one is still built in
}

TEST_CASE("a set's consent file whose recipient pattern refuses a configured partner id fails to load",
          "[contracts][registry][consent]") {
  test_support::TempDir dir;
  set_without_consent(dir);
  write_file(dir / "consent.registered.v1.json",
             R"({"contract": "consent.registered", "version": 1, "description": "d", "owner": ["gza"],)"
             R"( "consumers": ["gza"], "schema": {"type": "object", "properties": {"recipient":)"
             R"( {"type": "string", "pattern": "^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$"}}}})");
  auto registry = ContractRegistry::load(dir.path(), kParties);
  REQUIRE_FALSE(registry);
  const std::string detail = registry.error().detail;
  CHECK_THAT(detail, Catch::Matchers::Contains("consent.registered.v1.json: /recipient refuses the configured partner 'gza'"));
  CHECK_THAT(detail, Catch::Matchers::Contains("'ind.bma'"));
  CHECK_THAT(detail, Catch::Matchers::Contains("'DJI_MD'"));
  CHECK_FALSE(detail.find("'AIR-KLM'") != std::string::npos);
  // Without configured partners (tools reading a set) there is nothing to compare with.
  CHECK(ContractRegistry::load(dir.path()));
}
