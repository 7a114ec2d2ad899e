// Slow receipts: a real `keten serve` process paused with SIGSTOP/SIGCONT (as a long garbage
// collection, swapping or a stalled VM would pause it) while a client waits for a receipt. The
// client must get its receipt, and the broker must accept the message once.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "tests/support/broker_harness.h"
#include "tests/support/fault.h"
#include "tests/support/process.h"
#include "tests/support/served_broker.h"
#include "tests/support/store_probe.h"

namespace {

using namespace std::chrono_literals;
using test_support::keten_binary;

// Long enough for the client's first resend (2 s by default) to fall inside the pause.
constexpr auto kPause = 4s;

}  // namespace

TEST_CASE("a client gets the receipt of a broker paused while its submit is outstanding",
          "[integration][fault][slow-receipt]") {
  test_support::BrokerHarness h;
  test_support::ServedBroker broker(h);
  const int rounds = test_support::soak_or(1, 5);
  // The SDK's defaults: resend after 2 s on the same connection, doubling to 8 s, 30 s in all.
  auto alpha = h.client("ALPHA", {}, broker.endpoint());
  auto warm = alpha.send(test_support::notice());  // the connection is up before the pause
  REQUIRE(warm);
  REQUIRE(warm->status == contracts::ReceiptStatus::kAccepted);

  std::vector<std::string> ids;
  for (int round = 0; round < rounds; ++round) {
    const contracts::Submit submit = test_support::notice();
    ids.push_back(submit.header.message_id);
    broker.signal(SIGSTOP);
    // The client's thread owns `alpha` until get() returns.
    auto pending = std::async(std::launch::async, [&alpha, &submit] { return alpha.send(submit); });
    CHECK(pending.wait_for(kPause) == std::future_status::timeout);  // nothing can answer yet
    broker.signal(SIGCONT);
    auto receipt = pending.get();
    REQUIRE(receipt);
    // The receipt of the client's own first copy, not a "duplicate" answering a later copy.
    CHECK(receipt->status == contracts::ReceiptStatus::kAccepted);
    CHECK(receipt->message_id == submit.header.message_id);
  }
  alpha.close();
  broker.stop();

  test_support::StoreProbe store(broker.store());
  auto events = store.events_by_message();
  for (const auto& id : ids) {
    INFO("message_id " << id);
    CHECK(events[id]["accepted"] == 1);
    CHECK(events[id]["rejected"] == 0);
    // Copies the client resent are answered as duplicates: at most one per scheduled resend
    // (2, 6, 14 and 22 s), however long the broker takes to catch up.
    CHECK(events[id]["duplicate"] <= 4);
  }
}

TEST_CASE("keten send exits 0 with its receipt from a broker paused as it connects",
          "[integration][fault][slow-receipt]") {
  test_support::BrokerHarness h;
  test_support::ServedBroker broker(h);
  const auto payload = h.dir() / "notice.json";
  std::ofstream(payload) << test_support::notice().payload;

  broker.signal(SIGSTOP);
  test_support::ChildProcess send({keten_binary(), "send", "--profile", broker.profile("ALPHA"),
                                   "--contract", "test.notice", "--case", "9990012345",
                                   "--resend-after", "1", "--resend-max", "4", payload.string()});
  CHECK_FALSE(send.wait(kPause).has_value());  // still waiting for its receipt
  broker.signal(SIGCONT);
  auto line = send.read_line(60s);
  REQUIRE(line);
  CHECK(send.wait(60s) == 0);
  auto receipt = nlohmann::json::parse(*line);
  CHECK(receipt["status"] == "accepted");
  const std::string id = receipt["message_id"];
  broker.stop();

  test_support::StoreProbe store(broker.store());
  auto events = store.events_by_message();
  CHECK(events[id]["accepted"] == 1);
  CHECK(events[id]["rejected"] == 0);
}

TEST_CASE("keten send takes its receipt timing from the profile, and its flags over the profile",
          "[integration][cli]") {
  test_support::TempDir dir;
  // A broker that is not there: the send times out, and the message says after how long.
  const auto keys = test_support::make_keys();
  const auto broker_keys = test_support::make_keys();
  const std::string endpoint = "tcp://127.0.0.1:1";  // nothing listens on port 1
  std::ofstream(dir / "p.toml") << "broker = \"" << endpoint << "\"\nbroker_public_key = \""
                                << broker_keys.public_key << "\"\npartner = \"ALPHA\"\n"
                                << "secret_key = \"" << keys.secret_key << "\"\n"
                                << "receipt_timeout_ms = 700\nresend_after_ms = 100\n";
  std::ofstream(dir / "n.json") << test_support::notice().payload;
  const std::vector<std::string> base = {
      keten_binary(), "send",        "--profile", (dir / "p.toml").string(),
      "--contract",   "test.notice", "--case",    "9990012345"};

  auto args = base;
  args.push_back((dir / "n.json").string());
  auto from_profile = test_support::run(args);
  CHECK(from_profile.exit_code == 3);
  CHECK_THAT(from_profile.err, Catch::Contains("within 700 ms"));

  args = base;
  for (std::string a : {std::string("--timeout"), std::string("1.2"), (dir / "n.json").string()}) {
    args.push_back(a);
  }
  auto from_flag = test_support::run(args);
  CHECK(from_flag.exit_code == 3);
  CHECK_THAT(from_flag.err, Catch::Contains("within 1200 ms"));

  std::ofstream(dir / "bad.toml") << "broker = \"" << endpoint << "\"\nbroker_public_key = \""
                                  << broker_keys.public_key << "\"\npartner = \"ALPHA\"\n"
                                  << "secret_key = \"" << keys.secret_key << "\"\n"
                                  << "resend_after_ms = -5\n";
  args = base;
  args[3] = (dir / "bad.toml").string();
  args.push_back((dir / "n.json").string());
  auto refused = test_support::run(args);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("key resend_after_ms (line 5)"));
}
