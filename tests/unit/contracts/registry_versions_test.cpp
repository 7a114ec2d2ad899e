// The registry's optional keys: compatibility between versions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "contracts/registry.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using contracts::CompatibilityMode;
using contracts::ContractRegistry;

namespace {

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A version of test.notice with `properties` as its closed schema and `extra` top-level members.
std::string notice(int version, const std::string& properties, const std::string& extra = "") {
  return R"({"contract": "test.notice", "version": )" + std::to_string(version) +
         R"(, "description": "test", "owner": "A", "consumers": ["B"])" + extra +
         R"(, "schema": {"type": "object", "additionalProperties": false, "properties": )" +
         properties + "}}";
}

const std::string kV1 = R"({"kind": {"enum": ["a", "b"]}})";
const std::string kV2Narrowed = R"({"kind": {"enum": ["a"]}})";
const std::string kV2Added = R"({"kind": {"enum": ["a", "b"]}, "note": {"type": "boolean"}})";

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) out += p + "\n";
  return out;
}

}  // namespace

TEST_CASE("a contract version defaults to BACKWARD and may declare another compatibility mode",
          "[contracts][registry][compatibility]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", notice(1, kV1));
  write_file(dir / "test.notice.v2.json", notice(2, kV2Added, R"(, "compatibility": "FULL")"));
  auto registry = ContractRegistry::load(dir.path());
  INFO((registry ? "" : registry.error().detail));
  REQUIRE(registry);
  CHECK(registry->find("test.notice", 1)->compatibility == CompatibilityMode::kBackward);
  CHECK(registry->find("test.notice", 2)->compatibility == CompatibilityMode::kFull);
  CHECK_FALSE(registry->find("test.notice", 2)->schema_json.empty());
}

TEST_CASE("lint refuses an unknown compatibility mode", "[contracts][lint][compatibility]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", notice(1, kV1, R"(, "compatibility": "backwards")"));
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("'compatibility' must be one of BACKWARD") != std::string::npos);
}

TEST_CASE("lint reports a version that breaks its declared mode, and only then",
          "[contracts][lint][compatibility]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", notice(1, kV1));
  SECTION("narrowing an enum breaks BACKWARD") {
    write_file(dir / "test.notice.v2.json", notice(2, kV2Narrowed));
    const auto problems = contracts::lint_contract_set(dir.path());
    INFO(joined(problems));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].rfind("test.notice.v2.json: incompatible with version 1: /kind", 0) == 0);
    CHECK(problems[0].find("\"b\"") != std::string::npos);
    // The broker still loads the set: compatibility is a gate for lint and check, not for serving.
    CHECK(ContractRegistry::load(dir.path()));
  }
  SECTION("narrowing an enum is allowed under FORWARD") {
    write_file(dir / "test.notice.v2.json",
               notice(2, kV2Narrowed, R"(, "compatibility": "FORWARD")"));
    CHECK(contracts::lint_contract_set(dir.path()).empty());
  }
  SECTION("adding an optional property to a closed object breaks FULL but not BACKWARD") {
    write_file(dir / "test.notice.v2.json", notice(2, kV2Added));
    CHECK(contracts::lint_contract_set(dir.path()).empty());
    write_file(dir / "test.notice.v2.json", notice(2, kV2Added, R"(, "compatibility": "FULL")"));
    const auto problems = contracts::lint_contract_set(dir.path());
    INFO(joined(problems));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("/note") != std::string::npos);
  }
  SECTION("NONE allows anything") {
    write_file(dir / "test.notice.v2.json", notice(2, R"({"kind": {"type": "integer"}})",
                                                   R"(, "compatibility": "NONE")"));
    CHECK(contracts::lint_contract_set(dir.path()).empty());
  }
}

TEST_CASE("check_compatibility names the contract and the newer version's file",
          "[contracts][registry][compatibility]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", notice(1, kV1));
  write_file(dir / "test.notice.v2.json", notice(2, kV2Narrowed));
  auto registry = ContractRegistry::load(dir.path());
  REQUIRE(registry);
  const auto problems = contracts::check_compatibility(*registry);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].contract == "test.notice");
  CHECK(problems[0].path.filename() == "test.notice.v2.json");
  CHECK(problems[0].problem.old_version == 1);
  CHECK(problems[0].problem.change.kind == contracts::SchemaChange::Kind::kEnumNarrowed);
}

TEST_CASE("load_contract_file reads one file and lists its problems",
          "[contracts][registry][compatibility]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json", notice(1, kV1));
  write_file(dir / "test.notice.v3.json", notice(2, kV1));
  auto good = contracts::load_contract_file(dir / "test.notice.v1.json");
  REQUIRE(good);
  CHECK(good->name == "test.notice");
  auto bad = contracts::load_contract_file(dir / "test.notice.v3.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().detail.find("file name must be 'test.notice.v2.json'") != std::string::npos);
}

TEST_CASE("the registry reads norms and projections from the migration-chain set",
          "[contracts][registry][norms]") {
  auto registry = ContractRegistry::load(fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain");
  INFO((registry ? "" : registry.error().detail));
  REQUIRE(registry);
  const auto* departure = registry->find("departure.scheduled", 1);
  REQUIRE(departure != nullptr);
  REQUIRE(departure->norms.size() == 5);
  CHECK(departure->norms[0].kind == contracts::NormKind::kDeliveredBefore);
  CHECK(departure->norms[0].lead == 72 * 3600 * 1000);
  CHECK(departure->norms[1].expects ==
        std::vector<std::string>{"departure.particulars.published", "transport.ordered"});
  CHECK(departure->norms[4].kind == contracts::NormKind::kFollowUpAt);
  CHECK(departure->norms[4].at == "/checked_at");
  CHECK(departure->norms[4].window == 24 * 3600 * 1000);
  const auto* handover = registry->find("custody.handover.recorded", 1);
  REQUIRE(handover != nullptr);
  REQUIRE(handover->norms.size() == 2);
  CHECK(handover->norms[1].kind == contracts::NormKind::kTimeBefore);
  CHECK(handover->norms[1].expects == std::vector<std::string>{"transport.ordered"});
  // Dublin v2: the transfer time against the deadline, a whole date.
  const auto* dublin = registry->find("dublin.claim.status", 2);
  REQUIRE(dublin != nullptr);
  REQUIRE(dublin->norms.size() == 3);
  CHECK(dublin->norms[1].kind == contracts::NormKind::kTimeBefore);
  CHECK(dublin->norms[1].before == "/transfer_deadline");
  CHECK(dublin->norms[2].kind == contracts::NormKind::kFollowUpAt);
  CHECK(dublin->norms[2].grace == 24 * 3600 * 1000);
  const auto* care = registry->find("care.handover.status", 1);
  REQUIRE(care != nullptr);
  REQUIRE(care->projections.count("DTV") == 1);
  CHECK(care->projections.at("DTV") ==
        std::vector<std::string>{"/transfer_id", "/status", "/status_at"});
  CHECK(care->projections.count("GZA") == 0);
}

TEST_CASE("lint finds norms that refer to what does not exist", "[contracts][lint][norms]") {
  test_support::TempDir dir;
  const std::string properties =
      R"({"id": {"type": "string"}, "at": {"type": "string", "format": "date-time"}})";
  write_file(dir / "test.notice.v1.json",
             notice(1, properties, R"(, "norms": [
               {"id": "late", "kind": "delivered_before", "field": "/planned_at", "lead": "PT1H"},
               {"id": "who", "kind": "delivered_within", "within": "PT1H", "recipients": ["Z"]}])"));
  // Follow-ups are checked across files, among the files that are otherwise clean.
  write_file(dir / "test.notice.v2.json",
             notice(2, properties, R"(, "compatibility": "NONE", "norms": [
               {"id": "answer", "kind": "follow_up", "expects": ["test.answer"], "match": "/id",
                "within": "PT1H"}])"));
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == "test.notice.v1.json: norm 'late': 'field' /planned_at is not in the schema");
  CHECK(problems[1] == "test.notice.v1.json: norm 'who': recipient 'Z' is not a consumer");
  CHECK(problems[2] ==
        "test.notice.v2.json: norm 'answer': expects 'test.answer', which is not in the set");
  CHECK_FALSE(ContractRegistry::load(dir.path()));
}

TEST_CASE("lint checks the times a payload-time norm reads in the linked contract", "[contracts][lint][norms]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json",
             notice(1, R"({"id": {"type": "string"}, "at": {"type": "string", "format": "date-time"}})",
                    R"(, "norms": [
               {"id": "by-answer-due", "kind": "time_before", "field": "/at", "before": "/note",
                "reference": "test.answer", "match": "/id"},
               {"id": "answered-in-time", "kind": "follow_up_at", "expects": ["test.answer"], "match": "/id",
                "at": "/answered_at", "before": "/at"}])"));
  write_file(dir / "test.answer.v1.json",
             R"({"contract": "test.answer", "version": 1, "description": "test", "owner": "B", "consumers": ["A"],
                 "schema": {"type": "object", "additionalProperties": false, "properties": {
                   "id": {"type": "string"}, "note": {"type": "string"}}}})");
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  REQUIRE(problems.size() == 2);
  CHECK(problems[0] == "test.notice.v1.json: norm 'by-answer-due': 'before' /note must have format date-time or "
                       "date in test.answer");
  CHECK(problems[1] == "test.notice.v1.json: norm 'answered-in-time': 'at' /answered_at is not in test.answer");
}

TEST_CASE("lint finds projections for strangers and for fields the schema lacks",
          "[contracts][lint]") {
  test_support::TempDir dir;
  write_file(dir / "test.notice.v1.json",
             notice(1, kV1, R"(, "projections": {"B": ["/kind", "/colour"], "Q": ["/kind"],
                                                 "B2": []})"));
  const auto problems = contracts::lint_contract_set(dir.path());
  INFO(joined(problems));
  CHECK(problems.size() == 4);
  auto has = [&](const std::string& text) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& p) { return p.find(text) != std::string::npos; });
  };
  CHECK(has("projection for 'B': /colour is not in the schema"));
  CHECK(has("projection for 'Q', which is not a consumer"));
  CHECK(has("projection for 'B2', which is not a consumer"));
  CHECK(has("projection for 'B2' must be a non-empty list"));
}
