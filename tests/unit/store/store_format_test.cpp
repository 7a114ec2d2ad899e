// The store's file as other software sees it (docs/store-format.md), and what the store does with
// files it did not write: newer or unknown schema versions, foreign databases, corrupted bytes,
// a lock held by another connection. Uses SQLite's C API directly next to SqliteStore.
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/schema4_file.h"

namespace {

using broker::store::DbHandle;
using broker::store::LogEvent;
using broker::store::NewMessage;
using broker::store::SqliteStore;
using broker::store::StmtHandle;
using broker::store::StoreOptions;
using Catch::Matchers::Contains;
using contracts::ErrorCode;
using contracts::Result;

using test_support::ok;

StoreOptions options_for(const std::filesystem::path& path) {
  StoreOptions options;
  options.path = path;
  return options;
}

// A plain SQLite connection, as an inspector's tool would open the file.
DbHandle raw_open(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DbHandle db(raw);
  INFO(sqlite3_errmsg(db.get()));
  REQUIRE(rc == SQLITE_OK);
  return db;
}

// sqlite3_exec's result; the message is in sqlite3_errmsg.
int raw_exec(sqlite3* db, const std::string& sql) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

void raw_exec_ok(sqlite3* db, const std::string& sql) {
  const int rc = raw_exec(db, sql);
  INFO(sql << " : " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_OK);
}

// Every row's column `column` as text.
std::vector<std::string> raw_column(sqlite3* db, const std::string& sql, int column = 0) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  StmtHandle stmt(raw);
  INFO(sql << " : " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_OK);
  std::vector<std::string> values;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), column));
    values.emplace_back(text == nullptr ? "" : text);
  }
  return values;
}

std::string raw_value(sqlite3* db, const std::string& sql) {
  auto values = raw_column(db, sql);
  REQUIRE(values.size() == 1);
  return values[0];
}

NewMessage sample_message(std::string message_id, std::vector<std::string> recipients) {
  NewMessage m;
  m.header.message_id = std::move(message_id);
  m.header.contract = "verhuizing.gemeld";
  m.header.version = 1;
  m.header.case_ref = "case-1";
  m.header.recipients = {"ind"};
  m.sender = "coa";
  m.payload = "{}";
  m.payload_digest = std::string(64, 'a');
  m.recipients = std::move(recipients);
  m.accepted_at = 1'000;
  return m;
}

LogEvent sample_event(std::string message_id) {
  LogEvent e;
  e.at = 1'000;
  e.event = "accepted";
  e.message_id = std::move(message_id);
  e.case_ref = "case-1";
  return e;
}

// Creates a store file holding one message (two deliveries) and one log row, then closes it.
void create_store(const std::filesystem::path& path) {
  auto store = ok(SqliteStore::open(options_for(path)));
  ok(store.begin());
  const std::int64_t seq =
      ok(store.insert_message(sample_message("m-1", {"gemeente-utrecht", "ind"})));
  ok(store.insert_delivery(seq, "gemeente-utrecht"));
  ok(store.insert_delivery(seq, "ind"));
  ok(store.append_log(sample_event("m-1")));
  ok(store.commit());
}

// A schema-4 file as the broker before schema 5 left it: the same message, deliveries and row.
void create_schema4_store(const std::filesystem::path& path) {
  test_support::write_schema4_store(path, {sample_event("m-1")});
  auto db = raw_open(path);
  raw_exec_ok(db.get(),
              "INSERT INTO messages (message_id, contract, version, case_ref, sender, correlation_id, causation_id,"
              " supersedes, occurred_at, recorded_at, accepted_at, requested_recipients, recipients, payload,"
              " payload_digest, log_seq, origin, sealed) VALUES ('m-1', 'verhuizing.gemeld', 1, 'case-1', 'coa', '',"
              " '', '', 0, 0, 1000, '[\"ind\"]', '[\"gemeente-utrecht\",\"ind\"]', x'7b7d', '" +
                  std::string(64, 'a') + "', 1, '', 0);"
              "INSERT INTO deliveries (message_seq, recipient, state, attempts, last_attempt_at, acked_at, dead_at)"
              " VALUES (1, 'gemeente-utrecht', 0, 0, 0, 0, 0), (1, 'ind', 0, 0, 0, 0, 0)");
}

// A fresh store file made by create_store() in its own temporary folder.
struct CreatedStore {
  test_support::TempDir dir;
  std::filesystem::path path = dir / "store.db";
  CreatedStore() { create_store(path); }
};

void overwrite(const std::filesystem::path& path, std::size_t offset, const std::string& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(file.is_open());
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(file.good());
}

std::string garbage(std::size_t size) {
  std::string bytes(size, '\0');
  std::uint32_t x = 2463534242u;  // xorshift: the same bytes on every run
  for (auto& byte : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<char>(x & 0xff);
  }
  return bytes;
}

}  // namespace

TEST_CASE("store file is in WAL mode and records schema version 5", "[store]") {
  const CreatedStore created;
  const auto& path = created.path;
  auto db = raw_open(path);
  CHECK(raw_value(db.get(), "PRAGMA journal_mode") == "wal");
  CHECK(raw_value(db.get(), "SELECT value FROM meta WHERE key = 'schema_version'") == "5");
  CHECK(raw_value(db.get(), "PRAGMA integrity_check") == "ok");
}

TEST_CASE("store file has the tables, indexes and triggers docs/store-format.md lists", "[store]") {
  const CreatedStore created;
  const auto& path = created.path;
  auto db = raw_open(path);
  CHECK(
      raw_column(db.get(),
                 "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' "
                 "ORDER BY name") ==
      std::vector<std::string>{"case_holds", "case_keys", "checkpoints", "deliveries", "log_blocks", "log_case_blocks",
                               "log_leaves", "log_node_tiles", "log_tree_nodes", "messages", "meta",
                               "tree_checkpoints"});
  CHECK(raw_column(db.get(),
                   "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                   "ORDER BY name") ==
        std::vector<std::string>{"case_keys_live", "case_keys_live_by_id", "deliveries_dead_by_recipient",
                                 "deliveries_open_by_recipient", "messages_by_case"});
  CHECK(
      raw_column(db.get(), "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name") ==
      std::vector<std::string>{"checkpoints_no_delete", "checkpoints_no_update", "log_blocks_no_delete",
                               "log_blocks_no_update", "log_case_blocks_no_delete", "log_case_blocks_no_update",
                               "log_leaves_no_delete", "log_leaves_no_update", "log_node_tiles_no_delete",
                               "log_node_tiles_no_update", "log_tree_nodes_no_delete", "log_tree_nodes_no_update",
                               "tree_checkpoints_no_delete",
                               "tree_checkpoints_no_update"});
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('deliveries') ORDER BY cid") ==
        std::vector<std::string>{"id", "message_seq", "recipient", "state", "attempts",
                                 "last_attempt_at", "acked_at", "dead_at"});
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('log_blocks') ORDER BY cid") ==
        std::vector<std::string>{"first_seq", "count", "first_at", "last_at", "events"});
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('log_case_blocks') ORDER BY cid") ==
        std::vector<std::string>{"case_ref", "first_seq", "positions"});
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('log_leaves') ORDER BY cid") ==
        std::vector<std::string>{"first_seq", "hashes"});
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('log_node_tiles') ORDER BY cid") ==
        std::vector<std::string>{"id", "level", "idx", "hashes"});
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('log_tree_nodes') ORDER BY cid") ==
        std::vector<std::string>{"level", "idx", "hash"});
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('tree_checkpoints') ORDER BY cid") ==
        std::vector<std::string>{"id", "at", "size", "note"});
  CHECK_THAT(raw_value(db.get(), "SELECT value FROM meta WHERE key = 'log_id'"), Catch::Matchers::Matches("[0-9a-f]{16}"));
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('checkpoints') ORDER BY cid") ==
        std::vector<std::string>{"id", "at", "log_seq", "head_hash", "public_key", "signature"});
  CHECK(raw_column(db.get(), "SELECT name FROM pragma_table_info('messages') ORDER BY cid") ==
        std::vector<std::string>{"seq", "message_id", "contract", "version", "case_ref", "sender",
                                 "correlation_id", "causation_id", "supersedes", "occurred_at",
                                 "recorded_at", "accepted_at", "requested_recipients", "recipients",
                                 "payload", "payload_digest", "log_seq", "origin", "sealed", "case_key"});
}

TEST_CASE("stored recipient lists are JSON arrays other software can read", "[store]") {
  const CreatedStore created;
  const auto& path = created.path;
  auto db = raw_open(path);
  CHECK(raw_value(db.get(), "SELECT recipients FROM messages") == R"(["gemeente-utrecht","ind"])");
  CHECK(raw_column(db.get(), "SELECT j.value FROM messages, json_each(messages.recipients) AS j") ==
        std::vector<std::string>{"gemeente-utrecht", "ind"});
  CHECK(raw_value(db.get(), "SELECT requested_recipients FROM messages") == R"(["ind"])");
  CHECK(raw_column(db.get(), "SELECT state FROM deliveries ORDER BY id") ==
        std::vector<std::string>{"0", "0"});
}

TEST_CASE("store refuses a newer schema version", "[store]") {
  const CreatedStore created;
  const auto& path = created.path;
  {
    auto db = raw_open(path);
    raw_exec_ok(db.get(), "UPDATE meta SET value = '6' WHERE key = 'schema_version'");
  }
  auto store = SqliteStore::open(options_for(path));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail,
             Contains("schema version 6 is newer") && Contains("(5)") && Contains(path.string()));
}

TEST_CASE("store refuses an unrecognised schema version", "[store]") {
  const CreatedStore created;
  const auto& path = created.path;
  const std::string sql =
      GENERATE(as<std::string>{}, "UPDATE meta SET value = 'abc' WHERE key = 'schema_version'",
               "UPDATE meta SET value = '0' WHERE key = 'schema_version'",
               "UPDATE meta SET value = '1x' WHERE key = 'schema_version'", "DELETE FROM meta");
  {
    auto db = raw_open(path);
    raw_exec_ok(db.get(), sql);
  }
  INFO(sql);
  auto store = SqliteStore::open(options_for(path));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail, Contains("schema"));
}

TEST_CASE("store refuses a SQLite database that is not a Keten store", "[store]") {
  test_support::TempDir dir;
  const auto path = dir / "other.db";
  {
    auto db = raw_open(path);
    raw_exec_ok(db.get(), "CREATE TABLE messages (x); INSERT INTO messages VALUES (1)");
  }
  auto store = SqliteStore::open(options_for(path));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail, Contains("not a Keten store"));
  auto db = raw_open(path);
  CHECK(raw_value(db.get(), "SELECT count(*) FROM sqlite_master WHERE name = 'meta'") == "0");
}

TEST_CASE("a schema version 2 store is refused read-only and upgraded to 5 read-write", "[store]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  create_schema4_store(path);
  {
    // Make it what version 2 wrote: full delivery indexes, no index of `started` rows.
    auto db = raw_open(path);
    raw_exec_ok(db.get(),
                "DROP INDEX deliveries_open_by_recipient; DROP INDEX deliveries_open_by_state;"
                "DROP INDEX handover_log_started;"
                "CREATE INDEX deliveries_by_recipient ON deliveries (recipient, state, id);"
                "CREATE INDEX deliveries_by_state ON deliveries (state, recipient);"
                "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
  }
  {
    StoreOptions read_only = options_for(path);
    read_only.read_only = true;
    auto store = SqliteStore::open(read_only);
    REQUIRE_FALSE(store.ok());
    CHECK_THAT(store.error().detail, Contains("schema version 2") && Contains("start the broker"));
  }
  {
    auto db = raw_open(path);
    CHECK(raw_value(db.get(), "SELECT value FROM meta WHERE key = 'schema_version'") == "2");
  }
  {
    auto store = ok(SqliteStore::open(options_for(path)));
    CHECK(ok(store.next_pending("ind", 10)).size() == 1);
    CHECK(ok(store.read_log(1, 10)).size() == 1);
  }
  auto db = raw_open(path);
  CHECK(raw_value(db.get(), "SELECT value FROM meta WHERE key = 'schema_version'") == "5");
  CHECK(raw_column(db.get(),
                   "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'deliveries%' "
                   "ORDER BY name") ==
        std::vector<std::string>{"deliveries_dead_by_recipient", "deliveries_open_by_recipient"});
  CHECK(raw_value(db.get(), "SELECT count(*) FROM sqlite_master WHERE name LIKE 'handover_log%'") == "0");
  CHECK(raw_value(db.get(), "SELECT count FROM log_blocks") == "1");
  CHECK(raw_value(db.get(), "PRAGMA integrity_check") == "ok");
}

TEST_CASE("a schema version 3 store gets its delivery state check as equalities, rows untouched", "[store]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  create_schema4_store(path);
  std::string fresh_sql;
  {
    // Make it what version 3 wrote: the same table with `state IN (0, 1, 2, 3)`.
    auto db = raw_open(path);
    fresh_sql = raw_value(db.get(), "SELECT sql FROM sqlite_master WHERE name = 'deliveries'");
    REQUIRE_THAT(fresh_sql, Contains("CHECK (state = 0 OR state = 1 OR state = 2 OR state = 3)"));
    raw_exec_ok(db.get(),
                "PRAGMA writable_schema = ON;"
                "UPDATE sqlite_master SET sql = replace(sql, 'CHECK (state = 0 OR state = 1 OR state = 2 OR state = 3)',"
                " 'CHECK (state IN (0, 1, 2, 3))') WHERE name = 'deliveries';"
                "PRAGMA writable_schema = OFF;"
                "UPDATE meta SET value = '3' WHERE key = 'schema_version'");
  }
  {
    StoreOptions read_only = options_for(path);  // read-only tools are told to start the broker once
    read_only.read_only = true;
    CHECK_FALSE(SqliteStore::open(read_only).ok());
  }
  {
    auto db = raw_open(path);
    CHECK_THAT(raw_value(db.get(), "SELECT sql FROM sqlite_master WHERE name = 'deliveries'"),
               Contains("CHECK (state IN (0, 1, 2, 3))"));
  }
  {
    auto store = ok(SqliteStore::open(options_for(path)));
    CHECK(ok(store.count_deliveries()).pending == 2);
    // The open connection uses the new text at once (the schema cookie moved): a bad state is
    // still refused, a good one written.
    auto* db = store.connection();
    CHECK(sqlite3_exec(db, "UPDATE deliveries SET state = 4 WHERE id = 1", nullptr, nullptr, nullptr) ==
          SQLITE_CONSTRAINT_CHECK);
    CHECK(sqlite3_exec(db, "UPDATE deliveries SET state = 1.5 WHERE id = 1", nullptr, nullptr, nullptr) ==
          SQLITE_CONSTRAINT_CHECK);
    CHECK(sqlite3_exec(db, "UPDATE deliveries SET state = 3 WHERE id = 1", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  auto db = raw_open(path);
  CHECK(raw_value(db.get(), "SELECT value FROM meta WHERE key = 'schema_version'") == "5");
  CHECK(raw_value(db.get(), "SELECT sql FROM sqlite_master WHERE name = 'deliveries'") == fresh_sql);
  CHECK(raw_column(db.get(), "SELECT state FROM deliveries ORDER BY id") == std::vector<std::string>{"3", "0"});
  CHECK(raw_value(db.get(), "PRAGMA integrity_check") == "ok");
  // Writing a delivery no longer builds a temporary B-tree for the check.
  const auto opcodes = raw_column(db.get(), "EXPLAIN UPDATE deliveries SET state = 2 WHERE id = 2", 1);
  CHECK(std::count(opcodes.begin(), opcodes.end(), "OpenWrite") > 0);
  CHECK(std::count(opcodes.begin(), opcodes.end(), "OpenEphemeral") == 0);
}

TEST_CASE("store recreates a dropped index on open", "[store]") {
  const CreatedStore created;
  const auto& path = created.path;
  {
    auto db = raw_open(path);
    raw_exec_ok(db.get(), "DROP INDEX deliveries_open_by_recipient");
  }
  ok(SqliteStore::open(options_for(path)));
  auto db = raw_open(path);
  CHECK(raw_value(db.get(),
                  "SELECT count(*) FROM sqlite_master WHERE name = 'deliveries_open_by_recipient'") ==
        "1");
}

TEST_CASE("a store file with garbage over its header gives a storage error", "[store][hostile]") {
  const CreatedStore created;
  const auto& path = created.path;
  REQUIRE_FALSE(std::filesystem::exists(created.dir / "store.db-wal"));  // checkpointed on close
  overwrite(path, 0, garbage(512));

  auto store = SqliteStore::open(options_for(path));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail, Contains(path.string()) && Contains("not a database"));
}

TEST_CASE("a file of random bytes gives a storage error", "[store][hostile]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  { std::ofstream(path, std::ios::binary) << garbage(64 * 1024); }
  auto store = SqliteStore::open(options_for(path));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK(std::filesystem::file_size(path) == 64 * 1024);  // left as found
}

TEST_CASE("a store file with garbage over every page but the first is refused",
          "[store][hostile]") {
  const CreatedStore created;
  const auto& path = created.path;
  const auto size = std::filesystem::file_size(path);
  REQUIRE(size > 4096);
  overwrite(path, 4096, garbage(size - 4096));  // page 1 (sqlite_master) survives, meta does not

  auto store = SqliteStore::open(options_for(path));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail, Contains(path.string()));
}

TEST_CASE("a store whose table pages were zeroed is refused with a storage error",
          "[store][hostile]") {
  const CreatedStore created;
  const auto& path = created.path;
  std::size_t page_size = 0;
  std::vector<std::string> roots;
  {
    auto db = raw_open(path);
    page_size = std::stoul(raw_value(db.get(), "PRAGMA page_size"));
    roots = raw_column(db.get(),
                       "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name IN "
                       "('messages', 'deliveries', 'log_blocks')");
  }
  REQUIRE(roots.size() == 3);
  // A zeroed page, as a lost write leaves it: page type 0 is invalid, so SQLite must notice.
  for (const auto& root : roots) {
    overwrite(path, (std::stoul(root) - 1) * page_size, std::string(page_size, '\0'));
  }

  // Opening reads the handover log's tail (the tree continues from it), so the zeroed log_blocks
  // page is noticed at once rather than at the first append.
  auto store = SqliteStore::open(options_for(path));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail, Contains("malformed"));
}

TEST_CASE("handover log refuses updates and deletes", "[store]") {
  const CreatedStore created;
  const auto& path = created.path;
  auto db = raw_open(path);
  for (const char* table : {"log_blocks", "log_case_blocks", "log_leaves"}) {
    INFO(table);
    CHECK(raw_exec(db.get(), std::string("UPDATE ") + table + " SET first_seq = 9") != SQLITE_OK);
    CHECK_THAT(std::string(sqlite3_errmsg(db.get())), Contains("append-only"));
    CHECK(raw_exec(db.get(), std::string("DELETE FROM ") + table) != SQLITE_OK);
  }
  CHECK(raw_value(db.get(), "SELECT first_seq || ' ' || count FROM log_blocks") == "1 1");
}

// Seqs are the tree's leaf indexes + 1, so a store that lost its last block would hand its seq
// out again; the broker does not start on it (the mark, and a signed checkpoint, name the loss).
TEST_CASE("handover log: a deleted last block is refused at the broker's start, not reused", "[store]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  std::uint64_t last = 0;
  auto owner = options_for(path);
  owner.owner = true;
  {
    auto store = ok(SqliteStore::open(owner));
    ok(store.begin());
    ok(store.append_log(sample_event("m-1")));
    ok(store.commit());
    ok(store.begin());
    last = ok(store.append_log(sample_event("m-2")));
    ok(store.commit());
  }
  {
    auto db = raw_open(path);  // what a tamperer would do
    raw_exec_ok(db.get(), "DROP TRIGGER log_blocks_no_delete");
    raw_exec_ok(db.get(), "DELETE FROM log_blocks WHERE first_seq = " + std::to_string(last));
  }
  auto store = SqliteStore::open(owner);
  REQUIRE_FALSE(store.ok());
  CHECK_THAT(store.error().detail, Contains("had committed up to seq " + std::to_string(last)));
}

TEST_CASE("a second writer gets a storage error while the first holds the lock", "[store]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  StoreOptions options = options_for(path);
  options.busy_timeout = std::chrono::milliseconds(0);  // fail at once instead of waiting
  auto first = ok(SqliteStore::open(options));
  auto second = ok(SqliteStore::open(options));

  ok(first.begin());
  auto blocked = second.begin();
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().code == ErrorCode::kStorage);
  CHECK_THAT(blocked.error().detail, Contains("locked"));
  ok(first.append_log(sample_event("m-1")));
  ok(first.commit());

  ok(second.begin());
  CHECK(ok(second.read_log(0, 10)).size() == 1);  // sees the first writer's commit
  ok(second.commit());
}

TEST_CASE("a store opened with sync_full off keeps committed writes across reopen", "[store]") {
  test_support::TempDir dir;
  StoreOptions options = options_for(dir / "store.db");
  options.sync_full = false;
  {
    auto store = ok(SqliteStore::open(options));
    ok(store.begin());
    ok(store.append_log(sample_event("m-1")));
    ok(store.commit());
  }
  auto store = ok(SqliteStore::open(options));
  CHECK(ok(store.read_log(0, 10)).size() == 1);
}
