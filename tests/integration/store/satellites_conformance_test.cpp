// What the broker keeps beside messages, deliveries and the log, on both backends: the Store reads
// the expiry of deliveries and the alerts need (pending_accepted_before, undelivered_case_at), the
// norm tracker's tables (TrackingTables) and the index of processed reports (ProcessedReports). Each
// case runs once per backend (GENERATE): a SqliteStore on a temp file, a PgStore on a real
// PostgreSQL 15 database.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "broker/store/pg_store.h"
#include "broker/store/processed_reports.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/tracking.h"
#include "tests/integration/store/store_backends.h"
#include "tests/support/ok.h"

using broker::store::NormKey;
using broker::store::ProcessedReport;
using broker::store::ProcessedReports;
using broker::store::RecordedViolation;
using broker::store::Store;
using broker::store::TrackingTables;
using store_test::make_backend;
using test_support::ok;

namespace {

std::string backend_kind() { return GENERATE(as<std::string>{}, "sqlite", "postgresql"); }

TrackingTables open_tracking(Store& store, std::string_view payload_key) {
  if (auto* sqlite = dynamic_cast<broker::store::SqliteStore*>(&store)) {
    return ok(TrackingTables::open(*sqlite, payload_key));
  }
  return ok(TrackingTables::open(dynamic_cast<broker::store::PgStore&>(store), payload_key));
}

ProcessedReports open_processed(Store& store) {
  if (auto* sqlite = dynamic_cast<broker::store::SqliteStore*>(&store)) return ok(ProcessedReports::open(*sqlite));
  return ok(ProcessedReports::open(dynamic_cast<broker::store::PgStore&>(store)));
}

// Message `id` of `contract` v1 accepted at `at`, one pending delivery per recipient; their ids.
std::vector<std::int64_t> accept(Store& store, const std::string& id, const std::string& contract, contracts::Millis at,
                                 std::vector<std::string> recipients = {"KMAR"}, const std::string& case_ref = "V-1") {
  auto m = store_test::message(id, "DTV", std::move(recipients));
  m.header.contract = contract;
  m.header.version = 1;
  m.header.case_ref = case_ref;
  m.accepted_at = at;
  const auto seq = ok(store.insert_message(m));
  std::vector<std::int64_t> ids;
  for (const auto& r : m.recipients) ids.push_back(ok(store.insert_delivery(seq, r)));
  return ids;
}

}  // namespace

TEST_CASE(
    "pending_accepted_before lists only pending deliveries of that contract version accepted by then, "
    "lowest id first, up to the limit",
    "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  ok(store.begin());
  const auto old1 = accept(store, "old-1", "departure.scheduled", 1'000);
  const auto old2 = accept(store, "old-2", "departure.scheduled", 2'000);
  const auto sent = accept(store, "old-sent", "departure.scheduled", 1'500);
  const auto other = accept(store, "other-contract", "intake.registered", 1'000);
  const auto young = accept(store, "young", "departure.scheduled", 9'000);
  ok(store.mark_in_flight(sent[0], 1, 3'000));
  ok(store.commit());

  CHECK(ok(store.pending_accepted_before("departure.scheduled", 1, 5'000, 10)) ==
        std::vector<std::int64_t>{old1[0], old2[0]});
  CHECK(ok(store.pending_accepted_before("departure.scheduled", 1, 5'000, 1)) == std::vector<std::int64_t>{old1[0]});
  CHECK(ok(store.pending_accepted_before("departure.scheduled", 2, 5'000, 10)).empty());
  CHECK(ok(store.pending_accepted_before("departure.scheduled", 1, 999, 10)).empty());
  CHECK(ok(store.pending_accepted_before("intake.registered", 1, 5'000, 10)) == std::vector<std::int64_t>{other[0]});
  (void)young;
}

TEST_CASE(
    "undelivered_case_at names the case of an unacknowledged message accepted in that millisecond, "
    "and nothing once it is acknowledged",
    "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  ok(store.begin());
  const auto ids = accept(store, "m-1", "departure.scheduled", 7'000, {"KMAR"}, "V-77");
  accept(store, "m-2", "departure.scheduled", 8'000, {"DVO"}, "V-88");
  ok(store.commit());

  CHECK(ok(store.undelivered_case_at("KMAR", 7'000)) == std::optional<std::string>("V-77"));
  CHECK_FALSE(ok(store.undelivered_case_at("KMAR", 8'000)));
  CHECK_FALSE(ok(store.undelivered_case_at("DVO", 7'000)));
  ok(store.begin());
  ok(store.mark_acked(ids[0], 9'000));
  ok(store.commit());
  CHECK_FALSE(ok(store.undelivered_case_at("KMAR", 7'000)));
}

TEST_CASE(
    "the norm tracker's tables keep keys, watches and violations, and read deliveries, backlogs and "
    "message ids, the same on both backends",
    "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind, {store_test::kPayloadKey, {}});
  Store& store = *b.store;
  auto tables = open_tracking(store, store_test::kPayloadKey);

  ok(store.begin());
  const auto ids = accept(store, "m-1", "consent.registered", 1'000, {"KMAR", "DVO"});
  accept(store, "m-2", "departure.scheduled", 2'000, {"KMAR"});
  accept(store, "m-3", "consent.withdrawn", 3'000, {"DVO"});
  ok(store.mark_acked(ids[1], 4'000));
  ok(tables.add_key("/v_number", "V-1", NormKey{"departure.scheduled", "m-2", 2'000}));
  ok(tables.add_key("/v_number", "V-1", NormKey{"departure.scheduled", "m-1", 1'000}));
  ok(tables.add_key("/v_number", "V-1", NormKey{"departure.scheduled", "m-1", 1'000}));  // again: kept once
  ok(tables.watch("m-2", 50'000));
  ok(tables.watch("m-3", 40'000));
  ok(tables.watch("m-3", 30'000));  // moved
  ok(tables.record("norm-a", RecordedViolation::kOpen));
  ok(tables.record("norm-b", RecordedViolation::kOpen));
  ok(tables.record("norm-b", RecordedViolation::kClosed));
  ok(store.commit());

  const auto keys = ok(tables.keys("/v_number", "V-1"));
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].message_id == "m-1");  // oldest first
  CHECK(keys[1].message_id == "m-2");
  CHECK(keys[1].accepted_at == 2'000);
  CHECK(ok(tables.keys("/v_number", "V-2")).empty());
  CHECK(ok(tables.watched("m-2")));
  CHECK_FALSE(ok(tables.watched("m-1")));
  CHECK(ok(tables.next_due()) == std::optional<contracts::Millis>(30'000));
  CHECK(ok(tables.due(45'000, 10)) == std::vector<std::string>{"m-3"});
  CHECK(ok(tables.due(60'000, 1)) == std::vector<std::string>{"m-3"});
  ok(store.begin());
  ok(tables.unwatch("m-3"));
  ok(tables.unwatch("m-2"));
  ok(store.commit());
  CHECK_FALSE(ok(tables.next_due()));
  CHECK(ok(tables.recorded("norm-a")) == RecordedViolation::kOpen);
  CHECK(ok(tables.recorded("norm-b")) == RecordedViolation::kClosed);
  CHECK(ok(tables.recorded("norm-c")) == RecordedViolation::kNone);

  const auto times = ok(tables.deliveries_of("m-1"));
  REQUIRE(times.size() == 2);
  CHECK(times[0].recipient == "KMAR");
  CHECK(times[1].recipient == "DVO");
  CHECK(times[1].acked_at == 4'000);
  const auto counts = ok(tables.backlog_counts());
  CHECK(counts.at("KMAR") == 2);
  CHECK(counts.at("DVO") == 1);  // m-1's delivery to DVO is acknowledged
  CHECK(ok(tables.consent_message_ids()) == std::vector<std::string>{"m-1", "m-3"});

  // Reopened with the same payload key, the values still match; without it, the store is refused.
  auto again = open_tracking(store, store_test::kPayloadKey);
  CHECK(ok(again.keys("/v_number", "V-1")).size() == 2);
  if (auto* sqlite = dynamic_cast<broker::store::SqliteStore*>(&store)) {
    CHECK_FALSE(TrackingTables::open(*sqlite, {}));
  } else {
    CHECK_FALSE(TrackingTables::open(dynamic_cast<broker::store::PgStore&>(store), {}));
  }
}

TEST_CASE("a delivery reported processed is found by its id, and a second report of it is refused",
          "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  auto reports = open_processed(store);
  CHECK_FALSE(ok(reports.find(7)));
  ok(store.begin());
  ok(reports.add(ProcessedReport{7, contracts::ProcessedOutcome::kRefused, 5'000, 12}));
  ok(store.commit());
  const auto found = ok(reports.find(7));
  REQUIRE(found);
  CHECK(found->outcome == contracts::ProcessedOutcome::kRefused);
  CHECK(found->at == 5'000);
  CHECK(found->log_seq == 12);
  ok(store.begin());
  CHECK_FALSE(reports.add(ProcessedReport{7, contracts::ProcessedOutcome::kDone, 6'000, 13}));
  store.rollback();
  CHECK(ok(reports.find(7))->outcome == contracts::ProcessedOutcome::kRefused);
}

TEST_CASE("a PostgreSQL store whose norm keys were stored in clear refuses a payload key later, saying why",
          "[store][pg_store]") {
  auto b = make_backend("postgresql");
  auto tables = open_tracking(*b.store, {});
  ok(b.store->begin());
  ok(tables.add_key("/v_number", "V-1", NormKey{"departure.scheduled", "m-1", 1'000}));
  ok(b.store->commit());
  auto keyed = b.open_again({store_test::kPayloadKey, {}});
  auto refused = TrackingTables::open(dynamic_cast<broker::store::PgStore&>(*keyed), store_test::kPayloadKey);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().detail, Catch::Matchers::Contains("written without a payload key"));
}
