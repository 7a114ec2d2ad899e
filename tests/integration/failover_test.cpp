// Client failover with real brokers: a profile lists two endpoints; broker A on store S is killed
// with kill -9 mid-stream; broker B starts on the same store S on another port (A's store lock
// died with it). The client moves to B and resubmits every unanswered message under its id: every
// message gets exactly one answer, each is accepted (or a duplicate of A's acceptance), and the
// store holds each exactly once. A consumer with the same two endpoints follows to B and gets
// every message, those in flight at the kill again.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "adapters/sdk/client.h"
#include "tests/support/broker_harness.h"
#include "tests/support/process.h"
#include "tests/support/store_probe.h"

namespace {

using namespace std::chrono_literals;
using test_support::ChildProcess;
using test_support::free_port;
using test_support::keten_binary;

std::unique_ptr<ChildProcess> serve(const std::filesystem::path& config, const std::string& listen) {
  auto process = std::make_unique<ChildProcess>(
      std::vector<std::string>{keten_binary(), "serve", "--config", config.string(), "--listen", listen});
  auto line = process->read_line(60s);
  REQUIRE(line);
  REQUIRE(*line == "listening " + listen);
  return process;
}

}  // namespace

TEST_CASE("a client with two endpoints fails over after kill -9 and every message is accepted "
          "exactly once", "[integration][failover]") {
  test_support::BrokerHarness h;
  const auto config = h.write_files("tcp://127.0.0.1:*");
  const std::string endpoint_a = "tcp://127.0.0.1:" + std::to_string(free_port());
  const std::string endpoint_b = "tcp://127.0.0.1:" + std::to_string(free_port());
  auto a = serve(config, endpoint_a);

  partner::Profile profile = h.profile("ALPHA", endpoint_a);
  profile.brokers = {endpoint_a, endpoint_b};
  partner::ClientOptions options;
  options.window = 1000;                 // no back-pressure: the test thread also runs the brokers
  options.failover_after = 300ms;
  options.receipt_timeout = 180s;        // bounds a hang only
  options.resend_after = 60s;
  options.heartbeat = 1s;
  auto client = partner::Client::connect(profile, options);
  REQUIRE(client);
  // BRAVO consumes with the same two endpoints: deliveries in flight at the kill come again from B.
  partner::Profile bravo_profile = h.profile("BRAVO", endpoint_a);
  bravo_profile.brokers = {endpoint_a, endpoint_b};
  partner::ClientOptions bravo_options;
  bravo_options.failover_after = 300ms;
  bravo_options.heartbeat = 1s;
  bravo_options.credit = 16;
  auto bravo = partner::Client::connect(bravo_profile, bravo_options);
  REQUIRE(bravo);
  std::set<std::string> consumed;
  auto consume = [&](std::chrono::milliseconds wait) {
    auto d = bravo->receive(wait);
    REQUIRE(d);
    if (!*d) return;
    consumed.insert((*d)->header.message_id);
    REQUIRE(bravo->ack((*d)->delivery_id));
  };

  constexpr int kMessages = 400;
  std::map<std::string, int> answers;  // message id -> callbacks run
  std::map<std::string, contracts::ReceiptStatus> status;
  std::vector<std::string> errors;
  auto submit = [&](int i) {
    contracts::Submit s = test_support::notice("failover-" + std::to_string(i));
    REQUIRE(client->submit_async(s, [&, id = s.header.message_id](contracts::Result<contracts::Receipt> r) {
      ++answers[id];
      if (r) {
        status[id] = r->status;
      } else {
        errors.push_back(id + ": " + r.error().detail);
      }
    }));
  };

  // A stream to A until 40 are answered; then 20 more at once, so that some are in flight
  // (sent, unanswered) when A is killed.
  int i = 0;
  while (answers.size() < 40 || consumed.size() < 10) {
    if (i < kMessages / 2) submit(i++);
    REQUIRE(client->poll(10ms));
    consume(0ms);
  }
  const std::size_t answered_by_a = answers.size();
  for (int k = 0; k < 20; ++k) submit(i++);
  REQUIRE(client->outstanding() > 0);
  a->signal(SIGKILL);
  REQUIRE(a->wait(30s) == -SIGKILL);
  a.reset();

  // The rest queues while there is no broker; then B takes over the same store.
  for (; i < kMessages; ++i) submit(i);
  auto b = serve(config, endpoint_b);
  auto flushed = client->flush(120s);
  REQUIRE(flushed);
  // Every message reaches BRAVO, the ones in flight at the kill again from B.
  const auto consume_until = std::chrono::steady_clock::now() + 120s;
  while (consumed.size() < static_cast<std::size_t>(kMessages) &&
         std::chrono::steady_clock::now() < consume_until) {
    consume(1s);
  }
  CHECK(consumed.size() == static_cast<std::size_t>(kMessages));
  CHECK(bravo->endpoint() == endpoint_b);
  bravo->close();
  CHECK(client->endpoint() == endpoint_b);
  CHECK(client->frame_counts().failovers >= 1);
  client->close();

  INFO("answered by A before the kill: " << answered_by_a);
  CHECK(errors.empty());
  REQUIRE(answers.size() == kMessages);
  int accepted = 0, duplicate = 0;
  for (const auto& [id, n] : answers) {
    CHECK(n == 1);  // exactly one answer per message
    if (status.count(id) == 0) continue;
    CHECK(status.at(id) != contracts::ReceiptStatus::kRejected);
    accepted += status.at(id) == contracts::ReceiptStatus::kAccepted;
    duplicate += status.at(id) == contracts::ReceiptStatus::kDuplicate;
  }
  CHECK(accepted + duplicate == kMessages);

  b->signal(SIGTERM);
  REQUIRE(b->wait(60s) == 0);
  test_support::StoreProbe store(h.dir() / "store" / "keten.db");
  CHECK(store.count("SELECT COUNT(*) FROM messages WHERE message_id LIKE 'failover-%'") == kMessages);
  auto events = store.events_by_message();
  for (int i = 0; i < kMessages; ++i) {
    const std::string id = "failover-" + std::to_string(i);
    INFO(id);
    CHECK(events[id]["accepted"] == 1);  // stored once: a resubmission is a duplicate, not a copy
    CHECK(events[id]["acknowledged"] >= 1);  // by BRAVO (CHARLIE is not connected)
  }
}
