// The boundary where readers turn the log's rows into typed events: every row of the scripted case
// typed with its hash, bundle stubs skipped, a row no broker writes refused naming its seq, and a
// norm_violated event's fields read the same from a typed record and from a row's detail.
#include "broker/audit/log_events.h"

#include <catch2/catch.hpp>

#include "tests/unit/audit/removal_case.h"

namespace {

using Catch::Matchers::Contains;

}  // namespace

TEST_CASE("every row becomes a typed event with its seq and hash, in order", "[audit][events]") {
  const auto rows = test_support::seal_all(test_support::removal_case_rows());
  auto log = broker::audit::event_log(rows);
  REQUIRE(log);
  REQUIRE(log->events.size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(log->events[i].seq == rows[i].seq);
    CHECK(broker::events::to_string(log->events[i].event.kind()) == rows[i].event);
    CHECK(log->hash_of(rows[i].seq) == rows[i].hash);
  }
  CHECK(log->hash_of(999).empty());
  const auto& accepted = std::get<broker::events::Accepted>(log->events[1].event.record);
  CHECK(accepted.recipients == std::vector<std::string>{"KMAR", "DVO"});
  // Only one case's rows, when asked.
  auto one_case = broker::audit::event_log(rows, test_support::kOtherCase);
  REQUIRE(one_case);
  REQUIRE(one_case->events.size() == 1);
  CHECK(one_case->events[0].seq == 8);
}

TEST_CASE("rows a bundle leaves out of its scope are skipped", "[audit][events]") {
  auto rows = test_support::seal_all(test_support::removal_case_rows());
  rows[7] = broker::audit::LogRecord{};
  rows[7].seq = 8;
  rows[7].omitted = true;
  auto events = broker::audit::logged_events(rows);
  REQUIRE(events);
  CHECK(events->size() == rows.size() - 1);
}

TEST_CASE("a row that cannot be typed is refused naming its seq", "[audit][events][hostile]") {
  auto rows = test_support::seal_all(test_support::removal_case_rows());
  rows[4].event = "deliverd";  // a misspelt name: no broker writes it
  auto log = broker::audit::event_log(rows);
  REQUIRE_FALSE(log);
  CHECK(log.error().code == contracts::ErrorCode::kMalformedEnvelope);
  CHECK_THAT(log.error().detail, Contains("seq 5") && Contains("deliverd"));
  rows[4].event = "delivered";
  rows[4].payload_digest = "not hex";
  auto digest = broker::audit::logged_event(rows[4]);
  REQUIRE_FALSE(digest);
  CHECK_THAT(digest.error().detail, Contains("seq 5") && Contains("payload_digest"));
}

TEST_CASE("a norm_violated event's facts come from its record or from the detail as written", "[audit][events]") {
  using test_support::case_row;
  // As today's broker writes it: late_party, key and corrects, which the record does not hold.
  auto today = case_row(9000, "norm_violated", "m-1", "departure.scheduled", "DTV", "KMAR", 0,
                        R"({"by_ms":120000,"corrects":"m-0","done_at":0,"due_at":1741000003000,)"
                        R"("explanation":"x","key":"k-1","kind":"delivered_before","late_party":"KMAR",)"
                        R"("norm":"notice","state":"open"})");
  today.seq = 1;
  auto e = broker::audit::logged_event(today);
  REQUIRE(e);
  auto f = broker::audit::norm_facts(e->event);
  REQUIRE(f);
  CHECK(f->norm == "notice");
  CHECK(f->kind == "delivered_before");
  CHECK(f->open);
  CHECK(f->by_ms == 120000);
  CHECK(f->due_at == 1741000003000);
  CHECK(f->late_party == "KMAR");
  CHECK(f->key == "k-1");
  CHECK(f->corrects == "m-0");
  // A typed record without a detail text: the same facts from the record's fields.
  broker::events::Event typed;
  typed.record = broker::events::NormViolated{"notice", contracts::NormKind::kFollowUp, 1000, 5000, 4000,
                                              "departure.outcome", "late", true, "KMAR", "k-2", "m-1"};
  f = broker::audit::norm_facts(typed);
  REQUIRE(f);
  CHECK(f->kind == "follow_up");
  CHECK_FALSE(f->open);
  CHECK(f->done_at == 5000);
  CHECK(f->by_ms == 4000);
  CHECK(f->expected_contract == "departure.outcome");
  CHECK(f->was_open);
  CHECK(f->late_party == "KMAR");
  CHECK(f->key == "k-2");
  CHECK(f->corrects == "m-1");
  // Another kind has none.
  typed.record = broker::events::Acknowledged{};
  CHECK_FALSE(broker::audit::norm_facts(typed));
}
