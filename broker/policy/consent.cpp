#include "broker/policy/consent.h"

#include <nlohmann/json.hpp>

#include "contracts/time.h"

namespace broker::policy {
namespace {

using contracts::Error;
using contracts::ErrorCode;

// The string at `key`, or "" when absent or not a string.
std::string text(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool is_consent_contract(std::string_view contract) {
  return contract == kConsentRegistered || contract == kConsentWithdrawn;
}

contracts::Result<void> ConsentRegister::apply(std::string_view contract, const std::string& message_id,
                                               const std::string& case_ref, std::string_view payload,
                                               contracts::Millis accepted_at) {
  if (!is_consent_contract(contract)) return {};
  nlohmann::json doc = nlohmann::json::parse(payload, nullptr, false);
  if (!doc.is_object()) return Error{ErrorCode::kInvalidPayload, std::string(contract) + ": payload is not a JSON object"};
  const std::string recipient = text(doc, "recipient");
  const std::string purpose = text(doc, "purpose");
  if (recipient.empty()) return Error{ErrorCode::kInvalidPayload, std::string(contract) + ": /recipient is missing"};
  if (purpose.empty()) return Error{ErrorCode::kInvalidPayload, std::string(contract) + ": /purpose is missing"};
  const std::string form_ref = text(doc, "form_ref");

  if (contract == kConsentRegistered) {
    auto until = contracts::parse_rfc3339(text(doc, "valid_until"));
    if (!until) return Error{ErrorCode::kInvalidPayload, "consent.registered: /valid_until is not a date-time"};
    consents_.push_back({message_id, case_ref, recipient, purpose, form_ref, *until, accepted_at, 0});
    return {};
  }
  for (auto& c : consents_) {
    if (c.withdrawn_at != 0 || c.case_ref != case_ref || c.recipient != recipient || c.purpose != purpose) continue;
    if (!form_ref.empty() && c.form_ref != form_ref) continue;
    if (c.registered_at > accepted_at) continue;
    c.withdrawn_at = accepted_at;
  }
  return {};
}

std::optional<std::string> ConsentRegister::holding(std::string_view case_ref, std::string_view recipient,
                                                    std::string_view purpose, contracts::Millis now) const {
  if (purpose.empty()) return std::nullopt;  // the contract declares no purpose for this recipient
  for (auto it = consents_.rbegin(); it != consents_.rend(); ++it) {
    if (it->case_ref != case_ref || it->recipient != recipient || it->purpose != purpose) continue;
    if (it->withdrawn_at != 0 && it->withdrawn_at <= now) continue;
    if (now >= it->valid_until) continue;
    return it->id;
  }
  return std::nullopt;
}

}  // namespace broker::policy
