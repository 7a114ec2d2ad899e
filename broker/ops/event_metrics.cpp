#include "broker/ops/event_metrics.h"

namespace broker::ops {
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
  r.describe("keten_cases_shredded_total", T::kCounter,
             "Cases (case keys) shredded because every message of them was past retention, since start.");
  r.describe("keten_cases_on_hold", T::kGauge, "Cases under legal hold at the last retention sweep.");
  r.describe("keten_norm_violations_total", T::kCounter, "Timeliness-norm violations by contract and norm.");
  r.describe("keten_alerts_total", T::kCounter, "Alerts fired by kind.");
  r.describe("keten_frames_refused_total", T::kCounter,
             "Frames refused unread by partner: over max_connections_per_partner or partner_queue_bytes.");
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
  r.describe("keten_checkpoint_age_seconds", T::kGauge, "Seconds since the handover log was last known covered by a signed checkpoint (signing brokers).");
  r.describe("keten_handover_log_seq", T::kGauge, "Sequence number of the handover log's head.");
  r.describe("keten_alerts_active", T::kGauge, "Alerts currently active.");
  r.describe("keten_ready", T::kGauge, "1 when the broker is ready (start-up recovery done, not stopping).");
}

void count_norm_violation(MetricsRegistry& r, EventTally& tally, const std::string& contract, const std::string& norm) {
  r.add("keten_norm_violations_total", {{"contract", contract}, {"norm", norm}});
  ++tally.norm_violations[contract];
}

void count_event(MetricsRegistry& r, EventTally& tally, const events::Event& e) {
  using events::Kind;
  const Kind kind = e.kind();
  r.add("keten_handover_log_events_total", {{"event", std::string(events::to_string(kind))}});
  switch (kind) {
    case Kind::kAccepted:
    case Kind::kDuplicate:
      r.add("keten_messages_total", {{"contract", e.contract}, {"outcome", std::string(events::to_string(kind))}});
      break;
    case Kind::kRejected: {
      // A frame that never became a submit has no contract: it counts under contract="". A row
      // that named no code counts under reason="unknown".
      const auto code = std::get<events::Rejected>(e.record).code;
      const std::string reason = code == contracts::ErrorCode::kNone ? "unknown" : std::string(contracts::to_string(code));
      r.add("keten_messages_total", {{"contract", e.contract}, {"outcome", "rejected"}});
      r.add("keten_rejections_total", {{"contract", e.contract}, {"reason", reason}});
      break;
    }
    case Kind::kUndelivered: tally.undone_sends.insert(e.delivery_id); break;
    case Kind::kDelivered:
    case Kind::kRedelivered:
      // The send after an undelivered one repeats its attempt (docs/protocol.md, "Delivery").
      if (tally.undone_sends.erase(e.delivery_id) > 0) break;
      r.add(kind == Kind::kDelivered ? "keten_deliveries_total" : "keten_redeliveries_total",
            {{"contract", e.contract}, {"recipient", e.recipient}});
      break;
    case Kind::kAcknowledged:
      tally.undone_sends.erase(e.delivery_id);
      r.add("keten_acks_total", {{"contract", e.contract}, {"recipient", e.recipient}});
      break;
    case Kind::kNacked: r.add("keten_nacks_total", {{"contract", e.contract}, {"recipient", e.recipient}}); break;
    case Kind::kDeadLettered:
      tally.undone_sends.erase(e.delivery_id);
      r.add("keten_dead_letters_total", {{"contract", e.contract}, {"recipient", e.recipient}});
      ++tally.dead_letters[e.recipient];
      if (std::get<events::DeadLettered>(e.record).reason == "expired") {
        r.add("keten_expired_deliveries_total", {{"contract", e.contract}, {"recipient", e.recipient}});
      }
      break;
    case Kind::kNormViolated: {
      // One violation per obligation: a late close of an obligation already counted open is not new.
      const auto& n = std::get<events::NormViolated>(e.record);
      if (n.was_open) break;
      count_norm_violation(r, tally, e.contract, n.norm.empty() ? "unknown" : n.norm);
      break;
    }
    case Kind::kAlert:
      r.add("keten_alerts_total", {{"kind", std::string(events::to_string(std::get<events::Alert>(e.record).kind))}});
      break;
    case Kind::kShredded: r.add("keten_cases_shredded_total", {}); break;
    default: break;  // only keten_handover_log_events_total
  }
}

}  // namespace broker::ops
