// Norms on payload times and corrections through a running broker with the migration-chain set:
// a vehicle that arrived after its order's latest arrival time is recorded late by the difference,
// naming who was late; a corrected departure does not count its late announcement twice; and
// `keten log replay` and `keten report quality` say who was late, what was due when, by how much,
// and whether it is still open or was met late.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/store/sqlite_store.h"
#include "contracts/registry.h"
#include "contracts/time.h"
#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using broker::core::PartnerRole;
using Catch::Matchers::Contains;
using contracts::ReceiptStatus;
using test_support::BrokerHarness;

namespace {

const fs::path kSetDir = fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain";
const std::string kCase = "9990012345";

std::string sample(const std::string& name) {
  std::ifstream in(kSetDir / "samples" / name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> partners_of_set() {
  auto registry = contracts::ContractRegistry::load(kSetDir);
  REQUIRE(registry);
  std::set<std::string> ids;
  for (const auto& [key, c] : registry->all()) {
    ids.insert(c.owners.begin(), c.owners.end());
    ids.insert(c.consumers.begin(), c.consumers.end());
  }
  return {ids.begin(), ids.end()};
}

PartnerRole role_of(const std::string& id) {
  if (id == "GZA" || id == "DJI-MD" || id == "IND-BMA") return PartnerRole::kCareProvider;
  if (id.rfind("AIR-", 0) == 0 || id.rfind("PTR-", 0) == 0 || id.rfind("GEM-", 0) == 0) return PartnerRole::kNonChain;
  return PartnerRole::kChainPartner;
}

contracts::Submit submit(const std::string& contract, const std::string& payload, const std::string& supersedes = "") {
  contracts::Submit s;
  s.header.message_id = partner::new_message_id();
  s.header.contract = contract;
  s.header.version = 1;
  s.header.case_ref = kCase;
  s.header.supersedes = supersedes;
  s.header.occurred_at = contracts::now_millis();
  s.payload = payload;
  return s;
}

void accepted(partner::Client& c, const contracts::Submit& s) {
  auto r = c.send(s);
  REQUIRE(r);
  INFO(r->detail);
  REQUIRE(r->status == ReceiptStatus::kAccepted);
}

std::vector<broker::store::LogEvent> log_rows(BrokerHarness& h) {
  auto store = broker::store::SqliteStore::open({h.options().store, false, std::chrono::milliseconds(5'000), true});
  REQUIRE(store);
  auto rows = store->read_log(0, 100'000);
  REQUIRE(rows);
  return std::move(*rows);
}

// The norm_violated rows of `norm`, waiting (bounded, only against a hang) until `message_id` has
// its `accepted` row: the broker evaluates norms in the turn that accepts the message.
std::vector<nlohmann::json> violations_after(BrokerHarness& h, const std::string& message_id,
                                             const std::string& norm) {
  for (int i = 0; i < 600; ++i) {
    const auto rows = log_rows(h);
    bool seen = false;
    for (const auto& r : rows) seen = seen || (r.event == "accepted" && r.message_id == message_id);
    if (!seen) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    std::vector<nlohmann::json> out;
    for (const auto& r : rows) {
      if (r.event != "norm_violated") continue;
      auto d = nlohmann::json::parse(r.detail);
      if (d["norm"] != norm) continue;
      d["message_id"] = r.message_id;
      d["recipient"] = r.recipient;
      out.push_back(d);
    }
    return out;
  }
  FAIL("message " << message_id << " was never accepted");
  return {};
}

}  // namespace

TEST_CASE("payload-time norms and corrections are evaluated by a running broker and read by the inspector's tools",
          "[integration][norms][payload-times]") {
  BrokerHarness h(partners_of_set(), kSetDir);
  for (auto& p : h.options().partners) p.role = role_of(p.id);
  h.start();
  auto dtv = h.client("DTV");
  auto dvo = h.client("DVO");

  // The order says the vehicle is at the G-pier by 04:05+01:00; DV&O records arriving at 04:25.
  const auto order = submit("transport.ordered", sample("transport.ordered.valid.json"));
  accepted(dtv, order);
  nlohmann::json giver = nlohmann::json::parse(sample("custody.handover.recorded.valid.json"));
  giver["arrived_at"] = "2025-03-12T04:25:00+01:00";
  giver["handed_over_at"] = "2025-03-12T04:31:00+01:00";
  const auto handover = submit("custody.handover.recorded", giver.dump());
  accepted(dvo, handover);
  auto arrival = violations_after(h, handover.header.message_id, "arrived-by-latest-arrival");
  REQUIRE(arrival.size() == 1);
  CHECK(arrival[0]["message_id"] == handover.header.message_id);
  CHECK(arrival[0]["kind"] == "time_before");
  CHECK(arrival[0]["state"] == "closed");  // met late: the payload says when it happened
  CHECK(arrival[0]["late_party"] == "DVO");
  CHECK(arrival[0]["due_at"] == contracts::parse_rfc3339("2025-03-12T04:05:00+01:00").value());
  CHECK(arrival[0]["done_at"] == contracts::parse_rfc3339("2025-03-12T04:25:00+01:00").value());
  CHECK(arrival[0]["by_ms"] == 20 * 60'000);

  // A departure announced too late (its STD has passed): open for every recipient. Its correction
  // is just as late, and must not count the same obligations again.
  const auto first = submit("departure.scheduled", sample("departure.scheduled.valid.json"));
  accepted(dtv, first);
  const auto opened = violations_after(h, first.header.message_id, "published-72h-before-std");
  REQUIRE(opened.size() == 6);  // KMAR, DJI, COA, DVO, IND, GZA
  nlohmann::json moved = nlohmann::json::parse(sample("departure.scheduled.valid.json"));
  moved["std"] = "2025-03-12T07:35:00+01:00";
  const auto correction = submit("departure.scheduled", moved.dump(), first.header.message_id);
  accepted(dtv, correction);
  const auto after = violations_after(h, correction.header.message_id, "published-72h-before-std");
  std::set<std::string> obligations;
  for (const auto& v : after) {
    CHECK(v["state"] == "open");
    CHECK(v["message_id"] == first.header.message_id);  // nothing new recorded for the correction
    obligations.insert(v["key"].get<std::string>());
  }
  CHECK(after.size() == 6);
  CHECK(obligations.size() == 6);

  // No removability check had come (and the STD has passed): the check obligation is open. The
  // check then arrives, done in time by its checked_at: the open record is closed as met in time.
  const auto no_check = violations_after(h, correction.header.message_id, "removability-checked-within-24h-before-std");
  REQUIRE(no_check.size() == 1);
  CHECK(no_check[0]["state"] == "open");
  CHECK(no_check[0]["late_party"] == "IND");  // the owner of removability.checked
  auto ind = h.client("IND");
  const auto check = submit("removability.checked", sample("removability.checked.valid.json"));
  accepted(ind, check);
  const auto closed = violations_after(h, check.header.message_id, "removability-checked-within-24h-before-std");
  REQUIRE(closed.size() == 2);
  CHECK(closed[1]["state"] == "closed");
  CHECK(closed[1]["message_id"] == correction.header.message_id);
  CHECK(closed[1]["corrects"] == first.header.message_id);
  CHECK(closed[1]["done_at"] == contracts::parse_rfc3339("2025-03-11T16:45:00+01:00").value());
  CHECK(closed[1]["by_ms"] == 0);
  CHECK(closed[1]["key"] == no_check[0]["key"]);
  h.stop();

  // The started row says which clock the times come from and whether it was synchronised.
  bool clock_recorded = false;
  for (const auto& r : log_rows(h)) {
    if (r.event != "started") continue;
    const auto clock = nlohmann::json::parse(r.detail)["clock"];
    INFO(r.detail);
    REQUIRE(clock.is_object());
    CHECK((clock["sync"] == "synchronized" || clock["sync"] == "unsynchronized" || clock["sync"] == "unknown"));
    CHECK_FALSE(clock["basis"].get<std::string>().empty());
    clock_recorded = true;
  }
  CHECK(clock_recorded);

  // keten log replay: each violation says who, due when, how late, open or met late.
  const std::string store = h.options().store.string();
  auto replay = test_support::run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase});
  INFO(replay.err);
  REQUIRE(replay.exit_code == 0);
  CHECK_THAT(replay.out, Contains("NORM VIOLATED arrived-by-latest-arrival (time_before) on custody.handover.recorded v1"));
  CHECK_THAT(replay.out, Contains("DVO late; due 2025-03-12T03:05:00.000Z; met late at 2025-03-12T03:25:00.000Z, 20m late"));
  CHECK_THAT(replay.out, Contains("NORM VIOLATED published-72h-before-std (delivered_before) on departure.scheduled v1"));
  CHECK_THAT(replay.out, Contains("KMAR late; due 2025-03-09T06:05:00.000Z; still OPEN at "));
  CHECK_THAT(replay.out, Contains("IND not late after all with removability.checked; due 2025-03-12T03:35:00.000Z; "
                                  "met in time at 2025-03-11T15:45:00.000Z after all"));


  auto html = test_support::run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase,
                                 "--format", "html"});
  REQUIRE(html.exit_code == 0);
  CHECK_THAT(html.out, Contains("<table id=\"violation-table\">"));
  CHECK_THAT(html.out, Contains("<td>DVO</td><td class=\"time\">2025-03-12T03:05:00.000Z</td>"
                                "<td>met late at 2025-03-12T03:25:00.000Z</td><td>20m late</td>"));

  // keten report quality: the obligations once each, with who and when.
  auto text = test_support::run({test_support::keten_binary(), "report", "quality", "--store", store});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("custody.handover.recorded arrived-by-latest-arrival (message " +
                                handover.header.message_id.substr(0, 8) +
                                ", from DVO): DVO late; due 2025-03-12T03:05:00.000Z; met late at "
                                "2025-03-12T03:25:00.000Z, 20m late"));
  auto json_report = test_support::run({test_support::keten_binary(), "report", "quality", "--store", store,
                                        "--format", "json"});
  REQUIRE(json_report.exit_code == 0);
  const auto report = nlohmann::json::parse(json_report.out);
  int published = 0;
  for (const auto& v : report["violations"]) {
    if (v["norm"] != "published-72h-before-std") continue;
    ++published;
    CHECK(v["message_id"] == first.header.message_id);
    CHECK(v["state"] == "open");
    CHECK_FALSE(v["late_party"].get<std::string>().empty());
  }
  CHECK(published == 6);
  for (const auto& v : report["violations"]) CHECK(v["norm"] != "removability-checked-within-24h-before-std");
}
