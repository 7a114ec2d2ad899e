// The broker's hot statements must reach their rows through an index, never by scanning a table
// (docs/store-format.md, "Indexes"): a scan is invisible with ten rows and fatal with ten million.
// SQLite counts the full-scan steps of every prepared statement; after a small workload through
// the store, no statement the loop runs per message may have taken one.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/tracking.h"
#include "contracts/digest.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::store::SqliteStore;

using test_support::ok;

// True when every scan in the plan of `sql` walks deliveries_open_by_recipient (the partial index
// of undelivered rows) and nothing else.
bool backlog_scans_only(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &raw, nullptr) != SQLITE_OK) return false;
  broker::store::StmtHandle plan(raw);
  bool only = true;
  while (sqlite3_step(raw) == SQLITE_ROW) {
    const std::string detail = reinterpret_cast<const char*>(sqlite3_column_text(raw, 3));
    if (detail.rfind("SCAN", 0) == 0 && detail.find("INDEX deliveries_open_by_recipient") == std::string::npos) {
      only = false;
    }
  }
  return only;
}

// A new store in `dir`, without a sync per commit.
SqliteStore open_store(const test_support::TempDir& dir) {
  broker::store::StoreOptions options;
  options.path = dir / "store.db";
  options.sync_full = false;
  return ok(SqliteStore::open(options));
}

}  // namespace

TEST_CASE("the per-message statements use indexes, not table scans", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);

  std::vector<std::int64_t> deliveries;
  for (int i = 0; i < 200; ++i) {
    broker::store::NewMessage m;
    m.header.message_id = "m-" + std::to_string(i);
    m.header.contract = "departure.scheduled";
    m.header.version = 1;
    m.header.case_ref = "V" + std::to_string(i % 7);
    m.sender = "DTV";
    m.payload = R"({"n":1})";
    m.payload_digest = contracts::sha256_hex(m.payload);
    m.recipients = {"KMAR", "DVO"};
    m.accepted_at = 1'700'000'000'000 + i;
    ok(store.begin());
    CHECK_FALSE(ok(store.find_message(m.header.message_id)));
    broker::store::LogEvent e;
    e.at = m.accepted_at;
    e.event = "accepted";
    e.message_id = m.header.message_id;
    e.case_ref = m.header.case_ref;
    m.log_seq = ok(store.append_log(e));
    const auto seq = ok(store.insert_message(m));
    for (const auto& r : m.recipients) deliveries.push_back(ok(store.insert_delivery(seq, r)));
    ok(store.commit());
  }
  ok(store.begin());
  for (const auto& d : ok(store.next_pending("KMAR", 50))) {
    ok(store.mark_in_flight(d.delivery_id, 1, 1));
    CHECK(ok(store.find_delivery_header(d.delivery_id)));
    ok(store.mark_acked(d.delivery_id, 2));
  }
  ok(store.commit());
  // What start-up and reconnects run, on a store with history.
  ok(store.begin());
  broker::store::LogEvent started;
  started.at = 1'800'000'000'000;
  started.event = "started";
  ok(store.append_log(started));
  for (const auto& d : ok(store.next_pending("DVO", 5))) ok(store.mark_in_flight(d.delivery_id, 1, 1));
  CHECK(ok(store.reset_in_flight("DVO")) == 5);
  CHECK(ok(store.reset_in_flight()) == 0);
  ok(store.commit());
  CHECK(ok(store.last_started_event())->event.kind() == broker::events::Kind::kStarted);
  CHECK(ok(store.recipients_with_pending()) == std::vector<std::string>{"DVO", "KMAR"});
  CHECK(ok(store.backlog()).size() == 2);
  CHECK(ok(store.oldest_undelivered("KMAR")));
  CHECK(ok(store.find_delivery(deliveries.back())));
  CHECK(ok(store.find_message_content("m-3")));
  CHECK_FALSE(ok(store.read_case_log("V3")).empty());
  // What a scheduled quality report reads: the period's rows and older acceptances.
  CHECK(ok(store.log_seq_since(1'700'000'000'150)) > 1);
  CHECK(ok(store.accepted_event("m-3")));

  std::vector<std::string> scanning;
  for (sqlite3_stmt* stmt = sqlite3_next_stmt(store.connection(), nullptr); stmt != nullptr;
       stmt = sqlite3_next_stmt(store.connection(), stmt)) {
    const std::string sql = sqlite3_sql(stmt);
    if (sql.find("sqlite_sequence") != std::string::npos) continue;  // SQLite's own one-row-per-table list
    if (sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0) == 0) continue;
    // The queries run at start walk the whole open-delivery index: partial, it is the backlog's
    // size, not the history's. Any other scan, or a scan of a table, is a finding.
    if (!backlog_scans_only(store.connection(), sql)) scanning.push_back(sql);
  }
  std::string listed;
  for (const auto& sql : scanning) listed += "\n  " + sql;
  INFO("statements that scanned a table:" << listed);
  CHECK(scanning.empty());
}

namespace {

// A message to KMAR of `contract` accepted at `at`, its delivery left pending or acknowledged.
std::int64_t add_delivered(SqliteStore& store, int n, const std::string& contract, std::int64_t at, bool acked) {
  broker::store::NewMessage m;
  m.header.message_id = "m-" + std::to_string(n);
  m.header.contract = contract;
  m.header.version = 1;
  m.header.case_ref = "V" + std::to_string(n % 7);
  m.sender = "DTV";
  m.payload = R"({"n":1})";
  m.payload_digest = contracts::sha256_hex(m.payload);
  m.recipients = {"KMAR"};
  m.accepted_at = at;
  const auto seq = ok(store.insert_message(m));
  const auto delivery = ok(store.insert_delivery_sent(seq, "KMAR", at));
  if (acked) {
    ok(store.mark_acked(delivery, at + 1));
  } else {
    ok(store.mark_pending(delivery));
  }
  return delivery;
}

int count_steps(void* steps) {
  ++*static_cast<long*>(steps);
  return 0;
}

// SQLite's virtual-machine steps (in tens) that `read` takes on the store's connection.
template <class Read>
long steps_of(SqliteStore& store, Read read) {
  long steps = 0;
  sqlite3_progress_handler(store.connection(), 10, count_steps, &steps);
  read();
  sqlite3_progress_handler(store.connection(), 0, nullptr, nullptr);
  return steps;
}

// The reads the loop runs on its own (the ttl sweep, the oldest-undelivered alert's case) against
// a store of a few undelivered messages and the given delivered history.
struct LoopReads {
  std::vector<std::int64_t> expired;
  std::optional<std::string> alert_case, none_case;
  long steps = 0;
  void run(SqliteStore& store, std::int64_t t0) {
    steps = steps_of(store, [&] {
      expired = ok(store.pending_accepted_before("departure.scheduled", 1, t0 + 500, 100));
      alert_case = ok(store.undelivered_case_at("KMAR", t0 + 1));
      none_case = ok(store.undelivered_case_at("KMAR", t0 + 10));  // only acknowledged ones then
    });
  }
};

}  // namespace

TEST_CASE("the loop's own reads (the ttl sweep, an alert's case) cost the backlog, not the delivered history",
          "[store][regression]") {
  // They ran on the loop and read every delivered message: the ttl sweep once a second per
  // contract with a ttl (275 ms at 300 000 delivered messages), the alert's case each time an
  // oldest-undelivered alert fired (250 ms).
  test_support::TempDir dir;
  auto store = open_store(dir);
  // With every index a serving broker's store has: the tracking tables add messages_by_contract,
  // through which SQLite preferred to start, from every message of the contract ever stored.
  auto tracking = ok(broker::store::TrackingTables::open(store));
  const std::int64_t t0 = 1'700'000'000'000;
  int n = 0;
  ok(store.begin());
  std::vector<std::int64_t> expected;
  for (int i = 0; i < 3; ++i) expected.push_back(add_delivered(store, n++, "departure.scheduled", t0 + i, false));
  add_delivered(store, n++, "departure.scheduled", t0 + 900, false);  // pending, accepted after the cut
  add_delivered(store, n++, "transport.ordered", t0 + 5, false);      // pending, another contract
  for (int i = 0; i < 100; ++i) add_delivered(store, n++, "departure.scheduled", t0 + 10, true);
  ok(store.commit());
  // The same answers with any history: the three old pending ones, V1's case, none at t0 + 10.
  auto read = [&] {
    LoopReads r;
    r.run(store, t0);
    CHECK(r.expired == expected);
    CHECK(r.alert_case == std::optional<std::string>("V1"));
    CHECK_FALSE(r.none_case);
    return r;
  };
  const LoopReads small = read();

  ok(store.begin());
  for (int i = 0; i < 5'000; ++i) add_delivered(store, n++, "departure.scheduled", t0 + 10, true);
  ok(store.commit());
  const LoopReads large = read();
  INFO("steps with 100 delivered: " << small.steps << "0, with 5 100: " << large.steps << "0");
  CHECK(large.steps <= small.steps + 5);
}

TEST_CASE("the consent register's start-up read costs the consent messages, not every message", "[store][regression]") {
  // It went through messages_by_contract (contract, seq), an index of every message's contract
  // that each commit wrote a page or two of for a read made only at start. Now a partial index
  // holds the consent messages alone, and a store opened with the old index loses it.
  test_support::TempDir dir;
  auto store = open_store(dir);
  REQUIRE(sqlite3_exec(store.connection(), "CREATE INDEX messages_by_contract ON messages (contract, seq)", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  auto tracking = ok(broker::store::TrackingTables::open(store));
  auto index_names = [&] {
    std::vector<std::string> names;
    sqlite3_stmt* raw = nullptr;
    REQUIRE(sqlite3_prepare_v2(store.connection(),
                               "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND "
                               "sql IS NOT NULL ORDER BY name",
                               -1, &raw, nullptr) == SQLITE_OK);
    broker::store::StmtHandle stmt(raw);
    while (sqlite3_step(raw) == SQLITE_ROW)
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(raw, 0)));
    return names;
  };
  CHECK(index_names() == std::vector<std::string>{"messages_by_case", "messages_consent"});

  const std::int64_t t0 = 1'700'000'000'000;
  int n = 0;
  ok(store.begin());
  add_delivered(store, n++, "consent.registered", t0, true);
  add_delivered(store, n++, "departure.scheduled", t0 + 1, true);
  add_delivered(store, n++, "consent.withdrawn", t0 + 2, true);
  ok(store.commit());
  std::vector<std::string> ids;
  const long small = steps_of(store, [&] { ids = ok(tracking.consent_message_ids()); });
  CHECK(ids == std::vector<std::string>{"m-0", "m-2"});

  ok(store.begin());
  for (int i = 0; i < 5'000; ++i) add_delivered(store, n++, "departure.scheduled", t0 + 10, true);
  add_delivered(store, n++, "consent.registered", t0 + 20, true);
  ok(store.commit());
  const long large = steps_of(store, [&] { ids = ok(tracking.consent_message_ids()); });
  CHECK(ids == std::vector<std::string>{"m-0", "m-2", "m-5003"});
  INFO("steps with 3 messages: " << small << "0, with 5 004: " << large << "0");
  CHECK(large <= small + 5);
}
