// kill -9 under load: producers submit through the SDK and a consumer receives while the real
// `keten serve` process is killed with SIGKILL several times and restarted on the same store and
// port. Every message a producer got a receipt for must be stored once and delivered, and nothing
// may be dead-lettered. (crash_test.cpp covers one kill between two quiet phases.)
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/broker_harness.h"
#include "tests/support/fault.h"
#include "tests/support/served_broker.h"
#include "tests/support/store_probe.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// What the producers and the consumer report; assertions stay on the test's thread.
struct Traffic {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> receipted;  // accepted or duplicate, in receipt order
  std::set<std::string> consumed;      // message ids the consumer received (and acked)
  std::vector<std::string> problems;   // anything that must not happen, said in words
  std::atomic<bool> stop_consumer{false};

  void add(std::vector<std::string>& to, std::string what) {
    std::lock_guard lock(mutex);
    to.push_back(std::move(what));
    changed.notify_all();
  }
  template <class Pred>
  bool wait_for(Clock::duration limit, Pred pred) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return pred(); });
  }
};

void produce(const test_support::BrokerHarness& h, const std::string& endpoint, int count,
             Traffic& traffic) {
  partner::ClientOptions options;
  options.receipt_timeout = 300s;  // only bounds a hang: restarts may take long on a busy machine
  auto client = h.client("ALPHA", options, endpoint);
  for (int i = 0; i < count; ++i) {
    const contracts::Submit submit = test_support::notice();
    auto receipt = client.send(submit);
    if (!receipt) {
      traffic.add(traffic.problems,
                  "send " + submit.header.message_id + ": " + receipt.error().detail);
      return;
    }
    if (receipt->status == contracts::ReceiptStatus::kRejected) {
      traffic.add(traffic.problems, "rejected " + submit.header.message_id + ": " +
                                        std::string(contracts::to_string(receipt->code)) + " " +
                                        receipt->detail);
      continue;
    }
    traffic.add(traffic.receipted, submit.header.message_id);
  }
}

void consume(const test_support::BrokerHarness& h, const std::string& endpoint, Traffic& traffic) {
  auto client = h.client("BRAVO", {}, endpoint);
  while (!traffic.stop_consumer) {
    auto delivery = client.receive(200ms);
    if (!delivery) {
      traffic.add(traffic.problems, "receive: " + delivery.error().detail);
      return;
    }
    if (!*delivery) continue;
    {
      std::lock_guard lock(traffic.mutex);
      traffic.consumed.insert((*delivery)->header.message_id);
      traffic.changed.notify_all();
    }
    (void)client.ack((*delivery)->delivery_id);  // an ack lost in a kill only means a redelivery
  }
}

}  // namespace

TEST_CASE("kill -9 of the broker under load loses no receipted message",
          "[integration][fault][kill]") {
  const int kills = test_support::soak_or(3, 10);
  const int messages = test_support::soak_or(300, 2000);
  constexpr int kProducers = 2;
  const Clock::duration kHang = 300s;  // bounds a hang only

  test_support::BrokerHarness h;
  test_support::ServedBroker broker(h);
  const std::string endpoint = broker.endpoint();
  Traffic traffic;

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back(produce, std::cref(h), endpoint, messages / kProducers,
                           std::ref(traffic));
  }
  std::thread consumer(consume, std::cref(h), endpoint, std::ref(traffic));

  // Kill at evenly spaced points of the producers' progress, so each kill lands under load. No
  // REQUIRE while the threads run: they hold references to this frame.
  int killed = 0;
  for (int k = 1; k <= kills; ++k) {
    const std::size_t mark = static_cast<std::size_t>(messages) * k / (kills + 1);
    bool reached = traffic.wait_for(
        kHang, [&] { return traffic.receipted.size() >= mark || !traffic.problems.empty(); });
    if (!reached || !traffic.problems.empty()) break;
    broker.kill9();
    broker.start();
    ++killed;
  }
  for (auto& t : producers) t.join();

  // Everything receipted reaches the consumer, redelivered after a kill where its ack was lost.
  bool all_consumed = traffic.wait_for(kHang, [&] {
    for (const auto& id : traffic.receipted) {
      if (traffic.consumed.count(id) == 0) return false;
    }
    return true;
  });
  traffic.stop_consumer = true;
  consumer.join();
  broker.stop();

  std::lock_guard lock(traffic.mutex);
  CHECK(killed == kills);
  for (const auto& problem : traffic.problems) UNSCOPED_INFO(problem);
  CHECK(traffic.problems.empty());
  CHECK(traffic.receipted.size() == static_cast<std::size_t>(messages));
  std::size_t lost = 0;
  for (const auto& id : traffic.receipted) lost += traffic.consumed.count(id) == 0 ? 1 : 0;
  CHECK(all_consumed);
  CHECK(lost == 0);

  test_support::StoreProbe store(broker.store());
  auto events = store.events_by_message();
  std::size_t not_once = 0;
  for (const auto& id : traffic.receipted) {
    if (events[id]["accepted"] != 1) {
      ++not_once;
      UNSCOPED_INFO("message " << id << " accepted " << events[id]["accepted"] << " times");
    }
  }
  CHECK(not_once == 0);
  std::size_t answered_as_duplicate = 0;  // committed, but the receipt was lost in a kill
  for (const auto& id : traffic.receipted)
    answered_as_duplicate += events[id]["duplicate"] > 0 ? 1 : 0;
  WARN("kill -9: " << killed << " kills, " << traffic.receipted.size() << " receipted, "
                   << answered_as_duplicate << " resent after a kill and answered as duplicate");
  CHECK(store.count("SELECT COUNT(*) FROM messages") == messages);
  CHECK(store.count("SELECT COUNT(*) FROM deliveries WHERE state = 3") == 0);
  CHECK(store.event_count("dead_lettered") == 0);
}
