#include "broker/ops/alerts.h"

namespace broker::ops {

std::vector<Alert> over_threshold(const AlertSnapshot& s, const AlertOptions& o) {
  std::vector<Alert> out;
  if (!o.enabled) return out;
  auto check = [&](AlertKind kind, const std::string& subject, double value, double threshold,
                   const std::set<std::string>& cases = {}) {
    if (value <= threshold) return;
    Alert a{kind, subject, value, threshold, {}};
    for (const auto& c : cases) {
      if (a.cases.size() == kAlertCases) break;
      if (!c.empty()) a.cases.push_back(c);
    }
    out.push_back(std::move(a));
  };
  auto cases_of = [](const std::map<std::string, std::set<std::string>>& by, const std::string& key) {
    auto it = by.find(key);
    return it == by.end() ? std::set<std::string>{} : it->second;
  };
  if (o.backlog_max > 0) {
    for (const auto& b : s.backlog) check(AlertKind::kBacklog, b.recipient, double(b.undelivered), double(o.backlog_max));
  }
  if (o.oldest_undelivered_max.count() > 0) {
    for (const auto& b : s.backlog) {
      if (b.undelivered > 0) {
        check(AlertKind::kOldestUndelivered, b.recipient, double(b.oldest_age_ms), double(o.oldest_undelivered_max.count()));
      }
    }
  }
  if (o.dead_letters_max >= 0) {
    for (const auto& [recipient, n] : s.dead_letters) {
      check(AlertKind::kDeadLetters, recipient, double(n), double(o.dead_letters_max), cases_of(s.dead_letter_cases, recipient));
    }
  }
  if (o.norm_violations_max >= 0) {
    for (const auto& [contract, n] : s.norm_violations) {
      check(AlertKind::kNormViolations, contract, double(n), double(o.norm_violations_max),
            cases_of(s.norm_violation_cases, contract));
    }
  }
  for (const auto& [partner, silent_ms] : s.partner_silent_ms) {
    auto limit = o.partner_silent_after;
    if (auto it = o.partner_silent_after_by_partner.find(partner); it != o.partner_silent_after_by_partner.end()) {
      limit = it->second;
    }
    if (limit.count() > 0) check(AlertKind::kPartnerSilent, partner, double(silent_ms), double(limit.count()));
  }
  if (s.store_max_bytes > 0 && o.store_full_percent > 0) {
    double threshold = double(s.store_max_bytes) * double(o.store_full_percent) / 100.0;
    check(AlertKind::kStoreNearlyFull, "store", double(s.store_bytes), threshold);
  }
  if (s.since_checkpoint_ms && s.checkpoint_overdue_ms > 0) {
    check(AlertKind::kCheckpointOverdue, "checkpoint", double(*s.since_checkpoint_ms), double(s.checkpoint_overdue_ms));
  }
  return out;
}

AlertChanges AlertState::evaluate(const AlertSnapshot& snapshot, const AlertOptions& options) {
  AlertChanges changes;
  std::map<std::pair<AlertKind, std::string>, Alert> now;
  for (auto& a : over_threshold(snapshot, options)) {
    auto key = std::make_pair(a.kind, a.subject);
    if (!active_.contains(key)) changes.fired.push_back(a);
    now.emplace(std::move(key), std::move(a));
  }
  for (auto& [key, a] : active_) {
    if (!now.contains(key)) changes.cleared.push_back(a);
  }
  // An active alert keeps the values it fired with: the event said what crossed.
  for (auto& [key, a] : now) {
    if (auto it = active_.find(key); it != active_.end()) a = it->second;
  }
  active_ = std::move(now);
  return changes;
}

}  // namespace broker::ops
