#pragma once
// Broker: the loop that owns the socket, the store and the contract registry, and runs one
// pipeline step per event (malamute's actor model). Everything a partner sends is answered or
// rejected; nothing a partner sends can stop the loop.
//
// Threading: create and run on one thread. stop() may be called from any thread or a signal
// handler (it only sets a flag).

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "broker/core/clock.h"
#include "broker/core/leadership.h"
#include "broker/core/options.h"
#include "contracts/error.h"

namespace broker::ops {
class MetricsRegistry;
}

namespace broker::core {

class Broker {
 public:
  // Opens the store, loads the contract set, binds the socket, and returns deliveries left in flight
  // by a previous run to pending. kConfig / kStorage / kTransport naming what failed. On PostgreSQL
  // (options.store_url) only as the leader: `leadership` from Leadership::wait, whose epoch fences
  // every commit; the loop renews it, and run() returns "leadership lost: ..." when it is lost.
  // Every time the loop works with (deadlines, timers, the events' `at`) comes from `clock`
  // (clock.h), read on the loop's thread; tests hand in one they advance themselves.
  [[nodiscard]] static contracts::Result<std::unique_ptr<Broker>> start(
      const BrokerOptions& options, std::optional<Leadership> leadership = std::nullopt, Clock clock = system_clock());
  ~Broker();

  // The bound endpoint, with the real port when the config said `*`.
  std::string endpoint() const;
  // The HTTP endpoint (/healthz, /readyz, /metrics) as bound, "" when [http] listen is not set.
  std::string http_endpoint() const;
  // The metrics /metrics serves (thread-safe), for components beside the loop that count their
  // own (the HTTPS API); null when neither [http] listen nor alerts are on.
  ops::MetricsRegistry* metrics();

  // Runs loop turns until stop() is called, then winds down: no new deliveries go out, and while
  // deliveries are in flight the broker serves everything else (acks, submits, credit, heartbeats)
  // for at most BrokerOptions::stop_grace, so that a planned stop does not make their recipients
  // get them again. A second stop() ends that wait. Returns an error only when the store or the
  // socket fails for good.
  [[nodiscard]] contracts::Result<void> run();
  // One loop turn: wait up to `timeout` for frames, process them in one transaction, send replies.
  [[nodiscard]] contracts::Result<void> turn(std::chrono::milliseconds timeout);

  // Async-signal-safe (a lock-free atomic): serve's SIGTERM handler calls it.
  void stop() { stops_.fetch_add(1); }

 private:
  struct Impl;
  explicit Broker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<int> stops_{0};  // stop() calls: the first winds down, the second ends the wind-down
  static_assert(std::atomic<int>::is_always_lock_free);
};

}  // namespace broker::core
