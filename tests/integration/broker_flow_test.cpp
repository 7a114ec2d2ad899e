// End-to-end flows over real CurveZMQ sockets on loopback with a real SQLite store.
#include <catch2/catch.hpp>

#include "tests/support/broker_harness.h"
#include "tests/support/manual_clock.h"
#include "tests/support/receive.h"

namespace {

using namespace std::chrono_literals;
using contracts::ReceiptStatus;
using test_support::BrokerHarness;
using test_support::ManualClock;
using test_support::notice;
using test_support::receive_one;

}  // namespace

TEST_CASE("a message travels from its owner to every consumer and is acknowledged", "[integration]") {
  BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  auto bravo = h.client("BRAVO");
  auto submit = notice();
  auto receipt = alpha.send(submit);
  REQUIRE(receipt);
  CHECK(receipt->status == ReceiptStatus::kAccepted);
  CHECK(receipt->recipients == std::vector<std::string>{"BRAVO", "CHARLIE"});

  auto d = receive_one(bravo);
  CHECK(d.header.message_id == submit.header.message_id);
  CHECK(d.header.contract == "test.notice");
  CHECK(d.header.case_ref == "9990012345");
  CHECK(d.sender == "ALPHA");
  CHECK(d.attempt == 1);
  CHECK(d.payload == submit.payload);
  CHECK(d.accepted_at == receipt->accepted_at);
  REQUIRE(bravo.ack(d.delivery_id));
  auto nothing_more = bravo.receive(300ms);
  REQUIRE(nothing_more);
  CHECK_FALSE(nothing_more->has_value());
}

TEST_CASE("the sender is the authenticated partner, whatever the message says", "[integration]") {
  BrokerHarness h;
  h.start();
  // BRAVO sends ALPHA's contract: the broker knows it is BRAVO by its key and refuses.
  auto bravo = h.client("BRAVO");
  auto receipt = bravo.send(notice());
  REQUIRE(receipt);
  CHECK(receipt->status == ReceiptStatus::kRejected);
  CHECK(receipt->code == contracts::ErrorCode::kNotOwner);
}

TEST_CASE("a client with an unknown key gets nothing in", "[integration]") {
  BrokerHarness h;
  h.start();
  auto stranger_keys = test_support::make_keys();
  auto profile = h.profile("ALPHA");
  profile.secret_key = stranger_keys.secret_key;
  profile.public_key = stranger_keys.public_key;
  partner::ClientOptions options;
  options.receipt_timeout = 1500ms;
  options.resend_after = 500ms;
  auto client = partner::Client::connect(profile, options);
  REQUIRE(client);
  auto receipt = client->send(notice());
  REQUIRE_FALSE(receipt);
  CHECK(receipt.error().code == contracts::ErrorCode::kTimeout);
  // The broker still serves the real ALPHA.
  auto alpha = h.client("ALPHA");
  auto ok = alpha.send(notice());
  REQUIRE(ok);
  CHECK(ok->status == ReceiptStatus::kAccepted);
}

TEST_CASE("a resubmitted message id gets the first receipt back and is delivered once", "[integration]") {
  BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  auto submit = notice();
  auto first = alpha.send(submit);
  auto second = alpha.send(submit);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->status == ReceiptStatus::kAccepted);
  CHECK(second->status == ReceiptStatus::kDuplicate);
  CHECK(second->log_seq == first->log_seq);
  auto bravo = h.client("BRAVO");
  auto d = receive_one(bravo);
  REQUIRE(bravo.ack(d.delivery_id));
  auto again = bravo.receive(300ms);
  REQUIRE(again);
  CHECK_FALSE(again->has_value());
}

TEST_CASE("a recipient that was offline gets everything when it connects", "[integration]") {
  BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto s = notice();
    ids.push_back(s.header.message_id);
    auto r = alpha.send(s);
    REQUIRE(r);
    REQUIRE(r->status == ReceiptStatus::kAccepted);
  }
  auto charlie = h.client("CHARLIE");  // connects only now
  std::vector<std::string> got;
  while (got.size() < ids.size()) {
    auto d = receive_one(charlie);
    got.push_back(d.header.message_id);
    REQUIRE(charlie.ack(d.delivery_id));
  }
  CHECK(got == ids);  // in acceptance order
}

TEST_CASE("a delivery that is not acknowledged is delivered again", "[integration]") {
  ManualClock clock;  // outlives the broker
  BrokerHarness h;
  h.use_clock(clock.clock());
  h.options().ack_timeout = 300ms;
  h.start();
  auto alpha = h.client("ALPHA");
  auto bravo = h.client("BRAVO");
  REQUIRE(alpha.send(notice()));
  auto first = receive_one(bravo);  // sent: its ack deadline runs from the clock's now
  CHECK(first.attempt == 1);
  clock.advance(301ms);
  auto second = receive_one(bravo);  // no ack: the broker sends it again after ack_timeout
  CHECK(second.delivery_id == first.delivery_id);
  CHECK(second.attempt == 2);
  REQUIRE(bravo.ack(second.delivery_id));
}

// The default ack_timeout is 30 s: only a clock the test moves lets a test see it pass.
TEST_CASE("an unacknowledged delivery is not sent again before the default ack_timeout, and is at once after it",
          "[integration]") {
  ManualClock clock;  // outlives the broker
  BrokerHarness h;
  h.use_clock(clock.clock());
  REQUIRE(h.options().ack_timeout == 30s);
  // The jumps below would otherwise also make BRAVO's connection silent (session_timeout 15 s), which
  // returns its delivery for another reason.
  h.options().session_timeout = 10min;
  h.start();
  auto alpha = h.client("ALPHA");
  auto bravo = h.client("BRAVO");
  REQUIRE(alpha.send(notice()));
  auto first = receive_one(bravo);
  CHECK(first.attempt == 1);

  clock.advance(29s);
  auto early = bravo.receive(300ms);  // a few loop turns at the new time
  REQUIRE(early);
  CHECK_FALSE(early->has_value());

  clock.advance(2s);
  auto second = receive_one(bravo, 5s);  // well before the 30 s the wall clock would take
  CHECK(second.delivery_id == first.delivery_id);
  CHECK(second.attempt == 2);
  REQUIRE(bravo.ack(second.delivery_id));
}

TEST_CASE("a broker restart loses no accepted message and resends nothing acknowledged", "[integration]") {
  BrokerHarness h;
  h.start();
  {
    auto alpha = h.client("ALPHA");
    for (int i = 0; i < 4; ++i) REQUIRE(alpha.send(notice(std::string("restart-") + std::to_string(i))));
    auto bravo = h.client("BRAVO");
    for (int i = 0; i < 2; ++i) {
      auto d = receive_one(bravo);
      REQUIRE(bravo.ack(d.delivery_id));
    }
    // Barrier: a connection's frames are handled in order and a receipt goes out only after its
    // transaction committed, so once this (refused: BRAVO does not own test.notice) submit is
    // answered, both acks are durable. Without it the broker may stop before it read them.
    auto barrier = bravo.send(notice());
    REQUIRE(barrier);
    REQUIRE(barrier->status == ReceiptStatus::kRejected);
  }
  h.restart();
  auto bravo = h.client("BRAVO");
  std::vector<std::string> got;
  while (true) {
    auto d = bravo.receive(1s);
    REQUIRE(d);
    if (!d->has_value()) break;
    got.push_back((*d)->header.message_id);
    REQUIRE(bravo.ack((*d)->delivery_id));
  }
  CHECK(got == std::vector<std::string>{"restart-2", "restart-3"});
}

TEST_CASE("the origin an adapter names travels with the message to its recipients", "[integration]") {
  BrokerHarness h;
  for (auto& p : h.options().partners) {
    if (p.id == "ALPHA") p.role = broker::core::PartnerRole::kNonChain;  // served by an adapter
  }
  h.start();
  auto alpha = h.client("ALPHA");
  auto submit = notice();
  submit.header.origin = "file:AIR-ZZ/bookings-2025-03-12.csv";
  auto r = alpha.send(submit);
  REQUIRE(r);
  REQUIRE(r->status == ReceiptStatus::kAccepted);
  auto bravo = h.client("BRAVO");
  auto d = receive_one(bravo);
  CHECK(d.header.origin == "file:AIR-ZZ/bookings-2025-03-12.csv");
  REQUIRE(bravo.ack(d.delivery_id));
}

TEST_CASE("each recipient receives what the data-protection policy lets it see", "[integration][policy]") {
  BrokerHarness h({"ALPHA", "BRAVO", "CHARLIE", "DELTA"});
  for (auto& p : h.options().partners) {
    if (p.id == "BRAVO") p.role = broker::core::PartnerRole::kCareProvider;
    if (p.id == "CHARLIE") p.role = broker::core::PartnerRole::kNonChain;
  }
  h.start();
  auto alpha = h.client("ALPHA");
  contracts::Submit s = notice();
  s.header.contract = "test.health";
  s.payload = R"({"fit_to_travel":"no","transport_requirements":["LYING"],"escort":"NURSE","medication":{"days":3}})";
  auto r = alpha.send(s);
  REQUIRE(r);
  REQUIRE(r->status == ReceiptStatus::kAccepted);

  auto bravo = h.client("BRAVO");
  auto care = receive_one(bravo);
  CHECK(care.payload == s.payload);
  CHECK(care.removed_fields.empty());
  REQUIRE(bravo.ack(care.delivery_id));

  auto delta = h.client("DELTA");
  auto chain = receive_one(delta);
  CHECK(chain.removed_fields == std::vector<std::string>{"/fit_to_travel", "/medication/days"});
  CHECK(chain.payload.find("fit_to_travel") == std::string::npos);
  REQUIRE(delta.ack(chain.delivery_id));

  auto charlie = h.client("CHARLIE");
  auto projected = receive_one(charlie);
  CHECK(projected.payload == R"({"escort":"NURSE","transport_requirements":["LYING"]})");
  REQUIRE(charlie.ack(projected.delivery_id));
}
