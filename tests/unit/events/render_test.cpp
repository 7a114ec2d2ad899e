#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "broker/audit/replay.h"
#include "broker/events/legacy.h"
#include "broker/events/render.h"
#include "tests/unit/audit/removal_case.h"
#include "tests/unit/events/todays_rows.h"

// Every rendering generated from the types must be what today's replay prints for the same row,
// so that replay, `keten log export` readers and the docs' examples keep working when they move.

namespace {

struct Pair {
  broker::audit::LogRecord row;  // as the store holds it today, with its seq
  broker::events::Event event;   // the same, typed
};

std::vector<Pair> pairs() {
  std::vector<Pair> out;
  std::uint64_t seq = 0;
  for (auto row : events_test::todays_rows()) {
    row.seq = ++seq;
    row.hash = std::string(64, 'f');
    auto event = broker::events::from_legacy_row(events_test::legacy(row));
    REQUIRE(event);
    out.push_back({row, *event});
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

}  // namespace

TEST_CASE("the text line is the line replay prints for the event", "[events][render]") {
  for (const auto& [row, event] : pairs()) {
    INFO(row.event);
    broker::audit::Timeline t;
    t.query.case_ref = row.case_ref;
    t.events = {{row.seq, event}};
    const std::string text = broker::audit::render_text(t, broker::audit::VerifyReport{});
    // "Case ...", the verification line, a blank line, then the event's line (whose sentence may
    // itself hold a newline a partner wrote), then a blank line.
    const std::string header = text.substr(0, text.find("\n\n") + 2);
    CHECK(text.substr(header.size(), text.find("\n\nNorm violations") + 1 - header.size()) ==
          broker::events::text_line(event, row.seq) + "\n");
  }
}

TEST_CASE("the JSON detail and event object are replay's and the row's", "[events][render]") {
  for (const auto& [row, event] : pairs()) {
    INFO(row.event << " " << row.detail);
    CHECK(broker::events::detail_json(event) == row.detail);
    broker::audit::Timeline t;
    t.query.case_ref = row.case_ref;
    t.events = {{row.seq, event}};
    t.hashes[row.seq] = row.hash;
    const auto replay = nlohmann::json::parse(broker::audit::render_json(t, broker::audit::VerifyReport{}));
    CHECK(broker::events::event_object(event, row.seq, row.hash) == replay["events"][0]);
  }
}

TEST_CASE("the HTML card and row attributes are replay's", "[events][render]") {
  for (const auto& [row, event] : pairs()) {
    INFO(row.event);
    // Built as replay builds it, so the partner lanes are there.
    const auto t = broker::audit::build_timeline({{{row.seq, event}}, {}}, broker::audit::ReplayQuery{row.case_ref, "", 0});
    REQUIRE(t.events.size() == 1);
    const std::string page = broker::audit::render_html(t, broker::audit::VerifyReport{});
    CHECK_THAT(page, Catch::Contains("<tr " + broker::events::html_row_attributes(event, row.seq) + ">"));
    CHECK_THAT(page, Catch::Contains(broker::events::html_card(event)));
  }
}

TEST_CASE("the HTML card escapes what partners wrote", "[events][render][hostile]") {
  broker::events::Event e;
  e.recipient = "<script>";
  e.contract = "a&b";
  e.record = broker::events::Nacked{"\"quoted\" <b>'x'</b>"};
  const std::string card = broker::events::html_card(e);
  CHECK(card.find("<script>") == std::string::npos);
  CHECK(card.find("<b>'x'") == std::string::npos);
  CHECK_THAT(card, Catch::Contains("&lt;script&gt; refused a&amp;b v0"));
}

TEST_CASE("a migrated event with a legacy detail renders that detail", "[events][render]") {
  broker::events::LegacyRow row;
  row.event = "alert";
  row.detail = R"({"kind":"backlog","subject":"DVO","value":12,"threshold":10})";  // integers, an older writer
  auto e = broker::events::from_legacy_row(row);
  REQUIRE(e);
  REQUIRE(e->legacy_detail);
  CHECK(broker::events::detail_json(*e) == row.detail);
  CHECK(broker::events::describe(*e) == "alert " + row.detail);
  CHECK(broker::events::detail_object(*e)["value"] == 12);
}

TEST_CASE("replay's scripted removal case renders the same from typed events", "[events][render]") {
  auto rows = test_support::removal_case_rows();
  std::uint64_t seq = 0;
  for (auto& row : rows) row.seq = ++seq;
  auto log = broker::audit::event_log(rows);
  REQUIRE(log);
  const auto t = broker::audit::build_timeline(*log, broker::audit::ReplayQuery{test_support::kCase, "", 0});
  const auto lines = lines_of(broker::audit::render_text(t, broker::audit::VerifyReport{}));
  REQUIRE(lines.size() > 3 + t.events.size());
  for (std::size_t i = 0; i < t.events.size(); ++i) {
    const auto& e = t.events[i];
    INFO(e.seq << " " << broker::events::to_string(e.event.kind()));
    CHECK_FALSE(e.event.legacy_detail.has_value());
    CHECK(broker::events::text_line(e.event, e.seq) == lines[3 + i]);
  }
}

TEST_CASE("the JSON event object carries the trace, span and processing activity when set", "[events][render]") {
  broker::events::Event e;
  e.record = broker::events::Routed{};
  CHECK_FALSE(broker::events::event_object(e, 1, "").contains("trace_id"));
  e.trace_id = broker::events::TraceId{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                       0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  e.span_id = broker::events::SpanId{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  e.processing_activity = "https://example.org/processing/removal";
  const auto j = broker::events::event_object(e, 1, "");
  CHECK(j["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(j["span_id"] == "00f067aa0ba902b7");
  CHECK(j["processing_activity"] == "https://example.org/processing/removal");
}

TEST_CASE("evidence values render in text, JSON and HTML; a sealed one only when the renderer can open it", "[events][render]") {
  broker::events::Event e;
  e.at = events_test::kT0;
  e.message_id = "m-hap-1";
  e.contract = "health.action_perspective";
  e.version = 1;
  e.case_ref = "9990012345";
  e.sender = "GZA";
  broker::events::Accepted a;
  a.recipients = {"DVO"};
  a.evidence = {{"/valid_until", "\"2025-03-20T00:00:00Z\"", false}, {"/fit_to_travel", "ciphertext", true}};
  e.record = a;

  CHECK(broker::events::describe(e) ==
        "broker accepted health.action_perspective v1 (id m-hap-1) from GZA for DVO; evidence "
        "/valid_until = \"2025-03-20T00:00:00Z\", /fit_to_travel (sealed)");
  const broker::events::Unsealer unseal = [](const broker::events::Event&, const broker::events::Evidence& v)
      -> std::optional<std::string> { return v.value == "ciphertext" ? std::optional<std::string>("false") : std::nullopt; };
  CHECK_THAT(broker::events::describe(e, unseal), Catch::EndsWith("/fit_to_travel = false (sealed, opened)"));
  CHECK_THAT(broker::events::text_line(e, 3, unseal), Catch::EndsWith("/fit_to_travel = false (sealed, opened)"));

  const auto closed = broker::events::event_object(e, 3, "h");
  REQUIRE(closed.contains("evidence"));
  CHECK(closed["evidence"][0]["value"] == "2025-03-20T00:00:00Z");
  CHECK(closed["evidence"][1]["sealed"] == true);
  CHECK_FALSE(closed["evidence"][1].contains("value"));
  CHECK(closed["detail"]["evidence"][1]["sealed"] == "63697068657274657874");  // hex, never the value
  const auto opened = broker::events::event_object(e, 3, "h", unseal);
  CHECK(opened["evidence"][1]["value"] == false);

  const std::string card = broker::events::html_card(e);
  CHECK_THAT(card, Catch::Contains("/valid_until = &quot;2025-03-20T00:00:00Z&quot;, /fit_to_travel (sealed)"));
  CHECK_THAT(broker::events::html_card(e, unseal), Catch::Contains("/fit_to_travel = false (sealed, opened)"));

  // Without evidence nothing changes: no key in the event object.
  a.evidence.clear();
  e.record = a;
  CHECK_FALSE(broker::events::event_object(e, 3, "h").contains("evidence"));
}

TEST_CASE("the hand-written hot details are exactly nlohmann's text", "[events][render]") {
  // Parsing and dumping again gives nlohmann's one form (keys in byte order, no spaces, its
  // escapes): the hand-written text must already be it.
  const std::vector<std::string> texts{"", "plain", "quote \" and \\ back", "tab\tnew\nline\r\x01\x1f\x7f",
                                       "ünïcode €", "slash / and ~"};
  for (const auto& t : texts) {
    for (bool full : {false, true}) {
      INFO(t << " full=" << full);
      broker::events::Accepted a;
      a.recipients = {t, "KMAR"};
      if (full) {
        a.correlation_id = t;
        a.causation_id = t + "c";
        a.supersedes = t + "s";
        a.origin = t + "o";
        a.occurred_at = -5;
        a.recorded_at = 1764400000000;
        a.skipped = {{t, t}, {"DJI", "why"}};
        a.assurance = broker::events::Assurance::kHttps;
      }
      broker::events::Event e;
      e.record = a;
      const std::string accepted = broker::events::detail_json(e);
      CHECK(nlohmann::json::parse(accepted).dump() == accepted);
      e.record = broker::events::Redacted{{{"/" + t, t}, {"/x", "medical:no-consent"}}, t};
      const std::string redacted = broker::events::detail_json(e);
      CHECK(nlohmann::json::parse(redacted).dump() == redacted);
      e.record = broker::events::PolicyAllowed{{}, t};
      const std::string allowed = broker::events::detail_json(e);
      CHECK(nlohmann::json::parse(allowed).dump() == allowed);
    }
  }
  broker::events::Event e;
  e.record = broker::events::Received{4096};
  CHECK(broker::events::detail_json(e) == R"({"bytes":4096})");
  e.record = broker::events::Redelivered{7};
  CHECK(broker::events::detail_json(e) == R"({"attempt":7})");
}
