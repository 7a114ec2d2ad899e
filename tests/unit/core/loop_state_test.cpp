// LoopState (broker/core/loop_state.h): what the loop keeps beside the store, rebuilt from it all
// or nothing. A real SQLite store; a failing read is made by hiding a table behind its back.
#include "broker/core/loop_state.h"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "broker/core/pipeline.h"
#include "broker/store/tracking.h"
#include "tests/support/core_fixture.h"

namespace {

using contracts::Millis;

constexpr Millis kT0 = 1'700'000'000'000;

void exec(broker::store::SqliteStore& store, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(store.connection(), sql, nullptr, nullptr, &message);
  INFO((message ? message : ""));
  sqlite3_free(message);
  REQUIRE(rc == SQLITE_OK);
}

broker::store::TrackingTables open_tables(broker::store::SqliteStore& store) {
  auto t = broker::store::TrackingTables::open(store, test_support::kTestPayloadKey);
  REQUIRE(t);
  return std::move(*t);
}

struct Fixture {
  test_support::TempDir dir;
  broker::store::SqliteStore store = test_support::open_store(dir);
  contracts::ContractRegistry registry = test_support::load_test_contracts();
  broker::store::TrackingTables tables = open_tables(store);
  std::vector<std::string> partners{"ALPHA", "BRAVO", "CHARLIE"};
  int submitted = 0;

  // Stores n notices from ALPHA for BRAVO, pending.
  void submit(int n) {
    REQUIRE(store.begin());
    broker::core::PipelineDeps deps{store, registry, partners};
    for (int i = 0; i < n; ++i) {
      auto s = test_support::notice_submit("m-" + std::to_string(submitted++));
      s.header.recipients = {"BRAVO"};
      auto out = broker::core::process_submit(deps, "ALPHA", s, kT0);
      REQUIRE(out);
      REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
    }
    REQUIRE(store.commit());
  }
};

std::uint64_t backlog_of(broker::core::LoopState& state, const std::string& partner) {
  const auto& counts = state.backlog().counts();
  auto it = counts.find(partner);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("a loop state is stale until it is first read from the store", "[core][loop_state]") {
  Fixture f;
  f.submit(2);
  broker::core::LoopState state(f.store, f.tables, f.registry, 1'000);
  CHECK(state.stale());
  CHECK(backlog_of(state, "BRAVO") == 0);
  REQUIRE(state.reload());
  CHECK_FALSE(state.stale());
  CHECK(backlog_of(state, "BRAVO") == 2);
}

TEST_CASE("a reload that fails keeps the old state and stays stale until one succeeds", "[core][loop_state]") {
  Fixture f;
  f.submit(2);
  broker::core::LoopState state(f.store, f.tables, f.registry, 1'000);
  REQUIRE(state.reload());
  f.submit(3);
  exec(f.store, "ALTER TABLE deliveries RENAME TO deliveries_hidden");
  auto failed = state.reload();
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == contracts::ErrorCode::kStorage);
  CHECK(state.stale());
  CHECK(backlog_of(state, "BRAVO") == 2);  // the old counts, not a partial read
  exec(f.store, "ALTER TABLE deliveries_hidden RENAME TO deliveries");
  REQUIRE(state.reload());
  CHECK_FALSE(state.stale());
  CHECK(backlog_of(state, "BRAVO") == 5);
}
