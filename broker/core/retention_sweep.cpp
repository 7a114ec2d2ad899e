#include "broker/core/retention_sweep.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "broker/core/event_log.h"
#include "broker/core/log.h"
#include "broker/lifecycle/retention_rules.h"
#include "broker/store/retention.h"

namespace broker::core {

using contracts::Millis;
using contracts::Result;

RetentionSweep::RetentionSweep(store::SqliteStore& store, contracts::ContractRegistry& registry,
                               std::chrono::milliseconds interval, Millis start)
    : store_(store),
      registry_(registry),
      interval_(interval.count()),
      next_(start + std::min<Millis>(interval.count(), kFirstSweepDelay)) {}

bool RetentionSweep::due(Millis now) const { return store_.has_case_keys() && now >= next_; }

Result<void> RetentionSweep::run(Millis now) {
  if (!due(now)) return {};
  next_ = now + interval_;
  auto holds = store::case_holds(store_);
  if (!holds) return holds.error();
  on_hold_ = static_cast<std::int64_t>(holds->size());
  const Millis shortest = lifecycle::shortest_retention(registry_);
  if (shortest < 0) return {};  // no contract states a retention: nothing is ever due
  std::set<std::string, std::less<>> held;
  for (const auto& h : *holds) held.insert(h.case_ref);
  turn_from_id_ = from_id_;
  auto keys = store::live_case_keys(store_, now - shortest, from_id_);
  if (!keys) return keys.error();
  from_id_ = 0;  // unless this turn stops short of the last key
  judged_ = 0;
  std::size_t shredded = 0;
  for (const auto& key : *keys) {
    if (!key.case_ref.empty() && held.count(key.case_ref) > 0) continue;
    auto messages = store::case_key_messages(store_, key);
    if (!messages) return messages.error();
    ++judged_;
    const auto verdict = lifecycle::judge_case(*messages, registry_, now);
    if (!verdict.due) continue;
    if (shredded == kBatch) {
      next_ = now;  // more to do: the next turn goes on, from this key
      from_id_ = key.id;
      break;
    }
    if (auto r = store_.shred_case_key(key.id, now, verdict.reason); !r) return r;
    events::Event e;
    e.at = now;
    e.case_ref = key.case_ref;
    e.message_id = key.message_id;
    e.record = events::Shredded{verdict.rules, verdict.messages};
    if (auto r = record_event(store_, e); !r) return r.error();
    log().info("case shredded case_ref={} message_id={} messages={} reason={}", key.case_ref, key.message_id,
               verdict.messages, verdict.reason);
    ++shredded;
  }
  shredded_in_turn_ = shredded > 0;
  return {};
}

void RetentionSweep::after_commit(bool committed, Millis now) {
  if (!committed) {
    // Rolled back, or the transaction never began: what was due is tried again, a little later,
    // from where this turn began.
    if (shredded_in_turn_ || next_ <= now) next_ = now + std::min(interval_, kRetryAfterFailure);
    from_id_ = turn_from_id_;  // (the same when run() did not run since the last commit)
    shredded_in_turn_ = false;
    return;
  }
  turn_from_id_ = from_id_;  // committed: a later rollback goes back no further than here
  if (shredded_in_turn_) wal_dirty_ = true;
  shredded_in_turn_ = false;
  if (!wal_dirty_) return;
  if (auto r = store_.truncate_wal(); !r) {
    log().warn("WAL checkpoint after shredding not complete ({}); retried after the next commit", r.error().detail);
    return;
  }
  wal_dirty_ = false;
}

}  // namespace broker::core
