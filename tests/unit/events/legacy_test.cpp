#include <catch2/catch.hpp>

#include <set>

#include "broker/events/codec.h"
#include "broker/events/legacy.h"
#include "broker/events/render.h"
#include "tests/unit/events/todays_rows.h"

using broker::events::Event;
using broker::events::Kind;
using broker::events::LegacyRow;

TEST_CASE("every row today's code writes converts to a typed event and back byte for byte", "[events][legacy]") {
  std::set<Kind> kinds;
  for (const auto& record : events_test::todays_rows()) {
    const LegacyRow row = events_test::legacy(record);
    INFO(row.event << " " << row.detail);
    auto event = broker::events::from_legacy_row(row);
    REQUIRE(event);
    CHECK(broker::events::to_string(event->kind()) == row.event);
    // The typed fields alone give the detail back: nothing needed the legacy text.
    CHECK_FALSE(event->legacy_detail.has_value());
    CHECK(broker::events::detail_json(*event) == row.detail);
    CHECK(broker::events::to_legacy_row(*event) == row);
    // And through the bytes a leaf hash covers.
    auto decoded = broker::events::decode_event(broker::events::encode_event(*event));
    REQUIRE(decoded);
    CHECK(*decoded == *event);
    CHECK(broker::events::to_legacy_row(*decoded) == row);
    kinds.insert(event->kind());
  }
  CHECK(kinds.size() == broker::events::kLastKind);
}

TEST_CASE("the converter reads the typed fields a row's detail holds", "[events][legacy]") {
  const auto rows = events_test::todays_rows();
  auto find = [&](const std::string& name) {
    for (const auto& r : rows) {
      if (r.event == name) return *broker::events::from_legacy_row(events_test::legacy(r));
    }
    FAIL("no row " << name);
    return Event{};
  };
  const Event rejected = find("rejected");
  const auto& r = std::get<broker::events::Rejected>(rejected.record);
  CHECK(r.code == contracts::ErrorCode::kSchemaViolation);
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].pointer == "/std");
  CHECK(r.errors[1].reason == "missing \"person\"");
  CHECK(rejected.payload_digest.has_value());
  CHECK(broker::events::hex(*rejected.payload_digest) == events_test::kDigest);

  const auto started = std::get<broker::events::Started>(find("started").record);
  CHECK(started.partners == 7);
  CHECK_FALSE(started.previous_config_digest.has_value());

  const auto norm = std::get<broker::events::NormViolated>(find("norm_violated").record);
  CHECK(norm.kind == contracts::NormKind::kDeliveredBefore);
  CHECK(norm.is_open());
  CHECK(norm.by_ms == 120000);

  const auto alert = std::get<broker::events::Alert>(find("alert").record);
  CHECK(alert.kind == broker::events::AlertKind::kBacklog);
  CHECK(alert.value == 1250.0);

  const auto resent = std::get<broker::events::Resent>(find("resent").record);
  CHECK(resent.status == contracts::ReceiptStatus::kAccepted);
  CHECK(resent.target_log_seq == 4711);
}

TEST_CASE("a detail the typed fields do not give back is kept as legacy text, nothing lost", "[events][legacy]") {
  LegacyRow row;
  row.at = events_test::kT0;
  row.event = "received";
  row.message_id = "m-1";
  row.payload_digest = std::string(64, 'a');
  const std::string details[] = {
      R"({"bytes":120,"connection":"tcp://10.0.0.1"})",  // a field this version does not type
      R"({"bytes":"120"})",                              // a field of another type
      R"({ "bytes": 120 })",                             // other spacing
      "not json at all",
      R"([1,2])",
      "",  // no detail where the record would write one: kept as an empty legacy detail
  };
  for (const auto& detail : details) {
    INFO(detail);
    row.detail = detail;
    auto event = broker::events::from_legacy_row(row);
    REQUIRE(event);
    REQUIRE(event->legacy_detail.has_value());
    CHECK(*event->legacy_detail == detail);
    CHECK(broker::events::to_legacy_row(*event) == row);
    auto decoded = broker::events::decode_event(broker::events::encode_event(*event));
    REQUIRE(decoded);
    CHECK(broker::events::to_legacy_row(*decoded) == row);
  }
}

TEST_CASE("a row that cannot be typed is refused naming what is wrong", "[events][legacy]") {
  LegacyRow row;
  row.event = "delivred";  // a typo
  auto r = broker::events::from_legacy_row(row);
  REQUIRE_FALSE(r);
  CHECK(r.error().detail == "row event 'delivred' is no event kind");

  row.event = "delivered";
  for (const std::string& digest : {std::string(64, 'A'), std::string(63, 'a'), std::string(64, 'g'), std::string("abc")}) {
    row.payload_digest = digest;
    auto bad = broker::events::from_legacy_row(row);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().detail == "row payload_digest '" + digest + "' is not 64 lower-case hex characters");
  }
}

TEST_CASE("a read's purpose and the broker's clock source convert and render when given", "[events][legacy]") {
  LegacyRow read;
  read.at = events_test::kT0;
  read.event = "log_read";
  read.case_ref = "9990012345";
  read.detail = R"j({"command":"keten log replay --case 9990012345","purpose":"complaint 2025-17","user":"i@h (uid 1)"})j";
  auto e = broker::events::from_legacy_row(read);
  REQUIRE(e);
  CHECK_FALSE(e->legacy_detail.has_value());
  CHECK(std::get<broker::events::LogRead>(e->record).purpose == "complaint 2025-17");
  CHECK(broker::events::describe(*e) == "log read with 'keten log replay --case 9990012345' by i@h (uid 1) for complaint 2025-17");
  CHECK(broker::events::to_legacy_row(*broker::events::decode_event(broker::events::encode_event(*e))) == read);

  LegacyRow started;
  started.event = "started";
  started.detail = R"({"clock_source":"chrony:ntp1.example","clock_synced":true,"config_changed":false,)"
                   R"("config_digest":"c","contracts":1,"contracts_changed":false,"contracts_digest":"d",)"
                   R"("partners":2,"signing_key":""})";
  auto s = broker::events::from_legacy_row(started);
  REQUIRE(s);
  CHECK_FALSE(s->legacy_detail.has_value());
  CHECK(std::get<broker::events::Started>(s->record).clock_synced);
  CHECK(broker::events::to_legacy_row(*broker::events::decode_event(broker::events::encode_event(*s))) == started);
}

TEST_CASE("an accepted event's evidence and assurance convert to a schema-4 row and back unchanged", "[events][legacy]") {
  broker::events::Event e;
  e.at = events_test::kT0;
  e.message_id = "m-arrival-1";
  e.contract = "transport.arrived";
  e.version = 1;
  e.case_ref = "9990012345";
  e.sender = "DVO";
  broker::events::Accepted a;
  a.recipients = {"DTV", "KMAR"};
  a.assurance = broker::events::Assurance::kFileAdapter;
  a.evidence = {{"/arrived_at", "\"2025-03-12T06:10:00Z\"", false},
                {"/seals", "[\"S-1\",\"S-2\"]", false},
                {"/fit_to_travel", std::string("\x00\x01\xfe\xff sealed", 11), true}};
  e.record = a;
  const LegacyRow row = broker::events::to_legacy_row(e);
  CHECK(row.detail ==
        R"({"assurance":"file-adapter","evidence":[{"pointer":"/arrived_at","value":"2025-03-12T06:10:00Z"},)"
        R"({"pointer":"/seals","value":["S-1","S-2"]},{"pointer":"/fit_to_travel","sealed":"0001feff207365616c6564"}],)"
        R"("recipients":["DTV","KMAR"]})");
  auto back = broker::events::from_legacy_row(row);
  REQUIRE(back);
  CHECK_FALSE(back->legacy_detail.has_value());
  CHECK(*back == e);
  CHECK(broker::events::decode_event(broker::events::encode_event(e)).value() == e);
}
