#include "broker/ops/event_metrics.h"

#include <nlohmann/json.hpp>

namespace broker::ops {
namespace {

// A string field of a row's JSON detail, "" when the detail is not JSON or has no such string.
std::string detail_field(const std::string& detail, const char* key) {
  if (detail.empty()) return {};
  auto j = nlohmann::json::parse(detail, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A boolean field of the detail object; false when absent or not a boolean.
bool detail_flag(const std::string& detail, const char* key) {
  auto j = nlohmann::json::parse(detail, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

void describe_broker_metrics(MetricsRegistry& r) {
  using T = MetricType;
  r.describe("keten_messages_total", T::kCounter, "Submitted messages by contract and outcome (accepted, rejected, duplicate).");
  r.describe("keten_rejections_total", T::kCounter, "Rejected submits and frames by contract and reason (error code).");
  r.describe("keten_deliveries_total", T::kCounter, "First delivery attempts by contract and recipient.");
  r.describe("keten_redeliveries_total", T::kCounter, "Repeated delivery attempts by contract and recipient.");
  r.describe("keten_acks_total", T::kCounter, "Acknowledged deliveries by contract and recipient.");
  r.describe("keten_nacks_total", T::kCounter, "Negative acknowledgements by contract and recipient.");
  r.describe("keten_dead_letters_total", T::kCounter, "Dead-lettered deliveries by contract and recipient.");
  r.describe("keten_expired_deliveries_total", T::kCounter,
             "Deliveries dead-lettered because their contract's ttl passed, by contract and recipient.");
  r.describe("keten_norm_violations_total", T::kCounter, "Timeliness-norm violations by contract and norm.");
  r.describe("keten_alerts_total", T::kCounter, "Alerts fired by kind.");
  r.describe("keten_handover_log_events_total", T::kCounter, "Handover-log rows committed since start, by event.");
  r.describe("keten_backlog", T::kGauge, "Undelivered (pending or in-flight) deliveries per recipient.");
  r.describe("keten_oldest_undelivered_age_seconds", T::kGauge, "Age of the oldest undelivered message per recipient.");
  r.describe("keten_connected_partners", T::kGauge, "Partners with a connection that spoke within session_timeout_ms.");
  r.describe("keten_partner_connected", T::kGauge, "1 while the partner has a live connection, else 0.");
  r.describe("keten_partner_last_seen_age_seconds", T::kGauge, "Seconds since the partner's last frame (or since start).");
  r.describe("keten_sessions", T::kGauge, "Open delivery sessions (connections that sent Credit).");
  r.describe("keten_store_size_bytes", T::kGauge, "Size of the store file with its WAL.");
  r.describe("keten_store_max_bytes", T::kGauge, "The store size the store_nearly_full alert measures against.");
  r.describe("keten_store_commit_seconds", T::kHistogram, "Duration of a store commit (the fsync), by result.",
             {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  r.describe("keten_checkpoint_age_seconds", T::kGauge, "Seconds since the last signing checkpoint (signing brokers).");
  r.describe("keten_handover_log_seq", T::kGauge, "Sequence number of the handover log's head.");
  r.describe("keten_alerts_active", T::kGauge, "Alerts currently active.");
  r.describe("keten_ready", T::kGauge, "1 when the broker is ready (start-up recovery done, not stopping).");
}

void count_norm_violation(MetricsRegistry& r, EventTally& tally, const std::string& contract, const std::string& norm) {
  r.add("keten_norm_violations_total", {{"contract", contract}, {"norm", norm}});
  ++tally.norm_violations[contract];
}

void count_event(MetricsRegistry& r, EventTally& tally, const audit::LogRecord& row) {
  r.add("keten_handover_log_events_total", {{"event", row.event}});
  const std::string& e = row.event;
  if (e == "accepted" || e == "duplicate") {
    r.add("keten_messages_total", {{"contract", row.contract}, {"outcome", e}});
  } else if (e == "rejected") {
    // A frame that never became a submit has no contract: it counts under contract="".
    std::string reason = detail_field(row.detail, "code");
    r.add("keten_messages_total", {{"contract", row.contract}, {"outcome", "rejected"}});
    r.add("keten_rejections_total", {{"contract", row.contract}, {"reason", reason.empty() ? "unknown" : reason}});
  } else if (e == "delivered") {
    r.add("keten_deliveries_total", {{"contract", row.contract}, {"recipient", row.recipient}});
  } else if (e == "redelivered") {
    r.add("keten_redeliveries_total", {{"contract", row.contract}, {"recipient", row.recipient}});
  } else if (e == "acknowledged") {
    r.add("keten_acks_total", {{"contract", row.contract}, {"recipient", row.recipient}});
  } else if (e == "nacked") {
    r.add("keten_nacks_total", {{"contract", row.contract}, {"recipient", row.recipient}});
  } else if (e == "dead_lettered") {
    r.add("keten_dead_letters_total", {{"contract", row.contract}, {"recipient", row.recipient}});
    ++tally.dead_letters[row.recipient];
    if (detail_field(row.detail, "reason") == "expired") {
      r.add("keten_expired_deliveries_total", {{"contract", row.contract}, {"recipient", row.recipient}});
    }
  } else if (e == "norm_violated") {
    // One violation per obligation: a late close of an obligation already counted open is not new.
    if (detail_flag(row.detail, "was_open")) return;
    std::string norm = detail_field(row.detail, "norm");
    count_norm_violation(r, tally, row.contract, norm.empty() ? "unknown" : norm);
  } else if (e == "alert") {
    std::string kind = detail_field(row.detail, "kind");
    r.add("keten_alerts_total", {{"kind", kind.empty() ? "unknown" : kind}});
  }
}

}  // namespace broker::ops
