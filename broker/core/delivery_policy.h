#pragma once
// DeliveryPolicy: what a recipient may see of a payload (docs/contracts.md, "Medical fields" and "Consent"). Medical fields
// go only to care providers, or to a partner for whom a consent holds; a contract's projection for
// a consumer keeps only the fields it lists. Each decision that removes something, or that rests
// on a consent, is a `policy` event in the handover log.
//
// The policy cannot be skipped: a Deliver frame the scheduler sends is a ClearedDeliver, and only
// DeliveryPolicy::clear makes one. It fails closed: a contract set whose sensitive fields were not
// looked up sends nothing, and a payload it cannot read is not sent at all.
//
// The payloads of the latest accepted messages are kept prepared for redaction (parsed once, at
// intake: SubmitChecks::prepared), so that their deliveries do not parse them again.
//
// Threading: the broker loop thread only.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/core/options.h"
#include "broker/core/sealing.h"
#include "broker/policy/redaction.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::store {
class Store;
struct OutboundDelivery;
}  // namespace broker::store
namespace contracts {
class ContractRegistry;
}
namespace broker::policy {
class ConsentRegister;
}

namespace broker::core {

// A Deliver frame whose payload has passed the policy for its recipient.
class ClearedDeliver {
 public:
  const contracts::Deliver& frame() const { return frame_; }
  contracts::Deliver take() && { return std::move(frame_); }

 private:
  friend class DeliveryPolicy;
  explicit ClearedDeliver(contracts::Deliver frame) : frame_(std::move(frame)) {}
  contracts::Deliver frame_;
};

class DeliveryPolicy {
 public:
  // `store`, `partners`, `registry` and `sensitive` must outlive the policy. Without a registry
  // payloads go as submitted (unit tests of the delivery rules); a registry without `sensitive`
  // clears nothing.
  DeliveryPolicy(store::Store& store, const std::vector<PartnerConfig>& partners, contracts::ContractRegistry* registry,
                 const SensitiveByContract* sensitive);

  // The consent register asked at every send (nullptr: none holds).
  void attach(policy::ConsentRegister* consents) { consents_ = consents; }

  // `d` as the Deliver frame its recipient may see, numbered `attempt`: fields removed and the
  // decision logged (in the open transaction). kConfig when the sensitive fields were not looked
  // up; kStorage when the payload cannot be read or the store fails.
  [[nodiscard]] contracts::Result<ClearedDeliver> clear(store::OutboundDelivery d, std::uint32_t attempt,
                                                        contracts::Millis now);

  // A payload of `contract` v`version` prepared when it arrived. The latest are kept, at most
  // kPreparedKept and about kPreparedBytes; a delivery of an older one prepares anew.
  static constexpr std::size_t kPreparedKept = 4096;
  static constexpr std::size_t kPreparedBytes = 16u << 20;
  void remember_prepared(const std::string& contract, std::uint32_t version, const std::string& payload_digest,
                         std::shared_ptr<const policy::PreparedPayload> prepared);
  std::size_t prepared_count() const { return prepared_.size(); }

 private:
  // Redacts `d.payload` for its recipient and logs the decision; fills `removed`.
  contracts::Result<void> apply(store::OutboundDelivery& d, std::vector<std::string>& removed, contracts::Millis now);

  store::Store& store_;
  contracts::ContractRegistry* registry_;
  const SensitiveByContract* sensitive_;
  std::map<std::string, PartnerRole, std::less<>> roles_;
  policy::ConsentRegister* consents_ = nullptr;
  std::map<std::string, std::shared_ptr<const policy::PreparedPayload>> prepared_;  // by prepared_key()
  std::deque<std::string> prepared_order_;                                          // oldest first
  std::size_t prepared_bytes_ = 0;                                                  // of prepared_
};

}  // namespace broker::core
