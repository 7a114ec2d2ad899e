// PgStore against a real PostgreSQL 15: what only a shared database has. A deposed leader's commit
// is fenced, a new leader continues the same log, an instance sees what another appended, a server
// restart is survived, instances starting together create the tables once, a checkpoint that
// does not match the stored log is refused, and a new leader checks the log's tail before it serves. The Store contract itself: store_conformance_test.cpp.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "broker/events/codec.h"
#include "broker/ha/fence.h"
#include "broker/ha/leader_lease.h"
#include "broker/ha/pg_connection.h"
#include "broker/store/contract_history.h"
#include "broker/store/pg_store.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/memory_tree.h"
#include "broker/tlog/proof.h"
#include "tests/integration/store/store_backends.h"
#include "tests/support/ok.h"

namespace events = broker::events;
namespace tlog = broker::tlog;
using broker::ha::Epoch;
using broker::ha::LeaderLease;
using broker::ha::LeaseOptions;
using broker::ha::PgConnection;
using broker::store::PgStore;
using broker::store::PgStoreOptions;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using test_support::ok;

namespace {

PgStore open_store(const std::string& conninfo, std::optional<Epoch> epoch = std::nullopt,
                   const std::string& seed = store_test::kSigningSeed) {
  PgStoreOptions o;
  o.conninfo = conninfo;
  o.signing_seed = seed;
  o.epoch = epoch;
  return ok(PgStore::open(o));
}

LeaderLease open_lease(const std::string& conninfo, const std::string& holder) {
  return ok(LeaderLease::open(LeaseOptions{conninfo, holder, std::chrono::milliseconds(1'000)}));
}

std::int64_t count_rows(const std::string& conninfo, const std::string& table) {
  auto conn = ok(PgConnection::open(conninfo));
  const auto rows = ok(conn.query("count", "SELECT count(*) FROM " + table));
  return std::stoll(rows.at(0).at(0));
}

// `count` events in one transaction, mirrored in `mirror`.
void append(PgStore& store, tlog::MemoryTree& mirror, std::int64_t& n, int count) {
  ok(store.begin());
  for (int i = 0; i < count; ++i) {
    auto e = store_test::delivered(++n);
    mirror.append(events::encode_event(e));
    CHECK(ok(store.append_event(std::move(e))) == static_cast<std::uint64_t>(n));
  }
  ok(store.commit());
}

// A fresh database whose log holds `count` events, appended in one transaction and signed.
std::string database_with_signed_events(int count) {
  const std::string db = store_test::fresh_database();
  tlog::MemoryTree mirror;
  std::int64_t n = 0;
  auto store = open_store(db);
  append(store, mirror, n, count);
  return db;
}

}  // namespace

TEST_CASE("a leader whose lease was taken over cannot commit: no message, delivery, block or checkpoint of it exists",
          "[pg_store]") {
  const std::string db = store_test::fresh_database();
  auto old_lease = open_lease(db, "old");
  const Epoch mine = *ok(old_lease.try_acquire());
  auto store = open_store(db, mine);
  ok(store.append_event(store_test::delivered(1)));  // committed while still leader
  REQUIRE(count_rows(db, "keten_tree_checkpoints") == 1);

  ok(store.begin());
  const auto seq = ok(store.insert_message(store_test::message("msg-1")));
  ok(store.insert_delivery(seq, "ind"));
  ok(store.append_event(store_test::delivered(2)));
  // Meanwhile the lease is given up (as if it expired) and a standby takes over.
  ok(old_lease.release());
  auto new_lease = open_lease(db, "new");
  const auto taken = ok(new_lease.try_acquire());
  REQUIRE(taken);
  REQUIRE(taken->value > mine.value);

  auto commit = store.commit();
  REQUIRE_FALSE(commit);
  CHECK(commit.error().code == contracts::ErrorCode::kStorage);
  CHECK_THAT(commit.error().detail, StartsWith("fenced:"));
  CHECK_THAT(commit.error().detail, Contains("held by new"));
  store.rollback();
  CHECK(store.tree_size() == 1);

  CHECK(count_rows(db, "keten_messages") == 0);
  CHECK(count_rows(db, "keten_deliveries") == 0);
  CHECK(count_rows(db, "keten_log_blocks") == 1);
  CHECK(count_rows(db, "keten_log_case_blocks") == 1);
  CHECK(count_rows(db, "keten_tree_checkpoints") == 1);
  // An event appended on its own is fenced the same way.
  auto alone = store.append_event(store_test::delivered(3));
  REQUIRE_FALSE(alone);
  CHECK_THAT(alone.error().detail, StartsWith("fenced:"));
  CHECK(count_rows(db, "keten_log_blocks") == 1);
}

TEST_CASE("a new leader on the same database continues the log: seq, tree and a checkpoint consistent with the old",
          "[pg_store]") {
  const std::string db = store_test::fresh_database();
  auto lease_a = open_lease(db, "a");
  const Epoch epoch_a = *ok(lease_a.try_acquire());
  auto a = open_store(db, epoch_a);
  tlog::MemoryTree mirror;
  std::int64_t n = 0;
  append(a, mirror, n, 300);
  append(a, mirror, n, 3);
  const auto old_note = *ok(a.latest_checkpoint_note());

  // b, a standby that opened the store before the takeover, becomes leader.
  auto b_unfenced = open_store(db);
  ok(lease_a.release());
  auto lease_b = open_lease(db, "b");
  const Epoch epoch_b = *ok(lease_b.try_acquire());
  auto b = open_store(db, epoch_b);
  CHECK(b.log_origin() == a.log_origin());
  CHECK(b.tree_size() == 303);
  CHECK(b.log_head().hash == contracts::hex_of(mirror.root()));
  append(b, mirror, n, 2);
  CHECK(b.log_head().seq == 305);

  const auto verifier = *b.checkpoint_verifier();
  const auto before = ok(tlog::open_checkpoint(old_note, verifier));
  const auto after = ok(tlog::open_checkpoint(*ok(b.latest_checkpoint_note()), verifier));
  CHECK(before.size == 303);
  CHECK(after.size == 305);
  CHECK(after.root == mirror.root());
  const auto proof = ok(tlog::consistency_proof(before.size, after.size, b.tree_reader()));
  ok(tlog::verify_consistency(before.size, after.size, before.root, after.root, proof));
  // Every checkpoint, old leader's and new, extends the one before it.
  const auto notes = ok(b.read_tree_checkpoints());
  REQUIRE(notes.size() == 3);

  // The deposed leader can no longer append.
  auto late = a.append_event(store_test::delivered(999));
  REQUIRE_FALSE(late);
  CHECK_THAT(late.error().detail, StartsWith("fenced:"));
  CHECK(ok(b_unfenced.read_events(304, 10)).size() == 2);
  // The standby that opened at 303 proves the new leader's event 305 against its checkpoint.
  const auto inclusion = ok(tlog::inclusion_proof(304, after.size, b_unfenced.tree_reader()));
  const auto leaf = tlog::leaf_hash(events::encode_event(ok(b_unfenced.read_events(305, 1)).at(0).event));
  ok(tlog::verify_inclusion(304, after.size, leaf, inclusion, after.root));
}

TEST_CASE("begin() sees what another instance appended since, and the tree and seqs continue from there",
          "[pg_store]") {
  const std::string db = store_test::fresh_database();
  auto a = open_store(db);
  auto b = open_store(db);
  tlog::MemoryTree mirror;
  std::int64_t n = 0;
  append(a, mirror, n, 2);
  CHECK(b.tree_size() == 0);  // as of its open
  append(b, mirror, n, 3);    // begin() reloaded the tree: seqs 3..5
  CHECK(b.tree_size() == 5);
  CHECK(b.log_head().hash == contracts::hex_of(mirror.root()));
  append(a, mirror, n, 1);
  CHECK(a.log_head().seq == 6);
  CHECK(a.log_head().hash == contracts::hex_of(mirror.root()));
  // Both signed: every checkpoint extends the one before.
  const auto notes = ok(a.read_tree_checkpoints());
  REQUIRE(notes.size() == 3);
  const auto verifier = *a.checkpoint_verifier();
  for (std::size_t i = 1; i < notes.size(); ++i) {
    const auto m = ok(tlog::open_checkpoint(notes[i - 1], verifier));
    const auto k = ok(tlog::open_checkpoint(notes[i], verifier));
    const auto proof = ok(tlog::consistency_proof(m.size, k.size, a.tree_reader()));
    ok(tlog::verify_consistency(m.size, k.size, m.root, k.root, proof));
  }
  // What b appended needs no new checkpoint from a: it is covered.
  ok(a.begin());
  CHECK_FALSE(a.sign_uncovered_at_commit());
  ok(a.commit());
}

TEST_CASE("after a PostgreSQL restart the next statement fails with libpq's message and the store reconnects",
          "[pg_store]") {
  test_support::PostgresServer server;  // its own: the restart must not cut the other tests' server
  auto store = open_store(server.conninfo());
  tlog::MemoryTree mirror;
  std::int64_t n = 0;
  append(store, mirror, n, 2);
  server.restart();

  auto lost = store.count_deliveries();
  REQUIRE_FALSE(lost);
  CHECK(lost.error().code == contracts::ErrorCode::kStorage);
  CHECK_THAT(lost.error().detail, StartsWith("count_deliveries: "));
  INFO(lost.error().detail);
  CHECK(store.is_broken());

  // begin() reconnects by itself; the log continues.
  append(store, mirror, n, 1);
  CHECK(store.log_head().hash == contracts::hex_of(mirror.root()));
  CHECK(ok(store.read_events(1, 10)).size() == 3);
  CHECK(ok(store.count_deliveries()).pending == 0);

  // A transaction cut by a restart is gone; reconnect() makes the store usable again.
  ok(store.begin());
  ok(store.insert_message(store_test::message("msg-1")));
  ok(store.append_event(store_test::delivered(++n)));
  server.restart();
  auto commit = store.commit();
  REQUIRE_FALSE(commit);
  store.rollback();
  ok(store.reconnect());
  CHECK_FALSE(ok(store.find_message("msg-1")));
  CHECK(store.tree_size() == 3);
}

TEST_CASE("instances starting together on a new database create the tables once and share one origin", "[pg_store]") {
  const std::string db = store_test::fresh_database();
  std::vector<std::string> origins(4);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < origins.size(); ++i) {
    threads.emplace_back([&, i] {
      PgStoreOptions o;
      o.conninfo = db;
      auto store = PgStore::open(o);
      if (store) {
        origins[i] = store->log_origin();
      } else {
        errors[i] = store.error().detail;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < origins.size(); ++i) {
    INFO("instance " << i << ": " << errors[i]);
    CHECK(errors[i].empty());
    CHECK(origins[i] == origins[0]);
  }
  CHECK(origins[0].size() == 22);
}

TEST_CASE("a checkpoint on PostgreSQL is stamped with the clock the store was given", "[pg_store]") {
  const std::string db = store_test::fresh_database();
  // A time far from now: a store that read the system clock would stamp something else.
  contracts::Millis now = 1'234'567'000;
  PgStoreOptions o;
  o.conninfo = db;
  o.signing_seed = store_test::kSigningSeed;
  o.clock = [&now] { return now; };
  auto store = ok(PgStore::open(o));
  tlog::MemoryTree mirror;
  std::int64_t n = 0;
  append(store, mirror, n, 2);
  now += 5'000;
  append(store, mirror, n, 1);
  auto conn = ok(PgConnection::open(db));
  const auto rows = ok(conn.query("stamps", "SELECT at FROM keten_tree_checkpoints ORDER BY id"));
  REQUIRE(rows.size() == 2);
  CHECK(rows.at(0).at(0) == "1234567000");
  CHECK(rows.at(1).at(0) == "1234572000");
}

TEST_CASE("a store whose newest checkpoint does not match its log is refused at open", "[pg_store]") {
  const std::string db = store_test::fresh_database();
  auto store = open_store(db);
  tlog::MemoryTree mirror;
  std::int64_t n = 0;
  append(store, mirror, n, 3);
  // A checkpoint signed by the same key over more events than the blocks hold (a log cut back).
  auto forged = ok(tlog::sign_checkpoint(tlog::Checkpoint{store.log_origin(), 5, mirror.root(), {}},
                                         ok(tlog::make_signer(store.log_origin(), store_test::kSigningSeed))));
  auto conn = ok(PgConnection::open(db));
  ok(conn.query("forge", "INSERT INTO keten_tree_checkpoints (at, size, note) VALUES (1, 5, $1)", {forged}));
  PgStoreOptions o;
  o.conninfo = db;
  o.signing_seed = store_test::kSigningSeed;
  auto refused = PgStore::open(o);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == contracts::ErrorCode::kStorage);
  CHECK_THAT(refused.error().detail, Contains("the newest checkpoint does not match the stored log"));
  CHECK_THAT(refused.error().detail, Contains("covers 5 events, the log holds 3"));

  // One over the right size with another root: refused as well.
  auto wrong_root = ok(tlog::sign_checkpoint(tlog::Checkpoint{store.log_origin(), 2, mirror.root(), {}},
                                             ok(tlog::make_signer(store.log_origin(), store_test::kSigningSeed))));
  ok(conn.query("forge", "INSERT INTO keten_tree_checkpoints (at, size, note) VALUES (1, 2, $1)", {wrong_root}));
  refused = PgStore::open(o);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().detail, Contains("has root"));
  // The log's tables are append-only.
  auto edit = conn.query("edit", "DELETE FROM keten_log_blocks");
  REQUIRE_FALSE(edit);
  CHECK_THAT(edit.error().detail, Contains("keten_log_blocks is append-only"));
}

TEST_CASE("a leader's open refuses broker events appended after the last signed checkpoint, not a tool's",
          "[pg_store]") {
  const std::string db = database_with_signed_events(3);  // a checkpoint at tree size 3
  auto lease = open_lease(db, "a");
  const Epoch epoch = *ok(lease.try_acquire());
  {
    // A tool without the key records a read: a leader opens the store and will sign it over.
    auto tool = open_store(db, std::nullopt, /*seed=*/"");
    events::Event read;
    read.at = 5'000;
    read.record = events::LogRead{"keten log replay --case V-1", "inspector", "audit"};
    CHECK(ok(tool.append_event(std::move(read))) == 4);
  }
  ok(open_store(db, epoch).latest_checkpoint_note());
  {
    // Something without the key writes what only the broker writes.
    auto behind_the_back = open_store(db, std::nullopt, /*seed=*/"");
    CHECK(ok(behind_the_back.append_event(store_test::delivered(5))) == 5);
  }
  PgStoreOptions leader;
  leader.conninfo = db;
  leader.signing_seed = store_test::kSigningSeed;
  leader.epoch = epoch;
  auto refused = PgStore::open(leader);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == contracts::ErrorCode::kStorage);
  CHECK_THAT(refused.error().detail, StartsWith("postgresql store : "));
  CHECK_THAT(refused.error().detail, Contains("events seq 4 to 5 were appended after the last signed checkpoint "
                                              "(tree size 3) without it being signed; seq 5 is a 'delivered' event"));
  // A tool (no fencing epoch) still opens it, to read what is there.
  CHECK(open_store(db).tree_size() == 5);
}

TEST_CASE("a leader's open names an event edited inside a complete tile, which the checkpoint's root misses",
          "[pg_store]") {
  // Tile 0 (events 1..256) complete, its level-8 node stored.
  const std::string db = database_with_signed_events(300);
  // Event 10's message id "m-10" becomes "n-10" in its block, past the append-only triggers
  // (a superuser's session in replica mode fires none): it still decodes.
  auto conn = ok(PgConnection::open(db));
  ok(conn.query("replica", "SET session_replication_role = replica"));
  ok(conn.query("edit",
                "UPDATE keten_log_blocks SET events = overlay(events placing convert_to('n-10', 'UTF8') from "
                "position(convert_to('m-10', 'UTF8') in events) for 4) WHERE first_seq = (SELECT max(first_seq) "
                "FROM keten_log_blocks WHERE first_seq <= 10)"));
  CHECK(ok(open_store(db).read_events(10, 1)).at(0).event.message_id == "n-10");

  // The checkpoint's root is folded from the stored node over tile 0, so the check every open makes
  // passes; the leader's check of the tail's tiles does not.
  auto lease = open_lease(db, "a");
  PgStoreOptions leader;
  leader.conninfo = db;
  leader.signing_seed = store_test::kSigningSeed;
  leader.epoch = *ok(lease.try_acquire());
  auto refused = PgStore::open(leader);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().detail, Contains("the handover log's events seq 1 to 256 do not match the tree node "
                                              "stored over them (level 8, index 0): an event there was edited"));
}

TEST_CASE("another payload key is refused at open, and a payload that does not open reads as unreadable",
          "[pg_store]") {
  const std::string db = store_test::fresh_database();
  PgStoreOptions o;
  o.conninfo = db;
  o.payload_key = store_test::kPayloadKey;
  auto store = ok(PgStore::open(o));
  ok(store.begin());
  const auto seq = ok(store.insert_message(store_test::message("msg-1")));
  const auto id = ok(store.insert_delivery(seq, "ind"));
  ok(store.insert_message(store_test::message("msg-2")));
  ok(store.commit());
  // The raw rows hold no plaintext.
  auto conn = ok(PgConnection::open(db));
  for (const auto& row : ok(conn.query("raw", "SELECT encode(payload, 'escape') FROM keten_messages"))) {
    CHECK(row.at(0).find("Jansen") == std::string::npos);
  }

  o.payload_key = std::string(32, '\x01');
  auto wrong = PgStore::open(o);
  REQUIRE_FALSE(wrong);
  CHECK_THAT(wrong.error().detail, Contains("not the key this store's payloads are sealed with"));

  // A row altered behind the store's back: that payload is unreadable, the others still read.
  ok(conn.query("alter",
                "UPDATE keten_messages SET payload = set_byte(payload, 30, get_byte(payload, 30) # 1)"
                " WHERE message_id = 'msg-1'"));
  const auto content = ok(store.find_message_content("msg-1"));
  REQUIRE(content);
  CHECK(content->payload.empty());
  CHECK_THAT(content->unreadable, Contains("msg-1"));
  CHECK_FALSE(ok(store.find_outbound(id))->unreadable.empty());
  CHECK(ok(store.find_message_content("msg-2"))->payload == store_test::message("x").payload);
  // Without a key, every sealed payload says why it cannot be read.
  o.payload_key.clear();
  auto none = ok(PgStore::open(o));
  CHECK_THAT(ok(none.find_message_content("msg-2"))->unreadable, Contains("no payload key"));
}

TEST_CASE("the database has the tables, indexes and triggers docs/store-format.md lists under On PostgreSQL",
          "[pg_store]") {
  const std::string db = store_test::fresh_database();
  auto store = open_store(db);
  auto conn = ok(PgConnection::open(db));
  auto names = [&](const std::string& sql) {
    std::vector<std::string> out;
    for (const auto& row : ok(conn.query("names", sql))) out.push_back(row.at(0));
    return out;
  };
  CHECK(names("SELECT tablename FROM pg_tables WHERE tablename LIKE 'keten\\_%' ORDER BY tablename COLLATE \"C\"") ==
        std::vector<std::string>{"keten_contract_texts", "keten_deliveries", "keten_log_blocks",
                                 "keten_log_case_blocks", "keten_log_tree_nodes", "keten_messages", "keten_meta",
                                 "keten_norm_keys", "keten_norm_recorded", "keten_norm_watch",
                                 "keten_processed_reports", "keten_tree_checkpoints"});
  CHECK(names("SELECT indexname FROM pg_indexes WHERE tablename LIKE 'keten\\_%' AND indexname NOT LIKE '%pkey'"
              " AND indexname NOT LIKE '%\\_key' ORDER BY indexname COLLATE \"C\"") ==
        std::vector<std::string>{"keten_deliveries_dead_by_recipient", "keten_deliveries_open_by_recipient",
                                 "keten_deliveries_open_by_state", "keten_messages_by_case", "keten_messages_consent",
                                 "keten_norm_watch_by_due"});
  CHECK(names("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname COLLATE \"C\"") ==
        std::vector<std::string>{"keten_log_blocks_append_only", "keten_log_case_blocks_append_only",
                                 "keten_log_tree_nodes_append_only", "keten_tree_checkpoints_append_only"});
  CHECK(names("SELECT column_name FROM information_schema.columns WHERE table_name = 'keten_log_blocks'"
              " ORDER BY ordinal_position") ==
        std::vector<std::string>{"first_seq", "count", "first_at", "last_at", "events"});
  CHECK(names("SELECT key FROM keten_meta ORDER BY key") == std::vector<std::string>{"log_id", "schema_version"});
}

TEST_CASE(
    "the contract history on PostgreSQL keeps each text once and reads back in order; a database without it reads "
    "empty",
    "[pg_store]") {
  using broker::store::ContractHistory;
  using broker::store::ContractText;
  const std::string db = store_test::fresh_database();
  // Before any store made the table (a new database, or one from before the history): nothing.
  CHECK(ok(broker::store::read_pg_contract_history(db)).empty());

  auto store = open_store(db);
  auto history = ok(ContractHistory::open(store));
  const ContractText notice_v1{"test.notice", 1,    std::string(64, 'a'), "{\"v\":1}", "test.notice.v1.json",
                               false,         1'000};
  ContractText changed = notice_v1;  // the same version served later with another text
  changed.digest = std::string(64, 'b');
  changed.text = "{\"v\":2}";
  changed.first_loaded_at = 2'000;
  const ContractText consent{"consent.registered", 1, std::string(64, 'c'), "{}", "(built-in)", true, 1'000};
  ok(store.begin());
  CHECK(ok(history.record(changed)));
  CHECK(ok(history.record(notice_v1)));
  CHECK(ok(history.record(consent)));
  CHECK_FALSE(ok(history.record(notice_v1)));  // the same name, version and digest: kept once
  ok(store.commit());

  const auto all = ok(history.all());
  REQUIRE(all.size() == 3);
  CHECK(all[0].contract == "consent.registered");
  CHECK(all[0].builtin);
  CHECK(all[1].digest == notice_v1.digest);  // by contract, version, then first loaded
  CHECK(all[1].text == notice_v1.text);
  CHECK(all[1].file == notice_v1.file);
  CHECK(all[1].first_loaded_at == 1'000);
  CHECK_FALSE(all[1].builtin);
  CHECK(all[2].digest == changed.digest);
  const auto read = ok(broker::store::read_pg_contract_history(db));  // a connection of its own
  REQUIRE(read.size() == 3);
  CHECK(read[2].text == changed.text);
  CHECK(read[1].version == 1);

  // A record in a transaction that is rolled back leaves nothing.
  ok(store.begin());
  ContractText other = notice_v1;
  other.contract = "test.claim";
  CHECK(ok(history.record(other)));
  store.rollback();
  CHECK(ok(history.all()).size() == 3);
}

TEST_CASE("a transaction left idle past the limit (a frozen leader) is ended by the server and leaves nothing",
          "[pg_store]") {
  const std::string db = store_test::fresh_database();
  PgStoreOptions o;
  o.conninfo = db;
  o.signing_seed = store_test::kSigningSeed;
  o.idle_transaction_limit = std::chrono::milliseconds(300);
  auto store = ok(PgStore::open(o));
  ok(store.begin());
  ok(store.insert_message(store_test::message("msg-1")));
  ok(store.append_event(store_test::delivered(1)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1'000));  // frozen, holding the write lock
  // Meanwhile another instance is not held up for longer than the limit.
  auto other = open_store(db);
  ok(other.append_event(store_test::delivered(2)));
  auto commit = store.commit();
  REQUIRE_FALSE(commit);
  INFO(commit.error().detail);
  store.rollback();
  CHECK(count_rows(db, "keten_messages") == 0);
  CHECK(count_rows(db, "keten_log_blocks") == 1);
  // The next transaction reconnects and continues after the other instance's event.
  ok(store.begin());
  CHECK(ok(store.append_event(store_test::delivered(3))) == 2);
  ok(store.commit());
}

TEST_CASE("commit() after a failed statement fails instead of reporting PostgreSQL's silent rollback as a commit",
          "[pg_store]") {
  const std::string db = store_test::fresh_database();
  auto store = open_store(db);
  ok(store.begin());
  ok(store.insert_message(store_test::message("msg-1")));
  ok(store.commit());
  ok(store.begin());
  ok(store.insert_message(store_test::message("msg-2")));
  REQUIRE_FALSE(store.insert_message(store_test::message("msg-1")));  // a duplicate id: the transaction aborts
  auto commit = store.commit();
  REQUIRE_FALSE(commit);
  CHECK_THAT(commit.error().detail, Contains("a statement of the transaction failed"));
  store.rollback();
  CHECK_FALSE(ok(store.find_message("msg-2")));
  CHECK(count_rows(db, "keten_messages") == 1);
}

TEST_CASE(
    "two instances appending at once never interleave inside a transaction, and every checkpoint extends the last",
    "[pg_store]") {
  const std::string db = store_test::fresh_database();
  constexpr int kTransactions = 25, kPerTransaction = 4;
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      PgStoreOptions o;
      o.conninfo = db;
      o.signing_seed = store_test::kSigningSeed;
      auto store = PgStore::open(o);
      if (!store) {
        errors[w] = store.error().detail;
        return;
      }
      for (int t = 0; t < kTransactions && errors[w].empty(); ++t) {
        auto step = [&]() -> contracts::Result<void> {
          if (auto r = store->begin(); !r) return r;
          for (int i = 0; i < kPerTransaction; ++i) {
            // delivery_id: writer, transaction and position, to check the grouping afterwards.
            auto seq = store->append_event(store_test::delivered(w * 100'000 + t * 100 + i));
            if (!seq) return seq.error();
          }
          return store->commit();
        };
        if (auto r = step(); !r) {
          store->rollback();
          errors[w] = r.error().detail;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors[0] == "");
  CHECK(errors[1] == "");

  auto reader = open_store(db);
  const auto all = ok(reader.read_events(1, 1'000));
  REQUIRE(all.size() == 2 * kTransactions * kPerTransaction);
  tlog::MemoryTree mirror;
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].seq == i + 1);
    mirror.append(events::encode_event(all[i].event));
    // Each transaction's events are consecutive: positions 0..3 of one writer's transaction.
    CHECK(all[i].event.delivery_id % 100 == static_cast<std::int64_t>(i % kPerTransaction));
    if (i % kPerTransaction != 0) CHECK(all[i].event.delivery_id == all[i - 1].event.delivery_id + 1);
  }
  CHECK(reader.log_head().hash == contracts::hex_of(mirror.root()));
  const auto notes = ok(reader.read_tree_checkpoints());
  REQUIRE(notes.size() == 2 * kTransactions);
  const auto verifier = *reader.checkpoint_verifier();
  auto tree = reader.tree_reader();
  tlog::Checkpoint previous;
  for (const auto& note : notes) {
    const auto cp = ok(tlog::open_checkpoint(note, verifier));
    CHECK(cp.root == ok(mirror.root_at(cp.size)));
    if (previous.size > 0) {
      REQUIRE(cp.size > previous.size);
      ok(tlog::verify_consistency(previous.size, cp.size, previous.root, cp.root,
                                  ok(tlog::consistency_proof(previous.size, cp.size, tree))));
    }
    previous = cp;
  }
}
