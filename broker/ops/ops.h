#pragma once
// Ops: the broker's operational side in one object, owned by the broker loop: the metrics
// registry (fed from committed handover-log rows and a few loop measurements), the HTTP endpoint
// (when configured) and the alert check. Each fired alert becomes an `alert` handover-log event
// and one warn line. docs/operations.md describes the endpoint, the metrics and the alerts.
//
// Threading: every member is for the broker loop thread, except that the HTTP threads read the
// registry and the health/ready state through the handlers Ops installs.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "broker/events/event.h"
#include "broker/ops/alerts.h"
#include "broker/ops/event_metrics.h"
#include "broker/ops/metrics.h"
#include "broker/ops/options.h"
#include "contracts/error.h"
#include "contracts/rate_limited_log.h"

namespace broker::store {
class Store;
}

namespace broker::ops {

class HttpServer;
class EventStream;

// What Ops needs to know about the broker, fixed at start.
struct OpsContext {
  OpsOptions options;
  std::filesystem::path store_path;  // the SQLite file; empty on PostgreSQL (no size metrics)
  std::vector<std::string> partners;                  // configured partner ids
  std::chrono::milliseconds session_timeout{15'000};  // a partner silent this long is not connected
  std::chrono::milliseconds checkpoint_interval{60'000};
  bool signing = false;                               // the broker's store signs tree checkpoints
};

// The loop's state at a tick.
struct LoopView {
  std::size_t sessions = 0;
  // When the broker last found every event of the log covered by a signed tree checkpoint (after
  // having the store sign one over what other processes appended, or finding nothing to sign).
  contracts::Millis last_checkpoint_at = 0;
  // Undelivered deliveries per recipient as the loop counts them (core/limits.h BacklogBound);
  // null: counted in the store (a scan of the whole backlog, which grows with it).
  const std::map<std::string, std::uint64_t, std::less<>>* undelivered = nullptr;
};

class Ops {
 public:
  // Counts the log from the store's current head on; binds the HTTP endpoint when configured
  // (kConfig / kTransport naming the address when that fails). `now` is the broker's start time:
  // a partner not seen yet counts as seen then.
  [[nodiscard]] static contracts::Result<std::unique_ptr<Ops>> start(OpsContext context,
                                                                     store::Store& store,
                                                                     contracts::Millis now);
  ~Ops();

  std::string http_endpoint() const;  // "" without an HTTP endpoint

  // Readiness: true once start-up recovery is done and the loop runs; false when stopping.
  void set_ready(bool ready);
  // Any frame from `partner`.
  void frame_from(const std::string& partner, contracts::Millis now);
  // A store commit took `took`; ok=false when it failed (then the store counts as not writable).
  void commit_finished(std::chrono::steady_clock::duration took, bool ok);
  // A store transaction failed: /healthz reports the store as not writable until a commit succeeds.
  void store_failed() { store_writable_ = false; }
  // After a commit: counts the handover-log rows appended since the last call.
  void observe(store::Store& store);
  // Once per loop turn, outside any transaction: refreshes the gauges at most once a second and
  // runs the alert check every check_interval, appending fired alerts in their own transaction
  // (kept and retried next time when the store refuses). Logs its own store errors. `now` is the
  // loop's clock (broker/core/clock.h); /healthz judges the loop's liveness on the system clock.
  void tick(store::Store& store, const LoopView& view, contracts::Millis now);

  const MetricsRegistry& metrics() const { return metrics_; }
  MetricsRegistry& metrics() { return metrics_; }  // thread-safe: others may count into it

 private:
  explicit Ops(OpsContext context);
  void refresh_gauges(store::Store& store, const LoopView& view, contracts::Millis now);
  void check_alerts(contracts::Millis now);
  void append_alerts(store::Store& store);
  // The cases of the rows that alerts count (dead letters, norm violations), since the last check.
  void note_case(const events::Event& e);
  // The case of the oldest undelivered message of each fired oldest_undelivered alert.
  void find_oldest_cases(store::Store& store);

  OpsContext context_;
  MetricsRegistry metrics_;
  // GET /events (event_stream.h); null when off. Declared before http_: the server stops first,
  // after ~Ops closed the stream so that no subscriber holds an HTTP thread.
  std::unique_ptr<EventStream> stream_;
  std::unique_ptr<HttpServer> http_;
  EventTally tally_;  // dead letters and violations since the last alert check; undone sends since start
  std::map<std::string, std::set<std::string>> dead_letter_cases_;     // by recipient, since the last check
  std::map<std::string, std::set<std::string>> norm_violation_cases_;  // by contract, since the last check
  AlertState alerts_;
  AlertSnapshot snapshot_;                              // as of the last refresh
  std::vector<std::pair<Alert, contracts::Millis>> unwritten_;  // fired (at), not yet in the log
  // Retried every turn while the store refuses writes (a full disk): logged once per 10 s.
  contracts::RateLimitedLog write_errors_{std::chrono::seconds(10)};
  std::map<std::string, contracts::Millis> last_seen_;  // by partner; only partners that spoke
  contracts::Millis started_at_ = 0;
  // Counts events observed_seq_+1 .. up_to read from the file (a gap in what the store handed over).
  void read_back(store::Store& store, std::uint64_t up_to);
  // Counts one committed event and hands it to the event stream's subscribers (counting what a
  // full queue drops).
  void observe_event(const events::LoggedEvent& event);
  std::uint64_t observed_seq_ = 0;
  contracts::Millis last_refresh_ = 0;
  contracts::Millis last_check_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<bool> store_writable_{true};
  std::atomic<contracts::Millis> last_turn_{0};  // system clock at the last tick (/healthz), whatever the loop's clock
};

}  // namespace broker::ops
