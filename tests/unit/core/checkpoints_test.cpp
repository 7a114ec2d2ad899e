// Checkpoints (broker/core/checkpoints.h): receipts anchored with the checkpoint signed at their
// commit, and the interval at which the loop has the store cover other writers' events. A real
// SQLite store that signs.
#include "broker/core/checkpoints.h"

#include <catch2/catch.hpp>

#include "broker/core/event_log.h"
#include "broker/core/turn_answers.h"
#include "broker/store/sqlite_store.h"
#include "tests/support/temp_dir.h"

namespace {

using contracts::Millis;
using namespace std::chrono_literals;

constexpr Millis kT0 = 1'700'000'000'000;

broker::store::SqliteStore open_signing_store(const test_support::TempDir& dir, bool signs) {
  broker::store::StoreOptions o;
  o.path = dir / "k.db";
  o.sync_full = false;
  if (signs) o.signing_seed = std::string(32, 's');
  auto s = broker::store::SqliteStore::open(o);
  REQUIRE(s);
  return std::move(*s);
}

// Appends one event in its own transaction, as a loop turn would.
void append_one(broker::store::SqliteStore& store, const std::string& message_id) {
  REQUIRE(store.begin());
  broker::events::Event e;
  e.at = kT0;
  e.message_id = message_id;
  e.record = broker::events::Delivered{1};
  REQUIRE(broker::core::record_event(store, e));
  REQUIRE(store.commit());
}

contracts::Receipt accepted(const std::string& id) {
  contracts::Receipt r;
  r.message_id = id;
  r.status = contracts::ReceiptStatus::kAccepted;
  return r;
}

contracts::Receipt only_receipt(broker::core::TurnAnswers& answers) {
  auto out = answers.take(1 << 20);
  REQUIRE(out.size() == 1);
  auto e = contracts::decode_envelope(
      std::span(reinterpret_cast<const std::byte*>(out[0].bytes.data()), out[0].bytes.size()));
  REQUIRE(e);
  return std::get<contracts::Receipt>(*e);
}

}  // namespace

TEST_CASE("a receipt carries the checkpoint signed at its turn's commit", "[core][checkpoints]") {
  test_support::TempDir dir;
  auto store = open_signing_store(dir, true);
  broker::core::Checkpoints checkpoints(store, 60s, true);
  append_one(store, "m-1");
  auto first = store.latest_checkpoint_note();
  REQUIRE(first);
  REQUIRE(*first);
  broker::core::TurnAnswers answers;
  answers.receipt("c1", accepted("m-1"));
  checkpoints.anchor(answers);
  CHECK(only_receipt(answers).checkpoint == **first);
  // The next commit signs a larger tree; the next turn's receipts carry that one.
  append_one(store, "m-2");
  auto second = store.latest_checkpoint_note();
  REQUIRE(second);
  REQUIRE(*second);
  CHECK(**second != **first);
  answers.receipt("c1", accepted("m-2"));
  checkpoints.anchor(answers);
  CHECK(only_receipt(answers).checkpoint == **second);
}

TEST_CASE("without a signing key receipts go without a checkpoint and nothing is signed", "[core][checkpoints]") {
  test_support::TempDir dir;
  auto store = open_signing_store(dir, false);
  broker::core::Checkpoints checkpoints(store, 60s, false);
  append_one(store, "m-1");
  broker::core::TurnAnswers answers;
  answers.receipt("c1", accepted("m-1"));
  checkpoints.anchor(answers);
  CHECK(only_receipt(answers).checkpoint.empty());
  REQUIRE(checkpoints.keep_covered(kT0 + 3'600'000, true));
  CHECK(checkpoints.covered_at() == 0);  // it covers nothing it cannot sign
}

TEST_CASE("the log counts as covered again only once the interval has passed", "[core][checkpoints]") {
  test_support::TempDir dir;
  auto store = open_signing_store(dir, true);
  broker::core::Checkpoints checkpoints(store, 60s, true);
  checkpoints.covered_at(kT0);
  REQUIRE(checkpoints.keep_covered(kT0 + 59'999));
  CHECK(checkpoints.covered_at() == kT0);
  REQUIRE(checkpoints.keep_covered(kT0 + 60'000));
  CHECK(checkpoints.covered_at() == kT0 + 60'000);
  REQUIRE(checkpoints.keep_covered(kT0 + 60'001, true));  // at shutdown: whatever the interval
  CHECK(checkpoints.covered_at() == kT0 + 60'001);
}
