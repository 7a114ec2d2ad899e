#include "broker/core/event_builders.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "broker/store/store.h"
#include "contracts/digest.h"
#include "contracts/norms.h"

namespace broker::core {

events::Event message_event(events::Record record, const contracts::Header& h, const std::string& sender,
                            std::string_view payload_digest_hex, contracts::Millis at) {
  events::Event e;
  e.at = at;
  e.message_id = h.message_id;
  e.contract = h.contract;
  e.version = h.version;
  e.case_ref = h.case_ref;
  e.sender = sender;
  // The store's digests are always 64 hex characters or "" (contracts::sha256_hex).
  if (!payload_digest_hex.empty()) e.payload_digest = events::digest_from_hex(payload_digest_hex);
  e.record = std::move(record);
  return e;
}

events::Event delivery_event(events::Record record, const contracts::Header& h, const std::string& sender,
                             std::string_view payload_digest_hex, const std::string& recipient,
                             std::int64_t delivery_id, contracts::Millis at) {
  events::Event e = message_event(std::move(record), h, sender, payload_digest_hex, at);
  e.recipient = recipient;
  e.delivery_id = delivery_id;
  return e;
}

events::Event delivery_event(events::Record record, const store::OutboundDelivery& d, contracts::Millis at) {
  return delivery_event(std::move(record), d.header, d.sender, d.payload_digest, d.recipient, d.delivery_id, at);
}

events::Rejected rejected_record(contracts::ErrorCode code, std::string detail, std::vector<contracts::FieldError> errors) {
  return events::Rejected{code, std::move(detail), std::move(errors)};
}

events::Accepted accepted_record(const contracts::Header& h, std::vector<std::string> recipients,
                                 const std::vector<Skipped>& skipped, events::Assurance assurance,
                                 std::vector<events::Evidence> evidence) {
  events::Accepted a;
  a.recipients = std::move(recipients);
  a.correlation_id = h.correlation_id;
  a.causation_id = h.causation_id;
  a.supersedes = h.supersedes;
  a.occurred_at = h.occurred_at;
  a.recorded_at = h.recorded_at;
  a.origin = h.origin;
  a.skipped.reserve(skipped.size());
  for (const auto& k : skipped) a.skipped.push_back({k.partner, k.reason});
  a.evidence = std::move(evidence);
  a.assurance = assurance;
  return a;
}

events::Duplicate duplicate_record(std::string_view first_payload_digest_hex, bool same_payload) {
  return events::Duplicate{events::digest_from_hex(first_payload_digest_hex).value_or(events::Digest{}), same_payload};
}

events::Record policy_record(std::vector<policy::Removal> removed, std::string basis) {
  std::vector<events::Removal> fields;
  fields.reserve(removed.size());
  for (auto& r : removed) fields.push_back({std::move(r.pointer), std::move(r.rule)});
  if (fields.empty()) return events::PolicyAllowed{{}, std::move(basis)};
  return events::Redacted{std::move(fields), std::move(basis)};
}

events::NormViolated norm_record(const contracts::NormViolation& v, bool was_open, std::string key,
                                 std::string corrects) {
  events::NormViolated n;
  n.norm = v.norm_id;
  n.kind = v.kind;
  n.due_at = v.due_at;
  n.done_at = v.done_at;
  n.by_ms = v.late_by;
  n.expected_contract = v.expected_contract;
  n.explanation = v.explanation;
  n.was_open = v.done_at != 0 && was_open;  // an open row does not say it
  n.late_party = v.late_party;
  n.key = std::move(key);
  n.corrects = std::move(corrects);
  return n;
}

events::Started started_record(std::string config, std::string contract_set, std::string signing_key,
                               std::size_t partners, std::size_t contract_count,
                               const std::optional<events::Started>& previous, const ClockStatus& clock) {
  events::Started s;
  // Against "" when there was no earlier start (so an unreadable folder, "", is no change).
  s.config_changed = (previous ? previous->config_digest : std::string()) != config;
  s.contracts_changed = (previous ? previous->contracts_digest : std::string()) != contract_set;
  if (previous) {
    s.previous_config_digest = previous->config_digest;
    s.previous_contracts_digest = previous->contracts_digest;
  }
  s.config_digest = std::move(config);
  s.contracts_digest = std::move(contract_set);
  s.signing_key = std::move(signing_key);
  s.partners = static_cast<std::uint32_t>(partners);
  s.contracts = static_cast<std::uint32_t>(contract_count);
  s.clock_source = clock.source;
  s.clock_sync = clock.sync == "synchronized"     ? events::ClockSync::kSynchronized
                 : clock.sync == "unsynchronized" ? events::ClockSync::kUnsynchronized
                                                  : events::ClockSync::kUnknown;
  s.clock_synced = s.clock_sync == events::ClockSync::kSynchronized;
  s.clock_basis = clock.basis;
  s.clock_error_us = clock.estimated_error_us;
  return s;
}

std::string config_digest(const BrokerOptions& o, const std::string& signing_public_key) {
  nlohmann::json partners = nlohmann::json::array();
  for (const auto& p : o.partners) {
    nlohmann::json partner{{"id", p.id}, {"name", p.name}, {"role", to_string(p.role)}, {"public_key", p.public_key}};
    if (!p.takes.empty()) partner["takes"] = p.takes;
    partners.push_back(std::move(partner));
  }
  // nlohmann's object keys are sorted, so the text (and the digest) has one form.
  nlohmann::json j{{"listen", o.listen},
                   {"store", o.store.string()},
                   {"contracts", o.contracts.string()},
                   {"max_message_bytes", o.max_message_bytes},
                   {"ack_timeout_ms", o.ack_timeout.count()},
                   {"max_attempts", o.max_attempts},
                   {"session_timeout_ms", o.session_timeout.count()},
                   {"max_batch", o.max_batch},
                   {"sync_full", o.sync_full},
                   {"checkpoint_interval_ms", o.checkpoint_interval.count()},
                   {"rate_limit", o.rate_limit},
                   {"rate_burst", o.rate_burst},
                   {"max_backlog", o.max_backlog},
                   {"max_credit", o.max_credit},
                   {"report_interval_ms", o.report_interval.count()},
                   {"report_producer", o.report_producer},
                   {"signing_public_key", signing_public_key},
                   {"partners", partners}};
  for (const auto& sup : o.supervisors) j["supervisors"].push_back({{"id", sup.id}, {"name", sup.name}});
  // Keys added later count only when set away from their default, so a config that does not use
  // them keeps the digest it had.
  const BrokerOptions defaults;
  if (o.turn_bytes != defaults.turn_bytes) j["turn_bytes"] = o.turn_bytes;
  if (o.partner_queue_bytes != defaults.partner_queue_bytes) j["partner_queue_bytes"] = o.partner_queue_bytes;
  if (o.max_connections_per_partner != defaults.max_connections_per_partner) {
    j["max_connections_per_partner"] = o.max_connections_per_partner;
  }
  return contracts::sha256_hex(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string contract_set_digest(const std::filesystem::path& folder) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.is_regular_file(ec)) files.push_back(entry.path());
  }
  if (ec) return "";
  std::sort(files.begin(), files.end());
  std::string listing;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    listing += file.filename().string() + " " + contracts::sha256_hex(bytes) + "\n";
  }
  return contracts::sha256_hex(listing);
}

}  // namespace broker::core
