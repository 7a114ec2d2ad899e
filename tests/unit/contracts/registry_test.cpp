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
using contracts::ErrorCode;

namespace {

// The partners of domain/migration-chain.md §1 that the contract set names.
const std::vector<std::string> kChainPartners = {
    "IND", "IND-BMA", "COA", "GZA", "DTV", "KMAR", "POL-AVIM", "ZHP",
    "DJI", "DJI-MD", "DVO", "IOM", "BZ", "DRM", "RECHTSPRAAK"};

// Non-chain parties (§1) are named AIR-<iata>, PTR-<id> and GEM-<cbs>.
bool is_non_chain_party(const std::string& id) {
  return id.rfind("AIR-", 0) == 0 || id.rfind("PTR-", 0) == 0 || id.rfind("GEM-", 0) == 0;
}

fs::path migration_chain_dir() { return fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain"; }

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A well-formed contract file; `extra` is spliced in as more top-level members.
std::string contract_text(const std::string& name, int version, const std::string& owner = "\"A\"",
                          const std::string& schema = R"({"type": "object"})") {
  return R"({"contract": ")" + name + R"(", "version": )" + std::to_string(version) +
         R"(, "description": "test contract", "owner": )" + owner +
         R"(, "consumers": ["B", "C"], "schema": )" + schema + "}";
}

// True when some problem mentions both `file` and `text`.
bool has_problem(const std::vector<std::string>& problems, const std::string& file,
                 const std::string& text) {
  return std::any_of(problems.begin(), problems.end(), [&](const std::string& p) {
    return p.rfind(file + ": ", 0) == 0 && p.find(text) != std::string::npos;
  });
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

}  // namespace

TEST_CASE("registry loads the migration-chain contract set and every schema compiles",
          "[contracts][registry]") {
  auto registry = ContractRegistry::load(migration_chain_dir());
  INFO((registry ? "" : registry.error().detail));
  REQUIRE(registry);
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(migration_chain_dir())) {
    files += entry.is_regular_file() && entry.path().extension() == ".json";
  }
  CHECK(registry->size() == files);
  for (const char* name :
       {"departure.scheduled", "transfer.announced", "transport.ordered",
        "departure.particulars.published", "custody.handover.recorded", "transport.confirmed",
        "removability.checked", "departure.outcome.recorded", "returncase.opened",
        "dataitem.ownership.declared", "dataitem.dispute.raised", "detention.imposed",
        "detention.ended", "care.handover.status", "consent.registered", "consent.withdrawn",
        "health.action-perspective.published", "article64.requested", "article64.decided",
        "dublin.claim.status", "departure.cancelled"}) {
    INFO(name);
    CHECK(registry->find(name, 1) != nullptr);
  }
  const auto* custody = registry->find("custody.handover.recorded", 1);
  REQUIRE(custody != nullptr);
  CHECK(custody->owners == std::vector<std::string>{"DVO", "KMAR", "DJI"});
  CHECK(custody->is_owner("KMAR"));
  CHECK_FALSE(custody->is_owner("DTV"));
  CHECK(custody->is_consumer("DTV"));
}

TEST_CASE("the migration-chain contract set is lint-clean against the chain partners",
          "[contracts][registry][lint]") {
  auto registry = ContractRegistry::load(migration_chain_dir());
  REQUIRE(registry);
  std::vector<std::string> known = kChainPartners;
  for (const auto& [key, contract] : registry->all()) {
    for (const auto* ids : {&contract.owners, &contract.consumers}) {
      for (const auto& id : *ids) {
        if (is_non_chain_party(id)) known.push_back(id);
      }
    }
  }
  const auto problems = contracts::lint_contract_set(migration_chain_dir(), known);
  INFO(joined(problems));
  CHECK(problems.empty());
}

TEST_CASE("registry finds contracts by name and version", "[contracts][registry]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", contract_text("test.notice", 1));
  write_file(dir / "test.notice.v2.json", contract_text("test.notice", 2));
  write_file(dir / "test.notice-extra.v1.json", contract_text("test.notice-extra", 1));
  auto registry = ContractRegistry::load(dir.path());
  INFO((registry ? "" : registry.error().detail));
  REQUIRE(registry);
  CHECK(registry->size() == 3 + 2);  // and the two built-in consent contracts
  REQUIRE(registry->find("test.notice", 2) != nullptr);
  CHECK(registry->find("test.notice", 2)->version == 2);
  CHECK(registry->find("test.notice", 2)->path == dir / "test.notice.v2.json");
  CHECK(registry->find("test.notice", 3) == nullptr);
  CHECK(registry->find("test.notic", 1) == nullptr);
  CHECK(registry->has_contract("test.notice"));
  CHECK_FALSE(registry->has_contract("test"));
  CHECK_FALSE(registry->has_contract("test.notice.v1"));
  CHECK(registry->versions("test.notice") == std::vector<std::uint32_t>{1, 2});
  CHECK(registry->versions("test.notice-extra") == std::vector<std::uint32_t>{1});
  CHECK(registry->versions("nothing").empty());
}

TEST_CASE("registry validators are usable after load", "[contracts][registry]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", contract_text("test.notice", 1, "\"A\"",
                                                        R"({"type": "object", "required": ["at"],
                               "properties": {"at": {"type": "string", "format": "date"}}})"));
  auto registry = ContractRegistry::load(dir.path());
  REQUIRE(registry);
  auto* contract = registry->find("test.notice", 1);
  REQUIRE(contract != nullptr);
  CHECK(contract->validator.validate(R"({"at": "2024-02-29"})").ok());
  const auto outcome = contract->validator.validate(R"({"at": "2023-02-29"})");
  REQUIRE(outcome.errors.size() == 1);
  CHECK(outcome.errors[0].pointer == "/at");
}

TEST_CASE("registry load ignores subfolders and files that are not JSON", "[contracts][registry]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", contract_text("test.notice", 1));
  write_file(dir / "README.md", "# not a contract");
  fs::create_directory(dir / "samples");
  write_file(dir / "samples" / "test.notice.valid.json", R"({"anything": true})");
  auto registry = ContractRegistry::load(dir.path());
  INFO((registry ? "" : registry.error().detail));
  REQUIRE(registry);
  CHECK(registry->size() == 1 + 2);  // and the two built-in consent contracts
}

TEST_CASE("registry load fails with kConfig listing every problem, one per line",
          "[contracts][registry]") {
  test_support::TempDir dir;
  write_file(dir / "good.one.v1.json", contract_text("good.one", 1));
  write_file(dir / "bad.one.v1.json", "{ not json");
  write_file(dir / "bad.two.v1.json", contract_text("bad.two", 1, "42"));
  auto registry = ContractRegistry::load(dir.path());
  REQUIRE_FALSE(registry);
  CHECK(registry.error().code == ErrorCode::kConfig);
  const std::string& detail = registry.error().detail;
  INFO(detail);
  CHECK(std::count(detail.begin(), detail.end(), '\n') == 1);  // two lines
  CHECK(detail.find("bad.one.v1.json: not JSON") != std::string::npos);
  CHECK(detail.find("bad.two.v1.json: 'owner' must be a partner id or a list of them") !=
        std::string::npos);
}

TEST_CASE("registry load fails on a folder that does not exist or holds no contracts",
          "[contracts][registry]") {
  test_support::TempDir dir;
  SECTION("missing folder") {
    auto registry = ContractRegistry::load(dir / "nowhere");
    REQUIRE_FALSE(registry);
    CHECK(registry.error().detail.find("not a directory") != std::string::npos);
  }
  SECTION("empty folder") {
    auto registry = ContractRegistry::load(dir.path());
    REQUIRE_FALSE(registry);
    CHECK(registry.error().detail.find("no contract files") != std::string::npos);
  }
}

TEST_CASE("lint finds a file name that does not match the contract", "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.json", contract_text("test.notice", 1));
  write_file(dir / "other.name.v1.json", contract_text("test.other", 1));
  write_file(dir / "test.version.v2.json", contract_text("test.version", 1));
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  CHECK(problems.size() == 3);
  CHECK(has_problem(problems, "test.notice.json", "file name must be 'test.notice.v1.json'"));
  CHECK(has_problem(problems, "other.name.v1.json", "file name must be 'test.other.v1.json'"));
  CHECK(has_problem(problems, "test.version.v2.json", "file name must be 'test.version.v1.json'"));
}

TEST_CASE("lint finds owners and consumers that are not known partners", "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", contract_text("test.notice", 1, R"(["A", "X"])"));
  const auto problems = contracts::lint_contract_set(dir.path(), {"A", "B"});
  INFO(joined(problems));
  CHECK(problems.size() == 2);
  CHECK(has_problem(problems, "test.notice.v1.json", "owner 'X' is not a known partner"));
  CHECK(has_problem(problems, "test.notice.v1.json", "consumer 'C' is not a known partner"));
}

TEST_CASE("lint skips partner checks when no partners are known", "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", contract_text("test.notice", 1, R"(["A", "X"])"));
  CHECK(contracts::lint_contract_set(dir.path()).empty());
}

TEST_CASE("lint finds schemas that do not compile", "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(
      dir / "test.keyword.v1.json",
      contract_text("test.keyword", 1, "\"A\"", R"({"type": "object", "minProperties": "x"})"));
  write_file(dir / "test.ref.v1.json",
             contract_text("test.ref", 1, "\"A\"", R"({"$ref": "#/definitions/nothing"})"));
  write_file(dir / "test.array.v1.json", contract_text("test.array", 1, "\"A\"", "[]"));
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  CHECK(problems.size() == 3);
  CHECK(has_problem(problems, "test.keyword.v1.json", "schema does not compile"));
  CHECK(has_problem(problems, "test.ref.v1.json", "points nowhere"));
  CHECK(has_problem(problems, "test.array.v1.json", "'schema' must be a JSON Schema"));
}

TEST_CASE("lint finds missing and unknown keys", "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json",
             R"({"contract": "test.notice", "version": 1, "owner": "A", "schema": {},
                 "consumer": ["B"]})");
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  CHECK(problems.size() == 3);
  CHECK(has_problem(problems, "test.notice.v1.json", "missing key 'description'"));
  CHECK(has_problem(problems, "test.notice.v1.json", "missing key 'consumers'"));
  CHECK(has_problem(problems, "test.notice.v1.json", "unknown key 'consumer'"));
}

TEST_CASE("lint finds keys with values of the wrong kind", "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(dir / "x.v1.json",
             R"({"contract": "Test Notice", "version": 0, "description": "",
                 "owner": [], "consumers": ["B", "B"], "schema": {}})");
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  CHECK(problems.size() == 5);
  CHECK(has_problem(problems, "x.v1.json", "'contract' must be a name"));
  CHECK(has_problem(problems, "x.v1.json", "'version' must be an integer >= 1"));
  CHECK(has_problem(problems, "x.v1.json", "'description' must be a non-empty string"));
  CHECK(has_problem(problems, "x.v1.json", "'owner' must name at least one partner"));
  CHECK(has_problem(problems, "x.v1.json", "'consumers' names 'B' twice"));
}

TEST_CASE("lint finds a contract version defined twice", "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", contract_text("test.notice", 1));
  write_file(dir / "zz.copy.v1.json", contract_text("test.notice", 1));
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  CHECK(has_problem(
      problems, "zz.copy.v1.json",
      "duplicate of contract 'test.notice' version 1 (already in test.notice.v1.json)"));
  CHECK(has_problem(problems, "zz.copy.v1.json", "file name must be 'test.notice.v1.json'"));
}

TEST_CASE("lint finds a file that is not JSON", "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", R"({"contract": "test.notice",)");
  const auto problems = contracts::lint_contract_set(dir.path());
  REQUIRE(problems.size() == 1);
  CHECK(has_problem(problems, "test.notice.v1.json", "not JSON"));
}
