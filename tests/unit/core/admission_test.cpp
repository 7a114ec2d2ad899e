// Admission (broker/core/admission.h): turns shared round-robin across partners, and the limits
// per partner. Pure logic: frames are made in memory.
#include "broker/core/admission.h"

#include "contracts/envelope.h"
#include "contracts/frame_peek.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using broker::core::Admission;
using broker::core::AdmissionLimits;
using broker::transport::Incoming;

Incoming frame(const std::string& partner, const std::string& routing_id, std::size_t bytes, char fill = 'x') {
  Incoming in;
  in.partner = partner;
  in.routing_id = routing_id;
  in.bytes = std::string(bytes, fill);
  return in;
}

// A Submit frame of `partner` (the queue limit applies to submits) of about `payload` bytes.
Incoming submit(const std::string& partner, const std::string& routing_id, std::size_t payload) {
  contracts::Submit s;
  s.header.message_id = "m";
  s.header.contract = "departure.scheduled";
  s.header.version = 1;
  s.payload = std::string(payload, 'p');
  Incoming in;
  in.partner = partner;
  in.routing_id = routing_id;
  in.bytes = contracts::encode_envelope(s);
  return in;
}

Incoming gone(const std::string& routing_id) {
  Incoming in;
  in.routing_id = routing_id;
  in.gone = true;
  return in;
}

std::vector<std::string> partners_of(const std::vector<Incoming>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.push_back(f.gone ? "gone:" + f.routing_id : f.partner);
  return out;
}

AdmissionLimits limits(std::size_t turn, std::size_t queue = 1 << 20, std::size_t connections = 16) {
  return AdmissionLimits{turn, queue, connections};
}

}  // namespace

TEST_CASE("a quiet partner's frame does not wait behind a flooding partner's queue", "[admission]") {
  const std::size_t size = submit("DTV", "flood", 1000).bytes.size();
  Admission a(limits(4 * size));
  for (int i = 0; i < 100; ++i) REQUIRE_FALSE(a.offer(submit("DTV", "flood", 1000)));
  REQUIRE_FALSE(a.offer(submit("COA", "quiet", 1000)));
  const auto turn = a.take();
  // Four frames fill the turn; the quiet partner's is among them though it came 101st.
  CHECK(turn.size() == 4);
  const auto partners = partners_of(turn);
  CHECK(std::count(partners.begin(), partners.end(), "COA") == 1);
  CHECK(a.held_bytes() == 97 * size);
}

TEST_CASE("a consumer's acks and credit do not wait behind submits", "[admission]") {
  const std::size_t size = submit("DTV", "p", 1000).bytes.size();
  Admission a(limits(size));
  for (int i = 0; i < 10; ++i) REQUIRE_FALSE(a.offer(submit("DTV", "p", 1000)));
  for (std::uint64_t i = 1; i <= 5; ++i) {
    REQUIRE_FALSE(a.offer(Incoming{"c", "KMAR", contracts::encode_envelope(contracts::AckBatch{{i}})}));
  }
  const auto partners = partners_of(a.take());
  // Every ack (well under turn_bytes together), then one submit.
  CHECK(partners == std::vector<std::string>{"KMAR", "KMAR", "KMAR", "KMAR", "KMAR", "DTV"});
}

TEST_CASE("a turn full of acks still takes one submit, so submits are never starved", "[admission]") {
  Admission a(limits(1024));
  REQUIRE_FALSE(a.offer(submit("DTV", "p", 100)));
  REQUIRE_FALSE(a.offer(frame("KMAR", "c", 5000)));  // not a submit: the other lane
  const auto partners = partners_of(a.take());
  CHECK(partners == std::vector<std::string>{"KMAR", "DTV"});
}

TEST_CASE("a turn takes at least one frame even when that frame is larger than turn_bytes", "[admission]") {
  Admission a(limits(1024));
  REQUIRE_FALSE(a.offer(frame("DTV", "r1", 10'000)));
  REQUIRE_FALSE(a.offer(frame("DTV", "r1", 10)));
  const auto first = a.take();
  REQUIRE(first.size() == 1);
  CHECK(first.front().bytes.size() == 10'000);
  CHECK(a.take().size() == 1);
  CHECK(a.empty());
  CHECK(a.take().empty());
}

TEST_CASE("two flooding partners alternate across turns instead of the first one starving the second", "[admission]") {
  Admission a(limits(1));  // one frame per turn
  for (int i = 0; i < 3; ++i) {
    REQUIRE_FALSE(a.offer(submit("AAA", "a", 100)));
    REQUIRE_FALSE(a.offer(submit("BBB", "b", 100)));
  }
  std::vector<std::string> order;
  while (!a.empty()) {
    auto turn = a.take();
    REQUIRE(turn.size() == 1);
    order.push_back(turn.front().partner);
  }
  CHECK(order == std::vector<std::string>{"AAA", "BBB", "AAA", "BBB", "AAA", "BBB"});
}

TEST_CASE("one partner's frames keep their arrival order across connections and turns", "[admission]") {
  Admission a(limits(250));
  for (char c = 'a'; c <= 'f'; ++c) REQUIRE_FALSE(a.offer(frame("DTV", c < 'd' ? "r1" : "r2", 100, c)));
  std::string seen;
  while (!a.empty()) {
    for (const auto& f : a.take()) seen += f.bytes.front();
  }
  CHECK(seen == "abcdef");
}

TEST_CASE("a partner over its queue bytes is refused at once with rate_limited naming the limit", "[admission]") {
  const Incoming one = submit("DTV", "r1", 1000);
  const std::size_t size = one.bytes.size();
  Admission a(limits(1 << 20, 2 * size));
  REQUIRE_FALSE(a.offer(one));
  REQUIRE_FALSE(a.offer(submit("DTV", "r1", 1000)));
  auto refused = a.offer(submit("DTV", "r1", 1));
  REQUIRE(refused);
  CHECK(refused->code == contracts::ErrorCode::kRateLimited);
  CHECK_THAT(refused->detail, Catch::Contains("partner DTV") && Catch::Contains("partner_queue_bytes"));
  CHECK(a.held_bytes() == 2 * size);  // the refused frame is not held
  // Another partner is not affected by DTV's queue.
  CHECK_FALSE(a.offer(submit("COA", "q", 1000)));
  // Once DTV's frames are taken, it is admitted again.
  while (!a.empty()) (void)a.take();
  CHECK_FALSE(a.offer(submit("DTV", "r1", 1000)));
}

TEST_CASE("a full queue still takes the partner's acks and credit, which are not submits", "[admission]") {
  Admission a(limits(1 << 20, 100));
  REQUIRE_FALSE(a.offer(submit("DTV", "r1", 1000)));
  REQUIRE(a.offer(submit("DTV", "r1", 10)));
  Incoming ack{"r1", "DTV", contracts::encode_envelope(contracts::AckBatch{{1, 2, 3}})};
  Incoming credit{"r1", "DTV", contracts::encode_envelope(contracts::Credit{64})};
  CHECK_FALSE(a.offer(ack));
  CHECK_FALSE(a.offer(credit));
  CHECK_FALSE(a.offer(frame("DTV", "r1", 500)));  // unreadable bytes are not a submit: decoding refuses them
}

TEST_CASE("a frame larger than partner_queue_bytes is still admitted into an empty queue", "[admission]") {
  Admission a(limits(1 << 20, 1000));
  CHECK_FALSE(a.offer(submit("DTV", "r1", 5000)));
  CHECK(a.offer(submit("DTV", "r1", 10)));
}

TEST_CASE("a partner's connection beyond max_connections_per_partner is refused until one is gone", "[admission]") {
  Admission a(limits(1 << 20, 1 << 20, 2));
  REQUIRE_FALSE(a.offer(frame("DTV", "r1", 10)));
  REQUIRE_FALSE(a.offer(frame("DTV", "r2", 10)));
  REQUIRE_FALSE(a.offer(frame("DTV", "r1", 10)));  // an open connection sends again
  auto refused = a.offer(frame("DTV", "r3", 10));
  REQUIRE(refused);
  CHECK(refused->code == contracts::ErrorCode::kRateLimited);
  CHECK_THAT(refused->detail, Catch::Contains("2 connections") && Catch::Contains("max_connections_per_partner"));
  CHECK(a.connections("DTV") == 2);
  CHECK_FALSE(a.offer(frame("COA", "q1", 10)));  // another partner has its own count
  REQUIRE_FALSE(a.offer(gone("r2")));
  CHECK(a.connections("DTV") == 1);
  CHECK_FALSE(a.offer(frame("DTV", "r3", 10)));
  CHECK(a.connections("DTV") == 2);
}

TEST_CASE("HTTPS API connections do not count against a partner's connection limit", "[admission]") {
  Admission a(limits(1 << 20, 1 << 20, 1));
  REQUIRE_FALSE(a.offer(frame("DTV", "zmq", 10)));
  Incoming via = frame("DTV", "gateway", 10);
  via.via_gateway = true;
  CHECK_FALSE(a.offer(via));
  CHECK(a.connections("DTV") == 1);
}

TEST_CASE("a gone notice is not handed over before the frames its connection sent", "[admission]") {
  Admission a(limits(150));
  REQUIRE_FALSE(a.offer(frame("DTV", "r1", 100)));
  REQUIRE_FALSE(a.offer(frame("DTV", "r1", 100)));
  REQUIRE_FALSE(a.offer(gone("r1")));
  REQUIRE_FALSE(a.offer(gone("never-seen")));  // a connection that sent nothing held
  std::vector<std::string> order;
  while (!a.empty()) {
    for (const auto& p : partners_of(a.take())) order.push_back(p);
  }
  // The notices come after the frames that were held before them (the DTV frames here are not
  // submits: the other lane, taken first).
  CHECK(order == std::vector<std::string>{"DTV", "DTV", "gone:never-seen", "gone:r1"});
  CHECK(a.connections("DTV") == 0);
}
