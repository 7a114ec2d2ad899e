// ProcessedReports (broker/store/processed_reports.h): the index of deliveries reported processed,
// on a real SQLite file.
#include "broker/store/processed_reports.h"

#include <catch2/catch.hpp>

#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::store::ProcessedReport;
using broker::store::ProcessedReports;
using broker::store::SqliteStore;
using contracts::ProcessedOutcome;
using test_support::ok;

SqliteStore open_store(const test_support::TempDir& dir) {
  broker::store::StoreOptions options;
  options.path = dir / "store.db";
  return ok(SqliteStore::open(options));
}

}  // namespace

TEST_CASE("a reported delivery is found by id with its outcome and seq; an unreported one is not",
          "[store][processed]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  auto reports = ok(ProcessedReports::open(store));
  CHECK_FALSE(ok(reports.find(7)).has_value());
  ok(store.begin());
  ok(reports.add({7, ProcessedOutcome::kRefused, 1'741'000'000'000, 42}));
  ok(store.commit());
  const auto found = ok(reports.find(7));
  REQUIRE(found);
  CHECK(found->outcome == ProcessedOutcome::kRefused);
  CHECK(found->at == 1'741'000'000'000);
  CHECK(found->log_seq == 42);
  CHECK_FALSE(ok(reports.find(8)).has_value());
}

TEST_CASE("a second report of the same delivery is refused by the table, and a rollback keeps none",
          "[store][processed]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  auto reports = ok(ProcessedReports::open(store));
  ok(store.begin());
  ok(reports.add({9, ProcessedOutcome::kDone, 1, 1}));
  auto again = reports.add({9, ProcessedOutcome::kRefused, 2, 2});
  REQUIRE_FALSE(again);
  CHECK(again.error().code == contracts::ErrorCode::kStorage);
  store.rollback();
  CHECK_FALSE(ok(reports.find(9)).has_value());
}

TEST_CASE("reports survive reopening the store, and opening twice creates nothing twice", "[store][processed]") {
  test_support::TempDir dir;
  {
    auto store = open_store(dir);
    auto reports = ok(ProcessedReports::open(store));
    ok(store.begin());
    ok(reports.add({3, ProcessedOutcome::kDone, 5, 6}));
    ok(store.commit());
  }
  auto store = open_store(dir);
  auto reports = ok(ProcessedReports::open(store));
  auto again = ok(ProcessedReports::open(store));
  const auto found = ok(again.find(3));
  REQUIRE(found);
  CHECK(found->outcome == ProcessedOutcome::kDone);
}
