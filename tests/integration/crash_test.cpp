// kill -9 of a real `keten serve` process: nothing accepted is lost, nothing acknowledged returns.
#include <catch2/catch.hpp>

#include <signal.h>

#include <set>

#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;

std::string start_serve(test_support::ChildProcess& p) {
  auto line = p.read_line(20s);
  REQUIRE(line);
  REQUIRE(line->rfind("listening ", 0) == 0);
  return line->substr(10);
}

}  // namespace

TEST_CASE("kill -9 of the broker loses no accepted message and redelivers nothing acknowledged",
          "[integration][crash]") {
  test_support::BrokerHarness h;  // keys and files only; the broker here is the real binary
  auto config = h.write_files("tcp://127.0.0.1:*");
  const std::vector<std::string> serve = {test_support::keten_binary(), "serve", "--config", config.string()};

  std::vector<std::string> accepted;
  std::set<std::string> acked_by_bravo;
  {
    test_support::ChildProcess broker(serve);
    std::string endpoint = start_serve(broker);
    auto alpha = h.client("ALPHA", {}, endpoint);
    for (int i = 0; i < 40; ++i) {
      auto s = test_support::notice();
      auto r = alpha.send(s);
      REQUIRE(r);
      REQUIRE(r->status == contracts::ReceiptStatus::kAccepted);
      accepted.push_back(s.header.message_id);
    }
    partner::ClientOptions small_window;
    small_window.credit = 5;
    auto bravo = h.client("BRAVO", small_window, endpoint);
    while (acked_by_bravo.size() < 15) {
      auto d = bravo.receive(5s);
      REQUIRE(d);
      REQUIRE(d->has_value());
      REQUIRE(bravo.ack((*d)->delivery_id));
      acked_by_bravo.insert((*d)->header.message_id);
    }
    // Barrier: frames of one connection are handled in order and a receipt is sent only after its
    // transaction committed, so once this (refused: BRAVO does not own test.notice) submit is
    // answered, every ack sent before it is durable.
    auto barrier = bravo.send(test_support::notice());
    REQUIRE(barrier);
    REQUIRE(barrier->status == contracts::ReceiptStatus::kRejected);
    broker.signal(SIGKILL);
    REQUIRE(broker.wait(10s) == -SIGKILL);
  }

  test_support::ChildProcess broker(serve);
  std::string endpoint = start_serve(broker);
  auto bravo = h.client("BRAVO", {}, endpoint);
  std::set<std::string> after;
  while (true) {
    auto d = bravo.receive(1500ms);
    REQUIRE(d);
    if (!d->has_value()) break;
    CHECK(acked_by_bravo.count((*d)->header.message_id) == 0);
    after.insert((*d)->header.message_id);
    REQUIRE(bravo.ack((*d)->delivery_id));
  }
  CHECK(after.size() == accepted.size() - acked_by_bravo.size());
  auto charlie = h.client("CHARLIE", {}, endpoint);
  std::set<std::string> charlie_got;
  while (true) {
    auto d = charlie.receive(1500ms);
    REQUIRE(d);
    if (!d->has_value()) break;
    charlie_got.insert((*d)->header.message_id);
    REQUIRE(charlie.ack((*d)->delivery_id));
  }
  CHECK(charlie_got == std::set<std::string>(accepted.begin(), accepted.end()));
  broker.signal(SIGTERM);
  CHECK(broker.wait(10s) == 0);
}
