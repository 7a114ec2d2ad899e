// Norm keys (broker/store/tracking.h) on real files: with a payload key the values a follow-up is
// matched by are keyed hashes, so neither the file nor its WAL holds them; rows from before
// hashing are converted at the first open with a key; a store whose keys are hashed is refused
// without the key; the hashing secret survives reopening and a payload-key rotation.
#include "broker/store/tracking.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "broker/store/retention.h"
#include "broker/store/seal.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/file_bytes.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::store::NormKey;
using broker::store::SqliteStore;
using broker::store::StoreOptions;
using broker::store::TrackingTables;
using test_support::ok;
using test_support::store_bytes;

constexpr const char* kPointer = "/departure_id";
constexpr const char* kValue = R"("NORM-KEY-SECRET-4711")";  // as norm_case_key gives it: JSON text
constexpr const char* kClear = "NORM-KEY-SECRET-4711";

std::string key_bytes(char fill) { return std::string(broker::store::kPayloadKeyBytes, fill); }

SqliteStore open_store(const std::filesystem::path& path, const std::string& key) {
  StoreOptions o;
  o.path = path;
  o.sync_full = false;
  o.payload_key = key;
  return ok(SqliteStore::open(o));
}

void add(SqliteStore& store, TrackingTables& tables, const std::string& message_id) {
  ok(store.begin());
  ok(tables.add_key(kPointer, kValue, NormKey{"test.departure", message_id, 1'000}));
  ok(store.commit());
}

std::string stored_case_keys(SqliteStore& store) {
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(store.connection(), "SELECT group_concat(case_key, ',') FROM norm_keys", -1, &raw,
                             nullptr) == SQLITE_OK);
  broker::store::StmtHandle stmt(raw);
  REQUIRE(sqlite3_step(raw) == SQLITE_ROW);
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
  return text ? text : "";
}

}  // namespace

TEST_CASE("with a payload key a norm key's value is in neither the store file nor its WAL", "[store][tracking]") {
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  {
    auto store = open_store(path, key_bytes('k'));
    auto tables = ok(TrackingTables::open(store, key_bytes('k')));
    add(store, tables, "dep-1");
    add(store, tables, "dep-2");
    const auto found = ok(tables.keys(kPointer, kValue));
    REQUIRE(found.size() == 2);
    CHECK(found[0].message_id == "dep-1");
    CHECK(ok(tables.keys(kPointer, R"("ANOTHER")")).empty());
    CHECK(stored_case_keys(store).rfind("k1:", 0) == 0);
    CHECK(store_bytes(path).find(kClear) == std::string::npos);
  }
  // Reopened: the same secret (from meta), so the rows still match.
  auto store = open_store(path, key_bytes('k'));
  auto tables = ok(TrackingTables::open(store, key_bytes('k')));
  CHECK(ok(tables.keys(kPointer, kValue)).size() == 2);
}

TEST_CASE("plaintext norm keys from before are hashed at the first open with a payload key", "[store][tracking]") {
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  {
    // As an older broker left them: the store has a payload key, the tracker stored the value.
    auto store = open_store(path, key_bytes('k'));
    auto tables = ok(TrackingTables::open(store));
    add(store, tables, "dep-1");
    add(store, tables, "dep-2");
    REQUIRE(store_bytes(path).find(kClear) != std::string::npos);  // the test can fail
  }
  auto store = open_store(path, key_bytes('k'));
  auto tables = ok(TrackingTables::open(store, key_bytes('k')));
  const auto found = ok(tables.keys(kPointer, kValue));
  REQUIRE(found.size() == 2);
  CHECK(found[1].message_id == "dep-2");
  CHECK(found[1].contract == "test.departure");
  CHECK(stored_case_keys(store).find(kClear) == std::string::npos);
  CHECK(store_bytes(path).find(kClear) == std::string::npos);
  // A new message of the same case matches the converted rows.
  add(store, tables, "dep-3");
  CHECK(ok(tables.keys(kPointer, kValue)).size() == 3);
}

TEST_CASE("plaintext norm keys on either side of the hashed prefix are all found and hashed", "[store][tracking]") {
  // The search reads the two key ranges of each pointer around "k1:": a JSON text may start below
  // it (a string, a number) or above it (true, null, an object).
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  const char* const values[] = {R"("V-1")", "-7", "42", "true", "null", R"({"a":1})", "[1]"};
  {
    auto store = open_store(path, key_bytes('k'));
    auto tables = ok(TrackingTables::open(store));
    ok(store.begin());
    int n = 0;
    for (const char* pointer : {"/a", "/b/c", "/z"}) {
      for (const char* v : values)
        ok(tables.add_key(pointer, v, NormKey{"test.departure", "m-" + std::to_string(n++), 1}));
    }
    ok(store.commit());
  }
  auto store = open_store(path, key_bytes('k'));
  auto tables = ok(TrackingTables::open(store, key_bytes('k')));
  for (const char* pointer : {"/a", "/b/c", "/z"}) {
    for (const char* v : values) CHECK(ok(tables.keys(pointer, v)).size() == 1);
  }
  const std::string stored = stored_case_keys(store);
  std::size_t hashed = 0;
  for (std::size_t at = stored.find("k1:"); at != std::string::npos; at = stored.find("k1:", at + 1)) ++hashed;
  CHECK(hashed == 21);
}

TEST_CASE("an open with a payload key finds no plaintext norm keys without reading every row", "[store][tracking]") {
  // At every start with a payload key the tracker looks for rows still in clear; it read the whole
  // table (42 ms at 300 000 messages) to find none.
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  auto steps_of_open = [&](int rows) {
    {
      auto store = open_store(path, key_bytes('k'));
      auto tables = ok(TrackingTables::open(store, key_bytes('k')));
      ok(store.begin());
      for (int i = 0; i < rows; ++i) {
        const std::string value = "\"V-" + std::to_string(i) + "\"";
        ok(tables.add_key(i % 2 ? "/a" : "/b", value, NormKey{"test.departure", "m-" + std::to_string(i), 1}));
      }
      ok(store.commit());
    }
    auto store = open_store(path, key_bytes('k'));
    long steps = 0;
    sqlite3_progress_handler(
        store.connection(), 10, [](void* n) { return ++*static_cast<long*>(n), 0; }, &steps);
    ok(TrackingTables::open(store, key_bytes('k')));
    sqlite3_progress_handler(store.connection(), 0, nullptr, nullptr);
    return steps;
  };
  const long small = steps_of_open(10);
  const long large = steps_of_open(5'000);
  INFO("steps of the open with 10 rows: " << small << "0, with 5 010: " << large << "0");
  CHECK(large <= small + 5);
}

TEST_CASE("a store whose norm keys are hashed is refused without its payload key", "[store][tracking]") {
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  {
    auto store = open_store(path, key_bytes('k'));
    auto tables = ok(TrackingTables::open(store, key_bytes('k')));
    add(store, tables, "dep-1");
  }
  auto store = open_store(path, "");
  auto tables = TrackingTables::open(store);
  REQUIRE_FALSE(tables);
  CHECK(tables.error().code == contracts::ErrorCode::kStorage);
  CHECK_THAT(tables.error().detail, Catch::Matchers::Contains("norm_hash_key"));
}

TEST_CASE("without a payload key norm keys are stored as they are", "[store][tracking]") {
  test_support::TempDir dir;
  auto store = open_store(dir / "keten.db", "");
  auto tables = ok(TrackingTables::open(store));
  add(store, tables, "dep-1");
  CHECK(stored_case_keys(store) == kValue);
  CHECK(ok(tables.keys(kPointer, kValue)).size() == 1);
}

TEST_CASE("hashed norm keys still match after a payload-key rotation", "[store][tracking]") {
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  const std::string old_key = key_bytes('o'), new_key = key_bytes('n');
  {
    auto store = open_store(path, old_key);
    auto tables = ok(TrackingTables::open(store, old_key));
    add(store, tables, "dep-1");
  }
  {
    auto store = open_store(path, old_key);
    ok(broker::store::rotate_payload_key(store, old_key, new_key));
  }
  auto store = open_store(path, new_key);
  auto tables = ok(TrackingTables::open(store, new_key));
  CHECK(ok(tables.keys(kPointer, kValue)).size() == 1);
}
