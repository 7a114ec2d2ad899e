// Retention by crypto-shredding (broker/core/retention_sweep.h) on a real SQLite store with an
// injected clock: a case shredded at its deadline and not a millisecond before, a held case kept
// past it and shredded at the first sweep after its release, a contract without retention keeping
// its case, the `shredded` event's evidence; calendar years (contracts/retention.h); and the start
// check refusing a retention without a payload key.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/core/options.h"
#include "broker/core/retention_sweep.h"
#include "broker/core/start_checks.h"
#include "broker/store/retention.h"
#include "contracts/digest.h"
#include "contracts/retention.h"
#include "contracts/time.h"
#include "tests/support/core_fixture.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using contracts::Millis;
using test_support::ok;

constexpr Millis kT0 = 1'700'000'000'000;

// The test contract set in `dir`, test.notice v1 with a retention of ten seconds; v2 without one.
fs::path contracts_with_retention(const test_support::TempDir& dir, const std::string& retention = "PT10S") {
  const fs::path out = dir / "contracts";
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(fs::path(KETEN_SOURCE_DIR) / "tests/data/contracts")) {
    fs::copy_file(e.path(), out / e.path().filename());
  }
  const fs::path v1 = out / "test.notice.v1.json";
  std::stringstream text;
  text << std::ifstream(v1).rdbuf();
  std::string s = text.str();
  const auto at = s.find('{');
  s.insert(at + 1, "\n  \"retention\": \"" + retention + "\", \"legal_basis\": \"Test Act art. 1\",");
  std::ofstream(v1, std::ios::trunc) << s;
  return out;
}

contracts::ContractRegistry load(const fs::path& dir) {
  auto r = contracts::ContractRegistry::load(dir);
  INFO((r ? std::string() : r.error().detail));
  REQUIRE(r);
  return std::move(*r);
}

void put(broker::store::SqliteStore& store, const std::string& id, const std::string& case_ref, std::uint32_t version,
         Millis at) {
  broker::store::NewMessage m;
  m.header.message_id = id;
  m.header.contract = "test.notice";
  m.header.version = version;
  m.header.case_ref = case_ref;
  m.sender = "ALPHA";
  m.payload = test_support::kNoticePayload;
  m.payload_digest = contracts::sha256_hex(m.payload);
  m.recipients = {"BRAVO"};
  m.accepted_at = at;
  ok(store.begin());
  ok(store.insert_message(m));
  ok(store.commit());
}

// One sweep at `now` in a transaction of its own, as the broker loop runs it.
void sweep(broker::core::RetentionSweep& s, broker::store::SqliteStore& store, Millis now) {
  ok(store.begin());
  ok(s.run(now));
  ok(store.commit());
  s.after_commit(true, now);
}

bool shredded(broker::store::SqliteStore& store, const std::string& id) {
  auto m = ok(store.find_message_content(id));
  REQUIRE(m);
  return broker::store::is_shredded(m->unreadable);
}

std::vector<broker::events::Event> shred_events(broker::store::SqliteStore& store) {
  std::vector<broker::events::Event> out;
  for (auto& e : ok(store.read_events(1, 100'000))) {
    if (e.event.kind() == broker::events::Kind::kShredded) out.push_back(e.event);
  }
  return out;
}

}  // namespace

TEST_CASE("a case is shredded at its deadline and not a millisecond before", "[core][retention]") {
  test_support::TempDir dir;
  auto registry = load(contracts_with_retention(dir));
  auto store = test_support::open_store(dir);
  put(store, "m1", "V1", 1, kT0);
  put(store, "m2", "V1", 1, kT0 + 5'000);  // the case's newest message sets its deadline
  put(store, "m3", "V2", 1, kT0 + 60'000);
  broker::core::RetentionSweep s(store, registry, std::chrono::milliseconds(1));
  const Millis deadline = kT0 + 5'000 + 10'000;

  sweep(s, store, deadline - 1);
  CHECK_FALSE(shredded(store, "m1"));
  CHECK_FALSE(shredded(store, "m2"));
  CHECK(shred_events(store).empty());

  sweep(s, store, deadline);
  CHECK(shredded(store, "m1"));
  CHECK(shredded(store, "m2"));
  CHECK_FALSE(shredded(store, "m3"));
  const auto m1 = ok(store.find_message_content("m1"));
  CHECK(m1->unreadable == "payload shredded on " + contracts::format_rfc3339(deadline) +
                              " (retention PT10S of contract test.notice v1, basis Test Act art. 1)");
  const auto events = shred_events(store);
  REQUIRE(events.size() == 1);
  CHECK(events[0].case_ref == "V1");
  CHECK(events[0].at == deadline);
  const auto& record = std::get<broker::events::Shredded>(events[0].record);
  CHECK(record.messages == 2);
  REQUIRE(record.rules.size() == 1);
  CHECK(record.rules[0] == broker::events::RetentionRule{"test.notice", 1, "PT10S", "Test Act art. 1"});

  // A later sweep shreds nothing twice.
  sweep(s, store, deadline + 1'000);
  CHECK(shred_events(store).size() == 1);
}

TEST_CASE("a held case is kept past its deadline and shredded at the first sweep after release", "[core][retention]") {
  test_support::TempDir dir;
  auto registry = load(contracts_with_retention(dir));
  auto store = test_support::open_store(dir);
  put(store, "m1", "V1", 1, kT0);
  broker::core::RetentionSweep s(store, registry, std::chrono::milliseconds(1));
  CHECK(ok(broker::store::hold_case(store, {"V1", kT0 + 1, "court case 123", "tester"})));

  sweep(s, store, kT0 + 10'000);
  sweep(s, store, kT0 + 86'400'000);
  CHECK_FALSE(shredded(store, "m1"));
  CHECK(s.cases_on_hold() == 1);

  CHECK(ok(broker::store::release_case(store, "V1")));
  sweep(s, store, kT0 + 86'400'001);
  CHECK(shredded(store, "m1"));
  CHECK(s.cases_on_hold() == 0);
}

TEST_CASE("a case with a message whose contract has no retention is kept for ever", "[core][retention]") {
  test_support::TempDir dir;
  auto registry = load(contracts_with_retention(dir));
  auto store = test_support::open_store(dir);
  put(store, "m1", "V1", 1, kT0);
  put(store, "m2", "V1", 2, kT0);  // v2 states no retention
  put(store, "m3", "", 1, kT0);    // no case: its own key, shredded on its own
  broker::core::RetentionSweep s(store, registry, std::chrono::milliseconds(1));
  sweep(s, store, kT0 + 10LL * 365 * 86'400'000);
  CHECK_FALSE(shredded(store, "m1"));
  CHECK_FALSE(shredded(store, "m2"));
  CHECK(shredded(store, "m3"));
  const auto events = shred_events(store);
  REQUIRE(events.size() == 1);
  CHECK(events[0].case_ref.empty());
  CHECK(events[0].message_id == "m3");
}

TEST_CASE("the sweep waits its interval between sweeps", "[core][retention]") {
  test_support::TempDir dir;
  auto registry = load(contracts_with_retention(dir));
  auto store = test_support::open_store(dir);
  put(store, "m1", "V1", 1, kT0);
  broker::core::RetentionSweep s(store, registry, std::chrono::hours(1));
  sweep(s, store, kT0 + 1);  // the first sweep: nothing due yet
  CHECK_FALSE(s.due(kT0 + 3'600'000));
  sweep(s, store, kT0 + 3'600'000);  // not due: does nothing although the case is
  CHECK_FALSE(shredded(store, "m1"));
  CHECK(s.due(kT0 + 1 + 3'600'000));
  sweep(s, store, kT0 + 1 + 3'600'000);
  CHECK(shredded(store, "m1"));
}

TEST_CASE("retention years and months are calendar ones from acceptance", "[core][retention]") {
  const auto period = [](const char* text) {
    auto p = contracts::parse_retention(text);
    REQUIRE(p);
    return *p;
  };
  const auto at = [](const char* text) { return *contracts::parse_rfc3339(text); };
  CHECK(contracts::retention_deadline(at("2026-03-01T10:00:00Z"), period("P5Y")) == at("2031-03-01T10:00:00Z"));
  CHECK(contracts::retention_deadline(at("2028-02-29T10:00:00Z"), period("P1Y")) == at("2029-02-28T10:00:00Z"));
  CHECK(contracts::retention_deadline(at("2026-01-31T00:00:00Z"), period("P1M")) == at("2026-02-28T00:00:00Z"));
  CHECK(contracts::retention_deadline(at("2026-12-15T23:59:59Z"), period("P1Y1MT1S")) == at("2028-01-16T00:00:00Z"));
  CHECK(contracts::retention_deadline(at("2026-01-01T00:00:00Z"), period("P2W3D")) == at("2026-01-18T00:00:00Z"));
  CHECK_FALSE(contracts::parse_retention("P"));
  CHECK_FALSE(contracts::parse_retention("P0Y"));
  CHECK_FALSE(contracts::parse_retention("P1M2Y"));
  CHECK_FALSE(contracts::parse_retention("5Y"));
  CHECK_FALSE(contracts::parse_retention("PT"));
}

TEST_CASE("a retention without a payload key is refused at start, naming the contract", "[core][retention][config]") {
  test_support::TempDir dir;
  broker::core::BrokerOptions options;
  options.contracts = contracts_with_retention(dir);
  options.store = dir / "store" / "keten.db";
  options.payload_key.clear();
  auto checked = broker::core::check_start_config(options);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(checked.error().detail,
             Contains("test.notice v1") && Contains("retention PT10S") && Contains("[broker] payload_key"));
  options.payload_key = std::string(64, 'a');
  auto with_key = broker::core::check_start_config(options);
  INFO((with_key ? std::string() : with_key.error().detail));
  CHECK(with_key);
}

TEST_CASE("a retention on a PostgreSQL store is refused at start, naming the contract: it could not be kept",
          "[core][retention][config]") {
  test_support::TempDir dir;
  broker::core::BrokerOptions options;
  options.contracts = contracts_with_retention(dir);
  options.store_url = "postgresql://keten@127.0.0.1:1/none";  // never connected: the check comes first
  options.payload_key = std::string(64, 'a');
  auto checked = broker::core::check_start_config(options);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(checked.error().detail,
             Contains("test.notice v1") && Contains("retention PT10S") && Contains("PostgreSQL store"));
}

TEST_CASE("a sweep its turn could not run (the store held by another writer) is retried a minute later, not every turn",
          "[core][retention]") {
  test_support::TempDir dir;
  auto registry = load(contracts_with_retention(dir));
  auto store = test_support::open_store(dir);
  // The first sweep comes a little after start, not in the broker's first turn.
  broker::core::RetentionSweep s(store, registry, std::chrono::hours(1), kT0);
  CHECK_FALSE(s.due(kT0));
  CHECK(s.due(kT0 + broker::core::RetentionSweep::kFirstSweepDelay));
  // The turn's transaction did not begin (another writer holds the store): run() never ran.
  const Millis now = kT0 + broker::core::RetentionSweep::kFirstSweepDelay;
  s.after_commit(false, now);
  CHECK_FALSE(s.due(now + 1));
  CHECK_FALSE(s.due(now + broker::core::RetentionSweep::kRetryAfterFailure - 1));
  CHECK(s.due(now + broker::core::RetentionSweep::kRetryAfterFailure));
}

TEST_CASE(
    "a sweep of more due cases than one turn takes goes on where the last turn stopped, and a rolled-back turn "
    "is done again",
    "[core][retention]") {
  test_support::TempDir dir;
  auto registry = load(contracts_with_retention(dir, "PT1H"));
  auto store = test_support::open_store(dir);
  // 450 due cases, and before, between and after them 150 that are not due (a message that came
  // later keeps each alive): each turn must not judge again the keys the turns before passed.
  constexpr int kDue = 450;
  constexpr int kAlive = 150;
  const Millis now = kT0 + 2 * 3'600'000;
  int alive = 0;
  for (int i = 0; i < kDue; ++i) {
    put(store, "due-" + std::to_string(i), "D" + std::to_string(i), 1, kT0);
    if (i % 3 == 0) {
      const std::string c = "A" + std::to_string(alive++);
      put(store, "alive-" + c, c, 1, kT0);
      put(store, "alive-late-" + c, c, 1, now - 1);
    }
  }
  REQUIRE(alive == kAlive);
  broker::core::RetentionSweep s(store, registry, std::chrono::hours(1));
  constexpr auto kBatch = broker::core::RetentionSweep::kBatch;
  std::size_t judged = 0;

  sweep(s, store, now);
  CHECK(shred_events(store).size() == kBatch);
  judged += s.judged_in_last_run();
  CHECK(s.due(now));  // more to do: the next turn goes on

  // A turn that shreds the next batch and then rolls back: the batch is shredded again later.
  ok(store.begin());
  ok(s.run(now));
  store.rollback();
  s.after_commit(false, now);
  CHECK(shred_events(store).size() == kBatch);
  CHECK_FALSE(s.due(now));
  const Millis retry = now + broker::core::RetentionSweep::kRetryAfterFailure;
  CHECK(s.due(retry));

  sweep(s, store, retry);
  CHECK(shred_events(store).size() == 2 * kBatch);
  judged += s.judged_in_last_run();
  sweep(s, store, retry);
  CHECK(shred_events(store).size() == kDue);
  judged += s.judged_in_last_run();
  CHECK_FALSE(s.due(retry));  // the sweep is over until the next interval
  for (int i = 0; i < kDue; ++i) REQUIRE(shredded(store, "due-" + std::to_string(i)));
  CHECK_FALSE(shredded(store, "alive-A0"));
  // Every live key judged once, and the two keys each turn stopped at once more.
  CHECK(judged == static_cast<std::size_t>(kDue + kAlive + 2));
}
