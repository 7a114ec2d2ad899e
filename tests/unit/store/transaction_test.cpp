// Transaction (broker/store/transaction.h): what leaves scope uncommitted leaves nothing in the
// store; a commit keeps it; a second commit is an error, not a second transaction.
#include "broker/store/transaction.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>

#include "broker/store/sqlite_store.h"
#include "contracts/digest.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::store::NewMessage;
using broker::store::SqliteStore;
using broker::store::Transaction;
using test_support::ok;

SqliteStore open_store(const test_support::TempDir& dir) {
  broker::store::StoreOptions o;
  o.path = dir / "keten.db";
  o.sync_full = false;
  return ok(SqliteStore::open(o));
}

NewMessage message(const std::string& id) {
  NewMessage m;
  m.header.message_id = id;
  m.header.contract = "test.notice";
  m.header.version = 1;
  m.sender = "ALPHA";
  m.payload = R"({"text":"hello"})";
  m.payload_digest = contracts::sha256_hex(m.payload);
  m.recipients = {"BRAVO"};
  m.accepted_at = 1'000;
  return m;
}

}  // namespace

TEST_CASE("a transaction leaving scope without commit leaves nothing in the store", "[store][transaction]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  {
    auto t = ok(Transaction::begin(store));
    ok(store.insert_message(message("m1")));
    REQUIRE(ok(store.find_message("m1")));  // there inside the transaction
  }
  CHECK_FALSE(ok(store.find_message("m1")));
  // The store is out of the transaction: a new one begins.
  auto t = ok(Transaction::begin(store));
  ok(store.insert_message(message("m2")));
  ok(t.commit());
  CHECK(ok(store.find_message("m2")));
}

TEST_CASE("a moved transaction rolls back once, from where it ended up", "[store][transaction]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  {
    auto first = ok(Transaction::begin(store));
    ok(store.insert_message(message("m1")));
    Transaction second = std::move(first);
  }
  CHECK_FALSE(ok(store.find_message("m1")));
  CHECK(Transaction::begin(store));
}

TEST_CASE("a committed transaction cannot be committed again", "[store][transaction]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  auto t = ok(Transaction::begin(store));
  ok(store.insert_message(message("m1")));
  ok(t.commit());
  auto again = t.commit();
  REQUIRE_FALSE(again);
  CHECK(again.error().code == contracts::ErrorCode::kStorage);
  CHECK(ok(store.find_message("m1")));
}

TEST_CASE("begin fails while another transaction of the store is open", "[store][transaction]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  auto t = ok(Transaction::begin(store));
  CHECK_FALSE(Transaction::begin(store));
}

TEST_CASE("a read snapshot sees one state of the file until it ends: a commit made meanwhile shows after",
          "[store][transaction][snapshot]") {
  test_support::TempDir dir;
  auto writer = open_store(dir);
  {
    auto t = ok(Transaction::begin(writer));
    ok(writer.insert_message(message("m0")));
    ok(t.commit());
  }
  broker::store::StoreOptions o;
  o.path = dir / "keten.db";
  o.read_only = true;
  auto reader = ok(SqliteStore::open(o));
  {
    auto snapshot = ok(reader.read_snapshot());
    REQUIRE(ok(reader.find_message("m0")));  // the snapshot's first read fixes what it sees
    auto t = ok(Transaction::begin(writer));
    ok(writer.insert_message(message("m1")));
    ok(t.commit());
    CHECK_FALSE(ok(reader.find_message("m1")));
    auto moved = std::move(snapshot);  // ends once, where it ended up
    CHECK_FALSE(ok(reader.find_message("m1")));
  }
  CHECK(ok(reader.find_message("m1")));
}

TEST_CASE("a read snapshot inside a transaction leaves the transaction as it is", "[store][transaction][snapshot]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  auto t = ok(Transaction::begin(store));
  ok(store.insert_message(message("m1")));
  { auto snapshot = ok(store.read_snapshot()); }
  CHECK(ok(store.find_message("m1")));
  ok(t.commit());  // still open after the snapshot ended: a commit keeps the write
  CHECK(ok(store.find_message("m1")));
}
