#pragma once
// ConsentRegister: which registered consents hold, built from the `consent.registered` and
// `consent.withdrawn` messages the broker accepted (docs/contracts.md, "Consent"). Pure: the broker
// feeds it accepted messages in acceptance order and asks it, per delivery, whether a consent covers
// (case, recipient, purpose) at that moment. No store, no clock; nlohmann stays in the .cpp.
//
// Rules: a registration covers (case in the envelope, `recipient`) for its `purpose` until
// `valid_until` (exclusive): a delivery only when its contract declares that same purpose for the
// recipient. A withdrawal of (case, recipient, purpose) ends every registration for
// that triple accepted before it — or only the one with the same `form_ref` when the withdrawal names
// one. A later registration is a new consent. Deliveries made after a withdrawal, redeliveries of
// older messages included, no longer see the withdrawn consent.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::policy {

inline constexpr std::string_view kConsentRegistered = "consent.registered";
inline constexpr std::string_view kConsentWithdrawn = "consent.withdrawn";

bool is_consent_contract(std::string_view contract);

struct Consent {
  std::string id;  // the message id of the registration
  std::string case_ref;
  std::string recipient;
  std::string purpose;
  std::string form_ref;                // "" when not given
  contracts::Millis valid_until = 0;   // ms since the epoch, UTC
  contracts::Millis registered_at = 0; // the broker's acceptance time
  contracts::Millis withdrawn_at = 0;  // 0 = not withdrawn
};

class ConsentRegister {
 public:
  // Applies an accepted consent message. kInvalidPayload (naming the field) when the payload lacks
  // what the rules need; the contract's schema normally guarantees it. Other contracts: ignored.
  [[nodiscard]] contracts::Result<void> apply(std::string_view contract, const std::string& message_id,
                                              const std::string& case_ref, std::string_view payload,
                                              contracts::Millis accepted_at);

  // The id of a consent covering (case_ref, recipient, purpose) at `now`: registered for exactly
  // that purpose, not withdrawn, not expired. `purpose` is the one the contract declares for the
  // recipient (Contract::purpose_for); "" (none declared) is covered by no consent. The latest
  // registration wins when several hold. nullopt when none.
  std::optional<std::string> holding(std::string_view case_ref, std::string_view recipient,
                                     std::string_view purpose, contracts::Millis now) const;

  std::size_t size() const { return consents_.size(); }
  void clear() { consents_.clear(); }
  // Every consent ever registered, in registration order (tests, tools).
  const std::vector<Consent>& all() const { return consents_; }

 private:
  std::vector<Consent> consents_;
};

}  // namespace broker::policy
