// The quality report's figures from a scripted scenario with known counts, written into a real
// SQLite store through broker/store's API and read back with read_store (read-only).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "broker/report/contract_info.h"
#include "broker/report/payload.h"
#include "broker/report/quality.h"
#include "broker/report/render.h"
#include "broker/report/source.h"
#include "broker/store/sqlite_store.h"
#include "contracts/digest.h"
#include "contracts/registry.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::report::ContractInfo;
using broker::report::QualityReport;
using broker::report::ReportQuery;
using broker::store::LogEvent;
using broker::store::SqliteStore;
using Catch::Matchers::Contains;
using contracts::Millis;
using nlohmann::json;
using test_support::ok;

constexpr Millis kWeek47 = 1794787200000;  // Monday 2026-11-16T00:00:00Z, ISO week 2026-W47
constexpr Millis kWeek48 = 1795392000000;  // Monday 2026-11-23T00:00:00Z
constexpr Millis kHour = 3'600'000;

// Writes a handover log and messages the way the broker does (same events, same detail fields).
class Scenario {
 public:
  explicit Scenario(const test_support::TempDir& dir) : path_(dir / "store.db") {
    broker::store::StoreOptions o;
    o.path = path_;
    store_.emplace(ok(SqliteStore::open(o)));
  }

  const std::filesystem::path& path() const { return path_; }

  void accepted(const std::string& id, const std::string& contract, const std::string& sender, Millis at,
                const std::string& payload, const std::vector<std::string>& recipients, Millis occurred = 0,
                Millis recorded = 0) {
    contracts::Header h;
    h.message_id = id;
    h.contract = contract;
    h.version = 1;
    h.case_ref = "9990012345";
    h.occurred_at = occurred;
    h.recorded_at = recorded;
    json detail{{"recipients", recipients}};
    if (occurred) detail["occurred_at"] = occurred;
    if (recorded) detail["recorded_at"] = recorded;
    log("received", id, contract, sender, "", 0, at, json{{"bytes", payload.size()}}.dump());
    const auto seq = log("accepted", id, contract, sender, "", 0, at, detail.dump());
    broker::store::NewMessage m;
    m.header = h;
    m.sender = sender;
    m.payload = payload;
    m.payload_digest = contracts::sha256_hex(payload);
    m.recipients = recipients;
    m.log_seq = seq;
    m.accepted_at = at;
    const auto message_seq = ok(store_->insert_message(m));
    for (const auto& r : recipients) {
      const auto delivery = ok(store_->insert_delivery(message_seq, r));
      deliveries_[id + "/" + r] = delivery;
      log("routed", id, contract, sender, r, delivery, at, "");
    }
  }

  void rejected(const std::string& id, const std::string& contract, const std::string& sender, Millis at,
                const std::vector<std::pair<std::string, std::string>>& errors) {
    json list = json::array();
    for (const auto& [pointer, code] : errors) list.push_back({{"pointer", pointer}, {"code", code}, {"reason", "x"}});
    log("received", id, contract, sender, "", 0, at, "");
    log("rejected", id, contract, sender, "", 0, at,
        json{{"code", "schema_violation"}, {"detail", "x"}, {"errors", list}}.dump());
  }

  void duplicate(const std::string& id, const std::string& contract, const std::string& sender, Millis at) {
    log("duplicate", id, contract, sender, "", 0, at, R"({"same_payload":true})");
  }

  // A delivery event of `id` to `recipient` (contract and sender as accepted).
  void delivery(const std::string& event, const std::string& id, const std::string& contract,
                const std::string& sender, const std::string& recipient, Millis at) {
    log(event, id, contract, sender, recipient, deliveries_.at(id + "/" + recipient), at,
        event == "delivered" || event == "redelivered" ? R"({"attempt":1})" : "");
  }

  void norm_violated(const std::string& id, const std::string& contract, const std::string& sender,
                     const std::string& norm, Millis by_ms, Millis at) {
    log("norm_violated", id, contract, sender, "", 0, at,
        json{{"norm", norm}, {"contract", contract}, {"case", "9990012345"}, {"by_ms", by_ms}}.dump());
  }

  // A norm_violated row as broker/core's NormTracker writes it: the recipient in the row's column,
  // the detail with norm, kind, state (open|closed), by_ms.
  void norm_detail(const std::string& id, const std::string& sender, const std::string& recipient, const json& detail,
                   Millis at) {
    log("norm_violated", id, "test.notice", sender, recipient, 0, at, detail.dump());
  }

  // A processed event as broker/core's record_processed writes it: the delivery's columns, the
  // outcome, the reason and when the delivery was acknowledged.
  void processed(const std::string& id, const std::string& sender, const std::string& recipient, Millis acked_at,
                 Millis at, const std::string& outcome, const std::string& reason = "") {
    json detail{{"acknowledged_at", acked_at}, {"outcome", outcome}};
    if (!reason.empty()) detail["reason"] = reason;
    log("processed", id, "test.notice", sender, recipient, deliveries_.at(id + "/" + recipient), at, detail.dump());
  }

  void close() { store_.reset(); }

 private:
  std::uint64_t log(const std::string& event, const std::string& id, const std::string& contract,
                    const std::string& sender, const std::string& recipient, std::int64_t delivery, Millis at,
                    const std::string& detail) {
    LogEvent e;
    e.at = at;
    e.event = event;
    e.message_id = id;
    e.contract = contract;
    e.version = 1;
    e.case_ref = "9990012345";
    e.sender = sender;
    e.recipient = recipient;
    e.delivery_id = delivery;
    e.detail = detail;
    return ok(store_->append_log(e));
  }

  std::filesystem::path path_;
  std::optional<SqliteStore> store_;
  std::map<std::string, std::int64_t> deliveries_;
};

std::vector<ContractInfo> infos() {
  ContractInfo notice;
  notice.name = "test.notice";
  notice.version = 1;
  notice.optional_fields = {"/note"};
  notice.conditional_fields = {"/priority"};
  notice.norm_kinds = {{"delivered-in-time", "delivered_within"}, {"confirmed", "confirmed_within"}};
  return {notice};
}

const std::string kFull = R"({"planned_at":"2026-11-20T10:00:00Z","location":"DC-ROTTERDAM","items":[],"note":"n"})";
const std::string kBare = R"({"planned_at":"2026-11-20T10:00:00Z","location":"DC-ROTTERDAM","items":[]})";
const std::string kPriority =
    R"({"planned_at":"2026-11-20T10:00:00Z","location":"DC-ROTTERDAM","items":[],"priority":"urgent"})";

// The scenario: week 47 and week 48 (see the comments for the expected figures).
void play(Scenario& s) {
  const Millis t = kWeek47 + 10 * kHour;
  // ALPHA, week 47: 4 accepted with source delays 1000, 2000, 3000, 60000 ms (recorded - occurred)
  // and submit delays 500 ms (accepted - recorded).
  s.accepted("m1", "test.notice", "ALPHA", t + 1'500, kFull, {"BRAVO", "CHARLIE"}, t - 1'000, t + 1'000);
  s.accepted("m2", "test.notice", "ALPHA", t + 2'500, kFull, {"BRAVO", "CHARLIE"}, t, t + 2'000);
  s.accepted("m3", "test.notice", "ALPHA", t + 3'500, kPriority, {"BRAVO", "CHARLIE"}, t, t + 3'000);
  s.accepted("m4", "test.notice", "ALPHA", t + 60'500, kBare, {"BRAVO", "CHARLIE"}, t, t + 60'000);
  // 2 rejected (one lacks /planned_at and has a bad /location; one lacks /planned_at and the
  // conditionally required /priority), 1 duplicate.
  s.rejected("r1", "test.notice", "ALPHA", t + 70'000, {{"/planned_at", "required"}, {"/location", "enum"}});
  s.rejected("r2", "test.notice", "ALPHA", t + 71'000, {{"/planned_at", "required"}, {"/priority", "required"}});
  s.duplicate("m1", "test.notice", "ALPHA", t + 72'000);
  // BRAVO may not produce test.notice.
  s.rejected("b1", "test.notice", "BRAVO", t + 73'000, {{"", "not_owner"}});
  // BRAVO acknowledges m1..m4 after 100, 200, 300, 400 ms; m4 was sent twice.
  for (auto [id, accepted_at, latency] : std::vector<std::tuple<std::string, Millis, Millis>>{
           {"m1", t + 1'500, 100}, {"m2", t + 2'500, 200}, {"m3", t + 3'500, 300}, {"m4", t + 60'500, 400}}) {
    s.delivery("delivered", id, "test.notice", "ALPHA", "BRAVO", accepted_at + 10);
    if (id == "m4") s.delivery("redelivered", id, "test.notice", "ALPHA", "BRAVO", accepted_at + 20);
    s.delivery("acknowledged", id, "test.notice", "ALPHA", "BRAVO", accepted_at + latency);
  }
  // CHARLIE acknowledges m1 after 5000 ms; m2 is sent three times and then given up.
  s.delivery("delivered", "m1", "test.notice", "ALPHA", "CHARLIE", t + 1'600);
  s.delivery("acknowledged", "m1", "test.notice", "ALPHA", "CHARLIE", t + 6'500);
  s.delivery("delivered", "m2", "test.notice", "ALPHA", "CHARLIE", t + 2'600);
  s.delivery("redelivered", "m2", "test.notice", "ALPHA", "CHARLIE", t + 32'600);
  s.delivery("redelivered", "m2", "test.notice", "ALPHA", "CHARLIE", t + 62'600);
  s.delivery("dead_lettered", "m2", "test.notice", "ALPHA", "CHARLIE", t + 92'600);
  // Two norms missed: m1 delivered late by 1000 ms, m3's confirmation 3000 ms late (a follow-up).
  s.norm_violated("m1", "test.notice", "ALPHA", "delivered-in-time", 1'000, t + 100'000);
  s.norm_violated("m3", "test.notice", "ALPHA", "confirmed", 3'000, t + 110'000);
  // CHARLIE disputes an item of m1 (owner ALPHA).
  s.accepted("d1", "dataitem.dispute.raised", "CHARLIE", t + 120'000,
             R"({"dispute_id":"DSP-2026-000001","disputed_message_id":"m1","item_code":"GMK-000001","reason":"incorrect","raised_by":"CHARLIE"})",
             {"ALPHA"});
  // Week 48: ALPHA 1 accepted (no recipients) and 1 rejected.
  s.accepted("m5", "test.notice", "ALPHA", kWeek48 + kHour, kBare, {});
  s.rejected("r3", "test.notice", "ALPHA", kWeek48 + 2 * kHour, {{"/location", "enum"}});
}

QualityReport report_of(const std::filesystem::path& store, const ReportQuery& query,
                        const std::vector<ContractInfo>& contracts = infos()) {
  auto input = ok(broker::report::read_store(store, query));
  input.contracts = contracts;
  return broker::report::compute_quality(input, query);
}

const broker::report::ProducerContract& row(const QualityReport& r, const std::string& producer,
                                            const std::string& contract) {
  for (const auto& x : r.rows) {
    if (x.producer == producer && x.contract == contract) return x;
  }
  FAIL("no row " << producer << " " << contract);
  throw;
}

const broker::report::Consumer& consumer(const QualityReport& r, const std::string& id) {
  for (const auto& c : r.consumers) {
    if (c.consumer == id) return c;
  }
  FAIL("no consumer " << id);
  throw;
}

}  // namespace

TEST_CASE("percentiles use the nearest rank", "[report]") {
  auto d = broker::report::distribution({400, 100, 300, 200});
  CHECK(d.count == 4);
  CHECK(d.p50 == 200);
  CHECK(d.p95 == 400);
  CHECK(d.max == 400);
  std::vector<Millis> hundred;
  for (Millis i = 1; i <= 100; ++i) hundred.push_back(i);
  d = broker::report::distribution(hundred);
  CHECK(d.p50 == 50);
  CHECK(d.p95 == 95);
  CHECK(broker::report::distribution({}).count == 0);
}

TEST_CASE("ISO weeks", "[report]") {
  CHECK(broker::report::iso_week(kWeek47 + 3 * kHour).first == "2026-W47");
  CHECK(broker::report::iso_week(kWeek47 + 3 * kHour).second == kWeek47);
  CHECK(broker::report::iso_week(kWeek48 - 1).first == "2026-W47");
  CHECK(broker::report::iso_week(kWeek48).first == "2026-W48");
  CHECK(broker::report::iso_week(1609372800000).first == "2020-W53");  // Thu 2020-12-31
  CHECK(broker::report::iso_week(1609632000000).first == "2020-W53");  // Sun 2021-01-03
  CHECK(broker::report::iso_week(1735516800000).first == "2025-W01");  // Mon 2024-12-30
}

TEST_CASE("a schema's optional and conditionally required fields", "[report]") {
  std::vector<std::string> optional, conditional;
  broker::report::schema_fields(
      R"({"type":"object","required":["status"],"properties":{"status":{},"valid_until":{},"note":{},"a/b":{}},
          "allOf":[{"if":{"properties":{"status":{"const":"granted"}}},"then":{"required":["valid_until"]}}]})",
      optional, conditional);
  CHECK(optional == std::vector<std::string>{"/a~1b", "/note"});
  CHECK(conditional == std::vector<std::string>{"/valid_until"});
}

TEST_CASE("the report counts a scripted scenario exactly", "[report]") {
  test_support::TempDir dir;
  Scenario s(dir);
  play(s);
  s.close();
  const auto r = report_of(s.path(), {});

  SECTION("submissions, rejections and their reasons per producer and contract") {
    const auto& alpha = row(r, "ALPHA", "test.notice");
    CHECK(alpha.submitted == 9);  // 5 accepted + 3 rejected + 1 duplicate
    CHECK(alpha.accepted == 5);
    CHECK(alpha.rejected == 3);
    CHECK(alpha.duplicates == 1);
    CHECK(alpha.rejection_rate() == Approx(3.0 / 9.0));
    REQUIRE(alpha.top_reasons.size() == 3);
    CHECK(alpha.top_reasons[0].pointer == "/location");  // r1 and r3
    CHECK(alpha.top_reasons[0].keyword == "enum");
    CHECK(alpha.top_reasons[0].count == 2);
    CHECK(alpha.top_reasons[1].pointer == "/planned_at");
    CHECK(alpha.top_reasons[1].keyword == "required");
    CHECK(alpha.top_reasons[1].count == 2);
    CHECK(alpha.top_reasons[2].pointer == "/priority");
    CHECK(alpha.top_reasons[2].count == 1);
    CHECK(alpha.lacking_required == 2);
    REQUIRE(alpha.completeness_share());
    CHECK(*alpha.completeness_share() == Approx(6.0 / 8.0));  // 8 decided, 2 lacked a required field
    const auto& bravo = row(r, "BRAVO", "test.notice");
    CHECK(bravo.submitted == 1);
    CHECK(bravo.rejected == 1);
    REQUIRE(bravo.top_reasons.size() == 1);
    CHECK(bravo.top_reasons[0].keyword == "not_owner");
    CHECK(r.totals.submitted == 11);  // + BRAVO's rejection + CHARLIE's dispute
    CHECK(r.totals.rejected == 4);
  }

  SECTION("completeness of optional and conditional fields") {
    const auto& alpha = row(r, "ALPHA", "test.notice");
    REQUIRE(alpha.fields.size() == 2);
    CHECK(alpha.fields[0].pointer == "/note");
    CHECK_FALSE(alpha.fields[0].conditional);
    CHECK(alpha.fields[0].present == 2);  // m1, m2
    CHECK(alpha.fields[0].of == 5);
    CHECK(alpha.fields[1].pointer == "/priority");
    CHECK(alpha.fields[1].conditional);
    CHECK(alpha.fields[1].present == 1);  // m3
    CHECK(alpha.fields[1].missing_when_required == 1);  // r2
    CHECK(alpha.fields[0].missing_when_required == 0);
    REQUIRE(alpha.optional_fields_share());
    CHECK(*alpha.optional_fields_share() == Approx(0.4));
  }

  SECTION("source delay and submit delay from the header times") {
    const auto& alpha = row(r, "ALPHA", "test.notice");
    CHECK(alpha.source_delay.count == 4);  // m5 has no header times
    CHECK(alpha.source_delay.p50 == 2'000);
    CHECK(alpha.source_delay.p95 == 60'000);
    CHECK(alpha.source_delay.max == 60'000);
    CHECK(alpha.submit_delay.count == 4);
    CHECK(alpha.submit_delay.max == 500);
  }

  SECTION("delivery latency, redeliveries and dead letters per consumer") {
    const auto& bravo = consumer(r, "BRAVO");
    CHECK(bravo.routed == 4);
    CHECK(bravo.delivered == 4);
    CHECK(bravo.acknowledged == 4);
    CHECK(bravo.redeliveries == 1);
    CHECK(bravo.dead_letters == 0);
    CHECK(bravo.latency.p50 == 200);
    CHECK(bravo.latency.p95 == 400);
    CHECK(bravo.latency.max == 400);
    const auto& charlie = consumer(r, "CHARLIE");
    CHECK(charlie.routed == 4);
    CHECK(charlie.delivered == 2);
    CHECK(charlie.acknowledged == 1);
    CHECK(charlie.redeliveries == 2);
    CHECK(charlie.dead_letters == 1);
    CHECK(charlie.latency.max == 5'000);
    const auto& alpha = row(r, "ALPHA", "test.notice");
    CHECK(alpha.redeliveries == 3);
    CHECK(alpha.dead_letters == 1);
  }

  SECTION("norm violations, missing follow-ups and timeliness") {
    const auto& alpha = row(r, "ALPHA", "test.notice");
    CHECK(alpha.norm_violations == 2);
    CHECK(alpha.missing_follow_ups == 1);
    CHECK(alpha.late_messages == 2);
    REQUIRE(alpha.timeliness_share());
    CHECK(*alpha.timeliness_share() == Approx(3.0 / 5.0));
    REQUIRE(r.norms.size() == 2);
    CHECK(r.norms[0].norm == "confirmed");
    CHECK(r.norms[0].missing_follow_ups == 1);
    CHECK(r.norms[0].late_by.max == 3'000);
    CHECK(r.norms[1].norm == "delivered-in-time");
    CHECK(r.norms[1].producer == "ALPHA");
    CHECK(r.norms[1].missing_follow_ups == 0);
  }

  SECTION("disputes count against the disputed message's producer") {
    REQUIRE(r.disputes.size() == 1);
    CHECK(r.disputes[0].owner == "ALPHA");
    CHECK(r.disputes[0].contract == "test.notice");
    CHECK(r.disputes[0].count == 1);
    CHECK(r.disputes[0].reasons.at("incorrect") == 1);
    CHECK(row(r, "ALPHA", "test.notice").disputes == 1);
  }

  SECTION("weekly trend") {
    REQUIRE(r.weeks.size() == 2);
    CHECK(r.weeks[0].label == "2026-W47");
    CHECK(r.weeks[0].submitted == 9);
    CHECK(r.weeks[0].rejected == 3);
    CHECK(r.weeks[0].redeliveries == 3);
    CHECK(r.weeks[0].dead_letters == 1);
    CHECK(r.weeks[0].norm_violations == 2);
    CHECK(r.weeks[0].disputes == 1);
    CHECK(r.weeks[0].latency.count == 5);
    CHECK(r.weeks[1].label == "2026-W48");
    CHECK(r.weeks[1].submitted == 2);
    CHECK(r.weeks[1].rejected == 1);
    CHECK(r.weeks[1].producers.at("ALPHA") == std::pair<std::int64_t, std::int64_t>{2, 1});
  }
}

TEST_CASE("the period, partner and contract filters", "[report]") {
  test_support::TempDir dir;
  Scenario s(dir);
  play(s);
  s.close();

  const auto week48 = report_of(s.path(), {kWeek48, kWeek48 + 7 * 24 * kHour, "", ""});
  REQUIRE(week48.rows.size() == 1);
  CHECK(week48.rows[0].submitted == 2);
  CHECK(week48.rows[0].accepted == 1);
  CHECK(week48.consumers.empty());
  CHECK(week48.weeks.size() == 1);
  CHECK(week48.period_from == kWeek48);

  const auto charlie = report_of(s.path(), {0, 0, "CHARLIE", ""});
  CHECK(charlie.consumers.size() == 2);  // CHARLIE, and ALPHA as recipient of its dispute
  CHECK(consumer(charlie, "CHARLIE").dead_letters == 1);
  CHECK(row(charlie, "CHARLIE", "dataitem.dispute.raised").submitted == 1);
  for (const auto& x : charlie.rows) CHECK(x.producer != "BRAVO");

  const auto notice_only = report_of(s.path(), {0, 0, "", "test.notice"});
  for (const auto& x : notice_only.rows) CHECK(x.contract == "test.notice");
  CHECK(row(notice_only, "ALPHA", "test.notice").disputes == 1);  // disputes about test.notice items
}

TEST_CASE("without norm_violated events and without contracts the report still works", "[report]") {
  test_support::TempDir dir;
  Scenario s(dir);
  s.accepted("m1", "test.notice", "ALPHA", kWeek47, kBare, {"BRAVO"});
  s.close();
  const auto with = report_of(s.path(), {});
  CHECK(row(with, "ALPHA", "test.notice").norm_violations == 0);
  REQUIRE(row(with, "ALPHA", "test.notice").timeliness_share());  // the contract has norms: all on time
  CHECK(*row(with, "ALPHA", "test.notice").timeliness_share() == 1.0);
  const auto without = report_of(s.path(), {}, {});
  CHECK_FALSE(without.contracts_known);
  CHECK_FALSE(row(without, "ALPHA", "test.notice").timeliness_share());
  CHECK(row(without, "ALPHA", "test.notice").fields.empty());
  CHECK(without.weeks.size() == 1);
}

TEST_CASE("read_store refuses a missing file", "[report]") {
  test_support::TempDir dir;
  auto input = broker::report::read_store(dir / "nope.db", {});
  REQUIRE_FALSE(input);
  CHECK_THAT(input.error().detail, Contains("nope.db"));
}

TEST_CASE("renderings carry the figures, and the HTML page is self-contained", "[report]") {
  test_support::TempDir dir;
  Scenario s(dir);
  play(s);
  s.close();
  const auto r = report_of(s.path(), {});
  const std::string text = broker::report::render_text(r);
  CHECK_THAT(text, Contains("ALPHA / test.notice") && Contains("submitted 9, accepted 5, rejected 3 (33.3%)"));
  CHECK_THAT(text, Contains("rejected for /planned_at required: 2"));
  const json j = json::parse(broker::report::render_json(r));
  CHECK(j["totals"]["submitted"] == 11);
  CHECK(j["rows"][0]["producer"] == "ALPHA");
  CHECK(j["consumers"][1]["consumer"] == "BRAVO");  // after ALPHA, the recipient of the dispute
  CHECK(j["consumers"][1]["latency"]["p95_ms"] == 400);
  CHECK(j["weeks"].size() == 2);
  const std::string html = broker::report::render_html(r);
  CHECK_THAT(html, Contains("<svg id=\"chart-rejections\"") && Contains("<svg id=\"chart-latency\"") &&
                       Contains("<svg id=\"chart-trend-rejections\""));
  CHECK_THAT(html, !Contains("<script") && !Contains("src=") && !Contains("href=") && !Contains("@import"));
  CHECK_THAT(html, Contains("data-figure=\"submitted\">11<"));
}

TEST_CASE("the payload is a valid dataquality.report.published v1 message", "[report]") {
  test_support::TempDir dir;
  Scenario s(dir);
  play(s);
  s.close();
  const auto r = report_of(s.path(), {kWeek47, kWeek47 + 14 * 24 * kHour, "", ""});
  const std::string payload = broker::report::build_quality_payload(r, {broker::report::default_report_id(r), kWeek48});
  auto contract = ok(contracts::load_contract_file(std::filesystem::path(KETEN_SOURCE_DIR) /
                                                   "contracts/migration-chain/dataquality.report.published.v1.json"));
  const auto outcome = contract.validator.validate(payload);
  std::string errors;
  for (const auto& e : outcome.errors) errors += e.pointer + " " + e.code + " " + e.reason + "\n";
  INFO(payload << "\n" << errors);
  CHECK(outcome.ok());
  const json p = json::parse(payload);
  CHECK(p["report_id"] == "DQR-20261116-20261129");
  CHECK(p["period_from"] == "2026-11-16T00:00:00.000Z");
  const json* alpha = nullptr;
  for (const auto& x : p["rows"]) {
    if (x["producer"] == "ALPHA" && x["contract"] == "test.notice") alpha = &x;
  }
  REQUIRE(alpha != nullptr);
  CHECK((*alpha)["submitted"] == 9);
  CHECK((*alpha)["rejected"] == 3);
  CHECK((*alpha)["disputes"] == 1);
  CHECK((*alpha)["timeliness_share"] == Approx(0.6));
  CHECK((*alpha)["completeness_share"] == Approx(0.75));
  CHECK((*alpha)["top_rejections"][0]["pointer"] == "/location");
  const auto one_week = report_of(s.path(), {kWeek48, kWeek48 + 7 * 24 * kHour, "", ""});
  CHECK(broker::report::default_report_id(one_week) == "DQR-2026-W48");
}

TEST_CASE("the payload stays valid for odd names, pointers and keywords", "[report]") {
  QualityReport r;
  r.period_from = kWeek47;
  r.period_to = kWeek48;
  broker::report::ProducerContract odd;
  odd.producer = "gemeente-utrecht";
  odd.contract = "Not A Contract!";
  odd.submitted = odd.rejected = 1;
  odd.top_reasons = {{std::string(300, 'x'), "unknown_contract", 1}, {"/a", "not a keyword", 1},
                     {"header.recipients[0]", "unknown_partner", 1}};
  r.rows.push_back(odd);
  broker::report::ProducerContract undecodable;  // a frame that never became a Submit
  undecodable.producer = "ALPHA";
  undecodable.submitted = undecodable.rejected = 1;
  r.rows.push_back(undecodable);
  const std::string payload = broker::report::build_quality_payload(r, {"DQR-2026-W47", kWeek48});
  auto contract = ok(contracts::load_contract_file(std::filesystem::path(KETEN_SOURCE_DIR) /
                                                   "contracts/migration-chain/dataquality.report.published.v1.json"));
  const auto outcome = contract.validator.validate(payload);
  INFO(payload);
  CHECK(outcome.ok());
  const json p = json::parse(payload);
  REQUIRE(p["rows"].size() == 1);
  REQUIRE(p["rows"][0]["top_rejections"].size() == 2);
  CHECK_FALSE(p["rows"][0]["top_rejections"][0].contains("pointer"));
  CHECK(p["rows"][0]["top_rejections"][1]["pointer"] == "header.recipients[0]");
}

TEST_CASE("one obligation recorded twice (open, then met late) counts once", "[report]") {
  test_support::TempDir dir;
  Scenario s(dir);
  s.accepted("m1", "test.notice", "ALPHA", kWeek47, kBare, {"BRAVO", "CHARLIE"});
  const json base{{"norm", "delivered-in-time"}, {"kind", "delivered_within"}};
  json open = base, closed = base, other = base;
  open["by_ms"] = 1'000;
  open["state"] = "open";
  closed["by_ms"] = 7'000;
  closed["state"] = "closed";
  other["by_ms"] = 2'000;
  other["state"] = "open";
  s.norm_detail("m1", "ALPHA", "BRAVO", open, kWeek47 + kHour);
  s.norm_detail("m1", "ALPHA", "BRAVO", closed, kWeek47 + 2 * kHour);
  s.norm_detail("m1", "ALPHA", "CHARLIE", other, kWeek47 + 3 * kHour);
  s.close();
  const auto r = report_of(s.path(), {});
  const auto& alpha = row(r, "ALPHA", "test.notice");
  CHECK(alpha.norm_violations == 2);  // BRAVO's and CHARLIE's
  CHECK(alpha.late_messages == 1);
  CHECK(*alpha.timeliness_share() == 0.0);
  REQUIRE(r.norms.size() == 1);
  CHECK(r.norms[0].late_by.max == 7'000);
  CHECK(r.norms[0].late_by.count == 2);
  CHECK(r.norms[0].still_open == 1);  // CHARLIE's; BRAVO's was met late
}

TEST_CASE("a period's report reads only the period and matches the report from the whole log", "[report]") {
  test_support::TempDir dir;
  Scenario s(dir);
  // Written in time order, as the broker writes: week 47's messages, and in week 48 their late
  // deliveries, acks, a redelivery, a norm record and a dispute, between week 48's own messages.
  const Millis t = kWeek47 + 10 * kHour;
  s.accepted("m1", "test.notice", "ALPHA", t, kFull, {"BRAVO", "CHARLIE"}, t - 1'000, t - 500);
  s.accepted("m2", "test.notice", "ALPHA", t + kHour, kBare, {"BRAVO"}, t, t + 1'000);
  s.delivery("delivered", "m1", "test.notice", "ALPHA", "BRAVO", t + 2 * kHour);
  s.rejected("r1", "test.notice", "ALPHA", t + 3 * kHour, {{"/location", "enum"}});
  const Millis u = kWeek48 + 10 * kHour;
  s.delivery("acknowledged", "m1", "test.notice", "ALPHA", "BRAVO", u);
  s.accepted("m3", "test.notice", "ALPHA", u + 1'000, kFull, {"CHARLIE"}, u, u + 500);
  s.delivery("delivered", "m1", "test.notice", "ALPHA", "CHARLIE", u + 2'000);
  s.delivery("redelivered", "m1", "test.notice", "ALPHA", "CHARLIE", u + 3'000);
  s.delivery("acknowledged", "m1", "test.notice", "ALPHA", "CHARLIE", u + 4'000);
  s.delivery("delivered", "m2", "test.notice", "ALPHA", "BRAVO", u + 5'000);
  s.delivery("dead_lettered", "m2", "test.notice", "ALPHA", "BRAVO", u + 6'000);
  s.norm_violated("m2", "test.notice", "ALPHA", "delivered-in-time", 7'000, u + 7'000);
  s.accepted("d1", "dataitem.dispute.raised", "CHARLIE", u + 8'000,
             R"({"dispute_id":"DSP-2026-000002","disputed_message_id":"m1","item_code":"GMK-000001","reason":"incorrect","raised_by":"CHARLIE"})",
             {"ALPHA"});
  s.delivery("delivered", "m3", "test.notice", "ALPHA", "CHARLIE", u + 9'000);
  s.delivery("acknowledged", "m3", "test.notice", "ALPHA", "CHARLIE", u + 9'500);
  s.close();

  const auto whole = ok(broker::report::read_store(s.path(), {}));
  const ReportQuery periods[] = {{kWeek48, kWeek48 + 7 * 24 * kHour, "", ""},
                                 {u + 2'500, 0, "", ""},
                                 {t + kHour, u + 5'500, "", ""},
                                 {u + 8'000, 0, "CHARLIE", ""}};
  for (const auto& query : periods) {
    INFO("period from " << query.from << " to " << query.to << " partner " << query.partner);
    auto windowed = ok(broker::report::read_store(s.path(), query));
    CHECK(windowed.events.size() < whole.events.size());  // it did not read the whole log
    for (const auto& [seq, e] : windowed.events) CHECK((e.at >= query.from || e.kind() == broker::events::Kind::kAccepted));
    windowed.contracts = infos();
    auto reference = whole;
    reference.contracts = infos();
    CHECK(broker::report::render_json(broker::report::compute_quality(windowed, query)) ==
          broker::report::render_json(broker::report::compute_quality(reference, query)));
  }
  // The week-48 report counts week 47's messages' late acks and latencies, through their older
  // `accepted` rows.
  const auto week48 = report_of(s.path(), periods[0]);
  CHECK(consumer(week48, "BRAVO").acknowledged == 1);
  CHECK(consumer(week48, "CHARLIE").acknowledged == 2);
}

// The renderings pinned byte for byte for the scripted scenario under several queries, so that
// restructuring compute_quality and the renderers shows any change in what they produce. The files
// under tests/data/report/ were written by the report before compute_quality and render_html were
// cut into named steps; KETEN_WRITE_GOLDEN=1 rewrites them (then review the diff).
TEST_CASE("the report's text, JSON and HTML stay byte for byte what they were", "[report][golden]") {
  test_support::TempDir dir;
  Scenario s(dir);
  play(s);
  s.close();
  const std::filesystem::path golden = std::filesystem::path(KETEN_SOURCE_DIR) / "tests/data/report";
  const std::pair<const char*, ReportQuery> queries[] = {{"all", {}},
                                                         {"week48", {kWeek48, kWeek48 + 7 * 24 * kHour, "", ""}},
                                                         {"charlie", {0, 0, "CHARLIE", ""}},
                                                         {"notice", {0, 0, "", "test.notice"}}};
  for (const auto& [name, query] : queries) {
    for (bool with_contracts : {true, false}) {
      const auto r = report_of(s.path(), query, with_contracts ? infos() : std::vector<ContractInfo>{});
      const std::string stem = std::string(name) + (with_contracts ? "" : "_no_contracts");
      const std::pair<std::string, std::string> outputs[] = {{stem + ".txt", broker::report::render_text(r)},
                                                             {stem + ".json", broker::report::render_json(r)},
                                                             {stem + ".html", broker::report::render_html(r)}};
      for (const auto& [file, text] : outputs) {
        INFO(file);
        if (const char* w = std::getenv("KETEN_WRITE_GOLDEN"); w != nullptr && std::string(w) == "1") {
          std::ofstream(golden / file, std::ios::binary) << text;
        }
        std::ifstream in(golden / file, std::ios::binary);
        REQUIRE(in);
        CHECK(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()) == text);
      }
    }
  }
}

TEST_CASE("a send that never left the broker is no delivery and no redelivery", "[report][regression]") {
  // The broker logs `delivered` or `redelivered` when it queues a frame and `undelivered` when the
  // socket refused it (the connection was gone): that attempt does not count, and the next send
  // logs the same attempt again. The report knew nothing of `undelivered` and counted each such
  // send: two first sends of one message, a redelivery that never happened.
  test_support::TempDir dir;
  Scenario s(dir);
  const Millis t = kWeek47 + kHour;
  s.accepted("m1", "test.notice", "ALPHA", t, kBare, {"BRAVO"});
  s.delivery("delivered", "m1", "test.notice", "ALPHA", "BRAVO", t + 10);
  s.delivery("undelivered", "m1", "test.notice", "ALPHA", "BRAVO", t + 11);
  s.delivery("delivered", "m1", "test.notice", "ALPHA", "BRAVO", t + 20);
  s.delivery("redelivered", "m1", "test.notice", "ALPHA", "BRAVO", t + 30'000);
  s.delivery("undelivered", "m1", "test.notice", "ALPHA", "BRAVO", t + 30'001);
  s.delivery("redelivered", "m1", "test.notice", "ALPHA", "BRAVO", t + 60'000);
  s.delivery("acknowledged", "m1", "test.notice", "ALPHA", "BRAVO", t + 61'000);
  s.close();
  const auto r = report_of(s.path(), {});
  const auto& bravo = consumer(r, "BRAVO");
  CHECK(bravo.routed == 1);
  CHECK(bravo.delivered == 1);
  CHECK(bravo.redeliveries == 1);
  CHECK(bravo.acknowledged == 1);
  CHECK(row(r, "ALPHA", "test.notice").redeliveries == 1);
  CHECK(r.totals.redeliveries == 1);
  REQUIRE_FALSE(r.weeks.empty());
  CHECK(r.weeks[0].redeliveries == 1);
}

TEST_CASE("processed reports count per recipient by outcome, with the time from acknowledgement to report",
          "[report][processed]") {
  test_support::TempDir dir;
  Scenario s(dir);
  const Millis t = kWeek47 + kHour;
  for (const char* id : {"m1", "m2", "m3"}) {
    s.accepted(id, "test.notice", "ALPHA", t, kBare, {"BRAVO", "CHARLIE"});
    s.delivery("delivered", id, "test.notice", "ALPHA", "BRAVO", t + 10);
    s.delivery("acknowledged", id, "test.notice", "ALPHA", "BRAVO", t + 1'000);
  }
  s.processed("m1", "ALPHA", "BRAVO", t + 1'000, t + 61'000, "done");
  s.processed("m2", "ALPHA", "BRAVO", t + 1'000, t + 121'000, "done", "filed");
  s.processed("m3", "ALPHA", "BRAVO", t + 1'000, t + 3'601'000, "refused", "case unknown here");
  s.close();
  const auto r = report_of(s.path(), {});
  const auto& bravo = consumer(r, "BRAVO");
  CHECK(bravo.processed_done == 2);
  CHECK(bravo.processed_refused == 1);
  CHECK(bravo.processing.count == 3);
  CHECK(bravo.processing.p50 == 120'000);
  CHECK(bravo.processing.max == 3'600'000);
  // CHARLIE was routed the messages and reported nothing.
  const auto& charlie = consumer(r, "CHARLIE");
  CHECK(charlie.processed_done + charlie.processed_refused == 0);
  CHECK(charlie.processing.count == 0);

  const std::string text = broker::report::render_text(r);
  CHECK_THAT(text, Contains("processed: done 2, refused 1"));
  const json j = json::parse(broker::report::render_json(r));
  bool seen = false;
  for (const auto& c : j["consumers"]) {
    if (c["consumer"] != "BRAVO") continue;
    seen = true;
    CHECK(c["processed_done"] == 2);
    CHECK(c["processed_refused"] == 1);
    CHECK(c["processing"]["count"] == 3);
  }
  CHECK(seen);
  const std::string html = broker::report::render_html(r);
  CHECK_THAT(html, Contains("id=\"processed-table\""));
  CHECK_THAT(html, Contains("<tr data-consumer=\"BRAVO\"><td class=\"name\">BRAVO</td><td>2</td><td class=\"bad\">1</td>"));
  // The contract filter applies to processed events as to the other delivery events.
  const auto other = report_of(s.path(), {0, 0, "", "test.handover"});
  for (const auto& c : other.consumers) CHECK(c.processed_done + c.processed_refused == 0);
}
