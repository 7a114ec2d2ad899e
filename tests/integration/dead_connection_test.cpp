// Dead and crash-looping connections of a consumer never turn its messages into dead letters: an
// attempt counts only when the frame was handed to a live connection, connections whose peer is
// gone are retired at once (socket monitor, refused sends), and a connection that never answered
// cannot bring a delivery to max_attempts. docs/protocol.md "Delivery", docs/hardening.md "Dead
// connections and crash-looping consumers". Real sockets, a real store read with SQLite.
#include <catch2/catch.hpp>
#include <map>

#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tests/support/broker_harness.h"
#include "tests/support/store_probe.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Generous deadlines that only bound a hang; nothing here is timed.
constexpr auto kHang = 180s;

// A raw DEALER with a partner's key: grants credit and then does what the test says.
class RawConsumer {
 public:
  RawConsumer(zmq::context_t& ctx, const test_support::BrokerHarness& h, const std::string& partner, bool tiny_buffers)
      : socket_(ctx, zmq::socket_type::dealer) {
    if (tiny_buffers) {  // never reads: what the broker sends backs up as far as ZeroMQ lets it
      socket_.set(zmq::sockopt::rcvhwm, 1);
      socket_.set(zmq::sockopt::rcvbuf, 1024);
    }
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::curve_serverkey, h.broker_keys().public_key);
    socket_.set(zmq::sockopt::curve_publickey, h.keys(partner).public_key);
    socket_.set(zmq::sockopt::curve_secretkey, h.keys(partner).secret_key);
    socket_.connect(h.endpoint());
  }

  // Sends Credit{n} and waits for the answer to a Heartbeat sent after it, so the broker has
  // opened the session before the test goes on (frames of a connection are handled in order).
  void grant(std::uint32_t credit) {
    send(contracts::Credit{credit});
    send(contracts::Heartbeat{1});
    const auto deadline = Clock::now() + kHang;
    while (Clock::now() < deadline) {
      auto e = next(1s);
      if (e && std::holds_alternative<contracts::Heartbeat>(*e)) return;
    }
    FAIL("no heartbeat answer from the broker");
  }

  // The next frame within `wait`, or nullopt.
  std::optional<contracts::Envelope> next(std::chrono::milliseconds wait) {
    socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(wait.count()));
    zmq::message_t m;
    if (!socket_.recv(m)) return std::nullopt;
    auto e = contracts::decode_envelope(std::span(static_cast<const std::byte*>(m.data()), m.size()));
    REQUIRE(e);
    return std::move(*e);
  }

  void close() { socket_.close(); }

 private:
  template <class Frame>
  void send(const Frame& f) {
    const std::string bytes = contracts::encode_envelope(f);
    REQUIRE(socket_.send(zmq::buffer(bytes), zmq::send_flags::none));
  }
  zmq::socket_t socket_;
};

// The broker's store, read beside it (WAL: readers do not block the broker).
class StoreReader {
 public:
  explicit StoreReader(const std::filesystem::path& path) : path_(path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~StoreReader() { sqlite3_close(db_); }

  std::int64_t count(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::int64_t n = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }
  std::int64_t dead(const std::string& recipient) {
    return count("SELECT count(*) FROM deliveries WHERE state = 3 AND recipient = '" + recipient + "'");
  }
  // Deliveries of `recipient` that were sent fewer than `times` times (log rows) and are not dead.
  std::int64_t sent_fewer_than(const std::string& recipient, int times) {
    // The sends are handover-log events, read through the store (typed blocks in the file).
    std::map<std::int64_t, int> sends;
    for (const auto& row : test_support::StoreProbe(path_).log_rows()) {
      if (row.event == "delivered" || row.event == "redelivered") ++sends[row.delivery_id];
    }
    sqlite3_stmt* stmt = nullptr;
    const std::string sql = "SELECT id FROM deliveries WHERE recipient = '" + recipient + "' AND state <> 3";
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::int64_t n = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) n += sends[sqlite3_column_int64(stmt, 0)] < times ? 1 : 0;
    sqlite3_finalize(stmt);
    return n;
  }

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

partner::ClientOptions lively() {
  partner::ClientOptions options;
  options.heartbeat = 500ms;
  return options;
}

std::vector<std::string> submit_notices(test_support::BrokerHarness& h, int n) {
  auto alpha = h.client("ALPHA", lively());
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto submit = test_support::notice();
    submit.header.recipients = {"BRAVO"};
    auto r = alpha.send(submit);
    REQUIRE(r);
    REQUIRE(r->status == contracts::ReceiptStatus::kAccepted);
    ids.push_back(submit.header.message_id);
  }
  return ids;
}

// BRAVO's proper client receives (and acks) every one of `ids`, unless deliveries die meanwhile.
std::set<std::string> healthy_receives(test_support::BrokerHarness& h, StoreReader& store,
                                       const std::vector<std::string>& ids) {
  auto bravo = h.client("BRAVO", lively());
  std::set<std::string> got;
  const auto deadline = Clock::now() + kHang;
  while (got.size() < ids.size() && Clock::now() < deadline) {
    if (store.dead("BRAVO") + static_cast<std::int64_t>(got.size()) >= static_cast<std::int64_t>(ids.size())) break;
    auto d = bravo.receive(1s);
    REQUIRE(d);
    if (!d->has_value()) continue;
    got.insert((*d)->header.message_id);
    REQUIRE(bravo.ack((*d)->delivery_id));
  }
  return got;
}

}  // namespace

TEST_CASE("connections of a consumer that take credit and vanish or never read lose nothing to dead letters",
          "[integration][fault]") {
  test_support::BrokerHarness h;
  h.options().max_attempts = 5;
  h.options().ack_timeout = 500ms;                // the never-reading connections give deliveries back quickly
  h.options().session_timeout = 120s;             // only the socket tells the broker a connection is gone
  h.options().max_connections_per_partner = 200;  // the 100 connections below are the point here
  h.start();
  StoreReader store(h.options().store);
  zmq::context_t ctx;

  // 60 connections of BRAVO that grant credit and vanish, and 40 that stay and never read.
  std::vector<std::unique_ptr<RawConsumer>> never_read;
  for (int i = 0; i < 100; ++i) {
    auto c = std::make_unique<RawConsumer>(ctx, h, "BRAVO", i % 5 >= 3);
    c->grant(50);
    if (i % 5 < 3) c->close();
    else never_read.push_back(std::move(c));
  }
  const auto ids = submit_notices(h, 20);

  // Every delivery goes round the stale connections more often than max_attempts allows (or
  // dies trying, which is the failure).
  zmq::socket_t idle(ctx, zmq::socket_type::pair);  // waited on between looks at the store
  idle.bind("inproc://idle");
  idle.set(zmq::sockopt::rcvtimeo, 50);
  const auto deadline = Clock::now() + kHang;
  while (store.sent_fewer_than("BRAVO", 8) > 0 && Clock::now() < deadline) {
    zmq::message_t nothing;
    (void)idle.recv(nothing);
  }
  CHECK(store.dead("BRAVO") == 0);
  for (auto& c : never_read) c->close();

  // BRAVO's proper client receives every message.
  const auto got = healthy_receives(h, store, ids);
  CHECK(got == std::set<std::string>(ids.begin(), ids.end()));
  CHECK(store.dead("BRAVO") == 0);
}

TEST_CASE("a consumer that crash-loops at start loses nothing and the client after it gets everything",
          "[integration][fault]") {
  test_support::BrokerHarness h;
  h.options().max_attempts = 5;
  h.options().session_timeout = 3s;  // the old rule's fallback; the socket monitor is faster
  h.start();
  StoreReader store(h.options().store);
  const auto ids = submit_notices(h, 5);

  // 40 times: connect, give credit, crash as soon as the first delivery arrives (or after a
  // bounded wait), without acking anything.
  zmq::context_t ctx;
  int handed = 0;
  for (int i = 0; i < 40; ++i) {
    RawConsumer c(ctx, h, "BRAVO", false);
    c.grant(10);
    for (auto e = c.next(5s); e; e = c.next(5s)) {
      if (std::holds_alternative<contracts::Deliver>(*e)) {
        ++handed;
        break;
      }
    }
    c.close();
    if (store.dead("BRAVO") > 0) break;  // already the failure: no need to loop on
  }
  INFO("crash-looping connections that were handed a delivery: " << handed);
  CHECK(handed >= 10);  // the loop did take deliveries, more often than max_attempts
  CHECK(store.dead("BRAVO") == 0);

  const auto got = healthy_receives(h, store, ids);
  CHECK(got.size() == 5);
  CHECK(got == std::set<std::string>(ids.begin(), ids.end()));
  CHECK(store.dead("BRAVO") == 0);
}
