#pragma once
// Shared set-up for broker_core unit tests: a real SQLite store in a temp folder and the test
// contract set (tests/data/contracts).

#include <catch2/catch.hpp>

#include "broker/store/sqlite_store.h"
#include "contracts/registry.h"
#include "tests/support/temp_dir.h"

namespace test_support {

inline broker::store::SqliteStore open_store(const TempDir& dir) {
  broker::store::StoreOptions options;
  options.path = dir / "k.db";
  options.sync_full = false;
  options.payload_key = std::string(32, 'k');  // the test contracts have medical fields (sealed)
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

}  // namespace test_support
