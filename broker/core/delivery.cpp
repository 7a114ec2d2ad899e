#include "broker/core/delivery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/core/limits.h"
#include "broker/core/log.h"
#include "broker/store/store.h"
#include "contracts/registry.h"

namespace broker::core {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Millis;
using contracts::Result;

// A nacked delivery waits this long per attempt before it is offered again (bounded by ack_timeout).
constexpr Millis kNackBackoffPerAttempt = 1'000;

}  // namespace

DeliveryScheduler::DeliveryScheduler(store::Store& store, const BrokerOptions& options,
                                     contracts::ContractRegistry* registry, const SensitiveByContract* sensitive)
    : store_(store),
      options_(options),
      registry_(registry),
      policy_(store, options.partners, registry, sensitive) {
  // Without any contract with a ttl the sweep is never due: an idle broker opens no transaction.
  bool any_ttl = false;
  if (registry_) {
    for (const auto& [key, contract] : registry_->all()) any_ttl = any_ttl || contract.ttl > 0;
  }
  if (!any_ttl) next_ttl_sweep_ = std::numeric_limits<contracts::Millis>::max();
}

void DeliveryScheduler::touch(const std::string& routing_id, Millis now) { sessions_.touch(routing_id, now); }

Result<void> DeliveryScheduler::on_credit(const std::string& routing_id, const std::string& partner,
                                          std::uint32_t credit, Millis now, bool batches, bool ack_receipts) {
  if (credit == 0) return drop_session(routing_id, now);
  if (sessions_.credit(routing_id, partner, std::min(credit, options_.max_credit), now, batches, ack_receipts)) {
    log().info("session open partner={} credit={}", partner, credit);
  }
  if (credit > options_.max_credit) {
    log().info("credit capped partner={} asked={} max_credit={}", partner, credit, options_.max_credit);
  }
  pending_.wake(partner);
  return {};
}

bool DeliveryScheduler::wants_ack_receipts(const std::string& routing_id) const {
  return sessions_.wants_ack_receipts(routing_id);
}

void DeliveryScheduler::release_credit(const InFlight& flight) {
  if (flight.nacked) return;
  sessions_.release(flight.routing_id);
  pending_.wake(flight.partner);
}

DeliveryScheduler::Taken DeliveryScheduler::taken_from(const InFlight& flight) const {
  if (flight.nacked) return Taken::kCounted;  // the partner read it and refused it
  return sessions_.answered(flight.routing_id) ? Taken::kCounted : Taken::kUnproven;
}

Result<void> DeliveryScheduler::return_to_pending(std::uint64_t delivery_id, Taken taken) {
  auto it = in_flight_.find(delivery_id);
  if (it == in_flight_.end()) return {};
  const auto id = static_cast<std::int64_t>(delivery_id);
  const InFlight& flight = it->second;
  // The store counted the attempt when the frame was queued; say whether it stands
  // (docs/protocol.md, "Delivery"). A connection that never answered may be one that cannot read
  // (it vanished, crashed at start, or takes credit and never reads): it must not use up the
  // attempts of a client that works. With none left standing the delivery is as never sent (no
  // last_attempt_at); otherwise this attempt's time stays, no earlier than the last that stands.
  if (taken != Taken::kCounted) {
    const std::uint32_t stands = flight.attempt - 1;
    if (auto r = store_.mark_in_flight(id, stands, stands == 0 ? 0 : flight.sent_at); !r) return r;
    // The norm tracker looked at the send; let it look again at what stands.
    progress_.push_back({flight.row.message_id, flight.row.contract, flight.row.version});
    if (taken == Taken::kUnproven) ++uncounted_[delivery_id];  // it did leave: the next frame says so
  }
  if (auto r = store_.mark_pending(id); !r) return r;
  release_credit(it->second);
  mark_dirty(it->second.partner);  // pending again: no longer drained
  in_flight_.erase(it);
  return {};
}

Result<std::uint64_t> DeliveryScheduler::on_ack(const std::string& routing_id, const std::string& partner,
                                               std::uint64_t delivery_id, Millis now) {
  auto id = static_cast<std::int64_t>(delivery_id);
  auto it = in_flight_.find(delivery_id);
  std::optional<events::Event> row;  // the delivery's log identity: kept in flight, or read back
  uncounted_.erase(delivery_id);
  if (it != in_flight_.end() && it->second.partner == partner) {
    sessions_.mark_answered(routing_id);
    sessions_.mark_answered(it->second.routing_id);
    row = std::move(it->second.row);
    release_credit(it->second);
    in_flight_.erase(it);
  } else {
    // Not in flight here: a late ack (after a timeout or a restart) still counts when the delivery
    // belongs to this partner and is not finished; a repeated ack is harmless.
    auto state = store_.find_delivery(id);
    if (!state) return state.error();
    if (!*state || (*state)->recipient != partner) {
      return Error{ErrorCode::kUnknownDelivery, "no delivery " + std::to_string(delivery_id) + " for " + partner};
    }
    if ((*state)->state == store::DeliveryState::kAcked) return std::uint64_t{0};
    if ((*state)->state == store::DeliveryState::kDead) {
      return Error{ErrorCode::kUnknownDelivery, "delivery " + std::to_string(delivery_id) + " was dead-lettered"};
    }
    sessions_.mark_answered(routing_id);
    auto d = store_.find_delivery_header(id);
    if (!d) return d.error();
    if (*d) row = delivery_event(events::Acknowledged{}, **d, now);
    // It may be a pending delivery kept in memory (an ack for one never sent): forget what is
    // kept for this partner, so the pump reads the store, which no longer offers it.
    if ((*state)->state == store::DeliveryState::kPending) mark_dirty(partner);
  }
  if (auto r = store_.mark_acked(id, now); !r) return r.error();
  std::uint64_t seq = 0;
  if (row) {
    row->record = events::Acknowledged{};
    row->at = now;
    progress_.push_back({row->message_id, row->contract, row->version});
    auto logged = record_event(store_, *row);
    if (!logged) return logged.error();
    seq = *logged;
  }
  if (backlog_) backlog_->settled(partner);
  log().debug("acknowledged delivery_id={} partner={}", delivery_id, partner);
  return seq;
}

Result<void> DeliveryScheduler::on_nack(const std::string& routing_id, const std::string& partner,
                                        std::uint64_t delivery_id, const std::string& reason, Millis now) {
  auto it = in_flight_.find(delivery_id);
  if (it == in_flight_.end() || it->second.partner != partner || it->second.nacked) {
    return Error{ErrorCode::kUnknownDelivery, "no delivery " + std::to_string(delivery_id) + " in flight for " + partner};
  }
  sessions_.mark_answered(routing_id);
  sessions_.mark_answered(it->second.routing_id);
  auto d = store_.find_delivery_header(static_cast<std::int64_t>(delivery_id));
  if (!d) return d.error();
  if (*d) {
    if (auto r = record_event(store_, delivery_event(events::Nacked{reason}, **d, now)); !r) return r.error();
  }
  log().warn("nacked delivery_id={} partner={} reason={}", delivery_id, partner, reason);
  // Keep it in flight in the store, free the credit, and offer it again after a back-off.
  release_credit(it->second);
  it->second.nacked = true;
  Millis attempts = *d ? (*d)->attempts : 1;
  it->second.deadline = now + std::min<Millis>(options_.ack_timeout.count(), kNackBackoffPerAttempt * attempts);
  return {};
}

Result<void> DeliveryScheduler::drop_session(const std::string& routing_id, Millis /*now*/) {
  auto closed = sessions_.close(routing_id);
  if (!closed) return {};
  const Taken taken = closed->answered ? Taken::kCounted : Taken::kUnproven;
  std::vector<std::uint64_t> orphaned;
  for (const auto& [id, flight] : in_flight_) {
    if (flight.routing_id == routing_id && !flight.nacked) orphaned.push_back(id);
  }
  log().info("session closed partner={} returned={}", closed->partner, orphaned.size());
  for (auto id : orphaned) {
    if (auto r = return_to_pending(id, taken); !r) return r;
  }
  return {};
}

Result<void> DeliveryScheduler::not_delivered(const std::string& routing_id,
                                              const std::vector<std::uint64_t>& delivery_ids, const std::string& reason,
                                              Millis now) {
  for (auto id : delivery_ids) {
    auto it = in_flight_.find(id);
    if (it == in_flight_.end() || it->second.routing_id != routing_id || it->second.nacked) continue;
    // The log said `delivered` when the frame was queued (before the commit, as every log row);
    // this row says it never left, so the log does not claim the partner could have read it.
    events::Event e = it->second.row;
    e.at = now;
    std::uint32_t shown = it->second.attempt;  // as the `delivered` row said
    if (auto u = uncounted_.find(id); u != uncounted_.end()) shown += u->second;
    e.record = events::Undelivered{shown, reason};
    if (auto r = record_event(store_, e); !r) return r.error();
    log().debug("undelivered delivery_id={} partner={} reason={}", id, it->second.partner, reason);
    if (auto r = return_to_pending(id, Taken::kNotSent); !r) return r;
  }
  return drop_session(routing_id, now);
}

bool DeliveryScheduler::has_work(Millis now) const {
  if (pending_.any_awake() || !sent_.empty()) return true;
  if (sessions_.any_silent(now, options_.session_timeout.count())) return true;
  for (const auto& [id, f] : in_flight_) {
    if (f.deadline <= now) return true;
  }
  return ttl_sweep_due(now);
}

Result<void> DeliveryScheduler::expire(Millis now) {
  for (const auto& routing_id : sessions_.silent(now, options_.session_timeout.count())) {
    log().info("session silent partner={} after_ms={}", sessions_.find(routing_id)->partner,
               options_.session_timeout.count());
    if (auto r = drop_session(routing_id, now); !r) return r;
  }
  std::vector<std::uint64_t> overdue;
  for (const auto& [id, f] : in_flight_) {
    if (f.deadline <= now) overdue.push_back(id);
  }
  for (auto id : overdue) {
    const InFlight& flight = in_flight_[id];
    if (!flight.nacked) log().warn("ack overdue delivery_id={} partner={}", id, flight.partner);
    if (auto r = return_to_pending(id, taken_from(flight)); !r) return r;
  }
  return expire_ttl(now);
}

void DeliveryScheduler::add_pending(store::OutboundDelivery d) { pending_.add(std::move(d)); }

std::optional<std::string> DeliveryScheduler::reserve(const std::string& recipient) {
  if (!pending_.nothing_waits(recipient)) return std::nullopt;
  return sessions_.reserve(recipient);
}

Result<void> DeliveryScheduler::send_reserved(store::OutboundDelivery d, const std::string& routing_id, Millis now) {
  return send(std::move(d), 1, routing_id, now, sent_);
}

Result<void> DeliveryScheduler::send(store::OutboundDelivery d, std::uint32_t attempt, const std::string& routing_id,
                                     Millis now, std::vector<Queued>& out) {
  const auto id = static_cast<std::uint64_t>(d.delivery_id);
  std::uint32_t shown = attempt;  // every send that left the broker, counted or not
  if (auto u = uncounted_.find(id); u != uncounted_.end()) shown += u->second;
  events::Event e = delivery_event(shown == 1 ? events::Record{events::Delivered{shown}}
                                              : events::Record{events::Redelivered{shown}},
                                   d, now);
  if (auto r = record_event(store_, e); !r) return r.error();
  progress_.push_back({d.header.message_id, d.header.contract, d.header.version});
  std::string partner = d.recipient;
  auto cleared = policy_.clear(std::move(d), shown, now);
  if (!cleared) return cleared.error();
  out.push_back({routing_id, std::move(*cleared), sessions_.batches(routing_id)});
  in_flight_[id] = InFlight{routing_id, std::move(partner), now + options_.ack_timeout.count(), false, attempt, now,
                            std::move(e)};
  return {};
}

namespace {

// An upper bound of the bytes `d` adds to a DeliverBatch frame: FlatBuffers stores each string or
// byte vector as a 4-byte length, the bytes, a terminator and padding to 4 (at most len + 8), each
// vector element as a 4-byte offset, and the Deliver and Header tables with their vtables and
// 8-byte-aligned scalars in well under 256 bytes.
std::size_t deliver_size_bound(const contracts::Deliver& d) {
  std::size_t n = 256;
  auto text = [&n](const std::string& s) { n += s.size() + 8 + 4; };
  for (const auto* s : {&d.header.message_id, &d.header.contract, &d.header.case_ref, &d.header.correlation_id,
                        &d.header.causation_id, &d.header.supersedes, &d.header.origin, &d.sender, &d.payload}) {
    text(*s);
  }
  for (const auto& s : d.header.recipients) text(s);
  for (const auto& s : d.removed_fields) text(s);
  return n + 16;  // the two string vectors' lengths and padding
}

}  // namespace

std::vector<Outgoing> DeliveryScheduler::encode(std::vector<Queued> queued) const {
  std::vector<Outgoing> out;
  out.reserve(queued.size());
  // Per batching connection, in the order its deliveries were made: the batch being filled.
  struct Filling {
    contracts::DeliverBatch batch;
    std::size_t bytes = 64;  // frame, union and vector overhead
  };
  std::map<std::string, Filling> filling;
  auto flush = [&out](const std::string& routing_id, Filling& f) {
    if (f.batch.deliveries.empty()) return;
    if (f.batch.deliveries.size() == 1) {
      const std::uint64_t id = f.batch.deliveries.front().delivery_id;
      out.push_back({routing_id, contracts::encode_envelope(std::move(f.batch.deliveries.front())), id, {}});
    } else {
      std::vector<std::uint64_t> ids;
      ids.reserve(f.batch.deliveries.size());
      for (const auto& d : f.batch.deliveries) ids.push_back(d.delivery_id);
      out.push_back({routing_id, contracts::encode_envelope(f.batch), 0, std::move(ids)});
    }
    f = Filling{};
  };
  for (auto& q : queued) {
    if (!q.batches) {
      const std::uint64_t id = q.frame.frame().delivery_id;
      out.push_back({q.routing_id, contracts::encode_envelope(q.frame.frame()), id, {}});
      continue;
    }
    Filling& f = filling[q.routing_id];
    const std::size_t bytes = deliver_size_bound(q.frame.frame());
    if (f.batch.deliveries.size() >= contracts::kMaxBatchMessages || f.bytes + bytes > options_.max_message_bytes) {
      flush(q.routing_id, f);
    }
    f.bytes += bytes;
    f.batch.deliveries.push_back(std::move(q.frame).take());
  }
  for (auto& [routing_id, f] : filling) flush(routing_id, f);
  return out;
}

Result<void> DeliveryScheduler::dead_letter(const store::OutboundDelivery& d, Millis now) {
  if (auto r = store_.mark_dead(d.delivery_id, now); !r) return r.error();
  uncounted_.erase(static_cast<std::uint64_t>(d.delivery_id));
  const events::DeadLettered dead =
      d.unreadable.empty() ? events::DeadLettered{d.attempts, ""} : events::DeadLettered{0, d.unreadable};
  if (auto r = record_event(store_, delivery_event(dead, d, now)); !r) return r.error();
  if (backlog_) backlog_->settled(d.recipient);
  log().warn("dead_lettered delivery_id={} message_id={} recipient={} attempts={}", d.delivery_id,
             d.header.message_id, d.recipient, d.attempts);
  return {};
}

Result<std::vector<Outgoing>> DeliveryScheduler::pump(Millis now) {
  std::vector<Queued> out = std::exchange(sent_, {});
  const PendingQueue::StoreRead read = [this](const std::string& partner, std::size_t wanted, std::int64_t below) {
    return store_.next_pending(partner, wanted, below);
  };
  for (const auto& partner : pending_.take_awake()) {
    for (auto* entry : sessions_.of_partner(partner)) {
      auto& [routing_id, session] = *entry;
      while (session.has_room()) {
        auto batch = pending_.next(partner, session.credit - session.in_flight, read);
        if (!batch) return batch.error();
        if (batch->empty()) break;
        for (auto& d : *batch) {
          if (ttl_passed(d, now)) {  // never delivered late
            if (auto r = dead_letter_expired(d, now); !r) return r.error();
            continue;
          }
          if (d.attempts >= options_.max_attempts || !d.unreadable.empty()) {
            // Given up: too many sends, or a stored payload that cannot be opened (which no retry
            // mends; the other deliveries go on).
            if (auto r = dead_letter(d, now); !r) return r.error();
            continue;
          }
          const std::uint32_t attempt = d.attempts + 1;
          if (auto r = store_.mark_in_flight(d.delivery_id, attempt, now); !r) return r.error();
          if (auto r = send(std::move(d), attempt, routing_id, now, out); !r) return r.error();
          ++session.in_flight;
        }
      }
    }
  }
  return encode(std::move(out));
}

void DeliveryScheduler::reset() {
  in_flight_.clear();
  pending_.clear();
  sent_.clear();
  for (const auto& partner : sessions_.clear_in_flight()) pending_.wake(partner);
}

}  // namespace broker::core
