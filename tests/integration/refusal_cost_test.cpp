// What a refusal costs and says, over real sockets (docs/hardening.md, "The cost of a refusal"):
// a partner sending payloads that break the contract in 100 000 places, again and again, gets
// receipts that list at most 100 errors plus a count of the rest, leaves small log events, and
// does not keep another partner's receipts from arriving. The other partner's receipt latency is
// printed (p50/p99/max), never asserted: it depends on the machine and its load. Also: refusals
// before the schema (too deep, a duplicate key) name their cause in the receipt's detail and the
// `rejected` event.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "broker/store/sqlite_store.h"
#include "contracts/validator.h"
#include "tests/support/broker_harness.h"

namespace {

using namespace std::chrono_literals;
using contracts::ErrorCode;

// A raw DEALER with a partner's key, speaking bytes rather than the SDK.
struct RawClient {
  zmq::context_t ctx;
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};

  RawClient(const test_support::BrokerHarness& h, const std::string& partner) {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::curve_serverkey, h.broker_keys().public_key);
    socket.set(zmq::sockopt::curve_publickey, h.keys(partner).public_key);
    socket.set(zmq::sockopt::curve_secretkey, h.keys(partner).secret_key);
    socket.set(zmq::sockopt::rcvtimeo, 120'000);  // bounds a hang only
    socket.connect(h.endpoint());
  }

  // The receipt, or nullopt when none came (no Catch2 assertions: the flood runs on its own
  // thread).
  std::optional<contracts::Receipt> submit(const contracts::Submit& s) {
    const std::string bytes = contracts::encode_envelope(s);
    if (!socket.send(zmq::buffer(bytes), zmq::send_flags::none)) return std::nullopt;
    zmq::message_t m;
    if (!socket.recv(m)) return std::nullopt;
    auto e =
        contracts::decode_envelope(std::span(static_cast<const std::byte*>(m.data()), m.size()));
    if (!e || !std::holds_alternative<contracts::Receipt>(*e)) return std::nullopt;
    return std::get<contracts::Receipt>(*e);
  }
};

std::string with_items(const std::string& item, int count) {
  std::string out =
      R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[)";
  for (int i = 0; i < count; ++i) out += (i ? "," : "") + item;
  return out + "]}";
}

// test.notice v1 payloads under the default max_message_bytes (1 MiB), each breaking the schema in
// about 100 000 places, in the shapes bench/refusal_cost times.
std::vector<std::string> worst_case_payloads() {
  std::string undeclared =
      R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[])";
  for (int i = 0; i < 100'000; ++i) undeclared += ",\"" + std::to_string(i) + "\":0";
  undeclared += "}";
  return {with_items("1", 100'000), with_items("{}", 50'000), std::move(undeclared),
          with_items(R"({"id":"x","count":-1})", 45'000)};
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

std::vector<broker::store::LogEvent> log_events(test_support::BrokerHarness& h) {
  broker::store::StoreOptions options;
  options.path = h.options().store;
  options.read_only = true;
  auto store = broker::store::SqliteStore::open(options);
  REQUIRE(store);
  auto rows = store->read_log(0, 1'000'000);
  REQUIRE(rows);
  return std::move(*rows);
}

}  // namespace

TEST_CASE(
    "a partner sending payloads with 100 000 violations does not hold up another partner's "
    "receipts",
    "[integration][fault][hostile]") {
  test_support::BrokerHarness h;
  h.start();
  const auto payloads = worst_case_payloads();
  for (const auto& p : payloads) REQUIRE(p.size() + 512 < h.options().max_message_bytes);

  // ALPHA sends the worst-case payloads back to back, each as soon as the last receipt came.
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::atomic<int> bad_receipts{0};
  std::thread hostile([&] {
    RawClient alpha(h, "ALPHA");
    for (std::size_t i = 0; !stop.load(); ++i) {
      contracts::Submit s = test_support::notice();
      s.payload = payloads[i % payloads.size()];
      const auto receipt = alpha.submit(s);
      if (!receipt) {
        ++bad_receipts;
        return;
      }
      const contracts::Receipt& r = *receipt;
      const bool as_expected = r.status == contracts::ReceiptStatus::kRejected &&
                               r.code == ErrorCode::kSchemaViolation &&
                               r.errors.size() == contracts::kMaxListedErrors + 1 &&
                               r.errors.back().code == contracts::kTooManyErrorsCode &&
                               r.detail.size() < 200;
      if (!as_expected) ++bad_receipts;
      ++refused;
    }
  });

  // Meanwhile BRAVO submits normal messages one at a time and times each receipt.
  auto bravo = h.client("BRAVO");
  std::vector<double> latencies_ms;
  int accepted = 0;
  const auto deadline = std::chrono::steady_clock::now() + 300s;  // bounds a hang only
  while ((latencies_ms.size() < 300 || refused.load() < 20) && bad_receipts.load() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    if (refused.load() == 0) {  // start timing once the flood runs
      std::this_thread::yield();
      continue;
    }
    contracts::Submit s = test_support::notice();
    s.header.contract = "test.handover";
    s.header.recipients = {"ALPHA"};
    s.payload = R"({"handed_over_at":"2025-03-05T06:00:00+01:00"})";
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(bravo.submit(s));
    std::optional<contracts::Receipt> receipt;
    while (!receipt && std::chrono::steady_clock::now() < deadline) {
      auto next = bravo.next_receipt(1s);
      REQUIRE(next);
      receipt = *next;
    }
    REQUIRE(receipt);
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
    CHECK(receipt->message_id == s.header.message_id);
    if (receipt->status == contracts::ReceiptStatus::kAccepted) ++accepted;
  }
  stop = true;
  hostile.join();

  const auto over_100ms =
      std::count_if(latencies_ms.begin(), latencies_ms.end(), [](double ms) { return ms > 100; });
  std::printf(
      "refusal flood: %d worst-case refusals meanwhile; BRAVO's %zu receipts: p50 %.1f ms, p90 "
      "%.1f ms, "
      "p99 %.1f ms, max %.1f ms, %td over 100 ms\n",
      refused.load(), latencies_ms.size(), percentile(latencies_ms, 0.5),
      percentile(latencies_ms, 0.9), percentile(latencies_ms, 0.99), percentile(latencies_ms, 1.0),
      over_100ms);
  CHECK(latencies_ms.size() >= 300);
  CHECK(accepted == static_cast<int>(latencies_ms.size()));  // every receipt arrived, accepted
  CHECK(refused.load() >= 20);
  CHECK(bad_receipts.load() == 0);

  // Each refusal left a small `rejected` event (it was ~10 MB when every error was listed).
  h.stop();
  std::size_t rejected = 0, largest = 0;
  for (const auto& e : log_events(h)) {
    if (e.event != "rejected") continue;
    ++rejected;
    largest = std::max(largest, e.detail.size());
  }
  CHECK(rejected >= 20);
  CHECK(largest < 2 * contracts::kMaxListedErrorBytes);
}

TEST_CASE(
    "refusals for nesting depth and a duplicate key name their cause in the receipt and the log",
    "[integration][fault][hostile]") {
  struct Case {
    const char* name;
    std::string payload;
    const char* detail_part;  // in the receipt's detail and the `rejected` event
    const char* pointer_part;
  };
  std::string deep = R"({"planned_at":"2025-03-05T06:00:00+01:00","note":)";
  for (int i = 0; i < 1000; ++i) deep += R"({"a":[)";
  const auto c = GENERATE_COPY(
      Case{"too deep", deep, "deeper than the limit of 32 levels", "(at /note/a/0/a/0/"},
      Case{
          "a duplicate key",
          R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[],"location":"SCHIPHOL-G"})",
          "property 'location' appears more than once in the same object", "(at /location)"});
  INFO(c.name);
  test_support::BrokerHarness h;
  h.start();
  RawClient alpha(h, "ALPHA");
  contracts::Submit s = test_support::notice();
  s.payload = c.payload;
  const auto receipt = alpha.submit(s);
  REQUIRE(receipt);
  const contracts::Receipt& r = *receipt;
  CHECK(r.status == contracts::ReceiptStatus::kRejected);
  CHECK(r.code == ErrorCode::kInvalidPayload);
  CHECK_THAT(r.detail, Catch::Contains(c.detail_part) && Catch::Contains(c.pointer_part));
  CHECK_THAT(r.detail, !Catch::Contains("UTF-8"));
  h.stop();
  bool logged = false;
  for (const auto& e : log_events(h)) {
    if (e.event == "rejected" && e.message_id == s.header.message_id) {
      logged = true;
      CHECK_THAT(e.detail, Catch::Contains(c.detail_part));
      CHECK_THAT(e.detail, !Catch::Contains("UTF-8 JSON"));
    }
  }
  CHECK(logged);
}
