// DeliveryScheduler's expiry of deliveries past their contract's `ttl` (docs/contracts.md,
// "Expiry"): kept apart from delivery.cpp so that the delivery rules there stay as they are. A
// delivery still undelivered `ttl` after its message was accepted is dead-lettered with reason
// "expired" and never sent late: the pump checks each delivery before it sends it, and a sweep
// (once a second) expires the pending ones of partners that are not connected, so the dead letter,
// its metric and its alert come when the ttl passes, not when the partner returns.
#include <spdlog/spdlog.h>

#include <limits>
#include <set>

#include "broker/core/delivery.h"
#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/core/limits.h"
#include "broker/core/log.h"
#include "broker/store/store.h"
#include "contracts/registry.h"

namespace broker::core {
namespace {

using contracts::Millis;
using contracts::Result;

constexpr Millis kTtlSweepInterval = 1'000;
// Deliveries expired per contract version and sweep: a large backlog expires over a few turns
// rather than in one long transaction.
constexpr std::size_t kTtlSweepBatch = 1'000;

}  // namespace

Millis DeliveryScheduler::ttl_of(const store::OutboundDelivery& d) const {
  if (!registry_) return 0;
  const contracts::Contract* c = registry_->find(d.header.contract, d.header.version);
  return c ? c->ttl : 0;
}

bool DeliveryScheduler::ttl_passed(const store::OutboundDelivery& d, Millis now) const {
  const Millis ttl = ttl_of(d);
  return ttl > 0 && now - d.accepted_at >= ttl;
}

Result<void> DeliveryScheduler::dead_letter_expired(const store::OutboundDelivery& d, Millis now) {
  if (auto r = store_.mark_dead(d.delivery_id, now); !r) return r.error();
  uncounted_.erase(static_cast<std::uint64_t>(d.delivery_id));
  const events::DeadLettered dead{static_cast<std::uint32_t>(d.attempts), "expired"};
  if (auto r = record_event(store_, delivery_event(dead, d, now)); !r) return r.error();
  if (backlog_) backlog_->settled(d.recipient);
  log().warn("expired delivery_id={} message_id={} recipient={} contract={} version={} ttl_ms={} attempts={}",
             d.delivery_id, d.header.message_id, d.recipient, d.header.contract, d.header.version, ttl_of(d),
             d.attempts);
  return {};
}

bool DeliveryScheduler::ttl_sweep_due(Millis now) const { return now >= next_ttl_sweep_; }

Result<void> DeliveryScheduler::expire_ttl(Millis now) {
  if (!ttl_sweep_due(now)) return {};
  next_ttl_sweep_ = now + kTtlSweepInterval;
  bool any_ttl = false;
  std::set<std::string> touched;
  if (registry_) {
    for (const auto& [key, contract] : registry_->all()) {
      if (contract.ttl <= 0) continue;
      any_ttl = true;
      auto ids = store_.pending_accepted_before(contract.name, contract.version, now - contract.ttl,
                                                kTtlSweepBatch);
      if (!ids) return ids.error();
      if (ids->size() == kTtlSweepBatch) next_ttl_sweep_ = now;  // more to do: the next turn goes on
      for (std::int64_t id : *ids) {
        auto d = store_.find_delivery_header(id);
        if (!d) return d.error();
        if (!*d) continue;
        if (auto r = dead_letter_expired(**d, now); !r) return r;
        touched.insert((*d)->recipient);
      }
    }
  }
  // Without any contract with a ttl there is never anything to sweep.
  if (!any_ttl) next_ttl_sweep_ = std::numeric_limits<Millis>::max();
  // What the scheduler kept of these partners' pending deliveries is stale: read the store again.
  for (const auto& partner : touched) mark_dirty(partner);
  return {};
}

}  // namespace broker::core
