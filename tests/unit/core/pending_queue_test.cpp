// PendingQueue (broker/core/pending_queue.h): which recipients to look at, and the newest pending
// deliveries kept in memory in front of the store's. The store is a vector here: pure logic.
#include "broker/core/pending_queue.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

namespace {

using broker::core::PendingQueue;
using broker::store::OutboundDelivery;

OutboundDelivery delivery(std::int64_t id, const std::string& recipient = "BRAVO", std::size_t payload = 10) {
  OutboundDelivery d;
  d.delivery_id = id;
  d.recipient = recipient;
  d.header.message_id = "m-" + std::to_string(id);
  d.payload = std::string(payload, 'p');
  return d;
}

// Pending rows as the store holds them; a row read is taken (the caller marks it in flight).
struct FakeStore {
  std::vector<OutboundDelivery> rows;
  std::vector<std::int64_t> belows;  // the `below` of each read
  int reads = 0;

  PendingQueue::StoreRead reader() {
    return [this](const std::string& partner, std::size_t wanted,
                  std::int64_t below) -> contracts::Result<std::vector<OutboundDelivery>> {
      ++reads;
      belows.push_back(below);
      std::vector<OutboundDelivery> out;
      for (auto it = rows.begin(); it != rows.end() && out.size() < wanted;) {
        if (it->recipient == partner && it->delivery_id < below) {
          out.push_back(*it);
          it = rows.erase(it);
        } else {
          ++it;
        }
      }
      return out;
    };
  }
  // Stores `d` pending and hands it to the queue, as the pipeline does.
  void store_and_add(PendingQueue& q, OutboundDelivery d) {
    rows.push_back(d);
    q.add(std::move(d));
  }
};

std::vector<std::int64_t> ids(const std::vector<OutboundDelivery>& batch) {
  std::vector<std::int64_t> out;
  for (const auto& d : batch) out.push_back(d.delivery_id);
  return out;
}

std::vector<std::int64_t> next_ids(PendingQueue& q, FakeStore& store, std::size_t wanted) {
  auto batch = q.next("BRAVO", wanted, store.reader());
  REQUIRE(batch);
  // What the queue hands out from memory is sent: no longer pending in the store either.
  for (const auto& d : *batch) {
    std::erase_if(store.rows, [&](const OutboundDelivery& r) { return r.delivery_id == d.delivery_id; });
  }
  return ids(*batch);
}

}  // namespace

TEST_CASE("a recipient whose store was never read does not skip the pending state", "[core][pending]") {
  PendingQueue q;
  FakeStore store;
  CHECK_FALSE(q.nothing_waits("BRAVO"));
  CHECK(next_ids(q, store, 4).empty());  // the store is read: nothing older waits
  CHECK(q.nothing_waits("BRAVO"));
  CHECK_FALSE(q.nothing_waits("CHARLIE"));
}

TEST_CASE("older deliveries in the store go before the kept ones, and the store is read only below them",
          "[core][pending]") {
  PendingQueue q;
  FakeStore store;
  store.rows = {delivery(1), delivery(2), delivery(3)};  // from before a restart
  for (std::int64_t id = 10; id < 13; ++id) store.store_and_add(q, delivery(id));
  CHECK(q.kept("BRAVO") == 3);
  CHECK_FALSE(q.nothing_waits("BRAVO"));
  CHECK(next_ids(q, store, 2) == std::vector<std::int64_t>{1, 2});
  CHECK(store.belows.back() == 10);                              // below the kept front: never the kept ones again
  CHECK(next_ids(q, store, 5) == std::vector<std::int64_t>{3});  // short: drained
  CHECK(next_ids(q, store, 5) == std::vector<std::int64_t>{10, 11, 12});  // from memory
  CHECK(store.reads == 2);
  CHECK(q.kept("BRAVO") == 0);
  CHECK(q.nothing_waits("BRAVO"));
}

TEST_CASE("more deliveries than are kept: the oldest stay in the store only, and all come in order",
          "[core][pending]") {
  PendingQueue q;
  FakeStore store;
  CHECK(next_ids(q, store, 1).empty());  // drained
  const auto n = static_cast<std::int64_t>(PendingQueue::kKept) + 5;
  for (std::int64_t id = 1; id <= n; ++id) store.store_and_add(q, delivery(id));
  CHECK(q.kept("BRAVO") == PendingQueue::kKept);
  CHECK_FALSE(q.nothing_waits("BRAVO"));  // the store holds older ones now
  std::vector<std::int64_t> all;
  for (int round = 0; round < 100 && all.size() < static_cast<std::size_t>(n); ++round) {
    auto got = next_ids(q, store, 64);
    REQUIRE_FALSE(got.empty());
    all.insert(all.end(), got.begin(), got.end());
  }
  REQUIRE(all.size() == static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) CHECK(all[static_cast<std::size_t>(i)] == i + 1);
}

TEST_CASE("large payloads are kept by bytes, not by count", "[core][pending]") {
  PendingQueue q;
  FakeStore store;
  const std::size_t big = 1 << 20;
  for (std::int64_t id = 1; id <= 10; ++id) store.store_and_add(q, delivery(id, "BRAVO", big));
  CHECK(q.kept("BRAVO") <= PendingQueue::kKeptBytes / big);
  CHECK(q.kept("BRAVO") >= PendingQueue::kKeptBytes / big - 1);
}

TEST_CASE("forget drops what is kept and the store is read again", "[core][pending]") {
  PendingQueue q;
  FakeStore store;
  CHECK(next_ids(q, store, 1).empty());
  store.store_and_add(q, delivery(5));
  (void)q.take_awake();
  q.forget("BRAVO");  // e.g. a delivery went back to pending behind the queue's back
  CHECK(q.kept("BRAVO") == 0);
  CHECK(q.any_awake());
  CHECK_FALSE(q.nothing_waits("BRAVO"));
  const int before = store.reads;
  CHECK(next_ids(q, store, 4) == std::vector<std::int64_t>{5});  // from the store
  CHECK(store.reads == before + 1);
}

TEST_CASE("woken recipients are taken once, in name order", "[core][pending]") {
  PendingQueue q;
  q.wake("CHARLIE");
  q.add(delivery(1, "BRAVO"));
  q.wake("CHARLIE");
  CHECK(q.take_awake() == std::set<std::string>{"BRAVO", "CHARLIE"});
  CHECK_FALSE(q.any_awake());
  CHECK(q.take_awake().empty());
}

TEST_CASE("after clear nothing is kept and no recipient counts as drained", "[core][pending]") {
  PendingQueue q;
  FakeStore store;
  CHECK(next_ids(q, store, 1).empty());
  store.store_and_add(q, delivery(1));
  q.clear();
  CHECK(q.kept("BRAVO") == 0);
  CHECK_FALSE(q.nothing_waits("BRAVO"));
  CHECK(next_ids(q, store, 4) == std::vector<std::int64_t>{1});  // read back from the store
}

TEST_CASE("a store that fails while the queue reads it is an error, and nothing is lost", "[core][pending]") {
  PendingQueue q;
  auto failing = [](const std::string&, std::size_t, std::int64_t) -> contracts::Result<std::vector<OutboundDelivery>> {
    return contracts::Error{contracts::ErrorCode::kStorage, "disk gone"};
  };
  q.add(delivery(1));
  auto batch = q.next("BRAVO", 4, failing);
  REQUIRE_FALSE(batch);
  CHECK(batch.error().detail == "disk gone");
  CHECK(q.kept("BRAVO") == 1);
}
