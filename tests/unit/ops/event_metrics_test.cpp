#include "broker/ops/event_metrics.h"

#include <catch2/catch.hpp>

#include <stdexcept>

#include "broker/audit/log_events.h"

using namespace broker::ops;

namespace {

// A row as the store holds it, typed at the boundary the metrics read through (audit/log_events.h).
broker::events::Event row(const char* event, const char* contract = "test.notice", const char* recipient = "",
                          const char* detail = "") {
  broker::audit::LogRecord r;
  r.event = event;
  r.contract = contract;
  r.recipient = recipient;
  r.detail = detail;
  auto e = broker::audit::logged_event(r);
  if (!e) throw std::runtime_error(e.error().detail);
  return e->event;
}

}  // namespace

TEST_CASE("committed handover-log rows move the message, delivery and dead-letter counters", "[ops]") {
  MetricsRegistry m;
  describe_broker_metrics(m);
  EventTally tally;
  for (const auto& r : {row("received"), row("accepted"), row("routed", "test.notice", "BRAVO"), row("accepted"),
                        row("duplicate"), row("rejected", "test.notice", "", R"({"code":"schema_violation","errors":[]})"),
                        row("rejected", "", "", R"({"code":"malformed_envelope"})"), row("rejected", "x", "", "not json"),
                        row("delivered", "test.notice", "BRAVO"), row("redelivered", "test.notice", "BRAVO"),
                        row("acknowledged", "test.notice", "BRAVO"), row("nacked", "test.notice", "BRAVO"),
                        row("dead_lettered", "test.notice", "CHARLIE"), row("dead_lettered", "test.notice", "CHARLIE")}) {
    count_event(m, tally, r);
  }
  CHECK(m.value("keten_messages_total", {{"contract", "test.notice"}, {"outcome", "accepted"}}) == 2);
  CHECK(m.value("keten_messages_total", {{"contract", "test.notice"}, {"outcome", "duplicate"}}) == 1);
  CHECK(m.value("keten_messages_total", {{"contract", "test.notice"}, {"outcome", "rejected"}}) == 1);
  CHECK(m.value("keten_rejections_total", {{"contract", "test.notice"}, {"reason", "schema_violation"}}) == 1);
  CHECK(m.value("keten_rejections_total", {{"contract", ""}, {"reason", "malformed_envelope"}}) == 1);
  CHECK(m.value("keten_rejections_total", {{"contract", "x"}, {"reason", "unknown"}}) == 1);
  CHECK(m.value("keten_deliveries_total", {{"contract", "test.notice"}, {"recipient", "BRAVO"}}) == 1);
  CHECK(m.value("keten_redeliveries_total", {{"contract", "test.notice"}, {"recipient", "BRAVO"}}) == 1);
  CHECK(m.value("keten_acks_total", {{"contract", "test.notice"}, {"recipient", "BRAVO"}}) == 1);
  CHECK(m.value("keten_nacks_total", {{"contract", "test.notice"}, {"recipient", "BRAVO"}}) == 1);
  CHECK(m.value("keten_dead_letters_total", {{"contract", "test.notice"}, {"recipient", "CHARLIE"}}) == 2);
  CHECK(m.value("keten_handover_log_events_total", {{"event", "routed"}}) == 1);
  CHECK(m.value("keten_handover_log_events_total", {{"event", "rejected"}}) == 3);
  CHECK(tally.dead_letters == std::map<std::string, std::int64_t>{{"CHARLIE", 2}});
  CHECK(tally.norm_violations.empty());
}

TEST_CASE("norm violations count from norm_violated rows and from direct calls", "[ops]") {
  MetricsRegistry m;
  describe_broker_metrics(m);
  EventTally tally;
  count_event(m, tally, row("norm_violated", "return.decision", "", R"({"norm":"decision_within_8_weeks"})"));
  count_norm_violation(m, tally, "return.decision", "decision_within_8_weeks");
  CHECK(m.value("keten_norm_violations_total", {{"contract", "return.decision"}, {"norm", "decision_within_8_weeks"}}) == 2);
  CHECK(tally.norm_violations == std::map<std::string, std::int64_t>{{"return.decision", 2}});
}

TEST_CASE("alert rows count by kind", "[ops]") {
  MetricsRegistry m;
  describe_broker_metrics(m);
  EventTally tally;
  count_event(m, tally, row("alert", "", "BRAVO", R"({"kind":"backlog","subject":"BRAVO","value":6,"threshold":5})"));
  CHECK(m.value("keten_alerts_total", {{"kind", "backlog"}}) == 1);
}

TEST_CASE("a delivery expired by its contract's ttl counts as a dead letter and as expired", "[ops]") {
  MetricsRegistry m;
  describe_broker_metrics(m);
  EventTally tally;
  count_event(m, tally, row("dead_lettered", "test.notice", "BRAVO", R"({"attempt":0,"reason":"expired"})"));
  count_event(m, tally, row("dead_lettered", "test.notice", "BRAVO", R"({"attempt":5})"));
  CHECK(m.value("keten_dead_letters_total", {{"contract", "test.notice"}, {"recipient", "BRAVO"}}) == 2);
  CHECK(m.value("keten_expired_deliveries_total", {{"contract", "test.notice"}, {"recipient", "BRAVO"}}) == 1);
  CHECK(tally.dead_letters["BRAVO"] == 2);  // the dead_letters alert sees both
}

TEST_CASE("a shredded event counts one case in keten_cases_shredded_total", "[ops][retention]") {
  MetricsRegistry m;
  describe_broker_metrics(m);
  EventTally tally;
  broker::events::Event e;
  e.case_ref = "9990012345";
  e.record = broker::events::Shredded{{{"test.notice", 1, "P5Y", "Vw art. 107"}}, 2};
  count_event(m, tally, e);
  count_event(m, tally, e);
  CHECK(m.value("keten_cases_shredded_total", {}) == 2);
}

TEST_CASE("every family in docs/operations.md is declared with HELP text", "[ops]") {
  MetricsRegistry m;
  describe_broker_metrics(m);
  auto snap = m.snapshot();
  CHECK(snap.size() == 27);  // with keten_cases_shredded_total, keten_cases_on_hold and keten_frames_refused_total
  for (const auto& f : snap) {
    INFO(f.name);
    CHECK(f.name.rfind("keten_", 0) == 0);
    CHECK_FALSE(f.help.empty());
  }
}

namespace {

broker::events::Event send_event(broker::events::Record record, std::int64_t delivery_id) {
  broker::events::Event e;
  e.contract = "test.notice";
  e.recipient = "BRAVO";
  e.delivery_id = delivery_id;
  e.record = std::move(record);
  return e;
}

}  // namespace

TEST_CASE("a send the socket refused and repeated under the same number is counted once", "[ops]") {
  using namespace broker::events;
  MetricsRegistry m;
  describe_broker_metrics(m);
  EventTally tally;
  const Labels bravo{{"contract", "test.notice"}, {"recipient", "BRAVO"}};
  // Delivery 1: sent, refused by the socket, sent again with the same attempt number, acked.
  for (const auto& e : {send_event(Delivered{1}, 1), send_event(Undelivered{1, "connection gone"}, 1),
                        send_event(Delivered{1}, 1), send_event(Acknowledged{}, 1)}) {
    count_event(m, tally, e);
  }
  CHECK(m.value("keten_deliveries_total", bravo) == 1);
  // Delivery 2: a redelivery refused and repeated counts once as a redelivery.
  for (const auto& e : {send_event(Delivered{1}, 2), send_event(Redelivered{2}, 2),
                        send_event(Undelivered{2, "queue full"}, 2), send_event(Redelivered{2}, 2)}) {
    count_event(m, tally, e);
  }
  CHECK(m.value("keten_deliveries_total", bravo) == 2);
  CHECK(m.value("keten_redeliveries_total", bravo) == 1);
  CHECK(tally.undone_sends.empty());
  // Delivery 3: refused, then dead-lettered without another send: nothing is kept for it, and a
  // later delivery with another id counts as usual.
  count_event(m, tally, send_event(Delivered{1}, 3));
  count_event(m, tally, send_event(Undelivered{1, "gone"}, 3));
  count_event(m, tally, send_event(DeadLettered{1, "expired"}, 3));
  CHECK(tally.undone_sends.empty());
  count_event(m, tally, send_event(Delivered{1}, 4));
  CHECK(m.value("keten_deliveries_total", bravo) == 4);
}
