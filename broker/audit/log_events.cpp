#include "broker/audit/log_events.h"

#include <nlohmann/json.hpp>

#include "broker/events/legacy.h"
#include "broker/events/render.h"

namespace broker::audit {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using nlohmann::json;

std::string text(const json& d, const char* key) {
  auto it = d.find(key);
  return it != d.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Millis integer(const json& d, const char* key) {
  auto it = d.find(key);
  if (it == d.end() || !it->is_number()) return 0;
  return it->is_number_float() ? static_cast<Millis>(it->get<double>()) : it->get<Millis>();
}

// The detail as written, for a migrated event whose record does not reproduce it.
NormFacts facts_from_detail(const json& d) {
  NormFacts f;
  f.norm = text(d, "norm");
  f.kind = text(d, "kind");
  f.open = text(d, "state") == "open";
  f.due_at = integer(d, "due_at");
  f.done_at = integer(d, "done_at");
  if (d.contains("by_ms")) f.by_ms = integer(d, "by_ms");
  f.expected_contract = text(d, "expected_contract");
  f.late_party = text(d, "late_party");
  f.key = text(d, "key");
  f.corrects = text(d, "corrects");
  f.explanation = text(d, "explanation");
  auto was_open = d.find("was_open");
  f.was_open = was_open != d.end() && was_open->is_boolean() && was_open->get<bool>();
  f.contract = text(d, "contract");
  f.recipient = text(d, "recipient");
  return f;
}

}  // namespace

const std::string& EventLog::hash_of(std::uint64_t seq) const {
  static const std::string kNone;
  auto it = hashes.find(seq);
  return it == hashes.end() ? kNone : it->second;
}

Result<events::LoggedEvent> logged_event(const LogRecord& r) {
  auto event = events::from_legacy_row({r.at, r.event, r.message_id, r.contract, r.version, r.case_ref, r.sender,
                                        r.recipient, r.delivery_id, r.payload_digest, r.detail});
  if (!event) return Error{ErrorCode::kMalformedEnvelope, "handover-log row seq " + std::to_string(r.seq) + ": " + event.error().detail};
  return events::LoggedEvent{r.seq, std::move(*event)};
}

Result<std::vector<events::LoggedEvent>> logged_events(const std::vector<LogRecord>& rows) {
  std::vector<events::LoggedEvent> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    if (row.omitted) continue;
    auto e = logged_event(row);
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<EventLog> event_log(const std::vector<LogRecord>& rows, std::string_view case_ref) {
  EventLog log;
  for (const auto& row : rows) {
    // A broker start carries no case but concerns every case open at the time (replay shows it).
    const bool wanted = case_ref.empty() || row.case_ref == case_ref || (row.case_ref.empty() && row.event == events::to_string(events::Kind::kStarted));
    if (row.omitted || !wanted) continue;
    auto e = logged_event(row);
    if (!e) return e.error();
    log.events.push_back(std::move(*e));
    log.hashes.emplace(row.seq, row.hash);
  }
  return log;
}

std::optional<NormFacts> norm_facts(const events::Event& e) {
  const auto* n = std::get_if<events::NormViolated>(&e.record);
  if (!n) return std::nullopt;
  if (e.legacy_detail) return facts_from_detail(events::detail_object(e));
  NormFacts f;
  f.norm = n->norm;
  f.kind = std::string(contracts::to_string(n->kind));
  f.open = n->is_open();
  f.due_at = n->due_at;
  f.done_at = n->done_at;
  f.by_ms = n->by_ms;
  f.expected_contract = n->expected_contract;
  f.explanation = n->explanation;
  f.was_open = n->was_open;
  f.late_party = n->late_party;
  f.key = n->key;
  f.corrects = n->corrects;
  return f;
}

}  // namespace broker::audit
