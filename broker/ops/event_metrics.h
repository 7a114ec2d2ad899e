#pragma once
// The broker's metric families and how committed handover-log rows move them. Counting from the
// log (rather than at each call site) means the figures only include what was durably recorded,
// match `keten log export` one for one, and need no hooks in the pipeline or the scheduler.

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "broker/events/event.h"
#include "broker/ops/metrics.h"

namespace broker::ops {

// Declares every family listed in docs/operations.md.
void describe_broker_metrics(MetricsRegistry& registry);

// What count_event keeps between rows. The first two are what the alert check needs from the rows
// since its last run (it takes and clears them); `undone_sends` lasts as long as the counting does.
struct EventTally {
  std::map<std::string, std::int64_t> dead_letters;     // by recipient
  std::map<std::string, std::int64_t> norm_violations;  // by contract
  // Deliveries whose last send the socket refused (`undelivered`): their next `delivered` or
  // `redelivered` repeats that attempt under the same number and is not counted again. Forgotten
  // at that send, the ack or the dead letter.
  std::set<std::int64_t> undone_sends;
};

// Counts one committed event: keten_handover_log_events_total{event} always, plus the family its
// kind belongs to (accepted/rejected/duplicate, delivered, redelivered, acknowledged, nacked,
// dead_lettered, norm_violated, alert). Events of other kinds only count in the first. A send the
// socket refused and that was repeated counts once (EventTally::undone_sends).
void count_event(MetricsRegistry& registry, EventTally& tally, const events::Event& event);

// Counts a norm violation (keten_norm_violations_total{contract,norm}) and tallies it for alerts.
void count_norm_violation(MetricsRegistry& registry, EventTally& tally, const std::string& contract,
                          const std::string& norm);

}  // namespace broker::ops
