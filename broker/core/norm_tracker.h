#pragma once
// NormTracker: measures the timeliness norms contracts declare (contracts/norms.h) as messages are
// accepted, delivered and acknowledged, and on a timer for obligations that never came, and records
// each violation as a `norm_violated` handover-log event: once when found open (not met, past due)
// and once more when met late. Its state lives in the store's tracking tables, inside the broker
// loop's transaction, so a restart loses no open obligation. docs/contracts.md, "Norms".
//
// Threading: the broker loop thread only. Every call writes inside the caller's open transaction.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::store {
class Store;
class TrackingTables;
}  // namespace broker::store
namespace contracts {
class ContractRegistry;
struct Contract;
struct Norm;
struct NormViolation;
}  // namespace contracts

namespace broker::core {

class NormTracker {
 public:
  // `store`, `tables` and `registry` must outlive the tracker.
  NormTracker(store::Store& store, store::TrackingTables& tables, contracts::ContractRegistry& registry);

  // Reads when the next watched obligation falls due (at start and after a rollback).
  [[nodiscard]] contracts::Result<void> load();

  // Message `header` (with `payload`) was accepted at `now` and routed to `recipients`.
  [[nodiscard]] contracts::Result<void> on_accepted(const contracts::Header& header, const std::string& sender,
                                                    const std::string& payload, contracts::Millis now);
  // A delivery of the message was sent or acknowledged at `now`.
  [[nodiscard]] contracts::Result<void> on_progress(const std::string& message_id, const std::string& contract,
                                                    std::uint32_t version, contracts::Millis now);
  // True when a watched obligation is due at `now`.
  bool due(contracts::Millis now) const { return next_due_ && *next_due_ <= now; }
  // Evaluates the watched messages that are due.
  [[nodiscard]] contracts::Result<void> tick(contracts::Millis now);

  // Violation events appended since the tracker was made (metrics).
  std::uint64_t violations_recorded() const { return violations_recorded_; }

 private:
  // How an evaluation may change the records: kFull records what it finds; kCloseOnly (a message
  // being superseded, looking one last time) only closes what was recorded open and records
  // obligations met late, never a new open one.
  enum class Scope { kFull, kCloseOnly };
  contracts::Result<void> evaluate(const std::string& message_id, contracts::Millis now, Scope scope = Scope::kFull);
  bool has_delivery_norms(const std::string& contract, std::uint32_t version);
  // Who was late when the evaluation did not say: the message's sender, or the owners of a
  // follow-up that never came ("DVO", "KMAR/DTV").
  std::string late_party(const contracts::NormViolation& v, const std::string& sender);

  store::Store& store_;
  store::TrackingTables& tables_;
  contracts::ContractRegistry& registry_;
  // Contract name -> the follow-up norms (of any contract) that expect it.
  std::map<std::string, std::vector<const contracts::Norm*>, std::less<>> expected_by_;
  std::optional<contracts::Millis> next_due_;
  std::uint64_t violations_recorded_ = 0;
};

}  // namespace broker::core
