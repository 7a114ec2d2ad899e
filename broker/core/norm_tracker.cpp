#include "broker/core/norm_tracker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <set>

#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/core/log.h"
#include "broker/store/store.h"
#include "broker/store/tracking.h"
#include "contracts/norms.h"
#include "contracts/registry.h"

namespace broker::core {
namespace {

using contracts::Millis;
using contracts::NormKind;
using contracts::Result;

// Watch due time of a message whose only remaining obligations are open violations: nothing to do
// on a timer, but a late delivery, ack or follow-up still closes them.
constexpr Millis kNoTimer = std::numeric_limits<Millis>::max();
// Watched messages evaluated per tick; the rest wait for the next turn.
constexpr std::size_t kTickBatch = 256;

// A correction names the message it corrects in `supersedes`, and may itself be corrected; the
// chain is followed this far back.
constexpr int kMaxCorrections = 32;

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

}  // namespace

NormTracker::NormTracker(store::Store& store, store::TrackingTables& tables,
                         contracts::ContractRegistry& registry)
    : store_(store), tables_(tables), registry_(registry) {
  for (const auto& [key, contract] : registry_.all()) {
    for (const auto& norm : contract.norms) {
      if (!contracts::links_messages(norm)) continue;
      for (const auto& expected : norm.expects) expected_by_[expected].push_back(&norm);
    }
  }
}

Result<void> NormTracker::load() {
  auto next = tables_.next_due();
  if (!next) return next.error();
  next_due_ = *next;
  return {};
}

bool NormTracker::has_delivery_norms(const std::string& contract, std::uint32_t version) {
  const contracts::Contract* c = registry_.find(contract, version);
  if (!c) return false;
  return std::any_of(c->norms.begin(), c->norms.end(), [](const contracts::Norm& n) {
    return n.kind == NormKind::kDeliveredBefore || n.kind == NormKind::kDeliveredWithin;
  });
}

Result<void> NormTracker::on_accepted(const contracts::Header& h, const std::string& /*sender*/,
                                      const std::string& payload, Millis now) {
  const contracts::Contract* own = registry_.find(h.contract, h.version);
  // Case keys: as a follow-up others expect, and as a message expecting follow-ups.
  std::set<std::pair<std::string, std::string>> keyed;  // (pointer, key)
  std::set<std::string> watchers;
  if (auto it = expected_by_.find(h.contract); it != expected_by_.end()) {
    for (const contracts::Norm* norm : it->second) {
      auto key = contracts::norm_case_key(*norm, payload);
      if (!key || !keyed.emplace(norm->match, *key).second) continue;
      if (auto r = tables_.add_key(norm->match, *key, {h.contract, h.message_id, now}); !r) return r;
      auto others = tables_.keys(norm->match, *key);
      if (!others) return others.error();
      for (const auto& other : *others) {
        if (other.message_id != h.message_id) watchers.insert(other.message_id);
      }
    }
  }
  // A correction replaces the evaluation of the message it corrects: that one is no longer
  // watched, and the correction carries its obligations on under the same keys (evaluate()). When
  // the correction is also a follow-up the corrected message waits for (a claim's status reporting
  // the transfer its acceptance set a deadline for), the corrected message looks once more first,
  // only to close what it recorded open or record it met late: the correction's own `when` may no
  // longer hold (stage "transferred", not "accepted"), so nobody else would.
  if (!h.supersedes.empty() && h.supersedes != h.message_id) {
    if (watchers.erase(h.supersedes) > 0) {
      auto watched = tables_.watched(h.supersedes);
      if (!watched) return watched.error();
      if (*watched) {
        if (auto r = evaluate(h.supersedes, now, Scope::kCloseOnly); !r) return r;
      }
    }
    if (auto r = tables_.unwatch(h.supersedes); !r) return r;
  }
  if (own) {
    for (const auto& norm : own->norms) {
      if (!contracts::links_messages(norm)) continue;
      auto key = contracts::norm_case_key(norm, payload);
      if (!key || !keyed.emplace(norm.match, *key).second) continue;
      if (auto r = tables_.add_key(norm.match, *key, {h.contract, h.message_id, now}); !r) return r;
    }
  }
  // A follow-up arrived: every watched message of the same case looks again.
  for (const auto& id : watchers) {
    auto watched = tables_.watched(id);
    if (!watched) return watched.error();
    if (*watched) {
      if (auto r = evaluate(id, now); !r) return r;
    }
  }
  if (own && !own->norms.empty()) return evaluate(h.message_id, now);
  return {};
}

Result<void> NormTracker::on_progress(const std::string& message_id, const std::string& contract,
                                      std::uint32_t version, Millis now) {
  if (!has_delivery_norms(contract, version)) return {};
  auto watched = tables_.watched(message_id);
  if (!watched) return watched.error();
  if (!*watched) return {};
  return evaluate(message_id, now);
}

Result<void> NormTracker::tick(Millis now) {
  auto ids = tables_.due(now, kTickBatch);
  if (!ids) return ids.error();
  for (const auto& id : *ids) {
    if (auto r = evaluate(id, now); !r) return r;
  }
  return load();
}

std::string NormTracker::late_party(const contracts::NormViolation& v, const std::string& sender) {
  if (!v.recipient.empty()) return v.recipient;
  if (v.expected_contract.empty()) return sender;  // the producer was late (submitted, payload times)
  // A follow-up that never came: whoever may produce it.
  const auto versions = registry_.versions(v.expected_contract);
  if (versions.empty()) return "";
  const contracts::Contract* c = registry_.find(v.expected_contract, versions.back());
  return c ? join(c->owners, "/") : "";
}

Result<void> NormTracker::evaluate(const std::string& message_id, Millis now, Scope scope) {
  auto stored = store_.find_message_content(message_id);
  if (!stored) return stored.error();
  if (!*stored) return tables_.unwatch(message_id);
  const store::StoredMessage& m = **stored;
  if (!m.unreadable.empty()) {
    log().warn("norms not evaluated message_id={} detail={}", message_id, m.unreadable);
    return tables_.unwatch(message_id);
  }
  const contracts::Contract* contract = registry_.find(m.header.contract, m.header.version);
  if (!contract || contract->norms.empty()) return tables_.unwatch(message_id);

  contracts::MessageTimes times;
  times.message_id = message_id;
  times.payload = m.payload;
  times.accepted_at = m.accepted_at;
  auto deliveries = tables_.deliveries_of(message_id);
  if (!deliveries) return deliveries.error();
  for (const auto& d : *deliveries) {
    // The last send stands for the delivery time: a redelivered message counts as delivered when it
    // was last sent (conservative: never earlier than it happened).
    times.recipients.push_back({d.recipient, d.attempts > 0 ? d.last_attempt_at : 0, d.acked_at});
  }
  std::set<std::string> seen;
  for (const auto& norm : contract->norms) {
    if (!contracts::links_messages(norm)) continue;
    auto key = contracts::norm_case_key(norm, m.payload);
    if (!key) continue;
    auto follow_ups = tables_.keys(norm.match, *key);
    if (!follow_ups) return follow_ups.error();
    for (const auto& f : *follow_ups) {
      if (f.message_id == message_id || !seen.insert(f.message_id).second) continue;
      contracts::FollowUpSeen follow_up{f.contract, f.message_id, f.accepted_at, "", ""};
      // Sender and payload of the linked message, for who was late and for payload-time norms.
      auto linked = store_.find_message_content(f.message_id);
      if (!linked) return linked.error();
      if (*linked) {
        follow_up.sender = (*linked)->sender;
        if ((*linked)->unreadable.empty()) follow_up.payload = (*linked)->payload;
      }
      times.follow_ups.push_back(std::move(follow_up));
    }
  }

  // The obligations of a correction are those of the first message it corrects: one late departure
  // stays one violation however often it is corrected.
  std::string first = message_id;
  std::set<std::string> chain{message_id};
  std::string corrected = m.header.supersedes;
  for (int hops = 0; hops < kMaxCorrections && !corrected.empty() && chain.insert(corrected).second; ++hops) {
    auto earlier = store_.find_message_content(corrected);
    if (!earlier) return earlier.error();
    if (!*earlier || (*earlier)->header.contract != m.header.contract) break;
    first = corrected;
    corrected = (*earlier)->header.supersedes;
  }

  contracts::NormReport report = contracts::evaluate_norms(contract->norms, times, now);
  for (const auto& problem : report.problems) {
    log().warn("norm not evaluated message_id={} contract={} v{} problem={}", message_id, m.header.contract,
               m.header.version, problem);
  }
  bool open = false;
  for (auto& v : report.violations) {
    const std::string key = v.key(first);
    if (v.late_party.empty()) v.late_party = late_party(v, m.sender);
    const bool closed = v.done_at != 0;
    if (!closed && scope == Scope::kCloseOnly) continue;
    open = open || !closed;
    auto recorded = tables_.recorded(key);
    if (!recorded) return recorded.error();
    if (*recorded == store::RecordedViolation::kClosed) continue;
    if (!closed && *recorded == store::RecordedViolation::kOpen) continue;
    if (auto r = tables_.record(key, closed ? store::RecordedViolation::kClosed : store::RecordedViolation::kOpen); !r) {
      return r;
    }
    events::Event e = message_event(norm_record(v, *recorded == store::RecordedViolation::kOpen, key,
                                                first == message_id ? std::string() : first),
                                    m.header, m.sender, m.payload_digest, now);
    e.recipient = v.recipient;
    if (auto r = record_event(store_, e); !r) return r.error();
    ++violations_recorded_;
    log().info("norm_violated message_id={} contract={} v{} norm={} state={} recipient={} expected={} late_by_ms={}",
               message_id, m.header.contract, m.header.version, v.norm_id, closed ? "closed" : "open", v.recipient,
               v.expected_contract, v.late_by);
  }
  // An obligation recorded open and then met in time by a late-reported payload time: close the
  // record, saying it was met in time, so no report counts it as still open.
  for (const auto& met : report.met_in_time) {
    contracts::NormViolation v = met.as_violation(contracts::NormKind::kFollowUpAt);
    const std::string key = v.key(first);
    auto recorded = tables_.recorded(key);
    if (!recorded) return recorded.error();
    if (*recorded != store::RecordedViolation::kOpen) continue;
    if (auto r = tables_.record(key, store::RecordedViolation::kClosed); !r) return r;
    const events::Event e = message_event(norm_record(v, true, key, first == message_id ? std::string() : first),
                                          m.header, m.sender, m.payload_digest, now);
    if (auto r = record_event(store_, e); !r) return r.error();
    log().info("norm_met_in_time message_id={} contract={} v{} norm={} expected={}", message_id, m.header.contract,
               m.header.version, v.norm_id, v.expected_contract);
  }
  if (report.waiting) open = true;  // evaluated again when the reference arrives
  if (auto due = report.next_due()) {
    if (auto r = tables_.watch(message_id, *due); !r) return r;
    if (!next_due_ || *due < *next_due_) next_due_ = *due;
  } else if (open) {
    if (auto r = tables_.watch(message_id, kNoTimer); !r) return r;
  } else {
    if (auto r = tables_.unwatch(message_id); !r) return r;
  }
  return {};
}

}  // namespace broker::core
