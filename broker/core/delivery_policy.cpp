#include "broker/core/delivery_policy.h"

#include <spdlog/spdlog.h>

#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/core/log.h"
#include "broker/policy/consent.h"
#include "broker/store/store.h"
#include "contracts/registry.h"

namespace broker::core {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Millis;
using contracts::Result;

std::string prepared_key(const std::string& contract, std::uint32_t version, const std::string& digest) {
  std::string key = contract;
  key += '\0';
  key += std::to_string(version);
  key += '\0';
  key += digest;
  return key;
}

// What a kept prepared payload holds in memory, roughly.
std::size_t prepared_size(const std::string& key, const policy::PreparedPayload& p) {
  std::size_t n = key.size() + p.without_medical.size() + 64;
  for (const auto& m : p.medical) n += m.size() + 32;
  return n;
}

}  // namespace

DeliveryPolicy::DeliveryPolicy(store::Store& store, const std::vector<PartnerConfig>& partners,
                               contracts::ContractRegistry* registry, const SensitiveByContract* sensitive)
    : store_(store), registry_(registry), sensitive_(sensitive) {
  for (const auto& p : partners) roles_[p.id] = p.role;
}

void DeliveryPolicy::remember_prepared(const std::string& contract, std::uint32_t version,
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

Result<ClearedDeliver> DeliveryPolicy::clear(store::OutboundDelivery d, std::uint32_t attempt, Millis now) {
  contracts::Deliver frame;
  if (auto r = apply(d, frame.removed_fields, now); !r) return r.error();
  frame.delivery_id = static_cast<std::uint64_t>(d.delivery_id);
  frame.attempt = attempt;
  frame.header = std::move(d.header);
  frame.sender = std::move(d.sender);
  frame.accepted_at = d.accepted_at;
  frame.payload = std::move(d.payload);
  return ClearedDeliver(std::move(frame));
}

Result<void> DeliveryPolicy::apply(store::OutboundDelivery& d, std::vector<std::string>& removed, Millis now) {
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
    return Error{ErrorCode::kStorage, "policy could not read the payload of delivery " + std::to_string(d.delivery_id) +
                                          ": " + decision.error().detail};
  }
  if (decision->removed.empty() && decision->basis.empty()) return {};
  const std::size_t fields = decision->removed.size();
  for (const auto& r : decision->removed) removed.push_back(r.pointer);
  if (auto r = record_event(
          store_, delivery_event(policy_record(std::move(decision->removed), std::move(decision->basis)), d, now));
      !r) {
    return r.error();
  }
  if (fields != 0) {
    log().debug("redacted delivery_id={} recipient={} fields={}", d.delivery_id, d.recipient, fields);
    d.payload = std::move(decision->payload);  // otherwise the bytes as submitted
  }
  return {};
}

}  // namespace broker::core
