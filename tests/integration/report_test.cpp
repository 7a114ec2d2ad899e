// `keten report quality` end to end: an in-process broker on loopback, partners sending valid,
// invalid and duplicate messages and acknowledging deliveries, then the built `keten` binary
// reporting on the real store as text, JSON, payload and HTML (rendered in headless chromium).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using contracts::ReceiptStatus;
using nlohmann::json;
using test_support::BrokerHarness;
using test_support::notice;
using test_support::run;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Known counts: ALPHA submits 4 valid notices (one of them twice: a duplicate) and 2 invalid ones
// (one lacks /planned_at, one has a /location outside the enum); BRAVO submits 1 notice it may not
// produce. BRAVO takes and acknowledges its 4 deliveries; CHARLIE never connects.
void play(BrokerHarness& h) {
  auto alpha = h.client("ALPHA");
  contracts::Submit first;
  for (int i = 0; i < 4; ++i) {
    auto submit = notice(partner::new_message_id());
    if (i == 0) first = submit;
    auto receipt = alpha.send(submit);
    REQUIRE(receipt);
    REQUIRE(receipt->status == ReceiptStatus::kAccepted);
  }
  auto again = alpha.send(first);
  REQUIRE(again);
  REQUIRE(again->status == ReceiptStatus::kDuplicate);
  auto missing = notice(partner::new_message_id());
  missing.payload = R"({"location":"AZC-TER-APEL","items":[]})";
  auto bad_location = notice(partner::new_message_id());
  bad_location.payload = R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"NOWHERE","items":[]})";
  for (const auto& submit : {missing, bad_location}) {
    auto receipt = alpha.send(submit);
    REQUIRE(receipt);
    REQUIRE(receipt->status == ReceiptStatus::kRejected);
  }
  alpha.close();

  auto bravo = h.client("BRAVO");
  for (int i = 0; i < 4; ++i) {
    auto d = bravo.receive(10s);
    REQUIRE(d);
    REQUIRE(d->has_value());
    REQUIRE(bravo.ack((*d)->delivery_id));
  }
  // Answered only after the acks before it were committed; a rejection (BRAVO is not the owner).
  auto barrier = bravo.send(notice(partner::new_message_id()));
  REQUIRE(barrier);
  REQUIRE(barrier->status == ReceiptStatus::kRejected);
  bravo.close();
}

test_support::RunResult report(BrokerHarness& h, std::vector<std::string> extra) {
  std::vector<std::string> argv{test_support::keten_binary(), "report", "quality", "--store",
                                h.options().store.string(), "--contracts", test_support::test_contracts_dir().string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run(argv);
}

const json& row_of(const json& j, const std::string& producer) {
  for (const auto& r : j["rows"]) {
    if (r["producer"] == producer && r["contract"] == "test.notice") return r;
  }
  FAIL("no row for " << producer);
  throw;
}

const json& consumer_of(const json& j, const std::string& id) {
  for (const auto& c : j["consumers"]) {
    if (c["consumer"] == id) return c;
  }
  FAIL("no consumer " << id);
  throw;
}

}  // namespace

TEST_CASE("keten report quality counts what partners sent through a real broker", "[integration][report]") {
  BrokerHarness h;
  h.start();
  play(h);
  h.stop();

  // With a payload key every payload is sealed (under its case key): completeness needs the key.
  auto out = report(h, {"--format", "json", "--payload-key", h.options().payload_key});
  INFO(out.err);
  REQUIRE(out.exit_code == 0);
  const json j = json::parse(out.out);
  const auto& alpha = row_of(j, "ALPHA");
  CHECK(alpha["submitted"] == 7);
  CHECK(alpha["accepted"] == 4);
  CHECK(alpha["rejected"] == 2);
  CHECK(alpha["duplicates"] == 1);
  CHECK(alpha["lacking_required"] == 1);
  CHECK(alpha["completeness_share"].get<double>() == Approx(5.0 / 6.0));
  std::set<std::pair<std::string, std::string>> reasons;
  for (const auto& r : alpha["top_rejection_reasons"]) reasons.insert({r["pointer"].get<std::string>(), r["keyword"].get<std::string>()});
  CHECK(reasons.count({"/planned_at", "required"}) == 1);
  CHECK(reasons.count({"/location", "enum"}) == 1);
  // /note is optional in test.notice and no sample fills it in.
  REQUIRE(alpha["fields"].size() == 1);
  CHECK(alpha["fields"][0]["pointer"] == "/note");
  CHECK(alpha["fields"][0]["present"] == 0);
  CHECK(alpha["fields"][0]["of"] == 4);
  // notice() states occurred 60 s and recorded 30 s before sending.
  CHECK(alpha["source_delay"]["count"] == 4);
  CHECK(alpha["source_delay"]["p50_ms"].get<std::int64_t>() >= 30'000);
  CHECK(alpha["source_delay"]["max_ms"].get<std::int64_t>() < 40'000);
  CHECK(alpha["norm_violations"] == 0);
  const auto& bravo_row = row_of(j, "BRAVO");
  CHECK(bravo_row["rejected"] == 1);
  CHECK(bravo_row["top_rejection_reasons"][0]["keyword"] == "not_owner");
  CHECK(j["totals"]["submitted"] == 8);
  CHECK(j["totals"]["rejected"] == 3);

  const auto& bravo = consumer_of(j, "BRAVO");
  CHECK(bravo["routed"] == 4);
  CHECK(bravo["delivered"] == 4);
  CHECK(bravo["acknowledged"] == 4);
  CHECK(bravo["latency"]["count"] == 4);
  CHECK(bravo["latency"]["max_ms"].get<std::int64_t>() >= bravo["latency"]["p50_ms"].get<std::int64_t>());
  const auto& charlie = consumer_of(j, "CHARLIE");
  CHECK(charlie["routed"] == 4);
  CHECK(charlie["delivered"] == 0);
  CHECK(charlie["latency"]["count"] == 0);

  auto text = report(h, {"--partner", "ALPHA"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("ALPHA / test.notice") && Contains("submitted 7, accepted 4, rejected 2 (28.6%)"));
  CHECK_THAT(text.out, !Contains("BRAVO / test.notice"));

  auto payload = report(h, {"--format", "payload", "--report-id", "DQR-TEST-1"});
  INFO(payload.err);
  REQUIRE(payload.exit_code == 0);
  const json p = json::parse(payload.out);
  CHECK(p["report_id"] == "DQR-TEST-1");
  CHECK(p["rows"].size() == 2);
}

TEST_CASE("keten report quality without the payload key says sealed payloads were not read, with it counts them",
          "[integration][report]") {
  BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  for (int i = 0; i < 3; ++i) {
    contracts::Submit s = notice(partner::new_message_id());
    s.header.contract = "test.health";
    s.payload = i == 0 ? R"({"fit_to_travel":"yes","transport_requirements":[],"escort":"NURSE"})"
                       : R"({"fit_to_travel":"no","transport_requirements":["LYING"]})";
    auto receipt = alpha.send(s);
    REQUIRE(receipt);
    REQUIRE(receipt->status == ReceiptStatus::kAccepted);
  }
  alpha.close();
  h.stop();

  auto health_row = [](const json& j) -> json {
    for (const auto& r : j["rows"]) {
      if (r["contract"] == "test.health") return r;
    }
    FAIL("no test.health row");
    return {};
  };
  auto without = report(h, {"--format", "json"});
  INFO(without.err);
  REQUIRE(without.exit_code == 0);
  const json blind = health_row(json::parse(without.out));
  CHECK(blind["accepted"] == 3);
  CHECK(blind["payloads_not_read"] == 3);
  CHECK(blind["optional_fields_share"].is_null());
  auto text = report(h, {});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("3 sealed payloads not read") && Contains("--payload-key"));

  auto with = report(h, {"--format", "json", "--payload-key", h.options().payload_key});
  INFO(with.err);
  REQUIRE(with.exit_code == 0);
  const json seen = health_row(json::parse(with.out));
  CHECK(seen["payloads_not_read"] == 0);
  bool escort_counted = false;
  for (const auto& f : seen["fields"]) {
    if (f["pointer"] == "/escort") {
      escort_counted = true;
      CHECK(f["present"] == 1);
      CHECK(f["of"] == 3);
    }
  }
  CHECK(escort_counted);

  auto wrong = report(h, {"--payload-key", "zz"});
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.err, Contains("--payload-key"));
}

TEST_CASE("keten report quality refuses bad arguments and a missing store", "[integration][report]") {
  test_support::TempDir dir;
  auto missing = run({test_support::keten_binary(), "report", "quality", "--store", (dir / "none.db").string()});
  CHECK(missing.exit_code == 2);  // a store that cannot be opened, as for every command
  CHECK_THAT(missing.err, Contains("none.db"));
  const auto text = dir / "notes.txt";
  std::ofstream(text) << "not a store\n";
  auto not_store = run({test_support::keten_binary(), "report", "quality", "--store", text.string()});
  CHECK(not_store.exit_code == 2);
  CHECK_THAT(not_store.err, Contains("notes.txt") && Contains("not a database"));
  auto format = run({test_support::keten_binary(), "report", "quality", "--store", (dir / "none.db").string(),
                     "--format", "pdf"});
  CHECK(format.exit_code == 2);
  CHECK_THAT(format.err, Contains("--format"));
  auto period = run({test_support::keten_binary(), "report", "quality", "--store", (dir / "none.db").string(),
                     "--from", "2026-11-30", "--to", "2026-11-23"});
  CHECK(period.exit_code == 2);
}

TEST_CASE("keten report quality writes an HTML page that headless chromium renders", "[integration][report]") {
  BrokerHarness h;
  h.start();
  play(h);
  h.stop();
  const auto html = h.dir() / "quality.html";
  auto out = report(h, {"--format", "html", "--out", html.string()});
  INFO(out.err);
  REQUIRE(out.exit_code == 0);
  CHECK_THAT(read_file(html), !Contains("<script") && !Contains("src=") && !Contains("href="));

  auto rendered = test_support::chromium_dom(html.string());
  INFO(rendered.err);
  REQUIRE(rendered.exit_code == 0);
  const std::string& dom = rendered.out;
  CHECK_THAT(dom, Contains("Data quality of the messages exchanged in the chain"));
  CHECK_THAT(dom, Contains("data-figure=\"submitted\">8<") && Contains("data-figure=\"rejected\">3<") &&
                      Contains("data-figure=\"duplicates\">1<"));
  CHECK_THAT(dom, Contains("Why messages were refused") && Contains("/planned_at") && Contains("not_owner"));
  CHECK_THAT(dom, Contains("<svg id=\"chart-rejections\"") && Contains("<svg id=\"chart-latency\""));
  CHECK_THAT(dom, Contains("data-consumer=\"BRAVO\""));
  CHECK_THAT(dom, Contains("No deadline was recorded as missed"));
}
