#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <thread>

#include "broker/events/codec.h"
#include "broker/events/render.h"
#include "broker/ops/event_stream.h"
#include "broker/tlog/merkle.h"

namespace {

using broker::ops::EventFilter;
using broker::ops::EventStream;
using namespace std::chrono_literals;

broker::events::LoggedEvent row(std::uint64_t seq, broker::events::Record record, const char* sender = "ALPHA",
                                const char* recipient = "", const char* contract = "test.notice") {
  broker::events::LoggedEvent e;
  e.seq = seq;
  e.event.record = std::move(record);
  e.event.sender = sender;
  e.event.recipient = recipient;
  e.event.contract = contract;
  return e;
}

const broker::events::Record kDelivered = broker::events::Delivered{1};
const broker::events::Record kDeadLettered = broker::events::DeadLettered{3, ""};
const broker::events::Record kAccepted = broker::events::Accepted{};
const broker::events::Record kAlert = broker::events::Alert{};

}  // namespace

TEST_CASE("event stream drops and counts for a full subscriber without holding up the others", "[ops][events]") {
  EventStream stream(4, 2);
  auto slow = stream.subscribe({});
  auto fast = stream.subscribe({});
  std::uint64_t dropped_total = 0;
  std::uint64_t dropped = 0;
  bool closed = false;
  for (std::uint64_t seq = 1; seq <= 6; ++seq) {
    dropped_total += stream.publish(row(seq, kDelivered));
    if (seq % 2 == 0) CHECK(fast->take(0ms, dropped, closed).size() == 2);  // keeps up
  }
  CHECK(dropped_total == 4);  // the slow one: 6 published, 2 queued
  auto kept = slow->take(0ms, dropped, closed);
  CHECK(kept.size() == 2);
  CHECK(dropped == 4);
  CHECK(kept[0].rfind("id: 1\nevent: delivered\ndata: {", 0) == 0);
  const auto data = nlohmann::json::parse(kept[0].substr(kept[0].find("data: ") + 6));
  CHECK(data["seq"] == 1);
  CHECK(data["event"] == "delivered");
  CHECK(data["detail"]["attempt"] == 1);
  // hash: the event's Merkle leaf hash, what an inclusion proof for it starts from.
  const auto leaf = broker::tlog::leaf_hash(broker::events::encode_event(row(1, kDelivered).event));
  CHECK(data["hash"] == broker::events::hex(leaf));
  CHECK(slow->take(0ms, dropped, closed).empty());
  CHECK(dropped == 0);  // told once
}

TEST_CASE("event stream filters by kind, partner and contract", "[ops][events]") {
  EventStream stream(4, 100);
  EventFilter f;
  f.kinds = {"dead_lettered", "alert"};
  f.partner = "BRAVO";
  f.contract = "test.notice";
  auto s = stream.subscribe(f);
  stream.publish(row(1, kDeadLettered, "ALPHA", "BRAVO"));
  stream.publish(row(2, kDeadLettered, "ALPHA", "CHARLIE"));
  stream.publish(row(3, kAccepted, "BRAVO"));
  stream.publish(row(4, kAlert, "BRAVO", "", "other.contract"));
  stream.publish(row(5, kAlert, "BRAVO", "", "test.notice"));
  std::uint64_t dropped = 0;
  bool closed = false;
  auto got = s->take(0ms, dropped, closed);
  REQUIRE(got.size() == 2);
  CHECK(got[0].rfind("id: 1\n", 0) == 0);
  CHECK(got[1].rfind("id: 5\n", 0) == 0);
}

TEST_CASE("event stream refuses subscribers past its limit and wakes them all when closed", "[ops][events]") {
  EventStream stream(1, 10);
  auto first = stream.subscribe({});
  REQUIRE(first);
  CHECK_FALSE(stream.subscribe({}));
  std::thread closer([&] { stream.close(); });
  std::uint64_t dropped = 0;
  bool closed = false;
  first->take(60s, dropped, closed);  // returns at close, not after 60 s
  closer.join();
  CHECK(closed);
  stream.unsubscribe(first);
  CHECK(stream.subscribers() == 0);
  CHECK_FALSE(stream.subscribe({}));
}
