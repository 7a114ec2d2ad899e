// A partner flooding the broker with the largest frames it accepts: the broker's memory stays
// bounded (libzmq's queue per connection and the frames in hand are bounded by bytes, not only by
// count; docs/operations.md, "Memory") and it keeps running. Runs the real `keten serve` binary so
// that its peak RSS is its own.
//
// Nothing here depends on the machine's speed: while the client floods, the test holds the
// store's write lock (as a stalled disk would), so the broker's loop cannot keep up however fast it
// is, and the client floods until the broker stops reading its connection, however slow the
// client is. Time only bounds a hang.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <zmq.hpp>

#include "bench/proc_stats.h"
#include "contracts/envelope.h"
#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMiB = 1 << 20;

// A valid test.notice payload of about `bytes`: many items, so that the broker's validation of each
// frame is slower than the flooding client's sending of it and the frames pile up in front of it.
std::string large_payload(std::size_t bytes) {
  std::string p = R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[)";
  const std::string item = R"({"id":"AB1234","count":2})";
  while (p.size() + item.size() + 3 < bytes) {
    if (p.back() != '[') p += ',';
    p += item;
  }
  return p + "]}";
}

}  // namespace

TEST_CASE("a flood of maximum-size frames leaves the broker's memory bounded", "[integration][hostile][flood]") {
  test_support::BrokerHarness h;  // keys and files; the broker is the real binary (default 1 MiB limit)
  auto config = h.write_files("tcp://127.0.0.1:*");
  test_support::ChildProcess broker({test_support::keten_binary(), "serve", "--config", config.string()});
  auto line = broker.read_line(60s);
  REQUIRE(line);
  REQUIRE(line->rfind("listening ", 0) == 0);
  const std::string endpoint = line->substr(10);
  const auto before = bench::read_process_usage(broker.pid());
  REQUIRE(before.known);

  // The store's write lock, held by the test: the broker's loop waits for it (busy_timeout) and
  // refuses its turns meanwhile, reading at most a poll's worth of frames (32 MiB) per turn.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((h.dir() / "store" / "keten.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 120'000);
  REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  // A raw DEALER as ALPHA, so nothing on the client side waits for receipts or credit. A send that
  // cannot be queued for kPushedBack means the broker stopped reading this connection.
  constexpr auto kPushedBack = 4s;
  zmq::context_t context;
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.set(zmq::sockopt::sndhwm, 8);
  dealer.set(zmq::sockopt::sndtimeo, static_cast<int>(std::chrono::milliseconds(kPushedBack).count()));
  dealer.set(zmq::sockopt::curve_serverkey, h.broker_keys().public_key);
  dealer.set(zmq::sockopt::curve_publickey, h.keys("ALPHA").public_key);
  dealer.set(zmq::sockopt::curve_secretkey, h.keys("ALPHA").secret_key);
  dealer.connect(endpoint);

  // Up to 1200 frames of 1 MiB (more than the 900 MiB bound below): without a byte bound libzmq
  // alone would take all of them for this one connection (up to 10 000).
  constexpr std::size_t kMostFrames = 1200;
  auto submit = test_support::notice();
  submit.payload = large_payload(kMiB - 4096);
  std::size_t sent = 0;
  const auto hang = std::chrono::steady_clock::now() + 10min;
  while (sent < kMostFrames && std::chrono::steady_clock::now() < hang) {
    submit.header.message_id = partner::new_message_id();
    const std::string frame = contracts::encode_envelope(submit);
    REQUIRE(frame.size() < kMiB);
    if (!dealer.send(zmq::buffer(frame), zmq::send_flags::none)) break;  // pushed back
    ++sent;
  }
  const auto after = bench::read_process_usage(broker.pid());
  REQUIRE(sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  REQUIRE(after.known);  // still running
  INFO("frames sent " << sent << ", broker peak RSS " << after.peak_rss_bytes / kMiB << " MiB (at start "
                      << before.peak_rss_bytes / kMiB << " MiB)");
  CHECK(sent < kMostFrames);  // the broker stopped reading this connection: it pushed back
  CHECK(sent >= 64);          // after the flood filled its queue (64 frames, as the limit allows 4 MiB each)
  // The bound: 256 MiB queued by libzmq, three polls of at most 32 MiB in hand, a few frames being
  // parsed and stored; under AddressSanitizer also its quarantine of freed memory (256 MiB).
  CHECK(after.peak_rss_bytes - before.peak_rss_bytes < 900 * kMiB);
  broker.signal(SIGKILL);
  REQUIRE(broker.wait(10s) == -SIGKILL);
}
