#pragma once
// RetentionSweep: the broker's shredding of cases past retention (docs/operations.md,
// "Retention"), on the loop's clock like the expiry of deliveries (delivery_expiry.cpp). Every
// `interval` (an hour by default, [broker] retention_sweep_interval_ms) it reads the live case keys
// old enough to be due, judges each (broker/lifecycle/retention_rules.h), and shreds the due ones
// that are not on legal hold: the key destroyed (SqliteStore::shred_case_key) and a `shredded`
// event logged, in the loop turn's transaction. After that transaction commits, the broker calls
// after_commit(), which checkpoints the WAL so the overwritten key leaves it too.
//
// Threading: the broker loop's thread. Errors: the store's kStorage, which fail the loop turn (rolled
// back; the next sweep tries again).

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "broker/store/sqlite_store.h"
#include "contracts/registry.h"

namespace broker::core {

class RetentionSweep {
 public:
  // The first sweep is due at `start` plus the interval, at most kFirstSweepDelay after it (a broker
  // shreds what became due while it was down soon after it starts, not in its first turn, which
  // must answer the first connections' handshakes).
  RetentionSweep(store::SqliteStore& store, contracts::ContractRegistry& registry, std::chrono::milliseconds interval,
                 contracts::Millis start = 0);

  bool due(contracts::Millis now) const;
  // Inside the loop's transaction: shreds what is due at `now` (at most kBatch cases a turn; the
  // next turn goes on when there were more). Does nothing before the next sweep is due.
  [[nodiscard]] contracts::Result<void> run(contracts::Millis now);
  // After the transaction committed, or rolled back (`committed` false: a sweep that was due then
  // is tried again kRetryAfterFailure later, so that a store held by another writer does not make
  // every turn wait for it). Checkpoints the WAL when something was shredded; a failure is logged
  // and retried after the next commit.
  void after_commit(bool committed, contracts::Millis now);
  // Cases on hold at the last sweep (keten_cases_on_hold); -1 before the first.
  std::int64_t cases_on_hold() const { return on_hold_; }
  // The live keys the last run() judged: a sweep of many due cases goes on, turn by turn, from the
  // key where the turn before stopped, so each key is judged about once a sweep.
  std::size_t judged_in_last_run() const { return judged_; }

  static constexpr std::size_t kBatch = 200;
  static constexpr contracts::Millis kFirstSweepDelay = 10'000;
  static constexpr contracts::Millis kRetryAfterFailure = 60'000;

 private:
  store::SqliteStore& store_;
  contracts::ContractRegistry& registry_;
  contracts::Millis interval_;
  contracts::Millis next_ = 0;
  bool shredded_in_turn_ = false;
  bool wal_dirty_ = false;  // shredded since the last successful WAL checkpoint
  std::int64_t on_hold_ = -1;
  std::int64_t from_id_ = 0;       // the sweep under way goes on from this case key id
  std::int64_t turn_from_id_ = 0;  // where this turn's run() began: again after a rollback
  std::size_t judged_ = 0;
};

}  // namespace broker::core
