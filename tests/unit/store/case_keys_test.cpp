// Case keys (broker/store/case_keys.h, retention.h) on real SQLite files: every payload sealed under
// its case's key when the store has a payload key, rows sealed directly under the payload key
// before case keys still opening, a shredded case reading as such, no trace of a shredded key left
// in the file or its WAL, legal holds, rollback, and payload-key rotation re-wrapping the case keys
// without rewriting a payload.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "broker/store/retention.h"
#include "broker/store/seal.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "contracts/digest.h"
#include "tests/support/file_bytes.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::store::NewMessage;
using broker::store::SqliteStore;
using broker::store::StoreOptions;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using test_support::file_bytes;
using test_support::ok;

std::string key_bytes(char fill) { return std::string(broker::store::kPayloadKeyBytes, fill); }

SqliteStore open_store(const std::filesystem::path& path, std::string key, bool read_only = false) {
  StoreOptions o;
  o.path = path;
  o.payload_key = std::move(key);
  o.read_only = read_only;
  return ok(SqliteStore::open(o));
}

NewMessage message(const std::string& id, const std::string& case_ref, contracts::Millis at = 1'000) {
  NewMessage m;
  m.header.message_id = id;
  m.header.contract = "test.notice";
  m.header.version = 1;
  m.header.case_ref = case_ref;
  m.sender = "ALPHA";
  m.payload = R"({"text":"CASE-PAYLOAD-)" + id + R"("})";
  m.payload_digest = contracts::sha256_hex(m.payload);
  m.recipients = {"BRAVO"};
  m.accepted_at = at;
  return m;
}

void put(SqliteStore& store, const NewMessage& m) {
  ok(store.begin());
  ok(store.insert_message(m));
  ok(store.commit());
}

// One column of every row of `sql`, as bytes.
std::vector<std::string> column(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) == SQLITE_OK);
  broker::store::StmtHandle stmt(raw);
  std::vector<std::string> out;
  while (sqlite3_step(raw) == SQLITE_ROW) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(raw, 0));
    out.emplace_back(p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(raw, 0))) : std::string());
  }
  return out;
}

}  // namespace

TEST_CASE("with a payload key every payload is sealed under its case's key, one key per case", "[store][case_keys]") {
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  auto store = open_store(path, key_bytes('k'));
  put(store, message("m1", "V1"));
  put(store, message("m2", "V1"));
  put(store, message("m3", "V2"));
  put(store, message("m4", ""));  // no case: a key of its own, keyed by message id
  put(store, message("m5", ""));
  CHECK(column(store.connection(), "SELECT count(*) FROM messages WHERE sealed = 1 AND case_key > 0")[0] == "5");
  CHECK(column(store.connection(), "SELECT case_ref || '/' || message_id FROM case_keys ORDER BY id") ==
        std::vector<std::string>{"V1/", "V2/", "/m4", "/m5"});
  CHECK(file_bytes(path).find("CASE-PAYLOAD") == std::string::npos);
  for (const char* id : {"m1", "m2", "m3", "m4", "m5"}) {
    auto m = ok(store.find_message_content(id));
    REQUIRE(m);
    CHECK(m->unreadable.empty());
    CHECK_THAT(m->payload, Contains(std::string("CASE-PAYLOAD-") + id));
  }
  // A second store object (a tool) unwraps the keys from the file.
  auto reader = open_store(path, key_bytes('k'), true);
  CHECK_THAT(ok(reader.find_message_content("m2"))->payload, Contains("CASE-PAYLOAD-m2"));
  // Without the payload key the payload does not open, and says why.
  auto keyless = open_store(path, "", true);
  CHECK_THAT(ok(keyless.find_message_content("m2"))->unreadable, Contains("no payload key"));
}

TEST_CASE("without a payload key nothing changes: payloads are stored as they come", "[store][case_keys]") {
  test_support::TempDir dir;
  auto store = open_store(dir / "keten.db", "");
  put(store, message("m1", "V1"));
  CHECK(column(store.connection(), "SELECT payload FROM messages")[0] == message("m1", "V1").payload);
  CHECK(column(store.connection(), "SELECT count(*) FROM case_keys")[0] == "0");
}

TEST_CASE("rows sealed directly under the payload key before case keys still open", "[store][case_keys]") {
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  const auto m = message("old", "V1");
  {
    auto store = open_store(path, key_bytes('k'));
    put(store, m);
    // As a broker before case keys wrote it: sealed = 1, case_key = 0, sealed under the payload key.
    const auto box = ok(broker::store::seal_payload(key_bytes('k'), m.payload,
                                                    broker::store::payload_associated_data("old", m.payload_digest)));
    sqlite3_stmt* raw = nullptr;
    REQUIRE(sqlite3_prepare_v2(store.connection(), "UPDATE messages SET payload = ?, case_key = 0", -1, &raw,
                               nullptr) == SQLITE_OK);
    broker::store::StmtHandle stmt(raw);
    sqlite3_bind_blob(raw, 1, box.data(), static_cast<int>(box.size()), SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(raw) == SQLITE_DONE);
  }
  auto store = open_store(path, key_bytes('k'));
  auto read = ok(store.find_message_content("old"));
  REQUIRE(read);
  CHECK(read->unreadable.empty());
  CHECK(read->payload == m.payload);
  // A later message of the same case is sealed under the case key; both read.
  put(store, message("new", "V1"));
  CHECK(ok(store.find_message_content("new"))->unreadable.empty());
  CHECK(ok(store.find_message_content("old"))->payload == m.payload);
}

TEST_CASE("a shredded case reads as shredded and the raw file holds no trace of its key", "[store][case_keys]") {
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  auto store = open_store(path, key_bytes('k'));
  put(store, message("m1", "V1"));
  put(store, message("m2", "V1"));
  put(store, message("m3", "V2"));
  const std::string wrapped = column(store.connection(), "SELECT wrapped_key FROM case_keys WHERE case_ref = 'V1'")[0];
  const std::string raw_key =
      ok(broker::store::open_payload(key_bytes('k'), wrapped, broker::store::case_key_associated_data("V1", "")));
  REQUIRE(raw_key.size() == 32);
  const auto keys = ok(broker::store::live_case_keys(store, 10'000));
  REQUIRE(keys.size() == 2);
  REQUIRE(keys[0].case_ref == "V1");
  ok(store.begin());
  ok(store.shred_case_key(keys[0].id, 5'000, "retention PT1S of contract test.notice v1, basis test"));
  ok(store.commit());
  ok(store.truncate_wal());

  for (const char* id : {"m1", "m2"}) {
    auto m = ok(store.find_message_content(id));
    REQUIRE(m);
    CHECK(m->payload.empty());
    CHECK(broker::store::is_shredded(m->unreadable));
    CHECK(m->unreadable ==
          "payload shredded on 1970-01-01T00:00:05.000Z (retention PT1S of contract test.notice v1, "
          "basis test)");
  }
  CHECK(ok(store.find_message_content("m3"))->unreadable.empty());  // another case: untouched
  CHECK(ok(broker::store::count_shredded(store)) == 1);
  // Shredding again is refused: no live key with that id.
  ok(store.begin());
  CHECK_FALSE(store.shred_case_key(keys[0].id, 6'000, "again"));
  store.rollback();

  std::string bytes = file_bytes(path);
  bytes += file_bytes(path.string() + "-wal");
  CHECK(bytes.find(raw_key) == std::string::npos);
  CHECK(bytes.find(wrapped) == std::string::npos);
  CHECK(bytes.find(wrapped.substr(24)) == std::string::npos);  // not even the ciphertext without its nonce

  // A new message of the shredded case gets a new key; the shredded ones stay shredded.
  put(store, message("m4", "V1"));
  CHECK(ok(store.find_message_content("m4"))->unreadable.empty());
  CHECK(broker::store::is_shredded(ok(store.find_message_content("m1"))->unreadable));
  // Reopened (nothing cached), the same.
  auto again = open_store(path, key_bytes('k'), true);
  CHECK(broker::store::is_shredded(ok(again.find_message_content("m2"))->unreadable));
  CHECK(ok(again.find_message_content("m4"))->unreadable.empty());
}

TEST_CASE("a case key made in a rolled-back transaction is never used afterwards", "[store][case_keys]") {
  test_support::TempDir dir;
  auto store = open_store(dir / "keten.db", key_bytes('k'));
  ok(store.begin());
  ok(store.insert_message(message("m1", "V1")));
  store.rollback();
  // The key row went with the rollback; the id may be reused by another case's key.
  put(store, message("m2", "V2"));
  put(store, message("m3", "V1"));
  CHECK(ok(store.find_message_content("m2"))->unreadable.empty());
  CHECK(ok(store.find_message_content("m3"))->unreadable.empty());
  CHECK(column(store.connection(), "SELECT case_ref FROM case_keys ORDER BY id") ==
        std::vector<std::string>{"V2", "V1"});
}

TEST_CASE("legal holds: one per case, released once", "[store][case_keys]") {
  test_support::TempDir dir;
  auto store = open_store(dir / "keten.db", key_bytes('k'));
  CHECK(ok(broker::store::hold_case(store, {"V1", 10, "investigation", "someone"})));
  CHECK_FALSE(ok(broker::store::hold_case(store, {"V1", 11, "again", "someone"})));
  const auto holds = ok(broker::store::case_holds(store));
  REQUIRE(holds.size() == 1);
  CHECK(holds[0].reason == "investigation");
  CHECK(holds[0].since == 10);
  CHECK(ok(broker::store::release_case(store, "V1")));
  CHECK_FALSE(ok(broker::store::release_case(store, "V1")));
  CHECK(ok(broker::store::case_holds(store)).empty());
}

TEST_CASE("payload-key rotation re-wraps the case keys without rewriting a payload", "[store][case_keys]") {
  test_support::TempDir dir;
  const auto path = dir / "keten.db";
  const std::string old_key = key_bytes('o'), new_key = key_bytes('n');
  std::vector<std::string> payloads_before, wrapped_before;
  {
    auto store = open_store(path, old_key);
    for (int i = 0; i < 7; ++i) put(store, message("m" + std::to_string(i), i % 2 ? "V" + std::to_string(i) : ""));
    payloads_before = column(store.connection(), "SELECT payload FROM messages ORDER BY seq");
    wrapped_before = column(store.connection(), "SELECT wrapped_key FROM case_keys ORDER BY id");
    SECTION("in one go") {
      const auto r = ok(broker::store::rotate_payload_key(store, old_key, new_key, 3));
      CHECK(r.rewrapped == 7);
      CHECK(r.already == 0);
    }
    SECTION("resumed after a crash") {
      // As a first run cut short leaves it: the first key already under the new key (its key_id
      // says so), the rest under the old one.
      const auto rows = column(store.connection(), "SELECT case_ref || '|' || message_id FROM case_keys ORDER BY id");
      const std::string first = rows[0];
      const std::string case_ref = first.substr(0, first.find('|')), message_id = first.substr(first.find('|') + 1);
      const std::string ad = broker::store::case_key_associated_data(case_ref, message_id);
      const std::string raw_key = ok(broker::store::open_payload(old_key, wrapped_before[0], ad));
      const std::string rewrapped = ok(broker::store::seal_payload(new_key, raw_key, ad));
      const std::string id = broker::store::payload_key_id(new_key);
      sqlite3_stmt* raw = nullptr;
      REQUIRE(sqlite3_prepare_v2(store.connection(), "UPDATE case_keys SET wrapped_key = ?, key_id = ? WHERE id = 1",
                                 -1, &raw, nullptr) == SQLITE_OK);
      broker::store::StmtHandle stmt(raw);
      sqlite3_bind_blob(raw, 1, rewrapped.data(), static_cast<int>(rewrapped.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(raw, 2, id.c_str(), -1, SQLITE_TRANSIENT);
      REQUIRE(sqlite3_step(raw) == SQLITE_DONE);
      const auto r = ok(broker::store::rotate_payload_key(store, old_key, new_key, 3));
      CHECK(r.rewrapped == 6);
      CHECK(r.already == 1);
    }
    CHECK(column(store.connection(), "SELECT payload FROM messages ORDER BY seq") == payloads_before);
    const auto wrapped_after = column(store.connection(), "SELECT wrapped_key FROM case_keys ORDER BY id");
    REQUIRE(wrapped_after.size() == wrapped_before.size());
    for (std::size_t i = 0; i < wrapped_after.size(); ++i) CHECK(wrapped_after[i] != wrapped_before[i]);
    CHECK(column(store.connection(), "SELECT DISTINCT key_id FROM case_keys")[0] ==
          broker::store::payload_key_id(new_key));
  }
  // The old key no longer opens the store; the new one opens every payload.
  StoreOptions o;
  o.path = path;
  o.payload_key = old_key;
  CHECK_FALSE(SqliteStore::open(o));
  auto store = open_store(path, new_key);
  for (int i = 0; i < 7; ++i) {
    auto m = ok(store.find_message_content("m" + std::to_string(i)));
    REQUIRE(m);
    CHECK(m->unreadable.empty());
    CHECK_THAT(m->payload, Contains("CASE-PAYLOAD-m" + std::to_string(i)));
  }
}
