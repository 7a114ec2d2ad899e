// The schema-4 hash chain as the store still serves it (recomputed from the typed events, for the
// verifier of broker_audit until it reads the Merkle tree), and tampering with the SQLite file's
// blocks by someone who bypasses the store: caught against the signed checkpoints.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "broker/audit/hash_chain.h"
#include "broker/audit/signing.h"
#include "broker/events/codec.h"
#include "broker/store/event_block.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/audit/removal_case.h"

namespace {

using broker::store::SqliteStore;
using broker::store::StoreOptions;
using Catch::Matchers::Contains;

using test_support::ok;

StoreOptions options_for(const std::filesystem::path& path, bool read_only = false) {
  StoreOptions options;
  options.path = path;
  options.sync_full = false;
  options.read_only = read_only;
  return options;
}

// The removal case written through the store, with checkpoints signed after seq 10 and seq 17.
// One row in a transaction of its own; its seq.
std::uint64_t append_committed(SqliteStore& store, const broker::store::LogEvent& row) {
  ok(store.begin());
  const auto seq = ok(store.append_log(row));
  ok(store.commit());
  return seq;
}

void write_case(const std::filesystem::path& path, const broker::audit::SigningKey& key) {
  auto store = ok(SqliteStore::open(options_for(path)));
  auto rows = test_support::removal_case_rows();
  ok(store.begin());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(ok(store.append_log(rows[i])) == i + 1);
    if (i + 1 == 10 || i + 1 == 17) {
      const auto head = ok(store.legacy_log_head());
      ok(store.append_checkpoint(broker::audit::sign_checkpoint(key, head.seq, head.hash, rows[i].at)));
    }
  }
  ok(store.commit());
}

// Plain SQL on the file, as a tamperer with write access would run it (triggers dropped first).
void tamper(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  const std::string all = "DROP TRIGGER IF EXISTS log_blocks_no_update; DROP TRIGGER IF EXISTS log_blocks_no_delete;"
                          "DROP TRIGGER IF EXISTS checkpoints_no_update; DROP TRIGGER IF EXISTS checkpoints_no_delete;" + sql;
  INFO(sql);
  REQUIRE(sqlite3_exec(db.get(), all.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

broker::audit::VerifyReport verify_store(const std::filesystem::path& path) {
  auto store = ok(SqliteStore::open(options_for(path, true)));
  return broker::audit::verify_log(ok(store.read_log_data()));
}

}  // namespace

TEST_CASE("the store chains every appended row and the scripted case verifies", "[store][audit]") {
  test_support::TempDir dir;
  auto key = broker::audit::generate_signing_key();
  write_case(dir / "store.db", key);
  auto store = ok(SqliteStore::open(options_for(dir / "store.db", true)));
  const auto data = ok(store.read_log_data());
  REQUIRE(data.rows.size() == 17);
  CHECK(data.rows[0].prev_hash == broker::audit::kGenesisHash);
  for (std::size_t i = 1; i < data.rows.size(); ++i) CHECK(data.rows[i].prev_hash == data.rows[i - 1].hash);
  CHECK(data.rows == test_support::seal_all(test_support::removal_case_rows()));
  CHECK(data.checkpoints.size() == 2);
  CHECK(data.public_key == key.public_hex);
  CHECK(data.high_water == 17);
  const auto report = broker::audit::verify_log(data, {key.public_hex});
  CHECK(report.ok);
  CHECK(report.signed_up_to == 17);
}

// The blocks rewritten as a careful forger would: every event re-encoded, so each block decodes.
void rewrite_events(const std::filesystem::path& path, const std::function<void(std::vector<broker::events::Event>&)>& edit) {
  std::vector<broker::events::Event> all;
  {
    auto store = ok(SqliteStore::open(options_for(path, true)));
    for (auto& e : ok(store.read_events(1, 1000))) all.push_back(std::move(e.event));
  }
  edit(all);
  std::string blob;
  for (const auto& e : all) broker::store::append_to_block(blob, broker::events::encode_event(e));
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  REQUIRE(sqlite3_exec(db.get(), "DROP TRIGGER log_blocks_no_delete; DELETE FROM log_blocks", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db.get(), "INSERT INTO log_blocks VALUES (1, ?, 0, 0, ?)", -1, &st, nullptr) == SQLITE_OK);
  broker::store::StmtHandle stmt(st);
  sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(all.size()));
  sqlite3_bind_blob(st, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  REQUIRE(sqlite3_step(st) == SQLITE_DONE);
}

// Schema 5 keeps no hash per row, so the schema-4 verifier (which rechains the rows it is given)
// can no longer name an edited row: it finds the first signed checkpoint the edit breaks. Naming
// the event itself is the Merkle tree's work (inclusion proofs against a signed tree checkpoint;
// tree_log_test.cpp). Here: every kind of tampering is caught, at the first checkpoint after it
// (a cut tail at its first missing seq).
TEST_CASE("tampering with the store's blocks is caught at the first signed checkpoint after it", "[store][audit]") {
  test_support::TempDir dir;
  const auto path = dir / "store.db";
  auto key = broker::audit::generate_signing_key();
  write_case(path, key);
  REQUIRE(verify_store(path).ok);
  std::uint64_t expected_bad = 0;
  SECTION("edit") {
    rewrite_events(path, [](auto& all) { all[6].recipient = "DVO"; });
    expected_bad = 10;
  }
  SECTION("delete") {
    rewrite_events(path, [](auto& all) { all.erase(all.begin() + 9); });
    expected_bad = 10;
  }
  SECTION("insert") {
    rewrite_events(path, [](auto& all) { all.insert(all.begin() + 7, all[6]); });
    expected_bad = 10;
  }
  SECTION("reorder") {
    rewrite_events(path, [](auto& all) { std::swap(all[4], all[5]); });
    expected_bad = 10;
  }
  SECTION("edit after the first checkpoint") {
    rewrite_events(path, [](auto& all) { all[11].at += 1; });
    expected_bad = 17;
  }
  SECTION("truncated tail") {
    rewrite_events(path, [](auto& all) { all.resize(14); });
    expected_bad = 15;  // the checkpoint at 17 names the missing tail
  }
  SECTION("forged checkpoint signature") {
    tamper(path, "UPDATE checkpoints SET signature = replace(signature, substr(signature, 1, 1),"
                 " CASE substr(signature, 1, 1) WHEN '0' THEN '1' ELSE '0' END) WHERE log_seq = 10");
    expected_bad = 10;
  }
  const auto report = verify_store(path);
  INFO(report.problem);
  CHECK_FALSE(report.ok);
  CHECK(report.first_bad_seq == expected_bad);
}

TEST_CASE("the store reloads the head after a rollback, so the chain has no hole", "[store][audit]") {
  test_support::TempDir dir;
  auto store = ok(SqliteStore::open(options_for(dir / "store.db")));
  auto rows = test_support::removal_case_rows();
  append_committed(store, rows[0]);
  ok(store.begin());
  CHECK(ok(store.append_log(rows[1])) == 2);
  store.rollback();
  CHECK(store.log_head().seq == 1);
  ok(store.begin());
  CHECK(ok(store.append_log(rows[2])) == 2);
  ok(store.commit());
  CHECK(broker::audit::verify_log(ok(store.read_log_data())).ok);
}

TEST_CASE("a second process appending between transactions keeps the chain whole", "[store][audit]") {
  test_support::TempDir dir;
  auto broker_store = ok(SqliteStore::open(options_for(dir / "store.db")));
  auto tool_store = ok(SqliteStore::open(options_for(dir / "store.db")));
  auto rows = test_support::removal_case_rows();
  append_committed(broker_store, rows[0]);
  ok(tool_store.begin());
  CHECK(ok(tool_store.append_log(rows[1])) == 2);  // e.g. a log_read row from `keten log`
  ok(tool_store.commit());
  ok(broker_store.begin());
  CHECK(ok(broker_store.append_log(rows[2])) == 3);
  ok(broker_store.commit());
  const auto report = broker::audit::verify_log(ok(broker_store.read_log_data()));
  CHECK(report.ok);
  CHECK(report.last_seq == 3);
}

TEST_CASE("a store opened read-only refuses writes and needs an existing file", "[store][audit]") {
  test_support::TempDir dir;
  write_case(dir / "store.db", broker::audit::generate_signing_key());
  auto store = ok(SqliteStore::open(options_for(dir / "store.db", true)));
  CHECK(store.log_head().seq == 17);
  auto appended = store.append_log(test_support::removal_case_rows()[0]);
  REQUIRE_FALSE(appended.ok());
  CHECK_THAT(appended.error().detail, Contains("readonly"));
  CHECK_FALSE(SqliteStore::open(options_for(dir / "missing.db", true)).ok());
}

TEST_CASE("committed events are handed over once, in order, and rolled-back events never", "[store][audit]") {
  test_support::TempDir dir;
  auto store = ok(SqliteStore::open(options_for(dir / "store.db")));
  auto rows = test_support::removal_case_rows();
  append_committed(store, rows[0]);
  CHECK(store.take_committed_events().empty());  // not asked for yet: nothing kept

  store.keep_committed_log(true);
  ok(store.begin());
  ok(store.append_log(rows[1]));
  ok(store.append_log(rows[2]));
  CHECK(store.take_committed_events().empty());  // not committed yet
  ok(store.commit());
  ok(store.begin());
  ok(store.append_log(rows[3]));
  store.rollback();
  append_committed(store, rows[4]);

  auto handed = store.take_committed_events();
  REQUIRE(handed.size() == 3);
  CHECK(handed[0].seq == 2);
  CHECK(handed[1].seq == 3);
  CHECK(handed[2].seq == 4);
  CHECK(broker::events::to_string(handed[2].event.kind()) == rows[4].event);
  // The same events as in the file.
  CHECK(handed == ok(store.read_events(2, 10)));
  CHECK(store.take_committed_events().empty());   // each row once
}

TEST_CASE("read_case_log returns one case's rows, in seq order, as they are in the file", "[store][audit]") {
  test_support::TempDir dir;
  auto store = ok(SqliteStore::open(options_for(dir / "store.db")));
  auto rows = test_support::removal_case_rows();
  ok(store.begin());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto row = rows[i];
    row.case_ref = i % 3 == 1 ? "V-OTHER" : "V-ONE";
    ok(store.append_log(std::move(row)));
  }
  ok(store.commit());
  auto all = ok(store.read_log(1, 1000));
  auto one = ok(store.read_case_log("V-ONE"));
  std::vector<broker::store::LogEvent> expected;
  for (const auto& row : all) {
    if (row.case_ref == "V-ONE") expected.push_back(row);
  }
  REQUIRE(!expected.empty());
  CHECK(one == expected);
  CHECK(broker::audit::verify_rows(one).ok);
  CHECK(ok(store.read_case_log("V-NOBODY")).empty());
}
