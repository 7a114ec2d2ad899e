#include "broker/ops/alerts.h"

#include <catch2/catch.hpp>

using namespace broker::ops;
using namespace std::chrono_literals;

namespace {

AlertSnapshot quiet() {
  AlertSnapshot s;
  s.backlog = {{"BRAVO", 1, 1'000}};
  s.partner_silent_ms = {{"ALPHA", 10}, {"BRAVO", 10}};
  s.store_bytes = 100;
  s.store_max_bytes = 1'000;
  s.since_checkpoint_ms = 10;
  s.checkpoint_overdue_ms = 300;
  return s;
}

}  // namespace

TEST_CASE("nothing fires while every value is under its threshold", "[ops]") {
  CHECK(over_threshold(quiet(), AlertOptions{}).empty());
}

TEST_CASE("each kind fires with its subject, value and threshold", "[ops]") {
  AlertOptions o;
  o.backlog_max = 5;
  o.oldest_undelivered_max = 60s;
  o.partner_silent_after = 1h;
  o.partner_silent_after_by_partner["ALPHA"] = 1s;
  o.store_full_percent = 90;
  AlertSnapshot s = quiet();

  SECTION("backlog") {
    s.backlog = {{"BRAVO", 6, 10}};
    CHECK(over_threshold(s, o) == std::vector<Alert>{{AlertKind::kBacklog, "BRAVO", 6, 5}});
  }
  SECTION("oldest undelivered") {
    s.backlog = {{"BRAVO", 1, 61'000}};
    CHECK(over_threshold(s, o) == std::vector<Alert>{{AlertKind::kOldestUndelivered, "BRAVO", 61'000, 60'000}});
  }
  SECTION("dead letters: any by default") {
    s.dead_letters = {{"CHARLIE", 1}};
    CHECK(over_threshold(s, o) == std::vector<Alert>{{AlertKind::kDeadLetters, "CHARLIE", 1, 0}});
  }
  SECTION("norm violations") {
    s.norm_violations = {{"return.decision", 2}};
    CHECK(over_threshold(s, o) == std::vector<Alert>{{AlertKind::kNormViolations, "return.decision", 2, 0}});
  }
  SECTION("partner silent, with a per-partner interval") {
    s.partner_silent_ms = {{"ALPHA", 1'500}, {"BRAVO", 1'500}};
    CHECK(over_threshold(s, o) == std::vector<Alert>{{AlertKind::kPartnerSilent, "ALPHA", 1'500, 1'000}});
  }
  SECTION("store nearly full") {
    s.store_bytes = 901;
    CHECK(over_threshold(s, o) == std::vector<Alert>{{AlertKind::kStoreNearlyFull, "store", 901, 900}});
  }
  SECTION("checkpoint overdue") {
    s.since_checkpoint_ms = 301;
    CHECK(over_threshold(s, o) == std::vector<Alert>{{AlertKind::kCheckpointOverdue, "checkpoint", 301, 300}});
  }
}

TEST_CASE("a threshold of 0 (or -1 for counts) turns an alert off", "[ops]") {
  AlertOptions o;
  o.backlog_max = 0;
  o.oldest_undelivered_max = 0ms;
  o.dead_letters_max = -1;
  o.norm_violations_max = -1;
  o.partner_silent_after = 0ms;
  AlertSnapshot s = quiet();
  s.backlog = {{"BRAVO", 1'000'000, 999'999'999}};
  s.dead_letters = {{"BRAVO", 5}};
  s.norm_violations = {{"c", 5}};
  s.partner_silent_ms = {{"ALPHA", 999'999'999}};
  CHECK(over_threshold(s, o).empty());
}

TEST_CASE("a broker that does not sign has no checkpoint alert, and disabled alerts never fire", "[ops]") {
  AlertSnapshot s = quiet();
  s.since_checkpoint_ms.reset();
  CHECK(over_threshold(s, AlertOptions{}).empty());
  s = quiet();
  s.store_bytes = 1'000;
  AlertOptions off;
  off.enabled = false;
  CHECK(over_threshold(s, off).empty());
}

TEST_CASE("an alert fires once when crossing and clears when back under", "[ops]") {
  AlertOptions o;
  o.backlog_max = 5;
  AlertState state;
  AlertSnapshot s = quiet();

  s.backlog = {{"BRAVO", 6, 0}};
  auto first = state.evaluate(s, o);
  CHECK(first.fired == std::vector<Alert>{{AlertKind::kBacklog, "BRAVO", 6, 5}});
  CHECK(first.cleared.empty());

  s.backlog = {{"BRAVO", 9, 0}};  // still over: no new alert
  auto second = state.evaluate(s, o);
  CHECK(second.fired.empty());
  CHECK(second.cleared.empty());
  CHECK(state.active_count() == 1);

  s.backlog = {{"BRAVO", 2, 0}};
  auto third = state.evaluate(s, o);
  CHECK(third.fired.empty());
  CHECK(third.cleared == std::vector<Alert>{{AlertKind::kBacklog, "BRAVO", 6, 5}});
  CHECK(state.active_count() == 0);

  s.backlog = {{"BRAVO", 7, 0}};  // crossing again fires again
  CHECK(state.evaluate(s, o).fired == std::vector<Alert>{{AlertKind::kBacklog, "BRAVO", 7, 5}});
}

TEST_CASE("alerts for different subjects are independent", "[ops]") {
  AlertOptions o;
  o.backlog_max = 5;
  AlertState state;
  AlertSnapshot s = quiet();
  s.backlog = {{"BRAVO", 6, 0}};
  CHECK(state.evaluate(s, o).fired.size() == 1);
  s.backlog = {{"BRAVO", 6, 0}, {"CHARLIE", 8, 0}};
  CHECK(state.evaluate(s, o).fired == std::vector<Alert>{{AlertKind::kBacklog, "CHARLIE", 8, 5}});
}

TEST_CASE("every alert kind has a stable name", "[ops]") {
  CHECK(to_string(AlertKind::kBacklog) == "backlog");
  CHECK(to_string(AlertKind::kOldestUndelivered) == "oldest_undelivered");
  CHECK(to_string(AlertKind::kDeadLetters) == "dead_letters");
  CHECK(to_string(AlertKind::kNormViolations) == "norm_violations");
  CHECK(to_string(AlertKind::kPartnerSilent) == "partner_silent");
  CHECK(to_string(AlertKind::kStoreNearlyFull) == "store_nearly_full");
  CHECK(to_string(AlertKind::kCheckpointOverdue) == "checkpoint_overdue");
}

TEST_CASE("an alert about dead letters or norm violations names the cases of the rows it counts", "[ops]") {
  AlertSnapshot s = quiet();
  s.dead_letters = {{"CHARLIE", 2}};
  s.dead_letter_cases = {{"CHARLIE", {"9990012345", "9990099999"}}};
  s.norm_violations = {{"transfer.announced", 1}};
  s.norm_violation_cases = {{"transfer.announced", {"9990012345"}}};
  const auto fired = over_threshold(s, AlertOptions{});
  REQUIRE(fired.size() == 2);
  CHECK(fired[0].kind == AlertKind::kDeadLetters);
  CHECK(fired[0].cases == std::vector<std::string>{"9990012345", "9990099999"});
  CHECK(fired[1].kind == AlertKind::kNormViolations);
  CHECK(fired[1].cases == std::vector<std::string>{"9990012345"});

  SECTION("at most kAlertCases of them") {
    for (int i = 0; i < 30; ++i) s.dead_letter_cases["CHARLIE"].insert("99900000" + std::to_string(10 + i));
    CHECK(over_threshold(s, AlertOptions{})[0].cases.size() == kAlertCases);
  }
  SECTION("the broker-wide kinds name none") {
    s.store_bytes = 999;
    AlertOptions o;
    o.store_full_percent = 90;
    for (const auto& a : over_threshold(s, o)) {
      if (a.kind == AlertKind::kStoreNearlyFull) CHECK(a.cases.empty());
    }
  }
}
