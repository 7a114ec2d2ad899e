// The Store contract (broker/store/store.h), one set of cases run against both backends: a
// SqliteStore on a temp file and a PgStore on a real PostgreSQL 15 database. Each case runs once per
// backend (GENERATE); a failure names the backend.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/events/codec.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/memory_tree.h"
#include "broker/tlog/proof.h"
#include "contracts/digest.h"
#include "tests/integration/store/store_backends.h"
#include "tests/support/ok.h"

namespace events = broker::events;
namespace tlog = broker::tlog;
using broker::store::DeliveryState;
using broker::store::Store;
using Catch::Matchers::Contains;
using contracts::ErrorCode;
using contracts::Result;
using store_test::Keys;
using store_test::make_backend;
using test_support::ok;

namespace {

std::string backend_kind() { return GENERATE(as<std::string>{}, "sqlite", "postgresql"); }

// Inserts `m` with a pending delivery to each recipient in one transaction; returns the delivery ids.
std::vector<std::int64_t> accept(Store& store, const broker::store::NewMessage& m) {
  ok(store.begin());
  const auto seq = ok(store.insert_message(m));
  std::vector<std::int64_t> ids;
  for (const auto& r : m.recipients) ids.push_back(ok(store.insert_delivery(seq, r)));
  ok(store.commit());
  return ids;
}

}  // namespace

TEST_CASE(
    "a stored message is found by its id, its own producer gets it back, another producer only learns it is taken",
    "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  auto m = store_test::message("msg-1");
  m.log_seq = 4;
  ok(store.begin());
  const auto seq = ok(store.insert_message(m));
  ok(store.commit());

  const auto found = ok(store.find_message("msg-1"));
  REQUIRE(found);
  CHECK(found->seq == seq);
  CHECK(found->sender == "coa");
  CHECK(found->payload_digest == m.payload_digest);
  CHECK(found->recipients == m.recipients);
  CHECK(found->log_seq == 4);
  CHECK(found->accepted_at == m.accepted_at);
  CHECK_FALSE(ok(store.find_message("msg-2")));

  const auto own = ok(store.find_own_message("coa", "msg-1"));
  REQUIRE(own.own);
  CHECK_FALSE(own.taken);
  CHECK(own.own->seq == seq);
  const auto other = ok(store.find_own_message("dtv", "msg-1"));
  CHECK_FALSE(other.own);
  CHECK(other.taken);
  const auto none = ok(store.find_own_message("coa", "msg-2"));
  CHECK_FALSE(none.own);
  CHECK_FALSE(none.taken);

  const auto content = ok(store.find_message_content("msg-1"));
  REQUIRE(content);
  CHECK(content->header.message_id == "msg-1");
  CHECK(content->header.contract == m.header.contract);
  CHECK(content->header.version == 2);
  CHECK(content->header.case_ref == "case-17");
  CHECK(content->header.recipients == m.recipients);
  CHECK(content->header.correlation_id == "corr-1");
  CHECK(content->header.causation_id == "cause-1");
  CHECK(content->header.supersedes == "old-1");
  CHECK(content->header.occurred_at == m.header.occurred_at);
  CHECK(content->header.recorded_at == m.header.recorded_at);
  CHECK(content->header.origin == "file:coa/in");
  CHECK(content->requested_recipients == std::vector<std::string>{"ind"});
  CHECK(content->payload == m.payload);
  CHECK(content->unreadable.empty());
  CHECK_FALSE(ok(store.find_message_content("msg-2")));
}

TEST_CASE("a message id stored once cannot be stored again", "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  accept(*b.store, store_test::message("msg-1"));
  ok(b.store->begin());
  auto again = b.store->insert_message(store_test::message("msg-1", "dtv"));
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ErrorCode::kStorage);
  CHECK_THAT(again.error().detail, Contains("insert_message"));
  b.store->rollback();
  CHECK(ok(b.store->find_message("msg-1"))->sender == "coa");
}

TEST_CASE("a delivery goes through every state as told, and an unknown delivery or message fails",
          "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  ok(store.begin());
  const auto seq = ok(store.insert_message(store_test::message("msg-1")));
  const auto id = ok(store.insert_delivery(seq, "ind"));
  const auto sent = ok(store.insert_delivery_sent(seq, "gemeente-utrecht", 5'000));
  CHECK(sent > id);

  auto second = store.insert_delivery(seq, "ind");
  CHECK_FALSE(second);
  store.rollback();  // PostgreSQL aborts the transaction at a failed statement; both roll back
  ok(store.begin());
  const auto seq2 = ok(store.insert_message(store_test::message("msg-1")));
  const auto d1 = ok(store.insert_delivery(seq2, "ind"));
  const auto d2 = ok(store.insert_delivery_sent(seq2, "gemeente-utrecht", 5'000));
  ok(store.commit());

  auto d = ok(store.find_delivery(d1));
  REQUIRE(d);
  CHECK(d->message_seq == seq2);
  CHECK(d->recipient == "ind");
  CHECK(d->state == DeliveryState::kPending);
  CHECK(d->attempts == 0);
  CHECK(d->last_attempt_at == 0);
  d = ok(store.find_delivery(d2));
  CHECK(d->state == DeliveryState::kInFlight);
  CHECK(d->attempts == 1);
  CHECK(d->last_attempt_at == 5'000);

  ok(store.begin());
  ok(store.mark_in_flight(d1, 3, 6'000));
  ok(store.commit());
  d = ok(store.find_delivery(d1));
  CHECK(d->state == DeliveryState::kInFlight);
  CHECK(d->attempts == 3);
  CHECK(d->last_attempt_at == 6'000);
  ok(store.begin());
  ok(store.mark_pending(d1));
  ok(store.commit());
  CHECK(ok(store.find_delivery(d1))->state == DeliveryState::kPending);
  ok(store.begin());
  ok(store.mark_acked(d1, 7'000));
  ok(store.mark_dead(d2, 8'000));
  ok(store.commit());
  d = ok(store.find_delivery(d1));
  CHECK(d->state == DeliveryState::kAcked);
  CHECK(d->acked_at == 7'000);
  d = ok(store.find_delivery(d2));
  CHECK(d->state == DeliveryState::kDead);
  CHECK(d->dead_at == 8'000);

  const auto outbound = ok(store.find_outbound(d1));
  REQUIRE(outbound);
  CHECK(outbound->recipient == "ind");
  CHECK(outbound->payload == store_test::message("x").payload);
  CHECK(outbound->header.message_id == "msg-1");
  CHECK(outbound->sender == "coa");
  const auto header = ok(store.find_delivery_header(d1));
  REQUIRE(header);
  CHECK(header->payload.empty());
  CHECK(header->header.message_id == "msg-1");
  CHECK_FALSE(ok(store.find_delivery(999'999)));
  CHECK_FALSE(ok(store.find_outbound(999'999)));

  for (int step = 0; step < 4; ++step) {
    ok(store.begin());
    Result<void> r = step == 0   ? store.mark_in_flight(999'999, 1, 1)
                     : step == 1 ? store.mark_acked(999'999, 1)
                     : step == 2 ? store.mark_pending(999'999)
                                 : store.mark_dead(999'999, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kStorage);
    CHECK_THAT(r.error().detail, Contains("999999"));
    store.rollback();
  }
  ok(store.begin());
  auto orphan = store.insert_delivery(999'999, "ind");
  CHECK_FALSE(orphan);
  store.rollback();
}

TEST_CASE("next_pending hands out a recipient's pending deliveries oldest first, below before_id, up to the limit",
          "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  std::vector<std::int64_t> ind;
  for (int i = 0; i < 6; ++i) ind.push_back(accept(store, store_test::message("msg-" + std::to_string(i)))[1]);
  ok(store.begin());
  ok(store.mark_in_flight(ind[1], 1, 10));
  ok(store.mark_acked(ind[2], 10));
  ok(store.commit());

  auto ids = [](const std::vector<broker::store::OutboundDelivery>& list) {
    std::vector<std::int64_t> out;
    for (const auto& d : list) out.push_back(d.delivery_id);
    return out;
  };
  CHECK(ids(ok(store.next_pending("ind", 10))) == std::vector<std::int64_t>{ind[0], ind[3], ind[4], ind[5]});
  CHECK(ids(ok(store.next_pending("ind", 2))) == std::vector<std::int64_t>{ind[0], ind[3]});
  CHECK(ids(ok(store.next_pending("ind", 10, ind[4]))) == std::vector<std::int64_t>{ind[0], ind[3]});
  CHECK(ok(store.next_pending("ind", 0)).empty());
  CHECK(ok(store.next_pending("nobody", 10)).empty());
  const auto first = ok(store.next_pending("ind", 1));
  REQUIRE(first.size() == 1);
  CHECK(first[0].header.message_id == "msg-0");
  CHECK(first[0].recipient == "ind");
  CHECK(first[0].attempts == 0);
  CHECK(first[0].payload == store_test::message("x").payload);
  CHECK(first[0].header.recipients == std::vector<std::string>{"gemeente-utrecht", "ind"});
}

TEST_CASE("reset_in_flight puts in-flight deliveries back to pending, for one recipient or all",
          "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  const auto a = accept(store, store_test::message("msg-1"));
  const auto c = accept(store, store_test::message("msg-2"));
  ok(store.begin());
  for (auto id : {a[0], a[1], c[0]}) ok(store.mark_in_flight(id, 1, 10));
  ok(store.mark_acked(c[1], 10));
  CHECK(ok(store.reset_in_flight("ind")) == 1);
  ok(store.commit());
  CHECK(ok(store.find_delivery(a[1]))->state == DeliveryState::kPending);
  CHECK(ok(store.find_delivery(a[0]))->state == DeliveryState::kInFlight);
  ok(store.begin());
  CHECK(ok(store.reset_in_flight()) == 2);
  CHECK(ok(store.reset_in_flight()) == 0);
  ok(store.commit());
  CHECK(ok(store.find_delivery(c[1]))->state == DeliveryState::kAcked);
  const auto counts = ok(store.count_deliveries());
  CHECK(counts.pending == 3);
  CHECK(counts.in_flight == 0);
  CHECK(counts.acked == 1);
}

TEST_CASE("counts, backlog and oldest_undelivered see undelivered deliveries per recipient, in byte order",
          "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  // Byte order puts "Zorg" before "apotheek" before "ind"; a linguistic collation would not.
  auto m1 = store_test::message("msg-1", "coa", {"ind", "apotheek", "Zorg"});
  m1.accepted_at = 100;
  auto m2 = store_test::message("msg-2", "coa", {"ind", "apotheek"});
  m2.accepted_at = 200;
  const auto d1 = accept(store, m1);
  const auto d2 = accept(store, m2);
  ok(store.begin());
  ok(store.mark_in_flight(d1[0], 1, 300));  // ind's oldest in flight
  ok(store.mark_acked(d1[1], 300));         // apotheek's oldest acknowledged
  ok(store.mark_dead(d1[2], 300));          // Zorg: nothing undelivered
  ok(store.commit());

  auto all = ok(store.count_deliveries());
  CHECK(all.pending == 2);
  CHECK(all.in_flight == 1);
  CHECK(all.acked == 1);
  CHECK(all.dead == 1);
  auto ind = ok(store.count_deliveries("ind"));
  CHECK(ind.pending == 1);
  CHECK(ind.in_flight == 1);
  CHECK(ind.acked == 0);

  CHECK(ok(store.recipients_with_pending()) == std::vector<std::string>{"apotheek", "ind"});
  const auto backlog = ok(store.backlog());
  REQUIRE(backlog.size() == 2);
  CHECK(backlog[0].recipient == "apotheek");
  CHECK(backlog[0].undelivered == 1);
  CHECK(backlog[0].oldest_accepted_at == 200);
  CHECK(backlog[1].recipient == "ind");
  CHECK(backlog[1].undelivered == 2);
  CHECK(backlog[1].oldest_accepted_at == 100);
  CHECK(ok(store.oldest_undelivered("ind")) == std::optional<contracts::Millis>(100));
  CHECK(ok(store.oldest_undelivered("apotheek")) == std::optional<contracts::Millis>(200));
  CHECK_FALSE(ok(store.oldest_undelivered("Zorg")));
  CHECK_FALSE(ok(store.oldest_undelivered("nobody")));

  // The byte order itself, with a recipient that sorts differently under a linguistic collation.
  accept(store, store_test::message("msg-3", "coa", {"Zorg", "zorg", "_x"}));
  CHECK(ok(store.recipients_with_pending()) == std::vector<std::string>{"Zorg", "_x", "apotheek", "ind", "zorg"});
}

TEST_CASE("a rolled-back transaction leaves no message, delivery or event", "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind, Keys{"", store_test::kSigningSeed});
  Store& store = *b.store;
  store.keep_committed_log(true);
  ok(store.begin());
  CHECK(ok(store.append_event(store_test::delivered(1))) == 1);
  ok(store.commit());
  const auto head = store.log_head();
  const auto notes = ok(store.read_tree_checkpoints()).size();

  ok(store.begin());
  const auto seq = ok(store.insert_message(store_test::message("msg-1")));
  const auto id = ok(store.insert_delivery(seq, "ind"));
  CHECK(ok(store.append_event(store_test::delivered(2))) == 2);
  CHECK(ok(store.read_events(1, 10)).size() == 2);  // its own events, inside the transaction
  store.rollback();

  CHECK_FALSE(ok(store.find_message("msg-1")));
  CHECK_FALSE(ok(store.find_delivery(id)));
  CHECK(ok(store.count_deliveries()).pending == 0);
  CHECK(store.tree_size() == 1);
  CHECK(store.log_head().seq == head.seq);
  CHECK(store.log_head().hash == head.hash);
  CHECK(ok(store.read_events(1, 10)).size() == 1);
  CHECK(ok(store.read_tree_checkpoints()).size() == notes);
  const auto taken = store.take_committed_events();
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].seq == 1);
  CHECK(store.take_committed_events().empty());

  // The next transaction continues at seq 2, and a reopened store sees the same.
  ok(store.begin());
  CHECK(ok(store.append_event(store_test::delivered(3))) == 2);
  ok(store.commit());
  const auto kept = store.take_committed_events();
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].seq == 2);
  CHECK(kept[0].event == store_test::delivered(3));
  b.store.reset();
  auto again = b.open_again(Keys{"", store_test::kSigningSeed});
  CHECK(again->tree_size() == 2);
  CHECK(ok(again->read_events(2, 1)).at(0).event == store_test::delivered(3));
}

TEST_CASE("an event appended outside a transaction is committed at once, inside one at commit",
          "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  CHECK(ok(store.append_event(store_test::delivered(1))) == 1);
  CHECK(store.tree_size() == 1);
  auto other = b.open_again({});
  CHECK(ok(other->read_events(1, 10)).size() == 1);

  ok(store.begin());
  CHECK(ok(store.append_event(store_test::delivered(2))) == 2);
  CHECK(ok(store.append_event(store_test::delivered(3))) == 3);
  CHECK(store.log_head().seq == 3);
  ok(store.commit());
  CHECK(store.tree_size() == 3);
  other = b.open_again({});
  const auto all = ok(other->read_events(1, 10));
  REQUIRE(all.size() == 3);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].seq == i + 1);
    CHECK(all[i].event == store_test::delivered(static_cast<std::int64_t>(i + 1)));
  }
}

TEST_CASE("the log reads back by seq, by case, its starts and a message's accepted event", "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind);
  Store& store = *b.store;
  CHECK_FALSE(ok(store.last_started_event()));
  CHECK(ok(store.log_seq_since(0)) == 1);

  ok(store.begin());
  ok(store.append_event(store_test::started(1'000)));  // 1
  auto m = store_test::message("msg-1");
  m.header.case_ref = "V-1";
  m.log_seq = ok(store.append_event(store_test::accepted(m, 1'010)));  // 2
  ok(store.insert_message(m));
  ok(store.append_event(store_test::delivered(3, "V-2", 1'020)));  // 3
  ok(store.append_event(store_test::delivered(4, "V-1", 1'030)));  // 4
  ok(store.commit());
  ok(store.begin());
  ok(store.append_event(store_test::delivered(5, "V-2", 2'000)));  // 5
  ok(store.append_event(store_test::started(2'010)));              // 6
  ok(store.append_event(store_test::delivered(7, "", 2'020)));     // 7: no case
  ok(store.commit());

  const auto from3 = ok(store.read_events(3, 2));
  REQUIRE(from3.size() == 2);
  CHECK(from3[0].seq == 3);
  CHECK(from3[1].seq == 4);
  CHECK(ok(store.read_events(8, 10)).empty());
  CHECK(ok(store.read_events(0, 100)).size() == 7);

  auto seqs = [](const std::vector<events::LoggedEvent>& list) {
    std::vector<std::uint64_t> out;
    for (const auto& e : list) out.push_back(e.seq);
    return out;
  };
  CHECK(seqs(ok(store.read_case_events("V-1"))) == std::vector<std::uint64_t>{2, 4});
  CHECK(seqs(ok(store.read_case_events("V-2"))) == std::vector<std::uint64_t>{3, 5});
  CHECK(ok(store.read_case_events("V-3")).empty());
  CHECK(ok(store.read_case_events("")).empty());
  CHECK(seqs(ok(store.read_started_events())) == std::vector<std::uint64_t>{1, 6});
  const auto last = ok(store.last_started_event());
  REQUIRE(last);
  CHECK(last->seq == 6);
  CHECK(last->event == store_test::started(2'010));

  const auto acc = ok(store.accepted_event("msg-1"));
  REQUIRE(acc);
  CHECK(acc->seq == 2);
  CHECK(acc->event == store_test::accepted(m, 1'010));
  CHECK_FALSE(ok(store.accepted_event("msg-2")));

  CHECK(ok(store.log_seq_since(0)) == 1);
  CHECK(ok(store.log_seq_since(1'025)) == 4);  // 3 (1'020) is the first older one walking back
  CHECK(ok(store.log_seq_since(2'000)) == 5);
  CHECK(ok(store.log_seq_since(2'015)) == 7);
  CHECK(ok(store.log_seq_since(9'999)) == 8);
}

TEST_CASE(
    "the log head is the Merkle root of the events' bytes, and each signed checkpoint proves inclusion and "
    "consistency",
    "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind, Keys{"", store_test::kSigningSeed});
  Store& store = *b.store;
  CHECK(store.log_head().hash == contracts::hex_of(tlog::empty_root()));
  CHECK_FALSE(ok(store.latest_checkpoint_note()));
  CHECK_FALSE(store.sign_uncovered_at_commit());
  const std::string origin = store.log_origin();
  REQUIRE(origin.size() == 6 + 16);
  CHECK(origin.substr(0, 6) == "keten/");
  const auto verifier = store.checkpoint_verifier();
  REQUIRE(verifier);
  CHECK(verifier->name == origin);

  tlog::MemoryTree mirror;
  std::int64_t n = 0;
  // 300 events in one transaction (a level-8 node stored, blocks split at 32 KiB), then small ones.
  for (const int count : {300, 1, 5, 2}) {
    ok(store.begin());
    for (int i = 0; i < count; ++i) {
      ++n;
      auto e = store_test::delivered(n, n % 3 == 0 ? "V-3" : "V-1");
      mirror.append(events::encode_event(e));
      CHECK(ok(store.append_event(std::move(e))) == static_cast<std::uint64_t>(n));
    }
    ok(store.commit());
    CHECK(store.log_head().seq == mirror.size());
    CHECK(store.log_head().hash == contracts::hex_of(mirror.root()));
  }
  ok(store.begin());  // a commit without events signs nothing
  ok(store.commit());

  const auto notes = ok(store.read_tree_checkpoints());
  REQUIRE(notes.size() == 4);
  CHECK(ok(store.latest_checkpoint_note()) == std::optional<std::string>(notes.back()));
  std::vector<tlog::Checkpoint> cps;
  for (const auto& note : notes) {
    cps.push_back(ok(tlog::open_checkpoint(note, *verifier)));
    CHECK(cps.back().origin == origin);
    CHECK(cps.back().root == ok(mirror.root_at(cps.back().size)));
  }
  CHECK(cps.back().size == 308);
  auto reader = store.tree_reader();
  for (const std::uint64_t index : {0ull, 5ull, 255ull, 256ull, 299ull, 300ull, 307ull}) {
    const auto proof = ok(tlog::inclusion_proof(index, cps.back().size, reader));
    const auto leaf = tlog::leaf_hash(events::encode_event(ok(store.read_events(index + 1, 1)).at(0).event));
    ok(tlog::verify_inclusion(index, cps.back().size, leaf, proof, cps.back().root));
  }
  for (std::size_t i = 1; i < cps.size(); ++i) {
    const auto proof = ok(tlog::consistency_proof(cps[i - 1].size, cps[i].size, reader));
    ok(tlog::verify_consistency(cps[i - 1].size, cps[i].size, cps[i - 1].root, cps[i].root, proof));
  }
  CHECK_FALSE(store.sign_uncovered_at_commit());

  // Reopened, the tree is the same, and the next checkpoint extends the last one.
  b.store.reset();
  auto again = b.open_again(Keys{"", store_test::kSigningSeed});
  CHECK(again->log_origin() == origin);
  CHECK(again->log_head().hash == contracts::hex_of(mirror.root()));
  ok(again->begin());
  again->extend_next_checkpoint("keten-receipts 1 conformance");  // signed into this commit's checkpoint
  auto e = store_test::delivered(++n);
  mirror.append(events::encode_event(e));
  ok(again->append_event(e));
  ok(again->commit());
  const auto next = ok(tlog::open_checkpoint(*ok(again->latest_checkpoint_note()), *verifier));
  CHECK(next.extensions == std::vector<std::string>{"keten-receipts 1 conformance"});
  CHECK(next.size == 309);
  CHECK(next.root == mirror.root());
  const auto proof = ok(tlog::consistency_proof(308, 309, again->tree_reader()));
  ok(tlog::verify_consistency(308, 309, cps.back().root, next.root, proof));
}

TEST_CASE("a sealed payload reads back in clear, and a message that must be sealed fails without a payload key",
          "[store][conformance]") {
  const auto kind = backend_kind();
  INFO("backend " << kind);
  auto b = make_backend(kind, Keys{store_test::kPayloadKey, ""});
  Store& store = *b.store;
  auto m = store_test::message("msg-1");
  m.seal = true;
  const auto ids = accept(store, m);
  accept(store, store_test::message("msg-2"));  // sealed too: a payload key seals every payload
  const auto content = ok(store.find_message_content("msg-1"));
  REQUIRE(content);
  CHECK(content->payload == m.payload);
  CHECK(content->unreadable.empty());
  CHECK(ok(store.find_message_content("msg-2"))->payload == m.payload);
  const auto pending = ok(store.next_pending("ind", 10));
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].payload == m.payload);
  CHECK(ok(store.find_outbound(ids[0]))->payload == m.payload);

  auto plain = make_backend(kind);
  ok(plain.store->begin());
  auto refused = plain.store->insert_message(m);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::kStorage);
  CHECK_THAT(refused.error().detail, Contains("no payload key"));
  plain.store->rollback();
  CHECK_FALSE(ok(plain.store->find_message("msg-1")));
}
