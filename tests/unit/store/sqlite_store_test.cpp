// SqliteStore through its public API, on real SQLite files in a per-test temp folder.
#include "broker/store/sqlite_store.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "broker/events/legacy.h"
#include "contracts/digest.h"
#include "tests/support/ok.h"
#include "tests/support/temp_dir.h"

namespace {

using broker::store::DeliveryCounts;
using broker::store::DeliveryState;
using broker::store::LogEvent;
using broker::store::NewMessage;
using broker::store::SqliteStore;
using broker::store::StoreOptions;
using Catch::Matchers::Contains;
using contracts::ErrorCode;
using contracts::Result;

using test_support::ok;

StoreOptions options_for(const std::filesystem::path& path) {
  StoreOptions options;
  options.path = path;
  return options;
}

SqliteStore open_store(const test_support::TempDir& dir) {
  return ok(SqliteStore::open(options_for(dir / "store.db")));
}

NewMessage sample_message(std::string message_id,
                          std::vector<std::string> recipients = {"gemeente-utrecht", "ind"}) {
  NewMessage m;
  m.header.message_id = std::move(message_id);
  m.header.contract = "verblijfsvergunning.verleend";
  m.header.version = 2;
  m.header.case_ref = "case-17";
  m.header.recipients = {"ind"};
  m.header.correlation_id = "corr-1";
  m.header.causation_id = "cause-1";
  m.header.supersedes = "old-1";
  m.header.occurred_at = 1'700'000'000'000;
  m.header.recorded_at = 1'700'000'000'500;
  m.sender = "coa";
  m.payload = R"({"v":1})";
  m.payload_digest = contracts::sha256_hex(m.payload);
  m.recipients = std::move(recipients);
  m.log_seq = 7;
  m.accepted_at = 1'700'000'001'000;
  return m;
}

LogEvent sample_event(std::string event, std::string message_id) {
  LogEvent e;
  e.at = 1'700'000'002'000;
  e.event = std::move(event);
  e.message_id = std::move(message_id);
  e.contract = "verblijfsvergunning.verleend";
  e.version = 2;
  e.case_ref = "case-17";
  e.sender = "coa";
  e.recipient = "ind";
  e.delivery_id = 3;
  e.payload_digest = contracts::sha256_hex("x");
  e.detail = R"({"attempt":1})";
  return e;
}

// Inserts a message and one delivery per resolved recipient in one transaction; returns the
// delivery ids in recipient order.
std::vector<std::int64_t> accept(SqliteStore& store, const NewMessage& message) {
  ok(store.begin());
  const std::int64_t seq = ok(store.insert_message(message));
  std::vector<std::int64_t> ids;
  for (const auto& recipient : message.recipients)
    ids.push_back(ok(store.insert_delivery(seq, recipient)));
  ok(store.commit());
  return ids;
}

std::vector<std::int64_t> ids_of(const std::vector<broker::store::OutboundDelivery>& deliveries) {
  std::vector<std::int64_t> ids;
  for (const auto& d : deliveries) ids.push_back(d.delivery_id);
  return ids;
}

}  // namespace

TEST_CASE("store creates its folder and database file on first open", "[store]") {
  test_support::TempDir dir;
  const auto path = dir / "nested" / "deeper" / "store.db";
  REQUIRE_FALSE(std::filesystem::exists(path.parent_path()));
  auto store = SqliteStore::open(options_for(path));
  REQUIRE(store.ok());
  CHECK(std::filesystem::is_regular_file(path));
}

TEST_CASE("store refuses an empty path with a storage error", "[store]") {
  auto store = SqliteStore::open(options_for({}));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
}

TEST_CASE("store refuses a path that is a folder with a storage error", "[store]") {
  test_support::TempDir dir;
  auto store = SqliteStore::open(options_for(dir.path()));
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().code == ErrorCode::kStorage);
  CHECK_THAT(store.error().detail, Contains(dir.path().string()));
}

TEST_CASE("store reopens with accepted messages intact", "[store]") {
  test_support::TempDir dir;
  const NewMessage message = sample_message("m-1");
  std::vector<std::int64_t> ids;
  std::uint64_t log_seq = 0;
  {
    auto store = open_store(dir);
    ids = accept(store, message);
    ok(store.begin());
    ok(store.mark_in_flight(ids[0], 1, 1'700'000'003'000));
    log_seq = ok(store.append_log(sample_event("accepted", "m-1")));
    ok(store.commit());
  }
  auto store = open_store(dir);
  auto found = ok(store.find_message("m-1"));
  REQUIRE(found.has_value());
  CHECK(found->message_id == "m-1");
  CHECK(found->sender == "coa");
  CHECK(found->payload_digest == message.payload_digest);
  CHECK(found->recipients == message.recipients);
  CHECK(found->log_seq == 7);
  CHECK(found->accepted_at == message.accepted_at);

  auto delivery = ok(store.find_delivery(ids[0]));
  REQUIRE(delivery.has_value());
  CHECK(delivery->state == DeliveryState::kInFlight);
  CHECK(delivery->attempts == 1);
  auto pending = ok(store.next_pending("ind", 10));
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].delivery_id == ids[1]);

  auto log = ok(store.read_log(0, 10));
  REQUIRE(log.size() == 1);
  CHECK(log[0].seq == log_seq);
  CHECK(log[0].event == "accepted");
}

TEST_CASE("an in-memory store works without a file", "[store]") {
  auto store = ok(SqliteStore::open(options_for(":memory:")));
  accept(store, sample_message("m-1"));
  CHECK(ok(store.find_message("m-1")).has_value());
}

TEST_CASE("find_message returns the stored message and nothing for an unknown id", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  accept(store, sample_message("m-1"));

  auto found = ok(store.find_message("m-1"));
  REQUIRE(found.has_value());
  CHECK(found->seq > 0);
  CHECK(found->recipients == std::vector<std::string>{"gemeente-utrecht", "ind"});
  CHECK_FALSE(ok(store.find_message("m-2")).has_value());
  CHECK_FALSE(ok(store.find_message("")).has_value());
}

TEST_CASE("a duplicate message_id is refused with a storage error", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  accept(store, sample_message("m-1"));

  NewMessage second = sample_message("m-1", {"other"});
  second.sender = "someone-else";
  ok(store.begin());
  auto inserted = store.insert_message(second);
  REQUIRE_FALSE(inserted.ok());
  CHECK(inserted.error().code == ErrorCode::kStorage);
  CHECK_THAT(inserted.error().detail, Contains("insert_message") && Contains("UNIQUE"));
  store.rollback();

  auto found = ok(store.find_message("m-1"));
  REQUIRE(found.has_value());
  CHECK(found->sender == "coa");
  CHECK(found->recipients == std::vector<std::string>{"gemeente-utrecht", "ind"});
}

TEST_CASE("a delivery moves from pending to in flight and on to its outcome", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  const std::int64_t id = accept(store, sample_message("m-1", {"ind"}))[0];

  auto fresh = ok(store.find_delivery(id));
  REQUIRE(fresh.has_value());
  CHECK(fresh->id == id);
  CHECK(fresh->recipient == "ind");
  CHECK(fresh->state == DeliveryState::kPending);
  CHECK(fresh->attempts == 0);
  CHECK(fresh->last_attempt_at == 0);

  ok(store.begin());
  ok(store.mark_in_flight(id, 1, 1'000));
  ok(store.commit());
  auto sent = ok(store.find_delivery(id));
  CHECK(sent->state == DeliveryState::kInFlight);
  CHECK(sent->attempts == 1);
  CHECK(sent->last_attempt_at == 1'000);

  SECTION("acked") {
    ok(store.begin());
    ok(store.mark_acked(id, 2'000));
    ok(store.commit());
    auto acked = ok(store.find_delivery(id));
    CHECK(acked->state == DeliveryState::kAcked);
    CHECK(acked->acked_at == 2'000);
    CHECK(acked->dead_at == 0);
  }
  SECTION("dead") {
    ok(store.begin());
    ok(store.mark_dead(id, 3'000));
    ok(store.commit());
    auto dead = ok(store.find_delivery(id));
    CHECK(dead->state == DeliveryState::kDead);
    CHECK(dead->dead_at == 3'000);
    CHECK(dead->acked_at == 0);
    CHECK(ok(store.next_pending("ind", 10)).empty());
  }
  SECTION("back to pending, then sent again") {
    ok(store.begin());
    ok(store.mark_pending(id));
    ok(store.commit());
    auto again = ok(store.find_delivery(id));
    CHECK(again->state == DeliveryState::kPending);
    CHECK(again->attempts == 1);  // the earlier send still counts
    CHECK(ids_of(ok(store.next_pending("ind", 10))) == std::vector<std::int64_t>{id});

    ok(store.begin());
    ok(store.mark_in_flight(id, 2, 4'000));
    ok(store.commit());
    CHECK(ok(store.find_delivery(id))->attempts == 2);
  }
}

TEST_CASE("a delivery inserted as sent is what insert and mark_in_flight leave", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  ok(store.begin());
  const std::int64_t seq = ok(store.insert_message(sample_message("m-1", {"ind", "coa"})));
  const std::int64_t sent = ok(store.insert_delivery_sent(seq, "ind", 4'000));
  const std::int64_t pending = ok(store.insert_delivery(seq, "coa"));
  ok(store.mark_in_flight(pending, 1, 4'000));
  ok(store.commit());
  auto a = ok(store.find_delivery(sent)), b = ok(store.find_delivery(pending));
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->state == DeliveryState::kInFlight);
  CHECK(a->attempts == 1);
  CHECK(a->last_attempt_at == 4'000);
  CHECK(std::tie(a->state, a->attempts, a->last_attempt_at, a->acked_at, a->dead_at) ==
        std::tie(b->state, b->attempts, b->last_attempt_at, b->acked_at, b->dead_at));
  CHECK(ok(store.next_pending("ind", 10)).empty());
  CHECK(ok(store.count_deliveries("ind")).in_flight == 1);
  ok(store.begin());  // it goes back to pending like any delivery in flight
  CHECK(ok(store.reset_in_flight("ind")) == 1);
  ok(store.commit());
  CHECK(ids_of(ok(store.next_pending("ind", 10))) == std::vector<std::int64_t>{sent});
}

TEST_CASE("marking an unknown delivery fails with a storage error", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  ok(store.begin());
  const std::int64_t unknown = 4242;
  for (auto result : {store.mark_in_flight(unknown, 1, 1), store.mark_acked(unknown, 1),
                      store.mark_pending(unknown), store.mark_dead(unknown, 1)}) {
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == ErrorCode::kStorage);
    CHECK_THAT(result.error().detail, Contains("4242"));
  }
  store.rollback();
  CHECK_FALSE(ok(store.find_delivery(unknown)).has_value());
}

TEST_CASE("a delivery for an unknown message is refused", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  ok(store.begin());
  auto id = store.insert_delivery(999, "ind");
  REQUIRE_FALSE(id.ok());
  CHECK(id.error().code == ErrorCode::kStorage);
  CHECK_THAT(id.error().detail, Contains("FOREIGN KEY"));
  store.rollback();
}

TEST_CASE("a second delivery of one message to the same recipient is refused", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  accept(store, sample_message("m-1", {"ind"}));
  const std::int64_t seq = ok(store.find_message("m-1"))->seq;
  ok(store.begin());
  auto again = store.insert_delivery(seq, "ind");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::kStorage);
  store.rollback();
  CHECK(ok(store.count_deliveries("ind")).pending == 1);
}

TEST_CASE("next_pending returns the oldest pending deliveries first, up to the limit", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(accept(store, sample_message("m-" + std::to_string(i), {"ind"}))[0]);

  CHECK(ids_of(ok(store.next_pending("ind", 3))) ==
        std::vector<std::int64_t>(ids.begin(), ids.begin() + 3));
  CHECK(ids_of(ok(store.next_pending("ind", 100))) == ids);
  CHECK(ok(store.next_pending("ind", 0)).empty());
  CHECK(ids_of(ok(store.next_pending("ind", std::numeric_limits<std::size_t>::max()))) == ids);

  auto first = ok(store.next_pending("ind", 1));
  REQUIRE(first.size() == 1);
  CHECK(first[0].header.message_id == "m-0");

  // Only ids below a bound: what the scheduler does not hold in memory.
  CHECK(ids_of(ok(store.next_pending("ind", 100, ids[3]))) == std::vector<std::int64_t>(ids.begin(), ids.begin() + 3));
  CHECK(ids_of(ok(store.next_pending("ind", 2, ids[3]))) == std::vector<std::int64_t>(ids.begin(), ids.begin() + 2));
  CHECK(ok(store.next_pending("ind", 100, ids[0])).empty());
}

TEST_CASE("next_pending returns only the asked recipient's deliveries", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  const auto both = accept(store, sample_message("m-1", {"gemeente-utrecht", "ind"}));
  const auto ind_only = accept(store, sample_message("m-2", {"ind"}));

  auto utrecht = ok(store.next_pending("gemeente-utrecht", 10));
  REQUIRE(utrecht.size() == 1);
  CHECK(utrecht[0].delivery_id == both[0]);
  CHECK(utrecht[0].recipient == "gemeente-utrecht");
  CHECK(ids_of(ok(store.next_pending("ind", 10))) ==
        std::vector<std::int64_t>{both[1], ind_only[0]});
  CHECK(ok(store.next_pending("nobody", 10)).empty());
}

TEST_CASE("next_pending skips deliveries in flight, acked or dead", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(accept(store, sample_message("m-" + std::to_string(i), {"ind"}))[0]);
  ok(store.begin());
  ok(store.mark_in_flight(ids[0], 1, 10));
  ok(store.mark_acked(ids[1], 10));
  ok(store.mark_dead(ids[2], 10));
  ok(store.commit());
  CHECK(ids_of(ok(store.next_pending("ind", 10))) == std::vector<std::int64_t>{ids[3]});
}

TEST_CASE("next_pending joins each delivery with its message", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  const NewMessage message = sample_message("m-1");
  const auto ids = accept(store, message);

  auto pending = ok(store.next_pending("ind", 10));
  REQUIRE(pending.size() == 1);
  const auto& d = pending[0];
  CHECK(d.delivery_id == ids[1]);
  CHECK(d.recipient == "ind");
  CHECK(d.attempts == 0);
  CHECK(d.header.message_id == "m-1");
  CHECK(d.header.contract == message.header.contract);
  CHECK(d.header.version == 2);
  CHECK(d.header.case_ref == "case-17");
  CHECK(d.header.recipients == message.recipients);  // resolved, not the requested {"ind"}
  CHECK(d.header.correlation_id == "corr-1");
  CHECK(d.header.causation_id == "cause-1");
  CHECK(d.header.supersedes == "old-1");
  CHECK(d.header.occurred_at == message.header.occurred_at);
  CHECK(d.header.recorded_at == message.header.recorded_at);
  CHECK(d.sender == "coa");
  CHECK(d.payload == message.payload);
  CHECK(d.payload_digest == message.payload_digest);
  CHECK(d.accepted_at == message.accepted_at);
}

TEST_CASE("find_outbound returns a delivery in any state", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  const std::int64_t id = accept(store, sample_message("m-1", {"ind"}))[0];
  ok(store.begin());
  ok(store.mark_in_flight(id, 3, 10));
  ok(store.commit());

  auto state = GENERATE(DeliveryState::kInFlight, DeliveryState::kAcked, DeliveryState::kDead,
                        DeliveryState::kPending);
  ok(store.begin());
  switch (state) {
    case DeliveryState::kPending:
      ok(store.mark_pending(id));
      break;
    case DeliveryState::kInFlight:
      break;
    case DeliveryState::kAcked:
      ok(store.mark_acked(id, 20));
      break;
    case DeliveryState::kDead:
      ok(store.mark_dead(id, 20));
      break;
  }
  ok(store.commit());
  INFO("state " << broker::store::to_string(state));
  auto found = ok(store.find_outbound(id));
  REQUIRE(found.has_value());
  CHECK(found->delivery_id == id);
  CHECK(found->attempts == 3);
  CHECK(found->header.message_id == "m-1");
  CHECK(found->payload == R"({"v":1})");
  CHECK_FALSE(ok(store.find_outbound(id + 1)).has_value());
}

TEST_CASE("reset_in_flight returns in-flight deliveries to pending and counts them", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  const auto a = accept(store, sample_message("m-1", {"gemeente-utrecht", "ind"}));
  const auto b = accept(store, sample_message("m-2", {"gemeente-utrecht", "ind"}));
  const auto c = accept(store, sample_message("m-3", {"ind"}));
  ok(store.begin());
  ok(store.mark_in_flight(a[0], 1, 10));  // utrecht
  ok(store.mark_in_flight(a[1], 1, 10));  // ind
  ok(store.mark_in_flight(b[1], 1, 10));  // ind
  ok(store.mark_in_flight(c[0], 1, 10));
  ok(store.mark_acked(c[0], 11));  // ind, acked: stays acked
  ok(store.commit());

  SECTION("for one recipient") {
    ok(store.begin());
    CHECK(ok(store.reset_in_flight("ind")) == 2);
    ok(store.commit());
    CHECK(ok(store.count_deliveries("ind")).in_flight == 0);
    CHECK(ok(store.count_deliveries("ind")).acked == 1);
    CHECK(ok(store.count_deliveries("gemeente-utrecht")).in_flight == 1);
    CHECK(ids_of(ok(store.next_pending("ind", 10))) == std::vector<std::int64_t>{a[1], b[1]});
  }
  SECTION("for everyone") {
    ok(store.begin());
    CHECK(ok(store.reset_in_flight()) == 3);
    CHECK(ok(store.reset_in_flight()) == 0);
    ok(store.commit());
    CHECK(ok(store.count_deliveries()).in_flight == 0);
    CHECK(ok(store.count_deliveries()).pending == 4);
  }
  SECTION("for a recipient with nothing in flight") {
    CHECK(ok(store.reset_in_flight("nobody")) == 0);
  }
}

TEST_CASE("count_deliveries counts each state per recipient and in total", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  CHECK(ok(store.count_deliveries()).pending == 0);
  std::vector<std::int64_t> ind;
  for (int i = 0; i < 5; ++i)
    ind.push_back(accept(store, sample_message("m-" + std::to_string(i), {"ind", "coa"}))[0]);
  ok(store.begin());
  ok(store.mark_in_flight(ind[0], 1, 10));
  ok(store.mark_acked(ind[1], 10));
  ok(store.mark_acked(ind[2], 10));
  ok(store.mark_dead(ind[3], 10));
  ok(store.commit());

  const DeliveryCounts for_ind = ok(store.count_deliveries("ind"));
  CHECK(for_ind.pending == 1);
  CHECK(for_ind.in_flight == 1);
  CHECK(for_ind.acked == 2);
  CHECK(for_ind.dead == 1);
  const DeliveryCounts all = ok(store.count_deliveries());
  CHECK(all.pending == 6);
  CHECK(all.in_flight == 1);
  CHECK(all.acked == 2);
  CHECK(all.dead == 1);
  const DeliveryCounts none = ok(store.count_deliveries("nobody"));
  CHECK(none.pending + none.in_flight + none.acked + none.dead == 0);
}

TEST_CASE("recipients_with_pending lists each recipient with pending work once", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  CHECK(ok(store.recipients_with_pending()).empty());
  accept(store, sample_message("m-1", {"ind", "coa"}));
  accept(store, sample_message("m-2", {"ind"}));
  const auto utrecht = accept(store, sample_message("m-3", {"gemeente-utrecht"}));
  ok(store.begin());
  ok(store.mark_in_flight(utrecht[0], 1, 10));
  ok(store.commit());
  CHECK(ok(store.recipients_with_pending()) == std::vector<std::string>{"coa", "ind"});
}

TEST_CASE("append_log assigns increasing seqs and read_log pages through them", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  CHECK(ok(store.read_log(0, 10)).empty());
  std::vector<std::uint64_t> seqs;
  ok(store.begin());
  for (int i = 0; i < 25; ++i)
    seqs.push_back(ok(store.append_log(sample_event("routed", "m-" + std::to_string(i)))));
  ok(store.commit());
  for (std::size_t i = 1; i < seqs.size(); ++i) CHECK(seqs[i] > seqs[i - 1]);

  std::vector<LogEvent> all;
  std::uint64_t from = 0;
  int pages = 0;
  for (;;) {
    auto page = ok(store.read_log(from, 10));
    if (page.empty()) break;
    CHECK(page.size() <= 10);
    ++pages;
    from = page.back().seq + 1;
    all.insert(all.end(), page.begin(), page.end());
  }
  CHECK(pages == 3);
  REQUIRE(all.size() == 25);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].seq == seqs[i]);
    CHECK(all[i].message_id == "m-" + std::to_string(i));
  }
  CHECK(ok(store.read_log(seqs[10], 1)).front().seq == seqs[10]);
  CHECK(ok(store.read_log(seqs.back() + 1, 10)).empty());
  CHECK(ok(store.read_log(0, 0)).empty());
  CHECK(ok(store.read_log(std::numeric_limits<std::uint64_t>::max(), 10)).empty());
}

TEST_CASE("append_log stores every field of the event", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  const LogEvent in = sample_event("delivered", "m-1");
  ok(store.begin());
  const std::uint64_t seq = ok(store.append_log(in));
  LogEvent sparse;  // only the required fields
  sparse.at = 5;
  sparse.event = "rejected";
  const std::uint64_t sparse_seq = ok(store.append_log(sparse));
  ok(store.commit());

  auto out = ok(store.read_log(seq, 2));
  REQUIRE(out.size() == 2);
  CHECK(out[0].seq == seq);
  CHECK(out[0].at == in.at);
  CHECK(out[0].event == in.event);
  CHECK(out[0].message_id == in.message_id);
  CHECK(out[0].contract == in.contract);
  CHECK(out[0].version == in.version);
  CHECK(out[0].case_ref == in.case_ref);
  CHECK(out[0].sender == in.sender);
  CHECK(out[0].recipient == in.recipient);
  CHECK(out[0].delivery_id == in.delivery_id);
  CHECK(out[0].payload_digest == in.payload_digest);
  CHECK(out[0].detail == in.detail);
  CHECK(out[1].seq == sparse_seq);
  CHECK(out[1].event == "rejected");
  CHECK(out[1].message_id.empty());
  CHECK(out[1].delivery_id == 0);
  CHECK(out[1].detail.empty());
}

TEST_CASE("log rows of an open transaction are read back before commit and handed over after it", "[store]") {
  // Inside a transaction rows are inserted in multi-row chunks at commit or before a read.
  test_support::TempDir dir;
  auto store = open_store(dir);
  store.keep_committed_log(true);
  ok(store.begin());
  for (int i = 0; i < 40; ++i) ok(store.append_log(sample_event("routed", "m-" + std::to_string(i))));
  const auto before_commit = ok(store.read_log(0, 100));
  REQUIRE(before_commit.size() == 40);
  for (int i = 40; i < 45; ++i) ok(store.append_log(sample_event("routed", "m-" + std::to_string(i))));
  ok(store.commit());
  const auto handed_over = store.take_committed_events();
  REQUIRE(handed_over.size() == 45);

  ok(store.begin());
  ok(store.append_log(sample_event("routed", "m-rolled-back")));
  store.rollback();
  CHECK(store.take_committed_events().empty());

  const auto rows = ok(store.read_log(0, 100));
  REQUIRE(rows.size() == 45);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].message_id == "m-" + std::to_string(i));
    // Handed over typed, as appended: the same event as the row the file gives back.
    CHECK(handed_over[i].seq == rows[i].seq);
    CHECK(broker::events::to_legacy_row(handed_over[i].event).detail == rows[i].detail);
    CHECK(handed_over[i].event.message_id == rows[i].message_id);
    if (i > 0) CHECK(rows[i].prev_hash == rows[i - 1].hash);
  }
  CHECK(store.log_head().seq == rows.back().seq);
  // log_head() names the Merkle root; the schema-4 chain's head is legacy_log_head().
  CHECK(store.log_head().hash.size() == 64);
  CHECK(ok(store.legacy_log_head()).hash == rows.back().hash);
}

TEST_CASE("append_log refuses an event without a name", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  ok(store.begin());
  auto seq = store.append_log(sample_event("", "m-1"));
  REQUIRE_FALSE(seq.ok());
  CHECK(seq.error().code == ErrorCode::kStorage);
  store.rollback();
  CHECK(ok(store.read_log(0, 10)).empty());
}

TEST_CASE("rollback discards every write of the transaction", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  const auto kept = accept(store, sample_message("m-1", {"ind"}));

  ok(store.begin());
  const std::int64_t seq = ok(store.insert_message(sample_message("m-2", {"ind"})));
  ok(store.insert_delivery(seq, "ind"));
  ok(store.mark_acked(kept[0], 10));
  ok(store.append_log(sample_event("accepted", "m-2")));
  store.rollback();

  CHECK_FALSE(ok(store.find_message("m-2")).has_value());
  CHECK(ok(store.find_delivery(kept[0]))->state == DeliveryState::kPending);
  CHECK(ok(store.count_deliveries()).pending == 1);
  CHECK(ok(store.read_log(0, 10)).empty());

  // The store is usable afterwards.
  accept(store, sample_message("m-2", {"ind"}));
  CHECK(ok(store.find_message("m-2")).has_value());
}

TEST_CASE("begin inside an open transaction fails with a storage error", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  ok(store.begin());
  auto again = store.begin();
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::kStorage);
  CHECK_THAT(again.error().detail, Contains("begin"));
  ok(store.commit());
}

TEST_CASE("commit and rollback without a transaction are harmless", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  store.rollback();
  auto commit = store.commit();
  REQUIRE_FALSE(commit.ok());
  CHECK(commit.error().code == ErrorCode::kStorage);
  ok(store.begin());
  ok(store.commit());
}

TEST_CASE("a moved store keeps working", "[store]") {
  test_support::TempDir dir;
  auto first = open_store(dir);
  accept(first, sample_message("m-1"));
  SqliteStore second(std::move(first));
  CHECK(ok(second.find_message("m-1")).has_value());

  test_support::TempDir other_dir;
  auto third = open_store(other_dir);
  third = std::move(second);
  accept(third, sample_message("m-2"));
  CHECK(ok(third.find_message("m-2")).has_value());
}

TEST_CASE("recipient lists and payload bytes round-trip exactly", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  const std::vector<std::string> awkward = {
      "quote\"d", "back\\slash",       "new\nline", "tab\t", "gemeente-’s-Hertogenbosch",
      "",         "[\"not\",\"json\"]"};
  NewMessage message = sample_message("m-1", awkward);
  message.header.recipients = {"\x01", "ünïcødé"};
  message.payload = std::string("a\0b\xff\xfe", 5);
  accept(store, message);

  CHECK(ok(store.find_message("m-1"))->recipients == awkward);
  auto pending = ok(store.next_pending("quote\"d", 1));
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].header.recipients == awkward);
  CHECK(pending[0].payload == message.payload);
  CHECK(pending[0].payload.size() == 5);
  CHECK(ok(store.next_pending("", 1)).size() == 1);  // the empty recipient is a recipient too
}

TEST_CASE("recipients that are not valid UTF-8 are refused with a storage error", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  ok(store.begin());
  auto seq = store.insert_message(sample_message("m-1", {"bad\xff"}));
  REQUIRE_FALSE(seq.ok());
  CHECK(seq.error().code == ErrorCode::kStorage);
  CHECK_THAT(seq.error().detail, Contains("recipients"));
  store.rollback();
  CHECK_FALSE(ok(store.find_message("m-1")).has_value());
}

TEST_CASE("delivery states have stable names", "[store]") {
  CHECK(broker::store::to_string(DeliveryState::kPending) == "pending");
  CHECK(broker::store::to_string(DeliveryState::kInFlight) == "in_flight");
  CHECK(broker::store::to_string(DeliveryState::kAcked) == "acked");
  CHECK(broker::store::to_string(DeliveryState::kDead) == "dead");
}

TEST_CASE("oldest_undelivered follows acks and in-flight rows and agrees with backlog()", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  CHECK_FALSE(ok(store.oldest_undelivered("ind")));
  std::vector<std::vector<std::int64_t>> ids;
  for (int i = 0; i < 4; ++i) {
    auto m = sample_message("m-" + std::to_string(i));
    m.accepted_at = 1'700'000'000'000 + i * 1000;
    ids.push_back(accept(store, m));  // [gemeente-utrecht, ind]
  }
  CHECK(ok(store.oldest_undelivered("ind")) == 1'700'000'000'000);
  ok(store.begin());
  ok(store.mark_acked(ids[0][1], 1));                  // m-0 done for ind
  ok(store.mark_in_flight(ids[1][1], 1, 2));           // m-1 in flight for ind: still undelivered
  ok(store.mark_dead(ids[0][0], 3));                   // m-0 dead for gemeente-utrecht
  ok(store.commit());
  CHECK(ok(store.oldest_undelivered("ind")) == 1'700'000'001'000);
  CHECK(ok(store.oldest_undelivered("gemeente-utrecht")) == 1'700'000'001'000);
  for (const auto& b : ok(store.backlog())) {
    INFO(b.recipient);
    CHECK(ok(store.oldest_undelivered(b.recipient)) == b.oldest_accepted_at);
  }
  CHECK_FALSE(ok(store.oldest_undelivered("nobody")));
}

TEST_CASE("log_seq_since finds the newest stretch of rows at or after a time", "[store]") {
  test_support::TempDir dir;
  auto store = open_store(dir);
  CHECK(ok(store.log_seq_since(100)) == 1);  // an empty log
  auto append_at = [&](contracts::Millis at) {
    auto e = sample_event("delivered", "m-" + std::to_string(at));
    e.at = at;
    return ok(store.append_log(e));
  };
  // More rows than one page of the backward walk (4096), ten apart in time.
  ok(store.begin());
  for (contracts::Millis at = 10; at <= 50'000; at += 10) append_at(at);
  ok(store.commit());
  CHECK(ok(store.log_seq_since(25)) == 3);        // at 30 is row 3
  CHECK(ok(store.log_seq_since(30)) == 3);        // inclusive
  CHECK(ok(store.log_seq_since(1)) == 1);         // every row
  CHECK(ok(store.log_seq_since(10'005)) == 1'001);  // 5 000 rows back: across pages
  CHECK(ok(store.log_seq_since(60'000)) == 5'001);  // none: one above the head
  // A clock that stepped back: the stretch ends at the first older row walking back from the head.
  append_at(40'000);
  append_at(60'000);
  CHECK(ok(store.log_seq_since(45'000)) == 5'002);  // 60 000 only, although 50 000 is newer than 45 000

  const auto accepted = sample_event("accepted", "m-accepted");
  const auto seq = ok(store.append_log(accepted));
  append_at(70'000);
  // accepted_event reads the message's log_seq (messages), then that event.
  auto message = sample_message("m-accepted");
  message.log_seq = seq;
  ok(store.insert_message(message));
  auto found = ok(store.accepted_event("m-accepted"));
  REQUIRE(found);
  CHECK(found->seq == seq);
  CHECK(found->event.kind() == broker::events::Kind::kAccepted);
  CHECK(found->event.message_id == "m-accepted");
  CHECK_FALSE(ok(store.accepted_event("m-10")));  // only a `delivered` row
}
