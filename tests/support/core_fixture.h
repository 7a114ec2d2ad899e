#pragma once
// Shared set-up for broker_core unit tests: a real SQLite store in a temp folder and the test
// contract set (tests/data/contracts).

#include <catch2/catch.hpp>

#include "broker/store/sqlite_store.h"
#include "contracts/registry.h"
#include "tests/support/temp_dir.h"

namespace test_support {

// The payload key of open_store's stores.
inline const std::string kTestPayloadKey(32, 'k');

inline broker::store::SqliteStore open_store(const TempDir& dir) {
  broker::store::StoreOptions options;
  options.path = dir / "k.db";
  options.sync_full = false;
  options.payload_key = kTestPayloadKey;  // the test contracts have medical fields (sealed)
  auto s = broker::store::SqliteStore::open(options);
  REQUIRE(s);
  return std::move(*s);
}

inline contracts::ContractRegistry load_test_contracts() {
  auto r = contracts::ContractRegistry::load(std::filesystem::path(KETEN_SOURCE_DIR) / "tests/data/contracts");
  INFO((r ? std::string() : r.error().detail));
  REQUIRE(r);
  return std::move(*r);
}

// A valid payload of test.notice v1, and a Submit of it (case 9990012345) from its owner's side.
inline const std::string kNoticePayload =
    R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[{"id":"AB1234","count":2}]})";

inline contracts::Submit notice_submit(const std::string& id, const std::string& payload = kNoticePayload) {
  contracts::Submit s;
  s.header.message_id = id;
  s.header.contract = "test.notice";
  s.header.version = 1;
  s.header.case_ref = "9990012345";
  s.payload = payload;
  return s;
}

}  // namespace test_support
