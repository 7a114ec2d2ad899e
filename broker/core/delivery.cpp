#include "broker/core/delivery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/core/limits.h"
#include "broker/core/log.h"
#include "broker/policy/consent.h"
#include "broker/policy/redaction.h"
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

events::Event delivery_event(events::Record record, const store::OutboundDelivery& d, Millis now) {
  return broker::core::delivery_event(std::move(record), d.header, d.sender, d.payload_digest, d.recipient,
                                      d.delivery_id, now);
}

std::string prepared_key(const std::string& contract, std::uint32_t version, const std::string& digest) {
  std::string key = contract;
  key += '\0';
  key += std::to_string(version);
  key += '\0';
  key += digest;
  return key;
}

// What a kept pending delivery holds in memory, roughly: its payload and header.
std::size_t kept_bytes(const store::OutboundDelivery& d) { return d.payload.size() + 256; }

// What a kept prepared payload holds in memory, roughly.
std::size_t prepared_size(const std::string& key, const policy::PreparedPayload& p) {
  std::size_t n = key.size() + p.without_medical.size() + 64;
  for (const auto& m : p.medical) n += m.size() + 32;
  return n;
}

}  // namespace

void DeliveryScheduler::remember_prepared(const std::string& contract, std::uint32_t version,
                                          const std::string& payload_digest,
                                          std::shared_ptr<const policy::PreparedPayload> prepared) {
  if (!prepared) return;
  std::string key = prepared_key(contract, version, payload_digest);
  prepared_bytes_ += prepared_size(key, *prepared);
  if (auto it = prepared_.find(key); it != prepared_.end()) {
    prepared_bytes_ -= prepared_size(key, *it->second);
    it->second = std::move(prepared);
  } else {
    prepared_.emplace(key, std::move(prepared));
    prepared_order_.push_back(std::move(key));
  }
  while (!prepared_order_.empty() && (prepared_order_.size() > kPreparedKept || prepared_bytes_ > kPreparedBytes)) {
    auto oldest = prepared_.find(prepared_order_.front());
    prepared_bytes_ -= prepared_size(oldest->first, *oldest->second);
    prepared_.erase(oldest);
    prepared_order_.pop_front();
  }
}

DeliveryScheduler::DeliveryScheduler(store::Store& store, const BrokerOptions& options,
                                     contracts::ContractRegistry* registry, const SensitiveByContract* sensitive)
    : store_(store), options_(options), registry_(registry), sensitive_(sensitive) {
  for (const auto& p : options.partners) roles_[p.id] = p.role;
  // Without any contract with a ttl the sweep is never due: an idle broker opens no transaction.
  bool any_ttl = false;
  if (registry_) {
    for (const auto& [key, contract] : registry_->all()) any_ttl = any_ttl || contract.ttl > 0;
  }
  if (!any_ttl) next_ttl_sweep_ = std::numeric_limits<contracts::Millis>::max();
}

Result<void> DeliveryScheduler::apply_policy(store::OutboundDelivery& d, std::vector<std::string>& removed,
                                             Millis now) {
  if (!registry_) return {};
  contracts::Contract* contract = registry_->find(d.header.contract, d.header.version);
  if (!contract) return {};  // a contract removed from the set since acceptance: nothing to apply
  if (!sensitive_) {
    // Fail closed: never send a payload whose sensitive fields were not looked up.
    return Error{ErrorCode::kConfig, "the delivery policy has no sensitive fields for the contract set"};
  }
  static const std::vector<policy::SensitiveField> kNone;
  auto found = sensitive_->find(contract);
  const auto& sensitive = found == sensitive_->end() ? kNone : found->second;
  policy::RecipientView view;
  auto role = roles_.find(d.recipient);
  view.is_care_provider = role != roles_.end() && role->second == PartnerRole::kCareProvider;
  if (!view.is_care_provider && consents_ && !sensitive.empty()) {
    // Asked at every send, so a withdrawal also covers redeliveries of older messages.
    view.consent_id =
        consents_->holding(d.header.case_ref, d.recipient, contract->purpose_for(d.recipient), now).value_or("");
  }
  if (auto p = contract->projections.find(d.recipient); p != contract->projections.end()) {
    view.has_projection = true;
    view.projection = p->second;
  }
  if (sensitive.empty() && !view.has_projection) return {};
  contracts::Result<policy::Redaction> decision = policy::Redaction{};
  if (view.has_projection) {
    decision = policy::redact(d.payload, sensitive, view);
  } else if (auto kept = prepared_.find(prepared_key(d.header.contract, d.header.version, d.payload_digest));
             kept != prepared_.end()) {
    decision = policy::redact_prepared(d.payload, *kept->second, view);
  } else if (auto prepared = policy::prepare_payload(d.payload, sensitive)) {
    decision = policy::redact_prepared(d.payload, *prepared, view);
  } else {
    decision = prepared.error();
  }
  if (!decision) {
    // The payload was validated JSON on the way in; not being able to read it now is a bug. Send
    // nothing rather than something unfiltered.
    return Error{ErrorCode::kStorage, "policy could not read the payload of delivery " +
                                          std::to_string(d.delivery_id) + ": " + decision.error().detail};
  }
  if (decision->removed.empty() && decision->basis.empty()) return {};
  const std::size_t fields = decision->removed.size();
  for (const auto& r : decision->removed) removed.push_back(r.pointer);
  if (auto r = record_event(store_, delivery_event(policy_record(std::move(decision->removed), std::move(decision->basis)), d, now));
      !r) {
    return r.error();
  }
  if (fields != 0) {
    log().debug("redacted delivery_id={} recipient={} fields={}", d.delivery_id, d.recipient, fields);
    d.payload = std::move(decision->payload);  // otherwise the bytes as submitted
  }
  return {};
}

void DeliveryScheduler::touch(const std::string& routing_id, Millis now) {
  if (auto it = sessions_.find(routing_id); it != sessions_.end()) it->second.last_seen = now;
}

Result<void> DeliveryScheduler::on_credit(const std::string& routing_id, const std::string& partner,
                                          std::uint32_t credit, Millis now, bool batches, bool ack_receipts) {
  if (credit == 0) return drop_session(routing_id, now);
  auto [it, inserted] = sessions_.try_emplace(routing_id);
  Session& s = it->second;
  if (inserted) log().info("session open partner={} credit={}", partner, credit);
  s.partner = partner;
  if (credit > options_.max_credit) {
    log().info("credit capped partner={} asked={} max_credit={}", partner, credit, options_.max_credit);
    credit = options_.max_credit;
  }
  s.credit = credit;
  s.batches = batches;
  s.ack_receipts = ack_receipts;
  s.last_seen = now;
  dirty_.insert(partner);
  return {};
}

bool DeliveryScheduler::wants_ack_receipts(const std::string& routing_id) const {
  auto it = sessions_.find(routing_id);
  return it != sessions_.end() && it->second.ack_receipts;
}

void DeliveryScheduler::release_credit(const InFlight& flight) {
  if (flight.nacked) return;
  if (auto it = sessions_.find(flight.routing_id); it != sessions_.end() && it->second.in_flight > 0) {
    --it->second.in_flight;
  }
  dirty_.insert(flight.partner);
}

void DeliveryScheduler::mark_answered(const std::string& routing_id) {
  if (auto it = sessions_.find(routing_id); it != sessions_.end()) it->second.answered = true;
}

DeliveryScheduler::Taken DeliveryScheduler::taken_from(const InFlight& flight) const {
  if (flight.nacked) return Taken::kCounted;  // the partner read it and refused it
  auto s = sessions_.find(flight.routing_id);
  return s != sessions_.end() && s->second.answered ? Taken::kCounted : Taken::kUnproven;
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
    mark_answered(routing_id);
    mark_answered(it->second.routing_id);
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
    mark_answered(routing_id);
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
  mark_answered(routing_id);
  mark_answered(it->second.routing_id);
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
  auto it = sessions_.find(routing_id);
  if (it == sessions_.end()) return {};
  const Taken taken = it->second.answered ? Taken::kCounted : Taken::kUnproven;
  std::vector<std::uint64_t> orphaned;
  for (const auto& [id, flight] : in_flight_) {
    if (flight.routing_id == routing_id && !flight.nacked) orphaned.push_back(id);
  }
  log().info("session closed partner={} returned={}", it->second.partner, orphaned.size());
  sessions_.erase(it);
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
  if (!dirty_.empty() || !sent_.empty()) return true;
  for (const auto& [id, s] : sessions_) {
    if (now - s.last_seen > options_.session_timeout.count()) return true;
  }
  for (const auto& [id, f] : in_flight_) {
    if (f.deadline <= now) return true;
  }
  return ttl_sweep_due(now);
}

Result<void> DeliveryScheduler::expire(Millis now) {
  std::vector<std::string> silent;
  for (const auto& [routing_id, s] : sessions_) {
    if (now - s.last_seen > options_.session_timeout.count()) silent.push_back(routing_id);
  }
  for (const auto& routing_id : silent) {
    log().info("session silent partner={} after_ms={}", sessions_[routing_id].partner, options_.session_timeout.count());
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

void DeliveryScheduler::add_pending(store::OutboundDelivery d) {
  dirty_.insert(d.recipient);
  Kept& kept = waiting_[d.recipient];
  kept.bytes += kept_bytes(d);
  kept.queue.push_back(std::move(d));
  while (!kept.queue.empty() && (kept.queue.size() > kWaitingKept || kept.bytes > kWaitingBytes)) {
    // The oldest kept one stays pending in the store only: the store now holds pending deliveries
    // older than the queue's front, which the pump reads from there first.
    drained_.erase(kept.queue.front().recipient);
    kept.bytes -= kept_bytes(kept.queue.front());
    kept.queue.pop_front();
  }
}

std::vector<std::pair<const std::string, DeliveryScheduler::Session>*> DeliveryScheduler::sessions_of(
    const std::string& partner) {
  // Connections that have shown they read come first: a partner's stale or never-reading
  // connections get only what its working ones have no room for.
  std::vector<std::pair<const std::string, Session>*> out;
  for (auto& entry : sessions_) {
    if (entry.second.partner == partner && entry.second.answered) out.push_back(&entry);
  }
  for (auto& entry : sessions_) {
    if (entry.second.partner == partner && !entry.second.answered) out.push_back(&entry);
  }
  return out;
}

std::optional<std::string> DeliveryScheduler::reserve(const std::string& recipient) {
  if (drained_.find(recipient) == drained_.end()) return std::nullopt;
  if (auto w = waiting_.find(recipient); w != waiting_.end() && !w->second.queue.empty()) return std::nullopt;
  for (auto* entry : sessions_of(recipient)) {
    auto& [routing_id, session] = *entry;
    if (session.in_flight < session.credit) {
      ++session.in_flight;
      return routing_id;
    }
  }
  return std::nullopt;
}

Result<void> DeliveryScheduler::send_reserved(store::OutboundDelivery d, const std::string& routing_id, Millis now) {
  return send(d, 1, routing_id, now, sent_);
}

Result<void> DeliveryScheduler::send(store::OutboundDelivery& d, std::uint32_t attempt, const std::string& routing_id,
                                     Millis now, std::vector<Queued>& out) {
  std::uint32_t shown = attempt;  // every send that left the broker, counted or not
  if (auto u = uncounted_.find(static_cast<std::uint64_t>(d.delivery_id)); u != uncounted_.end()) shown += u->second;
  events::Event e = delivery_event(shown == 1 ? events::Record{events::Delivered{shown}}
                                              : events::Record{events::Redelivered{shown}},
                                   d, now);
  if (auto r = record_event(store_, e); !r) return r.error();
  progress_.push_back({d.header.message_id, d.header.contract, d.header.version});
  contracts::Deliver frame;
  if (auto r = apply_policy(d, frame.removed_fields, now); !r) return r.error();
  frame.delivery_id = static_cast<std::uint64_t>(d.delivery_id);
  frame.attempt = shown;
  frame.header = std::move(d.header);
  frame.sender = std::move(d.sender);
  frame.accepted_at = d.accepted_at;
  frame.payload = std::move(d.payload);
  const std::uint64_t id = frame.delivery_id;
  auto session = sessions_.find(routing_id);
  out.push_back({routing_id, std::move(frame), session != sessions_.end() && session->second.batches});
  InFlight& flight = in_flight_[id];
  flight = InFlight{routing_id, d.recipient, now + options_.ack_timeout.count(), false, attempt, now, std::move(e)};
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
      const std::uint64_t id = q.frame.delivery_id;
      out.push_back({q.routing_id, contracts::encode_envelope(q.frame), id, {}});
      continue;
    }
    Filling& f = filling[q.routing_id];
    const std::size_t bytes = deliver_size_bound(q.frame);
    if (f.batch.deliveries.size() >= contracts::kMaxBatchMessages || f.bytes + bytes > options_.max_message_bytes) {
      flush(q.routing_id, f);
    }
    f.bytes += bytes;
    f.batch.deliveries.push_back(std::move(q.frame));
  }
  for (auto& [routing_id, f] : filling) flush(routing_id, f);
  return out;
}

Result<std::vector<Outgoing>> DeliveryScheduler::pump(Millis now) {
  std::vector<Queued> out = std::exchange(sent_, {});
  std::set<std::string> partners;
  partners.swap(dirty_);
  for (const auto& partner : partners) {
    for (auto* entry : sessions_of(partner)) {
      auto& [routing_id, session] = *entry;
      while (session.in_flight < session.credit) {
        const std::size_t wanted = session.credit - session.in_flight;
        std::vector<store::OutboundDelivery> batch;
        auto w = waiting_.find(partner);
        const bool kept = w != waiting_.end() && !w->second.queue.empty();
        if (drained_.find(partner) == drained_.end()) {
          // Pending deliveries older than what is kept here are only in the store: read those.
          auto read = store_.next_pending(partner, wanted,
                                          kept ? w->second.queue.front().delivery_id
                                               : std::numeric_limits<std::int64_t>::max());
          if (!read) return read.error();
          batch = std::move(*read);
          // Short of what was asked: the store holds nothing older than what is kept here.
          if (batch.size() < wanted) drained_.insert(partner);
        }
        if (batch.empty() && kept && drained_.find(partner) != drained_.end()) {
          auto& queue = w->second.queue;
          while (batch.size() < wanted && !queue.empty()) {
            w->second.bytes -= kept_bytes(queue.front());
            batch.push_back(std::move(queue.front()));
            queue.pop_front();
          }
        }
        if (batch.empty()) break;
        for (auto& d : batch) {
          if (ttl_passed(d, now)) {  // never delivered late
            if (auto r = dead_letter_expired(d, now); !r) return r.error();
            continue;
          }
          if (d.attempts >= options_.max_attempts || !d.unreadable.empty()) {
            // Given up: too many sends, or a stored payload that cannot be opened (which no retry
            // mends; the other deliveries go on).
            if (auto r = store_.mark_dead(d.delivery_id, now); !r) return r.error();
            uncounted_.erase(static_cast<std::uint64_t>(d.delivery_id));
            const events::DeadLettered dead =
                d.unreadable.empty() ? events::DeadLettered{d.attempts, ""} : events::DeadLettered{0, d.unreadable};
            if (auto r = record_event(store_, delivery_event(dead, d, now)); !r) return r.error();
            if (backlog_) backlog_->settled(partner);
            log().warn("dead_lettered delivery_id={} message_id={} recipient={} attempts={}", d.delivery_id,
                       d.header.message_id, partner, d.attempts);
            continue;
          }
          std::uint32_t attempt = d.attempts + 1;
          if (auto r = store_.mark_in_flight(d.delivery_id, attempt, now); !r) return r.error();
          if (auto r = send(d, attempt, routing_id, now, out); !r) return r.error();
          ++session.in_flight;
        }
      }
    }
  }
  return encode(std::move(out));
}

void DeliveryScheduler::reset() {
  in_flight_.clear();
  drained_.clear();
  waiting_.clear();
  sent_.clear();
  for (auto& [routing_id, s] : sessions_) {
    s.in_flight = 0;
    dirty_.insert(s.partner);
  }
}

}  // namespace broker::core
