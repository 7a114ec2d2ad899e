#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "contracts/norms.h"

using contracts::Millis;
using contracts::MessageTimes;
using contracts::Norm;
using contracts::NormKind;

namespace {

constexpr Millis kMinute = 60'000;
constexpr Millis kHour = 60 * kMinute;

Millis at(const char* date_time) {
  auto t = contracts::parse_date_time(date_time);
  REQUIRE(t);
  return *t;
}

std::vector<Norm> norms_of(const std::string& json) {
  auto parsed = contracts::parse_norms(json);
  std::string problems;
  for (const auto& p : parsed.problems) problems += p + "\n";
  INFO(problems);
  REQUIRE(parsed.problems.empty());
  return parsed.norms;
}

// departure.scheduled's norms, as in contracts/migration-chain.
const char* kDepartureNorms = R"([
  {"id": "published-72h-before-std", "kind": "delivered_before", "field": "/std", "lead": "PT72H"},
  {"id": "follow-ups-24h-before-std", "kind": "follow_up", "match": "/departure_id",
   "expects": ["departure.particulars.published", "transport.ordered"],
   "before": "/std", "lead": "PT24H"}])";

const char* kDeparturePayload =
    R"({"departure_id": "DEP-2025-000417", "std": "2025-03-12T07:05:00+01:00"})";

MessageTimes departure(Millis accepted_at) {
  MessageTimes m;
  m.message_id = "3b9a4c1e-6f0d-4b8e-8d2c-51a7e0c9f412";
  m.payload = kDeparturePayload;
  m.accepted_at = accepted_at;
  m.recipients = {{"KMAR", 0, 0}, {"DVO", 0, 0}};
  return m;
}

}  // namespace

TEST_CASE("durations and date-times parse as the norms use them", "[contracts][norms]") {
  CHECK(contracts::parse_duration("PT48H") == 48 * kHour);
  CHECK(contracts::parse_duration("PT15M") == 15 * kMinute);
  CHECK(contracts::parse_duration("P14D") == 14 * 24 * kHour);
  CHECK(contracts::parse_duration("P1DT12H30M") == 36 * kHour + 30 * kMinute);
  CHECK(contracts::parse_duration("P2W") == 14 * 24 * kHour);
  CHECK(contracts::parse_duration("PT0S") == 0);
  for (const char* bad : {"", "P", "PT", "48H", "P1M", "P1Y", "PT1D", "P1H", "PT-1H", "PT1H2H"}) {
    INFO(bad);
    CHECK_FALSE(contracts::parse_duration(bad).has_value());
  }
  CHECK(at("2025-03-12T07:05:00+01:00") == at("2025-03-12T06:05:00Z"));
  CHECK(at("1970-01-01T00:00:01.5Z") == 1500);
  CHECK(at("2024-02-29T00:00:00Z") - at("2024-02-28T00:00:00Z") == 24 * kHour);
  for (const char* bad : {"2025-03-12T07:05:00", "2023-02-29T00:00:00Z", "2025-03-12 07:05:00Z",
                          "2025-03-12T07:05:00+1:00", "2025-13-01T00:00:00Z"}) {
    INFO(bad);
    CHECK_FALSE(contracts::parse_date_time(bad).has_value());
  }
  CHECK(contracts::format_duration(26 * kHour + 30 * kMinute) == "1d 2h 30m");
  CHECK(contracts::format_duration(0) == "0s");
}

TEST_CASE("a departure acknowledged by everyone 72 hours ahead meets its delivery norm",
          "[contracts][norms]") {
  const auto norms = norms_of(kDepartureNorms);
  MessageTimes m = departure(at("2025-03-08T09:00:00+01:00"));
  m.recipients = {{"KMAR", at("2025-03-08T09:00:01+01:00"), at("2025-03-08T09:00:02+01:00")},
                  {"DVO", at("2025-03-08T09:00:01+01:00"), at("2025-03-08T09:03:00+01:00")}};
  m.follow_ups = {{"departure.particulars.published", "a", at("2025-03-10T12:00:00+01:00")},
                  {"transport.ordered", "b", at("2025-03-09T08:00:00+01:00")}};
  const auto report = contracts::evaluate_norms(norms, m, at("2025-03-12T08:00:00+01:00"));
  CHECK(report.violations.empty());
  CHECK(report.pending.empty());
  CHECK(report.problems.empty());
  CHECK_FALSE(report.next_due().has_value());
}

TEST_CASE("a late announcement is a violation per recipient, by how late it was acknowledged",
          "[contracts][norms]") {
  const auto norms = norms_of(kDepartureNorms);
  // Accepted 50 h before STD: 22 h too late for the 72 h norm.
  MessageTimes m = departure(at("2025-03-10T05:05:00+01:00"));
  m.recipients = {{"KMAR", at("2025-03-10T05:05:01+01:00"), at("2025-03-10T05:06:00+01:00")},
                  {"DVO", at("2025-03-10T05:05:01+01:00"), 0}};
  const auto report = contracts::evaluate_norms(norms, m, at("2025-03-10T06:05:00+01:00"));
  REQUIRE(report.violations.size() == 2);
  const auto& kmar = report.violations[0];
  CHECK(kmar.norm_id == "published-72h-before-std");
  CHECK(kmar.kind == NormKind::kDeliveredBefore);
  CHECK(kmar.recipient == "KMAR");
  CHECK(kmar.due_at == at("2025-03-09T07:05:00+01:00"));
  CHECK(kmar.done_at == at("2025-03-10T05:06:00+01:00"));
  CHECK(kmar.late_by == 22 * kHour + 1 * kMinute);
  CHECK_THAT(kmar.explanation, Catch::Contains("KMAR") && Catch::Contains("22h 1m late"));
  // DVO has not acknowledged yet: open, overdue by the time since the deadline.
  const auto& dvo = report.violations[1];
  CHECK(dvo.recipient == "DVO");
  CHECK(dvo.done_at == 0);
  CHECK(dvo.late_by == 23 * kHour);
  CHECK_THAT(dvo.explanation, Catch::Contains("overdue"));
  CHECK(dvo.key(m.message_id) == m.message_id + "/published-72h-before-std/DVO");
  // The follow-ups are not due yet (24 h before STD): pending, with the timer's due time.
  REQUIRE(report.pending.size() == 2);
  CHECK(report.next_due() == at("2025-03-11T07:05:00+01:00"));
}

TEST_CASE("a follow-up that never came is a violation once its deadline has passed",
          "[contracts][norms]") {
  const auto norms = norms_of(kDepartureNorms);
  MessageTimes m = departure(at("2025-03-08T09:00:00+01:00"));
  m.recipients = {{"KMAR", 1, at("2025-03-08T09:00:02+01:00")}};
  m.follow_ups = {{"transport.ordered", "b", at("2025-03-09T08:00:00+01:00")},
                  {"removability.checked", "c", at("2025-03-09T08:00:00+01:00")}};

  SECTION("before the deadline it is pending") {
    const auto report = contracts::evaluate_norms(norms, m, at("2025-03-11T07:00:00+01:00"));
    CHECK(report.violations.empty());
    REQUIRE(report.pending.size() == 1);
    CHECK(report.pending[0].expected_contract == "departure.particulars.published");
    CHECK(report.pending[0].due_at == at("2025-03-11T07:05:00+01:00"));
  }
  SECTION("after the deadline it is overdue") {
    const auto report = contracts::evaluate_norms(norms, m, at("2025-03-11T09:05:00+01:00"));
    CHECK(report.pending.empty());
    REQUIRE(report.violations.size() == 1);
    const auto& v = report.violations[0];
    CHECK(v.kind == NormKind::kFollowUp);
    CHECK(v.expected_contract == "departure.particulars.published");
    CHECK(v.done_at == 0);
    CHECK(v.late_by == 2 * kHour);
    CHECK_THAT(v.explanation, Catch::Contains("/departure_id") && Catch::Contains("2h overdue"));
  }
  SECTION("a late follow-up is late by its acceptance") {
    m.follow_ups.push_back(
        {"departure.particulars.published", "d", at("2025-03-11T10:05:00+01:00")});
    const auto report = contracts::evaluate_norms(norms, m, at("2025-03-12T09:00:00+01:00"));
    REQUIRE(report.violations.size() == 1);
    CHECK(report.violations[0].done_at == at("2025-03-11T10:05:00+01:00"));
    CHECK(report.violations[0].late_by == 3 * kHour);
  }
}

TEST_CASE("a confirmation is due within its term of the order's acceptance", "[contracts][norms]") {
  const auto norms = norms_of(R"([{"id": "confirmed-4h", "kind": "confirmed_within",
      "expects": ["transport.confirmed"], "match": "/transport_id", "within": "PT4H"}])");
  MessageTimes order;
  order.payload = R"({"transport_id": "TRN-2025-000981"})";
  order.accepted_at = at("2025-03-09T08:00:00+01:00");
  CHECK(contracts::norm_case_key(norms[0], order.payload) == "\"TRN-2025-000981\"");

  auto report = contracts::evaluate_norms(norms, order, at("2025-03-09T09:00:00+01:00"));
  REQUIRE(report.pending.size() == 1);
  CHECK(report.next_due() == at("2025-03-09T12:00:00+01:00"));

  order.follow_ups = {{"transport.confirmed", "x", at("2025-03-09T11:59:00+01:00")}};
  report = contracts::evaluate_norms(norms, order, at("2025-03-09T13:00:00+01:00"));
  CHECK(report.violations.empty());
  CHECK(report.pending.empty());

  order.follow_ups = {{"transport.confirmed", "x", at("2025-03-09T12:30:00+01:00")}};
  report = contracts::evaluate_norms(norms, order, at("2025-03-09T13:00:00+01:00"));
  REQUIRE(report.violations.size() == 1);
  CHECK(report.violations[0].late_by == 30 * kMinute);
}

TEST_CASE("a norm with a condition applies only when the payload matches it",
          "[contracts][norms]") {
  const auto norms = norms_of(R"([
    {"id": "planned-48h", "kind": "delivered_before", "field": "/planned_at", "lead": "PT48H",
     "when": {"/unplanned": false}},
    {"id": "unplanned-15m", "kind": "delivered_within", "within": "PT15M", "recipients": ["COA"],
     "when": {"/unplanned": true}}])");
  MessageTimes m;
  m.accepted_at = at("2025-03-06T08:00:00+01:00");
  m.recipients = {{"COA", 0, at("2025-03-06T08:20:00+01:00")},
                  {"GZA", 0, at("2025-03-06T08:01:00+01:00")}};
  SECTION("planned: announced 25.5 h ahead breaks the 48 h norm for both") {
    m.payload = R"({"planned_at": "2025-03-07T09:30:00+01:00", "unplanned": false})";
    const auto report = contracts::evaluate_norms(norms, m, m.accepted_at + kHour);
    REQUIRE(report.violations.size() == 2);
    CHECK(report.violations[0].norm_id == "planned-48h");
  }
  SECTION("unplanned: only COA is bound, and it acknowledged 5 minutes late") {
    m.payload = R"({"planned_at": "2025-03-06T10:00:00+01:00", "unplanned": true})";
    const auto report = contracts::evaluate_norms(norms, m, m.accepted_at + kHour);
    REQUIRE(report.violations.size() == 1);
    CHECK(report.violations[0].norm_id == "unplanned-15m");
    CHECK(report.violations[0].recipient == "COA");
    CHECK(report.violations[0].late_by == 5 * kMinute);
  }
}

TEST_CASE("a report submitted too long after the event is late by the difference",
          "[contracts][norms]") {
  const auto norms = norms_of(R"([{"id": "taker-15m", "kind": "submitted_within",
      "field": "/handed_over_at", "within": "PT15M", "when": {"/half": "taker"}}])");
  MessageTimes m;
  m.payload = R"({"half": "taker", "handed_over_at": "2025-03-12T04:10:00+01:00"})";
  m.accepted_at = at("2025-03-12T04:20:00+01:00");
  CHECK(contracts::evaluate_norms(norms, m, m.accepted_at).violations.empty());
  m.accepted_at = at("2025-03-12T05:10:00+01:00");
  const auto report = contracts::evaluate_norms(norms, m, m.accepted_at);
  REQUIRE(report.violations.size() == 1);
  CHECK(report.violations[0].late_by == 45 * kMinute);
  m.payload = R"({"half": "giver", "handed_over_at": "2025-03-12T04:10:00+01:00"})";
  CHECK(contracts::evaluate_norms(norms, m, m.accepted_at).violations.empty());
}

TEST_CASE("delivery counts instead of the ack when a norm says acknowledged false",
          "[contracts][norms]") {
  const auto norms = norms_of(R"([{"id": "court-28d", "kind": "delivered_within",
      "after": "/imposed_at", "within": "P28D", "recipients": ["RECHTSPRAAK"],
      "acknowledged": false}])");
  MessageTimes m;
  m.payload = R"({"imposed_at": "2025-03-03T16:20:00+01:00"})";
  m.accepted_at = at("2025-03-03T16:30:00+01:00");
  m.recipients = {{"RECHTSPRAAK", at("2025-03-20T09:00:00+01:00"), 0}, {"DJI", 0, 0}};
  const auto report = contracts::evaluate_norms(norms, m, at("2025-04-10T00:00:00+02:00"));
  CHECK(report.violations.empty());
  CHECK(report.pending.empty());
}

TEST_CASE("a deadline field absent from the payload means the norm does not apply, a bad one is "
          "reported", "[contracts][norms]") {
  const auto norms = norms_of(R"([{"id": "airline-48h", "kind": "delivered_before",
      "field": "/std", "lead": "PT48H"}])");
  MessageTimes m;
  m.accepted_at = 1;
  m.recipients = {{"AIR-ZZ", 0, 0}};
  m.payload = R"({"fit_to_travel": "yes"})";
  auto report = contracts::evaluate_norms(norms, m, 2);
  CHECK(report.violations.empty());
  CHECK(report.problems.empty());
  m.payload = R"({"std": "tomorrow"})";
  report = contracts::evaluate_norms(norms, m, 2);
  REQUIRE(report.problems.size() == 1);
  CHECK_THAT(report.problems[0], Catch::Contains("airline-48h") && Catch::Contains("/std"));
}

TEST_CASE("parse_norms names every problem of a bad norm", "[contracts][norms]") {
  const auto parsed = contracts::parse_norms(R"([
    {"id": "a", "kind": "delivered_before", "field": "std", "lead": "48 hours"},
    {"id": "a", "kind": "eventually"},
    {"id": "c", "kind": "follow_up", "expects": [], "before": "/std", "within": "PT1H"},
    {"id": "d", "kind": "delivered_within", "within": "PT1H", "recipients": "some", "extra": 1},
    {"kind": "submitted_within", "field": "/at", "within": "PT2H"}])");
  CHECK(parsed.norms.empty());
  auto has = [&](const std::string& text) {
    for (const auto& p : parsed.problems) {
      if (p.find(text) != std::string::npos) return true;
    }
    return false;
  };
  CHECK(has("norm 'a': 'field' must be a JSON pointer"));
  CHECK(has("norm 'a': 'lead' must be an ISO 8601 duration"));
  CHECK(has("'id' is used twice"));
  CHECK(has("'kind' must be one of"));
  CHECK(has("norm 'c': needs either 'before' (with 'lead') or 'within'"));
  CHECK(has("norm 'c': 'expects' must be a non-empty list"));
  CHECK(has("norm 'c': needs 'match'"));
  CHECK(has("norm 'd': 'recipients' must be \"all\""));
  CHECK(has("norm 'd': 'extra' is not a key of a delivered_within norm"));
  CHECK(has("norm 5: needs an 'id'"));
  CHECK(contracts::parse_norms("{}").problems.size() == 1);
}

TEST_CASE("lint_norms checks pointers, formats and recipients against the contract",
          "[contracts][norms]") {
  const std::string schema = R"({"type": "object", "properties": {
      "std": {"type": "string", "format": "date-time"},
      "pier": {"type": "string"},
      "legs": {"type": "array", "items": {"$ref": "#/definitions/leg"}}},
      "definitions": {"leg": {"type": "object",
        "properties": {"sta": {"type": "string", "format": "date-time"}}}}})";
  CHECK(contracts::schema_declares(schema, "/legs/0/sta"));
  CHECK(contracts::schema_declares(schema, "/legs/*/sta"));
  CHECK_FALSE(contracts::schema_declares(schema, "/legs/0/std"));
  const auto norms = norms_of(R"([
    {"id": "ok", "kind": "delivered_before", "field": "/std", "lead": "PT1H", "recipients": ["KMAR"]},
    {"id": "not-a-time", "kind": "delivered_before", "field": "/pier", "lead": "PT1H"},
    {"id": "missing", "kind": "submitted_within", "field": "/at", "within": "PT1H"},
    {"id": "stranger", "kind": "delivered_within", "within": "PT1H", "recipients": ["AIR-ZZ"]}])");
  const auto problems = contracts::lint_norms(norms, schema, {"KMAR", "DVO"});
  REQUIRE(problems.size() == 3);
  CHECK_THAT(problems[0], Catch::Contains("not-a-time") && Catch::Contains("date-time"));
  CHECK_THAT(problems[1], Catch::Contains("missing") && Catch::Contains("not in the schema"));
  CHECK_THAT(problems[2], Catch::Contains("'AIR-ZZ' is not a consumer"));
}

// ---- Norms on two payload times: time_before, follow_up_at ----

namespace {

contracts::FollowUpSeen linked(const std::string& contract, const std::string& id, Millis accepted_at,
                               const std::string& sender, const std::string& payload) {
  return {contract, id, accepted_at, sender, payload};
}

// custody.handover.recorded's arrival norm, as in contracts/migration-chain.
const char* kArrivalNorm = R"([{"id": "arrived-by-latest-arrival", "kind": "time_before",
    "field": "/arrived_at", "before": "/latest_arrival_at", "reference": "transport.ordered",
    "match": "/transport_id", "when": {"/half": "giver"}}])";

MessageTimes giver_half(const char* arrived_at) {
  MessageTimes m;
  m.message_id = "handover-giver";
  m.payload = std::string(R"({"transport_id": "TRN-2025-000981", "half": "giver", "arrived_at": ")") +
              arrived_at + "\"}";
  m.accepted_at = at("2025-03-12T04:40:00+01:00");
  return m;
}

std::string order(const char* latest_arrival_at) {
  return std::string(R"({"transport_id": "TRN-2025-000981", "pickup_at": "2025-03-12T01:30:00+01:00",)"
                     R"( "latest_arrival_at": ")") + latest_arrival_at + "\"}";
}

// departure.scheduled's removability window, as in contracts/migration-chain.
const char* kRemovabilityNorm = R"([{"id": "removability-checked-within-24h-before-std",
    "kind": "follow_up_at", "expects": ["removability.checked"], "match": "/departure_id",
    "at": "/checked_at", "before": "/std", "lead": "PT3H", "window": "PT24H", "grace": "PT1H"}])";

std::string check_at(const char* checked_at) {
  return std::string(R"({"departure_id": "DEP-2025-000417", "checked_at": ")") + checked_at + "\"}";
}

}  // namespace

TEST_CASE("a time within one payload after the deadline in the same payload is met late by the difference",
          "[contracts][norms][payload-times]") {
  const auto norms = norms_of(R"([{"id": "transfer-by-deadline", "kind": "time_before",
      "field": "/transferred_at", "before": "/transfer_deadline", "lead": "PT0S"}])");
  MessageTimes m;
  m.message_id = "dublin-1";
  m.accepted_at = at("2025-10-02T12:00:00Z");
  // A whole date as the deadline: the transfer may happen any time on that day (UTC).
  m.payload = R"({"transferred_at": "2025-09-30T23:30:00Z", "transfer_deadline": "2025-09-30"})";
  CHECK(contracts::evaluate_norms(norms, m, m.accepted_at).violations.empty());
  m.payload = R"({"transferred_at": "2025-10-01T02:15:00Z", "transfer_deadline": "2025-09-30"})";
  auto report = contracts::evaluate_norms(norms, m, m.accepted_at);
  REQUIRE(report.violations.size() == 1);
  const auto& v = report.violations[0];
  CHECK(v.kind == NormKind::kTimeBefore);
  CHECK(v.due_at == at("2025-10-01T00:00:00Z"));
  CHECK(v.done_at == at("2025-10-01T02:15:00Z"));  // met late: the payload says when
  CHECK(v.late_by == 2 * kHour + 15 * kMinute);
  CHECK_THAT(v.explanation, Catch::Contains("/transferred_at") && Catch::Contains("2h 15m"));
  CHECK(report.pending.empty());
  // Not transferred yet: nothing to compare, nothing reported.
  m.payload = R"({"transfer_deadline": "2025-09-30"})";
  report = contracts::evaluate_norms(norms, m, m.accepted_at);
  CHECK(report.violations.empty());
  CHECK(report.problems.empty());
}

TEST_CASE("an arrival after the latest arrival time of the transport order is late, the order read "
          "from the linked message", "[contracts][norms][payload-times]") {
  const auto norms = norms_of(kArrivalNorm);
  MessageTimes m = giver_half("2025-03-12T04:25:00+01:00");

  SECTION("without the order the norm waits for it") {
    const auto report = contracts::evaluate_norms(norms, m, m.accepted_at);
    CHECK(report.violations.empty());
    CHECK(report.pending.empty());
    CHECK(report.waiting);
  }
  SECTION("the order's latest arrival decides; a corrected order replaces the first") {
    m.follow_ups = {linked("transport.ordered", "order-1", at("2025-03-10T09:00:00+01:00"), "DTV",
                           order("2025-03-12T04:30:00+01:00"))};
    CHECK(contracts::evaluate_norms(norms, m, m.accepted_at).violations.empty());
    m.follow_ups.push_back(linked("transport.ordered", "order-2", at("2025-03-11T09:00:00+01:00"), "DTV",
                                  order("2025-03-12T04:05:00+01:00")));
    const auto report = contracts::evaluate_norms(norms, m, m.accepted_at);
    REQUIRE(report.violations.size() == 1);
    const auto& v = report.violations[0];
    CHECK(v.norm_id == "arrived-by-latest-arrival");
    CHECK(v.due_at == at("2025-03-12T04:05:00+01:00"));
    CHECK(v.done_at == at("2025-03-12T04:25:00+01:00"));
    CHECK(v.late_by == 20 * kMinute);
    CHECK(v.late_party.empty());  // the caller names the sender of the handover
    CHECK_THAT(v.explanation, Catch::Contains("order-2"));
  }
  SECTION("the taker's half is not judged") {
    m.payload = R"({"transport_id": "TRN-2025-000981", "half": "taker", "arrived_at": "2025-03-12T09:00:00+01:00"})";
    m.follow_ups = {linked("transport.ordered", "order-1", 1, "DTV", order("2025-03-12T04:05:00+01:00"))};
    CHECK(contracts::evaluate_norms(norms, m, m.accepted_at).violations.empty());
  }
}

TEST_CASE("a removability check counts only inside its window before STD, judged by its checked_at",
          "[contracts][norms][payload-times]") {
  const auto norms = norms_of(kRemovabilityNorm);
  MessageTimes m = departure(at("2025-03-08T10:00:00+01:00"));  // STD 2025-03-12T07:05+01:00
  const Millis due = at("2025-03-12T04:05:00+01:00");           // STD - 3 h

  SECTION("nothing yet: pending until the deadline plus the grace to report it") {
    const auto report = contracts::evaluate_norms(norms, m, at("2025-03-12T04:30:00+01:00"));
    CHECK(report.violations.empty());
    REQUIRE(report.pending.size() == 1);
    CHECK(report.pending[0].due_at == due + kHour);
    CHECK(report.pending[0].expected_contract == "removability.checked");
  }
  SECTION("nothing after the grace: open, overdue since the deadline") {
    const auto report = contracts::evaluate_norms(norms, m, due + 2 * kHour);
    REQUIRE(report.violations.size() == 1);
    CHECK(report.violations[0].done_at == 0);
    CHECK(report.violations[0].late_by == 2 * kHour);
    CHECK(report.violations[0].expected_contract == "removability.checked");
  }
  SECTION("a check two days before STD is too early to count") {
    m.follow_ups = {linked("removability.checked", "check-old", at("2025-03-10T08:00:00+01:00"), "IND",
                           check_at("2025-03-10T07:00:00+01:00"))};
    const auto report = contracts::evaluate_norms(norms, m, due + 2 * kHour);
    REQUIRE(report.violations.size() == 1);
    CHECK(report.violations[0].done_at == 0);
  }
  SECTION("a check inside the window meets it, whenever it was reported") {
    m.follow_ups = {linked("removability.checked", "check-ok", due + 30 * kMinute, "IND",
                           check_at("2025-03-11T16:45:00+01:00"))};
    const auto report = contracts::evaluate_norms(norms, m, due + 2 * kHour);
    CHECK(report.violations.empty());
    CHECK(report.pending.empty());
  }
  SECTION("a check after STD - 3 h is met late, by its checked_at, and names who checked") {
    m.follow_ups = {linked("removability.checked", "check-late", due + 2 * kHour, "IND",
                           check_at("2025-03-12T05:35:00+01:00"))};
    const auto report = contracts::evaluate_norms(norms, m, due + 2 * kHour);
    REQUIRE(report.violations.size() == 1);
    const auto& v = report.violations[0];
    CHECK(v.done_at == at("2025-03-12T05:35:00+01:00"));
    CHECK(v.late_by == 90 * kMinute);
    CHECK(v.late_party == "IND");
    CHECK_THAT(v.explanation, Catch::Contains("1h 30m late"));
  }
}

TEST_CASE("parse_norms names the problems of the payload-time kinds", "[contracts][norms][payload-times]") {
  const auto parsed = contracts::parse_norms(R"([
    {"id": "no-before", "kind": "time_before", "field": "/arrived_at"},
    {"id": "half-link", "kind": "time_before", "field": "/a", "before": "/b", "reference": "transport.ordered"},
    {"id": "no-at", "kind": "follow_up_at", "expects": ["x.y"], "match": "/id", "before": "/std"},
    {"id": "empty-window", "kind": "follow_up_at", "expects": ["x.y"], "match": "/id", "before": "/std",
     "at": "/t", "lead": "PT3H", "window": "PT2H"},
    {"id": "wrong-key", "kind": "time_before", "field": "/a", "before": "/b", "within": "PT1H"}])");
  CHECK(parsed.norms.empty());
  auto has = [&](const std::string& text) {
    for (const auto& p : parsed.problems) {
      if (p.find(text) != std::string::npos) return true;
    }
    return false;
  };
  CHECK(has("norm 'no-before': needs 'before'"));
  CHECK(has("norm 'half-link': 'reference' and 'match' go together"));
  CHECK(has("norm 'no-at': needs 'at'"));
  CHECK(has("norm 'empty-window': 'window' must be longer than 'lead'"));
  CHECK(has("norm 'wrong-key': 'within' is not a key of a time_before norm"));
}

TEST_CASE("lint checks the payload-time pointers here and in the linked contract",
          "[contracts][norms][payload-times]") {
  const std::string handover = R"({"type": "object", "properties": {
      "transport_id": {"type": "string"}, "half": {"type": "string"},
      "arrived_at": {"type": "string", "format": "date-time"}, "seal": {"type": "string"}}})";
  const std::string ordered = R"({"type": "object", "properties": {"transport_id": {"type": "string"},
      "latest_arrival_at": {"type": "string", "format": "date-time"},
      "deadline_day": {"type": "string", "format": "date"}, "note": {"type": "string"}}})";
  const auto norms = norms_of(R"([
    {"id": "ok", "kind": "time_before", "field": "/arrived_at", "before": "/latest_arrival_at",
     "reference": "transport.ordered", "match": "/transport_id"},
    {"id": "day-ok", "kind": "time_before", "field": "/arrived_at", "before": "/deadline_day",
     "reference": "transport.ordered", "match": "/transport_id"},
    {"id": "field-not-time", "kind": "time_before", "field": "/seal", "before": "/latest_arrival_at",
     "reference": "transport.ordered", "match": "/transport_id"},
    {"id": "before-not-time", "kind": "time_before", "field": "/arrived_at", "before": "/note",
     "reference": "transport.ordered", "match": "/transport_id"},
    {"id": "before-absent", "kind": "time_before", "field": "/arrived_at", "before": "/gone",
     "reference": "transport.ordered", "match": "/transport_id"}])");
  const auto here = contracts::lint_norms(norms, handover, {});
  REQUIRE(here.size() == 1);
  CHECK_THAT(here[0], Catch::Contains("field-not-time") && Catch::Contains("date-time"));
  std::vector<std::string> linked_problems;
  for (const auto& n : norms) {
    for (const auto& p : contracts::lint_linked_times(n, "transport.ordered", ordered)) linked_problems.push_back(p);
  }
  REQUIRE(linked_problems.size() == 2);
  CHECK_THAT(linked_problems[0], Catch::Contains("before-not-time") && Catch::Contains("date-time or date"));
  CHECK_THAT(linked_problems[1], Catch::Contains("before-absent") && Catch::Contains("not in transport.ordered"));
  // follow_up_at's `at` must be a date-time in the follow-up.
  const auto window = norms_of(R"([{"id": "w", "kind": "follow_up_at", "expects": ["transport.ordered"],
      "match": "/transport_id", "at": "/deadline_day", "before": "/arrived_at"}])");
  const auto at_problems = contracts::lint_linked_times(window[0], "transport.ordered", ordered);
  REQUIRE(at_problems.size() == 1);
  CHECK_THAT(at_problems[0], Catch::Contains("'at' /deadline_day must have format date-time in"));
}

TEST_CASE("a whole date as a deadline lasts to the end of that day in UTC", "[contracts][norms][payload-times]") {
  CHECK(contracts::parse_deadline("2025-09-30") == at("2025-10-01T00:00:00Z"));
  CHECK(contracts::parse_deadline("2025-09-30T12:00:00+02:00") == at("2025-09-30T10:00:00Z"));
  CHECK_FALSE(contracts::parse_deadline("2025-02-30"));
  CHECK_FALSE(contracts::parse_deadline("soon"));
}

TEST_CASE("a follow-up met in time by its payload time says so, so an open record can be closed",
          "[contracts][norms][payload-times]") {
  const auto norms = norms_of(kRemovabilityNorm);
  MessageTimes m = departure(at("2025-03-08T10:00:00+01:00"));
  m.follow_ups = {linked("removability.checked", "check-ok", at("2025-03-12T06:00:00+01:00"), "IND",
                         check_at("2025-03-11T16:45:00+01:00"))};
  const auto report = contracts::evaluate_norms(norms, m, at("2025-03-12T06:00:00+01:00"));
  CHECK(report.violations.empty());
  REQUIRE(report.met_in_time.size() == 1);
  const auto v = report.met_in_time[0].as_violation(NormKind::kFollowUpAt);
  CHECK(v.done_at == at("2025-03-11T16:45:00+01:00"));
  CHECK(v.due_at == at("2025-03-12T04:05:00+01:00"));
  CHECK(v.late_by == 0);
  CHECK(v.late_party == "IND");
  CHECK(v.key("dep") == "dep/removability-checked-within-24h-before-std/removability.checked");
}
