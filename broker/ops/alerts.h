#pragma once
// Alert evaluation, pure: a snapshot of the broker's state plus thresholds in, the alerts that
// newly fire (and those that cleared) out. AlertState remembers which alerts are active so each
// fires once when its value crosses the threshold and clears when it is back under.
// docs/operations.md lists every alert with its config key.
//
// Threading: AlertState belongs to one thread (the broker loop).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/events/event.h"
#include "broker/ops/options.h"

namespace broker::ops {

// The handover log's alert kinds (broker/events/event.h), and their names (events::to_string):
//   kBacklog            subject: recipient; value: undelivered deliveries
//   kOldestUndelivered  subject: recipient; value: age of the oldest undelivered message, ms
//   kDeadLetters        subject: recipient; value: dead letters since the last check
//   kNormViolations     subject: contract; value: norm violations since the last check
//   kPartnerSilent      subject: partner; value: ms since its last frame
//   kStoreNearlyFull    subject: "store"; value: bytes
//   kCheckpointOverdue  subject: "checkpoint"; value: ms since the log was last known covered by a
//                       signed tree checkpoint
using events::AlertKind;
using events::to_string;

struct Alert {
  AlertKind kind = AlertKind::kBacklog;
  std::string subject;
  double value = 0;
  double threshold = 0;  // the alert fires when value > threshold
  // The cases (V-numbers) of the messages the alert is about, sorted: dead_letters and
  // norm_violations, those counted since the last check (at most kAlertCases); oldest_undelivered,
  // the oldest message's (filled in by Ops when it fires). Empty for the broker-wide kinds. The alert's log row carries the case when
  // there is exactly one, so that case's replay shows it.
  std::vector<std::string> cases{};
  bool operator==(const Alert&) const = default;
};
inline constexpr std::size_t kAlertCases = 20;

struct RecipientBacklog {
  std::string recipient;
  std::int64_t undelivered = 0;      // pending + in flight
  std::int64_t oldest_age_ms = 0;    // now - accepted_at of the oldest undelivered message
  std::int64_t oldest_accepted_at = 0;  // its accepted_at (to find its case when the alert fires)
};

struct AlertSnapshot {
  std::vector<RecipientBacklog> backlog;                   // recipients with undelivered deliveries
  std::map<std::string, std::int64_t> dead_letters;        // by recipient, since the last check
  std::map<std::string, std::int64_t> norm_violations;     // by contract, since the last check
  std::map<std::string, std::set<std::string>> dead_letter_cases;     // by recipient, since the last check
  std::map<std::string, std::set<std::string>> norm_violation_cases;  // by contract, since the last check
  std::map<std::string, std::int64_t> partner_silent_ms;   // every configured partner
  std::uint64_t store_bytes = 0;
  std::uint64_t store_max_bytes = 0;                       // resolved (never 0 when known)
  std::optional<std::int64_t> since_checkpoint_ms;         // nullopt: the broker does not sign
  std::int64_t checkpoint_overdue_ms = 0;                  // resolved threshold
};

// Every alert whose value is over its threshold in `snapshot`, in kind then subject order.
std::vector<Alert> over_threshold(const AlertSnapshot& snapshot, const AlertOptions& options);

struct AlertChanges {
  std::vector<Alert> fired;    // over the threshold now, not active before
  std::vector<Alert> cleared;  // active before, back under now (value/threshold as last fired)
};

class AlertState {
 public:
  // Compares over_threshold(snapshot) with the active set and updates it.
  AlertChanges evaluate(const AlertSnapshot& snapshot, const AlertOptions& options);
  std::size_t active_count() const { return active_.size(); }

 private:
  std::map<std::pair<AlertKind, std::string>, Alert> active_;
};

}  // namespace broker::ops
