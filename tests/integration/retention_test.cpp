// Retention by crypto-shredding with legal hold over a running broker and the real `keten` binary
// (docs/operations.md, "Retention"): `keten case hold` written while the broker runs keeps a case
// past its retention, the other case is shredded by the broker's sweep, `keten case release` lets
// the next sweep shred the held one; resend and replay name the shredding; `keten log verify` stays
// intact with the tools' hold/release events and the broker's shredded ones.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "broker/store/sqlite_store.h"
#include "tests/support/broker_harness.h"
#include "tests/support/manual_clock.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using test_support::BrokerHarness;
using test_support::ManualClock;
using test_support::run;
using test_support::TempDir;

// The test contracts with test.notice v1 kept three seconds after acceptance.
fs::path contracts_with_retention(const TempDir& dir) {
  const fs::path out = dir / "contracts";
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(test_support::test_contracts_dir())) {
    if (e.path().filename() != "test.notice.v2.json") fs::copy_file(e.path(), out / e.path().filename());
  }
  const fs::path v1 = out / "test.notice.v1.json";
  std::stringstream text;
  text << std::ifstream(v1).rdbuf();
  std::string s = text.str();
  s.insert(s.find('{') + 1, "\n  \"retention\": \"PT3S\", \"legal_basis\": \"Vreemdelingenwet art. 107\",");
  std::ofstream(v1, std::ios::trunc) << s;
  return out;
}

std::string send_notice(BrokerHarness& h, const std::string& case_ref) {
  auto alpha = h.client("ALPHA");
  auto submit = test_support::notice(partner::new_message_id(), case_ref);
  auto receipt = alpha.send(submit);
  REQUIRE(receipt);
  REQUIRE(receipt->status == contracts::ReceiptStatus::kAccepted);
  return submit.header.message_id;
}

std::vector<broker::store::LogEvent> case_rows(const BrokerHarness& h, const std::string& case_ref) {
  broker::store::StoreOptions o;
  o.path = h.dir() / "store" / "keten.db";
  o.read_only = true;
  auto store = broker::store::SqliteStore::open(o);
  REQUIRE(store);
  auto rows = store->read_case_log(case_ref);
  REQUIRE(rows);
  return std::move(*rows);
}

int count_event(const BrokerHarness& h, const std::string& case_ref, const std::string& event) {
  int n = 0;
  for (const auto& row : case_rows(h, case_ref)) n += row.event == event;
  return n;
}

// Polls the store until the case has a `shredded` event (the broker's own thread writes it).
bool wait_shredded(const BrokerHarness& h, const std::string& case_ref, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (count_event(h, case_ref, "shredded") > 0) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

TEST_CASE("a held case survives its retention while the broker shreds the other, and is shredded after release",
          "[integration][retention]") {
  TempDir contracts_dir;
  ManualClock clock;  // outlives the broker
  BrokerHarness h({"ALPHA", "BRAVO", "CHARLIE"}, contracts_with_retention(contracts_dir));
  h.use_clock(clock.clock());
  h.options().retention_sweep_interval = 200ms;
  const std::string store = (h.dir() / "store" / "keten.db").string();
  const std::string kHeld = "9990077001", kGone = "9990077002";
  h.start();
  const std::string held_id = send_notice(h, kHeld);
  const std::string gone_id = send_notice(h, kGone);

  // The hold is written by the tool while the broker runs.
  auto hold =
      run({test_support::keten_binary(), "case", "hold", kHeld, "--reason", "court case 2026/123", "--store", store});
  INFO(hold.out << hold.err);
  REQUIRE(hold.exit_code == 0);
  CHECK_THAT(hold.out, Contains("on legal hold"));
  auto again = run({test_support::keten_binary(), "case", "hold", kHeld, "--reason", "twice", "--store", store});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Contains("already on hold"));
  // A file that is not a store cannot be opened: exit 2, as for every command (docs/cli.md).
  const auto notes = h.dir() / "notes.txt";
  std::ofstream(notes) << "not a store\n";
  auto not_store =
      run({test_support::keten_binary(), "case", "hold", kHeld, "--reason", "x", "--store", notes.string()});
  CHECK(not_store.exit_code == 2);
  CHECK_THAT(not_store.err, Contains("not a database"));

  clock.advance(4s);  // both cases past their retention (3 s)
  REQUIRE(wait_shredded(h, kGone, 30s));
  // Well past its own deadline too, the held case is kept. A sweep is due at the new time, so the
  // loop has swept and committed by the time it answers a submit sent after the advance.
  clock.advance(1h);
  send_notice(h, "9990077003");  // a barrier
  CHECK(count_event(h, kHeld, "shredded") == 0);
  CHECK(count_event(h, kHeld, "hold") == 1);
  const auto shredded = case_rows(h, kGone);
  for (const auto& row : shredded) {
    if (row.event != "shredded") continue;
    CHECK_THAT(row.detail, Contains("\"retention\":\"PT3S\"") && Contains("Vreemdelingenwet art. 107") &&
                               Contains("\"messages\":1"));
  }

  // Resend and replay name the shredding, when and why.
  auto resend =
      run({test_support::keten_binary(), "log", "resend", "--store", store, "--message", gone_id, "--to", "CHARLIE",
           "--into", (h.dir() / "no-profiles").string(), "--payload-key", h.options().payload_key});
  INFO(resend.out << resend.err);
  CHECK(resend.exit_code == 1);
  CHECK_THAT(resend.err, Contains("payload shredded on") &&
                             Contains("(retention PT3S of contract test.notice v1, basis Vreemdelingenwet art. 107)"));
  CHECK_THAT(resend.err, !Contains("--payload-key"));
  auto replay = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kGone, "--payload-key",
                     h.options().payload_key});
  INFO(replay.out << replay.err);
  CHECK(replay.exit_code == 0);
  CHECK_THAT(replay.out, Contains("payload shredded on") && Contains("retention PT3S of contract test.notice v1") &&
                             Contains("payloads of case " + kGone + " shredded"));
  // The held case still reads.
  auto held_replay = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kHeld,
                          "--payload-key", h.options().payload_key});
  CHECK_THAT(held_replay.out, Contains("matches the log") && !Contains("payload shredded"));

  auto release =
      run({test_support::keten_binary(), "case", "release", kHeld, "--reason", "case closed", "--store", store});
  INFO(release.out << release.err);
  REQUIRE(release.exit_code == 0);
  clock.advance(1s);  // the next sweep is due
  REQUIRE(wait_shredded(h, kHeld, 30s));
  CHECK(count_event(h, kHeld, "release") == 1);
  (void)held_id;

  // The log verifies while the broker runs (the tools' events follow its last checkpoint) and after.
  auto running = run({test_support::keten_binary(), "log", "verify", "--store", store});
  INFO(running.out << running.err);
  CHECK(running.exit_code == 0);
  h.stop();
  auto stopped = run({test_support::keten_binary(), "log", "verify", "--store", store});
  INFO(stopped.out << stopped.err);
  CHECK(stopped.exit_code == 0);
}
