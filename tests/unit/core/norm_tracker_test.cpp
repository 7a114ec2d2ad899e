#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "broker/core/norm_tracker.h"
#include "broker/core/pipeline.h"
#include "broker/store/tracking.h"
#include "contracts/norms.h"
#include "contracts/time.h"
#include "tests/support/core_fixture.h"
#include "tests/support/file_bytes.h"

namespace {

using contracts::Millis;

constexpr Millis kT0 = 1'700'000'000'000;

struct Fixture {
  test_support::TempDir dir;
  broker::store::SqliteStore store = test_support::open_store(dir);
  broker::store::TrackingTables tables = open_tables(store);
  contracts::ContractRegistry registry = test_support::load_test_contracts();
  std::vector<std::string> partners{"ALPHA", "BRAVO"};
  broker::core::NormTracker tracker{store, tables, registry};

  static broker::store::TrackingTables open_tables(broker::store::SqliteStore& s) {
    auto t = broker::store::TrackingTables::open(s, test_support::kTestPayloadKey);
    REQUIRE(t);
    return std::move(*t);
  }

  // Accepts the message through the pipeline and tells the tracker, in one transaction.
  void accept(const std::string& id, const std::string& contract, const std::string& payload, Millis now,
              const std::string& supersedes = "") {
    contracts::Submit s;
    s.header.supersedes = supersedes;
    s.header.message_id = id;
    s.header.contract = contract;
    s.header.version = 1;
    s.header.case_ref = "9990012345";
    s.payload = payload;
    broker::core::PipelineDeps deps{store, registry, partners};
    REQUIRE(store.begin());
    auto out = broker::core::process_submit(deps, "ALPHA", s, now);
    REQUIRE(out);
    REQUIRE(out->receipt.status == contracts::ReceiptStatus::kAccepted);
    REQUIRE(tracker.on_accepted(s.header, "ALPHA", s.payload, now));
    REQUIRE(store.commit());
  }

  void tick(Millis now) {
    REQUIRE(store.begin());
    if (tracker.due(now)) REQUIRE(tracker.tick(now));
    REQUIRE(store.commit());
  }

  // The detail of every norm_violated event, in order.
  std::vector<nlohmann::json> violations() {
    auto rows = store.read_log(0, 10'000);
    REQUIRE(rows);
    std::vector<nlohmann::json> out;
    for (const auto& r : *rows) {
      if (r.event != "norm_violated") continue;
      auto j = nlohmann::json::parse(r.detail);
      j["message_id"] = r.message_id;
      j["recipient"] = r.recipient;
      out.push_back(j);
    }
    return out;
  }
};

std::string departure(const std::string& id, Millis std_at) {
  return R"({"departure_id":")" + id + R"(","std":")" + contracts::format_rfc3339(std_at) + R"("})";
}

}  // namespace

TEST_CASE("a late announcement is recorded open at acceptance and closed when acknowledged late", "[core][norms]") {
  Fixture f;
  f.accept("tr-1", "test.transport", R"({"departure_id":"D-1"})", kT0 - 1'000);  // its follow-up came first
  // Departure in 30 minutes: it had to be acknowledged an hour before, so it is late already.
  f.accept("dep-1", "test.departure", departure("D-1", kT0 + 30 * 60'000), kT0);
  auto v = f.violations();
  REQUIRE(v.size() == 1);
  CHECK(v[0]["norm"] == "announced-1h-before-std");
  CHECK(v[0]["state"] == "open");
  CHECK(v[0]["recipient"] == "BRAVO");
  CHECK(v[0]["due_at"] == kT0 - 30 * 60'000);
  CHECK(v[0]["by_ms"] == 30 * 60'000);

  // Delivered and acknowledged 5 s later: the same obligation, now closed, 30 min 5 s late.
  auto pending = f.store.next_pending("BRAVO", 10);
  REQUIRE(pending);
  REQUIRE(pending->size() == 2);  // the transport and the departure
  REQUIRE((*pending)[1].header.message_id == "dep-1");
  const auto delivery_id = (*pending)[1].delivery_id;
  REQUIRE(f.store.begin());
  REQUIRE(f.store.mark_in_flight(delivery_id, 1, kT0 + 4'000));
  REQUIRE(f.store.mark_acked(delivery_id, kT0 + 5'000));
  REQUIRE(f.tracker.on_progress("dep-1", "test.departure", 1, kT0 + 5'000));
  REQUIRE(f.store.commit());
  v = f.violations();
  REQUIRE(v.size() == 2);
  CHECK(v[1]["norm"] == "announced-1h-before-std");
  CHECK(v[1]["state"] == "closed");
  CHECK(v[1]["done_at"] == kT0 + 5'000);
  CHECK(v[1]["by_ms"] == 30 * 60'000 + 5'000);
  CHECK(v[1]["was_open"] == true);  // the same obligation: not a second violation

  // Evaluating again records nothing new.
  REQUIRE(f.store.begin());
  REQUIRE(f.tracker.on_progress("dep-1", "test.departure", 1, kT0 + 6'000));
  REQUIRE(f.store.commit());
  CHECK(f.violations().size() == 2);
}

TEST_CASE("a missing follow-up is found by the timer and closed when it comes late", "[core][norms]") {
  Fixture f;
  f.accept("dep-2", "test.departure", departure("D-2", kT0 + 48 * 3'600'000), kT0);
  CHECK(f.violations().empty());  // in time so far: the departure is two days away
  CHECK_FALSE(f.tracker.due(kT0 + 1'999));
  CHECK(f.tracker.due(kT0 + 2'000));

  f.tick(kT0 + 3'000);
  auto v = f.violations();
  REQUIRE(v.size() == 1);
  CHECK(v[0]["norm"] == "transport-within-2s");
  CHECK(v[0]["state"] == "open");
  CHECK(v[0]["expected_contract"] == "test.transport");
  CHECK(v[0]["by_ms"] == 1'000);
  CHECK_FALSE(f.tracker.due(kT0 + 10'000));  // nothing left for the timer

  // A transport for another departure does not close it; the right one does, 2.5 s late.
  f.accept("tr-x", "test.transport", R"({"departure_id":"D-OTHER"})", kT0 + 4'000);
  CHECK(f.violations().size() == 1);
  f.accept("tr-2", "test.transport", R"({"departure_id":"D-2"})", kT0 + 4'500);
  v = f.violations();
  REQUIRE(v.size() == 2);
  CHECK(v[1]["state"] == "closed");
  CHECK(v[1]["done_at"] == kT0 + 4'500);
  CHECK(v[1]["by_ms"] == 2'500);
  CHECK(v[1]["was_open"] == true);
}

TEST_CASE("a follow-up that came first counts, and an obligation met in time records nothing", "[core][norms]") {
  Fixture f;
  f.accept("tr-3", "test.transport", R"({"departure_id":"D-3"})", kT0);
  f.accept("dep-3", "test.departure", departure("D-3", kT0 + 48 * 3'600'000), kT0 + 100);
  f.tick(kT0 + 10'000);
  CHECK(f.violations().empty());
}

TEST_CASE("open obligations survive a restart of the tracker", "[core][norms]") {
  Fixture f;
  f.accept("dep-4", "test.departure", departure("D-4", kT0 + 48 * 3'600'000), kT0);
  broker::core::NormTracker fresh{f.store, f.tables, f.registry};
  CHECK_FALSE(fresh.due(kT0 + 5'000));  // nothing loaded yet
  REQUIRE(fresh.load());
  CHECK(fresh.due(kT0 + 5'000));
  REQUIRE(f.store.begin());
  REQUIRE(fresh.tick(kT0 + 5'000));
  REQUIRE(f.store.commit());
  auto v = f.violations();
  REQUIRE(v.size() == 1);
  CHECK(v[0]["norm"] == "transport-within-2s");
}

TEST_CASE("a correction carries the obligations of the message it supersedes, so one late departure counts once",
          "[core][norms]") {
  Fixture f;
  // Departure in 30 minutes: late at once for BRAVO (open), and its transport is due within 2 s.
  f.accept("dep-a", "test.departure", departure("D-9", kT0 + 30 * 60'000), kT0);
  REQUIRE(f.violations().size() == 1);
  // The correction moves STD by five minutes: still late, but the same obligation, already open.
  f.accept("dep-b", "test.departure", departure("D-9", kT0 + 35 * 60'000), kT0 + 1'000, "dep-a");
  auto v = f.violations();
  REQUIRE(v.size() == 1);
  CHECK(v[0]["message_id"] == "dep-a");
  CHECK(v[0]["late_party"] == "BRAVO");
  CHECK(v[0]["key"] == "dep-a/announced-1h-before-std/BRAVO");

  // The timer: the superseded departure is no longer evaluated; the correction's follow-up
  // obligation is the first message's, once.
  f.tick(kT0 + 10'000);
  v = f.violations();
  REQUIRE(v.size() == 2);
  CHECK(v[1]["message_id"] == "dep-b");
  CHECK(v[1]["norm"] == "transport-within-2s");
  CHECK(v[1]["state"] == "open");
  CHECK(v[1]["key"] == "dep-a/transport-within-2s/test.transport");
  CHECK(v[1]["corrects"] == "dep-a");
  CHECK(v[1]["late_party"] == "ALPHA");  // the owner of test.transport: who should have sent it
  CHECK(v[1]["by_ms"] == 10'000 - 1'000 - 2'000);

  // BRAVO acknowledges both late: only the correction closes the obligation, once.
  auto pending = f.store.next_pending("BRAVO", 10);
  REQUIRE(pending);
  REQUIRE(pending->size() == 2);
  REQUIRE(f.store.begin());
  for (const auto& d : *pending) {
    REQUIRE(f.store.mark_in_flight(d.delivery_id, 1, kT0 + 11'000));
    REQUIRE(f.store.mark_acked(d.delivery_id, kT0 + 12'000));
    REQUIRE(f.tracker.on_progress(d.header.message_id, "test.departure", 1, kT0 + 12'000));
  }
  REQUIRE(f.store.commit());
  v = f.violations();
  REQUIRE(v.size() == 3);
  CHECK(v[2]["message_id"] == "dep-b");
  CHECK(v[2]["state"] == "closed");
  CHECK(v[2]["was_open"] == true);
  CHECK(v[2]["key"] == "dep-a/announced-1h-before-std/BRAVO");
  // Due an hour before the corrected STD.
  CHECK(v[2]["due_at"] == kT0 + 35 * 60'000 - 3'600'000);
}

namespace {

std::string claim(const std::string& stage, const std::string& done_at = "") {
  return R"({"claim_id":"C-1","stage":")" + stage + R"(","deadline":"2023-11-10")" +
         (done_at.empty() ? std::string() : R"(,"done_at":")" + done_at + "\"") + "}";
}

}  // namespace

// kT0 is 2023-11-14T22:13:20Z: a deadline of 2023-11-10 (due at the end of that day, a day's
// grace) is past when the accepted claim arrives, so its obligation is recorded open at once.
TEST_CASE("a correction that reports the awaited time in time closes the open row of the claim it supersedes",
          "[core][norms]") {
  Fixture f;
  f.accept("claim-a", "test.claim", claim("accepted"), kT0);
  auto v = f.violations();
  REQUIRE(v.size() == 1);
  CHECK(v[0]["state"] == "open");
  CHECK(v[0]["key"] == "claim-a/done-by-deadline/test.claim");

  // The status that supersedes it reports the claim done inside the deadline. Its own norm does
  // not apply (stage "done"), so before this was mended the open row stayed open for ever.
  f.accept("claim-b", "test.claim", claim("done", "2023-11-09T12:00:00Z"), kT0 + 1'000, "claim-a");
  v = f.violations();
  REQUIRE(v.size() == 2);
  CHECK(v[1]["message_id"] == "claim-a");
  CHECK(v[1]["state"] == "closed");
  CHECK(v[1]["was_open"] == true);
  CHECK(v[1]["key"] == "claim-a/done-by-deadline/test.claim");
  CHECK(v[1]["done_at"] == *contracts::parse_date_time("2023-11-09T12:00:00Z"));
  CHECK(v[1]["by_ms"] == 0);

  // Nothing is watched any more: the timer finds nothing to record.
  f.tick(kT0 + 30LL * 24 * 3'600'000);
  CHECK(f.violations().size() == 2);
}

TEST_CASE("a correction that reports the awaited time late records the claim's row met late, and opens nothing new",
          "[core][norms]") {
  Fixture f;
  f.accept("claim-a", "test.claim", claim("accepted"), kT0);
  REQUIRE(f.violations().size() == 1);
  // Done six hours after the end of the deadline's day.
  f.accept("claim-b", "test.claim", claim("done", "2023-11-11T06:00:00Z"), kT0 + 1'000, "claim-a");
  auto v = f.violations();
  REQUIRE(v.size() == 2);
  CHECK(v[1]["message_id"] == "claim-a");
  CHECK(v[1]["state"] == "closed");
  CHECK(v[1]["was_open"] == true);
  CHECK(v[1]["by_ms"] == 6 * 3'600'000);

  // A second correction (another status, no time) leaves the closed row alone.
  f.accept("claim-c", "test.claim", claim("done"), kT0 + 2'000, "claim-b");
  CHECK(f.violations().size() == 2);
}

TEST_CASE("tracking a sealed contract's message leaves its case-key value in neither the store nor its WAL",
          "[core][norms]") {
  Fixture f;
  // test.departure has medical fields: its payload is sealed, and the tracker keeps its
  // departure_id (the follow-up norm's match) as a keyed hash.
  f.accept("tr-9", "test.transport", R"({"departure_id":"D-SECRET-4711"})", kT0 - 1'000);
  f.accept("dep-9", "test.departure", departure("D-SECRET-4711", kT0 + 48 * 3'600'000), kT0);
  const auto bytes = test_support::store_bytes(f.dir / "k.db");
  REQUIRE(!bytes.empty());
  CHECK(bytes.find("D-SECRET-4711") == std::string::npos);
  // And the follow-up was matched: the departure's obligation is met, nothing is watched for it.
  f.tick(kT0 + 72 * 3'600'000);
  for (const auto& v : f.violations()) CHECK(v["norm"] != "transport-within-2s");
}
