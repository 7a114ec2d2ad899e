// Replay of the scripted removal case: the case timeline and the as-of answers, event by event.
#include "broker/audit/replay.h"

#include <catch2/catch.hpp>

#include <stdexcept>

#include "broker/events/render.h"
#include "tests/unit/audit/removal_case.h"

namespace {

using broker::audit::build_timeline;
using broker::audit::ReplayQuery;
using Catch::Matchers::Contains;
using test_support::kCase;
using test_support::kT0;

std::vector<std::uint64_t> seqs(const broker::audit::Timeline& t) {
  std::vector<std::uint64_t> out;
  for (const auto& r : t.events) out.push_back(r.seq);
  return out;
}

// The rows typed at the one boundary readers use (log_events.h).
broker::audit::EventLog typed(const std::vector<broker::audit::LogRecord>& rows) {
  auto log = broker::audit::event_log(rows);
  if (!log) throw std::runtime_error(log.error().detail);
  return std::move(*log);
}

const auto kRows = typed(test_support::seal_all(test_support::removal_case_rows()));

}  // namespace

TEST_CASE("the case timeline holds every event of the case in log order and nothing else", "[audit]") {
  const auto t = build_timeline(kRows, {kCase, "", 0});
  CHECK(seqs(t) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17});
  CHECK(t.partners == std::vector<std::string>{"DTV", "KMAR", "DVO"});
  CHECK(t.violations.empty());
  CHECK(build_timeline(kRows, {"no-such-case", "", 0}).events.empty());
}

TEST_CASE("the timeline describes rejections with their reasons", "[audit]") {
  const auto t = build_timeline(kRows, {kCase, "", 0});
  REQUIRE(t.events[8].seq == 10);
  CHECK(broker::events::describe(t.events[8].event) ==
        "broker rejected transport.ordered v1 (id m-bad) from KMAR: not_owner, KMAR may not produce transport.ordered");
  CHECK(broker::events::describe(t.events[1].event) ==
        "broker accepted departure.scheduled v1 (id m-depart) from DTV for KMAR, DVO");
  CHECK(broker::events::describe(t.events[6].event) == "KMAR acknowledged departure.scheduled v1 (id m-depart)");
  CHECK(broker::events::lane_of(t.events[6].event) == "KMAR");
  CHECK(broker::events::lane_of(t.events[0].event) == "DTV");
}

TEST_CASE("as of a moment, a partner's view holds exactly what it had received and acknowledged", "[audit]") {
  SECTION("DVO before anything reached it") {
    const auto t = build_timeline(kRows, {kCase, "DVO", kT0 + 500});
    CHECK(t.received.empty());
    CHECK(seqs(t) == std::vector<std::uint64_t>{4});  // only the routing towards it
  }
  SECTION("DVO after the first deliveries, before any acknowledgement") {
    const auto t = build_timeline(kRows, {kCase, "DVO", kT0 + 10'000});
    REQUIRE(t.received.size() == 2);
    CHECK(t.received[0].message_id == "m-departure");
    CHECK(t.received[0].sender == "DTV");
    CHECK(t.received[0].delivered_at == kT0 + 1000);
    CHECK(t.received[0].attempts == 1);
    CHECK(t.received[0].acked_at == 0);
    CHECK(t.received[0].accepted_at == kT0);
    CHECK(t.received[1].message_id == "m-transport");
    CHECK(t.received[1].delivered_at == kT0 + 6000);
    CHECK(t.received[1].acked_at == 0);
    CHECK(seqs(t) == std::vector<std::uint64_t>{4, 6, 13, 14});
    CHECK(t.sent.empty());
  }
  SECTION("DVO at the end") {
    const auto t = build_timeline(kRows, {kCase, "DVO", 0});
    REQUIRE(t.received.size() == 2);
    CHECK(t.received[0].attempts == 2);
    CHECK(t.received[0].acked_at == kT0 + 32'000);
    CHECK(t.received[1].attempts == 1);
    CHECK(t.received[1].acked_at == kT0 + 33'000);
    CHECK(seqs(t) == std::vector<std::uint64_t>{4, 6, 13, 14, 15, 16, 17});
  }
  SECTION("KMAR between delivery and acknowledgement, and after") {
    auto t = build_timeline(kRows, {kCase, "KMAR", kT0 + 1500});
    REQUIRE(t.received.size() == 1);
    CHECK(t.received[0].acked_at == 0);
    t = build_timeline(kRows, {kCase, "KMAR", kT0 + 2000});
    REQUIRE(t.received.size() == 1);
    CHECK(t.received[0].acked_at == kT0 + 2000);
    CHECK(t.sent.empty());  // its transport.ordered was rejected
    t = build_timeline(kRows, {kCase, "KMAR", 0});
    CHECK(seqs(t) == std::vector<std::uint64_t>{3, 5, 7, 9, 10});
  }
  SECTION("DTV sent two accepted messages and received nothing") {
    const auto t = build_timeline(kRows, {kCase, "DTV", 0});
    REQUIRE(t.sent.size() == 2);
    CHECK(t.sent[0].message_id == "m-departure");
    CHECK(t.sent[1].message_id == "m-transport");
    CHECK(t.received.empty());
  }
}

TEST_CASE("text, json and html renderings carry every event", "[audit]") {
  const auto t = build_timeline(kRows, {kCase, "DVO", 0});
  broker::audit::VerifyReport ok;
  ok.rows = ok.last_seq = ok.signed_up_to = 17;
  const std::string text = broker::audit::render_text(t, ok);
  CHECK_THAT(text, Contains("#16") && Contains("DVO acknowledged departure.scheduled") && Contains("log intact"));
  CHECK_THAT(text, Contains("DVO had received 2 message(s)"));
  const std::string json = broker::audit::render_json(t, ok);
  CHECK_THAT(json, Contains("\"seq\": 17") && Contains("\"received\""));
  const std::string html = broker::audit::render_html(t, ok);
  for (auto seq : seqs(t)) CHECK_THAT(html, Contains("data-seq=\"" + std::to_string(seq) + "\""));
  CHECK_THAT(html, !Contains("http://") && !Contains("https://") && !Contains("<script"));
}

TEST_CASE("a changed shortcut row of the store is named in every rendering, not hidden on standard error",
          "[audit][tamper]") {
  auto t = build_timeline(kRows, {kCase, "", 0});
  broker::audit::VerifyReport ok;
  ok.rows = ok.last_seq = ok.signed_up_to = 17;
  const std::string row = "log_leaves row first_seq=1 (its level-0 hash for events up to seq 256 is not the events' own)";
  SECTION("an intact store: no finding in any rendering") {
    CHECK_THAT(broker::audit::render_text(t, ok), !Contains("FINDING"));
    CHECK_THAT(broker::audit::render_json(t, ok), !Contains("damaged_shortcuts"));
    CHECK_THAT(broker::audit::render_html(t, ok), !Contains("damaged-shortcuts"));
  }
  SECTION("a changed row: named in text, json and html") {
    t.damaged_shortcuts = {row, "<b>log_node_tiles row id=7</b>"};
    const std::string text = broker::audit::render_text(t, ok);
    CHECK_THAT(text, Contains("FINDING: 2 stored shortcut row(s)") && Contains("  - " + row + "\n"));
    const std::string json = broker::audit::render_json(t, ok);
    CHECK_THAT(json, Contains("\"damaged_shortcuts\": [") && Contains("its level-0 hash for events up to seq 256"));
    const std::string html = broker::audit::render_html(t, ok);
    CHECK_THAT(html, Contains("id=\"damaged-shortcuts\"") && Contains("<li>log_leaves row first_seq=1"));
    CHECK_THAT(html, Contains("&lt;b&gt;log_node_tiles") && !Contains("<b>log_node_tiles"));
  }
}

TEST_CASE("html rendering escapes what partners wrote", "[audit][hostile]") {
  auto rows = test_support::removal_case_rows();
  rows[9].detail = R"({"code":"schema_violation","detail":"<script>alert(1)</script>","errors":[]})";
  const auto t = build_timeline(typed(test_support::seal_all(rows)), {kCase, "", 0});
  const std::string html = broker::audit::render_html(t, {});
  CHECK_THAT(html, !Contains("<script>alert"));
  CHECK_THAT(html, Contains("&lt;script&gt;"));
}

TEST_CASE("a partner's view lists the fields policy removed from its deliveries", "[audit][policy]") {
  using test_support::case_row;
  std::vector<broker::audit::LogRecord> rows = {
      case_row(0, "accepted", "m-health", "health.action-perspective.published", "GZA", "", 0,
               R"({"recipients":["DVO","GZA2"]})"),
      case_row(0, "routed", "m-health", "health.action-perspective.published", "GZA", "DVO", 1),
      case_row(1000, "delivered", "m-health", "health.action-perspective.published", "GZA", "DVO", 1, R"({"attempt":1})"),
      case_row(1000, "redacted", "m-health", "health.action-perspective.published", "GZA", "DVO", 1,
               R"({"removed":[{"pointer":"/fit_to_travel","rule":"medical:no-consent"}],"basis":""})"),
      case_row(2000, "delivered", "m-health", "health.action-perspective.published", "GZA", "DVO", 1, R"({"attempt":2})"),
      case_row(2000, "redacted", "m-health", "health.action-perspective.published", "GZA", "DVO", 1,
               R"({"removed":[{"pointer":"/fit_to_travel","rule":"medical:no-consent"}],"basis":""})"),
      case_row(2500, "acknowledged", "m-health", "health.action-perspective.published", "GZA", "DVO", 1)};
  const auto sealed = typed(test_support::seal_all(rows));
  const auto t = build_timeline(sealed, {kCase, "DVO", 0});
  REQUIRE(t.received.size() == 1);
  CHECK(t.received[0].removed_fields == std::vector<std::string>{"/fit_to_travel"});
  CHECK(t.received[0].attempts == 2);
  CHECK(broker::events::describe(sealed.events[3].event) ==
        "policy removed /fit_to_travel (medical:no-consent) from health.action-perspective.published v1 (id m-health) "
        "for DVO");
}

TEST_CASE("a send that never left the broker is not something the partner received", "[audit][regression]") {
  // The broker logs `delivered` when it queues the frame and `undelivered` when the socket refused
  // it (the connection was gone): the partner cannot have read it. Replay knew only the names
  // delivered and redelivered, so it said the partner had received the message at the first time.
  using test_support::case_row;
  const std::string c = "departure.scheduled";
  std::vector<broker::audit::LogRecord> rows = {
      case_row(0, "accepted", "m-1", c, "DTV", "", 0, R"({"recipients":["KMAR"]})"),
      case_row(0, "routed", "m-1", c, "DTV", "KMAR", 1),
      case_row(1000, "delivered", "m-1", c, "DTV", "KMAR", 1, R"({"attempt":1})"),
      case_row(1001, "undelivered", "m-1", c, "DTV", "KMAR", 1, R"({"attempt":1,"reason":"connection gone"})"),
      case_row(5000, "delivered", "m-1", c, "DTV", "KMAR", 1, R"({"attempt":1})"),
      case_row(6000, "redelivered", "m-1", c, "DTV", "KMAR", 1, R"({"attempt":2})"),
      case_row(6001, "undelivered", "m-1", c, "DTV", "KMAR", 1, R"({"attempt":2,"reason":"connection gone"})"),
      case_row(7000, "acknowledged", "m-1", c, "DTV", "KMAR", 1)};
  const auto log = typed(test_support::seal_all(rows));
  SECTION("as of just after the refused send: nothing received") {
    const auto t = build_timeline(log, {kCase, "KMAR", kT0 + 2000});
    CHECK(t.received.empty());
  }
  SECTION("later: received at the send that left, each refused send not counted") {
    const auto t = build_timeline(log, {kCase, "KMAR", 0});
    REQUIRE(t.received.size() == 1);
    CHECK(t.received[0].delivered_at == kT0 + 5000);
    CHECK(t.received[0].attempts == 1);
    CHECK(t.received[0].acked_at == kT0 + 7000);
    CHECK(t.received[0].accepted_at == kT0);
  }
}

TEST_CASE("a case's timeline shows the broker start in effect at its first event and each restart during it",
          "[audit]") {
  using test_support::case_row;
  auto started = [](contracts::Millis offset, const std::string& clock) {
    return case_row(offset, "started", "", "", "", "", 0,
                    R"({"config_digest":"aa","contracts_digest":"bb","clock":{"source":")" + clock +
                        R"(","sync":"synchronized","basis":"adjtimex"}})",
                    "");
  };
  std::vector<broker::audit::LogRecord> rows = {
      started(0, "first"),                                                                            // 1
      started(10, "second"),                                                                          // 2: in effect
      case_row(100, "accepted", "m1", "departure.scheduled", "DTV", "", 0, R"({"recipients":["KMAR"]})"),  // 3
      started(200, "third"),                                                                          // 4: during
      case_row(300, "delivered", "m1", "departure.scheduled", "DTV", "KMAR", 1, R"({"attempt":1})"),  // 5
      started(400, "fourth"),                                                                         // 6: after
  };
  const auto sealed = test_support::seal_all(rows);
  const auto t = build_timeline(typed(sealed), {kCase, "", 0});
  CHECK(seqs(t) == std::vector<std::uint64_t>{2, 3, 4, 5});
  CHECK_THAT(broker::audit::render_text(t, {}), Contains("clock second") && Contains("clock third") &&
                                                     !Contains("clock first") && !Contains("clock fourth"));
  // A partner's view keeps them too (KMAR was not party to the acceptance); an as-of cut ends the
  // case's span there.
  CHECK(seqs(build_timeline(typed(sealed), {kCase, "KMAR", 0})) == std::vector<std::uint64_t>{2, 4, 5});
  CHECK(seqs(build_timeline(typed(sealed), {kCase, "", sealed[2].at})) == std::vector<std::uint64_t>{2, 3});
  // Typed for one case only, the starts are kept.
  auto one_case = broker::audit::event_log(sealed, kCase);
  REQUIRE(one_case);
  CHECK(seqs(build_timeline(*one_case, {kCase, "", 0})) == std::vector<std::uint64_t>{2, 3, 4, 5});
}
